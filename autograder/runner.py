"""Grade one submission: run checks through the worker and turn each into a CheckResult.

`Grader` is the driver-independent core: the CLI runs every check with it, the pytest plugin one
check per test item, and later drivers (nbgrader cells, batches) will do the same.
"""
from __future__ import annotations

import datetime
import fnmatch
import os
import re
import time
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from . import __version__, isolation, lecture
from .checks import all_checks
from .checks.base import Failure, fmt
from .results import CheckResult, Report
from .session import WORKER_SCRIPT, Limiter, Session

TIMEOUT = 2.0     # seconds per call
BUDGET = 300.0    # seconds per submission, for all its calls


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
    others split the rest equally."""
    rubric = lecture.rubric()
    by_key: dict[str, list] = {}
    for c in checks:
        by_key.setdefault(c.key, []).append(c)
    out = {}
    for key, group in by_key.items():
        points = rubric[key]
        plain = [c for c in group if not c.style]
        styled = [c for c in group if c.style]
        for c in styled:
            out[c.id] = points.style / len(styled)
        rest = points.points - (points.style if styled else 0)
        for c in plain:
            out[c.id] = rest / len(plain)
    return out


class Context:
    """What a running check sees: calls into the submission, and its own seeded RNG."""

    def __init__(self, grader, check):
        self.grader, self.check = grader, check
        self.rng = np.random.default_rng([grader.seed, zlib.crc32(check.id.encode())])
        self.outputs = []

    def reply(self, function, *args, module=None, no_numpy=False, trace=False, **kwargs):
        session = self.grader.session(no_numpy)
        reply = session.call(module or self.check.module, function, *args, trace=trace, **kwargs)
        if reply.stdout:
            self.outputs.append(reply.stdout)
        return reply

    def call(self, function, *args, module=None, **kwargs):
        """The value that module.function(*args) returns, or a Failure that says what happened."""
        module = module or self.check.module
        reply = self.reply(function, *args, module=module, **kwargs)
        if reply.ok:
            return reply.value
        raise self.grader.explain(module, function, reply, args, kwargs)


class Grader:
    """Runs checks against one submission folder."""

    def __init__(self, submission, *, seed=None, layer="auto", timeout=TIMEOUT, budget=BUDGET,
                 limits=None):
        self.submission = Path(submission)
        self.seed = new_seed() if seed is None else int(seed)
        self.options = dict(layer=layer, timeout=timeout, budget=budget, limits=limits)
        self.limiter = Limiter(budget)  # one budget, and one record of timeouts, for both sessions
        self.sessions = {}
        self.stage = None
        self.faults = []
        self.failed = set()   # 'module.function' keys with a failed check so far
        self.started = time.time()
        self.weights = max_points(all_checks())

    @property
    def layer(self) -> str:
        return self.session().layer

    def session(self, no_numpy=False) -> Session:
        """The worker session; with no_numpy, a second one where NumPy cannot be imported."""
        if no_numpy not in self.sessions:
            if self.stage is None:
                self.stage = isolation.make_stage(WORKER_SCRIPT, self.submission)
            self.sessions[no_numpy] = Session(self.submission, block_numpy=no_numpy,
                                              stage=self.stage, limiter=self.limiter,
                                              **self.options)
        return self.sessions[no_numpy]

    def close(self):
        for session in self.sessions.values():
            session.close()
        self.sessions.clear()
        if self.stage is not None:
            isolation.remove_stage(self.stage)
            self.stage = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- one check
    def run(self, check) -> CheckResult:
        ctx = Context(self, check)
        start = time.monotonic()
        result = CheckResult(check.module, check.function, check.name, check.kind, check.slides,
                             lecture.STEPS.get(check.function, ""), "passed",
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
        if not result.passed:
            self.failed.add(check.key)
            if check.function == "train" and not result.hint and result.status == "failed":
                result.hint = self.helpers_hint(check.module)
        return result

    def helpers_hint(self, module):
        """For train: the module's own steps that failed their checks, which train likely calls."""
        steps = ("sigmoid", "predict", "loss", "gradient", "update")  # what train runs on
        broken = [k.split(".")[1] for k in sorted(self.failed)
                  if k.startswith(module + ".") and k.split(".")[1] in steps]
        if not broken:
            return None
        return (f"train calls the module's steps, and {', '.join(broken)} "
                f"{'fails its' if len(broken) == 1 else 'fail their'} own checks: fix "
                f"{'it' if len(broken) == 1 else 'them'} first")

    def memory_text(self) -> str:
        limit = (self.options.get("limits") or isolation.Limits()).memory
        return f"{limit / (1 << 30):g} GiB" if limit >= 1 << 30 else f"{limit >> 20} MiB"

    def explain(self, module, function, reply, args, kwargs) -> Failure:
        """A Failure that tells the student what went wrong with a call, in their terms."""
        error = reply.error or {}
        kind, message = error.get("type", ""), error.get("message", "")
        call = f"{function}({', '.join([fmt(a) for a in args] + [f'{k}={fmt(v)}' for k, v in kwargs.items()])})"
        if reply.status == "timeout":
            return Failure(f"{call} {message}", status="timeout")
        if reply.status == "skipped":
            return Failure(message, status="timeout" if kind == "timeout" else "skipped")
        if reply.status == "crash":
            log = error.get("log", "").strip()
            if kind == "DiskLimit":
                return Failure(f"{call}: {message}", status="crash")
            return Failure(f"{call} ended the worker process: {message}"
                           + (f"\nlast output: {log[-500:]}" if log else ""),
                           status="crash", hint="os._exit, a signal, or running out of memory (the "
                           f"limit is {self.memory_text()}) end the process")
        if kind in ("MemoryError", "_ArrayMemoryError"):
            detail = f": {message}" if message else ""
            return Failure(f"{call} ran out of memory: the grading worker's limit is "
                           f"{self.memory_text()} (MemoryError{detail})", status="crash",
                           traceback=error.get("traceback"),
                           hint="no step of the lecture needs more than a few MB")
        if kind == "Tampering":
            return Failure(f"{call}: {message}", status="error",
                           hint="the style checks count the Python steps a call takes: leave "
                                "sys.settrace, frames and threads alone")
        if kind == "MissingModule":
            return Failure(f"{module}.py is missing from the submission", status="missing")
        if kind == "MissingFunction":
            found = self.session(False).functions.get(module, {})
            near = ", ".join(f"{name}{sig}" for name, sig in list(found.items())[:8]) or "none"
            return Failure(f"{module}.py has no function named {function}", status="missing",
                           hint=f"functions defined in {module}.py: {near}")
        if error.get("import_failed"):
            return Failure(f"importing {module}.py failed: {kind}: {message}", status="error",
                           traceback=error.get("traceback"),
                           hint="fix this error first: every function of the module needs the import")
        if kind == "NotImplementedError":
            return Failure("not implemented yet", status="todo")
        failure = Failure(f"{call} raised {kind}: {message}", status="error",
                          traceback=error.get("traceback"))
        if kind == "TypeError" and error.get("student_frames") in ("0", 0):
            sig = self.session(False).functions.get(module, {}).get(function)
            failure.hint = f"check the signature: yours is {function}{sig}" if sig else None
        return failure


