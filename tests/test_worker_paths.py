"""The worker's paths, by class of attack, on every layer, with Landlock and with the guard alone.

Each worker applies Landlock to itself at start where the kernel has it (`hello["landlock"]` is
the ABI it applied); `--no-landlock` starts a worker whose guard stands alone, as on a kernel
without Landlock. Every class is tried in both, under every available layer:

- descriptor-relative escapes: `..` walked up from a directory descriptor (O_RDONLY or O_PATH, from
  the submission or from tmp/ as working directory), os.fchdir, /proc/self/cwd, listdir/scandir
  of a descriptor, to read the grader's files;
- writes outside tmp/ through the same tricks: the stage's gdkit_worker/ (the next worker's code),
  a world-writable place, the grader's stdout (/proc/<ppid>/fd/1), mkdir and rename relative to a
  descriptor;
- /proc/self/mem (the step counter lives in the worker's memory), in every spelling;
- and their honest counterpart: file work inside tmp/ (tempfile, os.makedirs, shutil.rmtree,
  renames, pathlib, np.save/np.load) must work everywhere.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import uuid
from pathlib import Path

import pytest

from adversarial import harness as H
try:
    from autograder.engine import session as session_module
except ImportError:  # before the session moved into the engine package
    from autograder import session as session_module
Session = session_module.Session

try:
    from autograder import sandbox as isolation
except ImportError:  # before the sandbox package was split out of isolation.py
    from autograder import isolation

PROBES = r'''
import os, pathlib, shutil, sys, tempfile

HOME = os.getcwd()
TMP = os.environ["TMPDIR"]


def _walk_up(flags=os.O_RDONLY, start="."):
    fd = os.open(start, flags)
    for _ in range(40):
        fd = os.open("..", flags, dir_fd=fd)
    return fd


def _opened(how, target, flags):
    """A descriptor on `target` (absolute), reached the way `how` says."""
    rel = target.lstrip("/")
    if how == "plain":
        return os.open(target, flags)
    if how == "walk":
        return os.open(rel, flags, dir_fd=_walk_up())
    if how == "walk-opath":
        return os.open(rel, flags, dir_fd=_walk_up(os.O_PATH))
    if how == "walk-from-tmp":       # cwd in tmp/: a guard that resolves against cwd says "tmp"
        os.chdir(TMP)
        return os.open(rel, flags, dir_fd=_walk_up(start=TMP))
    if how == "fchdir":
        os.fchdir(_walk_up())
        return os.open(rel, flags)
    if how == "fchdir-opath":
        os.fchdir(_walk_up(os.O_PATH))
        return os.open(rel, flags)
    if how == "proc-cwd":
        return os.open("/proc/self/cwd/" + "../" * 30 + rel, flags)
    if how == "proc-root":
        return os.open("/proc/self/root/" + rel, flags)
    raise ValueError(how)


def read(how, target):
    try:
        return len(os.read(_opened(how, target, os.O_RDONLY), 100))
    finally:
        os.chdir(HOME)


def write(how, target):
    try:
        fd = _opened(how, target, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        return os.write(fd, b"# written by the worker\n")
    finally:
        os.chdir(HOME)


def listing(how):
    try:
        if how == "listdir":
            return len(os.listdir(_walk_up()))
        if how == "scandir":
            return len(list(os.scandir(_walk_up())))
        if how == "listdir-opath":
            return len(os.listdir(_walk_up(os.O_PATH)))
        if how == "fchdir-listdir":
            os.fchdir(_walk_up(os.O_PATH))
            return len(os.listdir("."))
        raise ValueError(how)
    finally:
        os.chdir(HOME)


def make(how, target):
    rel = target.lstrip("/")
    try:
        if how == "mkdir-dirfd":
            os.mkdir(rel, dir_fd=_walk_up())
        elif how == "mkdir-from-tmp":
            os.chdir(TMP)
            os.mkdir(rel, dir_fd=_walk_up(start=TMP))
        elif how == "rename-dirfd":
            with open(os.path.join(TMP, "moving"), "w") as f:
                f.write("x")
            os.rename("moving", rel, src_dir_fd=os.open(TMP, os.O_RDONLY),
                      dst_dir_fd=_walk_up())
        elif how == "mkfifo":
            os.mkfifo(target)
        else:
            raise ValueError(how)
        return "made"
    finally:
        os.chdir(HOME)


def memory(how):
    """Open the worker's own memory for writing, the way `how` says."""
    try:
        if how == "open":
            f = open("/proc/self/mem", "r+b")
        elif how == "os-open":
            f = os.open("/proc/self/mem", os.O_RDWR)
        elif how == "pid":
            f = os.open(f"/proc/{os.getpid()}/mem", os.O_RDWR)
        elif how == "thread-self":
            f = os.open("/proc/thread-self/mem", os.O_RDWR)
        elif how == "read-only":
            f = os.open("/proc/self/mem", os.O_RDONLY)
        elif how == "proc-dirfd":
            f = os.open("self/mem", os.O_RDWR, dir_fd=os.open("/proc", os.O_RDONLY))
        elif how == "walk-from-tmp":
            os.chdir(TMP)
            f = os.open("proc/self/mem", os.O_RDWR, dir_fd=_walk_up(start=TMP))
        elif how == "fchdir":
            os.fchdir(_walk_up(os.O_PATH))
            f = os.open("proc/self/mem", os.O_RDWR)
        else:
            raise ValueError(how)
        return "opened"
    finally:
        os.chdir(HOME)


