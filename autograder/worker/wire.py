"""The wire format, for both sides: frames, the codec and the MAC.

Every message is a frame:

    >II (json length, buffers length) | json header | raw buffers [| HMAC-SHA256 of all that]

The worker says hello first (unsigned); the grader's first frame gives it a fresh random key, and
every later reply carries a MAC with that key. Values cross as plain data only: None, bools, ints,
floats (as hex), strings, lists, tuples, and NumPy arrays or scalars as raw bytes with their dtype
and shape. Never pickle. The trusted side imports `decode`, `encode`, `read_frame`, `write_frame`
and `mac` from here (through the package) and rebuilds every value itself.

Two rules keep this module usable by the worker's protocol thread, which runs it as a *sealed
copy* (loop.sealed_wire: this module's code executed a second time in a private namespace, with a
private copy of the builtins):

- The framing and MAC functions use only names bound when the module runs: C functions (`_read`,
  `_write`, `_scan`, `_sha256`...), constants and classes of their own, never a module attribute
  looked up at call time (a student could patch `os.read` or `json.loads`; he cannot reach names
  bound in a namespace he holds no reference to). Deadlines are the trusted side's: the protocol
  thread never passes one, so `_wait` (which imports select) never runs there.
- The codec functions `_encode` and `_decode` run in job threads, beside student code: they look
  up no global or builtin name at all (every name is a default argument bound at start).

Stdlib only: this file runs inside the worker, where nothing of the grader exists.
"""
import json.decoder
import json.encoder
import json.scanner
import os
import re
import struct
import sys
import time
from _operator import _compare_digest

try:
    from _sha2 import sha256 as _sha256          # 3.12+
except ImportError:
    try:
        from _sha256 import sha256 as _sha256    # 3.11
    except ImportError:
        from hashlib import sha256 as _sha256

HEAD = struct.Struct(">II")
MAC_SIZE = 32              # bytes of HMAC-SHA256 after a signed frame
MAX_JSON = 16 << 20        # bytes of JSON header a frame may carry
MAX_BUFFERS = 256 << 20    # bytes of raw array data a frame may carry
MAX_DEPTH = 16
MAX_ITEMS = 1_000_000
MAX_STR = 100_000
MAX_OUTPUT = 64 << 10      # characters of a call's printed output that are kept

# the primitives the framing uses, bound once (see the module's docstring)
_read, _write, _get_blocking, _set_blocking = os.read, os.write, os.get_blocking, os.set_blocking
_monotonic = time.monotonic
_pack, _unpack, _HEAD_SIZE = HEAD.pack, HEAD.unpack, HEAD.size
_scan = json.scanner.c_make_scanner(json.decoder.JSONDecoder())
_c_make_encoder = json.encoder.c_make_encoder
_encoder = None if _c_make_encoder is None else _c_make_encoder(
    None, None, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False)
_dumps = json.dumps
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))

# --------------------------------------------------------------------------- values


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

# --------------------------------------------------------------------------- frames


def mac(key, data):
    """HMAC-SHA256 of `data` (RFC 2104, on the C sha256: no hmac or hashlib code runs)."""
    if len(key) > 64:
        key = _sha256(key).digest()
    key = key + bytes(64 - len(key))
    inner = _sha256(key.translate(_IPAD))
    inner.update(data)
    outer = _sha256(key.translate(_OPAD))
    outer.update(inner.digest())
    return outer.digest()


def _wait(fd, write, deadline):
    """Wait until fd is ready, or raise TimeoutError at the deadline (the trusted side only)."""
    import select

    left = deadline - _monotonic()
    ready = left > 0 and select.select([] if write else [fd], [fd] if write else [], [], left)
    if not ready or not (ready[1] if write else ready[0]):
        raise TimeoutError


def _write_all(fd, payload, deadline=None):
    view = memoryview(payload)
    if deadline is None:
        while view:
            view = view[_write(fd, view):]
        return
    blocking = _get_blocking(fd)
    _set_blocking(fd, False)
    try:
        while view:
            _wait(fd, True, deadline)
            try:
                view = view[_write(fd, view[:1 << 16]):]
            except BlockingIOError:
                pass
    finally:
        _set_blocking(fd, blocking)


def write_frame(fd, header, buffers=(), key=None, deadline=None):
    """Write one frame; with a key, sign it; with a deadline, raise TimeoutError when the reader
    does not take it in time."""
    header = dict(header, buffers=[len(b) for b in buffers])
    if _encoder is not None:
        data = "".join(_encoder(header, 0)).encode("ascii")
    else:  # no C accelerator: the trusted side only (the worker refuses to start without it)
        data = _dumps(header, allow_nan=False).encode("ascii")
    payload = _pack(len(data), sum(len(b) for b in buffers)) + data + b"".join(buffers)
    if key is not None:
        payload += mac(key, payload)
    _write_all(fd, payload, deadline)


def read_exact(fd, n, deadline=None):
    """Read exactly n bytes from fd; None at end of file. With a deadline, raise TimeoutError."""
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            _wait(fd, False, deadline)
        chunk = _read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _parse(text):
    if _scan is None:  # no C accelerator: the trusted side only
        return json.loads(text)
    value, end = _scan(text, 0)
    if end != len(text):
        raise ValueError("extra data after the JSON header")
    return value


def read_frame(fd, deadline=None, key=None):
    """Read one frame: (header, buffers), or None at end of file. With a key, the frame must carry
    a valid MAC. Anything malformed raises ProtocolError."""
    head = read_exact(fd, _HEAD_SIZE, deadline)
    if head is None:
        return None
    n_json, n_buf = _unpack(head)
    if n_json > MAX_JSON or n_buf > MAX_BUFFERS:
        raise ProtocolError("frame too large")
    body = read_exact(fd, n_json + n_buf + (MAC_SIZE if key is not None else 0), deadline)
    if body is None:
        return None
    if key is not None:
        body, tag = body[:-MAC_SIZE], body[-MAC_SIZE:]
        if not _compare_digest(tag, mac(key, head + body)):
            raise ProtocolError("a frame without a valid MAC (not written by the worker itself)")
    try:
        header = _parse(body[:n_json].decode("utf-8"))
    except (ValueError, RecursionError, StopIteration) as e:
        raise ProtocolError(f"bad JSON: {type(e).__name__}") from None
    sizes = header.get("buffers") if type(header) is dict else None
    if not (type(sizes) is list and len(sizes) <= 100_000
            and all(type(s) is int and s >= 0 for s in sizes) and sum(sizes) == n_buf):
        raise ProtocolError("bad buffer table")
    buffers, at = [], n_json
    for size in sizes:
        buffers.append(body[at:at + size])
        at += size
    return header, buffers
