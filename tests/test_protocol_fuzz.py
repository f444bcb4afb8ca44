"""A worker cannot corrupt the grader with malformed protocol frames.

A stand-in worker (FAKE below) says hello, takes the session's key and answers imports properly,
then answers every call with one kind of malformed frame: huge length prefixes, invalid or deeply
nested JSON, a bad or missing MAC, the wrong id, bogus dtypes and shapes, values out of range,
truncated frames, garbage, silence, death. The session must turn each into a failed call (crash,
error or timeout) and keep working for the next call: never an exception in the grader.
"""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from autograder.engine import session as session_module
from autograder.engine import grader as engine, workers as engine_workers
from autograder.checks import base
from autograder.formats import RENDERERS
from autograder.engine.session import Session, WorkerFault

FAKE = r'''
import hashlib, hmac, json, os, signal, struct, sys, time

HEAD = struct.Struct(">II")
MODE = open("mode.txt").read().strip()

def read_exact(n):
    data = b""
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            os._exit(0)
        data += chunk
    return data

def read():
    n_json, n_buf = HEAD.unpack(read_exact(8))
    body = read_exact(n_json + n_buf)
    return json.loads(body[:n_json])

def frame(header, buffers=(), key=None, tag=None, raw_json=None, n_buf=None):
    data = raw_json if raw_json is not None else json.dumps(
        dict(header, buffers=[len(b) for b in buffers])).encode()
    payload = HEAD.pack(len(data), sum(map(len, buffers)) if n_buf is None else n_buf) + data
    payload += b"".join(buffers)
    if key is not None:
        payload += tag if tag is not None else hmac.digest(key, payload, "sha256")
    return payload

def send(payload):
    view = memoryview(payload)
    while view:
        view = view[os.write(1, view):]

if MODE == "no-hello":
    send(b"\x00\x00\x00\x05hello")
    time.sleep(30)
send(frame({"op": "hello", "pid": os.getpid()}))
key = bytes.fromhex(read()["key"])

def value_reply(rid, value, buffers=()):
    return frame({"id": rid, "ok": True, "value": value, "stdout": "", "elapsed": 0.0},
                 buffers, key)

def bogus(rid):
    m = MODE
    ok = {"id": rid, "ok": True, "stdout": "", "elapsed": 0.0}
    if m == "huge-length":
        return HEAD.pack(0xFFFFFFFF, 0xFFFFFFFF)
    if m == "over-limit":
        return HEAD.pack((16 << 20) + 1, 0) + b"{" * 64
    if m == "bad-json":
        return frame({}, key=key, raw_json=b'{"id": 1, nope')
    if m == "deep-json":
        return frame({}, key=key, raw_json=b"[" * 200000 + b"]" * 200000)
    if m == "json-not-dict":
        return frame({}, key=key, raw_json=b"[1, 2, 3]")
    if m == "not-utf8":
        return frame({}, key=key, raw_json=b'{"id": "\xff\xfe"}')
    if m == "no-buffer-table":
        return frame({}, key=key, raw_json=json.dumps(ok).encode())
    if m == "buffer-table-mismatch":
        return frame({}, key=key, raw_json=json.dumps(dict(ok, buffers=[10])).encode())
    if m == "negative-buffer":
        return frame({}, key=key, raw_json=json.dumps(dict(ok, buffers=[-8])).encode(), n_buf=0)
    if m == "wrong-id":
        return value_reply(rid + 1, {"t": "float", "v": (1.0).hex()})
    if m == "no-mac":
        return frame({"id": rid, "ok": True, "value": {"t": "none"}})
    if m == "bad-mac":
        return frame({"id": rid, "ok": True, "value": {"t": "none"}}, key=key, tag=bytes(32))
    if m.startswith("dtype:"):
        return value_reply(rid, {"t": "array", "dtype": m[6:], "shape": [1], "b": 0}, [b"\0" * 16])
    if m == "shape-negative":
        return value_reply(rid, {"t": "array", "dtype": "<f8", "shape": [-1], "b": 0}, [b"\0" * 8])
    if m == "shape-huge":
        return value_reply(rid, {"t": "array", "dtype": "<f8", "shape": [1 << 40, 1 << 40], "b": 0},
                           [b"\0" * 8])
    if m == "shape-not-list":
        return value_reply(rid, {"t": "array", "dtype": "<f8", "shape": "3", "b": 0}, [b"\0" * 24])
    if m == "size-mismatch":
        return value_reply(rid, {"t": "array", "dtype": "<f8", "shape": [3], "b": 0}, [b"\0" * 8])
    if m == "buffer-index":
        return value_reply(rid, {"t": "array", "dtype": "<f8", "shape": [1], "b": 7}, [b"\0" * 8])
    if m == "scalar-with-shape":
        return value_reply(rid, {"t": "scalar", "dtype": "<f8", "shape": [1], "b": 0}, [b"\0" * 8])
    if m == "float-overflow":
        return value_reply(rid, {"t": "float", "v": "0x1p+999999"})
    if m == "float-not-hex":
        return value_reply(rid, {"t": "float", "v": "1e400"})
    if m == "int-huge":
        return value_reply(rid, {"t": "int", "v": "9" * 5000})
    if m == "bad-tag":
        return value_reply(rid, {"t": "pickle", "v": "cos\nsystem\n"})
    if m == "not-a-node":
        return value_reply(rid, [1, 2, 3])
    if m == "deep-value":
        node = {"t": "none"}
        for _ in range(500):
            node = {"t": "list", "v": [node]}
        return value_reply(rid, node)
    if m == "wide-value":
        return value_reply(rid, {"t": "list", "v": [{"t": "none"}] * 1_000_001})
    if m == "object-node":
        return value_reply(rid, {"t": "object", "cls": ["x"] * 1000, "repr": {"a": 1}})
    if m == "error-not-dict":
        return frame({"id": rid, "ok": False, "error": "just text"}, key=key)
    if m == "error-weird":
        return frame({"id": rid, "ok": False, "error": {"type": [1], "message": {"a": None},
                                                        "traceback": 5, "x" * 500: "y" * 20000},
                      "stdout": 12, "elapsed": "soon", "events": "many"}, key=key)
    if m == "ok-without-value":
        return frame({"id": rid, "ok": True, "stdout": None}, key=key)
    if m == "ok-not-bool":
        return frame({"id": rid, "ok": "yes", "value": {"t": "none"}}, key=key)
    if m == "nan-elapsed":
        return frame({}, key=key, raw_json=json.dumps(
            {"id": rid, "ok": True, "value": {"t": "none"}, "elapsed": float("nan"),
             "buffers": []}).encode())
    if m == "huge-stdout":
        return frame(dict(ok, value={"t": "none"}, stdout="\x1b[2J" * (3 << 20)), key=key)
    if m == "truncated-eof":
        send(HEAD.pack(100, 0) + b'{"id": ')
        os._exit(0)
    if m == "truncated-hang":
        send(HEAD.pack(100, 0) + b'{"id": ')
        time.sleep(30)
    if m == "garbage":
        return bytes(range(256)) * 8
    if m == "exit":
        os._exit(3)
    if m == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if m == "silence":
        time.sleep(30)
    if m == "reply-twice":
        return value_reply(rid, {"t": "none"}) + value_reply(rid, {"t": "none"})
    if m == "flood":
        return value_reply(rid, {"t": "none"}) + b"\xff" * (8 << 20)
    raise SystemExit(f"unknown mode {m}")

while True:
    request = read()
    rid = request["id"]
    if request["op"] == "import":
        send(frame({"id": rid, "ok": True, "functions": {"f": "(x)"}, "stdout": ""}, key=key))
    else:
        send(bogus(rid))
'''

