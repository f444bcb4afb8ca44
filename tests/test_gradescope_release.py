"""`gdkit release gradescope ZIP`: the zip, unpacked into a temporary root as Gradescope does
(ROOT/source, ROOT/submission, ROOT/results), run_autograder run with AUTOGRADER_ROOT pointing
there, and every results.json checked against Gradescope's spec (docs: /work/shared/platforms.md).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from autograder.checks import all_checks
from autograder.drivers import gradescope as driver
from autograder.release import gradescope

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, STUBS = ROOT / "solutions", ROOT / "exercises"

TOP = {"score", "execution_time", "output", "output_format", "test_output_format",
       "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
        "tags", "visibility", "extra_data"}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def validate(doc):
    """results.json as Gradescope reads it: known fields, their types and allowed values; the
    tests' points add up to the score. Returns the score."""
    assert isinstance(doc, dict) and set(doc) <= TOP, set(doc) - TOP
    assert number(doc["score"]) and isinstance(doc["tests"], list)
    if "execution_time" in doc:
        assert number(doc["execution_time"]) and doc["execution_time"] >= 0
    for key in ("output", "output_format", "test_output_format", "test_name_format", "visibility",
                "stdout_visibility"):
        assert key not in doc or isinstance(doc[key], str), key
    for key in ("output_format", "test_output_format", "test_name_format"):
        assert doc.get(key, "text") in FORMATS, key
    for key in ("visibility", "stdout_visibility"):
        assert doc.get(key, "visible") in VISIBILITY, key
    assert isinstance(doc.get("extra_data", {}), dict)
    for t in doc["tests"]:
        assert set(t) <= TEST, set(t) - TEST
        assert isinstance(t["name"], str) and t["name"]
        assert number(t["score"]) and number(t["max_score"]) and 0 <= t["score"] <= t["max_score"]
        assert t.get("status", "passed") in ("passed", "failed")
        assert (t["status"] == "passed") == (t["score"] == t["max_score"]), t["name"]
        assert isinstance(t.get("output", ""), str) and isinstance(t.get("tags", []), list)
        assert "number" not in t or isinstance(t["number"], str)
        assert t.get("visibility", "visible") in VISIBILITY
        assert t.get("output_format", "text") in FORMATS and t.get("name_format", "text") in FORMATS
    assert round(sum(t["score"] for t in doc["tests"]), 2) == doc["score"]
    assert 0 <= doc["score"] <= sum(t["max_score"] for t in doc["tests"])
    return doc["score"]


@pytest.fixture(scope="module")
def zip_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("zip") / "autograder.zip"
    gradescope.build(path)
    return path


def unpack(zip_path, root):
    """As Gradescope does: the zip into ROOT/source (with the entries' modes, as unzip keeps them)."""
    source = root / "source"
    with zipfile.ZipFile(zip_path) as z:
        z.extractall(source)
        for info in z.infolist():
            os.chmod(source / info.filename, (info.external_attr >> 16) & 0o777)
    (root / "submission").mkdir()
    return source