def honest(kind):
    """File work inside tmp/ that an honest submission may do."""
    if kind == "mkdtemp":
        d = tempfile.mkdtemp()
        os.rmdir(d)
    elif kind == "named-temporary-file":
        with tempfile.NamedTemporaryFile("w+") as f:
            f.write("x")
            f.seek(0)
            assert f.read() == "x"
    elif kind == "temporary-directory":
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "a", "b"))
            with open(os.path.join(d, "a", "b", "f.txt"), "w") as f:
                f.write("x")
    elif kind == "makedirs-rmtree":
        d = os.path.join(TMP, "tree")
        os.makedirs(os.path.join(d, "x", "y", "z"), exist_ok=True)
        for sub in ("x", "x/y", "x/y/z"):
            with open(os.path.join(d, sub, "f"), "w") as f:
                f.write("x")
        shutil.rmtree(d)
        assert not os.path.exists(d)
    elif kind == "rename-replace":
        a, b = os.path.join(TMP, "a.txt"), os.path.join(TMP, "b.txt")
        os.makedirs(os.path.join(TMP, "sub"), exist_ok=True)
        with open(a, "w") as f:
            f.write("x")
        os.rename(a, b)
        os.replace(b, os.path.join(TMP, "sub", "c.txt"))
        shutil.move(os.path.join(TMP, "sub", "c.txt"), a)
        os.remove(a)
        os.rmdir(os.path.join(TMP, "sub"))
    elif kind == "pathlib":
        p = pathlib.Path(tempfile.gettempdir()) / "p" / "q.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
        assert p.read_text() == "x"
        p.unlink()
        p.parent.rmdir()
    elif kind == "numpy-save-load":
        import numpy as np
        with tempfile.TemporaryDirectory() as d:
            np.save(os.path.join(d, "a.npy"), np.arange(3.0))
            assert np.load(os.path.join(d, "a.npy")).tolist() == [0.0, 1.0, 2.0]
            np.savetxt(os.path.join(d, "a.txt"), np.eye(2))
            assert np.loadtxt(os.path.join(d, "a.txt")).shape == (2, 2)
    elif kind == "copy-chmod-truncate":
        src = os.path.join(TMP, "src.txt")
        with open(src, "w") as f:
            f.write("hello")
        shutil.copy2(src, src + ".copy")
        os.chmod(src + ".copy", 0o600)
        os.truncate(src + ".copy", 2)
        with open(src + ".copy", "r+") as f:
            f.truncate(1)
        for p in (src, src + ".copy"):
            os.remove(p)
    elif kind == "read-submission":
        return len(open("probes.py").read()) > 0 and "probes.py" in os.listdir(".")
    else:
        raise ValueError(kind)
    return True
