"""The untrusted side: a worker process that imports a submission and runs one call at a time.

This file is also a standalone script (stdlib only; NumPy only once the student has imported it),
so that a sandbox can hold it and the submission and nothing else of the grader:

    python -I -B worker.py [--block-numpy] [--deny PATH]...      (cwd: the submission folder)

Protocol. It runs over the worker's stdin and stdout, which it moves to private descriptors at
start; the student's own prints are captured per call, and anything written to the raw file
descriptors 1 and 2 ends up in the worker's stderr log. Every message is a frame:

    >II (json length, buffers length) | json header | raw buffers [| HMAC-SHA256 of all that]

The worker says hello first (unsigned); the grader's first frame gives it a fresh random key, and
every later reply carries a MAC with that key. Values cross as plain data only: None, bools, ints,
floats (as hex), strings, lists, tuples, and NumPy arrays or scalars as raw bytes with their dtype
and shape. Never pickle. The trusted side imports `decode`, `encode`, `read_frame` and
`write_frame` from here and rebuilds every value itself.

Inside the worker, student code can do anything Python can, including patching this very script
(it runs as __main__), the builtins and the modules the worker uses. So the worker keeps what it
reports about a call out of the student's reach:

- The main thread sets up, then idles. A protocol thread reads requests and writes replies; it
  alone holds the key. Student code runs only in job threads, one per request: no frame of the
  protocol thread is ever on a student's stack, and signal handlers (which run in the main
  thread) cannot be installed from a job thread at all.
- The code that decodes arguments, calls the student's function under the step counter, and
  encodes the result is *sealed*: it looks up no global or builtin name (every name it uses is a
  default argument bound at start), so patching modules or builtins cannot reach it, and it never
  calls a method of a student's object while it builds the result.
- A guard (an audit hook, installed before any student code runs) refuses what a submission has
  no business doing: starting processes or threads, signalling other processes, sockets, ctypes
  and other native escape hatches, reading outside the stage and the Python installation, writing
  outside the stage's tmp/, walking every object (gc) or every thread's stack, adding audit hooks.
  It also counts what could tamper with the step counter (sys.settrace, frame introspection); a
  traced call during which any of that happened is reported as tampering, not counted.

None of this is a sandbox: native code (a CPython memory-safety bug) gets past all of it. The
isolation layers (isolation.py) are the boundary; the guard is what stands in the process layer
and what narrows every layer.
"""
import json
import os
import re
import struct
import sys
import time
import traceback

HEAD = struct.Struct(">II")
MAC_SIZE = 32              # bytes of HMAC-SHA256 after a signed frame
MAX_JSON = 16 << 20        # bytes of JSON header a frame may carry
MAX_BUFFERS = 256 << 20    # bytes of raw array data a frame may carry
MAX_DEPTH = 16
MAX_ITEMS = 1_000_000
MAX_STR = 100_000
MAX_OUTPUT = 64 << 10      # characters of a call's printed output that are kept

# --------------------------------------------------------------------------- codec (both sides)


class ProtocolError(Exception):
    """A frame or value that does not follow the protocol."""


class Opaque:
    """What the trusted side receives for an object the protocol cannot carry: its type name."""

    def __init__(self, cls, text):
        self.cls, self.text = cls, text

    def __repr__(self):
        return f"<{self.cls} object: {self.text}>"


def _type_name(obj):
    try:
        t = type(obj)
        module = getattr(t, "__module__", "?")
        name = t.__qualname__
        return str(name) if module == "builtins" else f"{module}.{name}"
    except BaseException:  # a metaclass may raise anything
        return "?"


def _safe_repr(obj, limit=200):
    try:
        text = str.__str__(repr(obj))
    except BaseException as e:  # a student __repr__ may raise anything
        text = f"<repr failed: {type(e).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def numpy_fns(np):
    """The NumPy callables the codec uses, bound once (a later patch of the module cannot reach
    them): a tuple, so that no one can swap an entry either."""
    if np is None:
        return None
    scalars = tuple({np.dtype(c).type for c in "?bBhHiIlLqQefdg"})
    return (np.ndarray, np.generic, scalars, np.frombuffer, np.dtype, np.array, np.ascontiguousarray)


# The two codec functions are sealed: they look up no global or builtin name (everything is a
# default argument), call no method of the value's own class, and recurse through `self_`.

