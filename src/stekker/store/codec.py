"""Text and JSON encoding shared by the store's modules: what goes into a
text column (no NUL, no lone surrogate), compact JSON lists, batching."""

from __future__ import annotations

import json
from typing import Any, Iterable, Iterator, Sequence

_JSON_SEP = (",", ":")

def _clean(s: str | None) -> str | None:
    """Text safe for every backend: no NUL (PostgreSQL refuses it in text),
    no lone surrogates (not encodable as UTF-8).  Both become visible escapes."""
    if s is None:
        return None
    if s.isascii():
        return s.replace("\x00", "\\x00") if "\x00" in s else s
    s = s.replace("\x00", "\\x00")
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "backslashreplace").decode("utf-8")


_ENCODE = json.JSONEncoder(separators=_JSON_SEP).encode
_ESTR = json.encoder.encode_basestring_ascii  # C: a str as a JSON string literal, ASCII only


def _jstrs(xs: list) -> str:
    """JSON of a list of str (same text as json.dumps, compact): the hot path
    of add_targets."""
    if not xs:
        return "[]"
    return "[" + ",".join(map(_ESTR, xs)) + "]"


def _jints(xs: list) -> str:
    if not xs:
        return "[]"
    return "[" + ",".join(map(str, map(int, xs))) + "]"

def _jdump(v: Any) -> str:
    # ensure_ascii (the default) keeps control bytes and odd code points as
    # \\uXXXX escapes: the stored text is plain ASCII on every backend.
    if not v and isinstance(v, list):
        return "[]"
    return _ENCODE(v)


def _jlist(s: str | None) -> list:
    if not s:
        return []
    return json.loads(s)

def _merge(into: list, extra: Iterable) -> list:
    for x in extra:
        if x not in into:
            into.append(x)
    return into


def _norm_domain(d: str) -> str:
    return d.strip().lower().rstrip(".")


def _clean_list(xs: Any) -> list:
    if not xs:
        return []
    return [_clean(x) if isinstance(x, str) else x for x in xs if x]

def _chunks(seq: Sequence, n: int) -> Iterator[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]
