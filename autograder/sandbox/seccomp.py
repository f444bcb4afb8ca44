"""A small hand-assembled classic-BPF deny list for the uid and bwrap layers (x86_64 only).

There is no libseccomp binding for an arbitrary interpreter on Debian/PyPI that we can rely on
(Debian's python3-seccomp is for /usr/bin/python3 only), but a deny-list filter is a few dozen
BPF instructions, so we assemble it. Numbers are x86_64 syscall numbers (<asm/unistd_64.h>); on
another architecture no filter is installed (docs/isolation.md).
"""
from __future__ import annotations

import ctypes
import errno
import platform
import struct
import sys

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_OFF_NR, _OFF_ARCH, _OFF_ARG0 = 0, 4, 16  # struct seccomp_data (arg0 low word: little endian)

# syscall -> errno returned
DENY_X86_64 = {
    # namespaces / mounts: a user namespace would hand the worker capabilities over a new
    # namespace and a large kernel attack surface
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
    # other processes of the same uid
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
    # clone3 passes its flags in memory that BPF cannot read: ENOSYS makes glibc fall back to
    # clone(), whose flags we can check
    435: errno.ENOSYS,  # clone3
}
_NR_CLONE, _NR_SOCKET, _AF_UNIX = 56, 41, 1
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000


def program() -> bytes | None:
    """The filter as an array of struct sock_filter, or None where we have none.

    Denies (with an errno, the worker is not killed): namespace and mount syscalls, clone() with
    namespace flags, ptrace and process_vm_*, bpf, perf_event_open, userfaultfd, keyrings,
    io_uring, module/kexec/admin calls, and socket() of any family but AF_UNIX (no network even in
    the uid layer). Any other architecture than x86_64 (i386/x32 syscalls) kills the process."""
    if platform.machine() != "x86_64" or sys.byteorder != "little":
        return None
    prog: list[tuple[int, int, int, int]] = []

    def ins(code, jt, jf, k):
        prog.append((code, jt, jf, k))

    # layout: the checks, then one "return errno" per errno at the end; jumps are relative and
    # forward only, so checks are emitted with placeholder offsets and patched afterwards
    ins(_LD_W_ABS, 0, 0, _OFF_ARCH)
    ins(_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64)
    ins(_RET_K, 0, 0, _RET_KILL_PROCESS)
    ins(_LD_W_ABS, 0, 0, _OFF_NR)
    ins(_JGE_K, 0, 1, _X32_SYSCALL_BIT)
    ins(_RET_K, 0, 0, _RET_KILL_PROCESS)
    patches: list[tuple[int, str, int]] = []  # (index, "jt"/"jf", errno) to patch
    for nr, err in sorted(DENY_X86_64.items()):
        patches.append((len(prog), "jt", err))
        ins(_JEQ_K, 0, 0, nr)
    # clone(): deny namespace flags in arg0
    ins(_JEQ_K, 0, 3, _NR_CLONE)
    ins(_LD_W_ABS, 0, 0, _OFF_ARG0)
    patches.append((len(prog), "jt", errno.EPERM))
    ins(_JSET_K, 0, 0, _CLONE_NS_FLAGS)
    ins(_RET_K, 0, 0, _RET_ALLOW)
    # socket(): only AF_UNIX
    ins(_JEQ_K, 0, 3, _NR_SOCKET)
    ins(_LD_W_ABS, 0, 0, _OFF_ARG0)
    patches.append((len(prog), "jf", errno.EPERM))
    ins(_JEQ_K, 0, 0, _AF_UNIX)
    ins(_RET_K, 0, 0, _RET_ALLOW)
    ins(_RET_K, 0, 0, _RET_ALLOW)  # everything else
    labels = {}
    for err in sorted(set(DENY_X86_64.values()) | {errno.EPERM}):
        labels[err] = len(prog)
        ins(_RET_K, 0, 0, _RET_ERRNO | err)
    for idx, field, err in patches:
        code, jt, jf, k = prog[idx]
        offset = labels[err] - idx - 1
        if not 0 <= offset <= 255:
            raise AssertionError("seccomp jump out of range")
        prog[idx] = (code, offset, jf, k) if field == "jt" else (code, jt, offset, k)
    return b"".join(struct.pack("<HBBI", *p) for p in prog)


def supported() -> bool:
    """The kernel has seccomp (a Seccomp: line in /proc/self/status)."""
    try:
        with open("/proc/self/status") as fh:
            return any(line.startswith("Seccomp:") for line in fh)
    except OSError:
        return False


def active() -> bytes | None:
    """The filter to install here, or None (another architecture, or no seccomp in the kernel)."""
    return program() if supported() else None


_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class Installer:
    """no_new_privs, then the filter, from a child between fork and exec. Everything that
    allocates or imports is done in __init__, in the parent, before the fork."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self._prctl = libc.prctl
        self._prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                                ctypes.c_ulong]
        self._prctl.restype = ctypes.c_int
        bpf = active()
        self._buf = self._fprog = None
        self._addr = 0
        if bpf is not None:
            self._buf = ctypes.create_string_buffer(bpf, len(bpf))
            self._fprog = _SockFprog(len(bpf) // 8, ctypes.cast(self._buf, ctypes.c_void_p))
            self._addr = ctypes.addressof(self._fprog)

    def __call__(self) -> None:
        if self._prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if self._addr and self._prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, self._addr, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")

