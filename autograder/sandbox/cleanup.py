"""Cleaning up this process's workers and stages when the grader stops early.

The one process-wide registry of the sandbox: the live Workers and Stages of this process, so
that a SIGTERM (a CI or batch timeout), a SIGINT or a normal exit leaves no stage folder, no
worker and no id lease behind. A forked child starts with an empty registry: it never cleans up
what its parent owns (nor the parent what a child owns).
"""
from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import warnings

from . import forksafe, leases

_lock = forksafe.RLock()
_workers: set = set()
_stages: set = set()
_state = {"installed": None, "exiting": False}  # pid that installed the handlers; in a handler


@forksafe.in_child
def _forget_parents() -> None:
    _workers.clear()
    _stages.clear()
    _state["exiting"] = False


def track(obj, kind: str) -> None:
    with _lock:
        (_workers if kind == "worker" else _stages).add(obj)


def untrack(obj) -> None:
    with _lock:
        _workers.discard(obj)
        _stages.discard(obj)


def live() -> tuple[list, list]:
    """(workers, stages) of this process not yet killed / closed."""
    with _lock:
        return list(_workers), list(_stages)


def close_all() -> None:
    """Kill every live worker of this process, then remove every stage, then release every id
    still held for a killed worker's zombies. Never raises."""
    workers, stages = live()
    for obj in [*workers, *stages]:
        try:
            obj.kill() if obj in workers else obj.close()
        except Exception as exc:  # noqa: BLE001 - keep cleaning the others
            warnings.warn(f"gdkit: cleanup of {obj!r} failed: {exc}", RuntimeWarning)
    try:
        leases.drain(force=True)
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"gdkit: releasing worker ids failed: {exc}", RuntimeWarning)


atexit.register(close_all)


def install_signal_handlers(signals=(signal.SIGTERM, signal.SIGINT)) -> bool:
    """Make SIGTERM and SIGINT clean up this process's workers and stages, then exit with status
    128 + the signal's number. Idempotent; False when it cannot (not on the main thread)."""
    if _state["installed"] == os.getpid():
        return True
    if threading.current_thread() is not threading.main_thread():
        return False
    for sig in signals:
        signal.signal(sig, _on_signal)
    _state["installed"] = os.getpid()
    return True


def _on_signal(signum, frame) -> None:
    if _state["exiting"]:
        return  # a second signal while cleaning up: finish the cleanup first
    _state["exiting"] = True
    try:
        close_all()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(128 + signum)
