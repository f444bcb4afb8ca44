"""For a failing train: the module's own steps that failed their checks, which train calls."""
from __future__ import annotations

TRAIN_RUNS_ON = ("sigmoid", "predict", "loss", "gradient", "update")


def broken_steps_hint(module, failed) -> str | None:
    """`failed` holds the 'module.function' keys with a failed check so far."""
    broken = [k.split(".")[1] for k in sorted(failed)
              if k.startswith(module + ".") and k.split(".")[1] in TRAIN_RUNS_ON]
    if not broken:
        return None
    return (f"train calls the module's steps, and {', '.join(broken)} "
            f"{'fails its' if len(broken) == 1 else 'fail their'} own checks: fix "
            f"{'it' if len(broken) == 1 else 'them'} first")
