"""The bwrap layer: bubblewrap, then the worker's own uid inside (as in the uid layer).

Own mount, PID, network, IPC, UTS (and cgroup) namespaces; a file system that only holds /usr
(+ /lib*, /bin), the Python prefix(es) and the stage; setpriv switches to the worker's uid/gid
with no capabilities and no_new_privs; the same seccomp filter. No user namespace: as root,
bwrap would map the sandbox uid to the host's root.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from . import exposure, interpreter, procfs, seccomp
from .base import register
from .uid import UidLayer, _need_root_and_ids

SCRATCH_TMPFS_BYTES = 64 << 20  # size of the tmpfs on <stage>/tmp (and /tmp) in the sandbox
_TOP_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@register
class BwrapLayer(UidLayer):
    name = "bwrap"
    rank = 2

    def requirements(self, interp) -> str | None:
        reason = _need_root_and_ids(self.name)
        if reason:
            return reason
        for name, pkg in (("bwrap", "bubblewrap"), ("setpriv", "util-linux")):
            if tool(name) is None:
                return f"{name} not found (apt-get install {pkg})"
        return None

    def numpy_unreadable(self, interp) -> str | None:
        """numpy must lie in a bound tree, and be readable from where the bind starts (the folders
        above it are made 0755 in the sandbox)."""
        _, trees, _ = view(interp)
        inside = [t for t in trees if _under(interp.numpy, [t], strict=True)]
        if not inside:
            return f"numpy ({interp.numpy}) is outside every tree the sandbox binds"
        blocked = exposure.unreadable_by_other(interp.numpy, max(inside, key=len))
        return f"the worker uids cannot read numpy in the sandbox ({blocked})" if blocked else None

    def popen(self, stage, cmd, env, limits, popen_args, lease) -> subprocess.Popen:
        passwd, group_file = _passwd(lease.id, stage.gid)
        fds = {"passwd": _data_fd(passwd), "group": _data_fd(group_file)}
        try:
            bpf = seccomp.active()
            if bpf is not None:
                fds["seccomp"] = _data_fd(bpf)
            argv = _args(stage.path, env, interpreter.current(), fds, lease.id, stage.gid) + cmd
            # rlimits are inherited by bwrap -> setpriv -> python; RLIMIT_NPROC does not bind root
            # (bwrap) and counts once setpriv has switched to the worker's own uid
            return subprocess.Popen(argv, env={"PATH": "/usr/bin:/bin"}, preexec_fn=limits.setter(nproc=True),
                                    pass_fds=tuple(fds.values()), **popen_args)
        finally:
            for fd in fds.values():
                os.close(fd)

    def stop(self, worker) -> None:
        """SIGKILL the namespace's init (the outer bwrap's child: when it dies the kernel kills
        every process in the namespace, and nothing can leave a PID namespace), the process group
        and the outer bwrap; wait until the init is gone. The uid sweep follows (a belt)."""
        pid = worker.pid
        if worker.popen.returncode is not None:
            return
        inner = procfs.descendants(pid, procfs.table())
        procfs.signal_all(inner, signal.SIGKILL)
        procfs.signal_group(pid, signal.SIGKILL)
        procfs.signal_all([pid], signal.SIGKILL)
        deadline = time.monotonic() + 5
        while inner and time.monotonic() < deadline:
            inner = {p for p in inner if procfs.alive(p)}
            if inner:
                time.sleep(0.01)

    def exposed(self) -> list[str]:
        try:
            _, trees, masks = view(interpreter.current())
        except RuntimeError:
            return []
        return [p for p in exposure.candidates()
                if _under(p, trees) and not _under(p, masks) and exposure.other_reads(p)]


def tool(name: str) -> str | None:
    for d in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


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


def view(interp) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """What the sandbox shows of the host: (prefix binds as (src, dest), every bound tree, masks).

    Bound trees are /usr, the real /bin, /lib... folders, /etc/alternatives and the interpreter's
    prefixes; masks are the grader's folders (exposure.grader_dirs, and installed copies of this
    package with their data/) that lie inside a bound tree: an empty tmpfs covers them."""
    bound: list[str] = ["/usr"]
    bound += [top for top in _TOP_DIRS if os.path.isdir(top) and not os.path.islink(top)]
    binds: list[tuple[str, str]] = []

    def bind(src: str, dest: str) -> None:
        if _under(dest, bound):
            return
        binds.append((src, dest))
        bound.append(dest)

    for p in sorted(set(interp.prefixes), key=len):  # the real folders, and their unresolved spellings
        real = os.path.realpath(p)
        if os.path.isdir(real):
            bind(real, real)
            if p != real:
                bind(real, p)
    exe_dir = os.path.dirname(interp.exe)
    if os.path.isdir(exe_dir):
        bind(os.path.realpath(exe_dir), exe_dir)
    trees = [*bound, "/etc/alternatives"]
    masks = [m for m in dict.fromkeys([*interp.masks, *exposure.grader_dirs()])
             if os.path.isdir(m) and _under(m, trees, strict=True)]
    return binds, trees, masks


def _under(path: str, trees, *, strict: bool = False) -> bool:
    """`path` is one of `trees` (unless strict) or lies inside one."""
    return any((path == t and not strict) or path.startswith(t.rstrip("/") + "/") for t in trees)


def _args(stage: Path, env: dict[str, str], interp, fds: dict[str, int], uid: int, group: int) -> list[str]:
    a = [
        tool("bwrap") or "bwrap",
        # every namespace but the user namespace (see the module docstring)
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "gdkit-worker", "--die-with-parent", "--new-session", "--clearenv",
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
        # a folder bwrap creates implicitly for a bind's destination is 0700 (root's): the worker
        # could not traverse it; make /etc explicitly
        "--perms", "0755", "--dir", "/etc",
        "--ro-bind", "/etc/ld.so.cache", "/etc/ld.so.cache",
        "--ro-bind-try", "/etc/localtime", "/etc/localtime",
        # Debian's alternatives: libblas.so.3 / liblapack.so.3 of apt's numpy link through it
        "--ro-bind-try", "/etc/alternatives", "/etc/alternatives",
        "--perms", "0644", "--ro-bind-data", str(fds["passwd"]), "/etc/passwd",
        "--perms", "0644", "--ro-bind-data", str(fds["group"]), "/etc/group",
        "--dev", "/dev",
        "--proc", "/proc",
        "--perms", "01777", "--size", str(SCRATCH_TMPFS_BYTES), "--tmpfs", "/tmp",
    ]
    made: set[str] = {"/", "/usr", "/tmp", "/etc", "/dev", "/proc"}

    def parents(path: str) -> None:  # created 0755 by us, so the worker can traverse them
        for p in reversed(Path(path).parents):
            if str(p) not in made:
                a.extend(["--perms", "0755", "--dir", str(p)])
                made.add(str(p))

    binds, _, masks = view(interp)
    for src, dest in binds:
        parents(dest)
        a.extend(["--ro-bind", src, dest])
        made.add(dest)
    for m in masks:  # the grader's own files inside a bound prefix: an empty tmpfs over them
        a += ["--perms", "0755", "--tmpfs", m]
    s = str(stage)  # read-only at its own path (root:<group> 0750); a private tmpfs as its tmp/
    parents(s)
    a += ["--ro-bind", s, s]
    a += ["--perms", "01777", "--size", str(SCRATCH_TMPFS_BYTES), "--tmpfs", str(stage / "tmp")]
    a += ["--chdir", str(stage / "submission")]
    if "seccomp" in fds:
        a += ["--seccomp", str(fds["seccomp"])]
    a += [
        "--",
        tool("setpriv") or "setpriv",
        f"--reuid={uid}", f"--regid={uid}", f"--groups={group}",
        "--no-new-privs", "--bounding-set=-all", "--inh-caps=-all",
        "--",
        # bwrap always exports PWD after its chdir; the worker's environment is exactly
        # interpreter.worker_env()
        tool("env") or "/usr/bin/env", "-u", "PWD", "--",
    ]
    return a
