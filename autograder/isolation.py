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
    As ``process``, plus: uid/gid 65534 (nobody/nogroup) with no supplementary
    groups, RLIMIT_NPROC, no_new_privs, and a seccomp filter (see _seccomp_filter)
    where the kernel has seccomp. No namespaces: the worker sees the host's
    file system (as nobody) and other processes.
``bwrap``
    bubblewrap: own mount, PID, network, IPC, UTS (and cgroup) namespaces, a
    file system that only holds /usr (+ /lib*, /bin), the Python prefix(es) and
    the stage, and inside it setpriv switches to uid/gid 65534 with no
    capabilities and no_new_privs, plus the same seccomp filter. No user
    namespace: as root, bwrap maps the sandbox uid to the host's root.

Everything is stdlib only (ctypes for prctl in the uid layer).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import resource
import shutil
import signal
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
    "NOBODY",
]

LAYERS = ("process", "uid", "bwrap")  # weakest to strongest

NOBODY = 65534  # uid and gid of the worker in the uid and bwrap layers

# size of the tmpfs mounted on <stage>/tmp (and /tmp) inside the bwrap sandbox
SCRATCH_TMPFS_BYTES = 64 << 20


@dataclass(frozen=True)
class Limits:
    memory: int = 1 << 30  # RLIMIT_AS, bytes (1 GiB)
    cpu: int = 120  # RLIMIT_CPU, seconds of CPU for one worker's life
    nproc: int = 64  # RLIMIT_NPROC (only meaningful after dropping to an unprivileged uid)
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


def _unreachable_by_nobody(path: str) -> str | None:
    """The first directory on the way to `path` that uid/gid 65534 cannot traverse."""
    p = Path(path)
    for d in [*reversed(p.parents)]:
        try:
            st = os.stat(d)
        except OSError as exc:
            return f"{d}: {exc.strerror}"
        if st.st_uid == NOBODY:
            ok = st.st_mode & 0o100
        elif st.st_gid == NOBODY:
            ok = st.st_mode & 0o010
        else:
            ok = st.st_mode & 0o001
        if not ok:
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
        how = "switches to uid 65534" if layer == "uid" else "creates namespaces and switches to uid 65534 without a user namespace"
        return f"needs root (the {layer} layer {how}); running as uid {os.geteuid()}"
    if layer == "uid":
        real = os.path.realpath(interp.exe)
        for target in (real, *interp.prefixes):
            blocked = _unreachable_by_nobody(target)
            if blocked:
                return (
                    f"interpreter {real} is not reachable by uid 65534 ({blocked}); set "
                    "GDKIT_WORKER_PYTHON to one it can run, e.g. /usr/bin/python3 with apt's python3-numpy"
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
    want_uid = 0 if layer == "process" else NOBODY
    fields = out.decode(errors="replace").split()
    if proc.returncode != 0 or len(fields) < 2 or fields[0] != "ok":
        return f"probe worker ({interp.exe} -I -c 'import numpy') failed with exit {proc.returncode}: {tail[0]}"
    if layer != "process" and int(fields[1]) != want_uid:
        return f"probe worker ran as uid {fields[1]}, not {want_uid}"
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
    cmd = [interp.exe, "-I", "-B", str(stage / "worker.py"), *map(str, argv)]
    env = _worker_env(stage)
    common = dict(
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=str(stage / "submission"),
        close_fds=True,
        start_new_session=True,
    )
    if layer == "process":
        proc = subprocess.Popen(cmd, env=env, preexec_fn=_preexec_process(limits), **common)
    elif layer == "uid":
        proc = subprocess.Popen(cmd, env=env, preexec_fn=_preexec_uid(limits), **common)
    elif layer == "bwrap":
        proc = _spawn_bwrap(stage, cmd, env, limits, interp, common)
    else:
        raise ValueError(f"unknown isolation layer {layer!r}; expected one of {LAYERS}")
    with _registry_lock:
        _stage_of[proc.pid] = str(stage)
        _live[proc.pid] = layer
    return proc


def _preexec_process(limits: Limits):
    pairs = _rlimit_pairs(limits, nproc=False)

    def preexec() -> None:
        for res, value in pairs:
            resource.setrlimit(res, (value, value))

    return preexec


def _preexec_uid(limits: Limits):
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
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)
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


