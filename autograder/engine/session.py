"""The trusted end of the worker: one submission's calls, with timeouts, restarts and budgets.

A Session uses a stage (a private copy of the submission beside the worker package; made here
unless the caller shares one) and has at most one live worker. `call` sends one call and returns a Reply: the value rebuilt on this side, or what went
wrong (an exception in the student's code, a timeout, a crash). A hang or a crash costs only the
call it happened in; the worker is restarted for the next one. After a function times out, its
further calls fail at once, and so do all calls once the submission's time budget is spent.

Sessions of one submission (the grader runs a second one where NumPy is blocked) share a
`Budget` (engine/budget.py): one time budget for all of them, shared fairly among the functions,
and one record of what timed out, so that a function that hangs in one worker is not waited for
again in the other.

Nothing the worker sends can raise into the grader: every frame is checked (size, MAC, JSON,
value nodes) and whatever is wrong with it becomes a failed call.
"""
from __future__ import annotations

import os
import secrets
import tempfile
import time
from pathlib import Path

from .. import sandbox, worker
from . import quota, replies
from .budget import Budget
from .policy import BUDGET, TIMEOUT
from .replies import Reply

WORKER_SCRIPT = worker.SOURCE_DIR
START_TIMEOUT = 20.0  # seconds for a worker to start and import NumPy
WRITE_TIMEOUT = 5.0   # seconds for a worker to take in a request


