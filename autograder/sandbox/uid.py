"""The uid layer: the process layer, as a uid and gid of the worker's own.

In the child before exec: rlimits (with RLIMIT_NPROC), umask 007, the stage's group as the only
supplementary group, setresgid/setresuid to a leased worker id, no_new_privs and the seccomp
filter. No namespaces: the worker sees the host's file system (as "other") and other processes.
Killing is exact: every process of the worker's uid, at once (leases.sweep_uid).
"""
from __future__ import annotations

import os
import subprocess
import warnings

from . import exposure, leases, seccomp
from .base import Layer, register
from .process import kill_tree


@register
class UidLayer(Layer):
    name = "uid"
    rank = 1

    def requirements(self, interp) -> str | None:
        return _need_root_and_ids(self.name) or _reachable(interp)

    def numpy_unreadable(self, interp) -> str | None:
        blocked = exposure.unreadable_by_other(interp.numpy)
        return f"the worker uids cannot read numpy ({blocked})" if blocked else None

    def check_trial_uid(self, uid: int) -> str | None:
        if not leases.in_pool(uid):
            return (f"the trial worker ran as uid {uid}, not a worker uid "
                    f"({leases.ID_BASE}..{leases.ID_BASE + leases.ID_COUNT - 1})")
        return None

    def lease_for(self, stage):
        if stage.gid is None:
            why = f" (leasing its group failed: {stage.lease_error})" if stage.lease_error else ""
            raise RuntimeError(f"the {self.name} layer needs a stage made by sandbox.make_stage() as "
                               f"root in this process; {stage.path} has no group of its own{why}")
        return leases.acquire("worker", str(stage.path))

    def popen(self, stage, cmd, env, limits, popen_args, lease) -> subprocess.Popen:
        return subprocess.Popen(cmd, env=env, preexec_fn=_preexec(limits, lease.id, stage.gid), **popen_args)

    def kill(self, worker) -> None:
        self.stop(worker)
        sweep_and_release(worker)

    def stop(self, worker) -> None:
        """What the layer does before the uid sweep (bwrap: take the namespace down)."""

    def exposed(self) -> list[str]:
        return [p for p in exposure.candidates() if exposure.other_reads(p)]


def sweep_and_release(worker) -> None:
    """Kill every process of the worker's uid, reap the worker, release the uid (or keep it while
    init has not reaped its zombies: RLIMIT_NPROC counts them). If the sweep fails the uid stays
    leased, since something of it may still run."""
    lease = worker.lease
    try:
        leases.sweep_uid(lease.id)
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        warnings.warn(f"gdkit: could not sweep worker uid {lease.id}: {exc}", RuntimeWarning)
        worker.swept = False
        if worker.popen.returncode is None:
            kill_tree(worker)
        worker.reap()
        return
    worker.reap()
    lease.retire()


def _need_root_and_ids(layer: str) -> str | None:
    if os.geteuid() != 0:
        how = ("switches to a worker uid" if layer == "uid"
               else "creates namespaces and switches to a worker uid without a user namespace")
        return f"needs root (the {layer} layer {how}); running as uid {os.geteuid()}"
    reason = leases.ids_mappable()
    if reason:
        return reason
    try:
        leases.lock_dir()
    except (OSError, RuntimeError) as exc:
        return f"no lock directory for worker ids: {exc}"
    return None


def _reachable(interp) -> str | None:
    real = os.path.realpath(interp.exe)
    for target in (real, *interp.prefixes):
        blocked = exposure.unreachable_by_other(target)
        if blocked:
            return (f"interpreter {real} is not reachable by the worker uids ({blocked}); set "
                    "GDKIT_WORKER_PYTHON to one they can run, e.g. /usr/bin/python3 with apt's python3-numpy")
    return None


def _preexec(limits, uid: int, group: int):
    set_limits = limits.setter(nproc=True)
    lock_down = seccomp.Installer()  # built here, before the fork

    def preexec() -> None:
        set_limits()
        os.umask(0o007)  # files in the stage's setgid tmp/: rw for the stage's other workers
        os.setgroups([group])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        lock_down()

    return preexec
