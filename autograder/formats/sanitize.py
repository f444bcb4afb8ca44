"""Student-made text made safe for every format: a terminal, a log, XML, JSON, HTML later.

Whole escape sequences (CSI, OSC, other ESC sequences) go first; then every character is judged by
its Unicode category, never by a list: controls (but tab and newline), format characters
(bidirectional marks and overrides, zero-width characters, U+061C…), surrogates, private-use and
unassigned code points (U+FFFE, U+FFFF among them), and line and paragraph separators become
U+FFFD; space separators other than the plain space become a plain space.
"""
from __future__ import annotations

import re
import unicodedata

_ESCAPES = re.compile(r"\x1b\[[0-9;?:<=>!]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_KEEP = frozenset("\t\n")


def _char(c: str) -> str:
    if c < "\x80" and (c >= " " or c in _KEEP) and c != "\x7f":
        return c
    category = unicodedata.category(c)
    if category == "Zs":
        return " "
    if category[0] == "C" or category in ("Zl", "Zp"):
        return "\ufffd"
    return c


def clean(text):
    """`text` with nothing in it that can control a terminal or a layout, or hide characters."""
    if text is None:
        return None
    text = _ESCAPES.sub("\ufffd", str(text))
    if text.isascii():
        return _ASCII_CONTROLS.sub("\ufffd", text)
    return "".join(map(_char, text))
