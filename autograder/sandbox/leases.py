"""Worker and stage ids (uid and bwrap layers): a uid/gid of its own for every worker, a gid for
every stage, leased from a pool no account uses.

A lease on id X is an exclusive flock(2) on the file <lock dir>/X, held through an fd of this
process. flock is exclusive between processes (and between open file descriptions in one
process), and the kernel drops it when the holder dies, however it dies. A release unlinks the
file while still holding the lock, then closes it; a taker that locked an old, unlinked inode
notices that the path no longer names it and moves on.

The file holds a JSON record (role, pid, stage). If a taker finds a file that exists, is unlocked
and holds a record, its holder died without releasing: the taker first kills every process that
still has X among its uids, gids or groups (a crashed grader's escaped orphans) and removes the
stage the record names if it is still there and is root:X, so nothing of the last holder can read
what the new holder's workers get.
"""
from __future__ import annotations

import atexit
import fcntl
import grp
import json
import os
import pwd
import random
import signal
import stat
import subprocess
import sys
import time

from . import forksafe, procfs, tree

# 2,000,000,000 .. 2,000,999,999. systemd's map of the uid space (https://systemd.io/UIDS-GIDS/)
# leaves 1879048192 .. 2147352575 unused (above the container ranges, below the "foreign" range
# and 2^31); ids that an account or group uses are skipped.
ID_BASE = 2_000_000_000
ID_COUNT = 1_000_000

_ID_DIRS = ("/run/gdkit", "/run/gdkit/ids")
_ID_DIRS_NO_RUN = ("/tmp/gdkit-ids-0",)
_DRAIN_RECHECK = 0.25  # s between rescans of ids whose zombies init has not reaped yet
_DRAIN_MAX = 30.0  # s after which such an id is released anyway
_ACQUIRE_TRIES = 256
_TRUE = "/bin/true" if os.path.exists("/bin/true") else sys.executable

_lock = forksafe.RLock()
_draining: list["Lease"] = []  # killed workers' ids, held until init has reaped their zombies
_last_drain = [0.0]
_dir_cache: list[str] = []
_mappable_cache: list[str | None] = []
_rng = random.SystemRandom()  # not duplicated across fork()


class Lease:
    """One leased id. Only the process that took it unlinks its file; a forked child that
    releases it only closes its own copy of the fd (the parent's lock stays)."""

    def __init__(self, id_: int, fd: int, path: str):
        self.id, self.fd, self.path = id_, fd, path
        self.owner = os.getpid()
        self.draining_since: float | None = None

    @property
    def held(self) -> bool:
        return self.fd >= 0

    def release(self) -> None:
        if self.fd < 0:
            return
        if self.owner == os.getpid():
            try:
                os.unlink(self.path)  # while still locked: see the module docstring
            except FileNotFoundError:
                pass
        fd, self.fd = self.fd, -1
        os.close(fd)

    def retire(self) -> None:
        """Release a killed worker's id, or keep it until init has reaped its zombies.

        RLIMIT_NPROC counts zombies, and init reaps orphans only every couple of seconds on some
        machines: a new worker given the id at once could fail to fork or even to start."""
        if self.id not in procfs.owners({self.id}):
            self.release()
            return
        with _lock:
            self.draining_since = time.monotonic()
            _draining.append(self)

    def __repr__(self) -> str:
        return f"Lease({self.id}{'' if self.held else ', released'})"


@forksafe.in_child
def _forget_parents_leases() -> None:
    _draining.clear()  # the parent's: it releases them


def in_pool(n) -> bool:
    return isinstance(n, int) and ID_BASE <= n < ID_BASE + ID_COUNT


def lock_dir() -> str:
    """The lock directory: root-owned, 0700, no symlinks (created if missing)."""
    if _dir_cache:
        return _dir_cache[0]
    chain = _ID_DIRS if os.path.isdir("/run") else _ID_DIRS_NO_RUN
    for d in chain:
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        st = os.lstat(d)
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0:
            raise RuntimeError(f"{d} must be a directory owned by root (it is not: refusing to keep "
                               "worker id locks there)")
        if st.st_mode & 0o077:
            os.chmod(d, 0o700)
    _dir_cache.append(chain[-1])
    return chain[-1]


def ids_mappable() -> str | None:
    """None when this user namespace maps the whole id pool, else why not (setresuid and chown
    would fail with EINVAL). A rootless container's root often has only 65536 ids."""
    if not _mappable_cache:
        _mappable_cache.append(_check_id_maps())
    return _mappable_cache[0]


