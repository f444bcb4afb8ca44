"""The worker's own defences, one by one: the guard, the sealed code, the step counter's tamper
checks, the cleaning of student text, and the time budget.

The adversarial corpus (test_adversarial.py) shows that whole attacks fail; these tests pin down
each mechanism, quickly, so that a regression names what broke.
"""
from __future__ import annotations

import dis
import types
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from adversarial import harness as H
from autograder import sandbox, worker
from autograder.engine import grader as runner
from autograder.formats.sanitize import clean
from autograder.formats import text
from autograder.results import CheckResult
from autograder.engine.session import Session

from autograder.worker import guard as wguard, loop as wloop, wire as wwire

SEALED = [wwire._encode, wwire._decode, wloop._run_job, wloop._trace,
          wguard.guarded_create_builtin]


def global_lookups(code):
    found = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME", "IMPORT_NAME", "STORE_GLOBAL",
                          "DELETE_GLOBAL", "LOAD_DEREF", "LOAD_CLOSURE", "LOAD_CLASSDEREF"):
            found.add((code.co_name, ins.argval))
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= global_lookups(const)
    return found


@pytest.mark.parametrize("fn", SEALED, ids=lambda f: f.__name__)
def test_sealed_code_looks_up_no_global_name(fn):
    """Patching a module, the builtins or worker.py itself (it runs as __main__) cannot reach
    the code between the arguments and the encoded result: it names nothing but its own
    arguments and defaults, and holds no closure whose cells could be swapped."""
    assert global_lookups(fn.__code__) == set()
    assert fn.__closure__ is None
    assert not fn.__kwdefaults__
    for default in fn.__defaults__ or ():
        assert not isinstance(default, (list, dict, set)), default


@pytest.mark.parametrize("factory", [wguard.make_paths, wguard.make_guard,
                                     wguard.make_import_check, wguard.make_other_checks,
                                     wloop.make_sanitizer, wloop.make_runner, wloop.make_protocol],
                         ids=lambda f: f.__name__)
def test_trusted_closures_look_up_no_global_name(factory):
    """The guard and the protocol thread bind everything they use when they are made, at start
    (they read their bindings from closure cells, which no student code can reach)."""
    inner = nested(factory.__code__)
    assert inner
    for code in inner:
        for ins in dis.get_instructions(code):
            assert ins.opname not in ("LOAD_GLOBAL", "LOAD_NAME", "IMPORT_NAME"), \
                (code.co_name, ins.argval)


def nested(code):
    out = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out += [const] + nested(const)
    return out


PROBES = r'''
import collections, gc, importlib.util, os, socket, sys, threading

def probe(what, arg=None):
    if what == "read":
        with open(arg, "rb") as f:
            return len(f.read(10))
    if what == "write":
        with open(arg, "w") as f:
            f.write("x")
        return "written"
    if what == "listdir":
        return len(os.listdir(arg))
    if what == "fork":
        return os.fork()
    if what == "system":
        return os.system("true")
    if what == "kill-parent":
        os.kill(os.getppid(), 0)
        return "signalled"
    if what == "killpg":
        os.killpg(os.getpgid(0), 0)
        return "signalled"
    if what == "socket":
        socket.socket().close()
        return "socket"
    if what == "ctypes":
        import ctypes
        return "ctypes"
    if what == "thread":
        threading.Thread(target=print).start()
        return "thread"
    if what == "fresh-thread-module":
        spec = importlib.util.find_spec("_thread")
        module = importlib.util.module_from_spec(spec)
        return "fresh _thread"
    if what == "posixsubprocess":
        import _posixsubprocess
        return "imported"
    if what == "gc":
        return len(gc.get_objects())
    if what == "frames":
        return len(sys._current_frames())
    if what == "audithook":
        sys.addaudithook(lambda *a: None)
        return "added"  # the guard refuses silently: the hook is just not added
    if what == "symlink":
        os.symlink("/etc/passwd", os.path.join(os.environ["TMPDIR"], "link"))
        return "linked"
    if what == "namedtuple":
        P = collections.namedtuple("P", "x y", defaults=(0,))
        return P(1).y
    if what == "numpy":
        import numpy as np
        return float(np.arange(4.0) @ np.arange(4.0))
    raise ValueError(what)

def loop(x, theta):
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    return total

def vector(x, theta):
    return x @ theta

def untrace(x, theta):
    sys.settrace(None)
    return loop(x, theta)

def own_frame(x, theta):
    sys._getframe().f_trace = None
    return loop(x, theta)

def tuple_inside(x, theta):
    P = collections.namedtuple("P", "v")
    return P(float(x @ theta)).v
'''

