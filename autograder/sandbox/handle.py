"""The worker handle: one worker process, its id lease and its stage."""
from __future__ import annotations

import os
import subprocess
import warnings

from . import cleanup, forksafe


class Worker:
    """A worker started by `spawn`. It owns its process (the Popen: for bwrap, the outer bwrap),
    the lease of its uid (uid and bwrap layers) and a reference to its stage.

    `stdin`/`stdout` are the protocol pipes, `pid` the spawned process, `uid` the worker's own uid
    (None in the process layer), `layer` the layer's name. `kill()` kills the whole tree (or every
    process of the uid), reaps, closes the pipes and releases the uid; it is idempotent and never
    raises."""

    def __init__(self, layer, stage, popen: subprocess.Popen, lease=None):
        self._layer = layer
        self.layer = layer.name
        self.stage = stage
        self.popen = popen
        self.lease = lease
        self.pid = popen.pid
        self.uid = lease.id if lease is not None else None
        self.stdin, self.stdout = popen.stdin, popen.stdout
        self.owner = os.getpid()
        self.swept = True  # False when killing every process of its uid failed (kill keeps the id)
        self._killed = False
        self._lock = forksafe.RLock()
        stage.workers.add(self)
        cleanup.track(self, "worker")

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    @property
    def killed(self) -> bool:
        return self._killed

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float | None = None) -> int:
        return self.popen.wait(timeout=timeout)

    def kill(self) -> None:
        with self._lock:
            if self._killed:
                return
            try:
                self._layer.kill(self)
            except Exception as exc:  # noqa: BLE001 - kill never raises
                warnings.warn(f"gdkit: killing worker {self.pid} failed: {type(exc).__name__}: {exc}",
                              RuntimeWarning)
            self._killed = True
            for pipe in (self.stdin, self.stdout):
                try:
                    if pipe is not None:
                        pipe.close()
                except (OSError, ValueError):
                    pass
            self.stage.workers.discard(self)
            cleanup.untrack(self)

    def reap(self) -> None:
        """Wait for the spawned process (after SIGKILL); warns if it does not go."""
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            warnings.warn(f"gdkit worker {self.pid} did not die within 10 s of SIGKILL", RuntimeWarning)
        except ChildProcessError:  # not our child: a forked grading child killing its parent's
            pass

    def __enter__(self) -> "Worker":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def __repr__(self) -> str:
        return f"Worker({self.layer}, pid={self.pid}, uid={self.uid}{', killed' if self._killed else ''})"