def _check_id_maps() -> str | None:
    lo, hi = ID_BASE, ID_BASE + ID_COUNT
    for kind in ("uid_map", "gid_map"):
        try:
            with open(f"/proc/self/{kind}") as fh:
                rows = [tuple(int(x) for x in line.split()) for line in fh if line.strip()]
        except OSError:
            continue
        if not any(len(r) == 3 and r[0] <= lo and hi <= r[0] + r[2] for r in rows):
            return f"/proc/self/{kind} does not map the worker ids {lo}..{hi - 1}"
    return None


def _unassigned(n: int) -> bool:
    """No account and no group has this number (asked through NSS: /etc/passwd, LDAP, ...)."""
    for lookup in (pwd.getpwuid, grp.getgrgid):
        try:
            lookup(n)
            return False
        except KeyError:
            pass
        except OSError:
            return False
    return True


def acquire(role: str, stage: str | None = None, *, ids=None, directory: str | None = None) -> Lease:
    """Lease a free id (random order over the pool, or the given `ids` in order)."""
    drain()
    directory = directory or lock_dir()
    candidates = ids if ids is not None else (ID_BASE + _rng.randrange(ID_COUNT) for _ in range(_ACQUIRE_TRIES))
    for n in candidates:
        if not in_pool(n) or not _unassigned(n):
            continue
        lease = try_lock(n, directory, role, stage)
        if lease is not None:
            return lease
    raise RuntimeError(f"no free worker id in {ID_BASE}..{ID_BASE + ID_COUNT - 1} (lock dir {directory})")


def try_lock(n: int, directory: str, role: str, stage: str | None) -> Lease | None:
    """Lease id `n`, or None when someone holds it."""
    path = os.path.join(directory, str(n))
    flags = os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            fd = os.open(path, flags)
        except OSError:  # released (unlinked) meanwhile, or not a regular file
            return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        here = os.fstat(fd)
        there = os.stat(path, follow_symlinks=False)
        if (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino):
            raise BlockingIOError  # we locked an inode that a release unlinked
        previous = os.pread(fd, 65536, 0)
        if previous:
            try:
                _clean_stale(n, previous)
            except (OSError, RuntimeError, subprocess.SubprocessError):
                raise BlockingIOError from None  # try another id; the record stays for a later taker
        record = json.dumps({"role": role, "pid": os.getpid(), "stage": stage}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return Lease(n, fd, path)


def _clean_stale(n: int, raw: bytes) -> None:
    """The last holder of id `n` died holding it: kill what it left running, remove its stage."""
    try:
        record = json.loads(raw)
    except ValueError:
        record = {}
    kill_holders(n)
    stage = record.get("stage") if isinstance(record, dict) else None
    if isinstance(record, dict) and record.get("role") == "stage" and isinstance(stage, str) and os.path.isabs(stage):
        try:
            st = os.lstat(stage)
        except OSError:
            return
        if stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and st.st_gid == n:
            if not tree.remove_tree(stage):
                raise RuntimeError(f"could not remove the stale stage {stage}")


def drain(force: bool = False) -> None:
    """Release the draining ids whose processes are all reaped (or that waited _DRAIN_MAX)."""
    now = time.monotonic()
    with _lock:
        if not _draining or (not force and now - _last_drain[0] < _DRAIN_RECHECK):
            return
        _last_drain[0] = now
        pending = list(_draining)
    left = set() if force else procfs.owners({lease.id for lease in pending})
    for lease in pending:
        if lease.id not in left or now - lease.draining_since > _DRAIN_MAX:
            with _lock:
                if lease not in _draining:
                    continue
                _draining.remove(lease)
            lease.release()


def draining() -> list[int]:
    """The ids of killed workers still waiting for init to reap their zombies."""
    with _lock:
        return [lease.id for lease in _draining]


atexit.register(drain, True)


def sweep_uid(uid: int) -> None:
    """SIGKILL every process of `uid`, at once: kill(-1, SIGKILL) from a child that is `uid`.

    kill(-1) reaches every process the sender may signal (same real or saved uid), in every PID
    namespace below ours (bwrap sandboxes too), except itself and init; the kernel walks the task
    list under a lock that fork() needs, so nothing of that uid can fork its way past it."""

    def child() -> None:  # runs in the forked child; never returns
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
        except BaseException:
            os._exit(1)
        os._exit(0)

    proc = subprocess.Popen([_TRUE], preexec_fn=child, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, close_fds=True, env={})
    if proc.wait() != 0:
        raise RuntimeError(f"could not switch to uid {uid} to kill its processes")


def kill_holders(n: int) -> None:
    """Kill every live process with `n` among its uids, gids or groups."""
    for _ in range(5):
        found = procfs.holders(n)
        found.pop(os.getpid(), None)
        if not found:
            return
        for uid in {u for u in found.values() if in_pool(u)}:
            sweep_uid(uid)
        procfs.signal_all([p for p, u in found.items() if not in_pool(u)], signal.SIGKILL)
        time.sleep(0.01)
