"""`gdkit release student`: the students' repository (a GitHub Classroom template).

What can be tested here, is: the tree (stubs from the one source, data, no solution text, no hidden
check, the grader's copy), the workflow (it parses as YAML, with the expected steps), and every
command the workflow runs, run in a fresh copy of the release with a fresh virtual environment
(`python -m pip install -e .` exactly as the workflow says; pip itself is lent by the running
environment, it is a tool, not what is tested): the points on the solutions, the stubs and a
common mistake, the base64 result and its format, the exit code to gate on, and plain `pytest`.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.checks import all_checks
from autograder.checks.base import Check
from autograder.release import student, stubs

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"


# ---- a YAML subset (PyYAML is not a dependency): block maps, block lists, scalars, `|` blocks ----

def _indent(line):
    return len(line) - len(line.lstrip(" "))


def _skip(lines, i):
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
        i += 1
    return i


def _scalar(text):
    text = text.strip()
    if text.startswith('"'):
        return json.loads(text)
    if text.startswith("'"):
        assert text.endswith("'"), text
        return text[1:-1].replace("''", "'")
    text = re.sub(r"\s+#.*$", "", text)
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return None if text in ("", "~", "null") else text


def _key(content):
    if content[0] in "\"'":
        end = content.index(content[0], 1)
        key, rest = _scalar(content[:end + 1]), content[end + 1:]
        assert rest.startswith(":"), content
        return key, rest[1:].strip()
    match = re.match(r"([^:#]+?):(\s+|$)(.*)$", content)
    if not match:
        raise ValueError(f"not a mapping entry: {content!r}")
    return match.group(1), match.group(3).strip()


def _block(lines, i):
    i = _skip(lines, i)
    if lines[i].lstrip().startswith("- "):
        return _seq(lines, i, _indent(lines[i]))
    return _map(lines, i, _indent(lines[i]))


def _seq(lines, i, indent):
    out = []
    while True:
        i = _skip(lines, i)
        if i >= len(lines) or _indent(lines[i]) != indent or not lines[i].lstrip().startswith("- "):
            return out, i
        content = lines[i].lstrip()[2:]
        if re.match(r"(\"[^\"]*\"|'[^']*'|[^:\"'#]+):(\s|$)", content):
            lines[i] = " " * (indent + 2) + content     # a mapping as a list item
            value, i = _map(lines, i, indent + 2)
        else:
            value, i = _scalar(content), i + 1
        out.append(value)


def _map(lines, i, indent):
    out = {}
    while True:
        i = _skip(lines, i)
        if i >= len(lines) or _indent(lines[i]) < indent or lines[i].lstrip().startswith("- "):
            return out, i
        if _indent(lines[i]) > indent:
            raise ValueError(f"line {i + 1}: unexpected indentation")
        key, rest = _key(lines[i].strip())
        if rest in ("|", "|-"):
            j, body = i + 1, []
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > indent):
                body.append(lines[j])
                j += 1
            while body and not body[-1].strip():
                body.pop()
            cut = min(_indent(b) for b in body if b.strip())
            value, i = "\n".join(b[cut:] for b in body) + ("\n" if rest == "|" else ""), j
        elif rest == "":
            j = _skip(lines, i + 1)
            nested = j < len(lines) and (_indent(lines[j]) > indent or (
                _indent(lines[j]) == indent and lines[j].lstrip().startswith("- ")))
            value, i = _block(lines, j) if nested else (None, i + 1)
        else:
            value, i = _scalar(rest), i + 1
        out[key] = value


def parse_yaml(text):
    value, i = _block(text.splitlines(), 0)
    assert _skip(text.splitlines(), i) == len(text.splitlines()), f"unparsed from line {i + 1}"
    return value


def test_the_yaml_subset_reads_what_it_should():
    doc = parse_yaml('"on":\n  - push\nname: x   # note\njobs:\n  a:\n    steps:\n      - uses: u@v1\n'
                     '        with:\n          k: "3.11"\n      - run: |\n          echo 1\n\n'
                     '          echo 2\n        id: s\n')
    assert doc == {"on": ["push"], "name": "x", "jobs": {"a": {"steps": [
        {"uses": "u@v1", "with": {"k": "3.11"}}, {"run": "echo 1\n\necho 2\n", "id": "s"}]}}}
    with pytest.raises(ValueError):
        parse_yaml("a: 1\n   b: 2\n")


# ---- the tree ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def release(tmp_path_factory):
    target = tmp_path_factory.mktemp("release") / "homework"
    student.build(target)
    return target


def files(folder):
    return sorted(p for p in folder.rglob("*") if p.is_file())


def solution_bodies():
    """Each solution region's statements (comments dropped), per module.function."""
    import ast

    bodies = {}
    for path in sorted(SOLUTIONS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        tree, region = ast.parse(text), None
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip() == stubs.BEGIN:
                region, name = [], stubs._enclosing_function(tree, n)
            elif line.strip() == stubs.END:
                bodies[f"{path.stem}.{name}"] = [s for s in region if s and not s.startswith("#")]
                region = None
            elif region is not None:
                region.append(line.strip())
    return bodies


# Loop scaffolding that the lecture's own `train` formula shares with the solutions' `train`: it
# gives nothing away. Every other solution statement must be absent from the release.
SCAFFOLDING = {"for _ in range(epochs):", "losses = []"}


def test_the_release_has_the_layout_the_students_need(release):
    for name in ("pyproject.toml", "README.md", ".gitignore", "tests/README.md",
                 ".github/workflows/classroom.yml", "gdkit/autograder/__init__.py",
                 "gdkit/autograder/data/rubric.toml", "gdkit/autograder/data/worked_values.toml"):
        assert (release / name).is_file(), name
    # the stubs come from the one source, byte for byte
    assert stubs.check(SOLUTIONS, release / "exercises") == []
    assert sorted(p.name for p in (release / "exercises").iterdir()) == sorted(
        p.name for p in SOLUTIONS.glob("*.py"))
    for csv in (ROOT / "data").glob("*.csv"):
        assert (release / "data" / csv.name).read_bytes() == csv.read_bytes()
    readme = (release / "README.md").read_text(encoding="utf-8")
    for must in ("Compute the loss", "pip install -e .", "pytest", "hint", "logistic_regression.py"):
        assert must in readme
    config = (release / "pyproject.toml").read_text(encoding="utf-8")
    assert 'gdkit_submission = "exercises"' in config and 'testpaths = ["tests"]' in config


def test_the_release_holds_no_solution_text_and_no_grader_tests(release):
    bodies = solution_bodies()
    assert len(bodies) == len({c.key for c in all_checks()}) == 17
    texts = {p: p.read_bytes().decode("utf-8", "replace") for p in files(release)}
    # nothing under solutions/ or tests/corpus (valid styles are solutions) came along
    assert not any("solutions" in p.relative_to(release).parts or "corpus" in p.parts for p in texts)
    # no solution region (a line that is a marker; the stub builder's code names them, fine)
    assert not [p for p, t in texts.items()
                if any(line.strip() in (stubs.BEGIN, stubs.END) for line in t.splitlines())]
    squeezed = {p: re.sub(r"\s+", " ", t) for p, t in texts.items()}
    for key, body in bodies.items():
        whole = " ".join(body)
        leaks = [str(p.relative_to(release)) for p, t in squeezed.items() if whole in t]
        assert not leaks, f"the body of {key} is in {leaks}"
        for statement in set(body) - SCAFFOLDING:
            leaks = [str(p.relative_to(release)) for p, t in texts.items() if statement in t]
            assert not leaks, f"{key}'s statement {statement!r} is in {leaks}"


def test_the_rule_on_hidden_checks_holds_and_is_enforced(release):
    # the release carries exactly the grader's checks, each of a public kind
    out = subprocess.run(
        [sys.executable, "-I", "-c", "from autograder.checks import all_checks; import json; "
         "print(json.dumps([[c.id, c.kind] for c in all_checks()]))"],
        cwd=release / "gdkit", capture_output=True, text=True, check=True,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(release / "gdkit")})
    vendored = json.loads(out.stdout)
    assert vendored == [[c.id, c.kind] for c in all_checks()]
    assert {kind for _, kind in vendored} <= student.PUBLIC_KINDS
    # a hidden check, or a function that only fixed inputs judge, makes the release refuse
    first = all_checks()[0]
    hidden = Check(first.module, first.function, "a held-out case", "hidden", "", lambda ctx: None)
    with pytest.raises(student.ReleaseError, match="hidden checks"):
        student.public_checks([*all_checks(), hidden])
    fixed_only = [c for c in all_checks() if not (c.key == first.key and c.kind in student.FRESH_KINDS)]
    with pytest.raises(student.ReleaseError, match=first.key):
        student.public_checks(fixed_only)


