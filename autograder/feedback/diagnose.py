"""A catalogue of known mistakes, matched on the trusted side against everything a check saw.

Each mistake recomputes, from the inputs a call was given, what a typical wrong implementation
returns. A check records every call it made of the student's function (the inputs, and the
result read back); when one of them is wrong, `diagnose` keeps the mistakes that reproduce EVERY
recorded result (right ones included), asks for more calls on the function's other inputs (the
worked examples and a fixed set of generic points, where w ≠ b, x ≠ 2, lr ≠ 0.1, y is 0 and 1)
when any mistake is left, and names a mistake only when it alone reproduces all of them. When two
different mistakes reproduce everything, the hint says what either would mean; with more, there
is no hint. Hints say what the student's function computed, in plain words, and the slide to
re-read.

Inputs and results are canonical: θ = [b, w, ...], x = [1, x, ...]; gradients and updates in θ's
order; a training run's result is (θ, losses).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..lecture import oracles


@dataclass(frozen=True)
class Mistake:
    name: str
    value: Callable | None   # (**inputs) -> the wrong value, or None where it does not apply
    hint: str
    fits: Callable | None = None   # (got, **inputs) -> bool, for mistakes with no single value


@dataclass
class Observation:
    """One call a check made: canonical inputs and the canonical result read back."""
    inputs: dict
    got: object
    expected: object = None   # the right value, where the caller knows it
    worked: bool = False      # the inputs of a worked example of the slides


# --------------------------------------------------------------------------- comparison

def same(got, wrong, rtol=1e-6, atol=1e-9) -> bool:
    """Whether `got` is the value `wrong`: equal shapes, close where finite, and the same
    non-finite values (NaN, ±inf) where not. Pairs (θ, losses) compare part by part."""
    if isinstance(wrong, tuple):
        return (isinstance(got, tuple) and len(got) == len(wrong)
                and all(same(g, w, rtol, atol) for g, w in zip(got, wrong)))
    try:
        g, w = np.asarray(got, dtype=float), np.asarray(wrong, dtype=float)
    except (TypeError, ValueError):
        return False
    if g.shape != w.shape:
        return False
    fg, fw = np.isfinite(g), np.isfinite(w)
    if not np.array_equal(fg, fw):
        return False
    if not np.array_equal(np.isnan(g), np.isnan(w)) or not np.array_equal(g[~fg & ~np.isnan(g)],
                                                                          w[~fw & ~np.isnan(w)]):
        return False
    return bool(np.allclose(g[fg], w[fw], rtol=rtol, atol=atol))


def reproduces(mistake, observation, rtol=1e-6, atol=1e-9) -> bool:
    try:
        if mistake.fits is not None:
            return bool(mistake.fits(observation.got, **observation.inputs))
        with np.errstate(all="ignore"):
            wrong = mistake.value(**observation.inputs)
    except Exception:
        return False
    return wrong is not None and same(observation.got, wrong, rtol, atol)


# --------------------------------------------------------------------------- helpers

def _a(v):
    return np.asarray(v, dtype=float)


def _sig(z):
    return oracles.sigmoid(z)


def _bce(y_hat, y, log=np.log):
    return float(-y * log(y_hat) - (1 - y) * log(1 - y_hat))


def _swap01(v):
    """θ or a gradient with its first two entries exchanged (b and w, for one feature)."""
    v = _a(v).copy()
    v[[0, 1]] = v[[1, 0]]
    return v


def _only_d1(f):
    """A mistake that only one feature can make (the basic module's pairs)."""
    def value(**kw):
        ref = kw.get("x", kw.get("theta"))
        return f(**kw) if len(ref) == 2 else None
    return value


# --------------------------------------------------------------------------- the catalogue

LINEAR_PREDICT = [
    Mistake("no bias", lambda theta, x: float(np.dot(_a(theta)[1:], _a(x)[1:])),
            "the bias b is missing: your ŷ equals wx, and the lecture's is ŷ = wx + b (slide 8)"),
    Mistake("w and b swapped", _only_d1(lambda theta, x: float(theta[0] * x[1] + theta[1])),
            "w and b are swapped: your ŷ equals bx + w; the slope w multiplies x, ŷ = wx + b "
            "(slide 8; with w = b on slides 6–7 both give the same number)"),
    Mistake("one feature", lambda theta, x: float(theta[0] + theta[1] * x[1]),
            "only the first feature is used: your ŷ equals θ₀ + θ₁x₁; ŷ = θᵀx takes every entry "
            "of x and θ (x @ theta, slide 14)"),
    Mistake("minus bias", lambda theta, x: float(np.dot(_a(theta)[1:], _a(x)[1:]) - theta[0]),
            "the bias is subtracted: your ŷ equals wx − b, and the lecture's is ŷ = wx + b (slide 8)"),
    Mistake("no x", lambda theta, x: float(np.sum(theta)),
            "x is missing: your ŷ equals w + b, and the lecture's is ŷ = wx + b, w times x (slide 8)"),
    Mistake("bias twice", lambda theta, x: float(np.dot(theta, x) + theta[0]),
            "the bias is counted twice: your ŷ equals θᵀx + b, but x = [1, x] already brings b "
            "in through its leading 1: ŷ = θᵀx (slide 14)"),
    Mistake("bias only", lambda theta, x: float(theta[0]),
            "your ŷ is the bias b alone: ŷ = wx + b (slide 8)"),
]

LOGISTIC_PREDICT = [
    Mistake("z, not σ(z)", lambda theta, x: float(np.dot(theta, x)),
            "this is z = θᵀx; the prediction is ŷ = σ(z), the sigmoid of z (slide 27)"),
    Mistake("σ(−z)", lambda theta, x: float(_sig(-np.dot(theta, x))),
            "this is σ(−z) = 1 − σ(z): ŷ = σ(θᵀx), with σ(z) = 1 / (1 + e^(−z)) (slides 24, 27)"),
    Mistake("no bias", lambda theta, x: float(_sig(np.dot(_a(theta)[1:], _a(x)[1:]))),
            "the bias is missing: your ŷ equals σ(w·x); z = θᵀx with x = [1, x₁, …] includes b "
            "(slide 26)"),
    Mistake("class", lambda theta, x: float(_sig(np.dot(theta, x)) >= 0.5),
            "this is the class (ŷ ≥ 0.5); predict returns the probability ŷ = σ(θᵀx) (slide 27)"),
    Mistake("one feature", lambda theta, x: float(_sig(theta[0] + theta[1] * x[1])),
            "only the first feature is used: your z equals θ₀ + θ₁x₁; z = θᵀx takes every entry of "
            "x and θ (slide 40)"),
    Mistake("bias twice", lambda theta, x: float(_sig(np.dot(theta, x) + theta[0])),
            "the bias is counted twice: your z equals θᵀx + b, but the leading 1 of x already brings "
            "b in: z = θᵀx, ŷ = σ(z) (slide 26)"),
    Mistake("e^−z", lambda theta, x: float(np.exp(-np.dot(theta, x))),
            "your ŷ equals e^(−z): ŷ = σ(z) = 1 / (1 + e^(−z)) with z = θᵀx (slides 24, 27)"),
]

LINEAR_LOSS = [
    Mistake("not squared", lambda y_hat, y: float(y_hat - y),
            "square the difference: your L equals ŷ − y, and the lecture's is L = (ŷ − y)² (slide 8)"),
    Mistake("not squared, reversed", lambda y_hat, y: float(y - y_hat),
            "square the difference: your L equals y − ŷ, and the lecture's is L = (ŷ − y)² (slide 8)"),
    Mistake("absolute", lambda y_hat, y: float(abs(y_hat - y)),
            "your L equals |ŷ − y|, the absolute error (a square root of the square gives the same): "
            "the lecture's loss is the square itself, L = (ŷ − y)², with no root (slide 8)"),
    Mistake("halved", lambda y_hat, y: float((y_hat - y) ** 2 / 2),
            "the lecture's loss has no ½: your L equals ½(ŷ − y)², and the lecture's is "
            "L = (ŷ − y)² (slide 8)"),
    Mistake("squares apart", lambda y_hat, y: float(y_hat ** 2 - y ** 2),
            "your L equals ŷ² − y²: square the difference, not each term, L = (ŷ − y)² (slide 8)"),
    Mistake("derivative", lambda y_hat, y: float(2 * (y_hat - y)),
            "your L equals 2(ŷ − y), the derivative of the loss: loss returns L = (ŷ − y)² itself "
            "(slide 8)"),
    Mistake("sum squared", lambda y_hat, y: float((y_hat + y) ** 2),
            "your L equals (ŷ + y)²: it is the difference that is squared, L = (ŷ − y)² (slide 8)"),
]

LOGISTIC_LOSS = [
    Mistake("no minus", lambda y_hat, y: -_bce(y_hat, y),
            "the minus sign is missing: your L equals y log ŷ + (1 − y) log(1 − ŷ), which is never "
            "positive; L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
    Mistake("log10", lambda y_hat, y: _bce(y_hat, y, np.log10),
            "use the natural log (np.log): your L is the cross-entropy in log10 (slide 28)"),
    Mistake("log2", lambda y_hat, y: _bce(y_hat, y, np.log2),
            "use the natural log (np.log): your L is the cross-entropy in log2 (slide 28)"),
    Mistake("terms swapped", lambda y_hat, y: _bce(1 - y_hat, y),
            "the terms are swapped: your L equals −y log(1 − ŷ) − (1 − y) log ŷ; y goes with log ŷ: "
            "L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
    Mistake("squared error", lambda y_hat, y: float((y_hat - y) ** 2),
            "this is the squared error (ŷ − y)² of linear regression; logistic regression uses the "
            "cross-entropy L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
    Mistake("first term only", lambda y_hat, y: float(-y * np.log(y_hat)),
            "your L has only the term −y log ŷ, which is 0 whenever y = 0: add −(1 − y) log(1 − ŷ), "
            "L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
    Mistake("second term only", lambda y_hat, y: float(-(1 - y) * np.log(1 - y_hat)),
            "your L has only the term −(1 − y) log(1 − ŷ), which is 0 whenever y = 1 (the slides' "
            "examples all have y = 0): add −y log ŷ (slide 28)"),
    Mistake("second term plus", lambda y_hat, y: float(-y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat)),
            "the second term has the wrong sign: your L equals −y log ŷ + (1 − y) log(1 − ŷ); both "
            "terms are subtracted, L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
    Mistake("no (1 − y)", lambda y_hat, y: float(-y * np.log(y_hat) - np.log(1 - y_hat)),
            "the factor (1 − y) of the second term is missing: L = −y log ŷ − (1 − y) log(1 − ŷ) "
            "(slide 28)"),
    Mistake("log(1 − y)", lambda y_hat, y: float(-y * np.log(y_hat) - (1 - y) * np.log(1 - y)),
            "you take log(1 − y) where the lecture has log(1 − ŷ): that is 0 for y = 0 and 0·log 0 "
            "= NaN for y = 1; L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
    Mistake("halved", lambda y_hat, y: _bce(y_hat, y) / 2,
            "your L is half the cross-entropy (a mean of its two terms?): the lecture's loss has no "
            "½, L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
    Mistake("y ignored", lambda y_hat, y: float(-np.log(y_hat)),
            "your L equals −log ŷ whatever y: that is the loss for y = 1 only; "
            "L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
    Mistake("absolute", lambda y_hat, y: float(abs(y_hat - y)),
            "your L equals |ŷ − y|: logistic regression uses the cross-entropy "
            "L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
]

LINEAR_GRADIENT = [
    Mistake("no factor 2", lambda x, y_hat, y: _a(x) * (y_hat - y),
            "the factor 2 is missing: your ∇θL equals x(ŷ − y), and differentiating (ŷ − y)² gives "
            "2(ŷ − y): ∂L/∂w = 2x(ŷ − y), ∂L/∂b = 2(ŷ − y) (slide 8)"),
    Mistake("sign", lambda x, y_hat, y: _a(x) * 2 * (y - y_hat),
            "the sign is flipped: your ∇θL equals 2x(y − ŷ), and the lecture's is 2x(ŷ − y) (slide 8)"),
    Mistake("sign, no 2", lambda x, y_hat, y: _a(x) * (y - y_hat),
            "the sign is flipped and the factor 2 is missing: your ∇θL equals x(y − ŷ), and the "
            "lecture's is 2x(ŷ − y) (slide 8)"),
    Mistake("order", lambda x, y_hat, y: (_a(x) * 2 * (y_hat - y))[::-1],
            "the two parts are swapped: ∂L/∂w = 2x(ŷ − y) goes with w and ∂L/∂b = 2(ŷ − y) with b "
            "(slide 8)"),
    Mistake("no x", lambda x, y_hat, y: np.full(len(x), 2.0 * (y_hat - y)),
            "∂L/∂w has the factor x: your ∂L/∂w equals 2(ŷ − y), and the lecture's is "
            "∂L/∂w = 2x(ŷ − y) (slide 8)"),
    Mistake("x in db", _only_d1(lambda x, y_hat, y: np.full(2, 2.0 * x[1] * (y_hat - y))),
            "∂L/∂b has no factor x: your ∂L/∂b equals 2x(ŷ − y); ∂L/∂b = 2(ŷ − y), only "
            "∂L/∂w = 2x(ŷ − y) has the x (slide 8)"),
    Mistake("2 only in dw", lambda x, y_hat, y: np.concatenate([[y_hat - y], 2 * _a(x)[1:] * (y_hat - y)]),
            "∂L/∂b lacks the factor 2: your ∂L/∂b equals ŷ − y, and the lecture's is "
            "∂L/∂b = 2(ŷ − y) (slide 8)"),
    Mistake("2 only in db", lambda x, y_hat, y: np.concatenate([[2 * (y_hat - y)], _a(x)[1:] * (y_hat - y)]),
            "∂L/∂w lacks the factor 2: your ∂L/∂w equals x(ŷ − y), and the lecture's is "
            "∂L/∂w = 2x(ŷ − y) (slide 8)"),
    Mistake("precedence", lambda x, y_hat, y: 2 * _a(x) * y_hat - y,
            "parentheses are missing: your ∇θL equals 2xŷ − y (2 * x * y_hat - y); the difference "
            "must be taken first, 2x(ŷ − y) = 2 * x * (y_hat - y) (slide 8)"),
    Mistake("loss", lambda x, y_hat, y: _a(x) * (y_hat - y) ** 2,
            "your ∇θL equals x(ŷ − y)², the loss times x: differentiate, ∇θL = 2x(ŷ − y) (slide 8)"),
]

LOGISTIC_GRADIENT = [
    Mistake("factor 2", lambda x, y_hat, y: _a(x) * 2 * (y_hat - y),
            "that is the linear regression gradient 2x(ŷ − y): for the cross-entropy, "
            "∇θL = x(ŷ − y), with no factor 2 (slide 29)"),
    Mistake("MSE through σ", lambda x, y_hat, y: _a(x) * 2 * (y_hat - y) * y_hat * (1 - y_hat),
            "that is the gradient of the squared error through σ, 2x(ŷ − y)ŷ(1 − ŷ); the "
            "cross-entropy gives ∇θL = x(ŷ − y) (slide 29)"),
    Mistake("MSE through σ, no 2", lambda x, y_hat, y: _a(x) * (y_hat - y) * y_hat * (1 - y_hat),
            "the factor ŷ(1 − ŷ) cancels with the cross-entropy: your ∇θL equals x(ŷ − y)ŷ(1 − ŷ), "
            "and the lecture's is ∇θL = x(ŷ − y) (slide 29)"),
    Mistake("sign", lambda x, y_hat, y: _a(x) * (y - y_hat),
            "the sign is flipped: your ∇θL equals x(y − ŷ), and the lecture's is x(ŷ − y) (slide 29)"),
    Mistake("no x", lambda x, y_hat, y: np.full(len(x), float(y_hat - y)),
            "multiply by x: your ∇θL equals ŷ − y in every entry, and the lecture's is "
            "∇θL = x(ŷ − y) (slide 29)"),
    Mistake("∂L/∂ŷ", lambda x, y_hat, y: _a(x) * (y_hat - y) / (y_hat * (1 - y_hat)),
            "your ∇θL equals x(ŷ − y) / (ŷ(1 − ŷ)), that is x·∂L/∂ŷ: the chain rule also multiplies "
            "by ∂ŷ/∂z = ŷ(1 − ŷ), which cancels, ∇θL = x(ŷ − y) (slide 29)"),
    Mistake("precedence", lambda x, y_hat, y: _a(x) * y_hat - y,
            "parentheses are missing: your ∇θL equals xŷ − y (x * y_hat - y); the difference must be "
            "taken first, x(ŷ − y) = x * (y_hat - y) (slide 29)"),
    Mistake("÷ len(x)", lambda x, y_hat, y: _a(x) * (y_hat - y) / len(x),
            "your gradient is divided by len(x), an average over θ's entries: the one-sample "
            "gradient is ∇θL = (ŷ − y)x, with no average (slide 29)"),
    Mistake("order", _only_d1(lambda x, y_hat, y: (_a(x) * (y_hat - y))[::-1]),
            "the two parts are swapped: ∇θL = [ŷ − y, x(ŷ − y)], the bias first like θ = [b, w] "
            "(slide 29)"),
]

UPDATE = [
    Mistake("plus", lambda theta, grad, lr: _a(theta) + lr * _a(grad),
            "step against the gradient: your θ moved by +η∇θL; θ = θ − η∇θL, with a minus (slide 8)"),
    Mistake("no lr", lambda theta, grad, lr: _a(theta) - _a(grad),
            "multiply the gradient by the learning rate η: your θ moved by the whole gradient, "
            "θ − ∇θL; θ = θ − η∇θL (slide 8)"),
    Mistake("fixed lr", lambda theta, grad, lr: _a(theta) - 0.1 * _a(grad),
            "use the lr argument, not a fixed 0.1: your θ moved as if η were 0.1 (slide 8)"),
    Mistake("order", _only_d1(lambda theta, grad, lr: (_a(theta) - lr * _a(grad))[::-1]),
            "the results are swapped: you returned (b, w); return them in the order the contract "
            "gives, (w, b) (slide 8)"),
    Mistake("crossed", _only_d1(lambda theta, grad, lr: _a(theta) - lr * _a(grad)[::-1]),
            "the parts are crossed: your w was stepped with ∂L/∂b and your b with ∂L/∂w; "
            "w ← w − η·dw, b ← b − η·db (slide 8)"),
    Mistake("b with dw", _only_d1(lambda theta, grad, lr: _a(theta) - lr * grad[1]),
            "b was stepped with ∂L/∂w (copy-paste?): b ← b − η·db, and w ← w − η·dw (slide 8)"),
    Mistake("w with db", _only_d1(lambda theta, grad, lr: _a(theta) - lr * grad[0]),
            "w was stepped with ∂L/∂b (copy-paste?): w ← w − η·dw, and b ← b − η·db (slide 8)"),
    Mistake("the step", lambda theta, grad, lr: lr * _a(grad),
            "you returned the step η∇θL, not the new parameters: θ − η∇θL (slide 8)"),
    Mistake("minus the step", lambda theta, grad, lr: -lr * _a(grad),
            "you returned the step −η∇θL, not the new parameters: θ − η∇θL (slide 8)"),
    Mistake("divides", lambda theta, grad, lr: _a(theta) - _a(grad) / lr,
            "your update divides the gradient by η: θ − ∇θL/η; multiply, θ − η∇θL (slide 8)"),
    Mistake("b kept", lambda theta, grad, lr: np.concatenate([[theta[0]], _a(theta)[1:] - lr * _a(grad)[1:]]),
            "b is not updated: your b comes back unchanged; b ← b − η·∂L/∂b too (slide 8)"),
    Mistake("w kept", lambda theta, grad, lr: np.concatenate([[theta[0] - lr * grad[0]], _a(theta)[1:]]),
            "w is not updated: your w comes back unchanged; w ← w − η·∂L/∂w too (slide 8)"),
    Mistake("θ back", lambda theta, grad, lr: _a(theta),
            "θ comes back unchanged: return θ − η∇θL (slide 8)"),
    Mistake("gradient back", lambda theta, grad, lr: _a(grad),
            "you returned the gradient itself: return θ − η∇θL (slide 8)"),
]

SIGMOID = [
    Mistake("e^z", lambda z: oracles.sigmoid(-_a(z)),
            "your σ(z) equals σ(−z) = 1 / (1 + e^z) = e^(−z) / (1 + e^(−z)): σ(z) = 1 / (1 + e^(−z)), "
            "the exponent is −z, and e^z sits in the numerator of the other form (slide 24)"),
    Mistake("no 1+", lambda z: np.exp(_a(z)),
            "σ(z) = 1 / (1 + e^(−z)): the 1 + is missing, your σ(z) equals 1 / e^(−z) = e^z (slide 24)"),
    Mistake("no reciprocal", lambda z: 1 + np.exp(-_a(z)),
            "your σ(z) equals 1 + e^(−z), the denominator: σ(z) is its reciprocal, "
            "1 / (1 + e^(−z)) (slide 24)"),
    Mistake("1 − e^(−z)", lambda z: 1 / (1 - np.exp(-_a(z))),
            "your σ(z) equals 1 / (1 − e^(−z)): the denominator is 1 + e^(−z) (slide 24)"),
    Mistake("e^(−z)", lambda z: np.exp(-_a(z)),
            "your σ(z) equals e^(−z): σ(z) = 1 / (1 + e^(−z)) (slide 24)"),
    Mistake("base 10", lambda z: 1 / (1 + 10.0 ** (-_a(z))),
            "your σ(z) uses 10^(−z): the sigmoid uses e, σ(z) = 1 / (1 + e^(−z)) (np.exp, slide 24)"),
    Mistake("2z", lambda z: oracles.sigmoid(2 * _a(z)),
            "your σ(z) equals σ(2z) = ½(1 + tanh(z)): the tanh form of the sigmoid takes z/2, "
            "σ(z) = ½(1 + tanh(z/2)) = 1 / (1 + e^(−z)) (slide 24)"),
]

CLASSIFY = [
    Mistake("strict", lambda y_hat, threshold=0.5: int(y_hat > threshold),
            "at the threshold itself the class is 1: ŷ ≥ threshold, not ŷ > threshold (slide 36)"),
    Mistake("fixed 0.5", lambda y_hat, threshold=0.5: int(y_hat >= 0.5),
            "use the threshold argument, not a fixed 0.5: your class is ŷ ≥ 0.5 whatever the "
            "threshold (slide 36)"),
    Mistake("strict, fixed 0.5", lambda y_hat, threshold=0.5: int(y_hat > 0.5),
            "your class is ŷ > 0.5 whatever the threshold (round(ŷ) gives the same: Python rounds "
            "0.5 to 0): use the threshold argument, and ≥, class 1 when ŷ ≥ threshold (slide 36)"),
    Mistake("inverted", lambda y_hat, threshold=0.5: int(y_hat < threshold),
            "the classes are inverted: yours is 1 when ŷ < threshold; class 1 when ŷ ≥ threshold "
            "(slide 36)"),
    Mistake("inverted, ≤", lambda y_hat, threshold=0.5: int(y_hat <= threshold),
            "the classes are inverted: yours is 1 when ŷ ≤ threshold; class 1 when ŷ ≥ threshold "
            "(slide 36)"),
]


# --------------------------------------------------------------------------- training runs

def _steps(model, theta, x, y):
    y_hat = oracles.predict(model, theta, x)
    return y_hat, oracles.loss(model, y_hat, y), oracles.gradient(model, x, y_hat, y)


def _train(model, X, y, theta, lr, epochs, *, losses="each", batch=None, keep=False,
           loss_args=False, samples=slice(None)):
    """A training run with one known change: `losses` (each, after, last, mean, sum, running,
    last-epoch), `batch` (None: one sample at a time; mean or sum: one update per epoch), `keep`
    (the initial θ returned), `samples` (the samples taken: all, or a slice of them)."""
    start = theta = _a(theta)
    out, total = [], 0.0
    with np.errstate(all="ignore"):
        for _ in range(int(epochs)):
            epoch, grads = [], []
            for i in list(range(len(X)))[samples]:
                y_hat, L, g = _steps(model, theta, X[i], y[i])
                if batch:
                    grads.append(g)
                else:
                    theta = oracles.update(theta, g, lr)
                if losses == "after":
                    L = oracles.loss(model, oracles.predict(model, theta, X[i]), y[i])
                if loss_args:
                    L = oracles.loss(model, y[i], y_hat)
                total += L
                epoch.append(total if losses == "running" else L)
            if batch and grads:
                g = np.sum(grads, axis=0) / (len(X) if batch == "mean" else 1)
                theta = oracles.update(theta, g, lr)
            if losses in ("each", "after", "running"):
                out += epoch
            elif losses == "last-epoch":
                out = epoch
            elif not epoch:
                continue
            else:
                out.append({"last": epoch[-1], "mean": float(np.mean(epoch)),
                            "sum": float(np.sum(epoch))}[losses])
    return (start if keep else theta), np.array(out)


def _in_some_order(model):
    """The five steps with the samples taken in another order than the data's (reversed,
    shuffled, drawn at random): the sample behind every loss is searched for."""
    def fits(got, X, y, theta, lr, epochs):
        got_theta, got_losses = got
        n, total = len(X), int(epochs) * len(X)
        if len(got_losses) != total or not np.all(np.isfinite(got_losses)):
            return False
        budget = [4000]

        def search(k, theta, order):
            budget[0] -= 1
            if budget[0] < 0:
                return None
            if k == total:
                return order if same(got_theta, theta) else None
            for i in range(n):
                y_hat, L, g = _steps(model, theta, X[i], y[i])
                if same(got_losses[k], L, 1e-6, 1e-9):
                    found = search(k + 1, oracles.update(theta, g, lr), order + [i])
                    if found is not None:
                        return found
            return None

        # data order counts only where no other order exists (one sample): there it is no evidence
        order = search(0, _a(theta), [])
        return order is not None and (order != list(range(n)) * int(epochs) or n == 1)
    return fits


def train_mistakes(model):
    slide = "8" if model == "linear" else "26"

    def variant(**change):
        def value(X, y, theta, lr, epochs):
            args = dict(lr=lr, epochs=epochs)
            args.update({k: change[k] for k in ("lr", "epochs") if k in change})
            if callable(args["lr"]):
                args["lr"] = args["lr"](lr)
            if callable(args["epochs"]):
                args["epochs"] = args["epochs"](epochs)
            options = {k: v for k, v in change.items() if k not in ("lr", "epochs")}
            return _train(model, X, y, theta, args["lr"], args["epochs"], **options)
        return value

    def lr_sign(lr):
        return -lr

    per_epoch = ("one loss per epoch: your losses hold one value per epoch; record the loss of "
                 f"every sample, inside the loop over the samples: epochs × n losses (slide {slide})")
    batch = ("full-batch updates: your θ moved once per epoch, by the gradient over all the samples; "
             "the lecture updates after every sample, one sample at a time (steps 1–5, "
             f"slide {slide})")
    epochs_hint = "train runs for exactly `epochs` passes over the data, epochs × n losses"
    return [
        Mistake("one epoch", variant(epochs=lambda e: 1 if e > 1 else e),
                f"train runs for every epoch: `epochs` passes over the data, yours made one (slide {slide})"),
        Mistake("one epoch fewer", variant(epochs=lambda e: e - 1),
                f"{epochs_hint}; yours made one fewer (range(epochs), slide {slide})"),
        Mistake("one epoch more", variant(epochs=lambda e: e + 1),
                f"{epochs_hint}; yours made one more (range(epochs), slide {slide})"),
        Mistake("loss after update", variant(losses="after"),
                "record each loss before the update, right after computing ŷ: your losses are those "
                f"of the updated θ (step 3 comes before step 5, slide {slide})"),
        Mistake("fixed lr", variant(lr=0.1),
                f"use the lr argument, not a fixed 0.1: θ moved as if η were 0.1 (slide {slide})"),
        Mistake("no update", variant(lr=0.0),
                "θ never changes: apply the update of step 5 to every sample, and keep its result "
                f"(θ = update(...), slide {slide})"),
        Mistake("up the gradient", variant(lr=lr_sign),
                "θ moved up the gradient, as θ + η∇θL would: check the order of the arguments "
                f"train passes to gradient (x, y_hat, y) and update (theta, grad, lr) (slide {slide})"),
        Mistake("initial θ returned", variant(keep=True),
                "your losses are right, but train returns the initial θ it was given: return the "
                f"updated θ (slide {slide})"),
        Mistake("last loss per epoch", variant(losses="last"), per_epoch),
        Mistake("mean loss per epoch", variant(losses="mean"), per_epoch),
        Mistake("sum of losses per epoch", variant(losses="sum"), per_epoch),
        Mistake("last epoch's losses", variant(losses="last-epoch"),
                "your losses are the last epoch's only (the list starts again every epoch): keep "
                f"every epoch's losses, epochs × n losses (slide {slide})"),
        Mistake("running total", variant(losses="running"),
                "your losses are a running total: append each sample's own loss (slide 8)"),
        Mistake("full batch, mean", variant(batch="mean"), batch),
        Mistake("full batch, sum", variant(batch="sum"), batch),
        Mistake("full batch, mean, mean loss", variant(batch="mean", losses="mean"), batch),
        Mistake("full batch, sum, mean loss", variant(batch="sum", losses="mean"), batch),
        Mistake("loss(y, ŷ)", variant(loss_args=True) if model == "logistic" else (lambda **kw: None),
                "your losses are loss(y, ŷ): the arguments are swapped in train's call, "
                "loss(y_hat, y) (slide 28)"),
        Mistake("θ swapped", lambda X, y, theta, lr, epochs: (
                    lambda t, L: (t[::-1], L))(*_train(model, X, y, theta, lr, epochs))
                if len(theta) == 2 else None,
                "the final w and b are swapped: your θ is the right one in the other order; "
                "return (w, b, losses), w first (slide 9)"),
        Mistake("last sample left out", lambda X, y, theta, lr, epochs: _train(
                    model, X, y, theta, lr, epochs, samples=slice(None, -1)),
                "your train leaves out the last sample of every epoch (range(len(X) - 1)?): take "
                f"every sample, for x_i, y_i in zip(X, y), epochs × n losses (step 1, slide {slide})"),
        Mistake("first sample left out", lambda X, y, theta, lr, epochs: _train(
                    model, X, y, theta, lr, epochs, samples=slice(1, None)),
                "your train leaves out the first sample of every epoch (range(1, len(X))?): take "
                f"every sample, for x_i, y_i in zip(X, y), epochs × n losses (step 1, slide {slide})"),
        Mistake("order", None, "take the samples in data order: your losses are those of the same "
                               f"samples in another order (step 1, slide {slide})",
                fits=_in_some_order(model)),
    ]


MISTAKES: dict[tuple[str, str], list[Mistake]] = {
    ("linear", "predict"): LINEAR_PREDICT,
    ("logistic", "predict"): LOGISTIC_PREDICT,
    ("linear", "loss"): LINEAR_LOSS,
    ("logistic", "loss"): LOGISTIC_LOSS,
    ("linear", "gradient"): LINEAR_GRADIENT,
    ("logistic", "gradient"): LOGISTIC_GRADIENT,
    ("any", "update"): UPDATE,
    ("any", "sigmoid"): SIGMOID,
    ("any", "classify"): CLASSIFY,
    ("linear", "train"): train_mistakes("linear"),
    ("logistic", "train"): train_mistakes("logistic"),
}


def _exact(model, function):
    """The right value of a step from its canonical inputs (model "any" for update and sigmoid,
    which have one), or None (classify, train)."""
    return {"predict": lambda theta, x: oracles.predict(model, theta, x),
            "loss": lambda y_hat, y: oracles.loss(model, y_hat, y),
            "gradient": lambda x, y_hat, y: oracles.gradient(model, x, y_hat, y),
            "update": lambda theta, grad, lr: oracles.update(theta, grad, lr),
            "sigmoid": lambda z: oracles.sigmoid(_a(z))}.get(function)


def rounded(model, function) -> list[Mistake]:
    """The right value rounded to 1-4 decimals (round(..., 2), the slides' printed style; not to
    0: a probability rounded to 0 decimals is the class, its own mistake)."""
    exact = _exact(model, function)
    if exact is None:
        return []

    def fits(got, **inputs):
        with np.errstate(all="ignore"):
            right = _a(exact(**inputs))
        return any(same(got, np.round(right, k)) for k in range(1, 5))

    return [Mistake("rounded", None, (
        f"your {function} rounds its result (round(..., k) or np.round): return the exact value; "
        "the slides print their figures rounded to a few digits, the functions compute them "
        "exactly (round only what you print)"), fits=fits)]


for _model, _function in MISTAKES:   # every step with a float result may also be rounded
    MISTAKES[_model, _function] = MISTAKES[_model, _function] + rounded(_model, _function)


def catalogue(model, function) -> list[Mistake]:
    return MISTAKES.get((model, function), []) + MISTAKES.get(("any", function), [])


# --------------------------------------------------------------------------- diagnosis

def candidates(model, function, observations, rtol=1e-6, atol=1e-9) -> list[Mistake]:
    """The known mistakes that reproduce every observation (and, where the right values are
    known, that differ from them somewhere: a right answer fits no mistake)."""
    known = [o for o in observations if o.expected is not None]
    if known and all(same(o.got, o.expected, rtol, atol) for o in known) and not any(
            o.expected is None for o in observations):
        return []
    return [m for m in catalogue(model, function)
            if all(reproduces(m, o, rtol, atol) for o in observations)]


def verdict(found) -> str | None:
    """The hint for the mistakes that reproduce everything: one meaning, that hint; two, what
    either would mean; more, none."""
    hints = list(dict.fromkeys(m.hint for m in found))
    if len(hints) == 1:
        return hints[0]
    if len(hints) == 2:
        return ("your values fit two known mistakes, and the inputs tried cannot tell them apart: "
                f"either {hints[0]}; or {hints[1]}")
    return None


def diagnose(model, function, observations, probe=None, rtol=1e-6, atol=1e-9) -> str | None:
    """The hint for what the student's function computed, from every call a check made of it
    (`observations`), or None. `probe()`, if given, returns more observations (the function's
    other inputs); it is asked only while some mistake is left to confirm or rule out."""
    observations = [o if isinstance(o, Observation) else Observation(*o) for o in observations]
    found = candidates(model, function, observations, rtol, atol)
    if found and probe is not None:
        more = list(probe())
        found = [m for m in found if all(reproduces(m, o, rtol, atol) for o in more)]
    return verdict(found)


def match(model, function, inputs, got, rtol=1e-6, atol=1e-9):
    """The hint of the one known mistake that reproduces `got` from `inputs`, if any."""
    return diagnose(model, function, [Observation(inputs, got)], rtol=rtol, atol=atol)


# --------------------------------------------------------------------------- not finite

def not_finite_hint(model, function, inputs=None) -> str:
    """Why a result is NaN or infinite, with the likely cause for this step."""
    inputs = inputs or {}
    if function == "sigmoid" or (function == "predict" and model == "logistic"):
        return ("the result is not finite: e^(±z) overflows for large |z| (np.exp(710) is inf, and "
                "inf / inf is NaN, as in e^z / (1 + e^z)); 1 / (1 + np.exp(−z)) stays finite, or "
                "clip z (slide 24)")
    if function == "loss" and model == "logistic":
        y_hat = inputs.get("y_hat")
        if y_hat is not None and y_hat in (0.0, 1.0):
            return ("the result is not finite: log(0) in the cross-entropy, for ŷ of exactly "
                    f"{y_hat:g}; clip ŷ to [1e-15, 1 − 1e-15] or add a small eps (slide 28)")
        if y_hat is not None and min(y_hat, 1 - y_hat) < 1e-6:
            return ("the result is not finite: log(0) in the cross-entropy: ŷ = "
                    f"{y_hat:.10g} is so close to {round(y_hat):d} that it became exactly "
                    f"{round(y_hat):d} (float32, or rounding), and 0·log 0 is NaN; compute in "
                    "float64, or clip ŷ (slide 28)")
        return ("the result is not finite: the log of 0 or of a negative number; log ŷ and "
                "log(1 − ŷ) need 0 < ŷ < 1, so check what each log is taken of (slide 28)")
    if function == "train" and model == "logistic":
        return ("a loss is not finite: log(0) in the cross-entropy, from a ŷ of exactly 0 or 1 "
                "(a predict that returns the class, σ rounded to 1 for a large z, or loss called as "
                "loss(y, y_hat)): predict "
                "must return σ(θᵀx) strictly between 0 and 1, or loss must clip ŷ (slides 27, 28)")
    if function == "train":
        return ("the result is not finite: θ grew without bound (an update that does not use "
                "θ − η∇θL with the given lr diverges), or a step returned NaN")
    return ("the result is not finite: look for a division by zero, the log or square root of "
            "a negative number, or an overflow")
