"""The submission's time budget, shared fairly among its functions, and what already timed out.

Every function is sure of an equal share of the budget: a function's calls may use what is left,
less the shares of the functions that have not made a call yet. So a submission whose every call
is slow still gets each function tried, and is graded within the budget; a function that answers
quickly leaves its share to the others. A call that would not finish in what is left (its
function's last call took longer) is not started, so that time goes to the others too.
"""
from __future__ import annotations

import time


class Budget:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()
        self.waiting: set = set()  # 'module.function' keys that have made no call yet
        self.share = seconds
        self.dead: dict = {}  # (module, function) or (module, None) -> (kind, message): timeouts
        self.pace: dict = {}  # 'module.function' -> seconds its last answered call took

    def expect(self, functions) -> None:
        """The functions to be graded: each is sure of an equal share."""
        self.waiting = set(functions)
        self.share = self.seconds / max(1, len(self.waiting))

    def spent(self) -> float:
        return time.monotonic() - self.started

    def total_left(self) -> float:
        return max(0.0, self.seconds - self.spent())

    def left(self, key: str | None = None) -> float:
        """Seconds the next call of `key` ('module.function') may take, budget-wise: what is
        left, less the shares of the functions that have not made a call yet."""
        if key is not None:
            self.waiting.discard(key)
        return max(0.0, self.total_left() - self.share * len(self.waiting))
