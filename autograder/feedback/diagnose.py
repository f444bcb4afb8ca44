"""A catalogue of known mistakes, matched on the trusted side.

Each mistake recomputes, from the same inputs a check used, what a typical wrong implementation
returns. When a student's answer matches one of them, the feedback names the mistake. Inputs are
canonical: θ = [b, w, ...], x = [1, x, ...]; results are floats or float arrays (gradients and
updates in θ's order).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..lecture import oracles
from ..checks.base import close


@dataclass(frozen=True)
class Mistake:
    name: str
    value: Callable   # (**inputs) -> the wrong value
    hint: str


def _sig(z):
    return float(oracles.sigmoid(z))


def _bce(y_hat, y, log=np.log):
    return float(-y * log(y_hat) - (1 - y) * log(1 - y_hat))


MISTAKES: dict[tuple[str, str], list[Mistake]] = {
    ("linear", "predict"): [
        Mistake("no bias", lambda theta, x: float(np.dot(theta[1:], x[1:])),
                "the bias b is missing: ŷ = wx + b (slide 8)"),
        Mistake("w and b swapped", lambda theta, x: float(theta[0] * x[1] + theta[1]) if len(x) == 2 else None,
                "w and b are swapped: ŷ = wx + b, and θ = [b, w] puts the bias first (slide 6)"),
        Mistake("one feature", lambda theta, x: float(theta[0] + theta[1] * x[1]) if len(x) > 2 else None,
                "only the first feature is used: ŷ = θᵀx takes every entry of x and θ (x @ theta, slide 14)"),
    ],
    ("logistic", "predict"): [
        Mistake("z, not σ(z)", lambda theta, x: float(np.dot(theta, x)),
                "this is z = θᵀx; the prediction is ŷ = σ(z) (slide 27)"),
        Mistake("σ(−z)", lambda theta, x: _sig(-np.dot(theta, x)),
                "this is σ(−z): σ(z) = 1 / (1 + e^(−z)) (slide 24)"),
        Mistake("no bias", lambda theta, x: _sig(np.dot(theta[1:], x[1:])),
                "the bias is missing: z = θᵀx with x = [1, x₁, …] (slide 26)"),
        Mistake("class", lambda theta, x: float(_sig(np.dot(theta, x)) >= 0.5),
                "this is the class (ŷ ≥ 0.5); predict returns the probability ŷ = σ(θᵀx) (slide 27)"),
        Mistake("one feature", lambda theta, x: _sig(theta[0] + theta[1] * x[1]) if len(x) > 2 else None,
                "only the first feature is used: z = θᵀx takes every entry of x and θ (slide 40)"),
    ],
    ("linear", "loss"): [
        Mistake("not squared", lambda y_hat, y: float(y_hat - y), "square the difference: L = (ŷ − y)² (slide 8)"),
        Mistake("absolute", lambda y_hat, y: float(abs(y_hat - y)), "square the difference: L = (ŷ − y)² (slide 8)"),
        Mistake("halved", lambda y_hat, y: float((y_hat - y) ** 2 / 2), "the lecture's loss has no ½: L = (ŷ − y)² (slide 8)"),
    ],
    ("logistic", "loss"): [
        Mistake("no minus", lambda y_hat, y: -_bce(y_hat, y), "the minus sign is missing: L = −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
        Mistake("log10", lambda y_hat, y: _bce(y_hat, y, np.log10), "use the natural log (np.log), not log10 (slide 28)"),
        Mistake("terms swapped", lambda y_hat, y: _bce(1 - y_hat, y), "the terms are swapped: −y log ŷ − (1 − y) log(1 − ŷ) (slide 28)"),
        Mistake("squared error", lambda y_hat, y: float((y_hat - y) ** 2), "this is the squared error of linear regression; logistic regression uses the cross-entropy (slide 28)"),
    ],
    ("linear", "gradient"): [
        Mistake("no factor 2", lambda x, y_hat, y: np.asarray(x) * (y_hat - y), "the factor 2 is missing: ∂L/∂w = 2x(ŷ − y), ∂L/∂b = 2(ŷ − y) (slide 8)"),
        Mistake("sign", lambda x, y_hat, y: np.asarray(x) * 2 * (y - y_hat), "the sign is flipped: it is 2x(ŷ − y), not 2x(y − ŷ) (slide 8)"),
        Mistake("order", lambda x, y_hat, y: (np.asarray(x) * 2 * (y_hat - y))[::-1], "the two parts are swapped: ∂L/∂w = 2x(ŷ − y) goes with w and ∂L/∂b = 2(ŷ − y) with b"),
        Mistake("no x", lambda x, y_hat, y: np.full(len(x), 2.0 * (y_hat - y)), "∂L/∂w has the factor x: ∂L/∂w = 2x(ŷ − y) (slide 8)"),
        Mistake("x in db", lambda x, y_hat, y: np.full(2, 2.0 * x[1] * (y_hat - y)) if len(x) == 2 else None,
                "∂L/∂b has no factor x: ∂L/∂b = 2(ŷ − y), only ∂L/∂w = 2x(ŷ − y) has it (slide 8)"),
    ],
    ("logistic", "gradient"): [
        Mistake("factor 2", lambda x, y_hat, y: np.asarray(x) * 2 * (y_hat - y), "that is the linear regression gradient: for the cross-entropy, ∇θL = x(ŷ − y), with no factor 2 (slide 29)"),
        Mistake("MSE through σ", lambda x, y_hat, y: np.asarray(x) * 2 * (y_hat - y) * y_hat * (1 - y_hat), "that is the gradient of the squared error through σ; the cross-entropy gives ∇θL = x(ŷ − y) (slide 29)"),
        Mistake("MSE through σ, no 2", lambda x, y_hat, y: np.asarray(x) * (y_hat - y) * y_hat * (1 - y_hat), "the factor ŷ(1 − ŷ) cancels with the cross-entropy: ∇θL = x(ŷ − y) (slide 29)"),
        Mistake("sign", lambda x, y_hat, y: np.asarray(x) * (y - y_hat), "the sign is flipped: ∇θL = x(ŷ − y), not x(y − ŷ) (slide 29)"),
        Mistake("no x", lambda x, y_hat, y: np.full(len(x), float(y_hat - y)), "multiply by x: ∇θL = x(ŷ − y) (slide 29)"),
    ],
    ("any", "update"): [
        Mistake("plus", lambda theta, grad, lr: np.asarray(theta) + lr * np.asarray(grad), "step against the gradient: θ = θ − η∇θL, with a minus (slide 8)"),
        Mistake("no lr", lambda theta, grad, lr: np.asarray(theta) - np.asarray(grad), "multiply the gradient by the learning rate η: θ = θ − η∇θL (slide 8)"),
        Mistake("fixed lr", lambda theta, grad, lr: np.asarray(theta) - 0.1 * np.asarray(grad) if lr != 0.1 else None, "use the lr argument, not a fixed 0.1"),
        Mistake("order", lambda theta, grad, lr: (np.asarray(theta) - lr * np.asarray(grad))[::-1], "the results are swapped: return them in the order the contract gives"),
    ],
    ("any", "sigmoid"): [
        Mistake("e^z", lambda z: oracles.sigmoid(-np.asarray(z, float)), "σ(z) = 1 / (1 + e^(−z)): the exponent is −z (slide 24)"),
        Mistake("no 1+", lambda z: np.exp(np.asarray(z, float)), "σ(z) = 1 / (1 + e^(−z)): the 1 + is missing (slide 24)"),
    ],
}


def match(model, function, inputs, got, rtol=1e-6, atol=1e-9):
    """The hint of the first known mistake that reproduces `got` from `inputs`, if any."""
    for key in ((model, function), ("any", function)):
        for mistake in MISTAKES.get(key, ()):
            try:
                wrong = mistake.value(**inputs)
            except Exception:
                continue
            if wrong is not None and close(got, wrong, rtol, atol):
                return mistake.hint
    return None


def training(model, run, got_theta, got_losses, rtol=1e-6, atol=1e-9):
    """A hint for a training run that went wrong, or None. `run` holds X, y, theta, lr, epochs."""
    X, y, theta, lr, epochs = run
    n = len(X)
    fixed_lr = "use the lr argument, not a fixed 0.1"
    if any(np.isclose(factor * lr, 0.1) for factor in (2, 0.5)):
        # lr = 0.05 or 0.2: a step of 0.1·∇ is also the step of lr times a gradient off by 2
        fixed_lr = (f"θ moved as if lr were 0.1 instead of {lr:g}, or as if the gradient were off "
                    "by a factor 2: check that train passes lr on to the update and that gradient "
                    "is right")
    variants = [
        ("one epoch", dict(epochs=1), "train runs for every epoch: `epochs` passes over the data"),
        ("loss after update", dict(after=True), "record each loss before the update, right after "
                                               "computing ŷ (step 3 comes before step 5)"),
        ("fixed lr", dict(lr=0.1), fixed_lr),
        ("reversed order", dict(order=list(range(n))[::-1]), "take the samples in data order"),
        ("no update", dict(lr=0.0), "θ never changes: apply the update of step 5 to every sample"),
    ]
    for name, change, hint in variants:
        if name == "fixed lr" and lr == 0.1:
            continue
        args = dict(epochs=epochs, lr=lr)
        args.update({k: v for k, v in change.items() if k in args})
        options = {k: v for k, v in change.items() if k not in args}
        wrong_theta, wrong_losses = oracles.train(model, X, y, theta, args["lr"], args["epochs"], **options)
        theta_matches = got_theta is not None and close(got_theta, wrong_theta, rtol, atol)
        losses_match = got_losses is not None and close(got_losses, wrong_losses, rtol, atol)
        if theta_matches and (losses_match or got_losses is None):
            return hint
        if losses_match and name == "loss after update":
            return hint
    if got_losses is not None and len(got_losses) == n and epochs > 1:
        return "train runs for every epoch: `epochs` passes over the data, epochs × n losses"
    return None
