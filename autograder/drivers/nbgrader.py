"""The nbgrader driver: what a generated notebook's cells call (see docs/nbgrader.md).

    from autograder.drivers.nbgrader import grade, worked, worked_training, attempt
    grade("linear_regression_basic.loss")     # in a test cell: prints feedback, returns the points

A test cell grades ONE function with the same checks as `gdkit grade`:

1. it collects the student's code of that function's module from the running kernel (the cells
   executed so far, from IPython's input history), keeping only what a module file should hold
   (imports, functions, classes and constants): a cell that is a syntax error is left out, a
   cell that raised keeps its definitions, an import that cannot be resolved is dropped, so that
   each costs only the functions that depend on it;
2. writes it as `<module>.py` into a temporary submission folder and runs that function's checks
   with `engine.grader.Grader` in the isolated worker (student code never runs here, in the
   kernel, during grading), under a Policy with a per-call timeout and a per-cell budget;
3. prints the feedback to stdout only (stderr is sent to stdout, warnings are silenced: nbgrader
   gives 0 points to a cell that writes to stderr);
4. returns the points earned as a plain float, never above the function's rubric points.

A cell grades the public checks (the lecture's worked values) unless it is told to grade every
check: the generated test cells set `hidden_tests = True` inside nbgrader's hidden-tests region,
so students see the public checks while they work, and `nbgrader autograde` runs them all.

The other helpers serve the notebook's demonstrations, which do run the student's code in the
kernel (never for points): `attempt` (one call with an alarm), `worked` and `worked_training`
(a slide's worked value next to what the student's function returns), and the plots, which need
matplotlib (the extra `plot`) and print a line instead when it is missing.
"""
from __future__ import annotations

import ast
import contextlib
import importlib.util
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

from .. import lecture

TIMEOUT = 2.0                              # seconds per call into the student's code
BUDGET = {"public": 4.0, "all": 8.0}       # seconds for all calls of one cell (one function)
DEMO_TIMEOUT = 2.0                         # seconds a demonstration call may take in the kernel
PUBLIC_KINDS = frozenset({"worked", "training"})   # the lecture's own numbers
# imports that never reach the worker: the grader itself, the notebook machinery, plotting
SKIP_IMPORTS = frozenset({"autograder", "IPython", "ipykernel", "ipywidgets", "matplotlib"})
RESERVED = frozenset({"hidden_tests"})     # names the generated test cells assign
BASIC = "linear_regression_basic"          # the module whose style checks need a NumPy-less worker


# --------------------------------------------------------------------------- the student's code