def _encode(obj, buffers, npf, self_, opaque, count, depth,
            _type=type, _len=len, _issubclass=issubclass, _int=int, _float=float, _str=str,
            _list=list, _tuple=tuple, _bool=bool, _int_repr=int.__repr__, _float_hex=float.hex,
            _str_str=str.__str__, _error=ProtocolError, _max_depth=MAX_DEPTH, _max_items=MAX_ITEMS,
            _max_str=MAX_STR, _max_bytes=MAX_BUFFERS):
    count[0] += 1
    if depth > _max_depth or count[0] > _max_items:
        raise _error("value too large or nested too deeply")
    if obj is None:
        return {"t": "none"}
    t = _type(obj)
    if t is _bool:
        return {"t": "bool", "v": obj is True}
    if npf is not None:
        ndarray, generic, scalars = npf[0], npf[1], npf[2]
        if t is ndarray or _issubclass(t, ndarray) or t in scalars:
            # a subclass is viewed as a plain array (no method of the subclass runs), a NumPy
            # scalar of an exact NumPy type is converted by NumPy itself
            arr = ndarray.view(obj, ndarray) if t not in scalars else npf[5](obj)
            kind = arr.dtype.kind
            if kind not in "biuf" or _len(kind) != 1:
                node = {"t": "object", "cls": "?", "repr": ""}
                opaque.append((node, obj))
                return node
            if arr.nbytes > _max_bytes:
                raise _error("array too large to send")
            buffers.append(npf[6](arr).tobytes())
            if count[1] + _len(buffers[-1]) > _max_bytes:
                raise _error("arrays too large to send")
            count[1] += _len(buffers[-1])
            return {"t": "array" if t is ndarray or _issubclass(t, ndarray) else "scalar",
                    "dtype": arr.dtype.str, "shape": _list(arr.shape), "b": _len(buffers) - 1}
        if _issubclass(t, generic):
            node = {"t": "object", "cls": "?", "repr": ""}
            opaque.append((node, obj))
            return node
    if _issubclass(t, _int):
        return {"t": "int", "v": _int_repr(obj)}
    if _issubclass(t, _float):
        return {"t": "float", "v": _float_hex(obj)}
    if _issubclass(t, _str):
        return {"t": "str", "v": _str_str(obj)[:_max_str]}
    if t is _list or t is _tuple:
        if _len(obj) > _max_items:
            raise _error("sequence too long")
        items = []
        for item in obj:
            items.append(self_(item, buffers, npf, self_, opaque, count, depth + 1))
        return {"t": "list" if t is _list else "tuple", "v": items}
    # an object the protocol cannot carry: a placeholder whose name and repr (which run the
    # object's own code) are filled in once the whole value is encoded
    node = {"t": "object", "cls": "?", "repr": ""}
    opaque.append((node, obj))
    return node


def _decode(node, buffers, npf, self_, count, depth,
            _type=type, _len=len, _dict=dict, _list=list, _tuple=tuple, _str=str, _int=int,
            _bool=bool, _float_fromhex=float.fromhex, _error=ProtocolError, _Opaque=Opaque,
            _OverflowError=OverflowError, _ValueError=ValueError, _TypeError=TypeError,
            _big=1 << 1023,
            _int_re=re.compile(r"-?\d{1,4300}").fullmatch,
            _hex_re=re.compile(r"-?(0x[0-9a-f]+(\.[0-9a-f]*)?p[+-]\d{1,6}|inf|nan)").fullmatch,
            _dtype_re=re.compile(r"[<>|=](b1|[iu][1248]|f(2|4|8|16))").fullmatch,
            _max_depth=MAX_DEPTH, _max_items=MAX_ITEMS, _max_str=MAX_STR, _max_bytes=MAX_BUFFERS):
    count[0] += 1
    if depth > _max_depth or count[0] > _max_items:
        raise _error("value too large or nested too deeply")
    if _type(node) is not _dict:
        raise _error("a value must be an object")
    t = node.get("t")
    v = node.get("v")
    if t == "none":
        return None
    if t == "bool" and _type(v) is _bool:
        return v
    if t == "int" and _type(v) is _str and _int_re(v):
        number = _int(v)
        if -_big < number < _big:
            return number
        # no check compares an int that no float can hold: an opaque value fails them all
        return _Opaque("int", f"an int of {_len(v.lstrip('-'))} digits, beyond any float")
    if t == "float" and _type(v) is _str and _hex_re(v):
        try:
            return _float_fromhex(v)
        except (_OverflowError, _ValueError):
            raise _error("float out of range") from None
    if t == "str" and _type(v) is _str:
        return v[:_max_str]
    if (t == "list" or t == "tuple") and _type(v) is _list:
        items = []
        for item in v:
            items.append(self_(item, buffers, npf, self_, count, depth + 1))
        return items if t == "list" else _tuple(items)
    if (t == "array" or t == "scalar") and npf is not None:
        dtype, shape, b = node.get("dtype"), node.get("shape"), node.get("b")
        if not (_type(dtype) is _str and _dtype_re(dtype)):
            raise _error(f"unsupported dtype {dtype!r:.40}")
        if not (_type(shape) is _list and _len(shape) <= 32):
            raise _error("bad shape")
        size = 1
        for n in shape:
            if _type(n) is not _int or n < 0 or n > _max_bytes:
                raise _error("bad shape")
            size *= n
        if not (_type(b) is _int and 0 <= b < _len(buffers)):
            raise _error("bad buffer index")
        try:
            dt = npf[4](dtype)
        except _TypeError:
            raise _error(f"unsupported dtype {dtype!r:.40}") from None
        if size * dt.itemsize != _len(buffers[b]):
            raise _error("buffer size does not match dtype and shape")
        arr = npf[3](buffers[b], dtype=dt).copy().reshape(shape)
        arr = arr.astype(dt.newbyteorder("="), copy=False)
        if t == "scalar":
            if shape:
                raise _error("a scalar has no shape")
            return arr[()]
        return arr
    if t == "object":
        return _Opaque(_str(node.get("cls", "?"))[:200], _str(node.get("repr", ""))[:200])
    raise _error(f"unknown value tag {t!r:.40}")


