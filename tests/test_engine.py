"""The engine's seams: one call policy for every driver, a budget shared fairly among functions,
one spec per student function, and a grader that every documented way of running cannot be
tricked into importing a submission's own modules."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import lecture
from autograder.checks import all_checks
from autograder.drivers import cli
from autograder.engine import policy
from autograder.engine.budget import Budget
from autograder.engine.grader import grade

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"


SLOW = """
import functools as _functools, time as _time
_depth = [0]


def _slow(f):
    @_functools.wraps(f)
    def slowly(*args, **kwargs):
        if _depth[0] == 0:   # the call the grader made, not the steps train calls
            _time.sleep({seconds})
        _depth[0] += 1
        try:
            return f(*args, **kwargs)
        finally:
            _depth[0] -= 1
    return slowly


"""


def slow_solutions(dest: Path, seconds: float) -> Path:
    """solutions/ with every function sleeping `seconds` before it answers correctly."""
    dest.mkdir(parents=True)
    for src in SOLUTIONS.glob("*.py"):
        source = re.sub(r"^def ", "@_slow\\ndef ", src.read_text(), flags=re.M)
        first = source.index("@_slow")
        (dest / src.name).write_text(source[:first] + SLOW.format(seconds=seconds) + source[first:])
    return dest


def test_every_function_gets_its_share_when_every_call_is_slow(tmp_path):
    """Each call takes 0.15 s, under the timeout: the budget runs out, but fairly. Every function
    is tried, its quick checks pass, and the grade ends within the budget."""
    sub = slow_solutions(tmp_path / "slow", 0.15)
    budget = 24.0
    report = grade(sub, seed=1, layer="process", budget=budget)
    assert report.seconds < budget + 8, report.seconds
    for f in report.functions:
        assert f.points > 0, f"{f.key} got no share of the budget: {f.summary}"
    skipped = [c for c in report.checks if c.status == "skipped"]
    assert skipped and all("share" in c.message or "budget" in c.message for c in skipped)
    assert not any(c.status == "failed" for c in report.checks), "slow is not wrong"


def test_a_function_that_answers_quickly_leaves_its_share_to_the_others():
    b = Budget(17.0)
    b.expect([f"m.f{i}" for i in range(17)])
    assert b.left("m.f0") == pytest.approx(1.0, abs=0.05)   # its own share: the others wait
    for i in range(1, 17):
        b.left(f"m.f{i}")                                    # they all have called, quickly
    assert b.left("m.f0") == pytest.approx(17.0, abs=0.05)  # so all that is left is usable


def test_cli_and_pytest_plugin_share_the_policys_defaults_and_help():
    args = cli.parser().parse_args(["grade", "x"])
    assert (args.timeout, args.budget, args.isolation) == (policy.TIMEOUT, policy.BUDGET, "auto")
    from autograder.drivers import pytest_plugin

    assert pytest_plugin.OPTIONS["timeout"][1].endswith(policy.TIMEOUT_HELP)
    assert pytest_plugin.OPTIONS["budget"][1].endswith(policy.BUDGET_HELP)
    assert pytest_plugin.OPTIONS["isolation"][1].endswith(policy.ISOLATION_HELP)
    assert policy.Policy(layer="strict").layer == "bwrap"
    with pytest.raises(ValueError):
        policy.Policy(layer="docker")


def test_every_check_belongs_to_a_spec_and_every_spec_to_the_rubric():
    specs = set(lecture.FUNCTIONS)
    assert specs == set(lecture.rubric()), "data/rubric.toml and lecture/specs.py disagree"
    checked = {c.key for c in all_checks()}
    assert checked == specs, f"functions without checks: {sorted(specs - checked)}"
    keys = [c.key for c in all_checks()]
    assert keys == sorted(keys, key=lecture.order), "checks run in the specs' order"
    for c in all_checks():
        assert c.slides or c.kind == "style", c.id


def shadowing_submission(folder: Path) -> Path:
    """A submission that brings its own autograder/ package and numpy.py: importing either in the
    grading process would let it write the report."""
    folder.mkdir()
    for src in (ROOT / "exercises").glob("*.py"):
        (folder / src.name).write_text(src.read_text())
    forged = "import sys\nprint('FORGED 100/100')\nsys.exit(0)\n"
    (folder / "autograder").mkdir()
    (folder / "autograder" / "__init__.py").write_text(forged)
    (folder / "autograder" / "__main__.py").write_text(forged)
    (folder / "numpy.py").write_text(forged)
    return folder


@pytest.mark.parametrize("how", ["gdkit", "python -P -m autograder", "python -m autograder, no shadow package"])
def test_documented_ways_of_running_never_import_the_submission(tmp_path, how):
    sub = shadowing_submission(tmp_path / "sub")
    if how == "gdkit":
        cmd = [str(Path(sys.executable).with_name("gdkit"))]
    elif how.startswith("python -P"):
        if sys.version_info < (3, 11):
            pytest.skip("-P is new in Python 3.11")
        cmd = [sys.executable, "-P", "-m", "autograder"]
    else:  # plain -m: cwd comes first on sys.path; __main__ drops it before numpy is imported
        (sub / "autograder" / "__init__.py").unlink()
        (sub / "autograder" / "__main__.py").unlink()
        (sub / "autograder").rmdir()
        cmd = [sys.executable, "-m", "autograder"]
    out = subprocess.run(cmd + ["grade", ".", "--isolation", "process", "--seed", "1"], cwd=sub,
                         capture_output=True, text=True, timeout=120)
    assert "FORGED" not in out.stdout + out.stderr
    assert re.search(r"^Score: 0/100\.", out.stdout, re.M), out.stdout[-2000:] + out.stderr[-2000:]
