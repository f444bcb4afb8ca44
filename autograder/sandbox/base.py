"""What every layer is: one class per layer, each registered by name in REGISTRY.

A layer answers `unavailable()` (None, or a one-line reason; cached per process and interpreter),
starts a worker (`spawn`), kills one (`kill`, called by Worker.kill), and says which of the
grader's folders its workers could read (`exposed`).

Availability is cheap (~10-30 ms, not a numpy import): the layer's static requirements
(`requirements`: root, tools, the id pool, the interpreter's reach), numpy found by `python -I`
and readable by the worker's ids (`numpy_unreadable`), then one trial through the layer's real
spawn path (`TRIAL`): ids, namespaces, binds, setpriv and seccomp as for a worker, running
`id -u` and `python -V`. What it does not try is importing numpy's compiled modules in the
sandbox: a worker that cannot is a grader fault naming the layer at its first start.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from . import forksafe, interpreter
from .handle import Worker
from .limits import Limits
from .stage import Stage, make_stage

REGISTRY: dict[str, "Layer"] = {}

# The trial: through the layer's real spawn path (ids, namespaces, binds, setpriv, seccomp), a
# shell that prints its uid and execs the worker's interpreter with -V (dynamic linking, no init)
TRIAL = ("/bin/sh", "-c", 'id -u && exec "$0" -V')

_cache: dict[tuple[str, str], str | None] = {}
_cache_lock = forksafe.RLock()


def register(cls):
    REGISTRY[cls.name] = cls()
    return cls


def get(layer) -> "Layer":
    if isinstance(layer, Layer):
        return layer
    try:
        return REGISTRY[layer]
    except (KeyError, TypeError):
        raise ValueError(f"unknown isolation layer {layer!r}; expected one of {tuple(REGISTRY)}") from None


class Layer:
    name = ""
    rank = 0  # weakest first

    # --- availability
    def unavailable(self) -> str | None:
        """None when this layer works here, else a one-line reason (cached per process)."""
        key = (self.name, interpreter.chosen())
        with _cache_lock:
            if key not in _cache:
                try:
                    _cache[key] = self.probe()
                except Exception as exc:  # noqa: BLE001 - a probe must never take the grader down
                    _cache[key] = f"probe failed: {type(exc).__name__}: {exc}"
            return _cache[key]

    def probe(self) -> str | None:
        try:
            interp = interpreter.current()
        except RuntimeError as exc:
            return str(exc)
        if not os.access(interp.exe, os.X_OK):
            return f"worker interpreter {interp.exe} is not executable"
        return self.requirements(interp) or self.trial(interp)

    def requirements(self, interp: interpreter.Interpreter) -> str | None:
        """The cheap static checks (overridden per layer)."""
        return None

    def trial(self, interp: interpreter.Interpreter) -> str | None:
        if interp.numpy is None:
            return f"numpy cannot be imported by {interp.exe} -I (the worker needs it)"
        reason = self.numpy_unreadable(interp)
        if reason:
            return reason
        with tempfile.TemporaryDirectory(prefix="gdkit-probe-") as d:
            script = Path(d) / "unused.py"
            script.write_text("")
            (Path(d) / "submission").mkdir()
            with make_stage(script, Path(d) / "submission") as stage, tempfile.TemporaryFile() as err:
                worker = self.launch(stage, [], Limits(), err, command=[*TRIAL, interp.exe])
                try:
                    out, _ = worker.popen.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    return "the trial worker did not finish within 60 s"
                finally:
                    worker.kill()
                err.seek(0)
                tail = (err.read().decode(errors="replace").strip().splitlines() or [""])[-1]
        lines = out.decode(errors="replace").splitlines()
        if worker.returncode != 0 or len(lines) != 2 or not lines[0].isdigit() or not lines[1].startswith("Python "):
            return (f"a trial worker ({interp.exe} -V) under the {self.name} layer failed with exit "
                    f"{worker.returncode}: {tail or out[-200:]!r}")
        return self.check_trial_uid(int(lines[0]))

    def numpy_unreadable(self, interp: interpreter.Interpreter) -> str | None:
        """Why this layer's worker could not read numpy's files (overridden per layer), or None."""
        return None

    def check_trial_uid(self, uid: int) -> str | None:
        return None

    # --- workers
    def spawn(self, stage: Stage, argv, limits: Limits, stderr) -> Worker:
        """Start `python -I -B <stage>/gdkit_worker/__main__.py *argv` under this layer: stdin and
        stdout are pipes (the protocol), stderr goes to the given file object, cwd is
        <stage>/submission, in a new session. RuntimeError when the layer is unavailable."""
        reason = self.unavailable()
        if reason is not None:
            raise RuntimeError(f"isolation layer {self.name!r} is unavailable: {reason}")
        return self.launch(stage, argv, limits, stderr)

    def launch(self, stage: Stage, argv, limits: Limits, stderr, *, command=None) -> Worker:
        """spawn() without the availability check; the trial gives its own `command`."""
        if not isinstance(stage, Stage) or stage.closed:
            raise RuntimeError(f"the {self.name} layer needs an open stage made by sandbox.make_stage(); "
                               f"{stage!r} is not one")
        interp = interpreter.current()
        cmd = command or [interp.exe, "-I", "-B", str(stage.path / "gdkit_worker" / "__main__.py"),
                          *map(str, argv)]
        popen_args = dict(stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                          cwd=str(stage.path / "submission"), close_fds=True, start_new_session=True)
        lease = self.lease_for(stage)
        try:
            popen = self.popen(stage, cmd, interpreter.worker_env(stage.path), limits, popen_args, lease)
        except BaseException:
            if lease is not None:
                lease.release()  # the child died before or at exec: nothing runs as that uid
            raise
        return Worker(self, stage, popen, lease)

    def lease_for(self, stage: Stage):
        """The worker's own id lease, or None (the process layer)."""
        return None

    def popen(self, stage: Stage, cmd, env, limits: Limits, popen_args, lease) -> subprocess.Popen:
        raise NotImplementedError

    def kill(self, worker: Worker) -> None:
        raise NotImplementedError

    def exposed(self) -> list[str]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<layer {self.name}>"
