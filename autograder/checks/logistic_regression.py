"""Checks of logistic_regression.py: σ, cross-entropy, one or more features (slides 24-49)."""
from __future__ import annotations

import numbers

import numpy as np

from .. import lecture
from ..lecture import oracles
from .base import Check, Failure, close, describe_type, fmt, is_real, real
from .linear_regression_numpy import Vector
from ..feedback import diagnose
from .model import compare, standard_checks

M = "logistic_regression"


class Logistic(Vector):
    spec = lecture.MODULE[M]


def label(value, what="classify's result") -> int:
    """0 or 1 from an int, a bool or a NumPy integer (or a 0-d array of one)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_, numbers.Integral, np.integer)) and int(value) in (0, 1):
        return int(value)
    if is_real(value) and float(value) in (0.0, 1.0):
        return int(value)
    hint = None
    if is_real(value) and 0 < float(value) < 1:
        hint = "that looks like a probability: the class is 1 when ŷ ≥ threshold, else 0"
    raise Failure(f"{what} must be 0 or 1; got {describe_type(value)}", got=fmt(value), hint=hint)


def sigmoid_of(ctx, z):
    """σ(z) from the student, as a float; z is a Python float."""
    try:
        return real(ctx.call("sigmoid", z), "σ(z)")
    except Failure as f:
        f.inputs = {"z": fmt(z), **f.inputs}
        raise


SIGMOID_PROBES = (-6.3, -2.1, -0.7, 0.4, 1.3, 3.9, 7.2)   # generic z, for a diagnosis only
CLASSIFY_PROBES = ((0.5,), (0.3, 0.3), (0.7, 0.7), (0.6, 0.7), (0.45, 0.3), (0.2,), (0.8,),
                   (0.55, 0.4), (0.35, 0.6))


def sigmoid_probe(ctx):
    """probe() for a diagnosis of σ: the student's σ at the worked z and at generic points."""
    kept = []

    def probe():
        if not kept:
            worked = [(float(ex.values["z"].exact), True) for ex in lecture.examples()
                      if ex.model == "logistic" and "z" in ex.values]
            out = []
            for z, is_worked in worked + [(z, False) for z in SIGMOID_PROBES]:
                try:
                    got = real(ctx.call("sigmoid", z), "σ(z)")
                except Failure:
                    continue
                out.append(diagnose.Observation({"z": z}, got, float(oracles.sigmoid(z)), is_worked))
            kept.append(out)
        return kept[0]
    return probe


def sigmoid_hint(ctx, seen, fallback=None):
    """The known mistake behind σ values `seen` ((z, σ) pairs), or `fallback`."""
    observations = [diagnose.Observation({"z": float(z)}, float(v)) for z, v in seen]
    return diagnose.diagnose("any", "sigmoid", observations, sigmoid_probe(ctx)) or fallback


def check(function, name, kind, slides, style=False):
    def wrap(run):
        return Check(M, function, name, kind, slides, run, style)
    return wrap


def examples_by_data():
    groups = {}
    for ex in lecture.examples():
        if ex.model == "logistic":
            key = "slides 26–36 (Data #1)" if len(ex.theta) == 2 else "slides 38–49 (Data #2)"
            groups.setdefault(key, []).append(ex)
    return groups


def elementwise_hint(message):
    """Why a σ that works for a number fails on an array, from the error it raised."""
    if "truth value of an array" in message:
        return ("an `if` on z cannot decide for a whole array: use np.where, or a formula that "
                "works on every entry at once (np.exp works on whole arrays)")
    return "use np.exp, which works on whole arrays (math.exp takes one number)"


