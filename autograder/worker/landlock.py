"""The kernel's part: the worker restricts itself with Landlock before any student code runs.

Landlock (Linux >= 5.13) is path-hierarchy based in the kernel: whatever path or descriptor an
access goes through (`dir_fd=`, `..` walked up from a descriptor, /proc/self/fd/N, a symlink),
the kernel checks the file's place in the tree. The worker may then:

- read (files and directories) beneath the Python installation, /usr and /lib*, the stage's
  gdkit_worker/ and submission/; read /etc/localtime, /etc/ld.so.cache and the random devices;
- read, write, make (files and directories, no devices, fifos, sockets or symlinks), remove,
  truncate and move files beneath the stage's tmp/; read and write /dev/null;
- nothing else: no /proc (so no /proc/self/mem, no /proc/<pid>/fd/N), no execve anywhere (the
  guard already refuses to start processes), no write outside tmp/ (not its own code, not the
  report), and where the kernel knows how (ABI >= 4) no TCP bind or connect, (ABI >= 6) no
  signal to a process outside the worker and no abstract unix socket outside it.

A grader folder inside a readable tree (`deny`, e.g. gdkit installed in the interpreter's
site-packages) is carved out: its parent directories stay listable, their other entries readable,
it is not.

Also PR_SET_NO_NEW_PRIVS (which Landlock needs) and PR_SET_DUMPABLE 0: under the uid and bwrap
layers the worker's own /proc files then belong to root, so even without Landlock its uid cannot
open /proc/self/mem. Landlock applies to the calling thread and the threads it starts later:
`restrict` runs in the main thread before the protocol thread exists.

This needs ctypes (there is no syscall() in the standard library). The caller imports NumPy
first (NumPy must never hold ctypes), calls `restrict`, then removes ctypes from sys.modules, and
the guard refuses both importing it again and every ctypes call.
"""
import os
import sys

# access rights per ABI version (linux/landlock.h)
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REMOVE_DIR, FS_REMOVE_FILE, FS_MAKE_CHAR, FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FS_MAKE_REG, FS_MAKE_SOCK, FS_MAKE_FIFO, FS_MAKE_BLOCK = 1 << 8, 1 << 9, 1 << 10, 1 << 11
FS_MAKE_SYM, FS_REFER, FS_TRUNCATE, FS_IOCTL_DEV = 1 << 12, 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1
FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
FS_LATEST = (1 << 16) - 1   # ABI >= 5

READ = FS_READ_FILE | FS_READ_DIR
WRITE = (READ | FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR | FS_MAKE_REG
         | FS_REFER | FS_TRUNCATE)
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV

# (landlock_create_ruleset, landlock_add_rule, landlock_restrict_self): the same on every
# architecture with the generic syscall table and on x86 (since Linux 5.13); alpha differs
SYSCALLS = {m: (444, 445, 446) for m in ("x86_64", "amd64", "i386", "i486", "i586", "i686",
                                        "aarch64", "arm64", "armv7l", "armv8l", "riscv64",
                                        "ppc64le", "ppc64", "s390x", "loongarch64")}
PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 4, 38
READ_FILES = ("/etc/localtime", "/etc/ld.so.cache", "/dev/urandom", "/dev/random", "/dev/zero")
RW_FILES = ("/dev/null",)


def _inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def grants(root, access, deny):
    """(path, access) rules that give `access` beneath `root`, except beneath any of `deny`."""
    below = [d for d in deny if _inside(d, root)]
    if not below:
        return [(root, access)]
    if root in below:
        return []
    rules = [(root, access & FS_READ_DIR)]
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return rules
    for name in names:
        child = os.path.join(root, name)
        if os.path.islink(child):
            continue   # its target has a rule of its own, or none
        rules += grants(child, access if os.path.isdir(child) else access & FILE_RIGHTS, deny)
    return rules


