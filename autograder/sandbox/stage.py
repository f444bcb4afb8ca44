"""The stage: a private folder per submission that the worker runs from.

    <stage>/gdkit_worker/   the worker package (or a test's stand-in script as __main__.py)
    <stage>/submission/     the chosen files of the submission (see tree.copy_submission)
    <stage>/tmp/            the worker's HOME and TMPDIR

As root (when the id pool is mapped) the stage leases a group id of its own: everything is
root:<that group>, folders 0750, files 0640, tmp/ 02770, so that the stage's workers, who have
that group, can read it (and write in tmp/) and no other worker can even enter it. Otherwise
everything is the caller's, folders 0755, files 0644, tmp/ 01777.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

from . import cleanup, forksafe, leases, tree
from .tree import CopyLimits


class Stage:
    """One stage. It owns its folder and its group lease until `close()` (or the end of a `with`
    block), which first kills the workers this process still runs on it.

    `path`: the folder; `gid`: its leased group, or None; `left_out`: what of the submission was
    not copied, and why (short lines for the report); `lease_error`: why no group could be
    leased, if that failed as root."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lease: leases.Lease | None = None
        self.lease_error: str | None = None
        self.left_out: list[str] = []
        self.owner = os.getpid()
        self.workers: set = set()  # live Worker handles on this stage (see Worker.kill)
        self._closed = False
        self._lock = forksafe.RLock()
        cleanup.track(self, "stage")

    @property
    def gid(self) -> int | None:
        return self.lease.id if self.lease is not None and self.lease.held else None

    @property
    def closed(self) -> bool:
        return self._closed

    def __fspath__(self) -> str:
        return str(self.path)

    def __str__(self) -> str:
        return str(self.path)

    def __truediv__(self, other) -> Path:
        return self.path / other

    def __repr__(self) -> str:
        return f"Stage({str(self.path)!r}, gid={self.gid}{', closed' if self._closed else ''})"

    def __enter__(self) -> "Stage":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def empty_tmp(self) -> bool:
        """Remove everything in <stage>/tmp (a worker's files), without recursion and following no
        link; never raises. True when it is empty."""
        return tree.empty_tree(self.path / "tmp")

    def close(self) -> None:
        """Kill this process's workers on the stage, remove the folder (whatever a worker left in
        tmp/ included), then release the group: no process may keep the group once it can be
        leased again. Idempotent; never raises. In a forked child, a stage of the parent is left
        to the parent (only the child's own workers on it are killed)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            cleanup.untrack(self)
            swept = True
            for w in [w for w in list(self.workers) if w.owner == os.getpid()]:
                w.kill()
                swept = swept and w.swept
            if self.owner != os.getpid():
                return
            gone = tree.remove_tree(self.path)
            lease = self.lease
            if lease is None:
                return
            if not swept:
                pass  # dropped by the kernel at exit; the next taker kills and removes what is left
            elif not gone:
                # the kernel drops the lock when we exit, and whoever leases the id next removes
                # the stage first (leases._clean_stale)
                warnings.warn(f"gdkit: stage {self.path} could not be removed; its group {lease.id} "
                              "stays leased", RuntimeWarning)
            else:
                lease.release()


def make_stage(worker_source, submission, *, limits: CopyLimits = CopyLimits()) -> Stage:
    """Build a stage for `submission` (a folder) with the worker package `worker_source` (a
    folder: all its *.py are copied into gdkit_worker/; or one stand-in script, copied as
    gdkit_worker/__main__.py). See the module docstring for owners and modes, and
    tree.copy_submission for what of the submission is copied."""
    worker_source = Path(worker_source)
    stage = Stage(Path(tempfile.mkdtemp(prefix="gdkit-stage-")))  # 0700 until filled
    try:
        if os.geteuid() == 0 and leases.ids_mappable() is None:
            try:
                stage.lease = leases.acquire("stage", str(stage.path))
            except (OSError, RuntimeError) as exc:
                stage.lease_error = str(exc)  # the process layer still works; the others say why not
        _fill(stage, worker_source, Path(submission), limits)
    except BaseException:
        stage.close()
        raise
    return stage


def _fill(stage: Stage, worker_source: Path, submission: Path, limits: CopyLimits) -> None:
    group = stage.gid
    # tmp/ as root: setgid, not sticky: what one worker of the stage leaves there (group = the
    # stage's, mode 0660 under the uid layer's umask) the next one, a restart with another uid or
    # the sibling session's worker, can read, rewrite and delete
    dmode, fmode, tmode = (0o750, 0o640, 0o2770) if group is not None else (0o755, 0o644, 0o1777)

    def own(fd: int, is_dir: bool, mode: int | None = None) -> None:
        if group is not None:
            os.fchown(fd, 0, group)
        os.fchmod(fd, mode if mode is not None else dmode if is_dir else fmode)

    def make_dir(name: str, mode: int | None = None) -> int:
        path = stage.path / name
        path.mkdir(mode=0o700)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        own(fd, True, mode)
        return fd

    package = make_dir("gdkit_worker")
    try:
        sources = sorted(worker_source.glob("*.py")) if worker_source.is_dir() else [worker_source]
        for src in sources:
            name = src.name if worker_source.is_dir() else "__main__.py"
            dest = stage.path / "gdkit_worker" / name
            shutil.copyfile(src, dest)
            with open(dest, "rb") as fh:
                own(fh.fileno(), False)
        if worker_source.is_dir():
            os.close(make_dir("gdkit_worker/__pycache__"))
            for name, data in bytecode(worker_source).items():
                with open(stage.path / "gdkit_worker" / "__pycache__" / name, "xb") as fh:
                    fh.write(data)
                    own(fh.fileno(), False)
    finally:
        os.close(package)
    dest = make_dir("submission")
    try:
        stage.left_out = tree.copy_submission(submission, dest, own, limits)
    finally:
        os.close(dest)
    os.close(make_dir("tmp", tmode))
    fd = os.open(stage.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        own(fd, True)
    finally:
        os.close(fd)


_bytecode: dict[tuple, dict[str, bytes]] = {}


def bytecode(package: Path) -> dict[str, bytes]:
    """{pyc file name: bytes} of the package's modules, compiled once per process (and so once
    per batch: forked children inherit it): hash-checked pycs, which the worker's import uses
    while each matches its source, so that no worker start compiles the package again. A worker
    interpreter of another version looks for another file name and compiles as before."""
    import py_compile
    import sys

    sources = sorted(package.glob("*.py"))
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sources)
    if key not in _bytecode:
        tag = sys.implementation.cache_tag
        out = {}
        with tempfile.TemporaryDirectory(prefix="gdkit-pyc-") as tmp:
            for src in sources:
                if tag is None or src.name == "__main__.py":   # run as a script: never cached
                    continue
                cfile = os.path.join(tmp, src.stem + ".pyc")
                py_compile.compile(str(src), cfile=cfile, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH)
                with open(cfile, "rb") as f:
                    out[f"{src.stem}.{tag}.pyc"] = f.read()
        _bytecode.clear()
        _bytecode[key] = out
    return _bytecode[key]