_PASSWD = b"root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
_GROUP = b"root:x:0:\nnogroup:x:65534:\n"


def _bwrap_args(stage: Path, env: dict[str, str], interp: _Interpreter, fds: dict[str, int]) -> list[str]:
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
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            a += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            a += ["--ro-bind", top, top]
    a += [
        # a directory bwrap creates implicitly for a bind's destination is
        # 0700 (root's): uid 65534 could not traverse it; make /etc explicitly
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
        # create the parents ourselves, 0755, so uid 65534 can traverse them
        # (on the host /root is 0700)
        for p in reversed(Path(path).parents):
            s = str(p)
            if s not in made:
                a.extend(["--perms", "0755", "--dir", s])
                made.add(s)

    bound: list[str] = ["/usr"]

    def bind(src: str, dest: str) -> None:
        if any(dest == b or dest.startswith(b.rstrip("/") + "/") for b in bound):
            return
        parents(dest)
        a.extend(["--ro-bind", src, dest])
        bound.append(dest)
        made.add(dest)

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
    # gdkit itself, if installed into the worker's Python, ships data/ (worked
    # values, rubric): cover it with an empty read-only-for-65534 tmpfs
    for m in interp.masks:
        if any(m.startswith(b.rstrip("/") + "/") for b in bound):
            a += ["--perms", "0755", "--tmpfs", m]
    # the stage, read-only, at its own path; a private tmpfs as its tmp/
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
        f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
        "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all",
        "--",
        # bwrap always exports PWD after its chdir; the worker's environment is
        # exactly _worker_env()
        _tool("env") or "/usr/bin/env", "-u", "PWD", "--",
    ]
    return a


def _spawn_bwrap(stage, cmd, env, limits, interp, common) -> subprocess.Popen:
    fds = {"passwd": _data_fd(_PASSWD), "group": _data_fd(_GROUP)}
    try:
        bpf = _seccomp_filter() if _seccomp_supported() else None
        if bpf is not None:
            fds["seccomp"] = _data_fd(bpf)
        argv = _bwrap_args(stage, env, interp, fds) + cmd
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
    # bind root (bwrap) and starts to count once setpriv has switched to 65534
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


def _uid_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("Uid:"):
                    return int(line.split()[1])  # real uid
    except (OSError, ValueError, IndexError):
        pass
    return None


def kill(layer: str, proc: subprocess.Popen) -> None:
    """Kill the worker and everything it started (including children that called setsid or were
    reparented), then reap it. Safe to call twice."""
    if layer not in LAYERS:
        raise ValueError(f"unknown isolation layer {layer!r}; expected one of {LAYERS}")
    pid = proc.pid
    with _registry_lock:
        first = _live.pop(pid, None) is not None
        stage = _stage_of.pop(pid, None)
    if first or proc.returncode is None:
        if layer == "bwrap":
            _kill_bwrap(proc)
        else:
            _kill_tree(layer, proc, stage)
    _reap(proc)


def _kill_bwrap(proc: subprocess.Popen) -> None:
    # proc is the outer bwrap; its child is PID 1 of the sandbox's PID
    # namespace. When that dies the kernel kills every process in the
    # namespace, and nothing can leave a PID namespace. (--die-with-parent
    # would also take it down with the outer bwrap; we do not rely on it.)
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


