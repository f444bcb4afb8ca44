"""What a check is, what it sees while it runs, and how it compares values.

A check is data (module, function, name, slides, kind) plus a small function `run(ctx)` that calls
into the submission through `ctx` (the narrow `Context` below, whatever drives the check: the CLI,
pytest, a notebook cell or a batch) and raises `Failure` when something is wrong. Everything it
compares is rebuilt on the trusted side: values from the worker arrive as plain floats, ints,
tuples, lists and fresh NumPy arrays, and are converted and checked here, never trusted.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np

from .. import worker

RTOL, ATOL = 1e-5, 1e-8  # far below any mistake, far above float64 rounding and eps-clipped logs


class Context(Protocol):
    """All a check sees of the grading: calls into the submission, and its own seeded RNG."""

    rng: np.random.Generator

    def call(self, function: str, *args, module: str | None = None) -> Any:
        """The value module.function(*args) returned, or raise the Failure that explains why not."""

    def reply(self, function: str, *args, module: str | None = None, no_numpy: bool = False,
              trace: bool = False) -> Any:
        """The worker's whole Reply (status, value, error, printed output, traced steps)."""

    def explain(self, function: str, reply, args, module: str | None = None) -> "Failure":
        """The Failure that tells the student why a call did not return."""


@dataclass(frozen=True)
class Check:
    module: str
    function: str
    name: str               # reads like a sentence: "slide 28 worked value: L = 0.771"
    kind: str               # worked, random, symbolic, property, contract, style, training
    slides: str             # "28", "26–33", or "" when no slide applies
    run: Callable = field(compare=False, repr=False)
    style: bool = False     # carries the rubric's style points instead of a share
    no_numpy: bool = False  # runs in the worker where NumPy cannot be imported

    def __post_init__(self):
        object.__setattr__(self, "run", cite_slides(self.run, self.slides))

    @property
    def key(self) -> str:
        return f"{self.module}.{self.function}"

    @property
    def id(self) -> str:
        return f"{self.key}: {self.name}"


def cite_slides(run, slides):
    """`run`, whose failures always name the lecture's slide: a failed check's message that does
    not mention one gets the check's slides appended, so that every failure says where to look."""
    if not slides or getattr(run, "cites", None) == slides:
        return run

    def cited(ctx):
        try:
            return run(ctx)
        except Failure as f:
            if f.status == "failed" and "slide" not in (f.message or ""):
                many = any(sep in slides for sep in ",–-")
                f.message = f"{f.message} ({'slides' if many else 'slide'} {slides})"
            raise

    cited.cites = slides
    cited.__wrapped__ = run
    return cited


class Failure(Exception):
    """A check failed: why, and what the student should see."""

    def __init__(self, message, *, expected=None, got=None, inputs=None, hint=None,
                 traceback=None, status="failed", note=None):
        super().__init__(message)
        self.message, self.expected, self.got = message, expected, got
        self.inputs, self.hint, self.traceback = inputs or {}, hint, traceback
        self.status, self.note = status, note


# --------------------------------------------------------------------------- formatting

def fmt(value) -> str:
    """A short, exact-enough text for a value shown in feedback."""
    if isinstance(value, worker.Opaque):
        return repr(value)
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (numbers.Integral, np.integer)):
        return str(int(value))
    if isinstance(value, (numbers.Real, np.floating)):
        return f"{float(value):.10g}"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return f"array({fmt(value[()])})"
        if value.size > 12:
            return f"array of shape {value.shape}: [{', '.join(fmt(v) for v in value.ravel()[:6])}, ...]"
        inner = ", ".join(fmt(v) for v in value) if value.ndim == 1 else ", ".join(fmt(r) for r in value)
        return f"[{inner}]"
    if isinstance(value, (list, tuple)):
        items = [fmt(v) for v in value[:12]] + (["..."] if len(value) > 12 else [])
        text = ", ".join(items)
        return f"({text}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) else f"[{text}]"
    if value is None:
        return "None"
    return repr(value)[:200]


def describe_type(value) -> str:
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, worker.Opaque):
        return f"an object of type {value.cls}"
    return f"{type(value).__name__} {fmt(value)}"


# --------------------------------------------------------------------------- conversions

def is_real(value) -> bool:
    """A real number as the contract allows: int, float or NumPy scalar, or a 0-d array. Not bool."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (numbers.Real, np.integer, np.floating)):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"


def real(value, what="the result") -> float:
    """A float from a scalar result; lenient about the container (a size-1 array is fine here)."""
    if is_real(value):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.ravel()[0])
    raise Failure(f"{what} must be a number; got {describe_type(value)}", got=fmt(value))


def vector(value, n, what="the result") -> np.ndarray:
    """A float vector of n entries from an array, list or tuple of numbers."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iuf":
            raise Failure(f"{what} must hold numbers; got {describe_type(value)}", got=fmt(value))
        if value.size != n or (value.ndim > 1 and max(value.shape) != n):
            raise Failure(f"{what} must have {n} entries (shape ({n},)); got shape {value.shape}",
                          got=fmt(value))
        return value.astype(float).ravel()
    if isinstance(value, (list, tuple)) and len(value) == n and all(is_real(v) for v in value):
        return np.array([float(v) for v in value])
    raise Failure(f"{what} must be an array of {n} numbers; got {describe_type(value)}",
                  got=fmt(value))


def pair(value, names, what="the result") -> tuple[float, float]:
    """Two numbers returned as a tuple (or a list, or a 2-element array)."""
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(is_real(v) for v in value):
        return float(value[0]), float(value[1])
    if isinstance(value, np.ndarray) and value.shape == (2,) and value.dtype.kind in "iuf":
        return float(value[0]), float(value[1])
    raise Failure(f"{what} must be a pair ({', '.join(names)}); got {describe_type(value)}",
                  got=fmt(value))


def sequence(value, what="the result") -> np.ndarray:
    """A float array from a list, tuple or 1-D array of numbers, of any length."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf" and value.ndim <= 2 and (
            value.ndim < 2 or min(value.shape) <= 1):
        return value.astype(float).ravel()
    if isinstance(value, (list, tuple)) and all(is_real(v) or (
            isinstance(v, np.ndarray) and v.size == 1 and v.dtype.kind in "iuf") for v in value):
        return np.array([real(v) for v in value], dtype=float).reshape(-1)
    raise Failure(f"{what} must be a list of numbers; got {describe_type(value)}", got=fmt(value))


def close(got, expected, rtol=RTOL, atol=ATOL) -> bool:
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    return got.shape == expected.shape and bool(np.all(np.isfinite(got))) and bool(
        np.allclose(got, expected, rtol=rtol, atol=atol))


NOT_FINITE = ("the result is not finite: look for a division by zero, the log or square root of "
              "a negative number, or an overflow")


def finite(value, what="the result"):
    if isinstance(value, tuple):
        for part in value:
            finite(part, what)
    elif not np.all(np.isfinite(np.asarray(value, dtype=float))):
        raise Failure(f"{what} is not finite (NaN or infinity)", got=fmt(value), hint=NOT_FINITE)
