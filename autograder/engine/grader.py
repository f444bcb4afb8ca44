"""Grade one submission: run checks through the worker and turn each into a CheckResult.

`Grader` is the driver-independent core: the CLI runs every check with it, the pytest plugin one
check per test item, and later drivers (notebook cells, batches) do the same. `report()` is the
one way to turn results into a Report.
"""
from __future__ import annotations

import datetime
import fnmatch
import os
import time
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from .. import __version__, lecture
from ..checks import all_checks
from ..checks.base import Failure, fmt
from ..feedback import calls, formula, steps
from ..formats.sanitize import clean
from ..results import CheckResult, Report
from .policy import Policy
from .workers import Workers


def new_seed() -> int:
    return int.from_bytes(os.urandom(4), "little") % 1_000_000


def select(checks, only=None):
    """Checks whose 'module.function' or full name matches the glob pattern(s) in `only`."""
    if not only:
        return list(checks)
    patterns = [p.strip() for p in only.split(",") if p.strip()]

    def wanted(c):
        return any(fnmatch.fnmatchcase(c.key, p) or fnmatch.fnmatchcase(c.id, p)
                   or fnmatch.fnmatchcase(c.module, p) or p in c.id for p in patterns)

    return [c for c in checks if wanted(c)]


def max_points(checks) -> dict[str, Fraction]:
    """Each check's share of its function's points: style checks carry the style points, the
    others split the rest. Shares are whole cents, so that every format's per-check points add up
    exactly to the rubric (the first checks of a group carry the cents left over)."""
    rubric = lecture.rubric()
    by_key: dict[str, list] = {}
    for c in checks:
        by_key.setdefault(c.key, []).append(c)
    out = {}
    for key, group in by_key.items():
        points = rubric[key]
        plain = [c for c in group if not c.style]
        styled = [c for c in group if c.style]
        out.update(split(points.style, styled))
        out.update(split(points.points - (points.style if styled else 0), plain))
    return out


def split(total: Fraction, checks) -> dict[str, Fraction]:
    """`total` points over `checks` in whole cents, as equal as cents allow."""
    if not checks:
        return {}
    cents = int(total * 100)
    each, extra = divmod(cents, len(checks))
    return {c.id: Fraction(each + (i < extra), 100) for i, c in enumerate(checks)}


class Context:
    """What a running check sees (checks.base.Context): calls into the submission, and its own
    seeded RNG."""

    def __init__(self, grader, check):
        self.grader, self.check = grader, check
        self.rng = np.random.default_rng([grader.seed, zlib.crc32(check.id.encode())])
        self.outputs = []

    def reply(self, function, *args, module=None, no_numpy=False, trace=False, **kwargs):
        session = self.grader.workers.session(no_numpy)
        reply = session.call(module or self.check.module, function, *args, trace=trace, **kwargs)
        if reply.stdout:
            self.outputs.append(reply.stdout)
        key = f"{module or self.check.module}.{function}"
        if reply.ok and not kwargs and key in self.grader.answers:
            self.grader.answers[key].append((args, reply.value))
        return reply

    def call(self, function, *args, module=None, **kwargs):
        reply = self.reply(function, *args, module=module, **kwargs)
        if reply.ok:
            return reply.value
        raise self.explain(function, reply, args, module, kwargs)

    def explain(self, function, reply, args, module=None, kwargs=None):
        module = module or self.check.module
        return calls.explain(module, function, reply, args, kwargs or {},
                             functions=self.grader.workers.functions(module),
                             memory=self.grader.workers.memory)