def _fill_opaque(opaque):
    """Name and describe the objects `_encode` could not carry (this runs their own code)."""
    for node, obj in opaque:
        node["cls"] = _type_name(obj)[:200]
        node["repr"] = _safe_repr(obj)


def encode(obj, buffers):
    """Encode `obj` as a JSON-able node, appending array data to `buffers` (the trusted side)."""
    opaque = []
    node = _encode(obj, buffers, numpy_fns(sys.modules.get("numpy")), _encode, opaque, [0, 0], 0)
    _fill_opaque(opaque)
    return node


def decode(node, buffers):
    """Rebuild a value from its node: plain Python values and fresh NumPy arrays only."""
    np = None
    if _needs_numpy(node):
        import numpy as np
    try:
        return _decode(node, buffers, numpy_fns(np), _decode, [0], 0)
    except RecursionError:
        raise ProtocolError("value nested too deeply") from None


def _needs_numpy(node, depth=0):
    if depth > MAX_DEPTH or type(node) is not dict:
        return False
    if node.get("t") in ("array", "scalar"):
        return True
    items = node.get("v")
    return type(items) is list and any(_needs_numpy(i, depth + 1) for i in items[:MAX_ITEMS])


def mac(key, data):
    import hmac

    return hmac.digest(key, data, "sha256")


def _write_all(fd, payload, deadline=None):
    view = memoryview(payload)
    if deadline is None:
        while view:
            view = view[os.write(fd, view):]
        return
    import select

    blocking = os.get_blocking(fd)
    os.set_blocking(fd, False)
    try:
        while view:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([], [fd], [], left)[1]:
                raise TimeoutError
            try:
                view = view[os.write(fd, view[:1 << 16]):]
            except BlockingIOError:
                pass
    finally:
        os.set_blocking(fd, blocking)


def write_frame(fd, header, buffers=(), key=None, deadline=None):
    """Write one frame; with a key, sign it; with a deadline, raise TimeoutError when the reader
    does not take it in time."""
    header = dict(header, buffers=[len(b) for b in buffers])
    data = json.dumps(header, allow_nan=False).encode()
    payload = HEAD.pack(len(data), sum(len(b) for b in buffers)) + data + b"".join(buffers)
    if key is not None:
        payload += mac(key, payload)
    _write_all(fd, payload, deadline)


def read_exact(fd, n, deadline=None):
    """Read exactly n bytes from fd; None at end of file. With a deadline, raise TimeoutError."""
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            import select

            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd, deadline=None, key=None):
    """Read one frame: (header, buffers), or None at end of file. With a key, the frame must carry
    a valid MAC. Anything malformed raises ProtocolError."""
    head = read_exact(fd, HEAD.size, deadline)
    if head is None:
        return None
    n_json, n_buf = HEAD.unpack(head)
    if n_json > MAX_JSON or n_buf > MAX_BUFFERS:
        raise ProtocolError("frame too large")
    body = read_exact(fd, n_json + n_buf + (MAC_SIZE if key is not None else 0), deadline)
    if body is None:
        return None
    if key is not None:
        import hmac

        body, tag = body[:-MAC_SIZE], body[-MAC_SIZE:]
        if not hmac.compare_digest(tag, mac(key, head + body)):
            raise ProtocolError("a frame without a valid MAC (not written by the worker itself)")
    try:
        header = json.loads(body[:n_json])
    except (ValueError, RecursionError) as e:
        raise ProtocolError(f"bad JSON: {type(e).__name__}") from None
    sizes = header.get("buffers") if isinstance(header, dict) else None
    if not (isinstance(sizes, list) and len(sizes) <= 100_000
            and all(type(s) is int and s >= 0 for s in sizes) and sum(sizes) == n_buf):
        raise ProtocolError("bad buffer table")
    buffers, at = [], n_json
    for size in sizes:
        buffers.append(body[at:at + size])
        at += size
    return header, buffers


