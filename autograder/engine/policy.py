"""One call policy for every driver (the CLI, the pytest plugin, notebook cells, batches): how long
a call may take, how long a whole submission may take, and which isolation layer runs it."""
from __future__ import annotations

from dataclasses import dataclass

from ..sandbox import LAYERS  # weakest to strongest

TIMEOUT = 2.0    # seconds per call into the submission
BUDGET = 50.0    # seconds for all calls of one submission: every submission is graded in < 60 s
ALIASES = {"strict": "bwrap"}
CHOICES = ("auto", *ALIASES, *LAYERS)

TIMEOUT_HELP = f"seconds a single call into the submission may take (default {TIMEOUT:g})"
BUDGET_HELP = (f"seconds for all calls of one submission (default {BUDGET:g}); each function is "
               "sure of its share, and may use what the others leave")
ISOLATION_HELP = ("isolation layer: auto (default) picks the strongest that works here; naming "
                  f"one ({', '.join(LAYERS)}, or strict = bwrap) refuses to grade without it")


@dataclass(frozen=True)
class Policy:
    timeout: float = TIMEOUT
    budget: float = BUDGET
    layer: str = "auto"      # auto, or a layer name or alias as the user typed it
    limits: object = None    # sandbox.Limits, or None for the sandbox's defaults

    def __post_init__(self):
        if self.layer not in CHOICES:
            raise ValueError(f"unknown isolation layer {self.layer!r}; choose one of "
                             f"{', '.join(CHOICES)}")
        if not (self.timeout > 0 and self.budget > 0):
            raise ValueError("the timeout and the budget must be positive")
        object.__setattr__(self, "layer", ALIASES.get(self.layer, self.layer))

    @property
    def required(self) -> str | None:
        """The layer the user asked for by name (None for auto)."""
        return None if self.layer == "auto" else self.layer