ALLOWED = {"namedtuple": 0, "numpy": 14.0, "audithook": "added"}
DENIED = ["fork", "system", "kill-parent", "killpg", "socket", "ctypes", "thread",
          "fresh-thread-module", "posixsubprocess", "gc", "frames", "symlink"]


@pytest.fixture(scope="module", params=sandbox.LAYERS)
def probe_session(request, tmp_path_factory):
    env, reason = H.layer_env(request.param)
    if reason is not None:
        pytest.skip(f"{request.param} layer unavailable: {reason}")
    sub = tmp_path_factory.mktemp("probes")
    (sub / "probes.py").write_text(PROBES)
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    with Session(sub, layer=request.param, timeout=5.0) as s:
        yield s
    mp.undo()


@pytest.mark.parametrize("what", DENIED)
def test_guard_refuses(probe_session, what):
    reply = probe_session.call("probes", "probe", what)
    assert reply.status == "error", reply
    assert reply.error["type"] in ("PermissionError", "ImportError", "RuntimeError",
                                   "ModuleNotFoundError"), reply.error


@pytest.mark.parametrize("what", sorted(ALLOWED))
def test_guard_allows(probe_session, what):
    reply = probe_session.call("probes", "probe", what)
    assert reply.ok and reply.value == ALLOWED[what], reply


@pytest.mark.parametrize("path", [str(H.REPO / "solutions" / "linear_regression_basic.py"),
                                  str(H.REPO / "data" / "worked_values.toml"),
                                  str(H.REPO / "autograder" / "oracles.py"), "/etc/passwd",
                                  "/proc/1/cmdline", "/proc/self/environ"])
def test_guard_refuses_reading_outside(probe_session, path):
    reply = probe_session.call("probes", "probe", "read", path)
    assert reply.status == "error" and reply.error["type"] in ("PermissionError",
                                                               "FileNotFoundError"), reply


def test_guard_reads_and_writes_inside(probe_session):
    assert probe_session.call("probes", "probe", "read", "probes.py").value == 10
    assert probe_session.call("probes", "probe", "listdir", ".").ok
    tmp = str(Path(probe_session.stage) / "tmp" / "note.txt")
    assert probe_session.call("probes", "probe", "write", tmp).value == "written"
    reply = probe_session.call("probes", "probe", "write", "probes.py")
    assert reply.status == "error", reply
    for where in ("/tmp/gdkit-guard-test", "/dev/shm/gdkit-guard-test"):
        reply = probe_session.call("probes", "probe", "write", where)
        assert reply.status == "error" and not Path(where).exists(), reply


def test_step_counter_counts_and_cannot_be_switched_off(probe_session):
    x, theta = np.ones(400), np.arange(400.0)
    small = probe_session.call("probes", "loop", x[:3], theta[:3], trace=True)
    large = probe_session.call("probes", "loop", x, theta, trace=True)
    assert small.ok and large.ok and large.events - small.events > 700
    vec = probe_session.call("probes", "vector", x, theta, trace=True)
    assert vec.ok and 0 < vec.events < 10
    for cheat in ("untrace", "own_frame"):
        reply = probe_session.call("probes", cheat, x, theta, trace=True)
        assert reply.status == "error" and reply.error["type"] == "Tampering", reply
        assert probe_session.call("probes", cheat, x, theta).ok  # untraced: nothing to tamper
    # the price: code that inspects frames (namedtuple does) cannot be counted either
    reply = probe_session.call("probes", "tuple_inside", x, theta, trace=True)
    assert reply.error.get("type") == "Tampering", reply