# --------------------------------------------------------------------------- the worker's own code
# Everything below runs only in the worker.


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


def _run_job(job, done, go, leftovers, folder, npf,
             _settrace=sys.settrace, _decode=_decode, _encode=_encode, _fill=_fill_opaque,
             _load=load, _list_functions=list_functions, _describe=describe, _Capture=Capture,
             _sys=sys, _getattr=getattr, _callable=callable, _type=type, _str=str, _dict=dict,
             _list=list, _BaseException=BaseException, _gc_count=__import__("gc").get_count,
             _gc_collect=__import__("gc").collect, _gc_disable=__import__("gc").disable,
             _tuple=tuple, _process_time=time.process_time, _thread_time=time.thread_time):
    """A job thread: run one request's student code and leave a result in job[-1][0]. Sealed: no
    global or builtin lookups, so that nothing the student patched runs between the moment the
    arguments exist and the moment the result is encoded, except the student's own function,
    which runs under the step counter."""
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
                if failure is None:
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


DENIED_MODULES = frozenset({
    "ctypes", "_ctypes", "_testcapi", "_testinternalcapi", "_testbuffer", "_testmultiphase",
    "_testsinglephase", "_testimportmultiple", "_testclinic", "_xxsubinterpreters",
    "_xxinterpchannels", "_interpreters", "_interpchannels", "_interpqueues", "_posixsubprocess",
})
RECREATE_DENIED = DENIED_MODULES | {"_thread", "_signal", "posix", "_imp", "sys", "builtins", "gc",
                                    "_io", "time", "_json", "_sha256", "_hashlib"}

DENIED_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.exec", "os.posix_spawn", "os.spawn", "os.system",
    "subprocess.Popen", "pty.spawn", "os.killpg", "os.symlink", "os.link", "os.pidfd_open",
    "sys._current_frames", "sys._current_exceptions", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "gc.freeze", "resource.setrlimit", "resource.prlimit", "code.__new__",
    "webbrowser.open", "_thread.start_new_thread", "_thread.start_joinable_thread",
    "os.add_dll_directory", "sys.remote_exec", "cpython.remote_debugger_script",
})

READ_EVENTS = frozenset({"os.listdir", "os.scandir", "os.chdir", "os.getxattr", "os.listxattr",
                         "os.chroot"})
WRITE_EVENTS = frozenset({"os.mkdir", "os.rmdir", "os.remove", "os.truncate", "os.chmod",
                          "os.chown", "os.utime", "os.chflags", "os.lchflags", "os.setxattr",
                          "os.removexattr", "os.lchmod", "os.lchown"})
FRAME_EVENTS = frozenset({"sys._getframe", "sys._getframemodulename", "object.__getattr__"})
TRACE_EVENTS = frozenset({"sys.settrace", "sys.setprofile", "sys.monitoring.register_callback",
                          "sys.monitoring.use_tool_id"})
OTHER_CPU_LIMIT = 0.002   # seconds of CPU other threads may use while a call's steps are counted


