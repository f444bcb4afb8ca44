"""The pytest plugin, run in a pytest subprocess (pytester) as a student would run it."""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_solutions_pass_every_check_and_the_summary_ends_with_the_score(pytester):
    result = pytester.runpytest_subprocess("--gdkit", str(ROOT / "solutions"), "--gdkit-seed", "5")
    result.assert_outcomes(passed=93)
    result.stdout.fnmatch_lines(["*gdkit: grading*solutions (seed 5*", "*collected 93 items*",
                                 "*gdkit score*", "TOTAL*100/100*", "*seed 5*"])


def test_stubs_fail_with_not_implemented_yet_and_no_grader_traceback(pytester):
    result = pytester.runpytest_subprocess("--gdkit", str(ROOT / "exercises"), "-k", "basic.predict")
    result.assert_outcomes(failed=5, deselected=88)
    result.stdout.fnmatch_lines(["*linear_regression_basic.predict: worked values of slides 6–7*",
                                 "*not implemented yet*", "linear_regression_basic.predict*0/4*"])
    assert "Traceback" not in result.stdout.str() and "runner.py" not in result.stdout.str()


def test_a_wrong_function_shows_slide_inputs_expected_got_and_hint(pytester, submission):
    path = submission / "linear_regression_numpy.py"
    path.write_text(path.read_text().replace("2 * x * (y_hat - y)", "x * (y_hat - y)"))
    result = pytester.runpytest_subprocess("--gdkit", str(submission), "-k", "numpy.gradient")
    result.stdout.fnmatch_lines([
        "*linear_regression_numpy.gradient: worked values of slides 6–7*",
        "*slide 6: ∇θL must be [[]-24, -48], got [[]-12, -24]",
        "*x = [[]1, 2]", "*expected: [[]-24, -48]*", "*got:      [[]-12, -24]",
        "*hint: the factor 2 is missing*",
    ])
    result.stdout.fnmatch_lines(["*_ linear_regression_numpy.gradient: worked values of slides 6–7 (1 point) _*",
                                 "linear_regression_numpy.gradient*1/6*1/6 checks passed"])


def test_the_ini_setting_does_what_the_option_does(pytester):
    pytester.makeini(f"[pytest]\ngdkit_submission = {ROOT / 'solutions'}\ngdkit_seed = 9\n")
    result = pytester.runpytest_subprocess("-k", "classify")
    result.assert_outcomes(passed=6, deselected=87)
    result.stdout.fnmatch_lines(["*seed 9*"])


def test_without_the_option_the_plugin_stays_out_of_the_way(pytester):
    pytester.makepyfile(test_plain="def test_one():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "gdkit score" not in result.stdout.str()


def test_no_file_of_the_submission_is_collected_by_pytest(pytester, submission):
    (submission / "conftest.py").write_text("raise SystemExit('student conftest was loaded')\n")
    (submission / "test_cheat.py").write_text("def test_free_points():\n    pass\n")
    result = pytester.runpytest_subprocess("--gdkit", str(submission), "-k", "sigmoid", str(submission))
    result.assert_outcomes(passed=8, deselected=85)
    assert "student conftest was loaded" not in result.stdout.str() + result.stderr.str()


def test_a_missing_folder_is_a_usage_error(pytester):
    result = pytester.runpytest_subprocess("--gdkit", "no/such/folder")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*--gdkit: no/such/folder is not a folder*"])


# ---- the ini setting's mode: the student repository (gdkit release student) ---------------------

def student_repo(pytester, submission):
    """A student repository: the ini setting names the submission relative to the ini file, the
    student has their own tests (one using a fixture of their own conftest.py, one failing) and a
    stray test file inside the submission folder."""
    pytester.makeini(f"[pytest]\ntestpaths = tests\ngdkit_submission = {submission.name}\n")
    (pytester.path / submission.name).mkdir()
    for module in submission.glob("*.py"):
        (pytester.path / submission.name / module.name).write_text(module.read_text())
    (pytester.path / submission.name / "test_inside.py").write_text("def test_inside():\n    pass\n")
    tests = pytester.mkdir("tests")
    (tests / "conftest.py").write_text("import pytest\n\n@pytest.fixture\ndef two():\n    return 2\n")
    (tests / "test_mine.py").write_text("def test_mine(two):\n    assert two + two == 4\n\n"
                                        "def test_mine_wrong():\n    assert 1 == 2\n")
    return pytester.path / submission.name


def test_the_ini_setting_alone_runs_the_checks_and_the_students_own_tests(pytester, submission):
    student_repo(pytester, submission)
    result = pytester.runpytest_subprocess("-k", "classify or mine", "--gdkit-seed", "3")
    # 6 checks of classify pass, the student's two tests run (their conftest's fixture works),
    # the test file inside the submission folder is not collected
    result.assert_outcomes(passed=7, failed=1, deselected=87)
    out = result.stdout.str()
    assert "test_inside" not in out
    result.stdout.fnmatch_lines(["*collected 95 items*", "*FAILED tests/test_mine.py::test_mine_wrong*",
                                 "*gdkit score*", "logistic_regression.classify*5/5*", "TOTAL*5/5*",
                                 "seed 3; isolation: *", "*1 failed, 7 passed, 87 deselected*"])
    # the score table comes after pytest's short summary: it ends the report
    assert out.rindex("gdkit score") > out.rindex("short test summary info")


def test_naming_only_the_students_tests_runs_no_check(pytester, submission):
    student_repo(pytester, submission)
    result = pytester.runpytest_subprocess("tests/test_mine.py")
    result.assert_outcomes(passed=1, failed=1)
    assert "gdkit: grading" not in result.stdout.str() and "gdkit score" not in result.stdout.str()


def test_naming_the_submission_folder_in_the_ini_mode_runs_its_checks(pytester, submission):
    folder = student_repo(pytester, submission)
    result = pytester.runpytest_subprocess(folder.name, "-k", "sigmoid")
    result.assert_outcomes(passed=8, deselected=85)
    assert "test_inside" not in result.stdout.str()


def test_the_option_still_grades_alone_where_the_ini_setting_is_set(pytester, submission):
    folder = student_repo(pytester, submission)
    (pytester.path / "tests" / "conftest.py").write_text("raise SystemExit('conftest was loaded')\n")
    result = pytester.runpytest_subprocess("--gdkit", str(folder), "-k", "sigmoid or mine")
    result.assert_outcomes(passed=8, deselected=85)
    assert "conftest was loaded" not in result.stdout.str() + result.stderr.str()
