"""The lecture's formulas on the trusted side: what every check compares against.

Values are float64 NumPy; θ = [b, w₁, …] and x = [1, x₁, …] throughout. Gradients are sympy's,
derived when the package is built (`derive.py` → `gradients.py`); everything else is the slide's
formula.
"""
from __future__ import annotations

import numpy as np

from .gradients import DLOSS_DTHETA, DLOSS_DZ


def sigmoid(z):
    """σ(z) = 1 / (1 + e^(−z)), in the overflow-free form."""
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def predict(model, theta, x) -> float:
    z = float(np.dot(theta, x))
    return z if model == "linear" else float(sigmoid(z))


def loss(model, y_hat, y) -> float:
    if model == "linear":
        return float((y_hat - y) ** 2)
    return float(-y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat))


def gradient(model, x, y_hat, y) -> np.ndarray:
    """∇θL = x · dL/dz (ŷ, y), with sympy's dL/dz."""
    return np.asarray(x, dtype=float) * float(DLOSS_DZ[model][1](float(y_hat), float(y)))


def full_gradient(model, theta, x, y) -> np.ndarray:
    """sympy's ∂L/∂θ at θ, differentiated through the prediction (the chain rule's other side)."""
    return np.array(DLOSS_DTHETA[model][len(theta)](list(theta), list(x), y), dtype=float)


def update(theta, grad, lr) -> np.ndarray:
    return np.asarray(theta, dtype=float) - lr * np.asarray(grad, dtype=float)


def classify(y_hat, threshold=0.5) -> int:
    return 1 if y_hat >= threshold else 0


def train(model, X, y, theta, lr, epochs, *, order=None, after=False):
    """The five steps, one sample at a time, in data order: (theta, losses).

    `order` and `after` describe known mistakes for diagnosis: another sample order, or the loss
    recorded after the update instead of before it.
    """
    theta = np.array(theta, dtype=float)
    losses = []
    rows = range(len(X)) if order is None else order
    for _ in range(epochs):
        for i in rows:
            y_hat = predict(model, theta, X[i])
            before = loss(model, y_hat, y[i])
            theta = update(theta, gradient(model, X[i], y_hat, y[i]), lr)
            losses.append(loss(model, predict(model, theta, X[i]), y[i]) if after else before)
    return theta, np.array(losses)
