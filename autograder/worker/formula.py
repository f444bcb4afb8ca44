"""Formula requests, on the worker's side: the student's function called with sympy symbols, and
what it returned written as a bounded expression tree of plain data.

Imported only by the first formula request (loop.formula_symbols), never at the worker's start,
and so is sympy. Everything here runs in a job thread, beside the student's code, exactly like a
call: the grader's timeout bounds it. The tree is made of lists, exact str, int and float only;
the protocol thread's sanitizer copies it as plain JSON (anything else fails the request), and
the grader decodes it against its own whitelist (autograder/feedback/formula.py): nothing here is
trusted, these caps only keep a hostile value from costing time.

    ["Tuple", part, ...]                      a tuple or list of formulas (gradient's (dw, db))
    ["Add", a, b, ...], ["Mul", ...]          sums and products
    ["Pow", base, exponent]
    ["exp", a], ["log", a], ["Abs", a]
    ["Symbol", name]                          only the names the request gave
    ["Integer", n], ["Rational", p, q], ["Float", v]
"""
MAX_NODES = 300
MAX_DEPTH = 12
MAX_PARTS = 4          # parts of a tuple or list result
MAX_INT = 10 ** 15
MAX_NAMES = 8

_SYMPY = []            # (sympy, [(class, tag), ...]), once imported


class NotAFormula(Exception):
    """The value is not an expression of the function's own symbols."""


def _sympy():
    """sympy, and the classes a tree may hold (exact types only), imported on first use."""
    if _SYMPY:
        return _SYMPY[0]
    import struct
    import sys
    import types

    # sympy's import asks ctypes for sizeof(c_long) (sympy.external.gmpy) and imports subprocess
    # (sympy.printing.gtk) without using it; the worker refuses both, so the import is given
    # stand-ins that hold nothing else, and they leave sys.modules right after it
    stubs = {"ctypes": types.ModuleType("ctypes"), "subprocess": types.ModuleType("subprocess")}
    stubs["ctypes"].c_long = object()
    stubs["ctypes"].sizeof = lambda _type, _size=struct.calcsize("l"): _size
    stubs = {name: stub for name, stub in stubs.items() if name not in sys.modules}
    sys.modules.update(stubs)
    try:
        import sympy
        from sympy.core import numbers
    finally:
        for name, stub in stubs.items():
            if sys.modules.get(name) is stub:
                del sys.modules[name]
    classes = [(sympy.Add, "Add"), (sympy.Mul, "Mul"), (sympy.Pow, "Pow"),
               (sympy.Symbol, "Symbol"), (sympy.Integer, "Integer"), (numbers.Zero, "Integer"),
               (numbers.One, "Integer"), (numbers.NegativeOne, "Integer"),
               (sympy.Rational, "Rational"), (numbers.Half, "Rational"), (sympy.Float, "Float"),
               (sympy.exp, "exp"), (sympy.log, "log"), (sympy.Abs, "Abs")]
    _SYMPY.append((sympy, classes))
    return _SYMPY[0]


def symbols(names):
    """Real sympy Symbols named `names` (the function's parameters, as the grader names them)."""
    if type(names) is not list or len(names) > MAX_NAMES or \
            any(type(n) is not str or not n.isidentifier() for n in names):
        raise NotAFormula("bad parameter names")
    sympy = _sympy()[0]
    return [sympy.Symbol(n, real=True) for n in names]


def tree(value, names):
    """The plain-data tree of `value`, or raise NotAFormula. Types are compared exactly (a
    subclass of a sympy class, whatever it does, is not a formula), and sizes are counted before
    anything is walked."""
    classes = _sympy()[1]
    names = list(names)
    count = [0]

    def number(n):
        if type(n) is not int or not -MAX_INT <= n <= MAX_INT:
            raise NotAFormula("a number out of range")
        return n

    def node(obj, depth):
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise NotAFormula("too large")
        t = type(obj)
        if t is int:
            return ["Integer", number(obj)]
        if t is float:
            if not -1e300 < obj < 1e300:
                raise NotAFormula("a number out of range")
            return ["Float", obj]
        tag = None
        for cls, name in classes:
            if t is cls:
                tag = name
                break
        if tag is None:
            raise NotAFormula("not a sympy expression of the parameters")
        if tag == "Symbol":
            name = obj.name
            if type(name) is not str or name not in names:
                raise NotAFormula("a symbol that is not a parameter")
            return ["Symbol", name]
        if tag == "Integer":
            return ["Integer", number(obj.p)]
        if tag == "Rational":
            return ["Rational", number(obj.p), number(obj.q)]
        if tag == "Float":
            v = float(obj)
            if type(v) is not float or not -1e300 < v < 1e300:
                raise NotAFormula("a number out of range")
            return ["Float", v]
        args = obj.args
        if type(args) is not tuple or len(args) > MAX_NODES:
            raise NotAFormula("too large")
        out = [tag]
        for a in args:
            out.append(node(a, depth + 1))
        return out

    t = type(value)
    if t is tuple or t is list:
        if not 1 <= len(value) <= MAX_PARTS:
            raise NotAFormula("not one to four formulas")
        out = ["Tuple"]
        for part in value:
            out.append(node(part, 1))
        return out
    return node(value, 0)


def result(value, names):
    """The job's result for a formula request: the tree, or why there is none. Never raises."""
    try:
        return {"ok": True, "formula": tree(value, names)}
    except NotAFormula as e:
        return {"ok": False, "error": {"type": "NotAFormula", "message": str(e)}}
    except BaseException as e:  # a hostile value may raise anything
        try:
            why = type(e).__name__
        except BaseException:
            why = "?"
        return {"ok": False, "error": {"type": "NotAFormula", "message": f"not a formula ({why})"}}
