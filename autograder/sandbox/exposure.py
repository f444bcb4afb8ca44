"""The grader's own folders, and which of them a worker that gets only the "other" bits can read."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from . import interpreter

# beside the package, in a checkout (not in site-packages)
_CHECKOUT_DIRS = ("solutions", "tests", "data", "docs", ".git")


def grader_dirs() -> list[str]:
    """The grader's own folders, which a worker must never read (the one list: the worker's guard
    denies them, bwrap masks those inside a bound tree, `exposed` checks them): this package and
    its data/, and in a checkout the repository's solutions/, tests/, data/, docs/ and .git."""
    pkg = interpreter.PACKAGE_DIR
    found = [pkg, pkg / "data"]
    if pkg.parent.name not in ("site-packages", "dist-packages"):
        found += [pkg.parent / name for name in _CHECKOUT_DIRS]
    return [str(d) for d in found if d.is_dir()]


def candidates() -> list[str]:
    """grader_dirs(), plus copies of this package installed into the worker's Python with their
    data/: what `exposed` looks at."""
    paths = grader_dirs()
    try:
        for m in interpreter.current().masks:
            paths += [m, os.path.join(m, "data")]
    except RuntimeError:
        pass
    return [p for p in dict.fromkeys(paths) if os.path.isdir(p)]


def other_reads(path: str) -> bool:
    """Could a process that gets only the "other" permission bits read `path` or a file under it?
    Symlinks are not followed; o+x without o+r on a folder counts (names can be guessed: the
    layout of the repository is public)."""
    p = Path(path)
    try:
        if any(not os.stat(d).st_mode & stat.S_IXOTH for d in p.parents):
            return False
        st = os.stat(p)
    except OSError:
        return False
    if stat.S_ISREG(st.st_mode):
        return bool(st.st_mode & stat.S_IROTH)
    if not (stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_IXOTH):
        return False
    todo = [path]
    while todo:
        try:
            with os.scandir(todo.pop()) as it:
                entries = list(it)
        except OSError:
            continue
        for e in entries:
            try:
                est = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISREG(est.st_mode) and est.st_mode & stat.S_IROTH:
                return True
            if stat.S_ISDIR(est.st_mode) and est.st_mode & stat.S_IXOTH:
                todo.append(e.path)
    return False


def unreachable_by_other(path: str, start: str = "/") -> str | None:
    """The first folder on the way to `path` (from `start` on) that a worker cannot traverse, or
    None.

    A worker's uid and gid are leased ids that own no file on the host, and its one supplementary
    group owns only its stage: everywhere else it gets the "other" permission bits."""
    top = start.rstrip("/") + "/"
    for d in reversed(Path(path).parents):
        if start != "/" and str(d) != start and not str(d).startswith(top):
            continue
        try:
            st = os.stat(d)
        except OSError as exc:
            return f"{d}: {exc.strerror}"
        if not st.st_mode & stat.S_IXOTH:
            return f"{d} is mode {st.st_mode & 0o7777:04o} owner uid {st.st_uid}"
    return None


def unreadable_by_other(path: str, start: str = "/") -> str | None:
    """Why a worker could not read the file `path` (folders from `start` on), or None."""
    blocked = unreachable_by_other(path, start)
    if blocked:
        return blocked
    try:
        st = os.stat(path)
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if not st.st_mode & stat.S_IROTH:
        return f"{path} is mode {st.st_mode & 0o7777:04o} owner uid {st.st_uid}"
    return None
