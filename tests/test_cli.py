"""The command line and its report formats, driven as a TA would drive them."""
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autograder.drivers.cli import main
from autograder.formats import RENDERERS

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = 17


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_solutions_score_100_from_the_command_line():
    proc = run_cli("grade", "solutions", "--seed", "3")
    assert proc.returncode == 0, proc.stderr
    assert "TOTAL" in proc.stdout and "100/100" in proc.stdout, proc.stdout
    assert "seed 3" in proc.stdout, "the seed must be printed so that a run can be replayed"


def test_exercises_score_0_with_not_implemented_yet_and_no_traceback(exercises_report):
    text = RENDERERS["text"](exercises_report)
    assert exercises_report.score == 0, f"stubs scored {exercises_report.score}"
    assert text.count("not implemented yet") >= FUNCTIONS, text
    assert "Traceback" not in text and "GRADER FAULT" not in text, text
    assert {c.status for c in exercises_report.checks} == {"todo"}, {c.status for c in exercises_report.checks}


def test_default_submission_is_exercises(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["grade", "--seed", "1", "--only", "logistic_regression.classify"]) == 0
    out = capsys.readouterr().out
    assert "exercises" in out and "0/5" in out, out


def test_gradescope_results_json_has_every_field_and_adds_up(solutions_report):
    doc = json.loads(RENDERERS["gradescope"](solutions_report))
    assert doc["score"] == 100, doc["score"]
    assert isinstance(doc["execution_time"], (int, float)) and isinstance(doc["output"], str)
    assert abs(sum(t["score"] for t in doc["tests"]) - doc["score"]) < 1e-3
    assert abs(sum(t["max_score"] for t in doc["tests"]) - 100) < 1e-3
    modules = ("linear_regression_basic.", "linear_regression_numpy.", "logistic_regression.")
    for t in doc["tests"]:
        assert set(t) >= {"name", "score", "max_score", "status", "output"}, t
        assert t["status"] in ("passed", "failed"), t
        assert t["name"].startswith(modules) and ": " in t["name"], f"bad test name {t['name']!r}"


def test_gradescope_failures_carry_the_feedback(exercises_report):
    doc = json.loads(RENDERERS["gradescope"](exercises_report))
    failed = [t for t in doc["tests"] if t["status"] == "failed"]
    assert len(failed) == len(doc["tests"]) and doc["score"] == 0
    assert all("not implemented yet" in t["output"] for t in failed), failed[0]


def test_junit_xml_has_one_testcase_per_check(solutions_report, exercises_report):
    root = ET.fromstring(RENDERERS["junit"](exercises_report))
    cases = root.findall(".//testcase")
    assert len(cases) == len(exercises_report.checks)
    assert all(c.find("failure") is not None for c in cases)
    root = ET.fromstring(RENDERERS["junit"](solutions_report))
    assert all(c.find("failure") is None for c in root.findall(".//testcase"))


def test_json_is_the_full_result_model(solutions_report):
    doc = json.loads(RENDERERS["json"](solutions_report))
    assert doc["score"] == 100 and doc["seed"] == 7 and doc["isolation"]
    assert len(doc["functions"]) == FUNCTIONS
    check = doc["checks"][0]
    assert {"module", "function", "name", "slides", "step", "status", "points", "max_points",
            "inputs", "expected", "got", "hint", "output", "traceback"} <= set(check), check