def make_guard(*, read_roots, write_roots, deny, block_numpy, counts, trusted, ext_roots,
               create_builtin, module_spec, protected):
    """The audit hook. `counts` ([trace events, frame events]), `trusted` (thread idents the
    guard lets through: the protocol thread) and `protected` (the sealed functions and the live
    step counter, whose code and defaults no one may replace) are shared with the protocol thread
    and nobody else.
    Everything the hook uses is bound here, in its closure: the hook itself is held only by the
    interpreter, so no student code can reach it (nor the original `_imp.create_builtin`, which
    only the hook may call, on a "gdkit.create_builtin" event)."""
    import _thread

    _get_ident, _getpid, _getcwd, _readlink = _thread.get_ident, os.getpid, os.getcwd, os.readlink
    _type, _str, _bytes, _int, _tuple, _list, _len, _bool = type, str, bytes, int, tuple, list, len, bool
    _PermissionError, _ImportError, _RuntimeError = PermissionError, ImportError, RuntimeError
    _OSError = OSError
    _write_flags = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
    _denied_modules, _denied_events, _recreate_denied = DENIED_MODULES, DENIED_EVENTS, RECREATE_DENIED
    _read_events, _write_events = READ_EVENTS, WRITE_EVENTS
    _frame_events, _trace_events = FRAME_EVENTS, TRACE_EVENTS
    _builtin_importer = __import__("importlib.machinery").machinery.BuiltinImporter
    _funny = ("__code__", "__defaults__", "__kwdefaults__")
    _at_cwd = (None, -100)
    read_roots, write_roots, deny = _tuple(read_roots), _tuple(write_roots), _tuple(deny)
    ext_roots = _tuple(ext_roots)
    devices = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")

    def real(path):
        """The path with every symlink resolved (a realpath on bound calls only: a patched
        os.path cannot fool it)."""
        if not path.startswith("/"):
            path = _getcwd() + "/" + path
        todo = path.split("/")
        todo.reverse()
        done, hops = "", 0
        while todo:
            part = todo.pop()
            if part == "" or part == ".":
                continue
            if part == "..":
                done = done[:done.rfind("/")] if done else ""
                continue
            candidate = done + "/" + part
            try:
                target = _readlink(candidate)
            except _OSError:
                done = candidate
                continue
            hops += 1
            if hops > 40:
                raise _PermissionError("too many symbolic links")
            if target.startswith("/"):
                done = ""
            parts = target.split("/")
            parts.reverse()
            todo += parts
        return done or "/"

    def within(path, roots):
        for root in roots:
            if path == root or path.startswith(root + "/"):
                return True
        return False

    def check(path, write, what):
        t = _type(path)
        if t is _int or path is None:
            return  # an open descriptor, or the working directory
        if t is _bytes:
            path = path.decode("utf-8", "surrogateescape")
        elif t is not _str:
            raise _PermissionError(f"{what}: the grading worker only takes paths as plain str")
        if "\0" in path:
            raise _PermissionError(f"{what}: a NUL in a path")
        p = real(path)
        if within(p, deny):
            raise _PermissionError(f"{what} {path!r:.200}: the grader's own files are off limits")
        if p in devices:
            return
        if not within(p, write_roots if write else read_roots):
            where = "its tmp/ folder" if write else "the submission and the Python installation"
            raise _PermissionError(f"{what} {path!r:.200}: the grading worker only "
                                   f"{'writes' if write else 'reads'} {where}")

    def hook(event, args):
        if _get_ident() in trusted:
            return
        if event == "open":
            path, mode, flags = args
            write = (flags & _write_flags) if _type(flags) is _int else (
                _type(mode) is _str and ("w" in mode or "a" in mode or "x" in mode or "+" in mode))
            check(path, _bool(write), "open")
        elif event in _frame_events:
            counts[1] += 1
        elif event in _trace_events:
            counts[0] += 1
        elif event in _denied_events or event.startswith("socket.") or \
                event.startswith("ctypes.") or event.startswith("sqlite3."):
            raise _PermissionError(f"{event} is not allowed in the grading worker")
        elif event == "import":
            name = args[0]
            if _type(name) is not _str:
                raise _ImportError("a module name must be a plain str here")
            for part in name.split("."):
                if part in _denied_modules:
                    raise _ImportError(f"{name} cannot be imported in the grading worker")
            if block_numpy and name.split(".")[0] == "numpy":
                raise _ImportError("NumPy is not available here: this module must run on plain "
                                   "Python (slide 9)")
            filename = args[1] if _len(args) > 1 else None
            if filename is not None:  # an extension module, loaded from a file
                where = real(filename) if _type(filename) is _str else None
                if where is None or not within(where, ext_roots) or within(where, deny):
                    raise _ImportError(f"{name}: no extension modules from outside the Python "
                                       "installation")
        elif event in _read_events:
            check(args[0], False, event)
        elif event in _write_events:
            if _len(args) > 2 and event != "os.truncate" and args[-1] not in _at_cwd:
                raise _PermissionError(f"{event} relative to a directory descriptor")
            check(args[0], True, event)
        elif event == "os.rename":
            if args[2] not in _at_cwd or args[3] not in _at_cwd:
                raise _PermissionError("os.rename relative to a directory descriptor")
            check(args[0], True, event)
            check(args[1], True, event)
        elif event == "os.kill":
            if args[0] != _getpid():
                raise _PermissionError("the grading worker may not signal other processes")
        elif event == "sys.addaudithook":
            raise _RuntimeError("no audit hooks in the grading worker")
        elif event == "object.__setattr__" or event == "object.__delattr__":
            if _type(args[1]) is _str and args[1] in _funny:
                target = args[0]
                for fn in protected:
                    if fn is target:
                        raise _PermissionError(f"the grading worker's {args[1]} cannot be changed")
        elif event == "mmap.__new__":
            if args[0] != -1:
                raise _PermissionError("only anonymous mmap in the grading worker")
        elif event == "gdkit.create_builtin":
            name, box = args
            if _type(name) is not _str or _type(box) is not _list or name in _recreate_denied:
                raise _ImportError(f"{name!r:.60} cannot be created again in the grading worker")
            box.append(create_builtin(module_spec(name, _builtin_importer, origin="built-in")))

    return hook


