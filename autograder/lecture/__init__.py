"""The lecture as the grader knows it: data (datasets, worked values, rubric), one spec per
student function, and the formulas every check compares against (oracles, sympy's gradients)."""
from .data import (DATASETS, Example, Points, Training, Value, data_dir, dataset, errata, examples,
                   rubric, trainings)

__all__ = ["DATASETS", "Example", "Points", "Training", "Value", "data_dir", "dataset", "errata",
           "examples", "rubric", "trainings"]
from .specs import FUNCTIONS, MODULE, MODULES, STEPS, Function, Module, function, order

__all__ += ["FUNCTIONS", "MODULE", "MODULES", "STEPS", "Function", "Module", "function", "order"]