def run_autograder(root, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("GDKIT", "PYTEST"))}
    environment.update({"AUTOGRADER_ROOT": str(root), "GDKIT_PYTHON": sys.executable, **env})
    done = subprocess.run([str(root / "source" / "run_autograder")], env=environment,
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8")), done


def copy_modules(source, folder, edit=None):
    folder.mkdir(parents=True, exist_ok=True)
    for module in source.glob("*.py"):
        shutil.copyfile(module, folder / module.name)
    if edit:
        name, old, new = edit
        text = (folder / name).read_text(encoding="utf-8")
        assert old in text
        (folder / name).write_text(text.replace(old, new), encoding="utf-8")


def test_the_zip_has_the_scripts_at_its_root_and_the_whole_grader(zip_path):
    with zipfile.ZipFile(zip_path) as z:
        infos = {i.filename: i for i in z.infolist()}
        setup = z.read("setup.sh").decode()
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & 0o111, f"{script} is not executable"
    assert not [n for n in infos if n.startswith(("solutions/", "tests/")) or "/solutions/" in n]
    for module in ("linear_regression_basic", "linear_regression_numpy", "logistic_regression"):
        assert f"gdkit/autograder/checks/{module}.py" in infos
    for data in ("rubric.toml", "worked_values.toml", "salary.csv"):
        assert f"gdkit/autograder/data/{data}" in infos
    assert "apt-get install" in setup and all(p in setup for p in ("python3", "python3-pip", "bubblewrap"))
    for script in ("setup.sh", "run_autograder"):
        with zipfile.ZipFile(zip_path) as z:
            subprocess.run(["bash", "-n"], input=z.read(script), check=True)


def test_solutions_score_100_in_a_sandbox_and_the_source_is_closed_to_others(zip_path, tmp_path):
    source = unpack(zip_path, tmp_path)
    copy_modules(SOLUTIONS, tmp_path / "submission")       # uploaded file by file
    doc, _ = run_autograder(tmp_path)
    assert validate(doc) == 100
    # every check of the grader, hidden ones included, is a test
    assert [t["name"] for t in doc["tests"]] == [c.id for c in all_checks()]
    assert doc["output"].startswith("graded: submission/ ")
    if os.geteuid() == 0:
        assert doc["extra_data"]["isolation"] in ("bwrap", "uid")
    for path in [source, *source.rglob("*")]:
        assert not path.lstat().st_mode & stat.S_IRWXO, path


def test_stubs_score_0(zip_path, tmp_path):
    unpack(zip_path, tmp_path)
    copy_modules(STUBS, tmp_path / "submission")
    doc, _ = run_autograder(tmp_path)
    assert validate(doc) == 0
    assert all("not implemented yet" in t["output"] for t in doc["tests"])


def test_a_mistake_in_a_repository_costs_that_function_only(zip_path, tmp_path):
    unpack(zip_path, tmp_path)
    # submitted from GitHub: the student's whole repository, the modules in exercises/
    (tmp_path / "submission" / "README.md").write_text("my homework\n")
    copy_modules(SOLUTIONS, tmp_path / "submission" / "exercises",
                 ("logistic_regression.py", "return int(y_hat >= threshold)", "return int(y_hat > threshold)"))
    doc, _ = run_autograder(tmp_path)
    score = validate(doc)
    failed = {t["name"].split(":")[0] for t in doc["tests"] if t["status"] == "failed"}
    assert failed == {"logistic_regression.classify"} and 95 <= score < 100
    assert doc["output"].startswith("graded: submission/exercises/ ")


def test_a_failing_grader_still_leaves_a_valid_results_json(zip_path, tmp_path):
    source = unpack(zip_path, tmp_path)
    copy_modules(SOLUTIONS, tmp_path / "submission")
    (source / "gdkit/autograder/engine/grader.py").write_text("raise RuntimeError('grader broken')\n")
    doc, done = run_autograder(tmp_path)
    assert validate(doc) == 0
    assert "grader broken" in doc["output"] and "grader broken" in done.stderr


def test_without_python_the_script_still_leaves_a_valid_results_json(zip_path, tmp_path):
    unpack(zip_path, tmp_path)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "results.json").write_text("{half a file")
    doc, _ = run_autograder(tmp_path, GDKIT_PYTHON=str(tmp_path / "no-python"))
    assert validate(doc) == 0 and "failed before it could grade" in doc["output"]


def test_as_root_the_driver_refuses_to_run_student_code_unsandboxed(monkeypatch):
    monkeypatch.delenv("GDKIT_ISOLATION", raising=False)
    with pytest.raises(driver.Refused, match="must not run as root"):
        driver.choose_layer(euid=0, strongest=lambda: "process")
    assert driver.choose_layer(euid=1000, strongest=lambda: "process") == "process"
    assert driver.choose_layer(euid=0, strongest=lambda: "uid") == "uid"


def test_the_submission_is_found_where_the_student_put_it(tmp_path):
    assert driver.find_submission(tmp_path) == tmp_path                 # nothing: the top
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "logistic_regression.py").write_text("")
    (tmp_path / "c").mkdir()
    for module in driver.MODULES:
        (tmp_path / "c" / module).write_text("")
    assert driver.find_submission(tmp_path) == tmp_path / "c"           # shallowest, fullest
    (tmp_path / "linear_regression_basic.py").write_text("")
    assert driver.find_submission(tmp_path) == tmp_path                 # files at the top win


def test_the_cli_writes_the_zip(tmp_path):
    from autograder.drivers import cli

    assert cli.main(["release", "gradescope", str(tmp_path / "ag.zip")]) == 0
    with zipfile.ZipFile(tmp_path / "ag.zip") as z:
        assert {"setup.sh", "run_autograder"} <= set(z.namelist())
