"""The call loop: the protocol thread, which reads requests and writes replies, and the job
threads, which run the student's code, one per request.

- The protocol thread alone holds the session key. It frames and signs through a *sealed copy*
  of wire.py (`sealed_wire`), copies each result as exact JSON types before it touches it
  (`make_sanitizer`), never drops the last reference to a student's object (the next job thread
  does), and never runs garbage collection: no student `__del__` ever runs in it. No frame of it
  is ever on a student's stack.
- A job thread runs `_run_job`, which is sealed: it looks up no global or builtin name (every
  name is a default argument bound at start), so nothing the student patched runs between the
  moment the arguments exist and the moment the result is encoded, except the student's own
  function, which runs under the step counter (`_trace`).
"""
import gc
import os
import re
import sys
import time
import traceback

from . import wire
from .wire import MAX_BUFFERS, MAX_ITEMS, MAX_OUTPUT, _decode, _encode, _fill_opaque, _type_name

OTHER_CPU_LIMIT = 0.002   # seconds of CPU other threads may use while a call's steps are counted


class Capture:
    """A stand-in for sys.stdout and sys.stderr that keeps the first MAX_OUTPUT characters."""

    encoding, errors = "utf-8", "replace"

    def __init__(self):
        self.parts, self.size, self.dropped = [], 0, 0

    def write(self, text):
        text = str.__str__(text) if isinstance(text, str) else str(text)
        keep = max(0, min(len(text), MAX_OUTPUT - self.size))
        if keep:
            self.parts.append(text[:keep])
            self.size += keep
        self.dropped += len(text) - keep
        return len(text)

    def flush(self):
        pass

    def isatty(self):
        return False

    def text(self):
        out = "".join(self.parts)
        return out + (f"\n[... {self.dropped} more characters not shown]" if self.dropped else "")


def describe(e, folder):
    """The exception, with only the student's own frames in the traceback."""
    try:
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if os.path.realpath(f.filename).startswith(folder + os.sep)]
        for f in frames:
            f.filename = os.path.relpath(os.path.realpath(f.filename), folder)
        lines = traceback.format_list(frames)
    except BaseException:
        frames, lines = [], []
    if isinstance(e, SyntaxError) and isinstance(e.filename, str):
        e.filename = os.path.basename(e.filename)
    try:
        lines += traceback.format_exception_only(type(e), e)
    except BaseException:
        lines.append(f"{_type_name(e)}: <message unavailable>\n")
    try:
        message = str(e)
    except BaseException:
        message = "<message unavailable>"
    text = "".join(str(line) for line in lines)
    return {"type": type(e).__name__, "message": message[:2000],
            "traceback": text[-8000:], "student_frames": len(frames)}


_MODULES = {}


def load(name, folder):
    """Import a submission module once; (module, None) or (None, error)."""
    if name in _MODULES:
        return _MODULES[name]
    path = os.path.join(folder, name + ".py")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        result = None, {"type": "MissingModule", "message": f"bad module name {name!r}"}
    elif not os.path.isfile(path):
        result = None, {"type": "MissingModule", "message": f"{name}.py not found in the submission"}
    else:
        import importlib

        try:
            result = importlib.import_module(name), None
        except BaseException as e:  # SystemExit and KeyboardInterrupt too: they are the student's
            result = None, describe(e, folder)
    _MODULES[name] = result
    return result


def list_functions(module):
    import inspect

    functions = {}
    for attr, obj in list(vars(module).items()):
        try:
            if callable(obj) and not attr.startswith("_") and not isinstance(obj, type):
                try:
                    functions[str(attr)] = str(inspect.signature(obj))
                except (TypeError, ValueError):
                    functions[str(attr)] = "(...)"
        except BaseException:
            pass
    return functions


def formula_symbols(names):
    """A formula request's arguments: sympy Symbols named `names`. formula.py, and sympy with it,
    is imported here, by the first formula request, never at the worker's start. Not sealed: a
    formula is feedback only, and the grader checks it against the values the function returned
    (docs/adversarial.md)."""
    from . import formula

    return formula.symbols(names)


def formula_result(value, names):
    """A formula request's result: the returned value as a bounded tree of plain data."""
    from . import formula

    return formula.result(value, names)


