"""The formula a student's plain-Python function implements, shown next to the lecture's.

Once a function of the plain-Python module has failed a check, the grader asks the worker, once,
to call it with sympy symbols for its parameters (engine.session.Session.formula) and gets back
what it returned as a tree of plain data (worker/formula.py). Here, on the trusted side, the tree
is

1. checked against a whitelist (`check_tree`: node types, arity, sizes, numbers, and only the
   function's own parameter names), before anything else is done with it;
2. evaluated with plain floats at every argument tuple the function was called with on numbers
   (`evaluate`), which must give back what it returned: a function that branches on values, keeps
   state, or whose worker lied about it gives no formula (no hint is better than a wrong one);
3. rebuilt as a sympy expression from those node types alone (never a string parsed), compared
   part by part with the lecture's formula built from the same symbols, and, where it differs,
   evaluated at the diagnosis's inputs so that diagnose.py's catalogue can name the mistake.

sympy is imported only in step 3, so grading a submission whose plain-Python functions pass never
imports it. The result is one line in the student's own terms: gradient returns (dw, db) and
update (w, b), in that order.
"""
from __future__ import annotations

import functools
import math
import numbers

PLAIN_PYTHON = ("linear_regression_basic",)   # modules of scalars, where symbols can stand in
FUNCTIONS = ("predict", "loss", "gradient", "update")   # not train: loops over lists
SLIDE = "8"            # the slide that states the plain-Python column's formulas
PAIRS = {"gradient": ("dw", "db"), "update": ("w", "b")}   # what a pair returns, in its order

MAX_NODES = 300        # the worker's caps (worker/formula.py), checked again here
MAX_DEPTH = 12
MAX_PARTS = 4
MAX_INT = 10 ** 15
MAX_POWER = 16         # the product of the exponents on any path of the tree
FUNCTION_NODES = {"Add": (2, MAX_NODES), "Mul": (2, MAX_NODES), "Pow": (2, 2), "exp": (1, 1),
                  "log": (1, 1), "Abs": (1, 1)}
NUMBER_NODES = ("Integer", "Rational", "Float")

SHOWN = {"y_hat": "ŷ", "lr": "η"}
TERM_ORDER = ("x", "w", "b", "y_hat", "y", "dw", "db", "lr")     # wx + b, ŷ − y, w − η·dw
FACTOR_ORDER = ("lr", "w", "b", "x", "y_hat", "y", "dw", "db")   # η·dw, wx, bx, 2x·(ŷ − y)
SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class NotAFormula(ValueError):
    """A tree that is not a formula of the function's own parameters."""


def traceable(module: str, function: str) -> bool:
    return module in PLAIN_PYTHON and function in FUNCTIONS


def parameters(module: str, function: str) -> tuple[str, ...]:
    """The function's parameters, named and ordered as the module's adapter calls it."""
    adapter = _adapter(module)
    from ..lecture import STEPS

    zero = {"theta": [0.0, 0.0], "x": [1.0, 0.0], "y_hat": 0.0, "y": 0.0, "grad": [0.0, 0.0],
            "lr": 0.0, "z": 0.0}
    return tuple(adapter.args(function, **{k: zero[k] for k in STEPS[function].inputs})[1])


def _adapter(module):
    if module == "linear_regression_basic":
        from ..checks.linear_regression_basic import Basic

        return Basic()
    raise KeyError(module)


# --------------------------------------------------------------------------- the tree

def check_tree(tree, names) -> tuple[list, bool]:
    """(parts, whether the function returned a tuple) of a tree from the worker, or raise
    NotAFormula. Plain data only: exact lists, str, int and float, nothing else is read."""
    names = frozenset(names)
    count = [0]

    def number(n):
        return type(n) is int and -MAX_INT <= n <= MAX_INT

    def walk(node, depth, power):
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise NotAFormula("too large")
        if type(node) is not list or not node or type(node[0]) is not str:
            raise NotAFormula("malformed node")
        tag, args = node[0], node[1:]
        if tag == "Symbol":
            if len(args) != 1 or type(args[0]) is not str or args[0] not in names:
                raise NotAFormula("a symbol that is not a parameter of the function")
        elif tag == "Integer":
            if len(args) != 1 or not number(args[0]):
                raise NotAFormula("bad integer")
        elif tag == "Rational":
            if len(args) != 2 or not number(args[0]) or not number(args[1]) or args[1] <= 0:
                raise NotAFormula("bad rational")
        elif tag == "Float":
            if len(args) != 1 or type(args[0]) is not float or not abs(args[0]) < 1e300:
                raise NotAFormula("bad float")
        elif tag in FUNCTION_NODES:
            low, high = FUNCTION_NODES[tag]
            if not low <= len(args) <= high:
                raise NotAFormula(f"{tag} with {len(args)} arguments")
            if tag == "Pow":
                exponent = args[1]
                if type(exponent) is not list or not exponent or exponent[0] not in NUMBER_NODES:
                    raise NotAFormula("an exponent that is not a number")
                walk(exponent, depth + 1, power)
                size = abs(_number(exponent))
                power *= max(1.0, size)
                if power > MAX_POWER:
                    raise NotAFormula("too high a power")
                args = args[:1]
            for a in args:
                walk(a, depth + 1, power)
        else:
            raise NotAFormula(f"unknown node {tag!r:.40}")

    if type(tree) is list and tree[:1] == ["Tuple"]:
        parts = tree[1:]
        if not 1 <= len(parts) <= MAX_PARTS:
            raise NotAFormula("not one to four formulas")
        for part in parts:
            walk(part, 1, 1.0)
        return list(parts), True
    walk(tree, 0, 1.0)
    return [tree], False


