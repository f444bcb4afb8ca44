"""Launch the grading worker (``autograder/worker.py``) under an isolation layer.

Student code never runs in the grading process: it runs in a worker subprocess
started here, which speaks a length-prefixed protocol over its stdin/stdout.
Three layers, weakest to strongest (the threat model of each is in
docs/isolation.md):

``process``
    A plain subprocess: cleared environment, rlimits, its own session. Stops
    hangs (CPU limit, the caller's timeouts + kill()), runaway memory and crashes;
    it stops nothing malicious.
``uid``
    As ``process``, plus: a uid and gid of its own, leased for this worker
    alone from ``ID_BASE`` .. ``ID_BASE + ID_COUNT - 1`` (no account uses
    them), the stage's group as its only supplementary group, RLIMIT_NPROC,
    no_new_privs, and a seccomp filter (see _seccomp_filter) where the kernel
    has seccomp. No namespaces: the worker sees the host's file system (as
    "other") and other processes.
``bwrap``
    bubblewrap: own mount, PID, network, IPC, UTS (and cgroup) namespaces, a
    file system that only holds /usr (+ /lib*, /bin), the Python prefix(es) and
    the stage, and inside it setpriv switches to the worker's own uid/gid (as
    in ``uid``) with no capabilities and no_new_privs, plus the same seccomp
    filter. No user namespace: as root, bwrap maps the sandbox uid to the
    host's root.

Ids (uid and bwrap layers, grader running as root): ``make_stage`` leases one
id for the stage (its group: the stage is root:<id>, 0750/0640, so only that
submission's workers can read it) and ``spawn`` leases one per worker (its uid
and gid). A lease is an ``flock`` on ``/run/gdkit/ids/<id>``, so it is
exclusive across every grader process on the machine and the kernel drops it
when a grader dies; ``kill`` releases the worker's id after killing every
process of that uid (``kill(-1, SIGKILL)`` as that uid: escaped orphans too),
``remove_stage`` the stage's id after removing the stage.

Everything is stdlib only (ctypes for prctl in the uid layer).
"""

from __future__ import annotations

import atexit
import ctypes
import errno
import fcntl
import grp
import json
import os
import platform
import pwd
import random
import resource
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LAYERS",
    "Limits",
    "unavailable",
    "strongest",
    "spawn",
    "kill",
    "make_stage",
    "remove_stage",
    "worker_python",
    "worker_uid",
    "stage_gid",
    "exposed",
    "ID_BASE",
    "ID_COUNT",
]

LAYERS = ("process", "uid", "bwrap")  # weakest to strongest

# Worker and stage ids (uid and bwrap layers): 2,000,000,000 .. 2,000,999,999.
# systemd's map of the uid space (https://systemd.io/UIDS-GIDS/) leaves
# 1879048192 .. 2147352575 unused (above the container ranges, below the
# "foreign" range and 2^31); ids that an account or group uses are skipped.
ID_BASE = 2_000_000_000
ID_COUNT = 1_000_000

# size of the tmpfs mounted on <stage>/tmp (and /tmp) inside the bwrap sandbox
SCRATCH_TMPFS_BYTES = 64 << 20


@dataclass(frozen=True)
class Limits:
    memory: int = 1 << 30  # RLIMIT_AS, bytes (1 GiB)
    cpu: int = 120  # RLIMIT_CPU, seconds of CPU for one worker's life
    nproc: int = 64  # RLIMIT_NPROC: per worker in the uid/bwrap layers (its own uid); not set in process
    fsize: int = 16 << 20  # RLIMIT_FSIZE, bytes
    nofile: int = 256  # RLIMIT_NOFILE
    # core dumps always off (RLIMIT_CORE = 0)


# --------------------------------------------------------------------------- #
# interpreter and environment
# --------------------------------------------------------------------------- #

@dataclass(frozen=True)
class _Interpreter:
    exe: str  # what we exec (the interpreter's own sys.executable: keeps a venv a venv)
    prefixes: tuple[str, ...]  # sys.prefix, base_prefix, exec_prefix, base_exec_prefix, dir of real exe
    # installed copies of this package (with its data/) that bwrap must hide
    # when they sit inside a bound prefix
    masks: tuple[str, ...] = ()


_PACKAGE = Path(__file__).resolve().parent.name  # "autograder"
_interp_cache: dict[str, _Interpreter] = {}
_interp_lock = threading.Lock()


def _chosen_python() -> str:
    return os.environ.get("GDKIT_WORKER_PYTHON") or sys.executable


def _interpreter() -> _Interpreter:
    chosen = _chosen_python()
    with _interp_lock:
        if chosen in _interp_cache:
            return _interp_cache[chosen]
        if chosen == sys.executable:
            import site

            exe = os.path.abspath(sys.executable)
            raw = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
            sites = site.getsitepackages() if hasattr(site, "getsitepackages") else []
            masks = [os.path.join(d, _PACKAGE) for d in sites]
            masks.append(str(Path(__file__).resolve().parent))
        else:
            code = (
                "import sys, json, site; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix,"
                " sys.exec_prefix, sys.base_exec_prefix, site.getsitepackages()]))"
            )
            try:
                out = subprocess.run(
                    [chosen, "-I", "-c", code], capture_output=True, timeout=60,
                    env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}, check=True,
                ).stdout
                exe, *raw, sites = json.loads(out)
            except (OSError, subprocess.SubprocessError, ValueError) as exc:
                raise RuntimeError(f"GDKIT_WORKER_PYTHON={chosen!r} does not run: {exc}") from None
            exe = os.path.abspath(exe or chosen)
            masks = [os.path.join(d, _PACKAGE) for d in sites]
        real = os.path.realpath(exe)
        prefixes = []
        for p in [*raw, os.path.dirname(os.path.dirname(real))]:
            if p and os.path.isabs(p) and p not in prefixes:
                prefixes.append(p)
        masks = [os.path.realpath(m) for m in masks if os.path.isdir(m)]
        info = _Interpreter(exe=exe, prefixes=tuple(prefixes), masks=tuple(dict.fromkeys(masks)))
        _interp_cache[chosen] = info
        return info


def worker_python() -> str:
    """The interpreter that runs the worker: $GDKIT_WORKER_PYTHON or sys.executable."""
    return _interpreter().exe