def _run_job(job, done, go, leftovers, folder, npf,
             _settrace=sys.settrace, _decode=_decode, _encode=_encode, _fill=_fill_opaque,
             _load=load, _list_functions=list_functions, _describe=describe, _Capture=Capture,
             _sys=sys, _getattr=getattr, _callable=callable, _type=type, _str=str, _dict=dict,
             _list=list, _BaseException=BaseException, _gc_count=gc.get_count,
             _gc_collect=gc.collect, _gc_disable=gc.disable,
             _tuple=tuple, _process_time=time.process_time, _thread_time=time.thread_time,
             _formula_symbols=formula_symbols, _formula_result=formula_result):
    """A job thread: run one request's student code and leave a result in job[-1][0]. Sealed: no
    global or builtin lookups."""
    go.acquire()            # the protocol thread has let go of `leftovers`: dropping them here runs
    leftovers = None        # any __del__ of a previous call's objects in this thread, not there
    op, module_name, function, arg_nodes, kwarg_nodes, buffers, tracer, box = job
    capture = None
    result = {"ok": False, "error": {"type": "WorkerError", "message": "no result"}}
    saved = _sys.stdout, _sys.stderr
    try:
        capture = _Capture()
        _sys.stdout = _sys.stderr = capture
        module, error = _load(module_name, folder)
        if op == "import":
            result = {"ok": True, "functions": _list_functions(module)} if error is None else \
                {"ok": False, "error": error}
        elif error is not None:
            result = {"ok": False, "error": _dict(error, import_failed=True)}
        else:
            fn = _getattr(module, function, None)
            if fn is None or not _callable(fn):
                result = {"ok": False, "error": {"type": "MissingFunction",
                                                 "message": f"no function {function}"}}
            else:
                count = [0]
                args = []
                for node in arg_nodes:
                    args.append(_decode(node, buffers, npf, _decode, count, 0))
                kwargs = {}
                for key in kwarg_nodes:
                    kwargs[key] = _decode(kwarg_nodes[key], buffers, npf, _decode, count, 0)
                if op == "formula":   # the same call, with sympy symbols for the arguments
                    names, args = args, _formula_symbols(args)
                value = failure = None
                cpu = thread_cpu = 0.0
                try:
                    if tracer is not None:
                        cpu, thread_cpu = _process_time(), _thread_time()
                        _settrace(tracer)
                    try:
                        value = fn(*args, **kwargs)
                    finally:
                        if tracer is not None:
                            _settrace(None)
                            thread_cpu = _thread_time() - thread_cpu
                            cpu = _process_time() - cpu
                except _BaseException as e:
                    failure = e
                args = kwargs = None
                if failure is None and op == "formula":
                    result = _formula_result(value, names)   # a tree of plain data, made here
                    value = None
                elif failure is None:
                    out, opaque = [], []
                    try:
                        node = _encode(value, out, npf, _encode, opaque, [0, 0], 0)
                        result = {"ok": True, "value": node, "buffers": out}
                        if tracer is not None:  # CPU that other threads used meanwhile
                            result["cpu_elsewhere"] = cpu - thread_cpu
                    except _BaseException as e:
                        result = {"ok": False, "error": {
                            "type": "UnsendableValue",
                            "message": f"{_type(e).__name__}: {e}"[:500]}}
                        opaque = []
                    value = None
                    _fill(opaque)
                else:
                    result = {"ok": False, "error": _describe(failure, folder)}
                failure = None
    except _BaseException as e:
        try:
            result = {"ok": False, "error": {"type": "WorkerError",
                                             "message": f"{_type(e).__name__}: {e}"[:500]}}
        except _BaseException:
            pass
    try:
        _sys.stdout, _sys.stderr = saved
        if capture is not None:
            result["stdout"] = capture.text()
    except _BaseException:
        pass
    box[0] = result
    result = capture = None
    try:
        if _gc_count()[0] > 20000:
            _gc_collect()   # student garbage is collected here, never in the protocol thread
    except _BaseException:
        pass
    _gc_disable()           # bound at start: a patched gc.disable cannot leave collection on
    done.release()


def _trace(frame, event, arg, _next=None, _self=None):
    """The step counter (a template: the protocol thread makes one per traced call, with a fresh
    counter bound as a default)."""
    _next()
    return _self


