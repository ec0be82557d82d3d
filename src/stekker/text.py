"""Showing attacker-controlled text (DNS answers, input files) to people.

DNS content is written by whoever controls a zone: a TXT record can carry
terminal escape sequences, NUL bytes or right-to-left overrides that would
hide or reorder what is shown around it.  Every place that shows such text
(terminal tables, HTML reports, error messages) passes it through
:func:`visible` first; HTML escaping is still the template's job.
"""

from __future__ import annotations

import unicodedata
from typing import Any


def visible(value: Any, keep_newlines: bool = False) -> str:
    """Control characters as ``\\xNN``, bidi/format characters and line or
    paragraph separators as ``\\uNNNN``; everything else unchanged."""
    out = []
    for ch in str(value):
        if ch.isprintable() and ch != "\u2028" and ch != "\u2029":
            out.append(ch)
            continue
        if ch == "\n" and keep_newlines:
            out.append(ch)
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc":
            out.append(f"\\x{ord(ch):02x}")
        elif cat in ("Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)  # e.g. a plain space variant
    return "".join(out)
