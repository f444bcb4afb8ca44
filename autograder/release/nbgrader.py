"""An nbgrader course from the reference solutions: `gdkit release nbgrader COURSE_DIR`.

Writes

    COURSE_DIR/nbgrader_config.py
    COURSE_DIR/source/<assignment>/<module>.ipynb      one notebook per module of solutions/
    COURSE_DIR/source/<assignment>/data/*.csv          the datasets the notebooks read

Each notebook teaches its module as the slides do: the five steps; for each function its formula
and its docstring (markdown), a solution cell holding the function exactly as solutions/ has it
(nbgrader's `### BEGIN SOLUTION` / `### END SOLUTION` markers; `nbgrader generate_assignment`
strips the solution), the slides' worked example printed next to the expected value (read at run
time from data/worked_values.toml through autograder.lecture), and one autograded test cell that
grades ONE function with gdkit's checks (autograder.drivers.nbgrader.grade), worth its points in
data/rubric.toml; then the function trained on the lecture's data, with plots (matplotlib is
optional). Every cell but the solution cells is locked, so that nbgrader restores it before
grading. The cells' nbgrader metadata is schema v3.

The notebooks are plain nbformat v4.5 JSON: writing them needs neither nbformat nor nbgrader.
"""
from __future__ import annotations

import ast
import json
import re
import shutil
import textwrap
from pathlib import Path

from .. import __version__, lecture
from ..drivers import nbgrader as driver

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "gd_regression"
DATA_FILES = ("salary.csv", "pass_fail.csv", "pass_fail_multi.csv")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"

FIVE_STEPS = """\
**The five steps of one-sample gradient descent** (slides 8, 26 and 51):

1. Pick a sample (x, y) from the training data
2. Compute the output ŷ
3. Compute the loss
4. Compute the derivative (gradient)
5. Update the parameters; η is the learning rate"""

FORMULAS = {  # (model, function) -> the slide's formula, in LaTeX
    ("linear", "predict"): r"\hat y = w x + b",
    ("linear", "loss"): r"L = (\hat y - y)^2",
    ("linear", "gradient"): r"\frac{\partial L}{\partial w} = 2x(\hat y - y), \qquad "
                            r"\frac{\partial L}{\partial b} = 2(\hat y - y)",
    ("linear", "update"): r"w \leftarrow w - \eta \frac{\partial L}{\partial w}, \qquad "
                          r"b \leftarrow b - \eta \frac{\partial L}{\partial b}",
    ("vector", "predict"): r"\hat y = \theta^T x = x^T \theta",
    ("vector", "loss"): r"L = (\hat y - y)^2",
    ("vector", "gradient"): r"\nabla_\theta L = 2x(\hat y - y)",
    ("vector", "update"): r"\theta \leftarrow \theta - \eta \nabla_\theta L",
    ("logistic", "sigmoid"): r"\sigma(z) = \frac{1}{1 + e^{-z}}",
    ("logistic", "predict"): r"\hat y = \sigma(\theta^T x)",
    ("logistic", "loss"): r"L(\theta) = -y \log \hat y - (1 - y) \log(1 - \hat y)",
    ("logistic", "gradient"): r"\nabla_\theta L = x(\hat y - y)",
    ("logistic", "update"): r"\theta \leftarrow \theta - \eta \nabla_\theta L",
    ("logistic", "classify"): r"\text{class} = 1 \text{ if } \hat y \ge 0.5 \text{, else } 0",
}
FLAVOUR = {"linear_regression_basic": "linear", "linear_regression_numpy": "vector",
           "logistic_regression": "logistic"}

DATA_CELLS = {
    "linear_regression_basic": '''\
# Data #0 (slides 3-5): Level -> Salary, read from data/salary.csv with plain Python
import csv

with open("data/salary.csv", newline="") as f:
    rows = list(csv.DictReader(f))
levels = [float(row["level"]) for row in rows]
salaries = [float(row["salary"]) for row in rows]
print("levels:  ", levels)
print("salaries:", salaries)''',
    "linear_regression_numpy": '''\
# Data #0 (slides 3-5): Level -> Salary, read from data/salary.csv; X gets a leading column of 1s
salary = np.loadtxt("data/salary.csv", delimiter=",", skiprows=1)
X_salary = np.column_stack([np.ones(len(salary)), salary[:, 0]])   # rows x = [1, level]
y_salary = salary[:, 1]
print(X_salary)
print(y_salary)''',
    "logistic_regression": '''\
# Data #1 (slides 21-23): Hours -> Pass; Data #2 (slide 37): Day, Hours -> Pass.
# Each X gets a leading column of 1s, so that theta = [b, w1, ...].
data1 = np.loadtxt("data/pass_fail.csv", delimiter=",", skiprows=1)
X1, y1 = np.column_stack([np.ones(len(data1)), data1[:, :-1]]), data1[:, -1]
data2 = np.loadtxt("data/pass_fail_multi.csv", delimiter=",", skiprows=1)
X2, y2 = np.column_stack([np.ones(len(data2)), data2[:, :-1]]), data2[:, -1]
print("Data #1: x = [1, hours]\\n", X1, y1)
print("Data #2: x = [1, day, hours]\\n", X2, y2)''',
}