def sigmoid_checks():
    out = []
    for group, exs in examples_by_data().items():
        @check("sigmoid", f"worked values of {group}", "worked",
               ", ".join(sorted({str(e.values["y_hat"].slide) for e in exs}, key=int)))
        def worked(ctx, exs=exs):
            seen, probe = [], sigmoid_probe(ctx)
            for ex in exs:
                z, v = float(ex.values["z"].exact), ex.values["y_hat"]
                compare(sigmoid_of(ctx, z), v.exact, inputs={"z": z}, what="σ(z)", model="any",
                        function="sigmoid", canon={"z": z}, figure=v.figure, slide=v.slide,
                        erratum=v.erratum, seen=seen, probe=probe)
        out.append(worked)

    @check("sigmoid", "matches 1 / (1 + e^(−z)) at random points", "random", "24")
    def random_points(ctx):
        seen, probe = [], sigmoid_probe(ctx)
        for i, z in enumerate(ctx.rng.uniform(-8, 8, 5).round(4)):
            z = float(z)
            compare(sigmoid_of(ctx, z), float(oracles.sigmoid(z)), inputs={"z": z}, what="σ(z)",
                    model="any", function="sigmoid", canon={"z": z}, case=f"random case {i + 1} of 5",
                    seen=seen, probe=probe)

    @check("sigmoid", "is 0.5 at z = 0", "property", "24")
    def half(ctx):
        got = sigmoid_of(ctx, 0.0)
        if not abs(got - 0.5) <= 1e-12:
            raise Failure(f"σ(0) must be 0.5, got {fmt(got)}", expected="0.5", got=fmt(got),
                          inputs={"z": "0.0"}, hint=sigmoid_hint(
                              ctx, [(0.0, got)], "σ(z) = 1 / (1 + e^(−z)), and e^0 = 1"))

    @check("sigmoid", "increases with z and stays strictly between 0 and 1", "property", "24")
    def monotone(ctx):
        grid = np.linspace(-20, 20, 41)
        values = [sigmoid_of(ctx, float(z)) for z in grid]
        for z, s in zip(grid, values):
            if not 0 < s < 1:
                raise Failure(f"σ({fmt(z)}) must lie in (0, 1), got {fmt(s)}", got=fmt(s),
                              inputs={"z": fmt(z)}, expected=fmt(float(oracles.sigmoid(z))),
                              hint=sigmoid_hint(ctx, list(zip(grid, values)), None if np.isfinite(s)
                                                else diagnose.not_finite_hint("any", "sigmoid")))
        for (z1, s1), (z2, s2) in zip(zip(grid, values), zip(grid[1:], values[1:])):
            if not s1 <= s2:
                raise Failure(f"σ must increase with z (slide 24: z₁ ≤ z₂ gives σ(z₁) ≤ σ(z₂)); "
                              f"σ({fmt(z1)}) = {fmt(s1)} but σ({fmt(z2)}) = {fmt(s2)}",
                              inputs={"z₁": fmt(z1), "z₂": fmt(z2)}, got=f"{fmt(s1)}, {fmt(s2)}",
                              hint=sigmoid_hint(ctx, list(zip(grid, values)),
                                                "σ(z) = 1 / (1 + e^(−z)): check the sign of the exponent"))

    @check("sigmoid", "is symmetric: σ(−z) = 1 − σ(z)", "property", "24")
    def symmetric(ctx):
        seen = []
        for z in ctx.rng.uniform(0.1, 10, 4).round(3):
            a, b = sigmoid_of(ctx, float(z)), sigmoid_of(ctx, float(-z))
            seen += [(float(z), a), (float(-z), b)]
            if not abs(b - (1 - a)) <= 1e-9:
                raise Failure(f"σ(−z) must equal 1 − σ(z): σ({fmt(z)}) = {fmt(a)}, σ({fmt(-z)}) = {fmt(b)}",
                              inputs={"z": fmt(z)}, expected=fmt(1 - a), got=fmt(b),
                              hint=sigmoid_hint(ctx, seen))

    @check("sigmoid", "works elementwise on arrays", "contract", "25")
    def elementwise(ctx):
        for shape in ((5,), (2, 3)):
            z = ctx.rng.uniform(-6, 6, shape).round(3)
            try:
                got = ctx.call("sigmoid", z)
            except Failure as f:
                f.inputs = {"z": fmt(z)}
                f.hint = f.hint or elementwise_hint(f.message)
                raise
            if not (isinstance(got, np.ndarray) and got.shape == shape):
                raise Failure(f"σ of an array of shape {shape} must be an array of the same shape; "
                              f"got {describe_type(got)}", inputs={"z": fmt(z)}, got=fmt(got))
            if not close(got, oracles.sigmoid(z)):
                seen = [diagnose.Observation({"z": z}, np.asarray(got, dtype=float), oracles.sigmoid(z))]
                raise Failure("σ must apply to every entry of the array", inputs={"z": fmt(z)},
                              expected=fmt(oracles.sigmoid(z)), got=fmt(got),
                              hint=diagnose.diagnose("any", "sigmoid", seen, sigmoid_probe(ctx)))

    @check("sigmoid", "returns a float for a number", "contract", "24")
    def scalar(ctx):
        z = round(float(ctx.rng.uniform(-5, 5)), 3)
        got = ctx.call("sigmoid", z)
        if not is_real(got):
            raise Failure(f"σ of a number must be a number; got {describe_type(got)}",
                          inputs={"z": fmt(z)}, got=fmt(got))
        if not np.isfinite(float(got)):
            raise Failure("σ(z) is not finite", inputs={"z": fmt(z)}, got=fmt(got),
                          hint=diagnose.not_finite_hint("any", "sigmoid"))
        if isinstance(got, np.ndarray):
            return "a 0-d array works here; the contract says a float"
        return None

    return out + [random_points, half, monotone, symmetric, elementwise, scalar]


