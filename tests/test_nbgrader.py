"""nbgrader: the generated course is valid and single-sourced, the notebook driver grades one
function per cell in the worker, and a real round trip (release, generate_assignment, autograde,
the gradebook) gives the scores it should.

The round trip needs nbgrader (the extra `nbgrader`, installed by CI through `.[dev]`); without it
those tests are skipped, and say so.
"""
from __future__ import annotations

import ast
import datetime
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder import lecture
from autograder.drivers import nbgrader as driver
from autograder.release import nbgrader as release

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
ASSIGNMENT = release.ASSIGNMENT
MODULES = [m.name for m in lecture.MODULES]
GRADE_ID = re.compile(r"^[A-Za-z0-9_-]+$")   # nbgrader's schema v3 pattern, checked below too
HAS_NBGRADER = importlib.util.find_spec("nbgrader") is not None
needs_nbgrader = pytest.mark.skipif(not HAS_NBGRADER, reason=(
    "nbgrader is not installed (pip install -e '.[nbgrader]'); CI installs it"))


def nbgrader_meta(cell):
    return cell.get("metadata", {}).get("nbgrader")


def source(cell) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def functions_of(path: Path) -> dict[str, str]:
    """Each top-level function of a solution file, as its exact text: from its `def` to the last
    indented line (the END marker comment included), read independently of the generator."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    out = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef):
            end = node.end_lineno
            while end < len(lines) and (not lines[end].strip() or lines[end][:1] in " \t"):
                end += 1
            out[node.name] = "\n".join(lines[node.lineno - 1:end]).rstrip()
    return out


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    folder = tmp_path_factory.mktemp("course")
    release.build(folder)
    return folder


def notebooks(course):
    folder = course / "source" / ASSIGNMENT
    return {m: json.loads((folder / f"{m}.ipynb").read_text(encoding="utf-8")) for m in MODULES}


# ---- the generated course ----------------------------------------------------------------------

def test_course_layout(course):
    assert (course / "nbgrader_config.py").is_file()
    config = (course / "nbgrader_config.py").read_text()
    assert "c.Execute.timeout = 30" in config
    compile(config, "nbgrader_config.py", "exec")
    folder = course / "source" / ASSIGNMENT
    assert sorted(p.name for p in folder.glob("*.ipynb")) == sorted(f"{m}.ipynb" for m in MODULES)
    for name in release.DATA_FILES:   # the data the notebooks read, inside the assignment
        assert (folder / "data" / name).read_bytes() == (ROOT / "data" / name).read_bytes()
        assert f"data/{name}" in "".join(
            source(c) for nb in notebooks(course).values() for c in nb["cells"])


def test_notebooks_are_nbformat_v4_with_nbgrader_schema_v3(course):
    for module, nb in notebooks(course).items():
        assert nb["nbformat"] == 4 and nb["nbformat_minor"] >= 5
        assert nb["metadata"]["kernelspec"]["name"] == "python3"
        ids = []
        for cell in nb["cells"]:
            meta = nbgrader_meta(cell)
            assert meta is not None, f"{module}: a cell without nbgrader metadata"
            assert meta["schema_version"] == 3
            for flag in ("grade", "solution", "locked"):
                assert isinstance(meta[flag], bool), (module, flag, meta)
            assert GRADE_ID.match(meta["grade_id"]), meta["grade_id"]
            ids.append(meta["grade_id"])
            if meta["grade"]:
                assert cell["cell_type"] == "code" and isinstance(meta["points"], (int, float))
                assert not meta["solution"] and meta["locked"]
            else:
                assert "points" not in meta
            if meta["solution"]:
                assert cell["cell_type"] == "code" and not meta["locked"]
            else:
                assert meta["locked"], f"{module}: {meta['grade_id']} is neither a solution nor locked"
        assert len(ids) == len(set(ids)), f"{module}: grade_ids repeat"
        assert len({c["id"] for c in nb["cells"]}) == len(nb["cells"])


def test_notebooks_validate_with_nbformat_and_nbgrader(course):
    nbformat = pytest.importorskip("nbformat", reason="nbformat comes with nbgrader")
    for module in MODULES:
        nb = nbformat.read(course / "source" / ASSIGNMENT / f"{module}.ipynb", as_version=4)
        nbformat.validate(nb)
        if HAS_NBGRADER:
            from nbgrader.nbgraderformat import MetadataValidator

            validator = MetadataValidator()
            for cell in nb.cells:
                validator.validate_cell(cell)


def test_one_test_cell_per_function_with_the_rubric_points(course):
    rubric = lecture.rubric()
    total = 0
    seen = []
    for module, nb in notebooks(course).items():
        for cell in nb["cells"]:
            meta = nbgrader_meta(cell)
            if not meta["grade"]:
                assert 'grade("' not in source(cell), meta["grade_id"]   # only test cells grade
                continue
            calls = re.findall(r'grade\("([\w.]+)"', source(cell))
            assert len(calls) == 1, source(cell)   # one function per cell
            key = calls[0]
            assert key.split(".")[0] == module
            assert meta["grade_id"] == release.grade_id(key) == key.replace(".", "-")
            assert meta["points"] == rubric[key].points
            text = source(cell)
            assert text.index(release.HIDDEN_BEGIN) < text.index(release.HIDDEN_END)
            assert text.strip().splitlines()[-1].startswith(f'grade("{key}"')  # the cell's value
            total += meta["points"]
            seen.append(key)
    assert sorted(seen) == sorted(rubric) and total == 100


def test_solution_cells_are_the_solutions_exactly(course):
    """The single source: every solution cell is one function of solutions/, character for
    character, and every function of solutions/ is one solution cell."""
    for module, nb in notebooks(course).items():
        expected = functions_of(SOLUTIONS / f"{module}.py")
        cells = [source(c) for c in nb["cells"] if nbgrader_meta(c)["solution"]]
        assert len(cells) == len(expected)
        got = {}
        for text in cells:
            name = re.match(r"def (\w+)\(", text)[1]
            got[name] = text
            assert text.count(release.BEGIN) == 1 and text.count(release.END) == 1
        assert got == expected
        # the module's own imports are in the notebook (a locked cell), so the collected module has them
        imports = [ast.unparse(n) for n in ast.parse((SOLUTIONS / f"{module}.py").read_text()).body
                   if isinstance(n, (ast.Import, ast.ImportFrom))]
        code = "\n".join(source(c) for c in nb["cells"] if c["cell_type"] == "code")
        assert all(line in code for line in imports)


def test_generated_notebooks_follow_the_solutions(tmp_path):
    """Change a solution and the notebook changes with it (nothing is a frozen copy)."""
    solutions = tmp_path / "solutions"
    shutil.copytree(SOLUTIONS, solutions, ignore=shutil.ignore_patterns("__pycache__"))
    path = solutions / "linear_regression_basic.py"
    path.write_text(path.read_text().replace("return (y_hat - y) ** 2", "return (y - y_hat) ** 2"))
    release.build(tmp_path / "course", solutions_dir=solutions)
    nb = json.loads((tmp_path / "course" / "source" / ASSIGNMENT /
                     "linear_regression_basic.ipynb").read_text())
    assert any("return (y - y_hat) ** 2" in source(c) for c in nb["cells"])


def test_worked_demos_name_the_lecture_examples(course):
    """The demonstration cells take their examples from data/worked_values.toml by id (no value
    typed into a notebook), and each function that has a worked value shows one."""
    ids = {e.id for e in lecture.examples()} | {t.id for t in lecture.trainings()}
    shown = set()
    for module, nb in notebooks(course).items():
        for cell in nb["cells"]:
            for key, example in re.findall(r'worked(?:_training)?\("([\w.]+)", \w+, "([\w-]+)"\)',
                                           source(cell)):
                assert example in ids and key.startswith(module + ".")
                shown.add(key)
    assert shown == set(lecture.FUNCTIONS)


def test_cli_release_nbgrader(tmp_path, capsys):
    from autograder.drivers.cli import main

    assert main(["release", "nbgrader", str(tmp_path / "c"), "--assignment", "hw1"]) == 0
    assert (tmp_path / "c" / "source" / "hw1" / "logistic_regression.ipynb").is_file()
    assert "nbgrader generate_assignment hw1" in capsys.readouterr().out


# ---- the driver: collecting the student's code -------------------------------------------------

def test_module_source_keeps_definitions_and_drops_the_rest(tmp_path):
    cells = [
        "",
        "from autograder.drivers.nbgrader import grade\nimport numpy as np\nimport no_such_module_xyz",
        "def loss(y_hat, y):\n    return (y_hat - y) ** 2\nprint(loss(1, 2))\nloss(3, 4)",
        "def predict(x, w, b) oops",                       # a syntax error: left out
        "EPS = 1e-12; y = loss(1, 2)\nhidden_tests = True",  # a constant, a call, a reserved name
        "def helper():\n    return EPS\nraise ValueError('a cell that raises keeps its defs')",
        "while True:\n    pass",                           # runs nothing at import
        "from . import nothing\nimport os, no_such_module_xyz",
    ]
    text = driver.module_source(cells, "m", here=tmp_path)
    namespace = {}
    exec(compile(text, "m.py", "exec"), namespace)
    assert namespace["loss"](1, 3) == 4 and namespace["helper"]() == 1e-12
    assert "np" in namespace and "os" in namespace
    for absent in ("predict", "y", "grade", "hidden_tests", "no_such_module_xyz", "nothing"):
        assert absent not in namespace, absent
    assert "while True" not in text and "print(" not in text


def test_module_source_a_later_definition_wins(tmp_path):
    text = driver.module_source(["def f():\n    return 1", "def f():\n    return 2"], here=tmp_path)
    namespace = {}
    exec(text, namespace)
    assert namespace["f"]() == 2


def test_module_source_leaves_out_modules_of_the_notebook_folder(tmp_path, monkeypatch):
    (tmp_path / "mine_xyz.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    text = driver.module_source(["import mine_xyz\nimport json"], here=tmp_path)
    assert "import json" in text and "mine_xyz" not in text


# ---- the driver: grading one function ----------------------------------------------------------

def cells_of(module, replace=None):
    text = (SOLUTIONS / f"{module}.py").read_text()
    if replace:
        text = text.replace(*replace)
    return [text]


def test_grade_full_marks_as_a_plain_float(capfd):
    score = driver.grade("linear_regression_basic.loss", True, cells=cells_of("linear_regression_basic"))
    out, err = capfd.readouterr()
    assert type(score) is float and score == float(lecture.rubric()["linear_regression_basic.loss"].points)
    assert err == "" and "linear_regression_basic.loss: 4/4 points" in out


def test_grade_public_checks_only_by_default(capfd):
    public = driver.grade("logistic_regression.loss", cells=cells_of("logistic_regression"))
    out, err = capfd.readouterr()
    assert 0 < public < float(lecture.rubric()["logistic_regression.loss"].points)
    assert "hidden checks run when the notebook is graded" in out and err == ""


def test_grade_a_mistake_prints_feedback_to_stdout_only(capfd):
    score = driver.grade("linear_regression_basic.loss", True, cells=cells_of(
        "linear_regression_basic", ("return (y_hat - y) ** 2", "return y_hat - y")))
    out, err = capfd.readouterr()
    assert 0 <= score < 4 and err == ""
    assert "✗" in out and "expected: 144" in out


def test_grade_a_stub_or_missing_code_scores_zero(capfd):
    assert driver.grade("logistic_regression.sigmoid", True, cells=[
        "def sigmoid(z):\n    raise NotImplementedError()"]) == 0.0
    assert driver.grade("logistic_regression.sigmoid", True, cells=[]) == 0.0
    assert capfd.readouterr().err == ""


def test_grade_stops_an_endless_loop_within_the_cell_budget(capfd):
    started = time.monotonic()
    score = driver.grade("logistic_regression.classify", True, cells=cells_of(
        "logistic_regression", ("return int(y_hat >= threshold)", "while True:\n        pass")))
    seconds = time.monotonic() - started
    out, err = capfd.readouterr()
    assert score == 0.0 and err == ""
    assert "no answer within" in out
    assert seconds < 20, f"a hanging function took {seconds:.1f} s of its cell"


def test_grade_warnings_and_student_stderr_stay_off_stderr(capfd):
    noisy = ("return (y_hat - y) ** 2",
             "import sys, warnings\n    warnings.warn('w')\n    print('e', file=sys.stderr)\n"
             "    return (y_hat - y) ** 2")
    score = driver.grade("linear_regression_basic.loss", True, cells=cells_of(
        "linear_regression_basic", noisy))
    assert capfd.readouterr().err == "" and score > 0


def solution_function(key):
    module, name = key.split(".")
    spec = importlib.util.spec_from_file_location(f"solution_{module}", SOLUTIONS / f"{module}.py")
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return getattr(loaded, name)


@pytest.mark.parametrize("key", list(lecture.FUNCTIONS))
def test_worked_demos_print_the_solutions_next_to_the_expected_values(key, capsys):
    function = solution_function(key)
    for example in driver.examples_for(key):
        driver.worked(key, function, example)
    for training in driver.trainings_for(key):
        driver.worked_training(key, function, training)
    out = capsys.readouterr().out
    assert "expected" in out and "✓" in out and "✗" not in out, out


def test_worked_demos_show_a_wrong_value_and_stop_an_endless_loop(capsys):
    driver.worked("linear_regression_basic.loss", lambda y_hat, y: y_hat - y, "linear-slide-6")
    out = capsys.readouterr().out
    assert "yours -12, expected 144" in out and "✗" in out

    def endless(*args):
        while True:
            pass

    started = time.monotonic()
    for example in driver.examples_for("logistic_regression.classify"):
        driver.worked("logistic_regression.classify", endless, example)
    assert time.monotonic() - started < driver.DEMO_TIMEOUT + 2   # stopped once, then skipped
    out = capsys.readouterr().out
    assert "did not return within" in out and "skipped" in out


def test_grade_rejects_an_unknown_function():
    with pytest.raises(ValueError):
        driver.grade("linear_regression_basic.fit", cells=[])


# ---- the round trip ----------------------------------------------------------------------------

def nbgrader_run(course, *args, timeout=900):
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course,
                         capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{out.stdout[-3000:]}\n{out.stderr[-6000:]}"
    return time.monotonic() - started


def solution_cell(nb, key):
    for cell in nb["cells"]:
        if nbgrader_meta(cell) and nbgrader_meta(cell).get("grade_id") == release.grade_id(key, "solution"):
            return cell
    raise KeyError(key)


def submit(course, student, folder, edits=()):
    """Place a submission: the notebooks of `folder` (and its data), with some solutions edited."""
    target = course / "submitted" / student / ASSIGNMENT
    shutil.copytree(folder, target)
    for key, body in edits:
        path = target / f"{key.split('.')[0]}.ipynb"
        nb = json.loads(path.read_text())
        cell = solution_cell(nb, key)
        cell["source"] = re.sub(rf"{release.BEGIN}.*{release.END}",
                                f"{release.BEGIN}\n    {body}\n    {release.END}", source(cell),
                                flags=re.S)
        path.write_text(json.dumps(nb))


MISTAKE = "linear_regression_basic.loss"
HANG = "logistic_regression.classify"
STUDENTS = {
    "solutions": ("source", ()),
    "stubs": ("release", ()),
    "mistake": ("source", ((MISTAKE, "return y_hat - y  # no square"),)),
    "hang": ("source", ((HANG, "while True:\n        pass"),)),
}


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    if not HAS_NBGRADER:
        pytest.skip("nbgrader is not installed (pip install -e '.[nbgrader]'); CI installs it")
    course = tmp_path_factory.mktemp("nbgrader_course")
    times = {}
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "autograder", "release", "nbgrader", str(course)],
                         capture_output=True, text=True, timeout=120, cwd=course)
    assert out.returncode == 0, out.stderr
    times["release"] = time.monotonic() - started
    times["generate_assignment"] = nbgrader_run(course, "generate_assignment", ASSIGNMENT)
    for student, (folder, edits) in STUDENTS.items():
        submit(course, student, course / folder / ASSIGNMENT, edits)
    times["autograde"] = nbgrader_run(course, "autograde", ASSIGNMENT)
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in STUDENTS:
            submission = gb.find_submission(ASSIGNMENT, student)
            grades = {g.name: (g.auto_score, g.max_score) for nb in submission.notebooks
                      for g in nb.grades}
            scores[student] = (submission.score, submission.max_score, grades)
    times["total"] = time.monotonic() - started
    print(f"nbgrader round trip: {', '.join(f'{k} {v:.1f} s' for k, v in times.items())}")
    return course, scores, times


def full(key):
    return float(lecture.rubric()[key].points)


@needs_nbgrader
def test_round_trip_solutions_score_100(round_trip):
    _, scores, _ = round_trip
    score, max_score, grades = scores["solutions"]
    assert (score, max_score) == (100, 100)
    assert grades == {release.grade_id(k): (full(k), full(k)) for k in lecture.FUNCTIONS}


@needs_nbgrader
def test_round_trip_stubs_score_zero(round_trip):
    _, scores, _ = round_trip
    score, max_score, grades = scores["stubs"]
    assert (score, max_score) == (0, 100)
    assert all(auto == 0 for auto, _ in grades.values()) and len(grades) == len(lecture.FUNCTIONS)


@needs_nbgrader
def test_round_trip_a_mistake_costs_its_function_and_train(round_trip):
    _, scores, _ = round_trip
    score, _, grades = scores["mistake"]
    train = "linear_regression_basic.train"   # calls loss, so it loses points too
    for key in lecture.FUNCTIONS:
        auto, _ = grades[release.grade_id(key)]
        if key in (MISTAKE, train):
            assert auto < full(key), key
        else:
            assert auto == full(key), key
    assert score == pytest.approx(100 - sum(full(k) - grades[release.grade_id(k)][0]
                                            for k in (MISTAKE, train)))


@needs_nbgrader
def test_round_trip_a_hang_costs_only_its_function_and_is_bounded(round_trip):
    course, scores, times = round_trip
    score, _, grades = scores["hang"]
    assert grades[release.grade_id(HANG)][0] == 0
    assert all(grades[release.grade_id(k)][0] == full(k) for k in lecture.FUNCTIONS if k != HANG)
    assert score == 100 - full(HANG)
    # the hanging function's test cell was stopped by gdkit, far below nbgrader's 30-s cell limit
    nb = json.loads((course / "autograded" / "hang" / ASSIGNMENT /
                     f"{HANG.split('.')[0]}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if nbgrader_meta(c).get("grade_id") == release.grade_id(HANG))
    assert cell_seconds(cell) < 20
    assert "no answer within" in "".join(source_of_outputs(cell))


def cell_seconds(cell) -> float:
    timing = cell["metadata"]["execution"]
    start, end = (datetime.datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                  for k in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def source_of_outputs(cell):
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            yield output["text"] if isinstance(output["text"], str) else "".join(output["text"])


@needs_nbgrader
def test_round_trip_every_test_cell_ends_in_a_float_with_no_error_or_stderr(round_trip):
    """nbgrader's partial credit: the cell's value is a number of points; any error or stderr
    would give 0 whatever the checks said. Every cell also stays well under the 30-s limit."""
    course, _, _ = round_trip
    rubric = lecture.rubric()
    for student in STUDENTS:
        for module in MODULES:
            nb = json.loads((course / "autograded" / student / ASSIGNMENT / f"{module}.ipynb").read_text())
            for cell in nb["cells"]:
                meta = nbgrader_meta(cell)
                if not (meta and meta.get("grade")):
                    continue
                kinds = [(o["output_type"], o.get("name")) for o in cell["outputs"]]
                assert ("error", None) not in kinds and ("stream", "stderr") not in kinds, (student, meta)
                results = [o for o in cell["outputs"] if o["output_type"] == "execute_result"]
                assert len(results) == 1
                value = float("".join(results[0]["data"]["text/plain"]))
                key = meta["grade_id"].replace("-", ".")
                assert 0 <= value <= rubric[key].points
                assert cell_seconds(cell) < 20, (student, key, cell_seconds(cell))


@needs_nbgrader
def test_round_trip_the_solutions_notebooks_run_without_an_error(round_trip):
    """Every cell, demonstrations and plots included, runs cleanly on the solutions."""
    course, _, _ = round_trip
    for module in MODULES:
        nb = json.loads((course / "autograded" / "solutions" / ASSIGNMENT / f"{module}.ipynb").read_text())
        for cell in nb["cells"]:
            errors = [o for o in cell.get("outputs", []) if o["output_type"] == "error"]
            assert not errors, (module, nbgrader_meta(cell)["grade_id"], errors)
            assert "✗" not in "".join(source_of_outputs(cell)), nbgrader_meta(cell)["grade_id"]


def test_an_installed_module_counts_as_importable_even_in_a_venv_inside_the_notebooks_folder(tmp_path):
    """CI's virtual environment sits inside the checkout: numpy installed there is still numpy."""
    import sys as _sys

    assert driver._importable("numpy", Path(_sys.prefix).parent)
    (tmp_path / "mine_local.py").write_text("X = 1\n")
    _sys.path.insert(0, str(tmp_path))
    try:
        assert not driver._importable("mine_local", tmp_path)
    finally:
        _sys.path.remove(str(tmp_path))
