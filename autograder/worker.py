"""The untrusted side: a worker process that imports a submission and runs one call at a time.

This file is also a standalone script (stdlib only; NumPy only once the student has imported it),
so that a sandbox can hold it and the submission and nothing else of the grader:

    python -I -B worker.py [--block-numpy]        (cwd: the submission folder)

The protocol runs over the worker's stdin and stdout, which it moves to private descriptors at
start; the student's own prints are captured per call, and anything written to the raw file
descriptors 1 and 2 ends up in the worker's stderr log. Every message is a frame:

    >II (json length, buffers length) | json header | raw buffers

Values cross as plain data only: None, bools, ints, floats (as hex), strings, lists, tuples, and
NumPy arrays or scalars as raw bytes with their dtype and shape. Never pickle. The trusted side
imports `decode`, `encode`, `read_frame` and `write_frame` from here and rebuilds every value itself.
"""
import json
import os
import re
import struct
import sys
import time
import traceback

HEAD = struct.Struct(">II")
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
    t = type(obj)
    module = getattr(t, "__module__", "?")
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


def _safe_repr(obj, limit=200):
    try:
        text = repr(obj)
    except BaseException as e:  # a student __repr__ may raise anything
        text = f"<repr failed: {type(e).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def encode(obj, buffers, depth=0):
    """Encode `obj` as a JSON-able node, appending array data to `buffers`."""
    if depth > MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if obj is None:
        return {"t": "none"}
    if obj is True or obj is False:
        return {"t": "bool", "v": obj}
    np = sys.modules.get("numpy")
    try:
        numpy_types = (np.ndarray, np.generic) if np is not None else ()
    except Exception:  # NumPy blocked, or a stand-in without these names
        numpy_types = ()
    if numpy_types and isinstance(obj, numpy_types):
        arr = np.array(obj, copy=True, subok=False)
        if arr.dtype.kind not in "biuf":
            return {"t": "object", "cls": f"{_type_name(obj)} of dtype {arr.dtype}", "repr": _safe_repr(obj)}
        buffers.append(np.ascontiguousarray(arr).tobytes())
        tag = "array" if isinstance(obj, np.ndarray) else "scalar"
        return {"t": tag, "dtype": arr.dtype.str, "shape": list(arr.shape), "b": len(buffers) - 1}
    if isinstance(obj, bool):  # a bool subclass cannot exist; keep the order readable anyway
        return {"t": "bool", "v": bool(obj)}
    if isinstance(obj, int):
        return {"t": "int", "v": int.__repr__(obj)}
    if isinstance(obj, float):
        return {"t": "float", "v": float.hex(obj)}
    if isinstance(obj, str):
        return {"t": "str", "v": str.__str__(obj)[:MAX_STR]}
    if type(obj) in (list, tuple):
        if len(obj) > MAX_ITEMS:
            raise ProtocolError("sequence too long")
        return {"t": type(obj).__name__, "v": [encode(item, buffers, depth + 1) for item in obj]}
    return {"t": "object", "cls": _type_name(obj), "repr": _safe_repr(obj)}


_DTYPE = re.compile(r"^[<>|=][biuf](1|2|4|8|16)$")
_HEX = re.compile(r"^-?(0x[0-9a-f]+(\.[0-9a-f]*)?p[+-]\d+|inf|nan)$")


