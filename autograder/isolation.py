"""Launch the grading worker (``autograder/worker.py``) under an isolation layer.

Student code never runs in the grading process: it runs in a worker subprocess
started here. See docs/isolation.md for the threat model of each layer.

First version: only the ``process`` layer is implemented; ``uid`` and
``bwrap`` report themselves unavailable until they land.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
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
]

LAYERS = ("process", "uid", "bwrap")  # weakest to strongest


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

def worker_python() -> str:
    """The interpreter that runs the worker: $GDKIT_WORKER_PYTHON or sys.executable."""
    chosen = os.environ.get("GDKIT_WORKER_PYTHON") or sys.executable
    return os.path.realpath(chosen)


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


def _set_rlimits(limits: Limits, *, nproc: bool) -> None:
    """Apply the limits to the calling process (runs in the child before exec)."""
    pairs = [
        (resource.RLIMIT_AS, limits.memory),
        (resource.RLIMIT_CPU, limits.cpu),
        (resource.RLIMIT_FSIZE, limits.fsize),
        (resource.RLIMIT_NOFILE, limits.nofile),
        (resource.RLIMIT_CORE, 0),
    ]
    if nproc:
        pairs.append((resource.RLIMIT_NPROC, limits.nproc))
    for res, value in pairs:
        resource.setrlimit(res, (value, value))


# --------------------------------------------------------------------------- #
# availability
# --------------------------------------------------------------------------- #

_unavailable_cache: dict[str, str | None] = {}


def unavailable(layer: str) -> str | None:
    """None when `layer` works on this machine, else a one-line reason (cached per process)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown isolation layer {layer!r}; expected one of {LAYERS}")
    if layer not in _unavailable_cache:
        _unavailable_cache[layer] = _probe(layer)
    return _unavailable_cache[layer]


def _probe(layer: str) -> str | None:
    if layer == "process":
        py = worker_python()
        if not os.access(py, os.X_OK):
            return f"worker interpreter {py} is not executable"
        return None
    return f"the {layer!r} layer is not implemented yet"


def strongest() -> str:
    """The strongest layer that works here."""
    for layer in reversed(LAYERS):
        if unavailable(layer) is None:
            return layer
    raise RuntimeError("no isolation layer works here: " + unavailable("process"))


# --------------------------------------------------------------------------- #
# spawn / kill
# --------------------------------------------------------------------------- #

def spawn(layer: str, stage: Path, argv: list[str], limits: Limits, stderr) -> subprocess.Popen:
    """Start `python -I -B <stage>/worker.py *argv` under `layer`: stdin and stdout are pipes (the
    protocol), stderr goes to the given file object, cwd is <stage>/submission, start_new_session."""
    reason = unavailable(layer)
    if reason is not None:
        raise RuntimeError(f"isolation layer {layer!r} is unavailable: {reason}")
    stage = Path(stage)
    cmd = [worker_python(), "-I", "-B", str(stage / "worker.py"), *map(str, argv)]

    def preexec() -> None:
        _set_rlimits(limits, nproc=False)

    return subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=stderr,
        cwd=str(stage / "submission"),
        env=_worker_env(stage),
        close_fds=True,
        start_new_session=True,
        preexec_fn=preexec,
    )


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        # comm may contain spaces/parens: the ppid is the 2nd field after the last ')'
        rest = data[data.rfind(b")") + 2:].split()
        try:
            ppid = int(rest[1])
        except (IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _descendants(pid: int) -> set[int]:
    kids = _children_map()
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in kids.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _kill_pids(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _reap(proc: subprocess.Popen) -> None:
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream is not None:
                stream.close()
        except OSError:
            pass


def kill(layer: str, proc: subprocess.Popen) -> None:
    """Kill the worker and everything it started (including children that called setsid or were
    reparented), then reap it. Safe to call twice."""
    if layer not in LAYERS:
        raise ValueError(f"unknown isolation layer {layer!r}")
    pid = proc.pid
    if proc.returncode is None:
        # Freeze the tree first (SIGSTOP) so it cannot fork faster than we kill,
        # then find descendants through /proc while the worker still links them.
        _kill_pids_sig([pid], signal.SIGSTOP)
        tree = _descendants(pid)
        _kill_pids_sig(tree, signal.SIGSTOP)
        tree |= _descendants(pid)
        _kill_group(pid)  # start_new_session: the worker's pgid is its pid
        _kill_pids(tree)
        _kill_pids([pid])
    _reap(proc)


def _kill_pids_sig(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


# --------------------------------------------------------------------------- #
# stage
# --------------------------------------------------------------------------- #

def make_stage(worker_script: Path, submission: Path) -> Path:
    """Build a stage: <stage>/worker.py, <stage>/submission/ (regular files and dirs of
    `submission`, symlinks skipped), <stage>/tmp (mode 1777). Dirs 0755, files 0644."""
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
            rel = Path(dirpath).relative_to(submission)
            dest = dest_root / rel
            keep = []
            for d in dirnames:
                src = Path(dirpath) / d
                if src.is_symlink() or d == "__pycache__":
                    continue
                keep.append(d)
                (dest / d).mkdir()
                os.chmod(dest / d, 0o755)
            dirnames[:] = keep
            for f in filenames:
                src = Path(dirpath) / f
                if src.is_symlink() or not src.is_file():
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

    def onerror(func, path, exc_info):  # a 0o000 dir left by the worker, say
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
        except OSError:
            pass
        try:
            func(path)
        except OSError:
            pass

    shutil.rmtree(stage, onerror=onerror)