def executed_cells() -> list[str]:
    """The source of every cell the kernel has executed, in order (IPython's `In`), or []
    outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    shell = get_ipython()
    if shell is None:
        return []
    history = getattr(getattr(shell, "history_manager", None), "input_hist_parsed", None)
    cells = history if history else shell.user_ns.get("In", [])
    return [cell for cell in cells if isinstance(cell, str)]


def _importable(name: str, here: Path) -> bool:
    """An absolute module that resolves outside the notebook's own folder (the worker sees only
    the module file), and is not one of SKIP_IMPORTS."""
    top = name.split(".")[0]
    if not top or top in SKIP_IMPORTS:
        return False
    if top in sys.builtin_module_names:
        return True
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    origin = spec.origin or ""
    try:
        where = Path(origin).resolve()
        installed = any(where.is_relative_to(Path(p).resolve()) for p in
                        {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
        # installed (a virtual environment may sit inside the notebook's folder), or elsewhere
        return not origin or installed or not where.is_relative_to(here)
    except (OSError, ValueError):
        return True


def _constant(node) -> bool:
    """`NAME = literal` (or a tuple of names), not one of RESERVED."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names = []
    for target in targets:
        elements = target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]
        if not all(isinstance(e, ast.Name) for e in elements):
            return False
        names += [e.id for e in elements]
    if not names or RESERVED & set(names) or node.value is None:
        return False
    try:
        ast.literal_eval(node.value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _kept(node, here: Path):
    """The node as it goes into the module: itself, a pruned import, or None."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node
    if isinstance(node, ast.Import):
        names = [a for a in node.names if _importable(a.name, here)]
        return (node if len(names) == len(node.names) else ast.Import(names=names)) if names else None
    if isinstance(node, ast.ImportFrom):
        if node.module == "__future__":
            return node
        return node if node.level == 0 and node.module and _importable(node.module, here) else None
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and _constant(node):
        return node
    return None


def module_source(cells, module: str = "", here=None) -> str:
    """The module file of a notebook's executed cells: their imports, functions, classes and
    constants, in execution order (a later definition wins, as in the kernel); nothing that would
    run code at import time besides definitions and imports."""
    here = Path(here or os.getcwd()).resolve()
    future, parts = [], []
    for number, cell in enumerate(cells):
        try:
            tree = ast.parse(cell)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            continue   # the kernel could not run it either: its functions are missing
        lines = cell.splitlines()
        body = tree.body
        spans = [(min([n.lineno] + [d.lineno for d in getattr(n, "decorator_list", [])]),
                  n.end_lineno) for n in body]
        chunk = []
        for i, node in enumerate(body):
            kept = _kept(node, here)
            if kept is None:
                continue
            start, end = spans[i]
            shares_a_line = any(j != i and s <= end and e >= start for j, (s, e) in enumerate(spans))
            if kept is node and not shares_a_line:
                text = "\n".join(lines[start - 1:end])
            else:
                text = ast.unparse(ast.fix_missing_locations(kept))
            (future if isinstance(node, ast.ImportFrom) and node.module == "__future__"
             else chunk).append(text)
        if chunk:
            parts.append(f"# ---- cell In[{number}]\n" + "\n\n".join(chunk))
    head = f'"""{module}: the code of your notebook\'s executed cells, as gdkit grades it."""\n'
    return head + "".join(f"{line}\n" for line in future) + "\n\n" + "\n\n\n".join(parts) + "\n"


# --------------------------------------------------------------------------- grading

_FAILED: set[str] = set()   # 'module.function' keys whose last grade in this kernel failed a check

def _split(key: str) -> tuple[str, str]:
    if key not in lecture.FUNCTIONS:
        raise ValueError(f"unknown student function {key!r}; one of {', '.join(lecture.FUNCTIONS)}")
    module, function = key.split(".")
    return module, function


@contextlib.contextmanager
def quiet():
    """Nothing reaches stderr (Python's or the process's fd 2: it goes to stdout) and no warning
    is shown: nbgrader gives 0 points to a test cell with any stderr output."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = None
    with contextlib.suppress(OSError, ValueError):
        saved = os.dup(2)
        os.dup2(1, 2)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(sys.stdout):
            warnings.simplefilter("ignore")
            yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        if saved is not None:
            with contextlib.suppress(OSError):
                os.dup2(saved, 2)
            os.close(saved)


def grade(key: str, hidden_tests: bool = False, *, cells=None, seed=None, layer: str = "auto",
          timeout: float = TIMEOUT, budget: float | None = None) -> float:
    """Grade one student function ('module.function') of this notebook; print the feedback and
    return the points earned, a float between 0 and the function's rubric points.

    Only the public checks (the lecture's worked values) run unless `hidden_tests` is true.
    `cells` replaces the kernel's input history (for tests and scripts)."""
    module, function = _split(key)
    mode = "all" if hidden_tests else "public"
    with quiet():
        source = module_source(executed_cells() if cells is None else cells, module)
        report = _run(key, module, source, mode, seed=seed, layer=layer, timeout=timeout,
                      budget=BUDGET[mode] if budget is None else budget)
        return _print(key, report, mode)


def _run(key, module, source, mode, *, seed, layer, timeout, budget):
    from ..engine.policy import Policy
    from ..engine.workers import Workers

    policy = Policy(timeout=timeout, budget=budget, layer=layer)
    folder = Path(tempfile.mkdtemp(prefix="gdkit-nbgrader-"))
    workers = None
    try:
        (folder / f"{module}.py").write_text(source, encoding="utf-8")
        # it starts while the checks load; the grader starts the NumPy-less one if its checks run
        workers = Workers(folder, policy)
        from ..checks import all_checks
        from ..engine.grader import Grader

        checks = [c for c in all_checks() if c.key == key
                  and (mode == "all" or c.kind in PUBLIC_KINDS)]
        started = time.monotonic()
        with Grader(folder, seed=seed, policy=policy, checks=checks, workers=workers) as grader:
            # what failed in this kernel's earlier cells, so that train's feedback names the
            # broken steps it rests on, as `gdkit grade` does
            grader.failed |= {k for k in _FAILED if k.startswith(module + ".") and k != key}
            results = [grader.run(check) for check in grader.checks]
            if all(r.passed for r in results):
                _FAILED.discard(key)
            else:
                _FAILED.add(key)
            return grader.report(results, seconds=time.monotonic() - started)
    finally:
        if workers is not None:
            workers.close()
        shutil.rmtree(folder, ignore_errors=True)


def _print(key, report, mode) -> float:
    from ..formats import text

    points = lecture.rubric()[key].points
    earned = min(report.score, points)
    passed = sum(c.passed for c in report.checks)
    print(f"{key}: {text.points(earned)}/{text.points(report.max_score)} points, "
          f"{passed}/{len(report.checks)} checks passed  (seed {report.seed}, isolation "
          f"{report.isolation}, {report.seconds:.1f} s)")
    if mode == "public":
        print(f"  public checks only (the lecture's worked values); the hidden checks run when the "
              f"notebook is graded, for {text.points(points)} points in all")
    for c in report.checks:
        if c.passed:
            print(f"✓ {c.name}" + (f"  (note: {c.note})" if c.note else ""))
    todo = [c for c in report.checks if c.status == "todo"]
    if todo:
        print(f"✗ {key.split('.')[1]} is not implemented yet")
    for c in report.checks:
        if not c.passed and c.status != "todo":
            print(text.feedback(c))
    for fault in report.faults:
        print(f"GRADER FAULT: {fault}")
    return round(float(earned), 2)


# --------------------------------------------------------------------------- demonstrations

class _TooLong(BaseException):
    """Raised by the alarm in a demonstration call (a BaseException: `except Exception` in the
    student's loop does not swallow it)."""


_HUNG: dict[int, object] = {}   # id -> function that did not return in a demonstration


def _alarm(signum, frame):
    raise _TooLong()


def _call(function, args, seconds=DEMO_TIMEOUT):
    """(True, value) or (False, why not) for one call of the student's function, here in the
    kernel, stopped by an alarm after `seconds`."""
    name = getattr(function, "__name__", repr(function))
    if not callable(function):
        return False, f"{name} is not a function"
    if _HUNG.get(id(function)) is function:
        return False, f"{name} is skipped: it did not return the last time"
    alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous = None
    try:
        try:
            if alarm:
                previous = signal.signal(signal.SIGALRM, _alarm)
                signal.setitimer(signal.ITIMER_REAL, seconds)
            return True, function(*args)
        finally:
            if alarm:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous or signal.SIG_DFL)
    except _TooLong:
        _HUNG[id(function)] = function
        return False, (f"{name} did not return within {seconds:g} s (an endless loop?); the "
                       "grader stops it the same way")
    except NotImplementedError:
        return False, f"{name} is not implemented yet"
    except Exception as e:  # the student's error, shown as a demonstration's result
        return False, f"{name} raised {type(e).__name__}: {e}"


def attempt(function, *args, seconds: float = DEMO_TIMEOUT):
    """Call one of your functions here for a demonstration: its value, or None after printing
    why there is none (an error, or no answer within `seconds`)."""
    ok, value = _call(function, args, seconds)
    if not ok:
        print(value)
        return None
    return value


def _adapter(module):
    from ..checks.linear_regression_basic import Basic
    from ..checks.linear_regression_numpy import Vector
    from ..checks.logistic_regression import Logistic

    return {"linear_regression_basic": Basic, "linear_regression_numpy": Vector,
            "logistic_regression": Logistic}[module]()


def examples_for(key: str) -> list[str]:
    """The ids of the worked examples (data/worked_values.toml) that compute `key`'s step."""
    module, function = _split(key)
    if function == "train":
        return []
    adapter = _adapter(module)
    step = lecture.STEPS[function]
    needs = {"y_hat": ("y_hat",), "grad": ("gradient",), "z": ("z",)}
    return [ex.id for ex in lecture.examples()
            if ex.model == adapter.model and step.worked in ex.values
            and len(ex.theta) - 1 in adapter.features
            and all(v in ex.values for name in step.inputs for v in needs.get(name, ()))
            and all(getattr(ex, name) is not None for name in ("y", "lr") if name in step.inputs)]


def trainings_for(key: str) -> list[str]:
    module, function = _split(key)
    if function != "train":
        return []
    model = lecture.MODULE[module].model
    return [t.id for t in lecture.trainings() if t.model == model]


def _close(got, expected) -> bool:
    import numpy as np

    try:
        got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
        return got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-5, atol=1e-8))
    except (TypeError, ValueError):
        return False