class Session:
    """Runs calls into one submission, each in an isolated worker process."""

    def __init__(self, submission, *, layer="auto", limits=None, timeout=TIMEOUT, budget=BUDGET,
                 block_numpy=False, stage=None):
        self.submission = Path(submission)
        self.layer = sandbox.strongest() if layer == "auto" else layer
        reason = sandbox.unavailable(self.layer)
        if reason:
            raise RuntimeError(f"isolation layer {self.layer!r} is unavailable here: {reason}")
        self.limits = limits or sandbox.Limits()
        self.timeout, self.block_numpy = timeout, block_numpy
        self.budget = budget if isinstance(budget, Budget) else Budget(budget)  # maybe shared
        self.stage = stage  # shared with a sibling session, or made on first use
        self.own_stage = stage is None
        self.proc = None
        self.log = None
        self.key = None           # the live worker's MAC key
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
            self.stage.close()
            self.stage = None

    def _stop(self):
        if self.proc is not None:
            self.proc.kill()
            for pipe in (self.proc.stdin, self.proc.stdout):
                try:
                    pipe.close()
                except OSError:
                    pass
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None
        self.key = None
        self.imported.clear()

    def _start(self):
        """Start a worker; one retry, since a start can fail on a loaded machine."""
        try:
            self._start_once()
        except WorkerFault:
            self._start_once()

    def launch(self):
        """Start a worker without waiting for it: it imports NumPy while the grader goes on."""
        if self.proc is None:
            if self.stage is None:
                self.stage = sandbox.make_stage(WORKER_SCRIPT, self.submission)
            self.log = tempfile.TemporaryFile()
            argv = ["--block-numpy"] if self.block_numpy else []
            for d in sandbox.grader_dirs():
                argv += ["--deny", d]
            self.proc = sandbox.spawn(self.layer, self.stage, argv, self.limits, self.log)

    def _start_once(self):
        self.launch()
        try:
            frame = worker.read_frame(self.proc.stdout.fileno(), time.monotonic() + START_TIMEOUT)
        except (TimeoutError, worker.ProtocolError, OSError, ValueError):
            frame = None
        if frame is None or frame[0].get("op") != "hello":
            tail = self.log_tail()
            self._stop()
            raise WorkerFault(f"the grading worker did not start under the {self.layer!r} layer."
                              + (f" It said:\n{tail}" if tail else ""))
        self.hello = frame[0]
        # from here on, every reply must carry a MAC with this key: the worker's protocol thread
        # holds it, the student's code cannot reach it
        self.key = secrets.token_bytes(32)
        try:
            worker.write_frame(self.proc.stdin.fileno(), {"op": "init", "key": self.key.hex()},
                               deadline=time.monotonic() + WRITE_TIMEOUT)
        except (OSError, TimeoutError):
            tail = self.log_tail()
            self._stop()
            raise WorkerFault("the grading worker stopped right after it started."
                              + (f" It said:\n{tail}" if tail else "")) from None

    def log_tail(self, limit=2000) -> str:
        if self.log is None:
            return ""
        try:
            self.log.seek(0, os.SEEK_END)
            size = self.log.tell()
            self.log.seek(max(0, size - limit))
            return self.log.read().decode("utf-8", "replace").strip()
        except (OSError, ValueError):
            return ""

    # --- calls
    def _exchange(self, request, buffers=(), key=None):
        """Send a request and wait for its reply, within the call timeout and the budget. Never
        raises because of what the worker did: that becomes a timeout or a crash."""
        if self.key is None:  # not started, or launched but not yet greeted
            self._start()
        self.next_id += 1
        request = dict(request, id=self.next_id)
        try:
            worker.write_frame(self.proc.stdin.fileno(), request, buffers,
                               deadline=time.monotonic() + WRITE_TIMEOUT)
        except TimeoutError:
            self._stop()
            return Reply("timeout")
        except OSError:
            return self._crashed()
        limit = min(self.timeout, self.budget.left(key))
        try:
            frame = worker.read_frame(self.proc.stdout.fileno(), time.monotonic() + limit,
                                      key=self.key)
        except TimeoutError:
            self._stop()
            if limit < self.timeout:  # the budget ran out, not the call's own time
                return self._out_of_budget(key)
            return Reply("timeout")
        except Exception as e:  # ProtocolError, OSError, or anything a malformed frame provokes
            self._stop()
            return Reply("crash", error={"type": "ProtocolError", "message": str(e)[:500]})
        if frame is None:
            return self._crashed()
        header, data = frame
        if header.get("id") != self.next_id:
            self._stop()
            return Reply("crash", error={"type": "ProtocolError",
                                         "message": "the worker answered out of turn"})
        try:
            reply = replies.from_frame(header, data)
        except Exception as e:  # a reply that passed the MAC yet makes no sense
            self._stop()
            return Reply("crash", error={"type": "ProtocolError",
                                         "message": f"malformed reply: {type(e).__name__}"})
        return self._check_tmp(reply)

    def _check_tmp(self, reply):
        """A submission may leave files in the stage's tmp/, up to quota.TMP_LIMIT bytes in all."""
        if self.stage is None:
            return reply
        if quota.usage(os.path.join(self.stage, "tmp"), quota.TMP_LIMIT) <= quota.TMP_LIMIT:
            return reply
        self._stop()
        self.stage.empty_tmp()
        return Reply("crash", error={"type": "DiskLimit", "message": (
            f"the process wrote more than {quota.TMP_LIMIT >> 20} MB of files, so it was stopped "
            "and its files were deleted")}, stdout=reply.stdout)

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

    def _ensure_import(self, module):
        """Import `module` in the live worker first, so that a hang at import is told apart."""
        if self.proc is not None and module in self.imported:
            return None
        reply = self._exchange({"op": "import", "module": module})
        if reply.status == "timeout":
            self._mark_dead((module, None), ("timeout", (
                f"importing {module}.py did not finish within {self.timeout:g} s (a loop or a "
                "long computation at the top level of the file?)")))
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

    def _out_of_budget(self, key=None):
        if key is None or self.budget.total_left() <= 0:
            why = f"the submission's time budget of {self.budget.seconds:g} s is used up"
        else:  # what is left is the share of functions that have not run yet
            why = (f"{key.split('.')[-1]} used up its share of the submission's time budget "
                   f"({self.budget.share:.3g} s of {self.budget.seconds:g} s, and what the other "
                   "functions left)")
        return Reply("skipped", error={"type": "budget", "message": f"not run: {why}"})

    def _mark_dead(self, key, why):
        self.dead[key] = why
        self.budget.dead[key] = why

    def _skipped(self, module, function):
        why = (self.dead.get((module, None)) or self.dead.get((module, function))
               or self.budget.dead.get((module, None)) or self.budget.dead.get((module, function)))
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

    def _refused(self, module, function, *, pace=True) -> Reply | None:
        """Why a request into module.function is not sent, or None: the function (or its module)
        is dead, its share of the budget is spent or (`pace`) too small for a call as slow as its
        last one, or its module does not import."""
        skipped = self._skipped(module, function)
        if skipped is not None:
            return skipped
        key = f"{module}.{function}"
        left = self.budget.left(key)
        if left <= 0 or (pace and self.budget.pace.get(key, 0.0) > left):  # it would not finish:
            return self._out_of_budget(key)                  # leave the time to the other functions
        return self._ensure_import(module)

    def call(self, module, function, *args, trace=False, **kwargs) -> Reply:
        """Call module.function(*args, **kwargs) in the worker."""
        refused = self._refused(module, function)
        if refused is not None:
            return refused
        key = f"{module}.{function}"
        buffers = []
        request = {"op": "call", "module": module, "function": function, "trace": trace,
                   "args": [worker.encode(a, buffers) for a in args],
                   "kwargs": {k: worker.encode(v, buffers) for k, v in kwargs.items()}}
        started = time.monotonic()
        reply = self._exchange(request, buffers, key)
        if reply.status in ("ok", "error"):
            self.budget.pace[key] = time.monotonic() - started
        if reply.status == "timeout":
            self._mark_dead((module, function), ("timeout", (
                f"{function} timed out earlier (no answer within {self.timeout:g} s), "
                "so its remaining checks were not run")))
            reply.error = {"type": "timeout", "message": (
                f"no answer within {self.timeout:g} s: an endless loop, or far too much work?")}
        elif reply.status == "crash":
            count = self.crashes[(module, function)] = self.crashes.get((module, function), 0) + 1
            if count >= 2:
                self.dead[(module, function)] = ("crash", (
                    f"{function} ended the worker process twice, so its remaining checks were not run"))
        return reply

    def formula(self, module, function, names) -> Reply:
        """Call module.function with sympy symbols named `names` (feedback only, after a failed
        check): a Reply whose value is the returned expression as a tree of plain data, still
        to be checked (feedback/formula.py), or why there is none. A call as any other: the same
        job thread, capture, timeout and budget; a timeout restarts the worker but does not mark
        the function as timed out, and what it printed is not kept."""
        refused = self._refused(module, function, pace=False)
        if refused is not None:
            return refused
        key = f"{module}.{function}"
        request = {"op": "formula", "module": module, "function": function, "kwargs": {},
                   "args": [worker.encode(str(name), []) for name in names]}
        reply = self._exchange(request, (), key)
        if reply.ok:
            tree = reply.value.get("formula") if isinstance(reply.value, dict) else None
            reply = Reply("ok", value=tree, elapsed=reply.elapsed)
        return reply


class WorkerFault(RuntimeError):
    """The grader could not run its worker at all: a fault of the grading machine, not the student."""