def guarded_create_builtin(spec, _audit=sys.audit, _getattr=getattr, _type=type, _str=str,
                           _ImportError=ImportError):
    """Replaces _imp.create_builtin: a built-in module is created by the guard, which refuses the
    ones that would undo it (a fresh _thread, or a _posixsubprocess that starts processes)."""
    name = _getattr(spec, "name", None)
    if _type(name) is not _str:
        raise _ImportError("a module name must be a plain str here")
    box = []
    _audit("gdkit.create_builtin", name, box)
    if not box:
        raise _ImportError(f"{name} could not be created")
    return box[0]


def make_protocol(fd_in, fd_out, folder, npf, runner, counts, trusted, start_thread, protected):
    """The protocol thread's main function. It holds the session key; all it uses is bound here
    (it runs none of the student's code: results are copied as plain data first)."""
    import _thread
    import hashlib
    import itertools
    import json.encoder
    import json.scanner
    import types

    _read, _write, _exit = os.read, os.write, os._exit
    _unpack, _pack, _head_size = HEAD.unpack, HEAD.pack, HEAD.size
    _scan = json.scanner.c_make_scanner(json.JSONDecoder())
    _make_encoder = json.encoder.c_make_encoder
    if _scan is None or _make_encoder is None:
        raise RuntimeError("the worker needs the C accelerated json module")
    _encoder = _make_encoder(None, None, json.encoder.encode_basestring_ascii, None, ":", ",",
                             False, False, False)
    _sha256, _fromhex, _translate = hashlib.sha256, bytes.fromhex, bytes.translate
    _ipad = bytes(x ^ 0x36 for x in range(256))
    _opad = bytes(x ^ 0x5C for x in range(256))
    _count, _FunctionType = itertools.count, types.FunctionType
    _trace_code = _trace.__code__
    _lock, _get_ident = _thread.allocate_lock, _thread.get_ident
    _perf = time.perf_counter
    _type, _len, _str, _int, _float, _bool, _list, _dict, _bytes = (
        type, len, str, int, float, bool, list, dict, bytes)
    _join, _memoryview = b"".join, memoryview
    _max_output, _max_json, _max_buffers, _max_items = MAX_OUTPUT, MAX_JSON, MAX_BUFFERS, MAX_ITEMS
    _BaseException, _ValueError = BaseException, ValueError
    _other_cpu_limit = OTHER_CPU_LIMIT
    state = {"inner": None, "outer": None}

    def read_exact(n):
        chunks, got = [], 0
        while got < n:
            chunk = _read(fd_in, n - got if n - got < 1 << 20 else 1 << 20)
            if not chunk:
                return None
            chunks.append(chunk)
            got += _len(chunk)
        return _join(chunks)

    def read():
        head = read_exact(_head_size)
        if head is None:
            return None
        n_json, n_buf = _unpack(head)
        if n_json > _max_json or n_buf > _max_buffers:
            return None
        body = read_exact(n_json + n_buf)
        if body is None:
            return None
        text = body[:n_json].decode("utf-8")
        header, end = _scan(text, 0)
        if end != _len(text) or _type(header) is not _dict:
            return None
        sizes = header.get("buffers")
        buffers, at = [], n_json
        if _type(sizes) is not _list:
            return None
        for size in sizes:
            if _type(size) is not _int or size < 0:
                return None
            buffers.append(body[at:at + size])
            at += size
        if at != _len(body):
            return None
        return header, buffers

    def sign(payload):
        h = state["inner"].copy()
        h.update(payload)
        o = state["outer"].copy()
        o.update(h.digest())
        return o.digest()

    def send(header, buffers):
        total = 0
        sizes = []
        for b in buffers:
            sizes.append(_len(b))
            total += _len(b)
        header["buffers"] = sizes
        data = "".join(_encoder(header, 0)).encode("ascii")
        payload = _pack(_len(data), total) + data + _join(buffers)
        payload += sign(payload)
        view = _memoryview(payload)
        while _len(view):
            view = view[_write(fd_out, view):]

    def plain(x, depth, budget):
        """A copy of `x` made of exact JSON types only (the job thread's result is data the
        student's code may have touched)."""
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

    def malformed(message):
        return {"ok": False, "error": {"type": "WorkerError", "message": message}}, []

    def sanitize(result):
        if _type(result) is not _dict:
            return malformed("no result")
        buffers = result.get("buffers")
        if _type(buffers) is not _list:
            buffers = []
        clean, total = [], 0
        for b in buffers:
            if _type(b) is not _bytes:
                return malformed("malformed result")
            total += _len(b)
            clean.append(b)
        if total > _max_buffers:
            return {"ok": False, "error": {"type": "UnsendableValue",
                                           "message": "the value is too large to send"}}, []
        out = {}
        try:
            budget = [_max_items + 1000]
            for key in ("ok", "value", "error", "functions", "stdout", "cpu_elsewhere"):
                if key in result:
                    out[key] = plain(result[key], 0, budget)
        except _BaseException:
            return {"ok": False, "error": {"type": "UnsendableValue",
                                           "message": "the result is not plain data"}}, []
        if _type(out.get("stdout")) is not _str:
            out["stdout"] = ""
        elif _len(out["stdout"]) > _max_output + 200:
            out["stdout"] = out["stdout"][:_max_output] + "\n[... output cut]"
        if out.get("ok") is not True:
            out["ok"] = False
            if _type(out.get("error")) is not _dict:
                out["error"] = {"type": "WorkerError", "message": "malformed result"}
            out.pop("value", None)
            clean = []
        return out, clean

    def serve():
        first = read()
        if first is None or first[0].get("op") != "init" or _type(first[0].get("key")) is not _str:
            return
        key = _fromhex(first[0]["key"])
        if _len(key) > 64:
            key = _sha256(key).digest()
        key = key + b"\0" * (64 - _len(key))
        state["inner"] = _sha256(_translate(key, _ipad))
        state["outer"] = _sha256(_translate(key, _opad))
        leftovers = None
        while True:
            frame = read()
            if frame is None:
                return
            request, buffers = frame
            rid = request.get("id")
            op = request.get("op")
            module, function = request.get("module"), request.get("function", "")
            args, kwargs = request.get("args", []), request.get("kwargs", {})
            trace = request.get("trace") is True
            if op not in ("import", "call") or _type(module) is not _str or \
                    _type(function) is not _str or _type(args) is not _list or \
                    _type(kwargs) is not _dict or _type(rid) is not _int:
                send({"id": rid if _type(rid) is _int else None, "ok": False, "stdout": "",
                      "error": {"type": "ProtocolError", "message": "malformed request"}}, [])
                continue
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
            start_thread(runner, (job, done, go, leftovers, folder, npf))
            leftovers = None
            go.release()
            done.acquire()
            elapsed = _perf() - start
            after = (counts[0], counts[1])
            result = box[0]
            leftovers = (job, box, result)   # dropped by the next job thread (see _run_job)
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
                tampered = []
                if after[0] - before[0] != 2:
                    tampered.append("changed the tracing (sys.settrace or sys.setprofile)")
                if after[1] - before[1] != 0:
                    tampered.append("looked at frames or code objects (sys._getframe, inspect, "
                                    "a traceback's frames; logging's warning() and error() do "
                                    "this too: use print)")
                if _type(elsewhere) is _float and elsewhere > _other_cpu_limit:
                    tampered.append(f"ran code in another thread ({elsewhere * 1000:.1f} ms)")
                if tampered and reply["ok"]:
                    reply = {"id": rid, "ok": False, "elapsed": elapsed, "events": events,
                             "stdout": reply.get("stdout", ""),
                             "error": {"type": "Tampering", "message": (
                                 "while its Python steps were being counted, the function "
                                 + " and ".join(tampered) + ", so the count cannot be trusted")}}
                    out = []
            send(reply, out)

    def main():
        trusted.append(_get_ident())
        try:
            serve()
        except _BaseException:
            pass
        _exit(0)

    return main