def _worker_env(stage: Path) -> dict[str, str]:
    tmp = str(Path(stage) / "tmp")
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": tmp,
        "TMPDIR": tmp,
        "PYTHONDONTWRITEBYTECODE": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _rlimit_pairs(limits: Limits, *, nproc: bool) -> list[tuple[int, int]]:
    pairs = [
        (resource.RLIMIT_AS, limits.memory),
        (resource.RLIMIT_CPU, limits.cpu),
        (resource.RLIMIT_FSIZE, limits.fsize),
        (resource.RLIMIT_NOFILE, limits.nofile),
        (resource.RLIMIT_CORE, 0),
    ]
    if nproc:
        pairs.append((resource.RLIMIT_NPROC, limits.nproc))
    return pairs


# --------------------------------------------------------------------------- #
# seccomp: a small hand-assembled classic-BPF deny list (x86_64 only)
# --------------------------------------------------------------------------- #
# There is no libseccomp binding for an arbitrary interpreter on Debian/PyPI
# that we can rely on (Debian's python3-seccomp is for /usr/bin/python3 only),
# but a deny-list filter is a few dozen BPF instructions, so we assemble it.
# Numbers are x86_64 syscall numbers (<asm/unistd_64.h>); on another
# architecture no filter is installed (documented in docs/isolation.md).

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_SECCOMP_RET_KILL_PROCESS = 0x80000000
_SECCOMP_RET_ERRNO = 0x00050000
_SECCOMP_RET_ALLOW = 0x7FFF0000
_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_JSET_K = 0x45
_BPF_RET_K = 0x06
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16  # struct seccomp_data (arg0 low word: little endian)

# syscall -> errno returned
_DENY_X86_64 = {
    # namespaces / mounts: a user namespace would hand the worker capabilities
    # over a new namespace and a large kernel attack surface
    272: errno.EPERM,  # unshare
    308: errno.EPERM,  # setns
    165: errno.EPERM,  # mount
    166: errno.EPERM,  # umount2
    155: errno.EPERM,  # pivot_root
    161: errno.EPERM,  # chroot
    428: errno.EPERM,  # open_tree
    429: errno.EPERM,  # move_mount
    430: errno.EPERM,  # fsopen
    431: errno.EPERM,  # fsconfig
    432: errno.EPERM,  # fsmount
    433: errno.EPERM,  # fspick
    442: errno.EPERM,  # mount_setattr
    # other processes of the same uid (another worker in the uid layer)
    101: errno.EPERM,  # ptrace
    310: errno.EPERM,  # process_vm_readv
    311: errno.EPERM,  # process_vm_writev
    # kernel attack surface nobody grading regression needs
    321: errno.EPERM,  # bpf
    298: errno.EPERM,  # perf_event_open
    323: errno.EPERM,  # userfaultfd
    248: errno.EPERM,  # add_key
    249: errno.EPERM,  # request_key
    250: errno.EPERM,  # keyctl
    425: errno.ENOSYS,  # io_uring_setup
    426: errno.ENOSYS,  # io_uring_enter
    427: errno.ENOSYS,  # io_uring_register
    303: errno.EPERM,  # name_to_handle_at
    304: errno.EPERM,  # open_by_handle_at
    246: errno.EPERM,  # kexec_load
    320: errno.EPERM,  # kexec_file_load
    175: errno.EPERM,  # init_module
    313: errno.EPERM,  # finit_module
    176: errno.EPERM,  # delete_module
    163: errno.EPERM,  # acct
    167: errno.EPERM,  # swapon
    168: errno.EPERM,  # swapoff
    169: errno.EPERM,  # reboot
    103: errno.EPERM,  # syslog
    179: errno.EPERM,  # quotactl
    443: errno.EPERM,  # quotactl_fd
    212: errno.EPERM,  # lookup_dcookie
    153: errno.EPERM,  # vhangup
    # clone3 passes its flags in memory that BPF cannot read: ENOSYS makes
    # glibc fall back to clone(), whose flags we can check
    435: errno.ENOSYS,  # clone3
}
_NR_CLONE = 56
_NR_SOCKET = 41
_AF_UNIX = 1
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000


def _seccomp_filter() -> bytes | None:
    """The filter as an array of struct sock_filter, or None where we have none.

    Denies (with an errno, the worker is not killed): namespace and mount
    syscalls, clone() with namespace flags, ptrace and process_vm_*, bpf,
    perf_event_open, userfaultfd, keyrings, io_uring, module/kexec/admin calls,
    and socket() of any family but AF_UNIX (no network even in the uid layer).
    Any other architecture than x86_64 (i386/x32 syscalls) kills the process.
    """
    if platform.machine() != "x86_64" or sys.byteorder != "little":
        return None
    prog: list[tuple[int, int, int, int]] = []

    def ins(code, jt, jf, k):
        prog.append((code, jt, jf, k))

    # layout: the checks, then one "return errno" per errno at the end; jumps
    # are relative and forward only, so checks are emitted with placeholder
    # offsets and patched once the return blocks have their places.
    ins(_BPF_LD_W_ABS, 0, 0, _OFF_ARCH)
    ins(_BPF_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64)
    ins(_BPF_RET_K, 0, 0, _SECCOMP_RET_KILL_PROCESS)
    ins(_BPF_LD_W_ABS, 0, 0, _OFF_NR)
    ins(_BPF_JGE_K, 0, 1, _X32_SYSCALL_BIT)
    ins(_BPF_RET_K, 0, 0, _SECCOMP_RET_KILL_PROCESS)
    patches: list[tuple[int, str, str]] = []  # (index, "jt"/"jf", label) to patch
    for nr, err in sorted(_DENY_X86_64.items()):
        patches.append((len(prog), "jt", f"errno{err}"))
        ins(_BPF_JEQ_K, 0, 0, nr)
    # clone(): deny namespace flags in arg0
    ins(_BPF_JEQ_K, 0, 3, _NR_CLONE)
    ins(_BPF_LD_W_ABS, 0, 0, _OFF_ARG0)
    patches.append((len(prog), "jt", f"errno{errno.EPERM}"))
    ins(_BPF_JSET_K, 0, 0, _CLONE_NS_FLAGS)
    ins(_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW)
    # socket(): only AF_UNIX
    ins(_BPF_JEQ_K, 0, 3, _NR_SOCKET)
    ins(_BPF_LD_W_ABS, 0, 0, _OFF_ARG0)
    patches.append((len(prog), "jf", f"errno{errno.EPERM}"))
    ins(_BPF_JEQ_K, 0, 0, _AF_UNIX)
    ins(_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW)
    # everything else
    ins(_BPF_RET_K, 0, 0, _SECCOMP_RET_ALLOW)
    labels = {}
    for err in sorted(set(_DENY_X86_64.values()) | {errno.EPERM}):
        labels[f"errno{err}"] = len(prog)
        ins(_BPF_RET_K, 0, 0, _SECCOMP_RET_ERRNO | err)
    for idx, field, label in patches:
        code, jt, jf, k = prog[idx]
        offset = labels[label] - idx - 1
        if not 0 <= offset <= 255:
            raise AssertionError("seccomp jump out of range")
        prog[idx] = (code, offset, jf, k) if field == "jt" else (code, jt, offset, k)
    return b"".join(struct.pack("<HBBI", *p) for p in prog)