def _show(label, got, exact, figure=None):
    from ..checks.base import fmt

    mark = "✓" if _close(got, exact) else "✗"
    slide = f"  (the slide prints {figure})" if figure is not None else ""
    print(f"  {label}: yours {fmt(got)}, expected {fmt(exact)}{slide}  {mark}")


def worked(key: str, function, example_id: str) -> None:
    """Print what your function returns on a slide's worked example next to the expected value
    (data/worked_values.toml); costs and gives no points."""
    from ..checks import model
    from ..checks.base import Failure, fmt, real
    from ..checks.logistic_regression import label

    module, name = _split(key)
    adapter = _adapter(module)
    example = next(e for e in lecture.examples() if e.id == example_id)
    if name in ("sigmoid", "classify"):   # called as the logistic checks call them
        given, value = ("z", example.values["y_hat"]) if name == "sigmoid" else (
            "y_hat", example.values["class"])
        number = float(example.values[given].exact)
        args, inputs = (number,), {given: number}
    else:
        canon, value = model.worked_case(adapter, name, example)
        args, inputs = adapter.args(name, **canon)
    call = f"{name}({', '.join(f'{k}={v if isinstance(v, str) else fmt(v)}' for k, v in inputs.items())})"
    print(f"slide {value.slide}, {example.title}")
    ok, got = _call(function, args)
    if not ok:
        print(f"  {call}: {got}")
        return
    print(f"  {call} returned {fmt(got)}")
    try:
        if name == "sigmoid":
            canonical = real(got, "σ(z)")
        elif name == "classify":
            canonical = label(got)
        else:
            canonical = adapter.read(name, got, **canon)
    except Failure as f:
        print(f"  ✗ {f.message}")
        return
    order = "  (as [∂L/∂b, ∂L/∂w])" if module == BASIC and name == "gradient" else (
        "  (as [b, w])" if module == BASIC and name == "update" else "")
    _show(lecture.STEPS[name].symbol + order, canonical, value.exact, value.figure)
    if value.erratum:
        print(f"  erratum {value.erratum}: {lecture.errata()[value.erratum]}")