def _block_numpy():
    """Make NumPy unimportable, to show that the basic module runs on plain Python."""
    import importlib.abc
    import types

    message = "NumPy is not available here: this module must run on plain Python (slide 9)"

    class Blocked(types.ModuleType):
        def __getattr__(self, attr):
            raise ImportError(message)

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname == "numpy" or fullname.startswith("numpy."):
                raise ImportError(message)
            return None

    for name in [m for m in sys.modules if m == "numpy" or m.startswith("numpy.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, Finder())
    sys.modules["numpy"] = Blocked("numpy")


def _import_numpy_without_ctypes():
    """NumPy, imported with ctypes unavailable (NumPy works without it; a student must not get it)."""
    import importlib.abc

    class NoCtypes(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path=None, target=None):
            if fullname.split(".")[0] in ("ctypes", "_ctypes"):
                raise ImportError("ctypes is not available in the grading worker")
            return None

    finder = NoCtypes()
    sys.meta_path.insert(0, finder)
    try:
        import numpy
    finally:
        sys.meta_path.remove(finder)
    for name in [m for m in sys.modules if m.split(".")[0] in ("ctypes", "_ctypes")]:
        del sys.modules[name]
    return numpy


def _inside(path, roots):
    return any(path == r or path.startswith(r + "/") for r in roots)


def _roots(folder):
    """(read roots, write roots, extension roots): the stage and the Python installation."""
    stage = os.path.dirname(folder)
    prefixes = []
    for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
              os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))):
        for q in (p, os.path.realpath(p)):
            if q and q not in prefixes and q != "/":
                prefixes.append(q)
    system = [os.path.realpath(d) for d in ("/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin",
                                            "/sbin") if os.path.isdir(d)]
    ext = prefixes + [d for d in system if d not in prefixes]
    read = [stage, os.path.realpath(stage)] + ext
    write = [os.path.join(stage, "tmp"), os.path.realpath(os.path.join(stage, "tmp"))]
    return read, write, ext


