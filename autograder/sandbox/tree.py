"""Copying a submission into a stage, and removing a stage: bounded, without recursion.

Both walk with directory file descriptors and never follow a symbolic link, so neither a deep tree
(a submission 1100 folders deep, or 1200 levels built by a worker in tmp/) nor a link planted by a
worker can make them raise RecursionError or reach outside the tree.

The copy takes only what a worker needs: Python files and small data files, a few folders deep,
within a total size and a file count; it looks at a bounded number of entries and stats before it
reads, so its time does not depend on the submission (an 8 GiB sparse file is never opened). What
it leaves out is returned as short human-readable lines for the report.
"""
from __future__ import annotations

import errno
import os
import stat
import warnings
from dataclasses import dataclass

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn"})  # left out without a note


@dataclass(frozen=True)
class CopyLimits:
    depth: int = 8  # folder levels below the submission
    py_file: int = 1 << 20  # bytes of one .py file
    data_file: int = 4 << 20  # bytes of one other file
    total: int = 32 << 20  # bytes of all files copied
    files: int = 1000  # files copied
    entries: int = 20000  # directory entries looked at
    notes: int = 20  # lines of left_out, then one "... and N more"


@dataclass
class _File:
    parts: tuple[str, ...]  # the folder, relative to the submission
    name: str
    size: int
    ino: tuple[int, int]

    @property
    def rel(self) -> str:
        return "/".join((*self.parts, self.name))


def human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} bytes"


class _Notes(list):
    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.more = limit, 0

    def add(self, line: str) -> None:
        if len(self) < self.limit:
            self.append(line)
        else:
            self.more += 1

    def done(self) -> list[str]:
        return list(self) + ([f"... and {self.more} more"] if self.more else [])


_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISSOCK, "a socket"), (stat.S_ISFIFO, "a fifo"),
          (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"))


def _kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def copy_submission(src, dest_fd: int, own, limits: CopyLimits = CopyLimits()) -> list[str]:
    """Copy the chosen files of folder `src` into the open folder `dest_fd`; `own(fd, is_dir)` sets
    the owner and mode of each new folder and file. Returns what was left out, and why."""
    notes = _Notes(limits.notes)
    try:
        root = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)  # the folder may be a link
    except OSError as exc:
        notes.add(f"the submission folder ({exc.strerror})")
        return notes.done()
    try:
        files = _survey(root, limits, notes)
        chosen = _choose(files, limits, notes)
        _copy(root, dest_fd, chosen, own, notes)
    finally:
        os.close(root)
    return notes.done()


def _survey(root: int, limits: CopyLimits, notes: _Notes) -> list[_File]:
    """Every regular file that may be copied, by lstat only (nothing is read)."""
    files: list[_File] = []
    seen = 0
    todo: list[tuple[str, ...]] = [()]
    while todo:
        parts = todo.pop()
        fd = _open_chain(root, parts)
        if fd is None:
            notes.add(f"{'/'.join(parts)}/ (cannot be read)")
            continue
        try:
            with os.scandir(fd) as it:
                entries = []
                for entry in it:
                    seen += 1
                    if seen > limits.entries:
                        notes.add(f"everything after the first {limits.entries} entries (not looked at)")
                        todo.clear()
                        break
                    entries.append(entry)
            for entry in sorted(entries, key=lambda e: e.name):
                rel = "/".join((*parts, entry.name))
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    notes.add(f"{rel} ({exc.strerror})")
                    continue
                if stat.S_ISDIR(st.st_mode):
                    if entry.name in SKIPPED_DIRS:
                        continue
                    if len(parts) + 1 > limits.depth:
                        notes.add(f"{rel}/ (more than {limits.depth} folder levels deep)")
                    else:
                        todo.append((*parts, entry.name))
                elif stat.S_ISREG(st.st_mode):
                    files.append(_File(parts, entry.name, st.st_size, (st.st_dev, st.st_ino)))
                else:
                    notes.add(f"{rel} ({_kind(st.st_mode)})")
        except OSError as exc:
            notes.add(f"{'/'.join(parts) or '.'}/ ({exc.strerror})")
        finally:
            os.close(fd)
    return files


def _choose(files: list[_File], limits: CopyLimits, notes: _Notes) -> list[_File]:
    """Python files first (shallow before deep), then data files, within the caps."""
    files.sort(key=lambda f: (not f.name.endswith(".py"), len(f.parts), f.rel))
    chosen, total = [], 0
    for f in files:
        py = f.name.endswith(".py")
        cap, what = (limits.py_file, "Python-file") if py else (limits.data_file, "data-file")
        if f.size > cap:
            notes.add(f"{f.rel} ({human(f.size)}, over the {human(cap)} {what} limit)")
        elif total + f.size > limits.total:
            notes.add(f"{f.rel} ({human(f.size)}, over the {human(limits.total)} limit for all files)")
        elif len(chosen) >= limits.files:
            notes.add(f"{f.rel} (over the limit of {limits.files} files)")
        else:
            chosen.append(f)
            total += f.size
    return chosen


def _copy(root: int, dest_root: int, chosen: list[_File], own, notes: _Notes) -> None:
    by_dir: dict[tuple[str, ...], list[_File]] = {}
    for f in chosen:
        by_dir.setdefault(f.parts, []).append(f)
    for parts in sorted(by_dir):
        src = _open_chain(root, parts)
        dest = _make_chain(dest_root, parts, own)
        try:
            for f in by_dir[parts]:
                if src is None or not _copy_file(src, dest, f, own):
                    notes.add(f"{f.rel} (changed while it was copied)")
        finally:
            for fd in (src, dest):
                if fd is not None:
                    os.close(fd)