def sealed_wire(code=None):
    """(read_frame, write_frame, ProtocolError) of a sealed copy of wire.py, for the protocol
    thread.

    Why a copy: student code can patch anything it can reach, and wire's module globals (os,
    json, its own _read...) are reachable through the package. So, at start, before any student
    code runs, wire.py's code (the very code object the bootstrap ran as gdkit_worker.wire, or
    wire.py compiled again) is executed a second time in a fresh namespace with a private copy of
    the builtins: every name its functions use is then bound to what it was at start, in a dict
    that only the protocol thread's closure reaches. One implementation of framing and MAC, two
    instances: no second hand-written copy to keep in step."""
    import builtins

    if code is None:
        with open(wire.__file__, "rb") as f:
            code = compile(f.read(), wire.__file__, "exec")
    namespace = {"__name__": "gdkit_worker.sealed_wire", "__builtins__": dict(vars(builtins))}
    exec(code, namespace)
    if namespace["_scan"] is None or namespace["_encoder"] is None:
        raise RuntimeError("the worker needs the C accelerated json module")
    return namespace["read_frame"], namespace["write_frame"], namespace["ProtocolError"]


def make_sanitizer():
    """sanitize(result) -> (reply, buffers): a job's result as a copy made of exact JSON types
    (the job thread's result is data the student's code may have touched)."""
    _type, _len, _str, _int, _float, _bool, _list, _dict, _bytes = (
        type, len, str, int, float, bool, list, dict, bytes)
    _max_output, _max_buffers, _max_items = MAX_OUTPUT, MAX_BUFFERS, MAX_ITEMS
    _BaseException, _ValueError = BaseException, ValueError

    def plain(x, depth, budget):
        budget[0] -= 1
        if budget[0] < 0 or depth > 40:
            raise _ValueError("result too large")
        t = _type(x)
        if x is None or t is _bool or t is _str:
            return x
        if t is _int:
            if -(1 << 62) < x < (1 << 62):
                return x
            raise _ValueError("int out of range")
        if t is _float:
            return x if x == x and -1e308 < x < 1e308 else None
        if t is _list:
            out = []
            for item in x:
                out.append(plain(item, depth + 1, budget))
            return out
        if t is _dict:
            out = {}
            for key in x:
                if _type(key) is not _str:
                    raise _ValueError("non-str key")
                out[key] = plain(x[key], depth + 1, budget)
            return out
        raise _ValueError("an object that is not plain data")

    def failed(kind, message):
        return {"ok": False, "error": {"type": kind, "message": message}}, []

    def sanitize(result):
        if _type(result) is not _dict:
            return failed("WorkerError", "no result")
        buffers = result.get("buffers")
        if _type(buffers) is not _list:
            buffers = []
        clean, total = [], 0
        for b in buffers:
            if _type(b) is not _bytes:
                return failed("WorkerError", "malformed result")
            total += _len(b)
            clean.append(b)
        if total > _max_buffers:
            return failed("UnsendableValue", "the value is too large to send")
        out = {}
        try:
            budget = [_max_items + 1000]
            for key in ("ok", "value", "error", "functions", "stdout", "cpu_elsewhere", "formula"):
                if key in result:
                    out[key] = plain(result[key], 0, budget)
        except _BaseException:
            return failed("UnsendableValue", "the result is not plain data")
        if _type(out.get("stdout")) is not _str:
            out["stdout"] = ""
        elif _len(out["stdout"]) > _max_output + 200:
            out["stdout"] = out["stdout"][:_max_output] + "\n[... output cut]"
        if out.get("ok") is not True:
            out["ok"] = False
            if _type(out.get("error")) is not _dict:
                out["error"] = {"type": "WorkerError", "message": "malformed result"}
            out.pop("value", None)
            out.pop("formula", None)
            clean = []
        return out, clean

    return sanitize


