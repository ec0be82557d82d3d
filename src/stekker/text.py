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


def shorten(value: Any, limit: int = 60) -> str:
    """``value`` as text of at most ``limit`` characters: a longer one is cut and ends in an
    ellipsis (``…``) that says so. For a value a file or a user gave, echoed in a message or a
    short field: a 100,000-character name is not a message."""
    text = str(value)
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


_FORMULA = ("=", "+", "-", "@", "\t", "\r",
            "\uff1d", "\uff0b", "\uff0d", "\uff20")  # full-width = + - @ (some spreadsheets read them too)


def cell(value: Any) -> Any:
    """A spreadsheet cell from attacker-controlled text: :func:`visible`, and
    a leading ``'`` when a spreadsheet would run it as a formula.  Numbers and
    None pass unchanged."""
    if value is None or isinstance(value, (int, float)):
        return value
    text = visible(value)
    # a spreadsheet ignores leading whitespace (also no-break and ideographic spaces)
    if text.startswith(_FORMULA) or text.lstrip().startswith(_FORMULA):
        return "'" + text
    return text


def json_inert(text: str) -> str:
    """JSON text with every character that :func:`visible` would escape
    written as a JSON ``\\uXXXX`` escape instead: the same data for a JSON
    reader, nothing a terminal acts on (ESC, C1 controls, bidi overrides)."""
    out = []
    for ch in text:
        if ch.isprintable() and ch != "\u2028" and ch != "\u2029":
            out.append(ch)
            continue
        o = ord(ch)
        if ch in " \n\r\t":  # JSON whitespace between tokens (inside strings json.dumps escapes these)
            out.append(ch)
        elif o > 0xFFFF:
            o -= 0x10000
            out.append(f"\\u{0xD800 + (o >> 10):04x}\\u{0xDC00 + (o & 0x3FF):04x}")
        else:
            out.append(f"\\u{o:04x}")
    return "".join(out)


class Message(str):
    """A message for a reader that a lower layer produces (a meta warning such
    as "the IP-to-ASN data is 61 days old"): the English text, as a ``str``
    for the command line, logs and JSON, plus a ``key`` and its ``args``, so a
    page or report shows it in the reader's language.  The Dutch and English
    texts of every key live with the report's other texts
    (``report/templates/strings.yaml``, ``messages:``;
    ``stekker.report.render.Strings.message``)."""

    key: str
    args: dict[str, Any]

    def __new__(cls, key: str, text: str, **args: Any) -> "Message":
        obj = super().__new__(cls, text)
        obj.key = key
        obj.args = args
        return obj

    def __reduce__(self) -> tuple[Any, ...]:
        return (_message, (self.key, str(self), self.args))


def _message(key: str, text: str, args: dict[str, Any]) -> Message:
    return Message(key, text, **args)