def _number(node) -> float:
    tag = node[0]
    if tag == "Rational":
        return node[1] / node[2]
    return float(node[1])


def evaluate(node, env):
    """The value of a checked tree with plain floats for the symbols (`env`: name -> float), or
    None where it has none (a division by zero, the log of a negative number, an overflow...)."""
    try:
        value = _evaluate(node, env)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return value if type(value) is float else None


def _evaluate(node, env):
    tag = node[0]
    if tag == "Symbol":
        return float(env[node[1]])
    if tag in NUMBER_NODES:
        return _number(node)
    args = [_evaluate(a, env) for a in node[1:]]
    if tag == "Add":
        return math.fsum(args)
    if tag == "Mul":
        return math.prod(args)
    if tag == "Pow":
        return float(args[0] ** args[1])   # a complex power raises TypeError: no value
    if tag == "exp":
        return math.exp(args[0])
    if tag == "log":
        return math.log(args[0])
    return abs(args[0])   # Abs


def reproduces(parts, pair, names, calls, rtol=1e-6, atol=1e-9) -> bool:
    """Whether the tree gives back every value the function returned on numbers: `calls` holds
    (positional arguments, value returned). At least two different argument tuples are needed."""
    seen = set()
    for args, value in calls:
        if len(args) != len(names) or not all(_real(a) for a in args):
            return False
        if pair:
            if type(value) not in (tuple, list) or len(value) != len(parts):
                return False
            got = list(value)
        else:
            got = [value]
        if not all(_real(g) for g in got):
            return False
        env = dict(zip(names, (float(a) for a in args)))
        for part, g in zip(parts, got):
            f, g = evaluate(part, env), float(g)
            if f is None:
                if math.isfinite(g):
                    return False
            elif not (f == g or (math.isnan(f) and math.isnan(g)) or (
                    math.isfinite(f) and math.isfinite(g) and math.isclose(f, g, rel_tol=rtol,
                                                                           abs_tol=atol))):
                return False
        seen.add(tuple(float(a) for a in args))
    return len(seen) >= 2


def _real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


# --------------------------------------------------------------------------- sympy

def _symbols(sp, names):
    return {n: sp.Symbol(n, real=True) for n in names}


def build(sp, node, symbols):
    """The sympy expression of a checked tree: the whitelisted node types, nothing else."""
    tag = node[0]
    if tag == "Symbol":
        return symbols[node[1]]
    if tag == "Integer":
        return sp.Integer(node[1])
    if tag == "Rational":
        return sp.Rational(node[1], node[2])
    if tag == "Float":
        return sp.Float(node[1])
    args = [build(sp, a, symbols) for a in node[1:]]
    return {"Add": sp.Add, "Mul": sp.Mul, "Pow": sp.Pow, "exp": sp.exp, "log": sp.log,
            "Abs": sp.Abs}[tag](*args)


def lecture_formula(sp, function, symbols) -> list:
    """The lecture's formula for the plain-Python function, from the same symbols (slide 8; the
    gradient is sympy's dL/dz of lecture/derive.py, times x for dw)."""
    s = symbols
    if function == "predict":
        return [s["w"] * s["x"] + s["b"]]
    if function == "loss":
        return [(s["y_hat"] - s["y"]) ** 2]
    if function == "gradient":
        g = _dloss_dz(sp)
        g = g.xreplace({v: s[v.name] for v in g.free_symbols})
        return [s["x"] * g, g]
    if function == "update":
        return [s["w"] - s["lr"] * s["dw"], s["b"] - s["lr"] * s["db"]]
    raise KeyError(function)


@functools.cache
def _dloss_dz(sp):
    from ..lecture import derive

    return derive.dloss_dz(sp, "linear")   # sympy's dL/dz in ŷ and y: 2ŷ − 2y