def make_protocol(fd_in, fd_out, folder, npf, runner, counts, trusted, start_thread, protected,
                  wire_fns):
    """The protocol thread's main function. It holds the session key; all it uses is bound here
    (it runs none of the student's code: results are copied as plain data first). `wire_fns`:
    sealed_wire()."""
    import _thread

    read_frame, write_frame, _ProtocolError = wire_fns
    state = {"key": None, "leftovers": None}
    run = make_runner(folder, npf, runner, counts, start_thread, protected, state)
    _exit, _fromhex, _get_ident = os._exit, bytes.fromhex, _thread.get_ident
    _type, _str, _int, _list, _dict = type, str, int, list, dict
    _BaseException = BaseException

    def read():
        try:
            return read_frame(fd_in)
        except _ProtocolError:
            return None

    def send(header, buffers):
        write_frame(fd_out, header, buffers, state["key"])

    def serve():
        first = read()
        if first is None or first[0].get("op") != "init" or _type(first[0].get("key")) is not _str:
            return
        state["key"] = _fromhex(first[0]["key"])
        while True:
            frame = read()
            if frame is None:
                return
            request, buffers = frame
            rid = request.get("id")
            op = request.get("op")
            module, function = request.get("module"), request.get("function", "")
            args, kwargs = request.get("args", []), request.get("kwargs", {})
            if op not in ("import", "call", "formula") or _type(module) is not _str or \
                    _type(function) is not _str or _type(args) is not _list or \
                    _type(kwargs) is not _dict or _type(rid) is not _int:
                send({"id": rid if _type(rid) is _int else None, "ok": False, "stdout": "",
                      "error": {"type": "ProtocolError", "message": "malformed request"}}, [])
                continue
            send(*run(rid, op, module, function, args, kwargs, buffers,
                      request.get("trace") is True))

    def main():
        trusted.append(_get_ident())
        try:
            serve()
        except _BaseException:
            pass
        _exit(0)

    return main


def make_runner(folder, npf, runner, counts, start_thread, protected, state):
    """run(request fields...) -> (reply, buffers): one request, in a fresh job thread, with the
    step counter and its tamper checks for a traced call. Part of the protocol thread."""
    import _thread
    import itertools
    import types

    sanitize = make_sanitizer()
    _perf, _lock = time.perf_counter, _thread.allocate_lock
    _count, _FunctionType, _trace_code = itertools.count, types.FunctionType, _trace.__code__
    _type, _float, _other_cpu_limit = type, float, OTHER_CPU_LIMIT

    def tampering(before, after, elsewhere):
        """What the function did while its steps were counted that makes the count worthless."""
        found = []
        if after[0] - before[0] != 2:
            found.append("changed the tracing (sys.settrace or sys.setprofile)")
        if after[1] - before[1] != 0:
            found.append("looked at frames or code objects (sys._getframe, inspect, a "
                         "traceback's frames; logging's warning() and error() do this too: use "
                         "print)")
        if _type(elsewhere) is _float and elsewhere > _other_cpu_limit:
            found.append(f"ran code in another thread ({elsewhere * 1000:.1f} ms)")
        return found

    def run(rid, op, module, function, args, kwargs, buffers, trace):
        """One request, in a fresh job thread: the reply and its buffers."""
        tracer = counter = None
        if trace and op == "call":
            counter = _count()
            tracer = _FunctionType(_trace_code, {}, "trace")
            tracer.__defaults__ = (counter.__next__, tracer)
            protected[-1] = tracer
        box = [None]
        job = (op, module, function, args, kwargs, buffers, tracer, box)
        done, go = _lock(), _lock()
        done.acquire()
        go.acquire()
        before = (counts[0], counts[1])
        start = _perf()
        start_thread(runner, (job, done, go, state["leftovers"], folder, npf))
        state["leftovers"] = None
        go.release()
        done.acquire()
        elapsed = _perf() - start
        after = (counts[0], counts[1])
        result = box[0]
        state["leftovers"] = (job, box, result)   # dropped by the next job thread (see _run_job)
        job = box = None
        reply, out = sanitize(result)
        result = None
        elsewhere = reply.pop("cpu_elsewhere", None)
        reply["id"] = rid
        reply["elapsed"] = elapsed
        if tracer is not None:
            events = counter.__next__()
            tracer = counter = None
            reply["events"] = events
            found = tampering(before, after, elsewhere)
            if found and reply["ok"]:
                reply = {"id": rid, "ok": False, "elapsed": elapsed, "events": events,
                         "stdout": reply.get("stdout", ""),
                         "error": {"type": "Tampering", "message": (
                             "while its Python steps were being counted, the function "
                             + " and ".join(found) + ", so the count cannot be trusted")}}
                out = []
        return reply, out

    return run
