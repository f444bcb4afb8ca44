"""The release: exercises/ is generated from solutions/, and the solutions keep their contract.

Run `python -m autograder.release.stubs` after editing anything in solutions/.
"""

import ast
import csv
import importlib.util
import inspect
import re
import sys
from pathlib import Path

import numpy as np
import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

from autograder.release import stubs
from autograder.release.stubs import BEGIN, END, make_stub

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "solutions"
EXERCISES = ROOT / "exercises"
DATA = ROOT / "data"
REGENERATE = "run `python -m autograder.release.stubs` to regenerate exercises/ from solutions/"

RUBRIC = tomllib.loads((DATA / "rubric.toml").read_text(encoding="utf-8"))
WORKED = tomllib.loads((DATA / "worked_values.toml").read_text(encoding="utf-8"))
MODULES = sorted(RUBRIC)
FUNCTIONS = [(module, function) for module in MODULES for function in RUBRIC[module]]
STYLE_REASON = {"linear_regression_basic": "no NumPy", "linear_regression_numpy": "no Python loop"}
# The modules that each [[example]] / [[training]] `model` of worked_values.toml exercises.
MODELS = {
    "linear": ["linear_regression_basic", "linear_regression_numpy"],
    "logistic": ["logistic_regression"],
}
TOLERANCE = 1e-9


# ---- helpers ------------------------------------------------------------------------------------

def read(path):
    """The file's exact text (no newline translation)."""
    return Path(path).read_bytes().decode("utf-8")


def load(path):
    """Import the module at `path` under a private name, without registering it in sys.modules."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"_gdkit_{path.parent.name}_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def top_level_functions(path):
    """The module's top-level `def` nodes, by name."""
    tree = ast.parse(read(path))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def first_difference(actual, expected):
    """(line number, actual line, expected line) of the first line where the texts differ."""
    actual_lines = actual.splitlines(keepends=True)
    expected_lines = expected.splitlines(keepends=True)
    for number, (got, want) in enumerate(zip(actual_lines, expected_lines), start=1):
        if got != want:
            return number, got, want
    number = min(len(actual_lines), len(expected_lines)) + 1
    got = actual_lines[number - 1] if len(actual_lines) >= number else "<end of file>"
    want = expected_lines[number - 1] if len(expected_lines) >= number else "<end of file>"
    return number, got, want


def points_line(module, function):
    """The `Points:` line that data/rubric.toml asks of the function's docstring."""
    entry = RUBRIC[module][function]
    if entry.get("style"):
        return (f"Points: {entry['points']}, of which {entry['style']} for style "
                f"({STYLE_REASON[module]}).")
    return f"Points: {entry['points']}."


