"""The formula a plain-Python function implements, shown next to the lecture's.

The tree decoder alone (whitelist, names, sizes), the line it gives for known and unknown
mistakes, the worker's formula request against hostile code (nothing it returns or does reaches
the grader as anything but a rejected tree, a timeout or no formula), every basic-module mistake of
the corpus graded for real, the valid styles (no formula line), the cost (one request per failed
function) and the cold start (grading right answers never imports sympy).
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from html import escape
from pathlib import Path

import pytest

from autograder.engine.grader import Grader, grade, select
from autograder.engine.session import Session
from autograder.checks import all_checks
from autograder.feedback import formula
from autograder.formats import html, markdown, text
from autograder.formats import json as json_format
from corpus.build import build
from corpus.mistakes import MISTAKES
from corpus.valid import STYLES

ROOT = Path(__file__).resolve().parents[1]
BASIC = "linear_regression_basic"
GRADIENT = ("x", "y_hat", "y")


def S(name):
    return ["Symbol", name]


def I(n):
    return ["Integer", n]


def minus(node):
    return ["Mul", I(-1), node]


DIFF = ["Add", S("y_hat"), minus(S("y"))]                       # ŷ − y
NO_FACTOR_2 = ["Tuple", ["Mul", S("x"), DIFF], DIFF]            # (x(ŷ − y), ŷ − y)
LECTURE = ["Tuple", ["Mul", I(2), S("x"), DIFF], ["Mul", I(2), DIFF]]


def calls_of(f, points=((2.0, 6.0, 18.0), (3.0, 8.0, 22.0), (-1.5, 0.25, 4.0))):
    """(args, value) of a plain-Python gradient on a few points, as the grader records them."""
    return [(args, f(*args)) for args in points]


def no_factor_2(x, y_hat, y):
    return x * (y_hat - y), y_hat - y


# --------------------------------------------------------------------------- the decoder

def test_a_well_formed_tree_is_read():
    parts, pair = formula.check_tree(NO_FACTOR_2, GRADIENT)
    assert pair and parts == NO_FACTOR_2[1:]
    assert formula.check_tree(["Rational", 1, 2], GRADIENT) == ([["Rational", 1, 2]], False)
    assert formula.check_tree(["Pow", DIFF, I(2)], GRADIENT)[1] is False


@pytest.mark.parametrize("tree", [
    ["Function", S("x")], ["Lambda", S("x"), S("x")], ["sympify", "__import__('os')"],
    ["eval", "1"], ["Tuple", ["Tuple", S("x")]], ["Derivative", S("x"), S("x")], ["Max", S("x"), S("y")],
    ["Add", S("x"), ["Piecewise", S("x")]], "x + y", {"t": "Symbol"}, None, [], [1, 2],
], ids=repr)
def test_unknown_node_types_are_rejected(tree):
    with pytest.raises(formula.NotAFormula):
        formula.check_tree(tree, GRADIENT)


@pytest.mark.parametrize("name", ["z", "w", "__import__", "os.system", "", "x ", "X"])
def test_foreign_symbol_names_are_rejected(name):
    """Only the function's own parameters: gradient has x, y_hat and y, not w (update's) or z."""
    with pytest.raises(formula.NotAFormula):
        formula.check_tree(["Add", S("x"), S(name)], GRADIENT)


def nested(depth):
    node = S("x")
    for _ in range(depth):
        node = ["Abs", node]
    return node


@pytest.mark.parametrize("tree", [
    ["Add", *[S("x")] * 400], ["Tuple", *[["Add", *[S("y")] * 100]] * 4], nested(formula.MAX_DEPTH + 1),
    ["Tuple", *[S("x")] * (formula.MAX_PARTS + 1)], ["Tuple"],
    I(True), I(2.0), I("2"), I(10 ** 16), ["Float", float("nan")], ["Float", float("inf")],
    ["Float", 1e301], ["Float", 2], ["Rational", 1, 0], ["Rational", 1, -2], ["Rational", 1],
    ["Pow", S("x")], ["Pow", S("x"), S("y")], ["Pow", S("x"), I(17)],
    ["Pow", ["Pow", S("x"), I(8)], I(4)], ["Pow", ["Add", S("x"), I(1)], I(2000)],
    ["Abs", S("x"), S("y")], ["Add", S("x")], ["exp"], ["Symbol"], ["Symbol", "x", "y"],
], ids=repr)
def test_malformed_or_costly_trees_are_rejected(tree):
    with pytest.raises(formula.NotAFormula):
        formula.check_tree(tree, GRADIENT)


def test_a_tree_at_the_limits_is_still_read():
    """The limits are limits, not a refusal of everything nested (the rejections above can fail)."""
    formula.check_tree(nested(formula.MAX_DEPTH), GRADIENT)
    formula.check_tree(["Pow", ["Pow", S("x"), I(4)], I(4)], GRADIENT)
    formula.check_tree(["Add", *[S("x")] * 200], GRADIENT)


def test_evaluate_and_reproduces():
    parts, pair = formula.check_tree(NO_FACTOR_2, GRADIENT)
    assert formula.reproduces(parts, pair, GRADIENT, calls_of(no_factor_2))
    # a function that branches on a value its formula cannot see
    def branchy(x, y_hat, y):
        return (x * (y_hat - y), y_hat - y) if x != 3.0 else (0.0, 0.0)
    assert not formula.reproduces(parts, pair, GRADIENT, calls_of(branchy))
    # one argument tuple is no evidence
    assert not formula.reproduces(parts, pair, GRADIENT, calls_of(no_factor_2, [(2.0, 6.0, 18.0)] * 3))
    # what no formula gives: a non-number, a wrong shape
    assert not formula.reproduces(parts, pair, GRADIENT, [((2.0, 6.0, 18.0), None)] * 2)
    assert not formula.reproduces(parts, pair, GRADIENT, calls_of(lambda x, y_hat, y: (1.0,)))
    assert formula.evaluate(["log", minus(S("x"))], {"x": 2.0}) is None
    assert formula.evaluate(["Pow", S("x"), I(-1)], {"x": 0.0}) is None


# --------------------------------------------------------------------------- the line

def test_the_line_names_the_formula_the_slide_and_the_mistake():
    line = formula.explain(BASIC, "gradient", NO_FACTOR_2, calls_of(no_factor_2))
    assert line == ("your gradient computes (dw, db) = (x·(ŷ − y), ŷ − y); the lecture's is "
                    "(dw, db) = (2x·(ŷ − y), 2(ŷ − y)): the factor 2 is missing (slide 8)")


def test_an_unknown_mistake_shows_both_formulas_and_which_part_is_right():
    tree = ["Tuple", ["Mul", I(2), S("x"), DIFF], ["Mul", I(3), DIFF]]
    line = formula.explain(BASIC, "gradient", tree, calls_of(
        lambda x, y_hat, y: (2 * x * (y_hat - y), 3 * (y_hat - y))))
    assert line == ("your gradient computes (dw, db) = (2x·(ŷ − y), 3(ŷ − y)); the lecture's is "
                    "(dw, db) = (2x·(ŷ − y), 2(ŷ − y)): dw is right, db is not (slide 8)")


def test_no_line_for_the_lecture_formula_or_a_formula_that_does_not_fit():
    assert formula.explain(BASIC, "gradient", LECTURE, calls_of(
        lambda x, y_hat, y: (2 * x * (y_hat - y), 2 * (y_hat - y)))) is None
    # the worker claims the right formula, the function returned other values
    assert formula.explain(BASIC, "gradient", LECTURE, calls_of(no_factor_2)) is None
    assert formula.explain(BASIC, "gradient", ["Tuple", S("w"), S("b")], calls_of(no_factor_2)) is None
    assert formula.explain(BASIC, "gradient", NO_FACTOR_2, []) is None
    assert formula.explain("linear_regression_numpy", "gradient", NO_FACTOR_2, calls_of(no_factor_2)) is None


def test_the_lecture_formulas_and_parameters():
    assert formula.parameters(BASIC, "gradient") == GRADIENT
    assert formula.parameters(BASIC, "update") == ("w", "b", "dw", "db", "lr")
    assert formula.parameters(BASIC, "predict") == ("x", "w", "b")
    assert formula.parameters(BASIC, "loss") == ("y_hat", "y")
    assert not formula.traceable(BASIC, "train")
    assert not formula.traceable("logistic_regression", "loss")


# --------------------------------------------------------------------------- the worker

HOSTILE = '''
import sys


class Evil:
    """Everything a grader might call on it runs forever or raises."""
    def __add__(self, other):
        raise SystemExit("evil add")
    __radd__ = __mul__ = __rmul__ = __sub__ = __rsub__ = __pow__ = __add__

    def __repr__(self):
        while True:
            pass
    __str__ = __repr__

    def __eq__(self, other):
        return True

    def __hash__(self):
        raise RuntimeError("evil hash")


def branches(x, y_hat, y):
    if y_hat > y:
        return 2 * x * (y_hat - y), 2 * (y_hat - y)
    return 0.0, 0.0


def evil(x, y_hat, y):
    return Evil(), Evil()


def evil_sum(x, y_hat, y):
    return x + Evil()


def sneaky_symbol(x, y_hat, y):
    import sympy

    class Sneaky(sympy.Symbol):
        @property
        def name(self):
            raise SystemExit("sneaky")
    return Sneaky("x", real=True), y


def foreign(x, y_hat, y):
    import sympy
    return x * sympy.Symbol("__import__"), y


def huge(x, y_hat, y):
    return sum(x ** k * y_hat for k in range(1, 500)), y


def high_power(x, y_hat, y):
    return (x + y) ** 2000, y


def deep(x, y_hat, y):
    import sympy
    e = x
    for _ in range(300):
        e = sympy.exp(e) + y
    return e, y


def nested_tuples(x, y_hat, y):
    return (((x,),),)


def many(x, y_hat, y):
    return tuple(x for _ in range(100))


def forever(x, y_hat, y):
    while True:
        pass


def stubs_gone(x, y_hat, y):
    import sys
    return float("ctypes" in sys.modules), float("subprocess" in sys.modules)


def try_ctypes(x, y_hat, y):
    import ctypes
    return 1.0


def forge(x, y_hat, y):
    """Replaces the worker's converter: the grader must judge what it gets, not trust it."""
    import gdkit_worker.formula as f
    f.result = lambda value, names: {"ok": True, "formula": ["Tuple", ["Symbol", "__import__"],
                                                            ["eval", "1"]]}
    return x * (y_hat - y), y_hat - y