def _seccomp_supported() -> bool:
    try:
        with open("/proc/self/status") as fh:
            return any(line.startswith("Seccomp:") for line in fh)
    except OSError:
        return False


_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


# --------------------------------------------------------------------------- #
# ids: a uid/gid of its own for every worker, a gid for every stage
# --------------------------------------------------------------------------- #
# A lease on id X is an exclusive flock(2) on the file <lock dir>/X, held
# through an fd of this process. flock is exclusive between processes (and
# between open file descriptions in one process), and the kernel drops it when
# the holder dies, however it dies. A release unlinks the file while still
# holding the lock, then closes it; a taker that locked an old, unlinked inode
# notices that the path no longer names it and moves on.
#
# The file holds a JSON record (role, pid, stage). If a taker finds a file that
# exists, is unlocked and holds a record, its holder died without releasing:
# the taker first kills every process that still has X among its uids, gids or
# groups (a crashed grader's escaped orphans) and removes the stage the record
# names if it is still there and is root:X, so nothing of the last holder can
# read what the new holder's workers get.

_ID_DIRS = ("/run/gdkit", "/run/gdkit/ids")  # fallback without /run: /tmp/gdkit-ids-0
_ID_DIRS_NO_RUN = ("/tmp/gdkit-ids-0",)
_DRAIN_RECHECK = 0.25  # s between rescans of ids whose zombies init has not reaped yet
_DRAIN_MAX = 30.0  # s after which such an id is released anyway
_ACQUIRE_TRIES = 256


@dataclass(eq=False)
class _Lease:
    id: int
    fd: int
    path: str
    owner: int  # pid that took it: a forked child never unlinks its parent's lease
    draining_since: float | None = None


_lease_lock = threading.Lock()
_stage_leases: dict[str, _Lease] = {}  # abspath of stage -> its group's lease
_worker_leases: dict[int, _Lease] = {}  # worker pid -> its uid's lease
_draining: list[_Lease] = []  # killed workers' ids, held until init has reaped their zombies
_last_drain = [0.0]
_stage_lease_failures: dict[str, str] = {}  # stage -> why make_stage could not lease its group
_id_dir_cache: list[str] = []
_rng = random.SystemRandom()  # not duplicated across fork()


def _in_pool(n: int) -> bool:
    return ID_BASE <= n < ID_BASE + ID_COUNT


def _id_dir() -> str:
    """The lock directory: root-owned, 0700, no symlinks (created if missing)."""
    if _id_dir_cache:
        return _id_dir_cache[0]
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
    _id_dir_cache.append(chain[-1])
    return chain[-1]


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


def _acquire(role: str, stage: str | None = None, *, ids=None, directory: str | None = None) -> _Lease:
    """Lease a free id (random order over the pool, or the given `ids` in order)."""
    _drain()
    directory = directory or _id_dir()
    candidates = ids if ids is not None else (ID_BASE + _rng.randrange(ID_COUNT) for _ in range(_ACQUIRE_TRIES))
    for n in candidates:
        if not _in_pool(n) or not _unassigned(n):
            continue
        lease = _try_lock(n, directory, role, stage)
        if lease is not None:
            return lease
    raise RuntimeError(f"no free worker id in {ID_BASE}..{ID_BASE + ID_COUNT - 1} (lock dir {directory})")


def _try_lock(n: int, directory: str, role: str, stage: str | None) -> _Lease | None:
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
    return _Lease(n, fd, path, os.getpid())


def _clean_stale(n: int, raw: bytes) -> None:
    """The last holder of id `n` died holding it: kill what it left running, remove its stage."""
    try:
        record = json.loads(raw)
    except ValueError:
        record = {}
    _kill_holders(n)
    stage = record.get("stage") if isinstance(record, dict) else None
    if isinstance(record, dict) and record.get("role") == "stage" and isinstance(stage, str) and os.path.isabs(stage):
        try:
            st = os.lstat(stage)
        except OSError:
            return
        if stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and st.st_gid == n:
            _rmtree(Path(stage))


def _release(lease: _Lease) -> None:
    if lease.fd < 0:
        return
    if lease.owner == os.getpid():
        try:
            os.unlink(lease.path)  # while still locked: see above
        except FileNotFoundError:
            pass
    os.close(lease.fd)
    lease.fd = -1


def _retire(lease: _Lease) -> None:
    """Release a killed worker's id, or keep it until init has reaped its zombies.

    RLIMIT_NPROC counts zombies, and init reaps orphans only every couple of
    seconds on some machines: a new worker given the id at once could fail to
    fork or even to start after a fork bomb.
    """
    if lease.id not in _residue({lease.id}):
        _release(lease)
        return
    with _lease_lock:
        lease.draining_since = time.monotonic()
        _draining.append(lease)


def _drain(force: bool = False) -> None:
    """Release the draining ids whose processes are all reaped (or that waited _DRAIN_MAX)."""
    now = time.monotonic()
    with _lease_lock:
        if not _draining or (not force and now - _last_drain[0] < _DRAIN_RECHECK):
            return
        _last_drain[0] = now
        pending = list(_draining)
    left = set() if force else _residue({lease.id for lease in pending})
    for lease in pending:
        if lease.id not in left or now - lease.draining_since > _DRAIN_MAX:
            with _lease_lock:
                if lease in _draining:
                    _draining.remove(lease)
                else:
                    continue
            _release(lease)