FIT_CELLS = {  # after train: the model on the lecture's data, with plots
    "linear_regression_basic": '''\
# Train on Data #0 (slides 3-5) and answer slide 3's questions: the salary at level 3.5 and 10.
fitted = attempt(train, levels, salaries, 0.0, 0.0, 0.01, 100)
if fitted is not None:
    w, b, losses = fitted
    print(f"after 100 epochs with lr = 0.01: y = {w:.4f} x + {b:.4f}")
    print("least squares, for comparison: y = {:.4f} x + {:.4f}".format(*least_squares(levels, salaries)))
    for level in (3.5, 10):
        print(f"level {level}: predicted salary {attempt(predict, level, w, b)}")
    plot_fit(levels, salaries, w, b, xlabel="level", ylabel="salary", title="Data #0 and your line")
    plot_losses(losses)''',
    "linear_regression_numpy": '''\
# Train on Data #0 (slides 3-5) and answer slide 3's questions: the salary at level 3.5 and 10.
fitted = attempt(train, X_salary, y_salary, np.zeros(2), 0.01, 100)
if fitted is not None:
    theta, losses = fitted
    print(f"after 100 epochs with lr = 0.01: theta = [b, w] = {theta}")
    print("least squares, for comparison: y = {:.4f} x + {:.4f}".format(*least_squares(X_salary[:, 1], y_salary)))
    for level in (3.5, 10):
        print(f"level {level}: predicted salary {attempt(predict, np.array([1.0, level]), theta)}")
    plot_fit(X_salary[:, 1], y_salary, theta[1], theta[0], xlabel="level", ylabel="salary",
             title="Data #0 and your line")
    plot_losses(losses)''',
    "logistic_regression": '''\
# Train on Data #1 (slides 21-36) and answer its questions: Pass for 0.25 h and 4.5 h.
fitted = attempt(train, X1, y1, np.array([0.1, 0.1]), 0.1, 1000)
if fitted is not None:
    theta1, losses1 = fitted
    print(f"Data #1 after 1000 epochs with lr = 0.1: theta = [b, w] = {theta1}")
    for hours in (0.25, 4.5):
        y_hat = attempt(predict, np.array([1.0, hours]), theta1)
        print(f"{hours} h: y_hat = {y_hat}, class {attempt(classify, y_hat)}")
    plot_probability(X1, y1, theta1)
    plot_losses(losses1)

# Train on Data #2 (slides 37-51) and answer its questions: (Day 2, 0.25 h) and (Day 1, 4.5 h).
fitted = attempt(train, X2, y2, np.array([0.1, 0.2, 0.1]), 0.1, 1000)
if fitted is not None:
    theta2, losses2 = fitted
    print(f"Data #2 after 1000 epochs with lr = 0.1: theta = [b, w1, w2] = {theta2}")
    for day, hours in ((2, 0.25), (1, 4.5)):
        y_hat = attempt(predict, np.array([1.0, day, hours]), theta2)
        print(f"day {day}, {hours} h: y_hat = {y_hat}, class {attempt(classify, y_hat)}")
    plot_boundary(X2, y2, theta2)''',
}

HELPERS = ("grade", "worked", "worked_training", "attempt", "least_squares", "plot_fit",
           "plot_losses", "plot_sigmoid", "plot_probability", "plot_boundary")


# --------------------------------------------------------------------------- cells

def _lines(text: str) -> list[str]:
    """nbformat's multiline string: a list of lines, each but the last ending in a newline."""
    lines = text.splitlines(keepends=True)
    if lines and lines[-1].endswith("\n"):
        lines[-1] = lines[-1][:-1]
    return lines


def grade_id(key: str, part: str = "") -> str:
    """The nbgrader grade_id of a function's cell: 'linear_regression_basic-loss' for its test cell
    (nbgrader's schema allows only letters, digits, '_' and '-'), with '-<part>' for the others."""
    return key.replace(".", "-") + (f"-{part}" if part else "")