def test_fail_under_exits_1_below_the_threshold_and_0_above(tmp_path):
    out = tmp_path / "results.json"
    proc = run_cli("grade", "exercises", "--only", "logistic_regression.sigmoid", "--fail-under", "50",
                   "--format", "gradescope", "--output", str(out))
    assert proc.returncode == 1, proc.stderr
    assert json.loads(out.read_text())["score"] == 0, "a report is written even below the threshold"
    proc = run_cli("grade", "solutions", "--only", "logistic_regression.sigmoid", "--fail-under", "50")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args, message", [
    (["grade", "no/such/folder"], "is not a folder"),
    (["grade", "solutions", "--only", "nothing.matches"], "no check matches"),
])
def test_usage_errors_exit_2_with_a_clear_message(args, message, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_bad_option_is_a_usage_error():
    proc = run_cli("grade", "solutions", "--format", "pdf")
    assert proc.returncode == 2 and "invalid choice" in proc.stderr


def test_same_seed_replays_the_same_random_inputs():
    from autograder.engine.grader import grade

    def inputs(seed):
        report = grade(ROOT / "exercises", seed=seed, only="linear_regression_numpy.gradient")
        return [c.inputs for c in report.checks]

    assert inputs(11) == inputs(11), "a seed must replay the same inputs"
    assert inputs(11) != inputs(12), "another seed must draw other inputs"


def test_only_selects_functions_by_glob(solutions_report):
    from autograder.engine.grader import grade

    report = grade(ROOT / "solutions", seed=1, only="logistic_regression.*")
    assert {c.module for c in report.checks} == {"logistic_regression"}
    assert report.score == report.max_score == 45


def test_an_empty_folder_scores_0_with_missing_modules(tmp_path):
    from autograder.engine.grader import grade

    report = grade(tmp_path, seed=1)
    assert report.score == 0 and {c.status for c in report.checks} == {"missing"}
    text = RENDERERS["text"](report)
    assert "linear_regression_basic.py is missing from the submission" in text, text


def test_a_syntax_error_costs_only_its_module(submission):
    from autograder.engine.grader import grade

    path = submission / "linear_regression_numpy.py"
    path.write_text(path.read_text() + "\ndef broken(:\n    pass\n")
    report = grade(submission, seed=1)
    by_module = {}
    for f in report.functions:
        by_module.setdefault(f.module, []).append(f)
    assert all(f.points == 0 for f in by_module["linear_regression_numpy"])
    for module in ("linear_regression_basic", "logistic_regression"):
        assert all(f.points == f.max_points for f in by_module[module]), module
    failed = next(c for c in report.checks if c.module == "linear_regression_numpy")
    assert "SyntaxError" in failed.message and failed.traceback and "line" in failed.traceback


def test_a_missing_function_and_a_wrong_signature_are_named(submission):
    from autograder.engine.grader import grade

    path = submission / "logistic_regression.py"
    source = path.read_text().replace("def classify(", "def classify_it(")
    source = source.replace("def update(theta, grad, lr):", "def update(theta, grad):")
    path.write_text(source)
    report = grade(submission, seed=1, only="logistic_regression.*")
    classify = [c for c in report.checks if c.function == "classify"]
    assert all(c.status == "missing" and "no function named classify" in c.message for c in classify)
    assert "classify_it" in classify[0].hint
    update = next(c for c in report.checks if c.function == "update")
    assert update.status == "error" and "TypeError" in update.message
    assert "update(theta, grad)" in (update.hint or ""), update.hint
    assert all(f.points == f.max_points for f in report.functions if f.function not in ("classify", "update", "train"))


def test_output_file_is_written_whole(tmp_path):
    out = tmp_path / "deep" / "results.json"
    proc = run_cli("grade", "solutions", "--format", "gradescope", "--output", str(out),
                   "--only", "linear_regression_basic.predict")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["score"] == 4
    assert [p.name for p in out.parent.iterdir()] == ["results.json"], "no temp files left behind"


def test_a_required_isolation_layer_that_is_unavailable_refuses_to_grade(capsys, monkeypatch):
    from autograder import sandbox

    real = sandbox.unavailable
    monkeypatch.setattr(sandbox, "unavailable",
                        lambda layer: "bubblewrap is not installed" if layer == "bwrap" else real(layer))
    monkeypatch.chdir(ROOT)
    assert main(["grade", "solutions", "--isolation", "strict"]) == 2
    err = capsys.readouterr().err
    assert "'bwrap' was required but is unavailable here: bubblewrap is not installed" in err, err


def test_the_report_names_the_isolation_layer_it_used():
    from autograder.engine.grader import grade

    report = grade(ROOT / "solutions", seed=1, only="logistic_regression.classify", layer="process")
    assert report.isolation == "process" and report.score == 5
    assert any("plain process" in note for note in report.notes), report.notes
    assert "isolation: process" in RENDERERS["text"](report)


def test_a_train_that_fails_through_a_broken_step_names_that_step(submission):
    from autograder.engine.grader import grade

    path = submission / "linear_regression_numpy.py"
    path.write_text(path.read_text().replace("2 * x * (y_hat - y)", "x * (y_hat - y)"))
    report = grade(submission, seed=2, only="linear_regression_numpy.*")
    train = [c for c in report.checks if c.function == "train" and not c.passed]
    assert train and all("gradient fails its own checks" in (c.hint or "") for c in train), \
        [c.hint for c in train]
    assert all(c.passed for c in report.checks if c.function in ("predict", "loss", "update"))
