"""The untrusted side, as a package copied whole into every stage (see core.py for the design).

The trusted side uses only the wire format: frames, the codec and the MAC.
"""
from pathlib import Path

from .core import Opaque, ProtocolError, decode, encode, mac, read_frame, write_frame

SOURCE_DIR = Path(__file__).resolve().parent   # copied into <stage>/gdkit_worker/
PACKAGE = "gdkit_worker"                         # its name inside the stage
ENTRY = "__main__.py"                            # run as: python -I -B <stage>/gdkit_worker/__main__.py

__all__ = ["Opaque", "ProtocolError", "decode", "encode", "mac", "read_frame", "write_frame",
           "SOURCE_DIR", "PACKAGE", "ENTRY"]