def _cell_id(grade_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "-", grade_id)[:64]


def _metadata(grade_id, *, grade=False, solution=False, locked=True, points=None) -> dict:
    meta = {"schema_version": 3, "grade": grade, "solution": solution, "locked": locked,
            "grade_id": grade_id}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(grade_id: str, text: str) -> dict:
    return {"cell_type": "markdown", "id": _cell_id(grade_id), "metadata": _metadata(grade_id),
            "source": _lines(text)}


def code(grade_id: str, text: str, **nbgrader) -> dict:
    nbgrader.setdefault("locked", not nbgrader.get("solution", False))
    return {"cell_type": "code", "id": _cell_id(grade_id), "execution_count": None,
            "metadata": _metadata(grade_id, **nbgrader), "outputs": [], "source": _lines(text)}


def _points(value):
    return int(value) if value == int(value) else float(value)


# --------------------------------------------------------------------------- the solution file

def split_solution(source: str, name: str = "<solution>"):
    """(module docstring, module-level import lines, [(function name, exact source, node)])."""
    tree = ast.parse(source, filename=name)
    lines = source.splitlines(keepends=True)
    doc = ast.get_docstring(tree, clean=True) or ""
    imports, functions = [], []
    for node in tree.body:
        text = "".join(lines[node.lineno - 1:node.end_lineno]).rstrip("\n")
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(text)
        elif isinstance(node, ast.FunctionDef):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list])
            end = node.end_lineno   # and the indented comments after the last statement
            while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
                end += 1
            text = "".join(lines[start - 1:end]).rstrip()
            functions.append((node.name, text, node))
    for fname, text, _ in functions:
        if text.count(BEGIN) != 1 or text.count(END) != 1:
            raise ValueError(f"{name}: {fname} must hold one {BEGIN!r} ... {END!r} region")
    return doc, imports, functions


def docstring_markdown(doc: str) -> str:
    """A Google-style docstring as markdown: paragraphs, and Args/Returns/Points sections."""
    out, section = [], None
    for block in re.split(r"\n\s*\n", doc.strip()):
        head, _, rest = block.partition("\n")
        if head.strip() in ("Args:", "Returns:", "Raises:"):
            section = head.strip()[:-1]
            body = textwrap.dedent(rest)
            if section == "Args":
                items, current = [], None
                for line in body.splitlines():
                    match = re.match(r"^(\w+): (.*)$", line)
                    if match:
                        current = [f"- `{match[1]}`: {match[2]}"]
                        items.append(current)
                    elif current is not None:
                        current.append(line.strip())
                out.append("**Arguments**\n\n" + "\n".join(" ".join(item) for item in items))
            else:
                out.append(f"**{section}:** " + " ".join(body.split()))
        elif head.startswith("Points:"):
            out.append(f"**Points:** {head[len('Points:'):].strip()} {' '.join(rest.split())}".rstrip())
        else:
            out.append(" ".join(block.split()))
    return "\n\n".join(out)


def _signature(node: ast.FunctionDef) -> str:
    args = ast.unparse(node.args)
    return f"{node.name}({args})"


# --------------------------------------------------------------------------- the notebooks