class Grader:
    """Runs checks against one submission folder under one call policy."""

    def __init__(self, submission, *, seed=None, policy=None, checks=None, workers=None):
        self.submission = Path(submission)
        self.seed = new_seed() if seed is None else int(seed)
        self.policy = policy or Policy()
        # the workers start first (a driver may have launched them already), the checks load
        # while they import NumPy
        self.workers = workers or Workers(self.submission, self.policy)
        self.checks = list(all_checks() if checks is None else checks)
        self.weights = max_points(all_checks())
        self.workers.budget.expect({c.key for c in self.checks})
        if any(c.no_numpy for c in self.checks):
            self.workers.launch_second()
        self.faults = []
        self.failed = set()   # 'module.function' keys with a failed check so far
        # plain-Python functions: (args, value) of every answered call, which the formula shown
        # must give back, and the formula the worker returned once asked (feedback/formula.py)
        self.answers = {c.key: [] for c in self.checks if formula.traceable(c.module, c.function)}
        self.formulas: dict = {}
        self.broken = set()   # the same, counting only checks other than style checks

    @property
    def layer(self) -> str:
        return self.workers.layer

    def close(self):
        self.workers.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def run(self, check) -> CheckResult:
        """One check, as a CheckResult; never raises for what the submission did."""
        ctx = Context(self, check)
        start = time.monotonic()
        result = CheckResult(check.module, check.function, check.name, check.kind, check.slides,
                             lecture.STEPS[check.function].step, "passed",
                             Fraction(0), self.weights.get(check.id, Fraction(0)))
        try:
            note = check.run(ctx)
            result.points = result.max_points
            result.note = note if isinstance(note, str) else None
        except Failure as f:
            result.status, result.message, result.hint = f.status, clean(f.message), clean(f.hint)
            result.inputs = {k: clean(v if isinstance(v, str) else fmt(v)) for k, v in f.inputs.items()}
            result.expected, result.got = clean(f.expected), clean(f.got)
            result.traceback, result.note = clean(f.traceback), clean(f.note)
        except Exception as e:  # a bug in the grader: report it, never blame the student silently
            result.status = "fault"
            result.message = clean(f"grader fault in this check: {type(e).__name__}: {e}")[:2000]
            self.faults.append(clean(f"{check.id}: {type(e).__name__}: {e}")[:2000])
        result.output = clean("".join(ctx.outputs))[-4000:]
        result.seconds = time.monotonic() - start
        if result.status == "failed" and not check.style:
            result.formula = self.formula(check)
        if not result.passed:
            self.failed.add(check.key)
            if not check.style:
                self.broken.add(check.key)
            if check.function == "train" and result.status == "failed":
                # train's own diagnosis assumes right steps: a broken step comes first
                result.hint = steps.broken_steps_hint(check.module, self.broken) or result.hint
        return result

    def formula(self, check) -> str | None:
        """The formula the student's plain-Python function implements, next to the lecture's,
        for its first failed check where it can be shown: the worker is asked for it once per
        function, and it is shown once, where it gives back every value the function returned
        so far (feedback/formula.py, where sympy is imported: not before a failure)."""
        key = check.key
        if key not in self.answers or self.formulas.get(key, "") is None:
            return None
        try:
            if key not in self.formulas:
                self.formulas[key] = None
                names = formula.parameters(check.module, check.function)
                reply = self.workers.session(False).formula(check.module, check.function, names)
                self.formulas[key] = reply.value if reply.ok else None
            line = formula.explain(check.module, check.function, self.formulas[key],
                                   self.answers[key])
        except Exception:  # feedback only (a worker that cannot restart is the next check's
            line = None    # fault): a formula that cannot be shown is not shown
        if line is not None:
            self.formulas[key] = None   # shown once
        return clean(line)

    def report(self, results, *, started="", seconds=0.0) -> Report:
        """The Report of these results: the one way every driver builds it."""
        return Report(str(self.submission), self.seed, self.layer, list(results), started, seconds,
                      __version__, list(self.faults), self.workers.notes())


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def grade(submission, *, seed=None, only=None, policy=None, workers=None, **options) -> Report:
    """Grade a submission folder with every check (or those matching `only`), under `policy` or a
    Policy of `options` (timeout, budget, layer, limits)."""
    started, t0 = now(), time.monotonic()
    policy = policy or Policy(**options)
    with Grader(submission, seed=seed, policy=policy, checks=select(all_checks(), only),
                workers=workers) as grader:
        done = {check.id: grader.run(check) for check in execution_order(grader.checks)}
        return grader.report([done[c.id] for c in grader.checks], started=started,
                             seconds=time.monotonic() - t0)


def execution_order(checks):
    """The order to run checks in: the grading order, but the checks of the NumPy-less worker
    last, so that it has started by then. Results are reported in the grading order; no check
    depends on a style check's result."""
    return [c for c in checks if not c.no_numpy] + [c for c in checks if c.no_numpy]