def close(got, want):
    """Whether got and want (numbers or sequences) agree within TOLERANCE."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    return got.shape == want.shape and bool(np.allclose(got, want, rtol=0, atol=TOLERANCE))


def dataset(training):
    """(X with its leading column of ones, y) for a [[training]] entry of worked_values.toml."""
    if training["dataset"] == "inline":
        return np.array(training["X"], dtype=float), np.array(training["y"], dtype=float)
    with open(DATA / f"{training['dataset']}.csv", newline="", encoding="utf-8") as file:
        rows = [[float(cell) for cell in row] for row in list(csv.reader(file))[1:]]
    rows = rows[: training.get("rows", len(rows))]
    X = np.array([[1.0] + row[:-1] for row in rows])
    y = np.array([row[-1] for row in rows])
    return X, y


def one_step(module, solution, example):
    """What `solution` computes, step by step, for one [[example]] of worked_values.toml."""
    theta, x, y, lr = example["theta"], example["x"], example.get("y"), example.get("lr")
    if module == "linear_regression_basic":
        b, w = theta
        x = x[1]
        y_hat = solution.predict(x, w, b)
        values = {"y_hat": y_hat}
        if y is not None:
            values["loss"] = solution.loss(y_hat, y)
            dw, db = solution.gradient(x, y_hat, y)
            values["gradient"] = [db, dw]
            w, b = solution.update(w, b, dw, db, lr)
            values["theta"] = [b, w]
        return values
    theta, x = np.array(theta, dtype=float), np.array(x, dtype=float)
    y_hat = solution.predict(x, theta)
    values = {"y_hat": y_hat}
    if module == "logistic_regression":
        values["class"] = solution.classify(y_hat)
    if y is not None:
        values["loss"] = solution.loss(y_hat, y)
        grad = solution.gradient(x, y_hat, y)
        values["gradient"] = grad
        values["theta"] = solution.update(theta, grad, lr)
    return values


# ---- exercises/ is generated from solutions/ ----------------------------------------------------

def test_the_rubric_and_solutions_folder_list_the_same_modules():
    on_disk = sorted(path.stem for path in SOLUTIONS.glob("*.py") if not path.name.startswith("_"))
    assert on_disk == MODULES, f"solutions/ holds {on_disk}, data/rubric.toml grades {MODULES}"


@pytest.mark.parametrize("module", MODULES)
def test_each_exercise_file_is_exactly_the_stub_of_its_solution(module):
    expected = make_stub(read(SOLUTIONS / f"{module}.py"), f"{module}.py")
    path = EXERCISES / f"{module}.py"
    assert path.is_file(), f"exercises/{module}.py is missing; {REGENERATE}"
    actual = read(path)
    number, got, want = ("", "", "") if actual == expected else first_difference(actual, expected)
    assert actual == expected, (
        f"exercises/{module}.py drifted from solutions/{module}.py, first at line {number}:\n"
        f"  exercises/ has    {got!r}\n  the stub would be {want!r}\n{REGENERATE}")


def test_check_reports_nothing_for_the_committed_exercises():
    drifted = stubs.check(SOLUTIONS, EXERCISES)
    assert drifted == [], f"these exercise files drifted: {drifted}; {REGENERATE}"


def test_build_writes_what_check_then_accepts_and_check_catches_an_edit(tmp_path):
    written = stubs.build(SOLUTIONS, tmp_path)
    assert sorted(path.stem for path in written) == MODULES, f"build wrote {written}"
    assert stubs.check(SOLUTIONS, tmp_path) == [], "check rejects the files build just wrote"
    edited = tmp_path / f"{MODULES[0]}.py"
    edited.write_text(read(edited) + "# a stray edit\n", encoding="utf-8")
    missing = tmp_path / f"{MODULES[-1]}.py"
    missing.unlink()
    assert stubs.check(SOLUTIONS, tmp_path) == [edited, missing], (
        "check must name the edited and the missing exercise file, and only those")


def test_the_command_line_check_exits_1_and_names_the_drifted_file(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "tiny.py").write_text(
        'def f():\n    """Doc."""\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n',
        encoding="utf-8")
    assert stubs.main(["--check"], root=tmp_path) == 1, "--check must fail on a missing stub"
    assert "exercises/tiny.py" in capsys.readouterr().err, "--check must name the drifted file"
    assert stubs.main([], root=tmp_path) == 0, "regenerating must succeed"
    assert stubs.main(["--check"], root=tmp_path) == 0, "--check must pass after regenerating"


# ---- the stubs ----------------------------------------------------------------------------------

def test_loading_a_module_by_path_leaves_sys_modules_alone():
    before = set(sys.modules)
    for module in MODULES:
        load(EXERCISES / f"{module}.py")
        load(SOLUTIONS / f"{module}.py")
    added = sorted(name for name in set(sys.modules) - before if "gdkit" in name)
    assert added == [], f"loading the exercise and solution modules registered {added}"


@pytest.mark.parametrize("module, function", FUNCTIONS)
def test_every_stub_function_raises_not_implemented_yet(module, function):
    exercise = load(EXERCISES / f"{module}.py")
    assert hasattr(exercise, function), f"exercises/{module}.py defines no {function}()"
    stub = getattr(exercise, function)
    required = [p for p in inspect.signature(stub).parameters.values() if p.default is p.empty]
    try:
        stub(*[None] * len(required))
    except NotImplementedError as error:
        message = str(error)
    else:
        pytest.fail(f"exercises/{module}.py: {function}() returned instead of raising")
    assert message == f"{function}: not implemented yet", (
        f"exercises/{module}.py: {function}() raised NotImplementedError({message!r}); "
        f"expected '{function}: not implemented yet'")


@pytest.mark.parametrize("module", MODULES)
def test_solutions_and_stubs_define_the_rubric_functions_with_the_same_signatures(module):
    solution = top_level_functions(SOLUTIONS / f"{module}.py")
    exercise = top_level_functions(EXERCISES / f"{module}.py")
    assert sorted(solution) == sorted(RUBRIC[module]), (
        f"solutions/{module}.py defines {sorted(solution)}, the rubric grades "
        f"{sorted(RUBRIC[module])}")
    for name, node in solution.items():
        assert name in exercise, f"exercises/{module}.py lost {name}(); {REGENERATE}"
        assert ast.dump(node.args) == ast.dump(exercise[name].args), (
            f"{module}.{name}: the stub's signature differs from the solution's; {REGENERATE}")


# ---- the solution regions -----------------------------------------------------------------------

@pytest.mark.parametrize("module", MODULES)
def test_solution_modules_hold_only_a_docstring_imports_and_functions(module):
    tree = ast.parse(read(SOLUTIONS / f"{module}.py"))
    assert ast.get_docstring(tree), f"solutions/{module}.py has no module docstring"
    for node in tree.body[1:]:
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef)), (
            f"solutions/{module}.py:{node.lineno}: only imports and functions may sit outside "
            f"functions, found {type(node).__name__}")


@pytest.mark.parametrize("module", MODULES)
def test_every_solution_function_has_its_whole_body_in_exactly_one_solution_region(module):
    source = read(SOLUTIONS / f"{module}.py")
    lines = source.splitlines()
    tree = ast.parse(source)
    starts = [node.lineno for node in tree.body] + [len(lines) + 1]
    markers_seen = 0
    for node, next_start in zip(tree.body, starts[1:]):
        if not isinstance(node, ast.FunctionDef):
            continue
        where = f"solutions/{module}.py: {node.name}()"
        markers = [(number, lines[number - 1].strip())
                   for number in range(node.lineno, next_start)
                   if lines[number - 1].strip() in (BEGIN, END)]
        markers_seen += len(markers)
        assert [marker for _, marker in markers] == [BEGIN, END], (
            f"{where} must hold exactly one {BEGIN!r} ... {END!r} region, found {markers}")
        (begin, _), (end, _) = markers
        docstring, *body = node.body
        assert ast.get_docstring(node) is not None and body, (
            f"{where} must be a docstring followed by its solution")
        assert docstring.end_lineno < begin < body[0].lineno, (
            f"{where}: {BEGIN!r} must open right after the docstring, before any code")
        assert body[-1].end_lineno < end, f"{where}: {END!r} must close after the last statement"
    total = sum(line.strip() in (BEGIN, END) for line in lines)
    assert total == markers_seen, f"solutions/{module}.py has solution markers outside functions"


UNBALANCED = {
    "an END without a BEGIN": 'def f():\n    return 1\n    ### END SOLUTION\n',
    "a BEGIN never closed": 'def f():\n    ### BEGIN SOLUTION\n    return 1\n',
    "a BEGIN inside a region": (
        'def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n'
        '    ### END SOLUTION\n'),
}


@pytest.mark.parametrize("source", UNBALANCED.values(), ids=UNBALANCED.keys())
def test_make_stub_rejects_unbalanced_markers(source):
    with pytest.raises(ValueError, match=r"tiny\.py:\d+:"):
        make_stub(source, "tiny.py")


def test_make_stub_rejects_a_region_outside_a_function():
    with pytest.raises(ValueError, match="outside a function"):
        make_stub("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", "tiny.py")


def test_make_stub_keeps_everything_else_and_the_indentation_of_each_region():
    source = (
        '"""Module doc."""\n'
        "import math  # kept\n"
        "\n"
        "\n"
        "class Model:\n"
        "    def forward(self,\n"
        "                x):\n"
        '        """Doc of forward."""\n'
        "        ### BEGIN SOLUTION\n"
        "        def helper(v):\n"
        "            return v\n"
        "        return helper(x)\n"
        "        ### END SOLUTION\n"
        "\n"
        "\n"
        "@staticmethod\n"
        "def area(r):\n"
        "    # a comment before the region\n"
        "    ### BEGIN SOLUTION\n"
        "    return math.pi * r ** 2\n"
        "    ### END SOLUTION\n")
    expected = (
        '"""Module doc."""\n'
        "import math  # kept\n"
        "\n"
        "\n"
        "class Model:\n"
        "    def forward(self,\n"
        "                x):\n"
        '        """Doc of forward."""\n'
        "        # YOUR CODE HERE\n"
        '        raise NotImplementedError("forward: not implemented yet")\n'
        "\n"
        "\n"
        "@staticmethod\n"
        "def area(r):\n"
        "    # a comment before the region\n"
        "    # YOUR CODE HERE\n"
        '    raise NotImplementedError("area: not implemented yet")\n')
    stub = make_stub(source, "tiny.py")
    number, got, want = ("", "", "") if stub == expected else first_difference(stub, expected)
    assert stub == expected, f"line {number}: make_stub wrote {got!r}, expected {want!r}"


# ---- the docstrings -----------------------------------------------------------------------------

@pytest.mark.parametrize("folder", [SOLUTIONS, EXERCISES], ids=["solutions", "exercises"])
@pytest.mark.parametrize("module, function", FUNCTIONS)
def test_each_function_docstring_names_a_slide(module, function, folder):
    node = top_level_functions(folder / f"{module}.py").get(function)
    assert node is not None, f"{folder.name}/{module}.py defines no {function}()"
    docstring = ast.get_docstring(node) or ""
    assert re.search(r"\bslides?\s+\d+", docstring), (
        f"{folder.name}/{module}.py: the docstring of {function}() names no slide "
        "('slide 8', 'slides 24-25')")


@pytest.mark.parametrize("folder", [SOLUTIONS, EXERCISES], ids=["solutions", "exercises"])
@pytest.mark.parametrize("module, function", FUNCTIONS)
def test_each_function_docstring_ends_with_its_points_from_the_rubric(module, function, folder):
    if RUBRIC[module][function].get("style"):
        assert module in STYLE_REASON, f"the rubric gives {module} style points; name their reason"
    node = top_level_functions(folder / f"{module}.py").get(function)
    assert node is not None, f"{folder.name}/{module}.py defines no {function}()"
    docstring = ast.get_docstring(node) or ""
    last_line = docstring.splitlines()[-1] if docstring else "<no docstring>"
    assert last_line == points_line(module, function), (
        f"{folder.name}/{module}.py: {function}()'s docstring ends with {last_line!r}; "
        f"data/rubric.toml asks for {points_line(module, function)!r}")


@pytest.mark.parametrize("module", MODULES)
def test_each_module_docstring_names_its_slides_and_what_style_points_are_for(module):
    docstring = ast.get_docstring(ast.parse(read(SOLUTIONS / f"{module}.py"))) or ""
    assert re.search(r"\bslides?\s+\d+", docstring), f"{module}'s module docstring names no slide"
    if any(entry.get("style") for entry in RUBRIC[module].values()):
        assert "style" in docstring.lower() and "correct values" in docstring, (
            f"{module}'s module docstring must say what the style points are for and that they "
            "are earned only once the function returns correct values")


# ---- no NumPy in the basic module ---------------------------------------------------------------

@pytest.mark.parametrize("folder", [SOLUTIONS, EXERCISES], ids=["solutions", "exercises"])
def test_the_basic_module_imports_no_numpy(folder):
    tree = ast.parse(read(folder / "linear_regression_basic.py"))
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            imported.append(node.module or "")
    numpy = [name for name in imported if name.split(".")[0] == "numpy"]
    assert numpy == [], f"{folder.name}/linear_regression_basic.py imports {numpy}"


def test_the_basic_solution_trains_with_numpy_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)  # any `import numpy` now raises ImportError
    basic = load(SOLUTIONS / "linear_regression_basic.py")
    w, b, losses = basic.train([2.0], [18.0], 2.0, 2.0, 0.1, 1)
    assert type(w) is float and type(b) is float, f"train returned w={w!r}, b={b!r}"
    assert len(losses) == 1, f"one sample, one epoch must give one loss, got {losses}"


# ---- a sanity run of the solutions on the lecture's worked values -------------------------------

STEPS = [(example["id"], module) for example in WORKED["example"]
         for module in MODELS[example["model"]]]


@pytest.mark.parametrize("example_id, module", STEPS)
def test_the_solutions_reproduce_the_worked_values_of_the_slides(example_id, module):
    example = next(e for e in WORKED["example"] if e["id"] == example_id)
    solution = load(SOLUTIONS / f"{module}.py")
    computed = one_step(module, solution, example)
    for value in example["value"]:
        step, exact, slide = value["step"], value["exact"], value["slide"]
        where = f"{module}, {example_id}, slide {slide}"
        if step == "z":  # z = theta^T x has no function of its own: predict must be sigmoid(z)
            sigma = solution.sigmoid(exact)
            assert close(sigma, computed["y_hat"]), (
                f"{where}: predict gives {computed['y_hat']!r}, sigmoid(z = {exact}) = {sigma!r}")
            continue
        got = computed[step]
        if step == "class":
            assert type(got) is int and got == exact, (
                f"{where}: classify gave {got!r}, not the int {exact}")
            continue
        assert close(got, exact), f"{where}: {step} is {got!r}, the exact value is {exact!r}"


TRAININGS = [(training["id"], module) for training in WORKED["training"]
             for module in MODELS[training["model"]]]


@pytest.mark.parametrize("training_id, module", TRAININGS)
def test_train_reproduces_the_runs_the_slides_work_by_hand(training_id, module):
    training = next(t for t in WORKED["training"] if t["id"] == training_id)
    solution = load(SOLUTIONS / f"{module}.py")
    X, y = dataset(training)
    start = np.array(training["theta"], dtype=float)
    lr, epochs = training["lr"], training["epochs"]
    if module == "linear_regression_basic":
        w, b, losses = solution.train(list(X[:, 1]), list(y), start[1], start[0], lr, epochs)
        theta = [b, w]
    else:
        theta, losses = solution.train(X, y, start, lr, epochs)
        assert np.array_equal(start, training["theta"]), f"{module}.train modified its theta"
    where = f"{module}.train on {training_id}"
    assert len(losses) == epochs * len(y), f"{where}: {len(losses)} losses, want epochs * n"
    assert close(theta, training["theta_exact"]), (
        f"{where}: theta is {theta!r}, the exact value is {training['theta_exact']!r}")
    assert close(losses, training["losses_exact"]), (
        f"{where}: the losses are {losses!r}, the exact values are {training['losses_exact']!r}")


@pytest.mark.parametrize("module", MODULES)
def test_train_calls_the_module_own_functions_once_per_sample_and_epoch(module):
    solution = load(SOLUTIONS / f"{module}.py")
    calls = {name: 0 for name in ("predict", "loss", "gradient", "update")}
    for name in calls:
        original = getattr(solution, name)

        def counted(*args, _name=name, _original=original):
            calls[_name] += 1
            return _original(*args)

        setattr(solution, name, counted)
    X = np.array([[1.0, 0.5], [1.0, 1.0], [1.0, 1.5]])
    y = np.array([0.0, 0.0, 1.0])
    if module == "linear_regression_basic":
        solution.train(list(X[:, 1]), list(y), 0.1, 0.1, 0.1, 2)
    else:
        solution.train(X, y, np.array([0.1, 0.1]), 0.1, 2)
    assert calls == dict.fromkeys(calls, 6), (
        f"{module}.train on 3 samples for 2 epochs made the calls {calls}; each of predict, "
        "loss, gradient and update must be called once per sample and epoch")


def test_sigmoid_is_elementwise_on_arrays_and_a_float_on_a_scalar():
    logistic = load(SOLUTIONS / "logistic_regression.py")
    z = np.array([[-1.0, 0.0], [0.15, 2.0]])
    got = logistic.sigmoid(z)
    assert isinstance(got, np.ndarray) and got.shape == z.shape, f"sigmoid(2x2 array) = {got!r}"
    assert close(got, 1 / (1 + np.exp(-z))), (
        f"sigmoid is not 1 / (1 + e^(-z)) elementwise: {got!r}")
    assert isinstance(logistic.sigmoid(0.0), float) and logistic.sigmoid(0.0) == 0.5, (
        f"sigmoid(0.0) must be the float 0.5, got {logistic.sigmoid(0.0)!r}")
