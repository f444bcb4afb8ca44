"""Checks of linear_regression_numpy.py: θ = [b, w₁, …], x = [1, x₁, …] (slides 8, 14-18)."""
from __future__ import annotations

import numpy as np

from .. import lecture
from .base import Check, Failure, describe_type, fmt, is_real, real, sequence, vector
from .model import Adapter, random_canon, standard_checks, style_call

LOOP_SIZES = (2, 400)   # features in the two calls whose Python steps are counted
LOOP_ALLOWANCE = 100    # extra traced steps tolerated for the larger call


class Vector(Adapter):
    """A NumPy module: vectors in, scalars or vectors out."""

    spec = lecture.MODULE["linear_regression_numpy"]

    def args(self, function, **c):
        names = {"predict": ("x", "theta"), "loss": ("y_hat", "y"), "gradient": ("x", "y_hat", "y"),
                 "update": ("theta", "grad", "lr"), "train": ("X", "y", "theta", "lr", "epochs")}[function]
        args = tuple(np.array(c[n], dtype=float) if isinstance(c[n], np.ndarray) else c[n] for n in names)
        return args, {n: fmt(a) for n, a in zip(names, args)}

    def read(self, function, value, **c):
        if function in ("predict", "loss"):
            return real(value, f"{function}'s result")
        if function == "gradient":
            return vector(value, len(c["x"]), "the gradient")
        if function == "update":
            return vector(value, len(c["theta"]), "the updated θ")
        if function == "train":
            if not (isinstance(value, (tuple, list)) and len(value) == 2):
                raise Failure(f"train must return {self.train_returns}; got {describe_type(value)}", got=fmt(value))
            return vector(value[0], len(c["theta"]), "θ"), sequence(value[1], "losses")
        raise KeyError(function)

    def returns(self, function):
        return {"predict": "a float", "loss": "a float",
                "gradient": "an array shaped like x", "update": "an array shaped like θ",
                "train": f"{self.train_returns} with one loss per sample and epoch"}[function]

    def show_theta(self, theta):
        return fmt(theta)

    def contract(self, function, value, **c):
        self.read(function, value, **c)
        if function in ("predict", "loss"):
            if not is_real(value):
                raise Failure(f"{function} must return a float (or a NumPy scalar); got "
                              f"{describe_type(value)}", got=fmt(value),
                              hint="an array of shape (1,) is not a float: use a 1-D x and θ, "
                                   "or take the element out")
            if isinstance(value, np.ndarray):
                return "a 0-d array works here; the contract says a float"
            return None
        like = {"gradient": "x", "update": "theta", "train": "theta"}[function]
        arr = value[0] if function == "train" else value
        if not (isinstance(arr, np.ndarray) and arr.shape == np.shape(c[like]) and arr.dtype.kind == "f"):
            hint = None
            if isinstance(arr, (list, tuple)):
                hint = (f"your {function} returns a Python {type(arr).__name__}: return "
                        "the NumPy array itself (x * (y_hat - y) already is one; leave out .tolist() "
                        "or list(...)), so that the next step can compute with it (slide 14)")
            raise Failure(f"{function} must return a float array of shape {np.shape(c[like])} "
                          f"(like {like}); got {describe_type(arr)}", got=fmt(arr), hint=hint)
        if function == "train" and len(value[1]) != c["epochs"] * len(c["X"]):
            raise Failure(f"losses must hold epochs × n = {c['epochs'] * len(c['X'])} values, "
                          f"got {len(value[1])}", got=fmt(value[1]))
        return None


def no_loop_check(adapter, function):
    """Vectorized: the Python steps a call takes do not grow with the length of x."""
    def run(ctx):
        events = []
        for d in (LOOP_SIZES if function != "loss" else LOOP_SIZES[:1]):
            reply = style_call(ctx, adapter, function, random_canon(adapter, function, ctx.rng, d),
                               trace=True)
            events.append(reply.events or 0)
        if len(events) == 2 and events[1] - events[0] > LOOP_ALLOWANCE:
            raise Failure(f"{function} runs Python code for every entry: {events[0]} traced steps "
                          f"for {LOOP_SIZES[0] + 1} entries, {events[1]} for {LOOP_SIZES[1] + 1}",
                          hint="use whole-array NumPy operations (x @ theta, theta - lr * grad), "
                               "not a loop over the entries (slide 14)")
    return Check(adapter.module, function, "runs without a Python loop, vectorized (slide 14)",
                 "style", "14", run, style=True)


def checks():
    adapter = Vector()
    out = standard_checks(adapter)
    for function in ("predict", "loss", "gradient", "update"):
        out.append(no_loop_check(adapter, function))
    return out
