"""The untrusted side: a package copied whole into every stage, where it runs as gdkit_worker.

    wire.py         frames, the codec (no pickle) and the MAC: used by both sides
    guard.py        the audit hook that refuses what a submission has no business doing
    landlock.py     the kernel's part: the worker restricts its own paths, signals and TCP
    numpy_setup.py  NumPy without ctypes, or no NumPy at all (the basic module's worker)
    loop.py         the protocol thread (holds the MAC key) and the job threads (student code)
    __main__.py     the entry: python -I -B <stage>/gdkit_worker/__main__.py [--block-numpy] ...

The trusted side uses only the wire format, re-exported here. This file also runs inside the
worker: it stays stdlib-only and cheap (SOURCE_DIR is a Path only on the trusted side, on demand).
"""
from .wire import Opaque, ProtocolError, decode, encode, mac, read_frame, write_frame

PACKAGE = "gdkit_worker"    # the package's name inside the stage
ENTRY = "__main__.py"       # run as: python -I -B <stage>/gdkit_worker/__main__.py

__all__ = ["Opaque", "ProtocolError", "decode", "encode", "mac", "read_frame", "write_frame",
           "SOURCE_DIR", "PACKAGE", "ENTRY"]


def __getattr__(name):
    if name == "SOURCE_DIR":   # copied into <stage>/gdkit_worker/ (pathlib: trusted side only)
        from pathlib import Path

        return Path(__file__).resolve().parent
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