def _kill_tree(layer: str, proc: subprocess.Popen, stage: str | None) -> None:
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
    if layer != "uid":
        return
    # Then every other process of uid 65534 in our PID namespace (orphans of
    # this worker that hid by double fork, setsid and a cleared environment),
    # sparing our other live workers and their descendants, and sparing
    # processes in PID namespaces made by root (bwrap workers, ours or another
    # grader's, run as 65534 on the host too). A PID namespace the worker
    # made itself would belong to a user namespace it made: not spared.
    # (A plain kill(-1, SIGKILL) as 65534 would also take those bwrap workers.)
    killed = set(seen)
    for _ in range(3):
        frozen: set[int] = set()
        for _ in range(10):
            table = _scan_proc()
            spare = _spared(others, table)
            new = {
                p for p in table
                if p not in spare and p not in frozen and _uid_of(p) == NOBODY
                and not _is_zombie(p) and not _in_root_made_pid_ns(p)
            }
            if not new:
                break
            _signal(new, signal.SIGSTOP)
            frozen |= new
        if not frozen:
            break
        _signal(frozen, signal.SIGKILL)
        killed |= frozen
    # RLIMIT_NPROC counts zombies until they are reaped, and orphans are
    # reaped by init, which may take a while (up to ~2 s on our machines).
    # After a fork bomb, wait for that, or the next worker could fail to fork
    # or even to start; a few zombies do not matter, so kill() stays fast.
    killed.discard(pid)
    if len(killed) >= _ZOMBIES_WORTH_WAITING_FOR:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and any(_uid_of(p) == NOBODY for p in killed):
            time.sleep(0.01)


_ZOMBIES_WORTH_WAITING_FOR = 8


_MY_NS = {}


def _ns(pid, kind: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def _in_root_made_pid_ns(pid: int) -> bool:
    """True for a process in another PID namespace but still in our user namespace (bwrap's)."""
    if not _MY_NS:
        _MY_NS["pid"] = _ns("self", "pid")
        _MY_NS["user"] = _ns("self", "user")
    pidns, userns = _ns(pid, "pid"), _ns(pid, "user")
    if pidns is None or userns is None or _MY_NS["pid"] is None:
        return False
    return pidns != _MY_NS["pid"] and userns == _MY_NS["user"]


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
    `submission`; symlinks and __pycache__ are skipped), <stage>/tmp (mode 1777, the worker's
    HOME/TMPDIR). Directories 0755, files 0644, owned by the caller: readable, not writable, by
    the worker."""
    worker_script = Path(worker_script)
    submission = Path(submission)
    stage = Path(tempfile.mkdtemp(prefix="gdkit-stage-"))
    try:
        os.chmod(stage, 0o755)
        shutil.copyfile(worker_script, stage / "worker.py")
        os.chmod(stage / "worker.py", 0o644)
        dest_root = stage / "submission"
        dest_root.mkdir()
        os.chmod(dest_root, 0o755)
        for dirpath, dirnames, filenames in os.walk(submission, followlinks=False):
            dest = dest_root / Path(dirpath).relative_to(submission)
            keep = []
            for d in dirnames:
                if os.path.islink(os.path.join(dirpath, d)) or d == "__pycache__":
                    continue
                keep.append(d)
                (dest / d).mkdir()
                os.chmod(dest / d, 0o755)
            dirnames[:] = keep
            for f in filenames:
                src = os.path.join(dirpath, f)
                if os.path.islink(src) or not os.path.isfile(src):
                    continue
                shutil.copyfile(src, dest / f)
                os.chmod(dest / f, 0o644)
        tmp = stage / "tmp"
        tmp.mkdir()
        os.chmod(tmp, 0o1777)
    except BaseException:
        remove_stage(stage)
        raise
    return stage


def remove_stage(stage: Path) -> None:
    """Remove a stage made by make_stage (including whatever the worker left in tmp/)."""
    stage = Path(stage)

    def onerror(func, path, exc_info):  # e.g. a 0o000 dir the worker left in tmp/
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    if sys.version_info >= (3, 12):
        shutil.rmtree(stage, onexc=onerror)
    else:
        shutil.rmtree(stage, onerror=onerror)
