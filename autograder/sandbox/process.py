"""The process layer: a plain subprocess with rlimits, its own session and a cleared environment.

Stops hangs (CPU limit, the caller's timeouts + kill), runaway memory and crashes; it stops
nothing malicious: the worker runs as the grader's user. For a student's own laptop.
"""
from __future__ import annotations

import os
import signal
import subprocess

from . import exposure, procfs
from .base import Layer, register


@register
class ProcessLayer(Layer):
    name = "process"
    rank = 0

    def check_trial_uid(self, uid: int) -> str | None:
        return None if uid == os.geteuid() else f"the trial worker ran as uid {uid}, not {os.geteuid()}"

    def popen(self, stage, cmd, env, limits, popen_args, lease) -> subprocess.Popen:
        return subprocess.Popen(cmd, env=env, preexec_fn=limits.setter(nproc=False), **popen_args)

    def kill(self, worker) -> None:
        kill_tree(worker)
        worker.reap()

    def exposed(self) -> list[str]:
        return exposure.candidates()  # the worker is the grader's own user


def kill_tree(worker) -> None:
    """Best effort, since the worker runs as the grader and its uid tells nothing.

    Freeze, then kill: SIGSTOP everything we can find (a stopped process cannot fork), rescan until
    nothing new shows up, then SIGKILL the lot. Found through: the worker's process group, /proc
    ppid links from the worker, and (for reparented setsid'd children) the worker's environment
    marker TMPDIR=<stage>/tmp or a cwd inside the stage. The other live workers of this process on
    the same stage (sessions may share one) and their descendants are spared."""
    pid, stage, me = worker.pid, str(worker.stage.path), os.getpid()
    others = [w.pid for w in list(worker.stage.workers)
              if w is not worker and w.owner == me and not w.killed and procfs.alive(w.pid)]
    seen: set[int] = set()
    for _ in range(10):
        procs = procfs.table()
        found = {p.pid for p in procs.values() if p.pgid == pid}
        if worker.popen.returncode is None and pid in procs:
            found.add(pid)
            found |= procfs.descendants(pid, procs)
        spared = set(others).union(*(procfs.descendants(o, procs) for o in others))
        found |= procfs.marked(stage, procs) - spared
        found -= {me, 1}
        new = found - seen
        if not new:
            break
        procfs.signal_all(new, signal.SIGSTOP)
        seen |= new
    procfs.signal_group(pid, signal.SIGKILL)
    procfs.signal_all(seen, signal.SIGKILL)
