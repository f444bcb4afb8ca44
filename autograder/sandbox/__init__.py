"""Run the grading worker (autograder/worker/) in a sandbox: the only place student code runs.

    stage = make_stage(worker.SOURCE_DIR, submission)   # a Stage: .path .gid .left_out .close()
    w = spawn(strongest(), stage, argv, Limits(), log)  # a Worker: .stdin .stdout .pid .uid
    ...                                                  #   .poll() .wait() .kill()
    w.kill(); stage.close()

Three layers, weakest to strongest: `process` (a subprocess with rlimits), `uid` (a uid and gid
of the worker's own, seccomp), `bwrap` (namespaces, only /usr, the Python prefix and the stage
visible, then the uid layer inside). docs/isolation.md has the threat model of each.
"""
from __future__ import annotations

from . import bwrap, process, uid  # noqa: F401  (each registers its layer)
from .base import REGISTRY, Layer, get as layer
from .cleanup import install_signal_handlers
from .exposure import grader_dirs
from .handle import Worker
from .interpreter import worker_python
from .leases import ID_BASE, ID_COUNT
from .limits import Limits
from .stage import Stage, make_stage
from .tree import CopyLimits

LAYERS = tuple(sorted(REGISTRY, key=lambda name: REGISTRY[name].rank))  # weakest to strongest

__all__ = ["LAYERS", "Layer", "layer", "Limits", "CopyLimits", "unavailable", "strongest", "spawn",
           "Worker", "Stage", "make_stage", "exposed", "grader_dirs", "worker_python",
           "install_signal_handlers", "ID_BASE", "ID_COUNT"]


def unavailable(name: str) -> str | None:
    """None when the layer works here, else a one-line reason (cached per process and interpreter)."""
    return layer(name).unavailable()


def strongest() -> str:
    """The name of the strongest layer that works here."""
    for name in reversed(LAYERS):
        if unavailable(name) is None:
            return name
    raise RuntimeError("no isolation layer works here: " + str(unavailable("process")))


def spawn(name: str, stage: Stage, argv, limits: Limits, stderr) -> Worker:
    """Start the stage's worker under the layer `name`: `python -I -B <stage>/gdkit_worker/__main__.py
    *argv`, stdin/stdout pipes, stderr to the given file, cwd <stage>/submission, a new session.
    RuntimeError when the layer is unavailable or the stage is not fit for it."""
    return layer(name).spawn(stage, argv, limits, stderr)


def exposed(name: str) -> list[str]:
    """The grader's folders (grader_dirs(), plus copies of this package installed into the worker's
    Python) in which a worker of that layer could read at least one file."""
    return layer(name).exposed()
