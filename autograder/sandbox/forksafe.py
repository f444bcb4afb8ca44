"""Process-wide state that stays right across os.fork().

A batch grader forks one grading child per submission. A child must not inherit a lock in a held
state (a thread of the parent may have held it at the fork) nor clean up what belongs to its
parent: modules register what to reset in the child with `in_child`, and take their locks from
`RLock`, which the child gets back unlocked.
"""
from __future__ import annotations

import os
import threading
import weakref

_locks: "weakref.WeakSet[RLock]" = weakref.WeakSet()
_hooks: list = []


class RLock:
    """A re-entrant lock, new and unlocked in a forked child.

    Re-entrant because the signal cleanup runs on the main thread between any two bytecodes, maybe
    while that thread holds the lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        _locks.add(self)

    def __enter__(self) -> "RLock":
        self._lock.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self._lock.release()


def in_child(fn):
    """Run `fn()` in every forked child (after fork, before anything else of ours)."""
    _hooks.append(fn)
    return fn


def _after_fork_in_child() -> None:
    for lock in list(_locks):
        lock._lock = threading.RLock()
    for fn in _hooks:
        fn()


os.register_at_fork(after_in_child=_after_fork_in_child)