'''

READS = ["plain", "walk", "walk-opath", "walk-from-tmp", "fchdir", "fchdir-opath", "proc-cwd",
         "proc-root"]
WRITES = READS
LISTINGS = ["listdir", "scandir", "listdir-opath", "fchdir-listdir"]
MAKES = ["mkdir-dirfd", "mkdir-from-tmp", "rename-dirfd"]
MEMORY = ["open", "os-open", "pid", "thread-self", "read-only", "proc-dirfd", "walk-from-tmp",
          "fchdir"]
HONEST = ["mkdtemp", "named-temporary-file", "temporary-directory", "makedirs-rmtree",
          "rename-replace", "pathlib", "numpy-save-load", "copy-chmod-truncate",
          "read-submission"]
GRADER_FILES = [H.REPO / "data" / "worked_values.toml",
                H.REPO / "solutions" / "linear_regression_basic.py"]
MODES = ["landlock", "guard-only"]


def kernel_landlock_abi() -> int:
    """The Landlock ABI this kernel offers (0: none, or a machine we know no numbers for)."""
    if platform.machine() not in ("x86_64", "aarch64"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return max(0, libc.syscall(ctypes.c_long(444), None, ctypes.c_long(0), ctypes.c_long(1)))


def _launcher():
    """The module whose spawn() the session calls (the sandbox package, once it is split out)."""
    return getattr(session_module, "sandbox", None) or getattr(session_module, "isolation")


@pytest.fixture(scope="module", params=[(layer, mode) for layer in isolation.LAYERS
                                        for mode in MODES], ids=lambda p: f"{p[0]}-{p[1]}")
def paths(request, tmp_path_factory):
    layer, mode = request.param
    env, reason = H.layer_env(layer)
    if reason is not None:
        pytest.skip(f"{layer} layer unavailable: {reason}")
    sub = tmp_path_factory.mktemp("paths")
    (sub / "probes.py").write_text(PROBES)
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    if mode == "guard-only":
        launcher = _launcher()
        spawn = launcher.spawn
        mp.setattr(launcher, "spawn", lambda layer_, stage, argv, *a, **k: spawn(
            layer_, stage, [*argv, "--no-landlock"], *a, **k))
    with Session(sub, layer=layer, timeout=5.0) as s:
        assert s.call("probes", "honest", "read-submission").ok
        s.mode = mode
        yield s
    mp.undo()


def refused(reply):
    return reply.status == "error" and reply.error["type"] in (
        "PermissionError", "FileNotFoundError", "OSError", "NotADirectoryError")


def stage_path(s) -> Path:
    return Path(getattr(s.stage, "path", s.stage))


def worker_code(s) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((stage_path(s) / "gdkit_worker").glob("*.py"))}


def test_hello_says_whether_landlock_was_applied(paths):
    abi = kernel_landlock_abi()
    if paths.mode == "guard-only":
        assert paths.hello["landlock"] == 0 and "switched off" in paths.hello["landlock_error"]
    else:
        assert paths.hello["landlock"] == abi, paths.hello
        if abi == 0:
            assert paths.hello.get("landlock_error"), paths.hello


@pytest.mark.parametrize("how", READS)
@pytest.mark.parametrize("target", GRADER_FILES, ids=lambda p: p.name)
def test_no_read_of_grader_files_through_descriptors(paths, how, target):
    reply = paths.call("probes", "read", how, str(target))
    assert refused(reply), reply


@pytest.mark.parametrize("how", LISTINGS)
def test_no_listing_above_the_stage_through_descriptors(paths, how):
    reply = paths.call("probes", "listing", how)
    assert refused(reply), reply


@pytest.mark.parametrize("how", WRITES)
def test_no_write_to_the_next_workers_code(paths, how):
    before = worker_code(paths)
    reply = paths.call("probes", "write", how, str(stage_path(paths) / "gdkit_worker" / "loop.py"))
    assert refused(reply), reply
    assert worker_code(paths) == before


@pytest.mark.parametrize("how", WRITES)
def test_no_write_outside_the_stage(paths, how):
    target = Path("/tmp") / f"gdkit-paths-{uuid.uuid4().hex}"
    try:
        reply = paths.call("probes", "write", how, str(target))
        assert refused(reply), reply
        assert not target.exists()
    finally:
        if target.exists():
            target.unlink()


@pytest.mark.parametrize("how", ["plain", "walk-from-tmp", "fchdir-opath", "proc-cwd"])
@pytest.mark.parametrize("fd", [1, 2])
def test_no_write_to_the_graders_own_output(paths, how, fd):
    """The grader's stdout and stderr, reached through /proc/<the grader's pid>/fd/N."""
    reply = paths.call("probes", "write", how, f"/proc/{os.getpid()}/fd/{fd}")
    assert refused(reply), reply


@pytest.mark.parametrize("how", MAKES + ["mkfifo"])
def test_no_making_outside_tmp(paths, how):
    target = Path("/tmp") / f"gdkit-paths-{uuid.uuid4().hex}"
    if how == "mkfifo" and paths.mode == "guard-only":
        pytest.skip("os.mkfifo has no audit event: only the kernel (Landlock) or the layer stops it")
    try:
        reply = paths.call("probes", "make", how, str(target))
        assert refused(reply), reply
        assert not os.path.lexists(target)
    finally:
        if target.is_dir():
            target.rmdir()
        elif os.path.lexists(target):
            target.unlink()


@pytest.mark.parametrize("how", MEMORY)
def test_no_proc_self_mem(paths, how):
    reply = paths.call("probes", "memory", how)
    assert refused(reply), reply


@pytest.mark.parametrize("kind", HONEST)
def test_honest_file_work_inside_tmp(paths, kind):
    reply = paths.call("probes", "honest", kind)
    assert reply.ok and reply.value is True, reply


def test_step_counter_still_counts(paths):
    """The restrictions leave the style checks' step counter alone."""
    reply = paths.call("probes", "honest", "read-submission", trace=True)
    assert reply.ok and reply.events > 10, reply
