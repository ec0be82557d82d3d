"""DNS wire format for the scan hot path: build queries and decode answers.

dnspython is the reference (``dns.message``) but costs ~70 µs to parse and
~30 µs to build a message here; at national scale the engine handles tens of
thousands of messages a second, so this module builds queries from a
template and decodes only what stekker keeps (header, question, answer
section).  Record types it does not decode itself go through dnspython's
``dns.rdata.from_wire``, so every answer is still decoded correctly; tests
check this decoder against dnspython on the same bytes.

Presentation of decoded records follows :class:`stekker.evidence.RR`:
names lowercase without the trailing dot; TXT strings concatenated and
decoded as UTF-8 with ``backslashreplace``.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from dataclasses import dataclass, field

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from stekker.evidence import RR

RCODES = {
    0: "NOERROR",
    1: "FORMERR",
    2: "SERVFAIL",
    3: "NXDOMAIN",
    4: "NOTIMP",
    5: "REFUSED",
    6: "YXDOMAIN",
    7: "YXRRSET",
    8: "NXRRSET",
    9: "NOTAUTH",
    10: "NOTZONE",
}

_HDR = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_QTAIL = struct.Struct("!HH")
# OPT pseudo-RR: root name, type 41, UDP payload 1232, ext-rcode 0, version 0, flags 0, rdlen 0
_OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
EDNS_PAYLOAD = 1232

FLAG_QR = 0x8000
FLAG_TC = 0x0200
FLAG_RD = 0x0100


class WireError(ValueError):
    """The bytes are not a well-formed DNS message (or not an answer to ours)."""


_TYPE_CODE: dict[str, int] = {}


def qtype_code(qtype: str) -> int:
    c = _TYPE_CODE.get(qtype)
    if c is None:
        c = _TYPE_CODE[qtype] = int(dns.rdatatype.from_text(qtype))
    return c


_TYPE_TEXT: dict[int, str] = {}


def qtype_text(code: int) -> str:
    t = _TYPE_TEXT.get(code)
    if t is None:
        t = _TYPE_TEXT[code] = dns.rdatatype.to_text(code)
    return t


def encode_name(name: str) -> bytes:
    """Wire form of an absolute name given as A-label text (trailing dot optional).

    Raises WireError for names that cannot be sent (empty or too long labels).
    """
    name = name.rstrip(".")
    if not name:
        return b"\x00"
    out = bytearray()
    for label in name.split("."):
        raw = label.encode("ascii", "strict") if label.isascii() else None
        if raw is None:
            raise WireError(f"non-ASCII label in {name!r} (convert to an A-label first)")
        if not 0 < len(raw) <= 63:
            raise WireError(f"invalid label length in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    if len(out) > 255:
        raise WireError(f"name too long: {name!r}")
    return bytes(out)


def build_query(qid: int, qname_wire: bytes, qtype: int, edns: bool = True) -> bytes:
    """A recursive query (RD=1) with one question, optionally with EDNS(0) 1232."""
    return (
        _HDR.pack(qid, FLAG_RD, 1, 0, 0, 1 if edns else 0)
        + qname_wire
        + _QTAIL.pack(qtype, 1)
        + (_OPT if edns else b"")
    )


_PLAIN_NAME = re.compile(rb"[A-Za-z0-9_*.-]+\Z").match


def _label_text(raw: bytes) -> str:
    return dns.name.Name([raw, b""]).to_text(omit_final_dot=True).lower()


def _read_name(msg: bytes, off: int, cache: dict | None = None, depth: int = 0) -> tuple[str, int, int]:
    """Decode a (possibly compressed) name at ``off``; return (text, next
    offset, its length on the wire).

    The text is lowercase, without the trailing dot; labels with bytes
    outside letters, digits, ``-``, ``_`` and ``*`` are escaped the way
    dnspython does (``\\DDD``).  Compression pointers must point backwards
    (so they cannot loop).  ``cache`` maps offsets to decoded suffixes (text
    and wire length) within one message.  The 255-byte limit is checked on
    the wire length: an escaped label (``\\DDD``) is longer as text than
    on the wire.  (Hot path: the labels are checked and decoded as one
    string, not one by one.)
    """
    raws: list[bytes] = []
    pos = off
    n = len(msg)
    total = 0
    suffix: str | None = None
    suffix_len = 0
    while True:
        if pos >= n:
            raise WireError("name runs past the end of the message")
        ln = msg[pos]
        if ln == 0:
            end = pos + 1
            break
        if ln & 0xC0 == 0xC0:
            if pos + 1 >= n:
                raise WireError("truncated compression pointer")
            ptr = ((ln & 0x3F) << 8) | msg[pos + 1]
            if ptr >= pos or depth > 64:
                raise WireError("bad compression pointer")
            hit = cache.get(ptr) if cache is not None else None
            if hit is None:
                text_, _, wl = _read_name(msg, ptr, cache, depth + 1)
                hit = (text_, wl)
                if cache is not None:
                    cache[ptr] = hit
            suffix, suffix_len = hit
            end = pos + 2
            break
        if ln & 0xC0:
            raise WireError("unknown label type")
        nxt = pos + 1 + ln
        if nxt > n:
            raise WireError("label runs past the end of the message")
        total += ln + 1
        if total > 254:  # with the root's zero byte: at most 255 on the wire
            raise WireError("name too long")
        raws.append(msg[pos + 1 : nxt])
        pos = nxt
    if raws:
        joined = b".".join(raws)
        if _PLAIN_NAME(joined) and joined.count(b".") == len(raws) - 1:  # no label holds a dot itself
            text = joined.decode("ascii").lower()
        else:
            text = ".".join(_label_text(r) for r in raws)
        name = f"{text}.{suffix}" if suffix else text
    else:
        name = suffix or ""
    if suffix is None:
        return name, end, total + 1  # the labels and the root's zero byte
    if total + suffix_len > 255:
        raise WireError("name too long")
    return name, end, total + suffix_len


def _txt_value(rd: bytes) -> str:
    parts = []
    i = 0
    n = len(rd)
    while i < n:
        ln = rd[i]
        i += 1
        if i + ln > n:
            raise WireError("TXT string runs past its record")
        parts.append(rd[i : i + ln])
        i += ln
    return b"".join(parts).decode("utf-8", "backslashreplace")


def decode_rdata(msg: bytes, rtype: int, off: int, rdlen: int, cache: dict | None = None) -> str:
    """Presentation text of one record's rdata (see stekker.evidence.RR)."""
    end = off + rdlen
    if end > len(msg):
        raise WireError("rdata runs past the end of the message")
    if rtype == 1:  # A
        if rdlen != 4:
            raise WireError("A record with wrong length")
        return "%d.%d.%d.%d" % tuple(msg[off:end])
    if rtype == 28:  # AAAA
        if rdlen != 16:
            raise WireError("AAAA record with wrong length")
        return str(ipaddress.IPv6Address(msg[off:end]))
    if rtype in (5, 2, 12):  # CNAME, NS, PTR
        name, nxt, _ = _read_name(msg, off, cache)
        if nxt != end:
            raise WireError("name rdata length mismatch")
        return name
    if rtype == 15:  # MX
        if rdlen < 3:
            raise WireError("MX record too short")
        pref = (msg[off] << 8) | msg[off + 1]
        name, nxt, _ = _read_name(msg, off + 2, cache)
        if nxt != end:
            raise WireError("MX rdata length mismatch")
        return f"{pref} {name or '.'}" if name else f"{pref} ."
    if rtype == 16:  # TXT
        return _txt_value(msg[off:end])
    if rtype == 33:  # SRV
        if rdlen < 7:
            raise WireError("SRV record too short")
        pri, weight, port = struct.unpack_from("!HHH", msg, off)
        name, nxt, _ = _read_name(msg, off + 6, cache)
        if nxt != end:
            raise WireError("SRV rdata length mismatch")
        return f"{pri} {weight} {port} {name or '.'}"
    if rtype == 6:  # SOA
        mname, p, _ = _read_name(msg, off, cache)
        rname, p, _ = _read_name(msg, p, cache)
        if end - p != 20:
            raise WireError("SOA rdata length mismatch")
        serial, refresh, retry, expire, minimum = struct.unpack_from("!IIIII", msg, p)
        return f"{mname or '.'} {rname or '.'} {serial} {refresh} {retry} {expire} {minimum}"
    # anything else: dnspython, which knows every type
    try:
        rd = dns.rdata.from_wire(dns.rdataclass.IN, rtype, msg, off, rdlen)
    except Exception as exc:  # dnspython raises many kinds
        raise WireError(f"undecodable {qtype_text(rtype)} rdata: {exc}") from None
    return rd.to_text().lower()