MODES = [
    "huge-length", "over-limit", "bad-json", "deep-json", "json-not-dict", "not-utf8",
    "no-buffer-table", "buffer-table-mismatch", "negative-buffer", "wrong-id", "no-mac", "bad-mac",
    "dtype:<b16", "dtype:<f3", "dtype:|O8", "dtype:<U4", "dtype:<c16", "dtype:<V8", "dtype:>i16",
    "dtype:<m8", "dtype:<f16", "dtype:=b1", "shape-negative", "shape-huge", "shape-not-list",
    "size-mismatch", "buffer-index", "scalar-with-shape", "float-overflow", "float-not-hex",
    "int-huge", "bad-tag", "not-a-node", "deep-value", "wide-value", "object-node",
    "error-not-dict", "error-weird", "ok-without-value", "ok-not-bool", "nan-elapsed",
    "huge-stdout", "truncated-eof", "truncated-hang", "garbage", "exit", "segfault", "silence",
    "reply-twice", "flood",
]


@pytest.fixture
def fake_worker(tmp_path, monkeypatch):
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE)
    monkeypatch.setattr(session_module, "WORKER_SCRIPT", script)
    monkeypatch.setattr(engine_workers, "WORKER_SCRIPT", script)

    def submission(mode):
        sub = tmp_path / f"sub-{len(list(tmp_path.iterdir()))}"
        sub.mkdir()
        (sub / "mode.txt").write_text(mode)
        (sub / "m.py").write_text("def f(x):\n    return x\n")
        return sub
    return submission