atexit.register(_drain, True)


def _proc_ids(pid: str) -> tuple[int, set[int], bool] | None:
    """(real uid, every uid/gid/group number, is a zombie) of a process, from /proc/<pid>/status."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            text = fh.read()
    except OSError:
        return None
    ids: set[int] = set()
    ruid = None
    zombie = False
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            nums = [int(x) for x in value.split()]
            ids.update(nums)
            if key == "Uid" and nums:
                ruid = nums[0]
        elif key == "State":
            zombie = value.split()[:1] in (["Z"], ["X"])
    return (ruid, ids, zombie) if ruid is not None else None


def _residue(uids: set[int]) -> set[int]:
    """Those of `uids` that still own a process, zombies included.

    The owner of the /proc/<pid> directory is the task's effective uid, even
    for a non-dumpable task or a zombie (unlike the files inside it), and a
    worker cannot make its real and effective uids differ; stat() is ~10x
    cheaper than reading every /proc/<pid>/status.
    """
    found: set[int] = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
            except OSError:
                continue
            if uid in uids:
                found.add(uid)
    return found


def _kill_holders(n: int) -> None:
    """Kill every live process with `n` among its uids, gids or groups."""
    for _ in range(5):
        found: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                info = _proc_ids(entry)
                if info is not None and n in info[1] and not info[2]:
                    found[int(entry)] = info[0]
        found.pop(os.getpid(), None)
        if not found:
            return
        for uid in {u for u in found.values() if _in_pool(u)}:
            _sweep_uid(uid)
        _signal([p for p, u in found.items() if not _in_pool(u)], signal.SIGKILL)
        time.sleep(0.01)


_TRUE = "/bin/true" if os.path.exists("/bin/true") else sys.executable


def _sweep_uid(uid: int) -> None:
    """SIGKILL every process of `uid`, at once: kill(-1, SIGKILL) from a child that is `uid`.

    kill(-1) reaches every process the sender may signal (same real or saved
    uid), in every PID namespace below ours (bwrap sandboxes too), except
    itself and init; the kernel walks the task list under a lock that fork()
    needs, so nothing of that uid can fork its way past it.
    """

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


def worker_uid(proc: subprocess.Popen) -> int | None:
    """The uid (= gid) leased to a live worker (uid and bwrap layers), else None."""
    with _registry_lock:
        lease = _worker_leases.get(proc.pid)
    return lease.id if lease is not None else None


def stage_gid(stage: Path) -> int | None:
    """The group leased to a stage (made by make_stage as root), else None."""
    with _lease_lock:
        lease = _stage_leases.get(os.path.abspath(stage))
    return lease.id if lease is not None else None


_mappable_cache: list[str | None] = []


def _ids_mappable() -> str | None:
    """None when this user namespace maps the whole id pool (setresuid and chown would fail with
    EINVAL), else why not. A rootless container's root often has only 65536 ids."""
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


# --------------------------------------------------------------------------- #
# availability
# --------------------------------------------------------------------------- #

_unavailable_cache: dict[tuple[str, str], str | None] = {}
_probe_lock = threading.Lock()

_PROBE_WORKER = """\
import os, sys
import numpy
sys.stdout.write("ok %d %s\\n" % (os.getuid(), numpy.__version__))
"""


