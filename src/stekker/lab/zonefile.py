"""Zone-file text: name and rdata normalisation and safe TXT escaping.

Every owner name and name inside rdata is written absolute (trailing dot), so
no ``$ORIGIN`` surprise can move a record.  TXT values are raw content (``str``
is UTF-8 encoded, ``bytes`` are taken as they are, a list/tuple gives several
character-strings) and are always escaped here: quotes, backslashes,
semicolons, control and non-ASCII bytes become ``\\DDD``; strings longer than
255 bytes are split.  Hostile content therefore can never break a zone file.
"""

from __future__ import annotations

import re
from typing import Any

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from stekker.i18n import N_, Said

_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*\.?$")
_IPV4 = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_NAME_TYPES = {"CNAME", "NS", "PTR", "DNAME"}


class ZoneDataError(ValueError):
    """A record that cannot be written to a zone file.

    Its text (``str``) is English: the validation against peer classifiers
    (:mod:`stekker.validate`) writes it into its report as the reason a record
    was dropped.  The message is a template marked with ``N_`` and its values;
    :func:`stekker.i18n.shown` gives it in the user's language for a command to print."""

    def __init__(self, template: str, **fields: Any) -> None:
        super().__init__(Said(template, **fields))


def norm_name(name: str) -> str:
    """Absolute, lowercase owner/target name with trailing dot."""
    if name in ("", ".", "@"):
        return "."
    if _SIMPLE_NAME.match(name):
        n = name.lower()
        return n if n.endswith(".") else n + "."
    try:
        return dns.name.from_text(name, origin=dns.name.root).to_text().lower()
    except Exception as exc:  # dnspython raises many kinds
        raise ZoneDataError(N_("bad DNS name {name!r}: {error}"), name=name, error=exc) from exc


def _txt_string(chunk: bytes) -> str:
    out = []
    for b in chunk:
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C, 0x3B):
            out.append(chr(b))
        else:
            out.append("\\%03d" % b)
    return '"' + "".join(out) + '"'


def txt_rdata(value: str | bytes | list | tuple) -> str:
    """Presentation format for TXT content (see module docstring)."""
    parts = value if isinstance(value, (list, tuple)) else [value]
    strings = []
    for part in parts:
        raw = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else bytes(part)
        if not raw:
            strings.append('""')
            continue
        for i in range(0, len(raw), 255):
            strings.append(_txt_string(raw[i : i + 255]))
    return " ".join(strings)


def norm_rdata(rtype: str, value) -> str:
    """Rdata in presentation format with absolute names; raises ZoneDataError."""
    rtype = rtype.upper()
    if rtype in ("TXT", "SPF"):
        return txt_rdata(value)
    if not isinstance(value, str):
        raise ZoneDataError(N_("{rtype} rdata must be text, got {kind}"), rtype=rtype, kind=type(value).__name__)
    v = value.strip()
    if "\n" in v or "\r" in v:
        raise ZoneDataError(N_("newline in {rtype} rdata {value!r}"), rtype=rtype, value=value)
    if rtype in _NAME_TYPES and (_SIMPLE_NAME.match(v) or (v and not any(c.isspace() for c in v))):
        return norm_name(v)  # an internationalised name too: absolute, in its A-label form
    if rtype == "A" and _IPV4.match(v) and all(int(o) <= 255 for o in v.split(".")):
        return v
    if rtype == "MX":
        parts = v.split()
        if len(parts) == 2 and parts[0].isdigit():
            return f"{parts[0]} {norm_name(parts[1])}"
    if rtype == "SRV":
        parts = v.split()
        if len(parts) == 4 and all(p.isdigit() for p in parts[:3]):
            return f"{parts[0]} {parts[1]} {parts[2]} {norm_name(parts[3])}"
    try:
        rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rtype), v, origin=dns.name.root)
        return rd.to_text(origin=None)
    except Exception as exc:
        raise ZoneDataError(N_("bad {rtype} rdata {value!r}: {error}"), rtype=rtype, value=value, error=exc) from exc


def rr_line(owner: str, rtype: str, rdata: str, ttl: int = 300) -> str:
    return f"{owner} {ttl} IN {rtype.upper()} {rdata}\n"


def soa_line(apex: str, ns: str, serial: int = 1) -> str:
    hostmaster = "hostmaster." + (apex if apex != "." else "")
    return rr_line(apex, "SOA", f"{ns} {norm_name(hostmaster)} {serial} 3600 600 86400 300", 3600)
