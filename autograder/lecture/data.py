"""The lecture as data: datasets, worked values and the rubric, loaded from data/."""
from __future__ import annotations

import csv
import functools
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib



def data_dir() -> Path:
    """data/ of the repository, or the copy inside an installed wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package.parent / "data", package / "data"):
        if (candidate / "rubric.toml").is_file():
            return candidate
    raise FileNotFoundError(f"gdkit's data/ folder is missing (looked beside {package})")


@dataclass(frozen=True)
class Value:
    step: str        # z, y_hat, loss, gradient, theta, class
    slide: int
    figure: str      # as the slide prints it
    exact: object    # float, int or list of floats
    erratum: int | None = None


@dataclass(frozen=True)
class Example:
    id: str
    model: str       # linear or logistic
    title: str
    theta: np.ndarray
    x: np.ndarray
    y: float | None
    lr: float | None
    values: dict     # step -> Value


@dataclass(frozen=True)
class Training:
    id: str
    model: str
    title: str
    slides: str
    X: np.ndarray
    y: np.ndarray
    theta: np.ndarray
    lr: float
    epochs: int
    theta_exact: np.ndarray
    losses_exact: np.ndarray


@functools.cache
def dataset(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) of a dataset: X has the leading column of ones, y is float."""
    with open(data_dir() / f"{name}.csv", newline="") as f:
        rows = [[float(v) for v in row] for row in list(csv.reader(f))[1:] if row]
    table = np.array(rows)
    X = np.column_stack([np.ones(len(table)), table[:, :-1]])
    return X, table[:, -1]


DATASETS = {"salary": "Data #0 (slides 3–5)", "pass_fail": "Data #1 (slides 21–36)",
            "pass_fail_multi": "Data #2 (slides 37–49)"}


@functools.cache
def _worked() -> dict:
    with open(data_dir() / "worked_values.toml", "rb") as f:
        return tomllib.load(f)


@functools.cache
def examples() -> tuple[Example, ...]:
    out = []
    for e in _worked()["example"]:
        values = {v["step"]: Value(v["step"], v["slide"], v["figure"], v["exact"], v.get("erratum"))
                  for v in e["value"]}
        out.append(Example(e["id"], e["model"], e["title"], np.array(e["theta"], float),
                           np.array(e["x"], float), e.get("y"), e.get("lr"), values))
    return tuple(out)


@functools.cache
def trainings() -> tuple[Training, ...]:
    out = []
    for t in _worked()["training"]:
        if t["dataset"] == "inline":
            X, y = np.array(t["X"], float), np.array(t["y"], float)
        else:
            X, y = dataset(t["dataset"])
            X, y = X[: t.get("rows", len(X))], y[: t.get("rows", len(y))]
        out.append(Training(t["id"], t["model"], t["title"], t["slides"], X, y,
                            np.array(t["theta"], float), t["lr"], t["epochs"],
                            np.array(t["theta_exact"], float), np.array(t["losses_exact"], float)))
    return tuple(out)


@functools.cache
def errata() -> dict[int, str]:
    """The Errata of lecture.md, by number, as one-line summaries."""
    return {int(number): text for number, text in _worked()["errata"].items()}


@dataclass(frozen=True)
class Points:
    points: Fraction
    style: Fraction


@functools.cache
def rubric() -> dict[str, Points]:
    """Points per 'module.function', from data/rubric.toml."""
    with open(data_dir() / "rubric.toml", "rb") as f:
        raw = tomllib.load(f)
    out = {}
    for module, functions in raw.items():
        for function, entry in functions.items():
            points = Fraction(str(entry["points"]))
            style = Fraction(str(entry.get("style", 0)))
            if not 0 <= style <= points:
                raise ValueError(f"rubric: {module}.{function} has style > points")
            out[f"{module}.{function}"] = Points(points, style)
    return out