@pytest.mark.parametrize("mode", MODES)
def test_malformed_reply_is_a_failed_call(mode, fake_worker):
    with Session(fake_worker(mode), layer="process", timeout=1.0) as s:
        start = time.monotonic()
        for _ in range(3):  # and the session keeps working (restarting the worker as needed)
            reply = s.call("m", "f", 1.5, np.arange(3.0))
            assert reply.status in ("ok", "error", "crash", "timeout", "skipped"), reply
            assert isinstance(reply.error, dict) and isinstance(reply.stdout, str)
            if reply.ok:  # only the modes whose reply is odd but well-formed
                assert mode in ("ok-without-value", "nan-elapsed", "huge-stdout", "reply-twice",
                                "flood", "object-node", "dtype:<f16"), reply
        assert time.monotonic() - start < 20


def test_bad_hello_is_a_grader_fault_not_a_crash(fake_worker, monkeypatch):
    """A worker that does not say hello never ran student code: that is the machine's fault."""
    monkeypatch.setattr(session_module, "START_TIMEOUT", 2.0)
    with Session(fake_worker("no-hello"), layer="process", timeout=1.0) as s:
        with pytest.raises(WorkerFault):
            s.call("m", "f", 1.0)


@pytest.mark.parametrize("mode", ["dtype:<b16", "deep-json", "bad-mac", "float-overflow",
                                  "error-weird", "ok-without-value"])
def test_grading_completes_with_a_lying_worker(mode, fake_worker):
    """A whole grade against a worker whose every call is malformed: no grader fault, every
    format renders."""
    sub = fake_worker(mode)
    for name in ("linear_regression_basic", "linear_regression_numpy", "logistic_regression"):
        (sub / f"{name}.py").write_text("")
    report = engine.grade(sub, seed=1, layer="process", timeout=1.0,
                          only="linear_regression_basic.loss,logistic_regression.sigmoid")
    assert not report.faults
    assert all(c.status != "fault" for c in report.checks)
    for render in RENDERERS.values():
        assert render(report)
    json.loads(RENDERERS["json"](report))


def test_codec_rejects_bogus_nodes_with_protocol_error():
    """decode raises only ProtocolError, whatever the node."""
    from autograder import worker

    nodes = [
        {"t": "array", "dtype": "<b16", "shape": [1], "b": 0},
        {"t": "array", "dtype": "<f3", "shape": [1], "b": 0},
        {"t": "array", "dtype": "<f8", "shape": [1 << 40, 1 << 40], "b": 0},
        {"t": "array", "dtype": "<f8", "shape": [True], "b": 0},
        {"t": "float", "v": "0x1p+999999"}, {"t": "float", "v": "-0x1.8p+99999"},
        {"t": "int", "v": "1" * 5000}, {"t": "list", "v": "abc"}, {"t": "tuple", "v": None},
        [], "x", None, {"t": None},
    ]
    deep = {"t": "none"}
    for _ in range(200):
        deep = {"t": "list", "v": [deep]}
    for node in nodes + [deep]:
        with pytest.raises(worker.ProtocolError):
            worker.decode(node, [b"\0" * 16])
    assert isinstance(worker.decode({"t": "object", "cls": [1], "repr": None}, []), worker.Opaque)
    assert base.fmt(worker.decode({"t": "float", "v": "inf"}, [])) == "inf"