def grade(submission, *, seed=None, only=None, layer="auto", timeout=TIMEOUT, budget=BUDGET,
          limits=None) -> Report:
    """Grade a submission folder with every check (or those matching `only`)."""
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    checks = select(all_checks(), only)
    results = []
    with Grader(submission, seed=seed, layer=layer, timeout=timeout, budget=budget,
                limits=limits) as grader:
        layer_used = grader.layer
        for check in checks:
            results.append(grader.run(check))
        faults = list(grader.faults)
    return Report(str(submission), grader.seed, layer_used, results, started,
                  time.monotonic() - t0, __version__, faults, isolation_notes(layer_used))


def isolation_notes(layer) -> list[str]:
    """What the report should say about the isolation layer's limits, for the instructor."""
    if layer == "process":
        return ["isolation: a plain process (no sandbox). Fine for your own code; to grade other "
                "people's code, install bubblewrap (see docs/isolation.md)"]
    exposed = isolation.exposed(layer)
    if exposed:
        return [f"isolation {layer}: the worker's uid could read the grader's files in "
                f"{', '.join(exposed)}; close this with chmod -R o-rwx on them (docs/isolation.md)"]
    return []


# escape sequences (CSI, OSC, other ESC sequences), then single characters that control a terminal
# or a layout: C0/C1 controls but tab and newline, line and paragraph separators, bidirectional
# overrides and isolates, and what XML 1.0 cannot hold (surrogates, U+FFFE, U+FFFF)
_CONTROL = re.compile(r"\x1b\[[0-9;?:<=>!]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?"
                      r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e"
                      r"\u2066-\u2069\ud800-\udfff\ufffe\uffff]")


def clean(text):
    """Student-made text made safe for every format: no control characters, escape codes, line
    separators other than newline, or bidirectional overrides."""
    if text is None:
        return None
    return _CONTROL.sub("\ufffd", str(text))
