"""pytest plugin: grade a submission folder with pytest, one test per check.

    pytest --gdkit exercises            # grade this folder: gdkit's checks are the only tests
    pytest                              # with `gdkit_submission = exercises` in the ini file

Each check of the grader becomes a test item named like the check ("linear_regression_basic.loss:
worked values of slides 6–7"), so `-k`, `-x`, `--lf` and `--junitxml` work as usual. A failure
shows the grader's feedback (slide, inputs, expected, got, hint), not a grader traceback. The
terminal summary ends with the score table. Student code runs in the grader's isolated worker, never
inside pytest, and nothing in the submission folder is ever collected by pytest.

Two modes:

- `--gdkit DIR` on the command line grades someone's folder: the checks are the only tests, no
  other file is collected and no conftest.py at all is loaded (one could patch the run).
- The `gdkit_submission` ini setting alone is the student repository's mode (`gdkit release
  student`): plain `pytest` runs gdkit's checks *and* the student's own tests (collected as usual,
  with their conftest.py files), then the score table. Naming only other paths (`pytest
  tests/test_mine.py`) runs just those; naming the submission folder, or a folder holding it,
  brings the checks back. The score is the checks' alone: the student's tests do not count.

Without either, the plugin does nothing.
"""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from ..engine import policy
from ..formats import text

SUBMISSION_HELP = "grade this submission folder with gdkit's checks, one test per check"
SEED_HELP = "seed of gdkit's random checks (printed in the header; replays a run)"
OPTIONS = {  # name -> (type, help), each both a --gdkit-NAME option and a gdkit_NAME ini setting
    "seed": (int, SEED_HELP),
    "isolation": (str, "gdkit: " + policy.ISOLATION_HELP),
    "timeout": (float, "gdkit: " + policy.TIMEOUT_HELP),
    "budget": (float, "gdkit: " + policy.BUDGET_HELP),
}

_GRADER = pytest.StashKey["Grader"]()
_RESULTS = pytest.StashKey[list]()
_AHEAD = pytest.StashKey["Ahead"]()
_MODE = pytest.StashKey[str]()   # "only": --gdkit, the checks alone; "alongside": the ini setting


def pytest_addoption(parser):
    """--gdkit and friends; each option also has an ini setting with the same help text."""
    group = parser.getgroup("gdkit", "gdkit grading")
    group.addoption("--gdkit", metavar="SUBMISSION", dest="gdkit_submission", help=SUBMISSION_HELP)
    parser.addini("gdkit_submission", SUBMISSION_HELP)
    for name, (kind, help_text) in OPTIONS.items():
        group.addoption(f"--gdkit-{name}", type=kind, dest=f"gdkit_{name}", help=help_text)
        parser.addini(f"gdkit_{name}", help_text)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """With --gdkit, load no conftest.py at all: one in the submission could patch the run. (The
    ini setting's mode is the student's own run of their own repository: their conftest.py files
    load as usual.)"""
    namespace = early_config.known_args_namespace
    if getattr(namespace, "gdkit_submission", None):
        namespace.noconftest = True


def _option(config, name):
    value = config.getoption(f"gdkit_{name}")
    return value if value is not None else (config.getini(f"gdkit_{name}") or None)


