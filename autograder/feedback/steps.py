"""For a failing train: the module's own steps that train calls and that return wrong values.

Only a step that fails a check other than its style check counts: a step that loses only its
style point (NumPy in the plain-Python module, a loop in the vectorized one) returns right values
and is no cause of a wrong training run.
"""
from __future__ import annotations

TRAIN_RUNS_ON = ("sigmoid", "predict", "loss", "gradient", "update")


def broken_steps_hint(module, failed) -> str | None:
    """`failed` holds the 'module.function' keys with a failed check other than a style check."""
    broken = [k.split(".")[1] for k in sorted(failed)
              if k.startswith(module + ".") and k.split(".")[1] in TRAIN_RUNS_ON]
    if not broken:
        return None
    return (f"train calls the module's steps, and {', '.join(broken)} "
            f"{'fails its' if len(broken) == 1 else 'fail their'} own checks: fix "
            f"{'it' if len(broken) == 1 else 'them'} first")