def worked_training(key: str, function, training_id: str) -> None:
    """Run your train on a run of the five steps that the slides work by hand, and print the final
    θ and the losses next to the expected ones; costs and gives no points."""
    from ..checks.base import Failure, fmt

    module, name = _split(key)
    adapter = _adapter(module)
    t = next(t for t in lecture.trainings() if t.id == training_id)
    canon = dict(X=t.X, y=t.y, theta=t.theta, lr=t.lr, epochs=t.epochs)
    args, _ = adapter.args(name, **canon)
    print(f"slides {t.slides}: {t.title} (lr = {t.lr:g}, epochs = {t.epochs})")
    ok, got = _call(function, args)
    if not ok:
        print(f"  {got}")
        return
    try:
        theta, losses = adapter.read(name, got, **canon)
    except Failure as f:
        print(f"  ✗ {f.message}: {fmt(got)}")
        return
    _show("θ = [b, w, ...]", theta, t.theta_exact)
    _show("losses", losses, t.losses_exact)


def least_squares(xs, ys):
    """(w, b) of the least-squares line, for comparison with one-sample gradient descent."""
    import numpy as np

    w, b = np.polyfit(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), 1)
    return float(w), float(b)


# --------------------------------------------------------------------------- plots

def _pyplot():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import matplotlib.pyplot as plt
        return plt
    except Exception:
        print("(no plot: matplotlib is not installed here; `pip install gdkit[plot]` shows it)")
        return None


@contextlib.contextmanager
def _figure(title, xlabel, ylabel):
    plt = _pyplot()
    if plt is None:
        yield None
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig, ax = plt.subplots(figsize=(6, 4))
        yield ax
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
        plt.show()
        plt.close(fig)