def test_building_into_a_folder_that_is_not_empty_is_refused(tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(student.ReleaseError, match="not empty"):
        student.build(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


# ---- the workflow -----------------------------------------------------------------------------

def workflow(release):
    return parse_yaml((release / ".github/workflows/classroom.yml").read_text(encoding="utf-8"))


def steps_of(release):
    (job,) = workflow(release)["jobs"].values()
    return job["steps"]


def test_the_workflow_parses_with_the_steps_classroom_needs(release):
    text = (release / ".github/workflows/classroom.yml").read_text(encoding="utf-8")
    doc = parse_yaml(text)
    try:
        import yaml
    except ImportError:
        pass
    else:
        assert yaml.safe_load(text) == doc
    assert doc["on"] == ["push", "workflow_dispatch", "repository_dispatch"]
    assert doc["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    (job,) = doc["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest" and "github-classroom[bot]" in job["if"]
    uses = [s.get("uses", "run") for s in job["steps"]]
    assert uses[:2] == ["actions/checkout@v4", "actions/setup-python@v5"]
    assert not any("command-grader" in u for u in uses)
    install = next(s for s in job["steps"] if "pip install" in s.get("run", ""))
    assert install["run"].strip() == "python -m pip install -e ."
    (grade,) = [s for s in job["steps"] if s.get("id") == "gdkit"]
    assert "--format classroom" in grade["run"] and "--fail-under 100" in grade["run"]
    assert '"$GITHUB_OUTPUT"' in grade["run"] and "base64" in grade["run"]
    (reporter,) = [s for s in job["steps"] if "autograding-grading-reporter" in s.get("uses", "")]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert reporter["with"] == {"runners": "gdkit"}
    assert reporter["env"] == {"GDKIT_RESULTS": "${{ steps.gdkit.outputs.result }}"}
    assert "cancelled()" in reporter["if"]
    assert uses.index(reporter["uses"]) > job["steps"].index(grade)


# ---- the workflow's commands, run in a fresh copy with a fresh virtual environment -----------

@pytest.fixture(scope="module")
def installed(release, tmp_path_factory):
    """A fresh venv; the workflow's install step run in the release with it. Returns the env."""
    base = tmp_path_factory.mktemp("venv")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    import pip

    lent = base / "lent"          # pip alone, from the running environment
    lent.mkdir()
    (lent / "pip").symlink_to(Path(pip.__file__).resolve().parent)
    site_dir = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    Path(site_dir, "lent_pip.pth").write_text(f"{lent}\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "PYTEST", "GDKIT", "VIRTUAL_ENV", "COV_"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", VIRTUAL_ENV=str(venv))
    (install,) = [s for s in steps_of(release) if "pip install" in s.get("run", "")]
    done = run_step(install, release, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return env


def run_step(step, cwd, env, output=None):
    script = cwd.parent / f"step-{step.get('id', 'run')}.sh"
    script.write_text(step["run"])
    env = dict(env, **({"GITHUB_OUTPUT": str(output)} if output else {}))
    return subprocess.run(["bash", "-e", str(script)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def put_exercises(release, source, edit=None):
    """exercises/ as a student would push it: a copy of `source`, optionally edited."""
    shutil.rmtree(release / "exercises", ignore_errors=True)
    shutil.copytree(source, release / "exercises", ignore=shutil.ignore_patterns("__pycache__"))
    if edit:
        module, old, new = edit
        path = release / "exercises" / f"{module}.py"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")


def classroom_result(release, env, tmp_path):
    (step,) = [s for s in steps_of(release) if s.get("id") == "gdkit"]
    output = tmp_path / "github_output"
    output.write_text("")
    done = run_step(step, release, env, output)
    lines = output.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("result="), lines
    doc = json.loads(base64.b64decode(lines[0][len("result="):], validate=True))
    check_format(doc)
    return done.returncode, doc


def check_format(doc):
    """The result a Classroom runner reports (platforms.md), as the reporter reads it."""
    assert set(doc) == {"version", "status", "max_score", "tests"}
    assert doc["version"] == 1 and doc["status"] in ("pass", "fail", "error")
    assert doc["max_score"] == 100 and doc["tests"]
    for t in doc["tests"]:
        assert set(t) == {"name", "status", "score", "message", "test_code", "filename", "line_no",
                          "duration"}
        assert isinstance(t["name"], str) and t["status"] in ("pass", "fail", "error")
        assert isinstance(t["score"], (int, float)) and not isinstance(t["score"], bool)
        assert isinstance(t["message"], str) and isinstance(t["line_no"], int)
        assert isinstance(t["duration"], int) and t["duration"] >= 0
    assert (doc["status"] == "pass") == all(t["status"] == "pass" for t in doc["tests"])


def scores(doc):
    return {t["name"].split(" ")[0]: t["score"] for t in doc["tests"]}


def total(doc):
    return round(sum(t["score"] for t in doc["tests"]), 2)


def test_the_workflow_gives_the_solutions_full_marks(release, installed, tmp_path):
    put_exercises(release, SOLUTIONS)
    code, doc = classroom_result(release, installed, tmp_path)
    assert (code, doc["status"], total(doc)) == (0, "pass", 100)
    assert len(doc["tests"]) == 17


def test_the_workflow_gives_the_stubs_nothing_and_fails(release, installed, tmp_path):
    put_exercises(release, ROOT / "exercises")
    code, doc = classroom_result(release, installed, tmp_path)
    assert (code, doc["status"], total(doc)) == (1, "fail", 0)
    assert all("not implemented yet" in t["message"] for t in doc["tests"])


def test_a_common_mistake_costs_that_function_only(release, installed, tmp_path):
    # the tie: ŷ = 0.5 is class 1 (slide 36)
    put_exercises(release, SOLUTIONS, ("logistic_regression", "return int(y_hat >= threshold)",
                                       "return int(y_hat > threshold)"))
    code, doc = classroom_result(release, installed, tmp_path)
    got = scores(doc)
    lost = 5 - got["logistic_regression.classify"]
    assert code == 1 and doc["status"] == "fail" and 0 < lost < 5
    assert total(doc) == 100 - lost
    assert [k for k, t in zip(got, doc["tests"]) if t["status"] != "pass"] == ["logistic_regression.classify"]
    (failed,) = [t for t in doc["tests"] if t["status"] == "fail"]
    assert "0.5" in failed["message"]


def test_the_workflow_still_reports_when_the_grader_cannot_run(release, installed, tmp_path):
    shutil.rmtree(release / "exercises")
    try:
        code, doc = classroom_result(release, installed, tmp_path)
    finally:
        put_exercises(release, ROOT / "exercises")
    assert code == 2 and doc["status"] == "error" and total(doc) == 0


def test_plain_pytest_grades_the_exercises_and_runs_the_students_tests(release, installed):
    put_exercises(release, SOLUTIONS, ("linear_regression_basic", "return w * x + b",
                                       "return w * x - b"))
    mine = release / "tests" / "test_mine.py"
    mine.write_text("from exercises import linear_regression_basic as basic\n\n"
                    "def test_slide_6():\n    assert basic.predict(2.0, 2.0, 2.0) == 6.0\n")
    try:
        done = subprocess.run(["pytest", "-p", "no:cacheprovider"], cwd=release, env=installed,
                              capture_output=True, text=True, timeout=300)
    finally:
        mine.unlink()
        put_exercises(release, ROOT / "exercises")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    # the grader's copy in the release is what ran (not the gdkit that runs these tests)
    assert f"gdkit-homework-{student.__version__}" in out
    assert "FAILED tests/test_mine.py::test_slide_6" in out
    tail = out.strip().splitlines()
    assert tail[-3].startswith("TOTAL") and "/100" in tail[-3] and not tail[-3].split()[1].startswith("100/")
    assert tail[-2].startswith("seed ") and re.search(r"\d+ failed, \d+ passed", tail[-1])
    earned = re.search(r"^linear_regression_basic\.predict\s+([\d.]+)/4 ", out, re.M)
    assert earned and float(earned.group(1)) < 4


def test_the_cli_writes_the_release(tmp_path, capsys):
    from autograder.drivers import cli

    assert cli.main(["release", "student", str(tmp_path / "r")]) == 0
    assert stubs.check(SOLUTIONS, tmp_path / "r" / "exercises") == []
    assert (tmp_path / "r" / ".github/workflows/classroom.yml").is_file()
    assert cli.main(["release", "student", str(tmp_path / "r")]) == 2
    assert "not empty" in capsys.readouterr().err
