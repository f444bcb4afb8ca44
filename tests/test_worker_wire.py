"""The wire format and the protocol thread's sealed copy of it (loop.sealed_wire).

The protocol thread frames and signs replies with wire.py's own code, executed a second time in a
private namespace at start: these tests check that the copy is the same code, that it binds
everything it uses (a patched os, json, hmac, hashlib, builtins or wire module cannot reach it),
and that its MAC is HMAC-SHA256.
"""
from __future__ import annotations

import builtins
import dis
import hashlib
import hmac
import json
import os
import types

import pytest

from autograder import worker
from autograder.worker import loop, wire

PROTOCOL_FUNCTIONS = ("read_frame", "write_frame", "mac", "read_exact", "_write_all", "_parse")


def wire_code():
    with open(wire.__file__, "rb") as f:
        return compile(f.read(), wire.__file__, "exec")


def sealed_namespace(code=None):
    read_frame, write_frame, error = loop.sealed_wire(code)
    return read_frame.__globals__, read_frame, write_frame, error


def global_names(code):
    names = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            names.add(ins.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= global_names(const)
    return names


def test_the_sealed_copy_is_wires_own_code_in_a_private_namespace():
    code = wire_code()
    ns, read_frame, write_frame, error = sealed_namespace(code)
    module_consts = {c.co_name: c for c in code.co_consts if isinstance(c, types.CodeType)}
    assert read_frame.__code__ is module_consts["read_frame"]
    assert write_frame.__code__ is module_consts["write_frame"]
    assert ns is not vars(wire) and ns["__builtins__"] is not vars(builtins)
    assert isinstance(ns["__builtins__"], dict)
    assert error is not wire.ProtocolError and issubclass(error, Exception)


@pytest.mark.parametrize("name", PROTOCOL_FUNCTIONS)
def test_the_protocol_functions_look_up_no_module_at_call_time(name):
    """Every global name the copy's framing uses is bound, in the private namespace, to a
    function, a class or a constant: never to a module whose attributes a student could swap
    (deadline-only helpers aside: the protocol thread passes no deadline)."""
    ns, *_ = sealed_namespace()
    fn = ns[name]
    for global_name in global_names(fn.__code__) - {"_wait", "json"}:
        value = ns[global_name] if global_name in ns else ns["__builtins__"][global_name]
        assert not isinstance(value, types.ModuleType), (name, global_name)
    if name == "_parse":   # json.loads only without the C scanner, which the worker requires
        assert ns["_scan"] is not None


def test_the_sealed_copy_works_whatever_is_patched(monkeypatch):
    ns, read_frame, write_frame, _ = sealed_namespace()
    key = os.urandom(32)
    r, w = os.pipe()

    def trap(*args, **kwargs):
        raise AssertionError("the sealed copy called patched code")

    for module, attr in ((os, "read"), (os, "write"), (json, "loads"), (json, "dumps"),
                         (hmac, "digest"), (hmac, "new"), (hashlib, "sha256"), (wire, "mac"),
                         (wire, "_read"), (wire, "_write"), (wire, "_sha256"), (wire, "_pack"),
                         (json.decoder.JSONDecoder, "raw_decode"), (wire, "_scan")):
        monkeypatch.setattr(module, attr, trap)
    saved = {name: getattr(builtins, name) for name in ("len", "sum", "dict", "memoryview", "type")}
    try:
        for name in saved:
            setattr(builtins, name, trap)
        write_frame(w, {"id": 7, "ok": True, "text": "é"}, [b"abc", b""], key)
    finally:
        for name, value in saved.items():
            setattr(builtins, name, value)
    monkeypatch.undo()
    os.close(w)
    raw = b""
    while True:
        chunk = os.read(r, 1 << 16)
        if not chunk:
            break
        raw += chunk
    os.close(r)
    # the trusted side reads what the sealed copy wrote, MAC included
    r2, w2 = os.pipe()
    os.write(w2, raw)
    os.close(w2)
    header, buffers = worker.read_frame(r2, key=key)
    os.close(r2)
    assert header == {"id": 7, "ok": True, "text": "é", "buffers": [3, 0]} and buffers == [b"abc", b""]


@pytest.mark.parametrize("size", [0, 1, 32, 64, 65, 200])
def test_mac_is_hmac_sha256(size):
    key, data = os.urandom(size), os.urandom(1000)
    assert worker.mac(key, data) == hmac.digest(key, data, "sha256")
    ns, *_ = sealed_namespace()
    assert ns["mac"](key, data) == hmac.digest(key, data, "sha256")


def test_a_frame_round_trips_and_a_bad_mac_is_refused():
    key = os.urandom(32)
    r, w = os.pipe()
    worker.write_frame(w, {"op": "x", "v": [1, 2.5, None]}, [b"\x00" * 8], key=key)
    os.close(w)
    header, buffers = worker.read_frame(r, key=key)
    assert header["v"] == [1, 2.5, None] and buffers == [b"\x00" * 8]
    r2, w2 = os.pipe()
    worker.write_frame(w2, {"op": "x"}, key=os.urandom(32))
    os.close(w2)
    with pytest.raises(worker.ProtocolError):
        worker.read_frame(r2, key=key)