def _submission(config) -> Path | None:
    value = _option(config, "submission")
    return Path(value) if value else None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _wants_checks(config, submission: Path) -> bool:
    """In the ini setting's mode: run the checks unless the command line names only paths that
    neither are, hold nor lie in the submission folder."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return True   # plain `pytest`: testpaths or the current folder
    folder = submission.resolve()
    for arg in config.args:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if _inside(path, folder) or _inside(folder, path):
            return True
    return False


def pytest_configure(config):
    """Set up the grader; it launches its workers at once, so that they start while pytest
    collects."""
    config.addinivalue_line("markers", "gdkit: a check of gdkit's grader")
    submission = _submission(config)
    if submission is None:
        return
    if config.getoption("gdkit_submission") is None:   # the ini setting alone
        submission = Path(config.inipath.parent if config.inipath else config.rootpath) / submission
        if not _wants_checks(config, submission):
            return
        mode = "alongside"
    else:
        mode = "only"
    if not submission.is_dir():
        raise pytest.UsageError(f"--gdkit: {submission} is not a folder")
    seed = _option(config, "seed")
    try:
        chosen = policy.Policy(timeout=float(_option(config, "timeout") or policy.TIMEOUT),
                               budget=float(_option(config, "budget") or policy.BUDGET),
                               layer=_option(config, "isolation") or "auto")
    except ValueError as e:
        raise pytest.UsageError(f"--gdkit: {e}") from None
    from ..engine.workers import Workers

    workers = Workers(submission, chosen)   # they start before NumPy and the checks load
    try:
        from ..engine.grader import Grader

        config.stash[_GRADER] = Grader(submission, seed=None if seed is None else int(seed),
                                       policy=chosen, workers=workers)
    except BaseException:
        workers.close()
        raise
    config.stash[_RESULTS] = []
    config.stash[_MODE] = mode


def pytest_unconfigure(config):
    """Stop the worker and remove its stage."""
    ahead = config.stash.get(_AHEAD, None)
    if ahead is not None:
        ahead.close()
    grader = config.stash.get(_GRADER, None)
    if grader is not None:
        grader.close()


def pytest_report_header(config):
    """Name the submission and the seed, so that a run can be replayed."""
    grader = config.stash.get(_GRADER, None)
    if grader is not None:
        return [f"gdkit: grading {grader.submission} (seed {grader.seed}; replay with "
                f"--gdkit-seed {grader.seed})"]
    return None


def pytest_ignore_collect(collection_path, config):
    """With --gdkit, collect no files at all: the checks are the only tests. In the ini setting's
    mode, collect as usual, but nothing in the submission folder (its modules run only in the
    worker)."""
    grader = config.stash.get(_GRADER, None)
    if grader is None:
        return None
    if config.stash[_MODE] == "only" or _inside(Path(collection_path).resolve(),
                                                grader.submission.resolve()):
        return True
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """One item per check: in place of the (empty) collection with --gdkit, before the student's
    own tests in the ini setting's mode; first, so that -k and -m see them."""
    grader = config.stash.get(_GRADER, None)
    if grader is None:
        return
    name = grader.submission.resolve().name
    folder = Submission.from_parent(session, name=name, nodeid=name, path=grader.submission.resolve())
    checks = [CheckItem.from_parent(folder, name=check.id, check=check) for check in grader.checks]
    items[:] = checks + (list(items) if config.stash[_MODE] == "alongside" else [])
    config.hook.pytest_collectreport(report=pytest.CollectReport(
        folder.nodeid, "passed", None, checks))  # so that "collected N items" counts them


def pytest_collection_finish(session):
    """Start grading the selected checks at once, in about the order pytest will run them (the
    NumPy-less worker's last)."""
    grader = session.config.stash.get(_GRADER, None)
    if grader is not None:
        from ..engine.grader import execution_order

        checks = [item.check for item in session.items if isinstance(item, CheckItem)]
        session.config.stash[_AHEAD] = Ahead(grader, execution_order(checks))


class Ahead:
    """Grades the checks in a thread of its own, so that grading (which mostly waits for the
    worker) overlaps pytest's work on the items; each item waits for its own result."""

    def __init__(self, grader, checks):
        self.grader, self.results = grader, {}
        self.ready = {c.id: threading.Event() for c in checks}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._grade, args=(checks,), name="gdkit-grading",
                                       daemon=True)
        self.thread.start()

    def _grade(self, checks):
        try:
            for check in checks:
                if self.stopping.is_set():
                    break
                self.results[check.id] = self.grader.run(check)
                self.ready[check.id].set()
        finally:
            for event in self.ready.values():
                event.set()

    def result(self, check):
        """The check's result: graded ahead, or here if the thread stopped before it."""
        event = self.ready.get(check.id)
        if event is not None:
            event.wait()
            if check.id in self.results:
                return self.results[check.id]
        self.thread.join()
        return self.grader.run(check)

    def close(self):
        self.stopping.set()
        self.thread.join()


class Submission(pytest.Collector):
    """The submission folder, as the parent node of its checks."""

    def collect(self):
        return []


class CheckFailed(Exception):
    """A check did not pass; carries its CheckResult."""

    def __init__(self, result):
        super().__init__(result.message)
        self.result = result


class CheckItem(pytest.Item):
    """One grader check as a pytest test."""

    def __init__(self, *, check, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.add_marker(pytest.mark.gdkit)

    def runtest(self):
        ahead = self.config.stash.get(_AHEAD, None)
        result = ahead.result(self.check) if ahead else self.config.stash[_GRADER].run(self.check)
        self.config.stash[_RESULTS].append(result)
        self.user_properties += [("points", float(result.points)),
                                 ("max_points", float(result.max_points))]
        if not result.passed:
            raise CheckFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return text.feedback(excinfo.value.result)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        # The domain heads a failure's report. It must not be the end of the node id, or
        # pytest's verbose lines would print its dots as "::".
        worth = self.config.stash[_GRADER].weights.get(self.check.id, 0)
        return self.path, None, f"{self.check.id} ({text.points(worth)} point{'s' * (worth != 1)})"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """End with the score table of the checks that ran: after the failures and pytest's short
    summary (this wrapper is the outermost), just before the final counts."""
    yield
    grader = config.stash.get(_GRADER, None)
    results = config.stash.get(_RESULTS, None)
    if grader is None or not results:
        return
    report = grader.report(results)
    terminalreporter.section("gdkit score")
    terminalreporter.write_line(text.table(report))
    terminalreporter.write_line(f"seed {grader.seed}; isolation: {grader.layer}")
