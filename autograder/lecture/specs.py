"""One spec per student function: its module, slide, lecture step, symbol, canonical inputs,
oracle and place in the grading order. Adding a function, or a module, is a change here (and a
line of data/rubric.toml); the checks and every format read it from here.

Canonical inputs are the lecture's vector terms: θ = [b, w₁, …], x = [1, x₁, …]. Each module's
adapter (autograder/checks/) turns them into the module's own terms.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from . import oracles


@dataclass(frozen=True)
class Step:
    """What a lecture step is, whichever module implements it."""

    name: str
    step: str                          # the lecture step, as feedback names it
    order: int                         # place among a module's functions
    symbol: str = ""                   # how feedback names its result
    worked: str = ""                   # the worked value (data/worked_values.toml) it computes
    inputs: tuple[str, ...] = ()       # canonical inputs
    oracle: Callable | None = None     # (model, **inputs) -> the right result


STEPS = {s.name: s for s in (  # the five steps of slides 8, 26 and 51, by student function
    Step("sigmoid", "step 2, compute the output ŷ = σ(z)", -1, "σ(z)", "y_hat", ("z",),
         lambda model, z: oracles.sigmoid(z)),
    Step("predict", "step 2, compute the output ŷ", 0, "ŷ", "y_hat", ("theta", "x"),
         lambda model, theta, x: oracles.predict(model, theta, x)),
    Step("loss", "step 3, compute the loss", 1, "L", "loss", ("y_hat", "y"),
         lambda model, y_hat, y: oracles.loss(model, y_hat, y)),
    Step("gradient", "step 4, compute the derivative", 2, "∇θL", "gradient", ("x", "y_hat", "y"),
         lambda model, x, y_hat, y: oracles.gradient(model, x, y_hat, y)),
    Step("update", "step 5, update the parameters", 3, "θ after the update", "theta",
         ("theta", "grad", "lr"), lambda model, theta, grad, lr: oracles.update(theta, grad, lr)),
    Step("classify", "prediction, threshold 0.5", 4, "the class", "class", ("y_hat",),
         lambda model, y_hat, threshold=0.5: oracles.classify(y_hat, threshold)),
    Step("train", "steps 1-5, one sample at a time", 5, "θ and the losses", "",
         ("X", "y", "theta", "lr", "epochs"),
         lambda model, X, y, theta, lr, epochs: oracles.train(model, X, y, theta, lr, epochs)),
)}


@dataclass(frozen=True)
class Module:
    """A student module: which model it implements, its functions and the slides of each."""

    name: str
    model: str                         # linear or logistic: which formulas apply
    features: tuple[int, ...]          # numbers of features (besides the bias) it is tried with
    slides: dict                       # function -> the slide that states its formula
    title: str

    @property
    def functions(self) -> tuple["Function", ...]:
        return tuple(sorted((Function(self, STEPS[f]) for f in self.slides), key=lambda f: f.order))


@dataclass(frozen=True)
class Function:
    """One student function: a lecture step as one module implements it."""

    module: Module
    spec: Step

    name = property(lambda self: self.spec.name)
    step = property(lambda self: self.spec.step)
    order = property(lambda self: self.spec.order)
    symbol = property(lambda self: self.spec.symbol)
    inputs = property(lambda self: self.spec.inputs)
    slide = property(lambda self: self.module.slides[self.spec.name])

    @property
    def key(self) -> str:
        return f"{self.module.name}.{self.name}"

    def expected(self, **canon):
        """The right result on canonical inputs."""
        return self.spec.oracle(self.module.model, **canon)


def _same(slide, *functions):
    return {f: slide for f in functions}


MODULES = (
    Module("linear_regression_basic", "linear", (1,),
           _same("9", "predict", "loss", "gradient", "update", "train"),
           "linear regression with plain Python floats (slides 8-13)"),
    Module("linear_regression_numpy", "linear", (1, 2, 3),
           _same("14", "predict", "loss", "gradient", "update", "train"),
           "linear regression with NumPy vectors (slides 8, 14-18)"),
    Module("logistic_regression", "logistic", (1, 2),
           {"sigmoid": "24", "predict": "26", "loss": "28", "gradient": "29", "update": "30",
            "classify": "36", "train": "26"},
           "logistic regression, one or more features (slides 24-49)"),
)
MODULE = {m.name: m for m in MODULES}
FUNCTIONS = {f.key: f for m in MODULES for f in m.functions}   # in grading order


def function(key: str) -> Function:
    """The spec of 'module.function'."""
    return FUNCTIONS[key]


def order(key: str) -> tuple[int, int]:
    """Where 'module.function' comes in the grading order."""
    f = FUNCTIONS[key]
    return MODULES.index(f.module), f.order