class Landlock:
    """The three syscalls and prctl, through ctypes."""

    def __init__(self):
        import ctypes

        self.ctypes = ctypes
        machine = os.uname().machine
        numbers = SYSCALLS.get(machine.lower())
        if numbers is None:
            raise OSError(f"no Landlock syscall numbers known for {machine}")
        self.create, self.add, self.restrict_self = numbers
        libc = ctypes.CDLL(None, use_errno=True)
        self.syscall, self.prctl = libc.syscall, libc.prctl
        self.syscall.restype = self.prctl.restype = ctypes.c_long

        class Ruleset(ctypes.Structure):
            _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64),
                        ("scoped", ctypes.c_uint64)]

        class PathBeneath(ctypes.Structure):
            _pack_ = 1
            _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

        self.Ruleset, self.PathBeneath = Ruleset, PathBeneath

    def call(self, *args):
        c = self.ctypes
        result = self.syscall(*[c.c_long(a) if isinstance(a, int) else a for a in args])
        if result < 0:
            errno = c.get_errno()
            raise OSError(errno, os.strerror(errno))
        return result

    def abi(self):
        try:
            return self.call(self.create, None, 0, 1)   # LANDLOCK_CREATE_RULESET_VERSION
        except OSError:
            return 0

    def prctl_set(self, option, value):
        c = self.ctypes
        if self.prctl(c.c_int(option), c.c_ulong(value), c.c_ulong(0), c.c_ulong(0),
                      c.c_ulong(0)) != 0:
            errno = c.get_errno()
            raise OSError(errno, f"prctl({option}): {os.strerror(errno)}")


def restrict(*, read_dirs, write_dirs, deny=()):
    """Apply the worker's ruleset to the calling thread (and the threads it starts later).

    Returns {"landlock": ABI number or 0, "dumpable": False or True, and "landlock_error": why
    not, when not}. Never raises: a kernel without Landlock leaves the guard alone in charge."""
    info = {"landlock": 0}
    try:
        ll = Landlock()
    except (ImportError, OSError, AttributeError) as e:
        info["landlock_error"] = f"{type(e).__name__}: {e}"
        return info
    try:
        ll.prctl_set(PR_SET_DUMPABLE, 0)
        info["dumpable"] = False
    except OSError as e:
        info["dumpable_error"] = str(e)
    abi = ll.abi()
    if abi <= 0:
        info["landlock_error"] = "the kernel has no Landlock (or it is disabled)"
        return info
    try:
        _apply(ll, abi, read_dirs, write_dirs, deny)
    except OSError as e:
        info["landlock_error"] = f"{type(e).__name__}: {e}"
        return info
    info["landlock"] = abi
    return info


def _apply(ll, abi, read_dirs, write_dirs, deny):
    c = ll.ctypes
    fs = FS_BY_ABI.get(abi, FS_LATEST)
    attr = ll.Ruleset(fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                      SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = ll.call(ll.create, c.byref(attr), size, 0)
    try:
        rules = []
        for root in read_dirs:
            rules += grants(root, READ, deny)
        for root in write_dirs:
            rules += grants(root, WRITE, deny)
        rules += [(f, FS_READ_FILE) for f in READ_FILES]
        rules += [(f, FS_READ_FILE | FS_WRITE_FILE) for f in RW_FILES]
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue   # not there (a /lib32 on one machine, /etc/localtime on another)
            try:
                if not os.path.isdir(path):
                    access &= FILE_RIGHTS
                rule = ll.PathBeneath(access & fs, fd)
                ll.call(ll.add, ruleset, 1, c.byref(rule), 0)   # LANDLOCK_RULE_PATH_BENEATH
            finally:
                os.close(fd)
        ll.prctl_set(PR_SET_NO_NEW_PRIVS, 1)
        ll.call(ll.restrict_self, ruleset, 0)
    finally:
        os.close(ruleset)


def forget_ctypes():
    """Remove ctypes from sys.modules (the guard refuses to import it again)."""
    for name in [m for m in sys.modules if m.split(".")[0] in ("ctypes", "_ctypes")]:
        del sys.modules[name]
