"""Gradients derived by sympy from the lecture's loss definitions, never typed in by hand.

For each model, z = θᵀx, ŷ = link(z) and L = loss(ŷ, y). sympy differentiates L(θ) with respect
to every θⱼ, and separately dL/dz, which it rewrites in terms of ŷ by substituting the inverse
link. The chain rule ∂L/∂θⱼ = xⱼ · dL/dz is then proved symbolically, so the grader can compare a
student's `gradient(x, y_hat, y)` with x · g(ŷ, y), and a `predict`→`gradient` chain with the full
∂L/∂θ. Derivations are cached per process.
"""
from __future__ import annotations

import functools

import numpy as np


@functools.cache
def _sympy():
    import sympy  # imported on first use: ~0.4 s that only gradient checks pay

    return sympy


def _model(name):
    sp = _sympy()
    z, y, y_hat = sp.symbols("z y y_hat", real=True)
    if name == "linear":  # slides 8-18: ŷ = θᵀx, L = (ŷ − y)²
        link, inverse = (lambda t: t), (lambda p: p)
        loss = lambda p: (p - y) ** 2
    elif name == "logistic":  # slides 24-26: ŷ = σ(θᵀx), L = −y log ŷ − (1 − y) log(1 − ŷ)
        link = lambda t: 1 / (1 + sp.exp(-t))
        inverse = lambda p: sp.log(p / (1 - p))
        loss = lambda p: -y * sp.log(p) - (1 - y) * sp.log(1 - p)
    else:
        raise ValueError(name)
    return z, y, y_hat, link, inverse, loss


@functools.cache
def dloss_dz(model: str):
    """g(ŷ, y) = dL/dz written in ŷ, as a NumPy function; ∇θL = x · g(ŷ, y)."""
    sp = _sympy()
    z, y, y_hat, link, inverse, loss = _model(model)
    g_z = sp.diff(loss(link(z)), z)
    g = sp.simplify(sp.simplify(g_z.subs(z, inverse(y_hat))))
    # sanity: substituting back gives the derivative again
    assert sp.simplify(g.subs(y_hat, link(z)) - g_z) == 0, model
    return sp.lambdify((y_hat, y), g, "numpy"), g


@functools.cache
def dloss_dtheta(model: str, n: int):
    """The full gradient ∂L/∂θ (θ, x, y) for n parameters, as a NumPy function of arrays."""
    sp = _sympy()
    z, y, y_hat, link, inverse, loss = _model(model)
    theta = sp.symbols(f"theta0:{n}", real=True)
    x = sp.symbols(f"x0:{n}", real=True)
    L = loss(link(sum(t * xi for t, xi in zip(theta, x))))
    grad = [sp.diff(L, t) for t in theta]
    _, g = dloss_dz(model)
    for j in range(n):  # the chain rule, proved: ∂L/∂θⱼ = xⱼ · g(ŷ, y) with ŷ = link(θᵀx)
        zz = sum(t * xi for t, xi in zip(theta, x))
        assert sp.simplify(grad[j] - x[j] * g.subs(y_hat, link(zz))) == 0, (model, j)
    f = sp.lambdify((theta, x, y), grad, "numpy")
    return lambda th, xs, yy: np.array(f(list(th), list(xs), yy), dtype=float)


def gradient(model: str, x, y_hat, y) -> np.ndarray:
    """∇θL = x · dL/dz (ŷ, y), from sympy."""
    g, _ = dloss_dz(model)
    return np.asarray(x, dtype=float) * float(g(float(y_hat), float(y)))


def formula(model: str) -> str:
    """The derived dL/dz in ŷ, as text for feedback: e.g. 'y_hat - y'."""
    return str(dloss_dz(model)[1])