def unavailable(layer: str) -> str | None:
    """None when `layer` works on this machine, else a one-line reason (cached per process)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown isolation layer {layer!r}; expected one of {LAYERS}")
    key = (layer, _chosen_python())
    with _probe_lock:
        if key not in _unavailable_cache:
            try:
                _unavailable_cache[key] = _probe(layer)
            except Exception as exc:  # a probe must never take the grader down
                _unavailable_cache[key] = f"probe failed: {type(exc).__name__}: {exc}"
        return _unavailable_cache[key]


def _tool(name: str) -> str | None:
    for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


def _unreachable_by_other(path: str) -> str | None:
    """The first directory on the way to `path` that a worker cannot traverse.

    A worker's uid and gid are leased ids that own no file on the host, and
    its one supplementary group owns only its stage: everywhere else it gets
    the "other" permission bits.
    """
    p = Path(path)
    for d in [*reversed(p.parents)]:
        try:
            st = os.stat(d)
        except OSError as exc:
            return f"{d}: {exc.strerror}"
        if not st.st_mode & stat.S_IXOTH:
            return f"{d} is mode {st.st_mode & 0o7777:04o} owner uid {st.st_uid}"
    return None


def _probe(layer: str) -> str | None:
    try:
        interp = _interpreter()
    except RuntimeError as exc:
        return str(exc)
    if not os.access(interp.exe, os.X_OK):
        return f"worker interpreter {interp.exe} is not executable"
    if layer in ("uid", "bwrap") and os.geteuid() != 0:
        how = ("switches to a worker uid" if layer == "uid"
               else "creates namespaces and switches to a worker uid without a user namespace")
        return f"needs root (the {layer} layer {how}); running as uid {os.geteuid()}"
    if layer in ("uid", "bwrap"):
        reason = _ids_mappable()
        if reason:
            return reason
        try:
            _id_dir()
        except (OSError, RuntimeError) as exc:
            return f"no lock directory for worker ids: {exc}"
    if layer == "uid":
        real = os.path.realpath(interp.exe)
        for target in (real, *interp.prefixes):
            blocked = _unreachable_by_other(target)
            if blocked:
                return (
                    f"interpreter {real} is not reachable by the worker uids ({blocked}); set "
                    "GDKIT_WORKER_PYTHON to one they can run, e.g. /usr/bin/python3 with apt's python3-numpy"
                )
    if layer == "bwrap":
        for tool, pkg in (("bwrap", "bubblewrap"), ("setpriv", "util-linux")):
            if _tool(tool) is None:
                return f"{tool} not found (apt-get install {pkg})"
    # the real thing: a stage whose worker imports numpy and reports its uid
    with tempfile.TemporaryDirectory(prefix="gdkit-probe-") as d:
        script = Path(d) / "probe_worker.py"
        script.write_text(_PROBE_WORKER)
        sub = Path(d) / "submission"
        sub.mkdir()
        stage = make_stage(script, sub)
        try:
            with tempfile.TemporaryFile() as err:
                proc = _spawn(layer, stage, [], Limits(), err)
                try:
                    out, _ = proc.communicate(timeout=60)
                except subprocess.TimeoutExpired:
                    kill(layer, proc)
                    return "probe worker did not finish importing numpy within 60 s"
                finally:
                    kill(layer, proc)
                err.seek(0)
                tail = err.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
        finally:
            remove_stage(stage)
    fields = out.decode(errors="replace").split()
    if proc.returncode != 0 or len(fields) < 2 or fields[0] != "ok":
        return f"probe worker ({interp.exe} -I -c 'import numpy') failed with exit {proc.returncode}: {tail[0]}"
    if layer != "process" and not _in_pool(int(fields[1])):
        return f"probe worker ran as uid {fields[1]}, not a worker uid ({ID_BASE}..{ID_BASE + ID_COUNT - 1})"
    return None


def strongest() -> str:
    """The strongest layer that works here."""
    for layer in reversed(LAYERS):
        if unavailable(layer) is None:
            return layer
    raise RuntimeError("no isolation layer works here: " + str(unavailable("process")))


# --------------------------------------------------------------------------- #
# spawn
# --------------------------------------------------------------------------- #

_stage_of: dict[int, str] = {}  # worker pid -> stage (for kill()'s environment sweep)
_live: dict[int, str] = {}  # worker pid -> layer, for workers not yet killed/reaped
_registry_lock = threading.Lock()


def spawn(layer: str, stage: Path, argv: list[str], limits: Limits, stderr) -> subprocess.Popen:
    """Start `python -I -B <stage>/worker.py *argv` under `layer`: stdin and stdout are pipes (the
    protocol), stderr goes to the given file object, cwd is <stage>/submission, start_new_session."""
    reason = unavailable(layer)
    if reason is not None:
        raise RuntimeError(f"isolation layer {layer!r} is unavailable: {reason}")
    return _spawn(layer, Path(stage), argv, limits, stderr)


def _spawn(layer: str, stage: Path, argv, limits: Limits, stderr) -> subprocess.Popen:
    stage = Path(os.path.abspath(stage))
    interp = _interpreter()
    cmd = [interp.exe, "-I", "-B", str(stage / "gdkit_worker" / "__main__.py"), *map(str, argv)]
    env = _worker_env(stage)
    common = dict(
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=str(stage / "submission"),
        close_fds=True,
        start_new_session=True,
    )
    if layer not in LAYERS:
        raise ValueError(f"unknown isolation layer {layer!r}; expected one of {LAYERS}")
    lease = None
    if layer != "process":
        group = _stage_group(stage, layer)
        lease = _acquire("worker", str(stage))
    try:
        if layer == "process":
            proc = subprocess.Popen(cmd, env=env, preexec_fn=_preexec_process(limits), **common)
        elif layer == "uid":
            proc = subprocess.Popen(cmd, env=env, preexec_fn=_preexec_uid(limits, lease.id, group), **common)
        else:
            proc = _spawn_bwrap(stage, cmd, env, limits, interp, common, lease.id, group)
    except BaseException:
        if lease is not None:
            _release(lease)  # the child died before or at exec: nothing runs as that uid
        raise
    with _registry_lock:
        _stage_of[proc.pid] = str(stage)
        _live[proc.pid] = layer
        if lease is not None:
            _worker_leases[proc.pid] = lease
    return proc


def _stage_group(stage: Path, layer: str) -> int:
    """The stage's leased group. Only a stage that make_stage() made as root in this process (or in
    a parent it forked from) has one: a group no one holds could be leased to another stage."""
    with _lease_lock:
        lease = _stage_leases.get(str(stage))
    if lease is None or lease.fd < 0:
        why = _stage_lease_failures.get(str(stage))
        raise RuntimeError(f"the {layer} layer needs a stage made by isolation.make_stage() as root in "
                           f"this process; {stage} is not one"
                           + (f" (leasing its group failed: {why})" if why else ""))
    return lease.id


def _preexec_process(limits: Limits):
    pairs = _rlimit_pairs(limits, nproc=False)

    def preexec() -> None:
        for res, value in pairs:
            resource.setrlimit(res, (value, value))

    return preexec


def _preexec_uid(limits: Limits, uid: int, group: int):
    pairs = _rlimit_pairs(limits, nproc=True)
    # everything that allocates or imports is done here, before the fork
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    bpf = _seccomp_filter() if _seccomp_supported() else None
    if bpf is not None:
        buf = ctypes.create_string_buffer(bpf, len(bpf))
        fprog = _SockFprog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
        fprog_addr = ctypes.addressof(fprog)
    else:
        buf = fprog = None
        fprog_addr = 0

    def preexec() -> None:
        _keep = (buf, fprog)  # noqa: F841  (keep the filter alive until exec)
        for res, value in pairs:
            resource.setrlimit(res, (value, value))
        os.umask(0o007)  # files in the stage's setgid tmp/: rw for the stage's other workers
        os.setgroups([group])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if fprog_addr and prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, fprog_addr, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")

    return preexec


def _data_fd(data: bytes) -> int:
    """A pipe's read end that yields `data` then EOF (bwrap --*-data FD / --seccomp FD)."""
    if len(data) > 60000:
        raise ValueError("too much data for a pipe")
    r, w = os.pipe()
    try:
        os.write(w, data)
    finally:
        os.close(w)
    return r


def _passwd(uid: int, group: int) -> tuple[bytes, bytes]:
    """/etc/passwd and /etc/group for the sandbox: root, nobody, and the worker's own ids."""
    passwd = (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        f"gdkit:x:{uid}:{uid}:gdkit worker:/nonexistent:/usr/sbin/nologin\n"
    )
    group_ = f"root:x:0:\nnogroup:x:65534:\ngdkit:x:{uid}:\ngdkit-stage:x:{group}:gdkit\n"
    return passwd.encode(), group_.encode()


_TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def _bwrap_view(interp: _Interpreter) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """What the sandbox shows of the host: (prefix binds as (src, dest), every bound tree, masks).

    Bound trees are /usr, the real /bin, /lib... directories, /etc/alternatives
    and the interpreter's prefixes; masks are directories of the grader (this
    package, an installed copy with its data/, the repository's solutions/,
    tests/, data/) that lie inside a bound tree: an empty tmpfs covers them.
    """
    bound: list[str] = ["/usr"]
    bound += [top for top in _TOP_DIRS if os.path.isdir(top) and not os.path.islink(top)]
    binds: list[tuple[str, str]] = []

    def bind(src: str, dest: str) -> None:
        if _under(dest, bound):
            return
        binds.append((src, dest))
        bound.append(dest)

    # Python prefixes: the real directories, plus their unresolved spellings
    for p in sorted(set(interp.prefixes), key=len):
        real = os.path.realpath(p)
        if os.path.isdir(real):
            bind(real, real)
            if p != real:
                bind(real, p)
    exe_dir = os.path.dirname(interp.exe)
    if os.path.isdir(exe_dir):
        bind(os.path.realpath(exe_dir), exe_dir)
    trees = [*bound, "/etc/alternatives"]
    masks = [m for m in dict.fromkeys([*interp.masks, *_grader_dirs()])
             if os.path.isdir(m) and _under(m, trees, strict=True)]
    return binds, trees, masks


def _under(path: str, trees, *, strict: bool = False) -> bool:
    """`path` is one of `trees` (unless strict) or lies inside one."""
    return any((path == t and not strict) or path.startswith(t.rstrip("/") + "/") for t in trees)


def _bwrap_args(stage: Path, env: dict[str, str], interp: _Interpreter, fds: dict[str, int],
                uid: int, group: int) -> list[str]:
    a = [
        _tool("bwrap") or "bwrap",
        # every namespace but the user namespace (see module docstring)
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "gdkit-worker",
        "--die-with-parent", "--new-session",
        "--clearenv",
    ]
    for k, v in env.items():
        a += ["--setenv", k, v]
    a += ["--ro-bind", "/usr", "/usr"]
    for top in _TOP_DIRS:
        if os.path.islink(top):
            a += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            a += ["--ro-bind", top, top]
    a += [
        # a directory bwrap creates implicitly for a bind's destination is
        # 0700 (root's): the worker could not traverse it; make /etc explicitly
        "--perms", "0755", "--dir", "/etc",
        "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache",
        "--ro-bind-try", "/etc/localtime", "/etc/localtime",
        # Debian's alternatives: libblas.so.3 / liblapack.so.3 of apt's numpy
        # are symlinks through /etc/alternatives
        "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
        "--perms", "0644", "--ro-bind-data", str(fds["passwd"]), "/etc/passwd",
        "--perms", "0644", "--ro-bind-data", str(fds["group"]), "/etc/group",
        "--dev", "/dev",
        "--proc", "/proc",
        "--perms", "01777", "--size", str(SCRATCH_TMPFS_BYTES), "--tmpfs", "/tmp",
    ]
    made: set[str] = {"/", "/usr", "/tmp", "/etc", "/dev", "/proc"}

    def parents(path: str) -> None:
        # create the parents ourselves, 0755, so the worker can traverse them
        # (on the host /root is 0700)
        for p in reversed(Path(path).parents):
            s = str(p)
            if s not in made:
                a.extend(["--perms", "0755", "--dir", s])
                made.add(s)

    binds, _, masks = _bwrap_view(interp)
    for src, dest in binds:
        parents(dest)
        a.extend(["--ro-bind", src, dest])
        made.add(dest)
    # the grader's own files inside a bound prefix (gdkit installed into the
    # worker's Python ships data/: worked values, rubric): an empty tmpfs
    for m in masks:
        a += ["--perms", "0755", "--tmpfs", m]
    # the stage, read-only, at its own path (root:<group> 0750: the worker is
    # in that group); a private tmpfs as its tmp/
    s = str(stage)
    parents(s)
    a += ["--ro-bind", s, s]
    a += ["--perms", "01777", "--size", str(SCRATCH_TMPFS_BYTES), "--tmpfs", str(stage / "tmp")]
    a += ["--chdir", str(stage / "submission")]
    if "seccomp" in fds:
        a += ["--seccomp", str(fds["seccomp"])]
    a += [
        "--",
        _tool("setpriv") or "setpriv",
        f"--reuid={uid}", f"--regid={uid}", f"--groups={group}",
        "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all",
        "--",
        # bwrap always exports PWD after its chdir; the worker's environment is
        # exactly _worker_env()
        _tool("env") or "/usr/bin/env", "-u", "PWD", "--",
    ]
    return a


def _spawn_bwrap(stage, cmd, env, limits, interp, common, uid: int, group: int) -> subprocess.Popen:
    passwd, group_file = _passwd(uid, group)
    fds = {"passwd": _data_fd(passwd), "group": _data_fd(group_file)}
    try:
        bpf = _seccomp_filter() if _seccomp_supported() else None
        if bpf is not None:
            fds["seccomp"] = _data_fd(bpf)
        argv = _bwrap_args(stage, env, interp, fds, uid, group) + cmd
        return subprocess.Popen(
            argv,
            # bwrap itself runs with the caller's PATH-free minimal env; the
            # worker gets `env` through --clearenv/--setenv
            env={"PATH": "/usr/bin:/bin"},
            preexec_fn=_preexec_process_nproc(limits),
            pass_fds=tuple(fds.values()),
            **common,
        )
    finally:
        for fd in fds.values():
            os.close(fd)


def _preexec_process_nproc(limits: Limits):
    # rlimits are inherited by bwrap -> setpriv -> python; RLIMIT_NPROC does not
    # bind root (bwrap) and starts to count once setpriv has switched to the
    # worker's uid (its own: the count is this worker's processes only)
    pairs = _rlimit_pairs(limits, nproc=True)

    def preexec() -> None:
        for res, value in pairs:
            resource.setrlimit(res, (value, value))

    return preexec


# --------------------------------------------------------------------------- #
# kill
# --------------------------------------------------------------------------- #

def _scan_proc() -> dict[int, tuple[int, int]]:
    """pid -> (ppid, pgid) of every process."""
    table: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        # comm may hold spaces and parens: fields restart after the last ')'
        rest = data[data.rfind(b")") + 2:].split()
        try:
            table[int(entry)] = (int(rest[1]), int(rest[2]))
        except (IndexError, ValueError):
            continue
    return table


