"""Checks of linear_regression_basic.py: plain Python floats, no NumPy (slides 8-13)."""
from __future__ import annotations

import numpy as np

from .. import lecture
from .base import Check, Failure, describe_type, fmt, is_real, pair, real, sequence
from .model import Adapter, random_canon, standard_checks, style_call


class Basic(Adapter):
    spec = lecture.MODULE["linear_regression_basic"]
    train_returns = "(w, b, losses)"

    def args(self, function, **c):
        if function == "predict":
            x, w, b = float(c["x"][1]), float(c["theta"][1]), float(c["theta"][0])
            return (x, w, b), {"x": x, "w": w, "b": b}
        if function == "loss":
            return (c["y_hat"], c["y"]), {"y_hat": c["y_hat"], "y": c["y"]}
        if function == "gradient":
            x = float(c["x"][1])
            return (x, c["y_hat"], c["y"]), {"x": x, "y_hat": c["y_hat"], "y": c["y"]}
        if function == "update":
            w, b, dw, db = (float(v) for v in (c["theta"][1], c["theta"][0], c["grad"][1], c["grad"][0]))
            return (w, b, dw, db, c["lr"]), {"w": w, "b": b, "dw": dw, "db": db, "lr": c["lr"]}
        if function == "train":
            xs, ys = [float(v) for v in c["X"][:, 1]], [float(v) for v in c["y"]]
            w, b = float(c["theta"][1]), float(c["theta"][0])
            return (xs, ys, w, b, c["lr"], c["epochs"]), {
                "xs": fmt(xs), "ys": fmt(ys), "w": w, "b": b, "lr": c["lr"], "epochs": c["epochs"]}
        raise KeyError(function)

    def read(self, function, value, **c):
        if function in ("predict", "loss"):
            return real(value, f"{function}'s result")
        if function == "gradient":
            dw, db = pair(value, ("dw", "db"), "gradient's result")
            return np.array([db, dw])
        if function == "update":
            w, b = pair(value, ("w", "b"), "update's result")
            return np.array([b, w])
        if function == "train":
            if not (isinstance(value, (tuple, list)) and len(value) == 3):
                raise Failure(f"train must return {self.train_returns}; got {describe_type(value)}", got=fmt(value))
            w, b, losses = value
            return np.array([real(b, "b"), real(w, "w")]), sequence(losses, "losses")
        raise KeyError(function)

    def returns(self, function):
        return {"predict": "a float", "loss": "a float", "gradient": "the pair (dw, db) of floats",
                "update": "the pair (w, b) of floats",
                "train": f"{self.train_returns} with one loss per sample and epoch"}[function]

    def show_theta(self, theta):
        return f"w = {fmt(theta[1])}, b = {fmt(theta[0])}"

    def show(self, function, value):
        """Gradients as (dw, db) and updates as (w, b): the pairs the student returns."""
        names = {"gradient": "(dw, db)", "update": "(w, b)"}.get(function)
        v = np.asarray(value, dtype=float) if names else None
        if names and v.shape == (2,):
            return f"{names} = ({fmt(v[1])}, {fmt(v[0])})"
        return fmt(value)

    def show_from(self, theta):
        return {"from (w, b)": f"({fmt(theta[1])}, {fmt(theta[0])})"}

    def contract(self, function, value, **c):
        self.read(function, value, **c)
        parts = [value] if function in ("predict", "loss") else list(value)[:2]
        for part in parts:
            if not is_real(part) or isinstance(part, np.ndarray):
                raise Failure(f"{function} must return {self.returns(function)}; found "
                              f"{describe_type(part)}", got=fmt(value))
        if function == "train" and len(value[2]) != c["epochs"] * len(c["X"]):
            raise Failure(f"losses must hold epochs × n = {c['epochs'] * len(c['X'])} values, "
                          f"got {len(value[2])}", got=fmt(value[2]))
        if function in ("gradient", "update") and isinstance(value, list):
            return "a list works here; the contract says a tuple"
        return None


def no_numpy_check(adapter, function):
    """The function runs, and returns correct values, where NumPy cannot be imported."""
    def needs_numpy(reply):
        error = reply.error or {}
        if error.get("type") in ("ImportError", "ModuleNotFoundError") or "NumPy" in error.get("message", ""):
            return Failure(f"{function} needs NumPy: {error.get('message')}",
                           traceback=error.get("traceback"),
                           hint="this module is the plain-Python version (slide 9): use floats "
                                "and operators, not NumPy")
        return None

    def run(ctx):
        canon = random_canon(adapter, function, ctx.rng, d=1)
        style_call(ctx, adapter, function, canon, needs_numpy, no_numpy=True)
    return Check(adapter.module, function, "runs without NumPy, as plain Python (slide 9)",
                 "style", "9", run, style=True, no_numpy=True)


def checks():
    adapter = Basic()
    out = standard_checks(adapter)
    for function in ("predict", "loss", "gradient", "update", "train"):
        out.append(no_numpy_check(adapter, function))
    return out