@dataclass(slots=True)
class Answer:
    """What stekker keeps of one DNS response."""

    qid: int
    flags: int
    rcode: str
    qname: str
    qtype: int
    answers: list[RR] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return bool(self.flags & FLAG_TC)


def parse_header(msg: bytes) -> tuple[int, int, int, int, int, int]:
    if len(msg) < 12:
        raise WireError("shorter than a DNS header")
    return _HDR.unpack_from(msg, 0)


def decode_response(msg: bytes) -> Answer:
    """Decode header, question and answer section of a response.

    Raises WireError for anything malformed; the caller records that as the
    ``malformed`` error kind (after retries), never as absent.
    """
    qid, flags, qd, an, _ns, _ar = parse_header(msg)
    if not flags & FLAG_QR:
        raise WireError("not a response (QR=0)")
    if qd != 1:
        raise WireError(f"response has {qd} questions")
    cache: dict = {}
    qname, off, _ = _read_name(msg, 12, cache)
    if off + 4 > len(msg):
        raise WireError("truncated question")
    qtype, qclass = _QTAIL.unpack_from(msg, off)
    off += 4
    rcode_num = flags & 0x000F
    rcode = RCODES.get(rcode_num, str(rcode_num))
    out: list[RR] = []
    if flags & FLAG_TC and an == 0:
        return Answer(qid, flags, rcode, qname, qtype, out)
    for _ in range(an):
        owner, off, _ = _read_name(msg, off, cache)
        if off + 10 > len(msg):
            if flags & FLAG_TC:
                break
            raise WireError("truncated resource record")
        rtype, rclass, ttl, rdlen = _RR.unpack_from(msg, off)
        off += 10
        if off + rdlen > len(msg):
            if flags & FLAG_TC:
                break
            raise WireError("rdata runs past the end of the message")
        if rclass == 1:
            out.append(RR(owner, qtype_text(rtype), ttl, decode_rdata(msg, rtype, off, rdlen, cache)))
        off += rdlen
    return Answer(qid, flags, rcode, qname, qtype, out)