def _ok(*values) -> bool:
    import numpy as np

    try:
        return all(np.all(np.isfinite(np.asarray(v, dtype=float))) for v in values)
    except (TypeError, ValueError):
        print("(no plot: the values are not numbers)")
        return False


def plot_fit(xs, ys, w, b, *, xlabel="x", ylabel="y", title="the data and the fitted line"):
    """The data and the line y = w x + b, beside the least-squares line."""
    import numpy as np

    if not _ok(xs, ys, w, b):
        return
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    grid = np.linspace(xs.min(), xs.max(), 50)
    lw, lb = least_squares(xs, ys)
    with _figure(title, xlabel, ylabel) as ax:
        if ax is not None:
            ax.scatter(xs, ys, color="black", label="data")
            ax.plot(grid, float(w) * grid + float(b), label=f"yours: y = {float(w):.3f}x + {float(b):.3f}")
            ax.plot(grid, lw * grid + lb, "--", label=f"least squares: y = {lw:.3f}x + {lb:.3f}")


def plot_losses(losses, *, title="the loss of each step (before its update)"):
    """The loss per step of one-sample gradient descent."""
    import numpy as np

    if not _ok(losses):
        return
    with _figure(title, "step (one sample)", "loss") as ax:
        if ax is not None:
            ax.plot(np.arange(1, len(losses) + 1), np.asarray(losses, dtype=float))
            if len(losses) > 50:
                ax.set_yscale("log")


def plot_sigmoid(sigmoid):
    """Your σ(z) on z in [-8, 8] beside 1 / (1 + e^(-z)), with the threshold 0.5."""
    import numpy as np

    z = np.linspace(-8, 8, 161)
    ok, values = _call(sigmoid, (z,))
    if not ok:
        print(values)
        return
    if not _ok(values) or np.shape(values) != z.shape:
        print("(no plot: sigmoid of an array should return an array of the same shape)")
        return
    with _figure("σ(z) = 1 / (1 + e^(−z))  (slides 24–25)", "z = θᵀx", "σ(z)") as ax:
        if ax is not None:
            ax.plot(z, 1 / (1 + np.exp(-z)), color="lightgray", linewidth=6, label="1 / (1 + e^(−z))")
            ax.plot(z, np.asarray(values, dtype=float), label="yours")
            ax.axhline(0.5, linestyle=":", color="gray", label="threshold 0.5")


def plot_probability(X, y, theta, *, xlabel="hours", title="Data #1 and ŷ = σ(b + w·hours)"):
    """One feature: the data (0 or 1) and the model's probability ŷ along the feature."""
    import numpy as np

    if not _ok(X, y, theta):
        return
    x = np.asarray(X, dtype=float)[:, 1]
    b, w = (float(v) for v in np.asarray(theta, dtype=float)[:2])
    grid = np.linspace(0, x.max() + 1, 100)
    with _figure(title, xlabel, "P(pass)") as ax:
        if ax is not None:
            ax.scatter(x, y, color="black", label="data")
            ax.plot(grid, 1 / (1 + np.exp(-(b + w * grid))), label="ŷ")
            ax.axhline(0.5, linestyle=":", color="gray", label="threshold 0.5")


def plot_boundary(X, y, theta, *, xlabel="day", ylabel="hours",
                  title="Data #2 and the decision boundary θᵀx = 0 (ŷ = 0.5)"):
    """Two features: the data by class and the line b + w₁x₁ + w₂x₂ = 0."""
    import numpy as np

    if not _ok(X, y, theta):
        return
    X, y, theta = (np.asarray(v, dtype=float) for v in (X, y, theta))
    b, w1, w2 = theta[:3]
    grid = np.linspace(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5, 50)
    with _figure(title, xlabel, ylabel) as ax:
        if ax is not None:
            for label, marker in ((0, "o"), (1, "x")):
                rows = y == label
                ax.scatter(X[rows, 1], X[rows, 2], marker=marker, label=f"pass = {label}")
            if w2 != 0:
                ax.plot(grid, -(b + w1 * grid) / w2, label="boundary")
                ax.set_ylim(X[:, 2].min() - 0.5, X[:, 2].max() + 0.5)
