"""The trusted end of the worker: one submission's calls, with timeouts, restarts and budgets.

A Session owns a stage (a private copy of the submission beside worker.py) and at most one live
worker. `call` sends one call and returns a Reply: the value rebuilt on this side, or what went
wrong (an exception in the student's code, a timeout, a crash). A hang or a crash costs only the
call it happened in; the worker is restarted for the next one. After a function times out, its
further calls fail at once, and so do all calls once the submission's time budget is spent.
"""
from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import isolation, worker

WORKER_SCRIPT = Path(worker.__file__).resolve()
START_TIMEOUT = 20.0  # seconds for a worker to start and import NumPy


@dataclass
class Reply:
    """What came back from one call. `status` is ok, error, timeout, crash or skipped."""

    status: str
    value: Any = None
    error: dict = field(default_factory=dict)  # type, message, traceback (student frames only)
    stdout: str = ""
    elapsed: float = 0.0
    events: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class Session:
    """Runs calls into one submission, each in an isolated worker process."""

    def __init__(self, submission, *, layer="auto", limits=None, timeout=2.0, budget=120.0,
                 block_numpy=False, stage=None):
        self.submission = Path(submission)
        self.layer = isolation.strongest() if layer == "auto" else layer
        reason = isolation.unavailable(self.layer)
        if reason:
            raise RuntimeError(f"isolation layer {self.layer!r} is unavailable here: {reason}")
        self.limits = limits or isolation.Limits()
        self.timeout, self.budget, self.block_numpy = timeout, budget, block_numpy
        self.started = time.monotonic()
        self.stage = stage  # shared with a sibling session, or made on first use
        self.own_stage = stage is None
        self.proc = None
        self.log = None
        self.hello = {}
        self.imported = set()     # modules imported by the live worker
        self.dead = {}            # (module, function) or (module, None) -> why its calls fail fast
        self.crashes = {}
        self.functions = {}       # module -> {name: signature}, from the last import
        self.next_id = 0

    # --- lifecycle
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self._stop()
        if self.own_stage and self.stage is not None:
            isolation.remove_stage(self.stage)
            self.stage = None

    def _stop(self):
        if self.proc is not None:
            isolation.kill(self.layer, self.proc)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None
        self.imported.clear()

    def _start(self):
        """Start a worker; one retry, since a start can fail on a loaded machine."""
        try:
            self._start_once()
        except WorkerFault:
            self._start_once()

    def _start_once(self):
        if self.stage is None:
            self.stage = isolation.make_stage(WORKER_SCRIPT, self.submission)
        self.log = tempfile.TemporaryFile()
        argv = ["--block-numpy"] if self.block_numpy else []
        self.proc = isolation.spawn(self.layer, self.stage, argv, self.limits, self.log)
        try:
            frame = worker.read_frame(self.proc.stdout.fileno(), time.monotonic() + START_TIMEOUT)
        except (TimeoutError, worker.ProtocolError, OSError):
            frame = None
        if frame is None or frame[0].get("op") != "hello":
            tail = self.log_tail()
            self._stop()
            raise WorkerFault(f"the grading worker did not start under the {self.layer!r} layer."
                              + (f" It said:\n{tail}" if tail else ""))
        self.hello = frame[0]

    def log_tail(self, limit=2000) -> str:
        if self.log is None:
            return ""
        self.log.seek(0, os.SEEK_END)
        size = self.log.tell()
        self.log.seek(max(0, size - limit))
        return self.log.read().decode("utf-8", "replace").strip()

    def spent(self) -> float:
        return time.monotonic() - self.started

    # --- calls
    def _exchange(self, request, buffers=()):
        """Send a request and wait for its reply, within the call timeout and the budget."""
        if self.proc is None:
            self._start()
        self.next_id += 1
        request = dict(request, id=self.next_id)
        try:
            worker.write_frame(self.proc.stdin.fileno(), request, buffers)
        except OSError:
            return self._crashed()
        limit = min(self.timeout, max(0.0, self.budget - self.spent()))
        try:
            frame = worker.read_frame(self.proc.stdout.fileno(), time.monotonic() + limit)
        except TimeoutError:
            self._stop()
            return Reply("timeout")
        except (worker.ProtocolError, OSError) as e:
            self._stop()
            return Reply("crash", error={"type": "ProtocolError", "message": str(e)})
        if frame is None:
            return self._crashed()
        header, data = frame
        if header.get("id") != self.next_id:
            self._stop()
            return Reply("crash", error={"type": "ProtocolError",
                                         "message": "the worker answered out of turn"})
        return self._reply(header, data)

    def _crashed(self):
        code = self.proc.poll() if self.proc else None
        if code is None and self.proc is not None:
            try:
                code = self.proc.wait(timeout=1)
            except Exception:
                code = None
        tail = self.log_tail()
        self._stop()
        how = (f"was killed by signal {-code}" if code is not None and code < 0
               else f"exited with code {code}" if code is not None else "stopped answering")
        return Reply("crash", error={"type": "WorkerCrash", "message": f"the process {how}",
                                     "log": tail})

    def _reply(self, header, data):
        stdout = header.get("stdout") if isinstance(header.get("stdout"), str) else ""
        elapsed = header.get("elapsed") if isinstance(header.get("elapsed"), (int, float)) else 0.0
        events = header.get("events") if type(header.get("events")) is int else None
        error = header.get("error")
        if header.get("ok") is True and "value" in header:
            try:
                value = worker.decode(header["value"], data)
            except worker.ProtocolError as e:
                return Reply("error", error={"type": "ProtocolError", "message": str(e)},
                             stdout=stdout)
            return Reply("ok", value=value, stdout=stdout, elapsed=elapsed, events=events)
        if header.get("ok") is True:
            return Reply("ok", value=header, stdout=stdout, elapsed=elapsed)
        if not isinstance(error, dict):
            error = {"type": "ProtocolError", "message": "malformed reply"}
        error = {k: str(v)[:8000] for k, v in error.items()}
        return Reply("error", error=error, stdout=stdout, elapsed=elapsed)

    def _ensure_import(self, module):
        """Import `module` in the live worker first, so that a hang at import is told apart."""
        if self.proc is not None and module in self.imported:
            return None
        reply = self._exchange({"op": "import", "module": module})
        if reply.status == "timeout":
            self.dead[(module, None)] = ("timeout", f"importing {module}.py did not finish within "
                                         f"{self.timeout:g} s (a loop or a long computation at "
                                         "the top level of the file?)")
            return self._skipped(module, None)
        if reply.status == "crash":
            self.dead[(module, None)] = ("crash", f"importing {module}.py ended the worker process "
                                         f"({reply.error.get('message')})")
            return self._skipped(module, None)
        if reply.status == "error":
            self.dead[(module, None)] = ("error", reply)
            return reply
        self.imported.add(module)
        listed = reply.value.get("functions") if isinstance(reply.value, dict) else None
        self.functions[module] = {str(k): str(v) for k, v in listed.items()} if isinstance(listed, dict) else {}
        return None

    def _skipped(self, module, function):
        why = self.dead.get((module, None)) or self.dead.get((module, function))
        if why is None:
            return None
        kind, detail = why
        if kind == "error":  # an import error: repeat the student's own error for every call
            return detail
        return Reply("skipped" if kind != "crash" else "crash",
                     error={"type": kind, "message": detail})

    def describe(self, module) -> Reply:
        """Import a module and list its public functions with their signatures."""
        skipped = self._skipped(module, None)
        if skipped is not None:
            return skipped
        failed = self._ensure_import(module)
        return failed if failed is not None else Reply("ok", value=self.functions.get(module, {}))

    def call(self, module, function, *args, trace=False, **kwargs) -> Reply:
        """Call module.function(*args, **kwargs) in the worker."""
        skipped = self._skipped(module, function)
        if skipped is not None:
            return skipped
        if self.spent() >= self.budget:
            return Reply("skipped", error={"type": "budget", "message": (
                f"not run: the submission's time budget of {self.budget:g} s is used up")})
        failed = self._ensure_import(module)
        if failed is not None:
            return failed
        buffers = []
        request = {"op": "call", "module": module, "function": function, "trace": trace,
                   "args": [worker.encode(a, buffers) for a in args],
                   "kwargs": {k: worker.encode(v, buffers) for k, v in kwargs.items()}}
        reply = self._exchange(request, buffers)
        if reply.status == "timeout":
            self.dead[(module, function)] = ("timeout", (
                f"{function} timed out earlier (no answer within {self.timeout:g} s), "
                "so its remaining checks were not run"))
            reply.error = {"type": "timeout", "message": (
                f"no answer within {self.timeout:g} s: an endless loop, or far too much work?")}
        elif reply.status == "crash":
            count = self.crashes[(module, function)] = self.crashes.get((module, function), 0) + 1
            if count >= 2:
                self.dead[(module, function)] = ("crash", (
                    f"{function} ended the worker process twice, so its remaining checks were not run"))
        return reply


class WorkerFault(RuntimeError):
    """The grader could not run its worker at all: a fault of the grading machine, not the student."""