def same(sp, a, b, names, points=6) -> bool | None:
    """Whether two expressions are equal: True, False, or None when it cannot be told. They
    differ if they differ at some random point; where they agree at every one, the simplified
    difference must be 0."""
    import random

    rng = random.Random(2023)
    symbols = [sp.Symbol(n, real=True) for n in names]
    for _ in range(points):
        at = {s: sp.Float(round(rng.uniform(-3, 3), 3)) for s in symbols}
        try:
            va, vb = complex(a.xreplace(at).evalf()), complex(b.xreplace(at).evalf())
        except (TypeError, ValueError, ArithmeticError):
            return None
        if not (abs(va - vb) <= 1e-9 + 1e-9 * max(abs(va), abs(vb))):
            return False
    try:
        difference = sp.simplify(a - b)
    except Exception:
        return None
    return (difference.is_zero is True or difference == 0) or None


# --------------------------------------------------------------------------- the line

def explain(module, function, tree, calls) -> str | None:
    """The line that shows the student's formula next to the lecture's, or None: where the tree
    is not a formula of the parameters, does not give back what the function returned on
    numbers, or equals the lecture's formula (the failure lies elsewhere)."""
    if not traceable(module, function):
        return None
    names = parameters(module, function)
    try:
        parts, pair = check_tree(tree, names)
    except NotAFormula:
        return None
    if not reproduces(parts, pair, names, calls):
        return None
    import sympy as sp

    symbols = _symbols(sp, names)
    student = [build(sp, p, symbols) for p in parts]
    reference = lecture_formula(sp, function, symbols)
    if len(student) != len(reference) or pair != (function in PAIRS):
        return None
    equal = [same(sp, s, r, names) for s, r in zip(student, reference)]
    if None in equal or all(equal):
        return None
    what = f"({', '.join(PAIRS[function])})" if pair else _symbol_of(function)
    line = (f"your {function} computes {what} = {show_all(sp, student)}; the lecture's is "
            f"{what} = {show_all(sp, reference)}")
    reason = known_mistake(module, function, parts, pair, names)
    if reason is None and pair and any(equal):
        right = [n for n, e in zip(PAIRS[function], equal) if e]
        wrong = [n for n, e in zip(PAIRS[function], equal) if not e]
        reason = f"{' and '.join(right)} is right, {' and '.join(wrong)} is not"
    return line + (f": {reason}" if reason else "") + f" (slide {SLIDE})"


def _symbol_of(function):
    from ..lecture import STEPS

    return STEPS[function].symbol


def known_mistake(module, function, parts, pair, names) -> str | None:
    """What diagnose.py's catalogue calls the formula, in a few words: the formula's own values
    at the inputs the diagnosis tries (worked examples and generic points) must fit one known
    mistake alone; its hint's first clause says which."""
    from ..checks import model
    from ..checks.base import Failure
    from . import diagnose

    adapter = _adapter(module)
    observations = []
    for canon, worked in model.probe_inputs(adapter, function):
        args = adapter.args(function, **canon)[0]
        env = dict(zip(names, (float(a) for a in args)))
        values = [evaluate(p, env) for p in parts]
        if None in values:
            continue
        raw = tuple(values) if pair else values[0]
        try:
            got = adapter.read(function, raw, **canon)
        except Failure:
            continue
        observations.append(diagnose.Observation(canon, got, model.expected_of(adapter, function,
                                                                                canon), worked))
    if not observations:
        return None
    found = diagnose.candidates(adapter.model, function, observations)
    hints = list(dict.fromkeys(m.hint for m in found))
    return reason_of(hints[0]) if len(hints) == 1 else None


def reason_of(hint: str) -> str | None:
    """The first clause of a diagnose hint ("the factor 2 is missing: your ∇θL equals ..."). One
    that only says what the function computed ("your L equals ŷ² − y²"), which the formulas
    already show, gives what follows its comma, if anything ("..., the derivative of the loss")."""
    clause = hint.split(": ", 1)[0].strip()
    if clause.startswith("your "):
        rest = clause.split(", ", 1)
        clause = rest[1] if len(rest) == 2 else ""
    return clause or None


# --------------------------------------------------------------------------- showing

def show_all(sp, parts) -> str:
    shown = [show(sp, sp.factor_terms(p)) for p in parts]
    return shown[0] if len(shown) == 1 else f"({', '.join(shown)})"


def _rank(e, order):
    found = [order.index(s.name) for s in e.free_symbols if s.name in order]
    return min(found) if found else len(order)


def _lead_positive(sp, e):
    """An Add whose sign does not matter (inside |…| or an even power) with its first term
    positive, as the lecture writes it: |ŷ − y|, (ŷ − y)²."""
    if e.is_Add:
        first = min(e.args, key=lambda t: (_rank(t, TERM_ORDER), str(t)))
        if first.could_extract_minus_sign():
            return -e
    return e