def classify_of(ctx, *args):
    try:
        return label(ctx.call("classify", *args))
    except Failure as f:
        names = ("y_hat", "threshold")
        f.inputs = {**{n: fmt(a) for n, a in zip(names, args)}, **f.inputs}
        raise


def class_canon(args):
    return dict(zip(("y_hat", "threshold"), (float(a) for a in args)))


def classify_probe(ctx):
    """probe() for a diagnosis of classify: its class at generic (ŷ, threshold) pairs."""
    kept = []

    def probe():
        if not kept:
            out = []
            for args in CLASSIFY_PROBES:
                try:
                    out.append(diagnose.Observation(class_canon(args), classify_of(ctx, *args)))
                except Failure:
                    continue
            kept.append(out)
        return kept[0]
    return probe


def expect_class(ctx, args, why="", seen=None):
    expected = oracles.classify(*args)
    got = classify_of(ctx, *args)
    seen = [] if seen is None else seen
    seen.append(diagnose.Observation(class_canon(args), got))
    if got != expected:
        inputs = {n: fmt(a) for n, a in zip(("y_hat", "threshold"), args)}
        hint = diagnose.diagnose("any", "classify", seen, classify_probe(ctx))
        raise Failure(f"{why}classify({', '.join(inputs.values())}) must be {expected}, got {got}",
                      inputs=inputs, expected=str(expected), got=str(got), hint=hint)


def classify_checks():
    out = []
    for group, exs in examples_by_data().items():
        exs = [e for e in exs if "class" in e.values]

        @check("classify", f"answers the questions of {group}", "worked",
               ", ".join(sorted({str(e.values["class"].slide) for e in exs}, key=int)))
        def worked(ctx, exs=exs):
            seen = []
            for ex in exs:
                expect_class(ctx, (float(ex.values["y_hat"].exact),),
                             f"slide {ex.values['class'].slide}: ", seen)
        out.append(worked)

    @check("classify", "gives class 1 at the tie ŷ = 0.5", "property", "36")
    def tie(ctx):
        expect_class(ctx, (0.5,))

    @check("classify", "uses the threshold it is given", "property", "36")
    def thresholds(ctx):
        seen = []
        for args in ((0.6, 0.7), (0.7, 0.7), (0.8, 0.7), (0.25, 0.3), (0.3, 0.3), (0.45, 0.3)):
            expect_class(ctx, args, seen=seen)

    @check("classify", "matches ŷ ≥ threshold at random points", "random", "36")
    def random_points(ctx):
        seen = []
        for y_hat, t in ctx.rng.uniform(0.01, 0.99, (5, 2)).round(3):
            expect_class(ctx, (float(y_hat), float(t)), seen=seen)

    @check("classify", "returns the int 0 or 1", "contract", "36")
    def contract(ctx):
        value = ctx.call("classify", round(float(ctx.rng.uniform(0.55, 0.99)), 3))
        label(value)
        if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "biu":
            # np.where(y_hat >= threshold, 1, 0) gives a 0-d array: an int in all but name
            return "a 0-d array works here; the contract says an int"
        if isinstance(value, (bool, np.bool_)):
            return "a bool works here (True == 1); the contract says an int"
        if not isinstance(value, (numbers.Integral, np.integer)):
            raise Failure(f"classify must return an int; got {describe_type(value)}", got=fmt(value),
                          hint="int(y_hat >= threshold) gives 0 or 1")
        return None

    return out + [tie, thresholds, random_points, contract]


def checks():
    return standard_checks(Logistic()) + sigmoid_checks() + classify_checks()