'''


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    (folder / f"{BASIC}.py").write_text(HOSTILE, encoding="utf-8")
    with Session(folder, timeout=3.0) as session:
        yield session


def rejected(reply) -> bool:
    """No formula: the worker said so, or the grader's decoder refuses what it sent."""
    if not reply.ok:
        return True
    try:
        formula.check_tree(reply.value, GRADIENT)
    except formula.NotAFormula:
        return True
    return False


@pytest.mark.parametrize("function", ["branches", "evil", "evil_sum", "sneaky_symbol", "foreign",
                                      "huge", "high_power", "deep", "nested_tuples", "many"])
def test_hostile_values_give_no_formula(hostile, function):
    reply = hostile.formula(BASIC, function, GRADIENT)
    assert rejected(reply), reply
    after = hostile.call(BASIC, "stubs_gone", 1.0, 2.0, 3.0)   # the worker still answers
    assert after.ok and after.value == (0.0, 0.0), after


def test_the_worker_reads_a_plain_formula(hostile):
    """The same worker, the same request: an honest function's formula comes back (so the
    rejections above are not a worker that never answers)."""
    reply = hostile.formula(BASIC, "branches", ["x", "y_hat", "y"])
    assert reply.status == "error" and reply.error["type"] == "TypeError"   # y_hat > y on symbols
    reply = hostile.formula(BASIC, "nested_tuples", ["x", "y_hat", "y"])
    assert reply.status == "error" and reply.error["type"] == "NotAFormula"


def test_sympy_stand_ins_leave_the_worker(hostile):
    """sympy's import got stand-ins for ctypes and subprocess; afterwards they are gone, and the
    guard still refuses the real ctypes."""
    assert hostile.formula(BASIC, "huge", GRADIENT).status in ("ok", "error")   # sympy imported
    assert hostile.call(BASIC, "stubs_gone", 1.0, 2.0, 3.0).value == (0.0, 0.0)
    reply = hostile.call(BASIC, "try_ctypes", 1.0, 2.0, 3.0)
    assert reply.status == "error" and "ctypes" in reply.error["message"]


@pytest.mark.parametrize("names", [[1, 2, 3], ["x", "y_hat", "os.system"], ["x"] * 20, "xyz"])
def test_malformed_names_are_refused(hostile, names):
    reply = hostile._exchange({"op": "formula", "module": BASIC, "function": "branches",
                               "kwargs": {}, "args": [__import__("autograder").worker.encode(n, [])
                                                      for n in names]})
    assert not reply.ok and hostile.call(BASIC, "stubs_gone", 1.0, 2.0, 3.0).ok


def test_a_function_that_never_returns_on_symbols_times_out_and_is_not_marked(tmp_path):
    (tmp_path / f"{BASIC}.py").write_text(HOSTILE, encoding="utf-8")
    with Session(tmp_path, timeout=1.0) as session:
        assert session.formula(BASIC, "forever", GRADIENT).status == "timeout"
        assert (BASIC, "forever") not in session.dead
        assert session.call(BASIC, "stubs_gone", 1.0, 2.0, 3.0).ok   # a new worker answers


def test_a_forged_tree_gives_no_formula(tmp_path):
    """The student's code replaces the worker's converter with one that forges the tree: the
    grade goes on, no fault, and no formula line."""
    source = (ROOT / "solutions" / f"{BASIC}.py").read_text(encoding="utf-8")
    forge = HOSTILE.split("def forge")[1].replace("(x, y_hat, y):", "def gradient(x, y_hat, y):", 1)
    folder = build(tmp_path / "s", functions={(BASIC, "gradient"): "\n" + forge.lstrip()})
    assert "gdkit_worker.formula" in (folder / f"{BASIC}.py").read_text() and source
    report = grade(folder, seed=0, only=f"{BASIC}.gradient")
    assert not report.faults and any(not c.passed for c in report.checks)
    assert not any(c.formula for c in report.checks)


def test_hostile_gradient_through_the_grader(tmp_path):
    """Wrong values on numbers, an evil object on symbols: graded, no fault, no formula."""
    code = textwrap.dedent('''
        class Evil:
            def __repr__(self):
                raise SystemExit("evil")
            def __add__(self, other):
                raise SystemExit("evil")


        def gradient(x, y_hat, y):
            if type(x) is float:
                return x * (y_hat - y), y_hat - y
            return Evil(), Evil()
        ''')
    folder = build(tmp_path / "s", functions={(BASIC, "gradient"): code})
    report = grade(folder, seed=0, only=f"{BASIC}.gradient")
    assert not report.faults and report.checks and not any(c.formula for c in report.checks)
    assert any(c.hint and "the factor 2 is missing" in c.hint for c in report.checks)


# --------------------------------------------------------------------------- the corpus

# the student's formula and the reason each basic-module mistake of the corpus must be shown
# with; None: no formula line (hard-coded values, math.sqrt, NumPy inside: nothing trustworthy)
EXPECTED = {
    "basic-predict-no-bias": ("ŷ = wx;", "the bias b is missing"),
    "basic-predict-swapped-w-b": ("ŷ = bx + w;", "w and b are swapped"),
    "basic-predict-minus-bias": ("ŷ = wx − b;", "the bias is subtracted"),
    "basic-predict-w-plus-b": ("ŷ = w + b;", "x is missing"),
    "basic-predict-bias-only": ("ŷ = b;", None),
    "basic-predict-hard-coded": None,
    "basic-predict-numpy-float64": None,
    "basic-predict-numpy-inside": None,
    "basic-predict-rounded": None,       # round() of a symbol raises TypeError
    "basic-loss-not-squared": ("L = ŷ − y;", "square the difference"),
    "basic-loss-absolute": ("L = |ŷ − y|;", "the absolute error"),
    "basic-loss-hard-coded": ("L = 144;", None),
    "basic-loss-sqrt-of-square": None,   # math.sqrt of a symbol raises TypeError
    "basic-loss-squares-apart": ("L = ŷ² − y²;", None),
    "basic-loss-derivative": ("L = 2(ŷ − y);", "the derivative of the loss"),
    "basic-loss-sum-squared": ("L = (ŷ + y)²;", None),
    "basic-gradient-no-factor-2": ("(dw, db) = (x·(ŷ − y), ŷ − y);", "the factor 2 is missing"),
    "basic-gradient-swapped": ("(dw, db) = (2(ŷ − y), 2x·(ŷ − y));", "the two parts are swapped"),
    "basic-gradient-sign": ("(dw, db) = (2x·(y − ŷ), 2(y − ŷ));", "the sign is flipped"),
    "basic-gradient-db-with-x": ("(dw, db) = (2x·(ŷ − y), 2x·(ŷ − y));", "∂L/∂b has no factor x"),
    "basic-gradient-no-x": ("(dw, db) = (2(ŷ − y), 2(ŷ − y));", "∂L/∂w has the factor x"),
    "basic-gradient-db-no-2": ("(dw, db) = (2x·(ŷ − y), ŷ − y);", "∂L/∂b lacks the factor 2"),
    "basic-gradient-dw-no-2": ("(dw, db) = (x·(ŷ − y), 2(ŷ − y));", "∂L/∂w lacks the factor 2"),
    "basic-gradient-precedence": ("(dw, db) = (2xŷ − y, 2ŷ − y);", "parentheses are missing"),
    "basic-gradient-sign-no-2": ("(dw, db) = (x·(y − ŷ), y − ŷ);",
                                 "the sign is flipped and the factor 2 is missing"),
    "basic-gradient-numpy-inside": None,
    "basic-update-swapped": ("(w, b) = (b − η·db, w − η·dw);", "the results are swapped"),
    "basic-update-fixed-lr": ("(w, b) = (w − 0.1·dw, b − 0.1·db);", "use the lr argument, not a fixed 0.1"),
    "basic-update-plus": ("(w, b) = (w + η·dw, b + η·db);", "step against the gradient"),
    "basic-update-no-lr": ("(w, b) = (w − dw, b − db);", "multiply the gradient by the learning rate"),
    "basic-update-crossed": ("(w, b) = (w − η·db, b − η·dw);", "the parts are crossed"),
    "basic-update-returns-step": ("(w, b) = (η·dw, η·db);", "you returned the step"),
    "basic-update-b-kept": ("(w, b) = (w − η·dw, b);", "b is not updated"),
    "basic-update-unchanged": ("(w, b) = (w, b);", "θ comes back unchanged"),
    "basic-update-b-with-dw": ("(w, b) = (w − η·dw, b − η·dw);", "b was stepped with ∂L/∂w"),
    "basic-update-w-with-db": ("(w, b) = (w − η·db, b − η·db);", "w was stepped with ∂L/∂b"),
}
LECTURE_LINES = {
    "predict": "the lecture's is ŷ = wx + b", "loss": "the lecture's is L = (ŷ − y)²",
    "gradient": "the lecture's is (dw, db) = (2x·(ŷ − y), 2(ŷ − y))",
    "update": "the lecture's is (w, b) = (w − η·dw, b − η·db)",
}
BASIC_MISTAKES = [m for m in MISTAKES if m.module == BASIC and formula.traceable(BASIC, m.function)]


def test_every_basic_mistake_has_an_expectation():
    assert {m.id for m in BASIC_MISTAKES} == set(EXPECTED)


@pytest.mark.parametrize("mistake", BASIC_MISTAKES, ids=lambda m: m.id)
def test_basic_mistake_gets_the_right_formula_line(mistake, tmp_path):
    folder = build(tmp_path / mistake.id, functions={(mistake.module, mistake.function): mistake.code})
    report = grade(folder, seed=0, only=f"{BASIC}.{mistake.function}")
    assert not report.faults
    lines = [c.formula for c in report.checks if c.formula]
    expected = EXPECTED[mistake.id]
    if expected is None:
        assert not lines, lines
        return
    assert len(lines) == 1, lines   # once per function, on its first failed check
    line = lines[0]
    yours, reason = expected
    assert line.startswith(f"your {mistake.function} computes {yours}"), line
    assert LECTURE_LINES[mistake.function] in line and line.endswith("(slide 8)"), line
    if reason is not None:
        assert f": {reason}" in line, line
    else:
        assert line.endswith(f"{LECTURE_LINES[mistake.function].split(' is ', 1)[1]} (slide 8)"), line
    first_failed = next(c for c in report.checks if c.status == "failed")
    assert first_failed.formula == line or first_failed.formula is None


@pytest.mark.parametrize("style", [s for s in STYLES if any(m == BASIC for m, _ in s.functions)]
                         + [s for s in STYLES if BASIC in s.modules], ids=lambda s: s.id)
def test_valid_styles_get_no_formula_line(style, tmp_path):
    """Right answers pass, so no formula is asked for; and asked anyway, a right function's
    formula is the lecture's, which gives no line either."""
    folder = build(tmp_path / style.id, functions=style.functions, modules=style.modules)
    checks = select(all_checks(), BASIC)
    with Grader(folder, seed=1, checks=checks) as grader:
        results = [grader.run(c) for c in checks]
        assert all(r.passed for r in results) and not any(r.formula for r in results)
        assert not grader.formulas   # never asked
        for function in formula.FUNCTIONS:
            check = next(c for c in checks if c.function == function)
            assert grader.formula(check) is None, function
        assert set(grader.formulas) == {f"{BASIC}.{f}" for f in formula.FUNCTIONS}


def test_one_formula_request_per_failed_function(tmp_path, monkeypatch):
    mistake = next(m for m in MISTAKES if m.id == "basic-gradient-no-factor-2")
    folder = build(tmp_path / "s", functions={(BASIC, "gradient"): mistake.code})
    asked = []
    real = Session.formula

    def counted(self, module, function, names):
        asked.append(f"{module}.{function}")
        return real(self, module, function, names)
    monkeypatch.setattr(Session, "formula", counted)
    report = grade(folder, seed=0, only=BASIC)
    assert asked == [f"{BASIC}.gradient"]   # train fails too, but has no formula
    failed = [c for c in report.checks if c.key == f"{BASIC}.gradient" and c.status == "failed"]
    assert len(failed) >= 3 and [bool(c.formula) for c in failed].count(True) == 1


def test_every_format_shows_the_formula_line(tmp_path):
    mistake = next(m for m in MISTAKES if m.id == "basic-update-plus")
    folder = build(tmp_path / "s", functions={(BASIC, "update"): mistake.code})
    report = grade(folder, seed=0, only=f"{BASIC}.update")
    line = next(c.formula for c in report.checks if c.formula)
    assert "your update computes (w, b) = (w + η·dw, b + η·db)" in line
    assert f"    formula: {line}" in text.render(report)
    assert "**Your formula:**" in markdown.render(report) and line in markdown.render(report)
    assert "Your formula:" in html.render(report) and escape(line) in html.render(report)
    assert line in [c.get("formula") for c in json.loads(json_format.render(report))["checks"]]


# --------------------------------------------------------------------------- cold start

COLD = """
import sys
from autograder.engine.grader import grade
report = grade(sys.argv[1], seed=3)
print(report.score, "sympy" in sys.modules)
"""


def test_grading_right_answers_never_imports_sympy():
    out = subprocess.run([sys.executable, "-c", COLD, str(ROOT / "solutions")], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["100", "False"], out.stdout + out.stderr


def test_a_failed_plain_python_function_imports_sympy(tmp_path):
    """The other side of the test above: it would see sympy imported."""
    mistake = next(m for m in MISTAKES if m.id == "basic-loss-not-squared")
    folder = build(tmp_path / "s", functions={(BASIC, "loss"): mistake.code})
    out = subprocess.run([sys.executable, "-c", COLD, str(folder)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.stdout.split()[-1] == "True", out.stdout + out.stderr
