"""What came back from one call, rebuilt from the worker's frame on the trusted side."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import worker


@dataclass
class Reply:
    """What came back from one call. `status` is ok, error, timeout, crash or skipped."""

    status: str
    value: Any = None
    error: dict = field(default_factory=dict)  # type, message, traceback (student frames only)
    stdout: str = ""
    elapsed: float = 0.0
    events: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def from_frame(header, data) -> Reply:
    """The Reply of a frame that passed its MAC check: every field is checked, nothing trusted."""
    stdout = header.get("stdout") if isinstance(header.get("stdout"), str) else ""
    elapsed = header.get("elapsed")
    elapsed = float(elapsed) if type(elapsed) in (int, float) else 0.0
    events = header.get("events") if type(header.get("events")) is int else None
    error = header.get("error")
    if header.get("ok") is True and "value" in header:
        try:
            value = worker.decode(header["value"], data)
        except worker.ProtocolError as e:
            return Reply("error", error={"type": "ProtocolError", "message": str(e)},
                         stdout=stdout)
        return Reply("ok", value=value, stdout=stdout, elapsed=elapsed, events=events)
    if header.get("ok") is True:
        return Reply("ok", value=header, stdout=stdout, elapsed=elapsed)
    if not isinstance(error, dict):
        error = {"type": "ProtocolError", "message": "malformed reply"}
    error = {str(k)[:100]: str(v)[:8000] for k, v in list(error.items())[:20]}
    return Reply("error", error=error, stdout=stdout, elapsed=elapsed)