def show(sp, e) -> str:
    """A readable form: ŷ and η for y_hat and lr, x·(ŷ − y), (ŷ − y)², |ŷ − y|, ½, w − η·dw."""
    if e.is_Add:
        def order(t):
            return t.could_extract_minus_sign(), _rank(t, TERM_ORDER), str(t)

        terms = sorted(e.args, key=order)
        out = ""
        for i, t in enumerate(terms):
            negative = t.could_extract_minus_sign()
            text = show(sp, -t if negative else t)
            out += ("−" if negative else "") + text if i == 0 else (
                (" − " if negative else " + ") + text)
        return out
    if e.is_Mul:
        return _product(sp, e)
    if e.is_Pow:
        return _power(sp, e.base, e.exp)
    if e.is_Symbol:
        return SHOWN.get(e.name, e.name)
    if e.is_Number:
        return _show_number(sp, e)
    if isinstance(e, sp.Abs):
        return f"|{show(sp, _lead_positive(sp, e.args[0]))}|"
    if isinstance(e, sp.exp):
        return f"e^{_atom(sp, e.args[0])}"
    if isinstance(e, sp.log):
        return f"log({show(sp, e.args[0])})"
    return str(e)


def _show_number(sp, e) -> str:
    if e.is_Integer:
        return str(int(e))
    if e.is_Rational:
        return "½" if (e.p, e.q) == (1, 2) else f"{e.p}/{e.q}"
    return f"{float(e):.10g}"


def _atom(sp, e) -> str:
    """`e` as a factor or a base: in parentheses unless it is one symbol or number."""
    text = show(sp, e)
    if (e.is_Symbol or (e.is_Integer and e >= 0) or (e.is_Float and e >= 0)
            or isinstance(e, sp.Abs)):
        return text
    return f"({text})"


def _power(sp, base, exponent) -> str:
    if exponent.is_Integer and exponent < 0:
        return f"1 / {_power(sp, base, -exponent) if exponent != -1 else _atom(sp, base)}"
    if exponent == sp.Rational(1, 2):
        return f"√{_atom(sp, base)}"
    if exponent.is_Integer and exponent % 2 == 0:
        base = _lead_positive(sp, base)
    if exponent.is_Integer:
        return _atom(sp, base) + str(int(exponent)).translate(SUPERSCRIPTS)
    return f"{_atom(sp, base)}^{_atom(sp, exponent)}"


def _product(sp, e) -> str:
    """Factors in the lecture's order: a number first, then symbols, then the rest; a whole
    number (or ½) and single-letter symbols are written side by side (2x, ½(ŷ − y)², 2xŷ),
    anything else with a dot (x·(ŷ − y), η·dw, 0.1·dw); negative powers below a slash."""
    coefficient, rest = e.as_coeff_Mul()
    factors = sp.Mul.make_args(rest)
    if coefficient < 0:
        return "−" + _product(sp, -e) if -e != 1 else "−1"
    top, bottom = [], []
    for f in factors:
        if f.is_Pow and f.exp.is_Number and f.exp < 0:
            bottom.append(sp.Pow(f.base, -f.exp))
        else:
            top.append(f)
    out = _join(sp, coefficient, top)
    if not bottom:
        return out
    below = _join(sp, sp.Integer(1), bottom)
    if len(bottom) > 1 or not (bottom[0].is_Symbol or bottom[0].is_Pow):
        below = f"({below})" if not below.startswith("(") or len(bottom) > 1 else below
    return f"{out} / {below}"


def _join(sp, coefficient, factors) -> str:
    def order(f):
        kind = 0 if f.is_Symbol or (f.is_Pow and f.base.is_Symbol) else \
            2 if f.is_Add or (f.is_Pow and f.base.is_Add) else 1
        return kind, _rank(f, FACTOR_ORDER), str(f)

    pieces = []   # (text, kind): "number" (joins the next side by side), "letter" or "other"
    if coefficient != 1 or not factors:
        whole = float(coefficient).is_integer() or coefficient == sp.Rational(1, 2)
        pieces.append((_show_number(sp, coefficient), "number" if whole else "other"))
    for f in sorted(factors, key=order):
        base = f.base if f.is_Pow else f
        text = _atom(sp, f) if f.is_Add else show(sp, f)
        letter = base.is_Symbol and len(show(sp, base)) == 1
        pieces.append((text, "letter" if letter else "other"))
    out = pieces[0][0]
    for (_, before), (text, kind) in zip(pieces, pieces[1:]):
        side_by_side = before == "number" or (before == "letter" and kind == "letter")
        out += text if side_by_side else "·" + text
    return out
