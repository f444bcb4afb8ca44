"""Build a student submission from solutions/ plus replacements, as data.

A submission is a folder holding the three student modules. `build(folder, functions=...,
modules=...)` copies solutions/ into `folder`, then

- `functions`: {(module, function): source} replaces the top-level function `function` of
  `module.py` (its whole `def`, decorators and docstring included) by `source`. The source may hold
  other top-level statements beside the `def` (an import, a helper): they land where the old
  function stood.
- `modules`: {module: source} replaces a whole module file.

Everything else of the solution module is kept byte for byte.
"""
from __future__ import annotations

import ast
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
MODULES = ("linear_regression_basic", "linear_regression_numpy", "logistic_regression")


def defines(source: str, function: str) -> bool:
    """Whether `source` defines `function` at its top level."""
    tree = ast.parse(source)
    return any(isinstance(node, ast.FunctionDef) and node.name == function for node in tree.body)


def replace_function(module_source: str, function: str, new_source: str) -> str:
    """`module_source` with the top-level def of `function` replaced by `new_source`."""
    new_source = textwrap.dedent(new_source).strip("\n") + "\n"
    if not defines(new_source, function):
        raise ValueError(f"the replacement does not define {function}() at its top level")
    tree = ast.parse(module_source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == function:
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            end = node.end_lineno
            break
    else:
        raise ValueError(f"the module defines no top-level function {function}()")
    lines = module_source.splitlines(keepends=True)
    out = "".join(lines[:start]) + new_source + "".join(lines[end:])
    ast.parse(out)  # the result must still be valid Python
    return out


def build(folder, *, functions=None, modules=None) -> Path:
    """A submission in `folder`: solutions/ with the given functions or modules replaced."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for module in MODULES:
        shutil.copyfile(SOLUTIONS / f"{module}.py", folder / f"{module}.py")
    for module, source in (modules or {}).items():
        if module not in MODULES:
            raise ValueError(f"unknown module {module}")
        source = textwrap.dedent(source).strip("\n") + "\n"
        ast.parse(source)
        (folder / f"{module}.py").write_text(source, encoding="utf-8")
    for (module, function), source in (functions or {}).items():
        if module not in MODULES:
            raise ValueError(f"unknown module {module}")
        path = folder / f"{module}.py"
        path.write_text(replace_function(path.read_text(encoding="utf-8"), function, source),
                        encoding="utf-8")
    return folder