def notebook(module: str, source: str) -> dict:
    """The source notebook of one solution module."""
    spec = lecture.MODULE[module]
    rubric = lecture.rubric()
    doc, imports, functions = split_solution(source, f"{module}.py")
    missing = {f.name for f in spec.functions} - {name for name, _, _ in functions}
    if missing:
        raise ValueError(f"{module}.py lacks {', '.join(sorted(missing))}")
    total = sum(rubric[f"{module}.{name}"].points for name, _, _ in functions)
    summary, _, rest = doc.partition("\n\n")
    cells = [markdown("intro", "\n\n".join(p for p in (
        f"# {module}: {spec.title}", " ".join(summary.split()), docstring_markdown(rest),
        FIVE_STEPS,
        f"**How this notebook is graded** ({_points(total)} points). Write each function in its "
        "cell, then run the cell below it: it prints your result on the slides' worked example "
        "next to the expected value. The test cell after it grades that one function with "
        "gdkit's checks (the same as `gdkit grade`), in an isolated worker process; it shows the "
        "public checks (the lecture's worked values) and their points, and the hidden checks "
        "run when the notebook is graded. A function that fails, or never returns, costs only "
        "its own points (and those of `train`, which calls it). Run the cells in order.") if p))]
    helpers = ", ".join(HELPERS)
    cells.append(code("setup", "# gdkit's notebook helpers: grading, worked examples, plots\n"
                               f"from autograder.drivers.nbgrader import ({helpers})"))
    if imports:
        cells.append(code("imports", "\n".join(imports)))
    cells.append(code("data", DATA_CELLS[module]))
    for name, text, node in functions:
        key = f"{module}.{name}"
        step = lecture.STEPS[name]
        points = _points(rubric[key].points)
        formula = FORMULAS.get((FLAVOUR[module], name))
        fdoc = ast.get_docstring(node, clean=True) or ""
        head = f"## {step.step[0].upper()}{step.step[1:]}: `{_signature(node)}`  ({points} points)"
        cells.append(markdown(grade_id(key, "doc"), "\n\n".join(p for p in (
            head, f"$${formula}$$" if formula else "", docstring_markdown(fdoc)) if p)))
        cells.append(code(grade_id(key, "solution"), text, solution=True))
        demo = [f'worked("{key}", {name}, "{ex}")' for ex in driver.examples_for(key)]
        demo += [f'worked_training("{key}", {name}, "{t}")' for t in driver.trainings_for(key)]
        if demo:
            cells.append(code(grade_id(key, "try"), "# your function on the slides' worked example(s), "
                                            "next to the expected values\n" + "\n".join(demo)))
        if (FLAVOUR[module], name) == ("logistic", "sigmoid"):
            cells.append(code(grade_id(key, "plot"), "# your sigmoid, drawn (slides 24-25)\n"
                                             "plot_sigmoid(sigmoid)"))
        cells.append(code(grade_id(key), test_cell(key, points), grade=True, points=points))
    cells.append(markdown("fit-doc", "## The five steps on the lecture's data\n\nYour `train` on "
                          "the datasets of the slides, and the slides' questions answered with "
                          "your model. (No points here: the test cells above grade.)"))
    cells.append(code("fit", FIT_CELLS[module]))
    return {"cells": cells, "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}


def test_cell(key: str, points) -> str:
    module, name = key.split(".")
    return "\n".join((
        f"# Grades {name} ({points} points) with gdkit's checks, in an isolated worker process.",
        "# While you work it runs the public checks (the slides' worked values); the hidden",
        "# checks run when the notebook is graded.",
        "from autograder.drivers.nbgrader import grade",
        "hidden_tests = False",
        HIDDEN_BEGIN,
        "hidden_tests = True",
        HIDDEN_END,
        f'grade("{key}", hidden_tests)'))


CONFIG = '''\
# nbgrader's configuration for the gradient-descent course, written by `gdkit release nbgrader`
# (gdkit {version}). See gdkit's docs/nbgrader.md.
c = get_config()

c.CourseDirectory.course_id = "{course}"
# Each test cell grades one function; gdkit's per-call timeout ({timeout:g} s) and per-cell budget
# ({budget:g} s) stop a student's endless loop well before nbgrader kills the cell at this limit.
c.Execute.timeout = 30
c.ClearSolutions.code_stub = {{"python": {stub!r}}}
'''


def _solution_modules(solutions_dir: Path) -> list[Path]:
    found = {p.stem: p for p in Path(solutions_dir).glob("*.py") if not p.name.startswith("_")}
    return [found[m.name] for m in lecture.MODULES if m.name in found]


def build(course_dir, *, assignment: str = ASSIGNMENT, solutions_dir=None, course: str = "gdkit"):
    """Write the course; return the paths written."""
    course_dir = Path(course_dir)
    solutions_dir = Path(solutions_dir or ROOT / "solutions")
    modules = _solution_modules(solutions_dir)
    if len(modules) != len(lecture.MODULES):
        raise FileNotFoundError(f"{solutions_dir} must hold "
                                f"{', '.join(m.name + '.py' for m in lecture.MODULES)}")
    folder = course_dir / "source" / assignment
    (folder / "data").mkdir(parents=True, exist_ok=True)
    written = []
    config = course_dir / "nbgrader_config.py"
    config.write_text(CONFIG.format(version=__version__, course=course, timeout=driver.TIMEOUT,
                                    budget=driver.BUDGET["all"], stub=CODE_STUB), encoding="utf-8")
    written.append(config)
    for path in modules:
        nb = notebook(path.stem, path.read_bytes().decode("utf-8"))
        target = folder / f"{path.stem}.ipynb"
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(target)
    for name in DATA_FILES:
        target = folder / "data" / name
        shutil.copyfile(lecture.data_dir() / name, target)
        written.append(target)
    return written