def main(argv):
    block_numpy = "--block-numpy" in argv
    deny = [os.path.realpath(argv[i + 1]) for i, a in enumerate(argv[:-1]) if a == "--deny"]
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)  # raw writes to fd 1 land in the stderr log, never in the protocol
    folder = os.path.realpath(os.getcwd())
    hello = {"op": "hello", "pid": os.getpid(), "uid": os.getuid(), "python": sys.version.split()[0]}
    numpy = None
    if block_numpy:
        _block_numpy()
    else:
        try:
            numpy = _import_numpy_without_ctypes()  # before the submission is on sys.path
            hello["numpy"] = numpy.__version__
        except Exception as e:
            hello["numpy_error"] = f"{type(e).__name__}: {e}"
    read_roots, write_roots, ext_roots = _roots(folder)
    # the interpreter's own path only (an editable install may have put the grader's checkout on
    # it), then the submission, last: its files never shadow an installed module
    sys.path[:] = [p for p in sys.path if _inside(os.path.realpath(p or "."), ext_roots)
                   and not _inside(os.path.realpath(p), deny)]
    sys.path_importer_cache.clear()
    sys.path.append(folder)
    import _imp
    import _thread
    import gc
    import importlib.machinery
    import threading

    npf = numpy_fns(numpy)
    counts, trusted = [0, 0], []
    protected = [_run_job, _encode, _decode, _trace, guarded_create_builtin, None]
    start_thread = _thread.start_new_thread
    protocol = make_protocol(fd_in, fd_out, folder, npf, _run_job, counts, trusted, start_thread,
                             protected)
    hook = make_guard(read_roots=read_roots, write_roots=write_roots, deny=deny,
                      block_numpy=block_numpy, counts=counts, trusted=trusted, ext_roots=ext_roots,
                      create_builtin=_imp.create_builtin,
                      module_spec=importlib.machinery.ModuleSpec, protected=protected)
    gc.collect()
    gc.disable()  # garbage is collected in job threads only (see _run_job)

    def no_threads(*args, **kwargs):
        raise RuntimeError("threads cannot be started in the grading worker")

    for module, name in ((_thread, "start_new_thread"), (_thread, "start_new"),
                         (_thread, "start_joinable_thread"), (threading, "_start_new_thread"),
                         (threading, "_start_joinable_thread")):
        if hasattr(module, name):
            setattr(module, name, no_threads)
    _imp.create_builtin = guarded_create_builtin
    start_thread(protocol, ())   # it waits for the grader's key, which comes after the hello
    sys.addaudithook(hook)
    write_frame(fd_out, hello)
    # this frame lives on in the idle main thread: keep nothing in it that the guard shares
    del counts, trusted, protected, hook, protocol, start_thread, npf
    idle = _thread.allocate_lock()
    idle.acquire()
    while True:  # the main thread only waits; the protocol thread ends the process
        try:
            idle.acquire()
        except BaseException:
            pass