def decode(node, buffers, depth=0, _count=None):
    """Rebuild a value from its node: plain Python values and fresh NumPy arrays only."""
    count = _count if _count is not None else [0]
    count[0] += 1
    if depth > MAX_DEPTH or count[0] > MAX_ITEMS:
        raise ProtocolError("value too large or nested too deeply")
    if not isinstance(node, dict):
        raise ProtocolError("a value must be an object")
    t = node.get("t")
    if t == "none":
        return None
    if t == "bool" and type(node.get("v")) is bool:
        return node["v"]
    if t == "int" and isinstance(node.get("v"), str) and re.fullmatch(r"-?\d{1,4300}", node["v"]):
        return int(node["v"])
    if t == "float" and isinstance(node.get("v"), str) and _HEX.match(node["v"]):
        return float.fromhex(node["v"])
    if t == "str" and isinstance(node.get("v"), str):
        return node["v"][:MAX_STR]
    if t in ("list", "tuple") and isinstance(node.get("v"), list):
        items = [decode(item, buffers, depth + 1, count) for item in node["v"]]
        return items if t == "list" else tuple(items)
    if t in ("array", "scalar"):
        import numpy as np

        dtype, shape, b = node.get("dtype"), node.get("shape"), node.get("b")
        if not (isinstance(dtype, str) and _DTYPE.match(dtype)):
            raise ProtocolError(f"unsupported dtype {dtype!r}")
        if not (isinstance(shape, list) and len(shape) <= 32
                and all(type(n) is int and 0 <= n <= MAX_BUFFERS for n in shape)):
            raise ProtocolError("bad shape")
        if not (type(b) is int and 0 <= b < len(buffers)):
            raise ProtocolError("bad buffer index")
        dt = np.dtype(dtype)
        size = 1
        for n in shape:
            size *= n
        if size * dt.itemsize != len(buffers[b]):
            raise ProtocolError("buffer size does not match dtype and shape")
        arr = np.frombuffer(buffers[b], dtype=dt).copy().reshape(shape)
        arr = arr.astype(dt.newbyteorder("="), copy=False)
        if t == "scalar":
            if shape:
                raise ProtocolError("a scalar has no shape")
            return arr[()]
        return arr
    if t == "object":
        return Opaque(str(node.get("cls", "?"))[:200], str(node.get("repr", ""))[:200])
    raise ProtocolError(f"unknown value tag {t!r}")


def write_frame(fd, header, buffers=()):
    header = dict(header, buffers=[len(b) for b in buffers])
    data = json.dumps(header, allow_nan=False).encode()
    payload = HEAD.pack(len(data), sum(len(b) for b in buffers)) + data + b"".join(buffers)
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view):]


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


def read_frame(fd, deadline=None):
    """Read one frame: (header, buffers), or None at end of file."""
    head = read_exact(fd, HEAD.size, deadline)
    if head is None:
        return None
    n_json, n_buf = HEAD.unpack(head)
    if n_json > MAX_JSON or n_buf > MAX_BUFFERS:
        raise ProtocolError("frame too large")
    body = read_exact(fd, n_json + n_buf, deadline)
    if body is None:
        return None
    try:
        header = json.loads(body[:n_json])
    except ValueError as e:
        raise ProtocolError(f"bad JSON: {e}") from None
    sizes = header.get("buffers") if isinstance(header, dict) else None
    if not (isinstance(sizes, list) and all(type(s) is int and s >= 0 for s in sizes)
            and sum(sizes) == n_buf):
        raise ProtocolError("bad buffer table")
    buffers, at = [], n_json
    for size in sizes:
        buffers.append(body[at:at + size])
        at += size
    return header, buffers


# --------------------------------------------------------------------------- the worker proper


class Capture:
    """A stand-in for sys.stdout and sys.stderr that keeps the first MAX_OUTPUT characters."""

    encoding, errors = "utf-8", "replace"

    def __init__(self):
        self.parts, self.size, self.dropped = [], 0, 0

    def write(self, text):
        text = str(text)
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