def test_clean_removes_what_controls_a_terminal_or_a_layout():
    raw = ("a\x1b[31mred\x1b[0m\rb\u2028c\u2029d\x85e\u202eX\x00\udcff\x07\x0b\x0c"
           "\x1b]0;title\x07f\x1bPg\ufeff\ttab\nnl")
    cleaned = clean(raw)
    assert "\x1b" not in cleaned and "\r" not in cleaned and "\x00" not in cleaned
    for ch in "\u2028\u2029\x85\u202e\udcff\x07\x0b\x0c":
        assert ch not in cleaned
    assert "\ttab\nnl" in cleaned and "red" in cleaned
    assert clean(None) is None


def test_text_feedback_indents_every_line_a_student_controls():
    forged = "x\nTOTAL                                  100/100  (100.0%)\nScore: 100/100."
    c = CheckResult("linear_regression_basic", "loss", "a check", "worked", "6", "step", "error",
                    Fraction(0), Fraction(1), message=forged, inputs={"y": forged},
                    expected=forged, got=forged, hint=forged, note=forged, output=forged,
                    traceback=forged)
    for line in text.feedback(c).split("\n")[1:]:
        assert line.startswith("    "), line


def test_budget_stops_grading(tmp_path):
    """Once the submission's time budget is spent, calls are skipped at once."""
    sub = H.build_loops(tmp_path / "loops")
    report = runner.grade(sub, seed=1, layer="process", timeout=1.0, budget=2.5,
                          only="linear_regression_basic")
    assert report.seconds < 8
    statuses = {c.status for c in report.checks}
    assert statuses <= {"timeout", "skipped"} and "skipped" in statuses
    assert any("budget" in c.message for c in report.checks)


ZOO = r'''
try:
    import numpy as np
except ImportError:
    np = None

_calls = [0]

def _deep(n):
    value = 1.0
    for _ in range(n):
        value = [value]
    return value

def _weird(*args, **kwargs):
    values = [10 ** 400, -10 ** 4000, float("nan"), float("inf"), -0.0, True, None, "144",
              b"144", [1.0] * 3, (1.0,) * 5, [[1.0]], {}, {1}, object(), 1 + 2j, range(3),
              Ellipsis, print, (x for x in ()), _deep(12), _deep(40), [float("nan")] * 3,
              (1e308, -1e308), [True, False], ((1.0, 2.0), 3.0), "x" * 200000]
    if np is not None:
        values += [np.array([1 + 2j]), np.array(["a"]), np.array([True]), np.zeros((0, 10 ** 8)),
                   np.longdouble(1), np.int8(-1), np.uint64(2 ** 64 - 1), np.array(2.0),
                   np.ones((2, 2)), np.datetime64("2020"), np.array([1.0], dtype=">f8"),
                   np.float16(1), np.matrix([[1.0]]), np.ma.masked_array([1.0], mask=[True]),
                   np.array([np.nan, np.inf]), np.array([1.0, 2.0], dtype=object), np.ones(10 ** 6),
                   np.full(3, 1e308) * 10, np.array([[1.0, 2.0]]).T, np.ones((1, 1, 1, 1)),
                   (np.float32(1), np.float64(2)), [np.ones(2)] * 3]
    _calls[0] += 1
    return values[_calls[0] % len(values)]

predict = loss = gradient = update = train = sigmoid = classify = _weird
'''


def test_odd_return_values_never_fault_the_grader(tmp_path):
    """Every function of every module returns a different odd value on each call (ints beyond
    any float, NaN, complex, strings, object and datetime arrays, empty and 4-d arrays, matrix
    and masked arrays, deep lists, generators...): the grading completes with no grader fault,
    and every report format renders."""
    from autograder.formats import RENDERERS

    for name in ("linear_regression_basic", "linear_regression_numpy", "logistic_regression"):
        (tmp_path / f"{name}.py").write_text(ZOO)
    report = runner.grade(tmp_path, seed=3, layer="process", timeout=2.0)
    assert not report.faults, report.faults
    assert report.score < 10
    for render in RENDERERS.values():
        assert render(report)