def _descendants(pid: int, table) -> set[int]:
    kids: dict[int, list[int]] = {}
    for p, (ppid, _) in table.items():
        kids.setdefault(ppid, []).append(p)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in kids.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _marked(stage: str, table) -> set[int]:
    """Processes whose environment still says TMPDIR=<stage>/tmp, or whose cwd is in the stage."""
    marker = f"TMPDIR={stage}/tmp".encode()
    me = os.getpid()
    found = set()
    for pid in table:
        if pid == me:
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                if marker in fh.read().split(b"\0"):
                    found.add(pid)
                    continue
        except OSError:
            pass
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            if cwd == stage or cwd.startswith(stage + "/"):
                found.add(pid)
        except OSError:
            pass
    return found


def _signal(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _signal_group(pgid: int, sig) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kill(layer: str, proc: subprocess.Popen) -> None:
    """Kill the worker and everything it started (including children that called setsid or were
    reparented), then reap it. Safe to call twice.

    uid and bwrap layers: every process of the worker's own uid is killed at
    once (kill(-1, SIGKILL) as that uid), then the uid is released, or kept
    until init has reaped the zombies (RLIMIT_NPROC counts them)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown isolation layer {layer!r}; expected one of {LAYERS}")
    pid = proc.pid
    with _registry_lock:
        first = _live.pop(pid, None) is not None
        stage = _stage_of.pop(pid, None)
        lease = _worker_leases.pop(pid, None)
    if first or proc.returncode is None:
        if layer == "bwrap":
            _kill_bwrap(proc)
        elif lease is None:  # the process layer (or a worker whose stage was removed under it)
            _kill_tree(proc, stage)
    if lease is not None:
        try:
            _sweep_uid(lease.id)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            warnings.warn(f"gdkit: could not sweep worker uid {lease.id}: {exc}", RuntimeWarning)
            if proc.returncode is None:
                _kill_tree(proc, stage)
            _reap(proc)
            return  # keep the id leased: something of it may still run
    _reap(proc)
    if lease is not None:
        _retire(lease)


def _kill_bwrap(proc: subprocess.Popen) -> None:
    # proc is the outer bwrap; its child is PID 1 of the sandbox's PID
    # namespace. When that dies the kernel kills every process in the
    # namespace, and nothing can leave a PID namespace. (--die-with-parent
    # would also take it down with the outer bwrap; we do not rely on it.)
    # kill() then also sweeps the worker's uid, a belt to the namespace.
    pid = proc.pid
    if proc.returncode is None:
        table = _scan_proc()
        inner = _descendants(pid, table)
        _signal(inner, signal.SIGKILL)
        _signal_group(pid, signal.SIGKILL)
        _signal([pid], signal.SIGKILL)
        # wait for the namespace's init to be gone, so "killed" means gone
        deadline = time.monotonic() + 5
        while inner and time.monotonic() < deadline:
            inner = {p for p in inner if os.path.exists(f"/proc/{p}") and not _is_zombie(p)}
            if inner:
                time.sleep(0.01)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        return data[data.rfind(b")") + 2:][:1] in (b"Z", b"X")
    except OSError:
        return True


def _other_live_workers(pid: int) -> list[int]:
    """Workers spawned here, not yet killed, still running (dead entries are pruned)."""
    with _registry_lock:
        for p in [p for p in _live if p != pid and not _running(p)]:
            _live.pop(p, None)
            _stage_of.pop(p, None)
        return [p for p in _live if p != pid]


def _running(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}") and not _is_zombie(pid)


def _spared(others: list[int], table) -> set[int]:
    spare: set[int] = set()
    for o in others:
        spare.add(o)
        spare |= _descendants(o, table)
    return spare


def _kill_tree(proc: subprocess.Popen, stage: str | None) -> None:
    """The process layer's best effort: the worker runs as the grader, so its uid tells nothing."""
    pid = proc.pid
    others = _other_live_workers(pid)
    # Freeze, then kill: SIGSTOP everything we can find (a stopped process
    # cannot fork), rescan until nothing new shows up, then SIGKILL the lot.
    # Found through: the worker's process group, /proc ppid links from the
    # worker, and (for reparented setsid'd children) the worker's environment
    # marker TMPDIR=<stage>/tmp or a cwd inside the stage. Other live workers
    # (sessions may share a stage) and their descendants are spared.
    seen: set[int] = set()
    for _ in range(10):
        table = _scan_proc()
        found = {p for p, (_, pgid) in table.items() if pgid == pid}
        if proc.returncode is None and pid in table:
            found.add(pid)
            found |= _descendants(pid, table)
        if stage is not None:
            found |= _marked(stage, table) - _spared(others, table)
        found -= {os.getpid(), 1}
        new = found - seen
        if not new:
            break
        _signal(new, signal.SIGSTOP)
        seen |= new
    _signal_group(pid, signal.SIGKILL)
    _signal(seen, signal.SIGKILL)


def _reap(proc: subprocess.Popen) -> None:
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        warnings.warn(f"gdkit worker {proc.pid} did not die within 10 s of SIGKILL", RuntimeWarning)


# --------------------------------------------------------------------------- #
# stage
# --------------------------------------------------------------------------- #

def make_stage(worker_script: Path, submission: Path) -> Path:
    """Build a stage: <stage>/worker.py, <stage>/submission/ (the regular files and directories of
    `submission`; symlinks and __pycache__ are skipped), <stage>/tmp (the worker's HOME/TMPDIR).

    As root: a group id is leased for the stage (stage_gid(stage)) until remove_stage; everything is
    owned by root with that group, directories 0750, files 0640, tmp/ 02770: readable (tmp/
    writable) by the stage's workers, who have that group, and by no one else. Otherwise: owned by
    the caller, directories 0755, files 0644, tmp/ 01777."""
    worker_script = Path(worker_script)
    submission = Path(submission)
    stage = Path(tempfile.mkdtemp(prefix="gdkit-stage-"))  # 0700 until filled
    try:
        group = None
        if os.geteuid() == 0 and _ids_mappable() is None:
            try:
                lease = _acquire("stage", str(stage))
            except (OSError, RuntimeError) as exc:
                # the process layer still works; spawn() in the others says why it cannot
                _stage_lease_failures[str(stage)] = str(exc)
            else:
                with _lease_lock:
                    _stage_leases[str(stage)] = lease
                group = lease.id
        # tmp/ as root: setgid, not sticky: what one worker of the stage leaves there (group =
        # the stage's, mode 0660 under the uid layer's umask) the next one, a restart with
        # another uid or the sibling session's worker, can read, rewrite and delete
        dmode, fmode, tmode = (0o750, 0o640, 0o2770) if group is not None else (0o755, 0o644, 0o1777)

        def own(path: Path, mode: int) -> None:
            if group is not None:
                os.chown(path, 0, group, follow_symlinks=False)
            os.chmod(path, mode)

        # the worker package (or, in tests, a stand-in script) as <stage>/gdkit_worker/
        package = stage / "gdkit_worker"
        package.mkdir()
        own(package, dmode)
        sources = (sorted(worker_script.glob("*.py")) if worker_script.is_dir()
                   else [worker_script])
        for src in sources:
            dest = package / (src.name if worker_script.is_dir() else "__main__.py")
            shutil.copyfile(src, dest)
            own(dest, fmode)
        dest_root = stage / "submission"
        dest_root.mkdir()
        own(dest_root, dmode)
        for dirpath, dirnames, filenames in os.walk(submission, followlinks=False):
            dest = dest_root / Path(dirpath).relative_to(submission)
            keep = []
            for d in dirnames:
                if os.path.islink(os.path.join(dirpath, d)) or d == "__pycache__":
                    continue
                keep.append(d)
                (dest / d).mkdir()
                own(dest / d, dmode)
            dirnames[:] = keep
            for f in filenames:
                src = os.path.join(dirpath, f)
                if os.path.islink(src) or not os.path.isfile(src):
                    continue
                shutil.copyfile(src, dest / f)
                own(dest / f, fmode)
        tmp = stage / "tmp"
        tmp.mkdir()
        own(tmp, tmode)
        own(stage, dmode)
    except BaseException:
        remove_stage(stage)
        raise
    return stage


def remove_stage(stage: Path) -> None:
    """Remove a stage made by make_stage (including whatever the worker left in tmp/), and release
    its group. A worker of the stage that is still running (kill() was not called) is killed first:
    no process may keep the group once it can be leased again."""
    key = os.path.abspath(stage)
    _stage_lease_failures.pop(key, None)
    with _registry_lock:
        leftovers = [pid for pid, s in _stage_of.items() if s == key and pid in _worker_leases]
        leases = [_worker_leases.pop(pid) for pid in leftovers]
    swept = True
    for lease in leases:
        try:
            _sweep_uid(lease.id)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            warnings.warn(f"gdkit: could not sweep worker uid {lease.id}: {exc}", RuntimeWarning)
            swept = False  # keep both ids leased: something with the group may still run
            continue
        _retire(lease)
    _rmtree(Path(key))
    with _lease_lock:
        lease = _stage_leases.pop(key, None)
    if lease is not None:
        if not swept:
            pass  # dropped by the kernel at exit; the next taker kills and removes what is left
        elif os.path.lexists(key):
            # not released: the kernel drops the lock when we exit, and whoever
            # leases the id next removes the stage first (see _clean_stale)
            warnings.warn(f"gdkit: stage {key} could not be removed; its group {lease.id} stays leased",
                          RuntimeWarning)
        else:
            _release(lease)


def _rmtree(path: Path) -> None:
    def onerror(func, p, exc_info):  # e.g. a 0o000 dir the worker left in tmp/
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass

    if not os.path.lexists(path):
        return
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=onerror)
    else:
        shutil.rmtree(path, onerror=onerror)