class Worker:
    def __init__(self, fd_in, fd_out, folder, block_numpy):
        self.fd_in, self.fd_out, self.folder = fd_in, fd_out, folder
        self.block_numpy = block_numpy
        self.modules = {}

    # --- student code, always under capture, errors as data
    def run(self, thunk, trace=False):
        out = Capture()
        events = [0]

        def local(frame, event, arg):
            events[0] += 1
            return local

        def tracer(frame, event, arg):
            events[0] += 1
            return local

        saved = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        start = time.perf_counter()
        try:
            if trace:
                sys.settrace(tracer)
            try:
                value, error = thunk(), None
            finally:
                if trace:
                    sys.settrace(None)
        except BaseException as e:  # SystemExit and KeyboardInterrupt too: they are the student's
            value, error = None, self.describe(e)
        finally:
            sys.stdout, sys.stderr = saved
        reply = {"stdout": out.text(), "elapsed": time.perf_counter() - start}
        if trace:
            reply["events"] = events[0]
        return value, error, reply

    def describe(self, e):
        """The exception, with only the student's own frames in the traceback."""
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if os.path.realpath(f.filename).startswith(self.folder + os.sep)]
        for f in frames:
            f.filename = os.path.relpath(os.path.realpath(f.filename), self.folder)
        lines = traceback.format_list(frames)
        if isinstance(e, SyntaxError) and e.filename:
            e.filename = os.path.basename(e.filename)
        try:
            lines += traceback.format_exception_only(type(e), e)
        except BaseException:
            lines.append(f"{type(e).__name__}: <message unavailable>\n")
        try:
            message = str(e)
        except BaseException:
            message = "<message unavailable>"
        text = "".join(lines)
        return {"type": type(e).__name__, "message": message[:2000],
                "traceback": text[-8000:], "student_frames": len(frames)}

    def load(self, name):
        """Import a submission module once; (module, None) or (None, error)."""
        if name in self.modules:
            return self.modules[name]
        path = os.path.join(self.folder, name + ".py")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            result = None, {"type": "MissingModule", "message": f"bad module name {name!r}"}
        elif not os.path.isfile(path):
            result = None, {"type": "MissingModule", "message": f"{name}.py not found in the submission"}
        else:
            import importlib

            module, error, reply = self.run(lambda: importlib.import_module(name))
            if error is not None:
                error["stdout"] = reply["stdout"]
            result = (module, error) if error is None else (None, error)
            if module is not None:
                result = module, None
        self.modules[name] = result
        return result

    def handle(self, request, buffers):
        op = request.get("op")
        if op == "import":
            module, error = self.load(request["module"])
            if error is not None:
                return {"ok": False, "error": error}, []
            import inspect

            functions = {}
            for attr, obj in list(vars(module).items()):
                if callable(obj) and not attr.startswith("_") and not isinstance(obj, type):
                    try:
                        functions[attr] = str(inspect.signature(obj))
                    except (TypeError, ValueError):
                        functions[attr] = "(...)"
            return {"ok": True, "functions": functions}, []
        if op == "call":
            module, error = self.load(request["module"])
            if error is not None:
                return {"ok": False, "error": dict(error, import_failed=True)}, []
            fn = getattr(module, request["function"], None)
            if fn is None or not callable(fn):
                return {"ok": False, "error": {"type": "MissingFunction",
                                               "message": f"no function {request['function']}"}}, []
            args = [decode(a, buffers) for a in request.get("args", [])]
            kwargs = {k: decode(v, buffers) for k, v in request.get("kwargs", {}).items()}
            value, error, reply = self.run(lambda: fn(*args, **kwargs), trace=request.get("trace", False))
            out = []
            if error is None:
                try:
                    reply["value"] = encode(value, out)
                except BaseException as e:
                    error = {"type": "UnsendableValue", "message": f"{type(e).__name__}: {e}"[:500]}
                    out = []
            if error is not None:
                reply["error"] = error
            reply["ok"] = error is None
            return reply, out
        raise ProtocolError(f"unknown op {op!r}")

    def serve(self):
        while True:
            frame = read_frame(self.fd_in)
            if frame is None:
                return
            request, buffers = frame
            try:
                reply, out = self.handle(request, buffers)
            except ProtocolError as e:
                reply, out = {"ok": False, "error": {"type": "ProtocolError", "message": str(e)}}, []
            reply["id"] = request.get("id")
            write_frame(self.fd_out, reply, out)


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


def main(argv):
    block_numpy = "--block-numpy" in argv
    fd_in, fd_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(2, 1)  # raw writes to fd 1 land in the stderr log, never in the protocol
    folder = os.path.realpath(os.getcwd())
    hello = {"op": "hello", "pid": os.getpid(), "uid": os.getuid(), "python": sys.version.split()[0]}
    if block_numpy:
        _block_numpy()
    else:
        try:
            import numpy  # before the submission is on sys.path: a numpy.py there cannot shadow it

            hello["numpy"] = numpy.__version__
        except Exception as e:
            hello["numpy_error"] = f"{type(e).__name__}: {e}"
    sys.path.append(folder)  # last: the submission's files never shadow an installed module
    write_frame(fd_out, hello)
    Worker(fd_in, fd_out, folder, block_numpy).serve()


if __name__ == "__main__":
    main(sys.argv[1:])
