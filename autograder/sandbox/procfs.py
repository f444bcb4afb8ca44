"""The one reader of /proc: every question the sandbox asks about processes.

`read(pid)` parses /proc/<pid>/stat (ppid, process group, state) and everything else is built on
it, except two questions that stat cannot answer: `owners` (who owns a process, from the owner of
the /proc/<pid> directory) and `holders` (every uid, gid and group, from /proc/<pid>/status).
"""
from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    pgid: int
    state: str  # R, S, D, Z (zombie), X (dead), T, ...

    @property
    def zombie(self) -> bool:
        return self.state in ("Z", "X")


def pids() -> list[int]:
    try:
        return [int(e) for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return []


def read(pid: int) -> Proc | None:
    """The process `pid`, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # comm may hold spaces and parens: the fields restart after the last ')'
    rest = data[data.rfind(b")") + 2:].split()
    try:
        return Proc(pid, int(rest[1]), int(rest[2]), rest[0].decode())
    except (IndexError, ValueError):
        return None


def alive(pid: int) -> bool:
    """`pid` exists and is not a zombie."""
    proc = read(pid)
    return proc is not None and not proc.zombie


def table() -> dict[int, Proc]:
    """Every process, by pid."""
    found = {}
    for pid in pids():
        proc = read(pid)
        if proc is not None:
            found[pid] = proc
    return found


def descendants(pid: int, procs: dict[int, Proc]) -> set[int]:
    """Children, grandchildren, ... of `pid` in `procs` (a `table()`)."""
    kids: dict[int, list[int]] = {}
    for p in procs.values():
        kids.setdefault(p.ppid, []).append(p.pid)
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in kids.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def owners(uids: set[int]) -> set[int]:
    """Those of `uids` that still own a process, zombies included.

    The owner of the /proc/<pid> directory is the task's effective uid, even for a non-dumpable
    task or a zombie (unlike the files inside it), and a worker cannot make its real and
    effective uids differ; stat() is ~10x cheaper than reading every /proc/<pid>/status."""
    found: set[int] = set()
    for pid in pids():
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
        except OSError:
            continue
        if uid in uids:
            found.add(uid)
    return found


def holders(n: int) -> dict[int, int]:
    """pid -> real uid of every live (not zombie) process with `n` among its uids, gids or groups."""
    found = {}
    for pid in pids():
        try:
            with open(f"/proc/{pid}/status") as fh:
                text = fh.read()
        except OSError:
            continue
        ids: set[int] = set()
        ruid, zombie = None, False
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                nums = [int(x) for x in value.split()]
                ids.update(nums)
                if key == "Uid" and nums:
                    ruid = nums[0]
            elif key == "State":
                zombie = value.split()[:1] in (["Z"], ["X"])
        if ruid is not None and n in ids and not zombie:
            found[pid] = ruid
    return found


def marked(stage: str, procs: dict[int, Proc]) -> set[int]:
    """Processes whose environment still says TMPDIR=<stage>/tmp, or whose cwd is in the stage."""
    marker = f"TMPDIR={stage}/tmp".encode()
    me = os.getpid()
    found = set()
    for pid in procs:
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
        except OSError:
            continue
        if cwd == stage or cwd.startswith(stage + "/"):
            found.add(pid)
    return found


def signal_all(pids_, sig) -> None:
    for pid in pids_:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def signal_group(pgid: int, sig) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