def _copy_file(src_dir: int, dest_dir: int, f: _File, own) -> bool:
    """Copy at most the size seen by the survey; False if the file is no longer that file."""
    try:
        src = os.open(f.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=src_dir)
    except OSError:
        return False
    try:
        st = os.fstat(src)
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != f.ino or st.st_size > f.size:
            return False
        dest = os.open(f.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                       0o600, dir_fd=dest_dir)
        try:
            own(dest, False)
            left = f.size
            while left > 0:
                chunk = os.read(src, min(left, 1 << 20))
                if not chunk:
                    break
                os.write(dest, chunk)
                left -= len(chunk)
        finally:
            os.close(dest)
        return True
    finally:
        os.close(src)


def _open_chain(root: int, parts) -> int | None:
    """A new fd on root/parts[0]/parts[1]/..., following no link; None if that is not possible."""
    fd = os.dup(root)
    for name in parts:
        try:
            nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            os.close(fd)
            return None
        os.close(fd)
        fd = nxt
    return fd


def _make_chain(root: int, parts, own) -> int:
    fd = os.dup(root)
    for name in parts:
        try:
            os.mkdir(name, 0o700, dir_fd=fd)
            made = True
        except FileExistsError:
            made = False
        nxt = os.open(name, _DIR_FLAGS, dir_fd=fd)
        os.close(fd)
        fd = nxt
        if made:
            own(fd, True)
    return fd


# --------------------------------------------------------------------------- #
# removal
# --------------------------------------------------------------------------- #

_WINDOW = 32  # folder levels held open at once; deeper folders are moved up to the top first


def remove_tree(path) -> bool:
    """Remove `path` and everything under it; True when it is gone. Never raises (a failure is a
    RuntimeWarning) and never follows a link. Folders deeper than a few dozen levels are moved up
    to the top folder before they are emptied, so depth costs neither recursion nor fds."""
    path = os.fspath(path)
    try:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return True
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(path)
            return True
        fd = _open_dir(path, None)
        try:
            _empty(fd)
        finally:
            os.close(fd)
        os.rmdir(path)
        return True
    except Exception as exc:  # noqa: BLE001 - removal must never take the grader down
        warnings.warn(f"gdkit: could not remove {path}: {type(exc).__name__}: {exc}", RuntimeWarning)
        return not os.path.lexists(path)


def empty_tree(path) -> bool:
    """Remove everything under the folder `path`, keeping the folder; never raises."""
    try:
        fd = _open_dir(os.fspath(path), None)
        try:
            _empty(fd)
        finally:
            os.close(fd)
        return True
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"gdkit: could not empty {path}: {type(exc).__name__}: {exc}", RuntimeWarning)
        return False


def _empty(top: int) -> None:
    frames = [[top, os.listdir(top), None]]  # [fd, names left, name in the parent]
    moved = 0
    while frames:
        fd, names, _ = frame = frames[-1]
        if not names:
            frames.pop()
            if frames:
                os.close(fd)
                _quietly(os.rmdir, frame[2], dir_fd=frames[-1][0])
            continue
        name = names.pop()
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            _unlink(fd, name)
        elif len(frames) >= _WINDOW:
            moved += 1
            new = _free_name(top, moved)
            _rename(fd, name, top, new)
            frames[0][1].append(new)
        else:
            child = _open_dir(name, fd)
            if (os.fstat(child).st_dev, os.fstat(child).st_ino) != (st.st_dev, st.st_ino):
                os.close(child)
                names.append(name)  # replaced meanwhile: look again
                continue
            frames.append([child, os.listdir(child), name])


def _open_dir(name: str, dir_fd: int | None) -> int:
    try:
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    except PermissionError:  # e.g. a 0o000 folder a worker left (not as root)
        _chmod_nofollow(name, dir_fd)
        fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
    st = os.fstat(fd)
    if os.geteuid() != 0 and st.st_uid == os.geteuid() and st.st_mode & 0o700 != 0o700:
        os.fchmod(fd, 0o700)  # so that its entries can be unlinked
    return fd


def _chmod_nofollow(name: str, dir_fd: int | None) -> None:
    """chmod 0700 the folder `name` itself, never what a link points to (O_PATH + /proc/self/fd)."""
    pfd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        if stat.S_ISDIR(os.fstat(pfd).st_mode):
            os.chmod(f"/proc/self/fd/{pfd}", 0o700)
    finally:
        os.close(pfd)


def _unlink(fd: int, name: str) -> None:
    try:
        os.unlink(name, dir_fd=fd)
    except FileNotFoundError:
        pass
    except OSError as exc:
        warnings.warn(f"gdkit: could not remove {name}: {exc.strerror}", RuntimeWarning)


def _rename(src_dir: int, name: str, dest_dir: int, new: str) -> None:
    try:
        os.rename(name, new, src_dir_fd=src_dir, dst_dir_fd=dest_dir)
    except PermissionError:  # moving a folder updates its "..": it must be writable (not as root)
        _chmod_nofollow(name, src_dir)
        os.rename(name, new, src_dir_fd=src_dir, dst_dir_fd=dest_dir)


def _free_name(top: int, n: int) -> str:
    while True:
        name = f".gdkit-rm-{n}"
        try:
            os.stat(name, dir_fd=top, follow_symlinks=False)
        except FileNotFoundError:
            return name
        n += 1


def _quietly(fn, *args, **kwargs) -> None:
    try:
        fn(*args, **kwargs)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            warnings.warn(f"gdkit: {fn.__name__} {args[0]}: {exc.strerror}", RuntimeWarning)