# --------------------------------------------------------------------------- #
# what of the grader a worker can read
# --------------------------------------------------------------------------- #

def _grader_dirs() -> list[str]:
    """The grader's own directories: this package, its data/, and beside it (in a checkout, not in
    site-packages) the repository's solutions/, tests/ and data/."""
    pkg = Path(__file__).resolve().parent
    found = [pkg, pkg / "data"]
    root = pkg.parent
    if root.name not in ("site-packages", "dist-packages"):
        found += [root / "solutions", root / "tests", root / "data"]
    return [str(d) for d in found if d.is_dir()]


def _candidates() -> list[str]:
    paths = _grader_dirs()
    try:  # copies of this package installed into the worker's Python, with their data/
        for m in _interpreter().masks:
            paths += [m, os.path.join(m, "data")]
    except RuntimeError:
        pass
    return [p for p in dict.fromkeys(paths) if os.path.isdir(p)]


def exposed(layer: str) -> list[str]:
    """The grader's directories (see _grader_dirs, plus copies of this package installed into the
    worker's Python) in which the worker of `layer` could read at least one file.

    process: all of them (the worker is the grader's own user). uid: those
    with a regular file that "other" may read, reached through directories
    "other" may traverse (the worker's ids own no file of the grader);
    symlinks are not followed. bwrap: those inside a tree the sandbox binds
    and not masked (none, since every such directory is masked); the
    repository itself is not in the sandbox. Close it with
    `chmod -R o-rwx` on the checkout (see docs/isolation.md)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown isolation layer {layer!r}; expected one of {LAYERS}")
    paths = _candidates()
    if layer == "process":
        return paths
    if layer == "bwrap":
        try:
            _, trees, masks = _bwrap_view(_interpreter())
        except RuntimeError:
            return []
        paths = [p for p in paths if _under(p, trees) and not _under(p, masks)]
    return [p for p in paths if _other_reads(p)]


def _other_reads(path: str) -> bool:
    """Could a process that gets only the "other" permission bits read `path` or a file under it?"""
    p = Path(path)
    try:
        if any(not os.stat(d).st_mode & stat.S_IXOTH for d in p.parents):
            return False
        st = os.stat(p)
    except OSError:
        return False
    if stat.S_ISREG(st.st_mode):
        return bool(st.st_mode & stat.S_IROTH)
    return stat.S_ISDIR(st.st_mode) and _other_reads_below(path, st)


def _other_reads_below(directory: str, st: os.stat_result) -> bool:
    # o+x without o+r still lets a worker open names it guesses (the layout
    # of the repository is public): only traversal is required here
    if not st.st_mode & stat.S_IXOTH:
        return False
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return False
    dirs = []
    for e in entries:
        try:
            est = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(est.st_mode) and est.st_mode & stat.S_IROTH:
            return True
        if stat.S_ISDIR(est.st_mode):
            dirs.append((e.path, est))
    return any(_other_reads_below(d, dst) for d, dst in dirs)
