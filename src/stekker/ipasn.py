"""IP address -> origin AS, from public routing data.

Reads the two public formats people actually use:

* **iptoasn** (https://iptoasn.com): ``ip2asn-v4.tsv``, ``ip2asn-v6.tsv``,
  ``ip2asn-combined.tsv`` (also ``.gz``), tab separated
  ``range_start  range_end  AS_number  country_code  AS_description``.
  Rows with AS 0 ("Not routed") are counted and dropped: an address in such a
  range has no origin AS, so :meth:`AsnTable.lookup` answers ``None``.
* **RouteViews / CAIDA pfx2as** (``routeviews-rv2-*.pfx2as[.gz]``), tab
  separated ``prefix  length  AS``.  Multi-origin prefixes (``a_b``) and AS
  sets (``a,b``, also mixed ``a_b,c``) are kept: the record's ``asn`` is the
  first origin, ``origins`` lists all of them, and ``multi_origin`` /
  ``as_set`` say which case it was.

Lookups
-------
At import time every address family is flattened into **disjoint** ranges:
where ranges overlap (pfx2as announces 10.0.0.0/8 *and* 10.1.0.0/16) each
address belongs to the most specific (smallest) range that contains it, ties
going to the row that came first.  A lookup is then one ``np.searchsorted``
on the sorted range starts plus one comparison with the range end, which
numpy runs vectorised for a whole batch (:meth:`AsnTable.lookup_many`,
:meth:`AsnTable.asn_many`).

IPv4 keys are ``uint32``.  IPv6 keys are 128 bits: they are stored as two
``uint64`` columns (``hi``, ``lo``) and searched as one 16-byte big-endian
key (numpy ``S16``), whose byte-wise order *is* the numeric order.  That
keeps the whole search inside numpy's C loop (about 4 M lookups/s on a
100k-range table, against ~1.5 M/s for a structured (hi, lo) dtype and far
less for an object array of Python ints), while the stored columns stay
plain, endian-explicit integers.

Cache
-----
:meth:`AsnTable.save` writes one ``.npz`` (numpy arrays + a JSON metadata
blob, no pickle); :meth:`AsnTable.load` reads it back in milliseconds.
:meth:`AsnTable.load_default` reads ``<data dir>/ipasn.npz`` where the data
dir is ``$STEKKER_DATA_DIR`` or ``$XDG_DATA_HOME/stekker`` or
``~/.local/share/stekker`` (see :mod:`stekker.datadir`).

Size (over 400 lines on purpose): parsing two formats, flattening nested
ranges, the numpy table with its lookup and .npz file, and the staleness
check are one data structure's life cycle; the builder and the table share
private array helpers and the file format.  The seam if it grows: parsing
and building vs lookup.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import heapq
import io
import ipaddress
import json
import os
import socket
import time
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, NamedTuple, Sequence

import numpy as np

from stekker.countries import registration_country
from stekker.datadir import default_data_dir
from stekker.dates import as_datetime
from stekker.i18n import N_, Said, _, shown

__all__ = [
    "AsnRecord",
    "AsnTable",
    "AsnTableError",
    "DEFAULT_TABLE_FILE",
    "detect_format",
    "stale_warning",
]

DEFAULT_TABLE_FILE = "ipasn.npz"
CACHE_FORMAT = 1
MAX_PROBLEMS = 200  # problems kept in info["problems"]; all are counted

_M64 = (1 << 64) - 1
_PTON4 = functools.partial(socket.inet_pton, socket.AF_INET)
_PTON6 = functools.partial(socket.inet_pton, socket.AF_INET6)
_MAPPED_PREFIX = b"\0" * 10 + b"\xff\xff"
_V4_MAPPED = 0xFFFF << 32  # ::ffff:0:0/96
# what reading a damaged file raises: truncated gzip (EOFError), bad header (gzip.BadGzipFile, an
# OSError), a damaged deflate stream (zlib.error), an unreadable file (OSError)
READ_ERRORS = (OSError, EOFError, zlib.error)


class AsnTableError(Exception):
    """A table cannot be built or read (no valid rows, unknown format, bad cache)."""


class _RowError(ValueError):
    """What is wrong with one line of an IP-to-ASN file.  Its text (``str``) is English: it is
    kept in the table's ``info["problems"]``, which is saved with the table (data); a command
    prints it in the user's language as the table is imported (:func:`stekker.i18n.shown`)."""

    def __init__(self, template: str, **fields: Any) -> None:
        super().__init__(Said(template, **fields))


class AsnRecord(NamedTuple):
    """The answer of one lookup (an immutable named tuple; records are shared
    between lookups that hit the same range).

    ``first``/``last`` are the range (ip2asn) or announced prefix (pfx2as) the
    address fell in, as given by the data set (not the flattened fragment).
    ``origins`` lists every origin AS (``(asn,)`` for a single origin).
    """

    asn: int
    country: str | None
    description: str | None
    first: str
    last: str
    origins: tuple[int, ...] = ()
    multi_origin: bool = False
    as_set: bool = False

    @property
    def prefix(self) -> str:
        """``a.b.c.d/len`` when the range is exactly one CIDR block, else ``first-last``."""
        nets = list(ipaddress.summarize_address_range(ipaddress.ip_address(self.first), ipaddress.ip_address(self.last)))
        if len(nets) == 1:
            return str(nets[0])
        return f"{self.first}-{self.last}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "asn": self.asn,
            "country": self.country,
            "description": self.description,
            "first": self.first,
            "last": self.last,
            "prefix": self.prefix,
            "origins": list(self.origins),
            "multi_origin": self.multi_origin,
            "as_set": self.as_set,
        }


# ---------------------------------------------------------------- parsing


def _ip_int(text: str) -> tuple[int, int]:
    """(family 4|6, integer value) of an address text; ValueError when invalid."""
    try:
        if ":" in text:
            return 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
    except OSError:
        raise _RowError(N_("bad IP address {text!r}"), text=text) from None


def _parse_asn(text: str) -> tuple[int, tuple[int, ...], bool, bool]:
    """``13335`` / ``AS13335`` / ``a_b`` (multi-origin) / ``a,b`` (AS set) ->
    (first asn, all origins, multi_origin, as_set)."""
    t = text.strip().strip("{}")
    multi = "_" in t
    aset = "," in t
    out: list[int] = []
    for part in t.replace("_", ",").split(","):
        part = part.strip().strip("{}")
        if part[:2].upper() == "AS":
            part = part[2:]
        if not part.isdigit():
            raise _RowError(N_("bad AS number {text!r}"), text=text)
        v = int(part)
        if v > 0xFFFFFFFF:
            raise _RowError(N_("AS number out of range {text!r}"), text=text)
        if v not in out:
            out.append(v)
    if not out:
        raise _RowError(N_("bad AS number {text!r}"), text=text)
    return out[0], tuple(out), multi, aset


MAX_LINE = 4096  # characters; no real ip2asn / pfx2as line is longer than a few hundred
MAX_MB_ENV = "STEKKER_DATA_MAX_MB"
DEFAULT_MAX_MB = 256  # a full iptoasn or pfx2as table is 20-60 MB of text


def max_text_bytes() -> int:
    """The most text (after gunzip) one reference-data file may hold:
    ``$STEKKER_DATA_MAX_MB`` megabytes (default 256), so a gzip bomb or an
    endless download ends with a message instead of exhausting memory."""
    try:
        mb = float(os.environ.get(MAX_MB_ENV) or DEFAULT_MAX_MB)
    except ValueError:
        mb = DEFAULT_MAX_MB
    return int((mb if mb > 0 else DEFAULT_MAX_MB) * 1_000_000)


def too_big(limit: int, downloaded: bool = False) -> str:
    """The one wording of "more than :func:`max_text_bytes`" (files here, downloads in datasets)."""
    if downloaded:
        return _("more than {mb:g} MB downloaded, far more than a real reference-data file "
                 "(set {env} to allow more)").format(mb=limit / 1e6, env=MAX_MB_ENV)
    return _("more than {mb:g} MB of text (after gunzip), far more than a real reference-data file "
             "(set {env} to allow more)").format(mb=limit / 1e6, env=MAX_MB_ENV)


Line = tuple[int, str, "_RowError | None"]  # (line number, text without its end, problem or None)


def _str_lines(lines: Iterable[str]) -> Iterator[Line]:
    for n, line in enumerate(lines, 1):
        yield n, line.rstrip("\r\n"), None


def _file_lines(fh: io.TextIOBase, label: str, limit: int, gz: bool) -> Iterator[Line]:
    """The lines of an open text file, read in pieces of at most
    :data:`MAX_LINE` characters (an over-long line is yielded cut, with a
    problem, and the rest of it skipped), at most ``limit`` characters in all.
    The last line of a plain file without its newline is yielded with a
    problem: the file was most likely cut off there (a gzip stream has its own
    end marker and checksum)."""
    total = 0
    n = 0
    while True:
        line = fh.readline(MAX_LINE)
        if not line:
            return
        n += 1
        total += len(line)
        if total > limit:
            raise AsnTableError(f"{label}: {too_big(limit)}")
        if line.endswith("\n"):
            yield n, line[:-1], None
            continue
        if len(line) < MAX_LINE:  # the last line, without its newline
            yield n, line, None if gz else _RowError(
                N_("no newline at the end: the file looks cut off here (not imported)"))
            return
        yield n, line, _RowError(N_("line longer than {n} characters"), n=MAX_LINE)
        while True:  # skip the rest of the over-long line
            rest = fh.readline(MAX_LINE)
            total += len(rest)
            if total > limit:
                raise AsnTableError(f"{label}: {too_big(limit)}")
            if not rest or rest.endswith("\n"):
                break


@contextlib.contextmanager
def _reading(path: str | os.PathLike, label: str) -> Iterator[Iterator[Line]]:
    """The lines of a plain or gzip file (detected by magic bytes) as
    (number, text, problem); bounded in line length and total size
    (:func:`max_text_bytes`).  A file that cannot be read or a damaged gzip
    stream becomes ``AsnTableError("LABEL: cannot read: ...")``."""
    try:
        with open(path, "rb") as raw:
            gz = raw.read(2) == b"\x1f\x8b"
        opener: Any = gzip.open if gz else open
        with opener(path, "rt", encoding="utf-8", errors="replace", newline=None) as fh:
            yield _file_lines(fh, label, max_text_bytes(), gz)
    except READ_ERRORS as exc:  # truncated / corrupt gzip, unreadable file
        raise AsnTableError(_("{label}: cannot read: {error}").format(label=label, error=_read_error(exc))) from None


def _read_error(exc: BaseException) -> str:
    """Why a file could not be read, in words (a damaged download says what is wrong with it
    rather than zlib's or gzip's own terms)."""
    if isinstance(exc, EOFError):  # gzip: "Compressed file ended before the end-of-stream marker was reached"
        return _("the file is cut off (its gzip stream ends before its end marker)")
    if isinstance(exc, zlib.error):
        return _("damaged gzip data ({error})").format(error=exc)
    if isinstance(exc, gzip.BadGzipFile):
        if str(exc).startswith(("CRC check failed", "Incorrect length")):
            return _("damaged: the gzip checksum does not match the data ({error})").format(error=exc)
        return _("damaged gzip file ({error})").format(error=exc)
    return str(exc)


def _data_lines(lines: Iterable[Line]) -> Iterator[Line]:
    for n, line, problem in lines:
        s = line.strip()
        if not s or s[0] in "#;" or s.startswith("//"):
            continue
        yield n, line, problem


def detect_format(lines: Iterable[str]) -> str:
    """'ip2asn' or 'pfx2as' from the first data line; AsnTableError when neither."""
    return _detect(_str_lines(lines))


def _detect(lines: Iterable[Line]) -> str:
    for _n, line, problem in _data_lines(lines):
        if problem:
            raise AsnTableError(_("unknown format (the first data line: {problem}): expected ip2asn (start end "
                                  "AS country description) or pfx2as (prefix length AS) tab-separated rows")
                                .format(problem=shown(problem)))
        f = line.split("\t") if "\t" in line else line.split()
        if len(f) >= 3:
            try:
                _ip_int(f[0].strip())
            except ValueError:
                continue
            if f[1].strip().isdigit():
                return "pfx2as"
            try:
                _ip_int(f[1].strip())
                return "ip2asn"
            except ValueError:
                pass
        break
    raise AsnTableError(_("unknown format: expected ip2asn (start end AS country description) "
                          "or pfx2as (prefix length AS) tab-separated rows"))


def check_file(path: str | os.PathLike, label: str | None = None) -> str:
    """The format of an ip2asn / pfx2as file ('ip2asn' or 'pfx2as') after
    reading it through once (a cut or damaged gzip stream, an unknown format
    or too much text raise :class:`AsnTableError`); rows are not parsed."""
    label = label or Path(path).name
    with _reading(path, label) as lines:
        try:
            fmt = _detect(lines)
        except AsnTableError as exc:
            raise AsnTableError(f"{label}: {exc}") from None
        for _line in lines:
            pass
    return fmt


class _Builder:
    """Collects rows of one or more files, then flattens them into a table."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[list[int], list[int], list[int]]] = {4: ([], [], []), 6: ([], [], [])}
        self.rec_index: dict[tuple, int] = {}
        self.recs: list[tuple[int, str, str, tuple[int, ...], bool, bool]] = []
        # each problem English as data (the table's info keeps it), said in the user's language by the
        # command that imports (stekker.i18n.shown)
        self.problems: list[Said] = []
        self.bad_lines = 0
        self.lines = 0
        self.not_routed = 0
        self.files: list[dict[str, Any]] = []

    def problem(self, label: str, n: int, err: BaseException) -> None:
        self.bad_lines += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Said(N_("{label} line {n}: {problem}"), label=label, n=n, problem=err))

    def rec(self, asn: int, country: str | None, desc: str | None, origins: tuple[int, ...],
            multi: bool, aset: bool) -> int:
        key = (asn, country or "", desc or "", origins if len(origins) > 1 else (), multi, aset)
        idx = self.rec_index.get(key)
        if idx is None:
            idx = self.rec_index[key] = len(self.recs)
            self.recs.append(key)
        return idx

    def add(self, fam: int, start: int, end: int, rec: int) -> None:
        s, e, r = self.rows[fam]
        s.append(start)
        e.append(end)
        r.append(rec)

    def read(self, path: str | os.PathLike, fmt: str = "auto", label: str | None = None) -> str:
        label = label or Path(path).name
        if fmt == "auto":
            with _reading(path, label) as lines:
                try:
                    fmt = _detect(lines)
                except AsnTableError as exc:
                    raise AsnTableError(f"{label}: {exc}") from None
        if fmt not in ("ip2asn", "pfx2as"):
            raise AsnTableError(_("unknown format {format!r} (auto, ip2asn, pfx2as)").format(format=fmt))
        before = sum(len(v[0]) for v in self.rows.values())
        with _reading(path, label) as lines:
            (self._read_ip2asn if fmt == "ip2asn" else self._read_pfx2as)(lines, label)
        self.files.append({"file": str(path), "format": fmt,
                           "rows": sum(len(v[0]) for v in self.rows.values()) - before})
        return fmt

    def _read_ip2asn(self, lines: Iterable[Line], label: str) -> None:
        for n, line, problem in _data_lines(lines):
            self.lines += 1
            if problem:
                self.problem(label, n, problem)
                continue
            f = line.split("\t")
            if len(f) < 3:
                f = line.split(None, 4)
            if len(f) != 5:  # a row cut short (or run together) must not give a wrong AS or country
                self.problem(label, n, _RowError(N_("expected 5 tab-separated fields, got {fields}: {line!r}"),
                                                 fields=len(f), line=line[:80]))
                continue
            try:
                fa, a = _ip_int(f[0].strip())
                fb, b = _ip_int(f[1].strip())
                if fa != fb:
                    raise _RowError(N_("range start and end are of different IP versions"))
                if a > b:
                    raise _RowError(N_("range start {start} after end {end}"), start=f[0], end=f[1])
                asn, origins, multi, aset = _parse_asn(f[2])
            except ValueError as exc:
                self.problem(label, n, exc)
                continue
            if asn == 0:
                self.not_routed += 1
                continue
            cc = registration_country(f[3]) or ""
            desc = f[4].strip()
            self.add(fa, a, b, self.rec(asn, cc, desc, origins, multi, aset))

    def _read_pfx2as(self, lines: Iterable[Line], label: str) -> None:
        for n, line, problem in _data_lines(lines):
            self.lines += 1
            if problem:
                self.problem(label, n, problem)
                continue
            f = line.split("\t") if "\t" in line else line.split()
            if len(f) < 3:
                self.problem(label, n, _RowError(N_("expected 3 fields (prefix length AS), got {fields}: {line!r}"),
                                                 fields=len(f), line=line[:80]))
                continue
            try:
                fam, a = _ip_int(f[0].strip())
                ln = f[1].strip()
                if not ln.isdigit() or int(ln) > (32 if fam == 4 else 128):
                    raise _RowError(N_("bad prefix length {length!r}"), length=ln)
                bits = 32 if fam == 4 else 128
                plen = int(ln)
                host = (1 << (bits - plen)) - 1
                asn, origins, multi, aset = _parse_asn(f[2])
            except ValueError as exc:
                self.problem(label, n, exc)
                continue
            if a & host:
                self.problem(label, n, _RowError(N_("host bits set in {prefix}; using the network"),
                                                 prefix=f"{f[0].strip()}/{plen}"))
                a &= ~host
            if asn == 0:
                self.not_routed += 1
                continue
            self.add(fam, a, a | host, self.rec(asn, "", "", origins, multi, aset))


def _flatten_nested(starts: list[int], ends: list[int]) -> tuple[list[int], list[int], list[int]] | None:
    """Stack sweep for nested ranges (prefixes: any two are disjoint or one
    contains the other), faster than the general heap sweep; None when two
    ranges overlap partially."""
    order = sorted(range(len(starts)), key=lambda i: (starts[i], -ends[i]))
    out_s: list[int] = []
    out_e: list[int] = []
    out_r: list[int] = []

    def emit(a: int, b: int, row: int) -> None:
        if out_r and out_r[-1] == row and out_e[-1] + 1 == a:
            out_e[-1] = b
        else:
            out_s.append(a)
            out_e.append(b)
            out_r.append(row)

    stack: list[int] = []
    cur = 0  # first address not yet assigned
    for i in order:
        s, e = starts[i], ends[i]
        while stack and ends[stack[-1]] < s:
            top = stack.pop()
            if cur <= ends[top]:
                emit(cur, ends[top], top)
                cur = ends[top] + 1
        if stack:
            top = stack[-1]
            if e > ends[top]:
                return None  # partial overlap
            if s == starts[top] and e == ends[top]:
                continue  # duplicate range: the earlier row wins
            if cur < s:
                emit(cur, s - 1, top)
        cur = s
        stack.append(i)
    while stack:
        top = stack.pop()
        if cur <= ends[top]:
            emit(cur, ends[top], top)
            cur = ends[top] + 1
    return out_s, out_e, out_r


def _flatten(starts: list[int], ends: list[int]) -> tuple[list[int], list[int], list[int], int]:
    """Disjoint (start, end, row) segments: each address goes to the smallest
    containing row (ties: the earlier row).  Returns (starts, ends, rows, overlaps)."""
    n = len(starts)
    order = sorted(range(n), key=starts.__getitem__)
    # fast path: already disjoint (ip2asn files are)
    prev_end = -1
    for i in order:
        if starts[i] <= prev_end:
            break
        prev_end = ends[i]
    else:
        return [starts[i] for i in order], [ends[i] for i in order], order, 0
    lam = _flatten_nested(starts, ends)
    if lam is not None:
        return lam[0], lam[1], lam[2], 1
    points = sorted(set(starts).union(e + 1 for e in ends))
    heap: list[tuple[int, int, int]] = []  # (size, row, end)
    out_s: list[int] = []
    out_e: list[int] = []
    out_r: list[int] = []
    j = 0
    for k, p in enumerate(points):
        while j < n and starts[order[j]] == p:
            i = order[j]
            heapq.heappush(heap, (ends[i] - starts[i], i, ends[i]))
            j += 1
        while heap and heap[0][2] < p:
            heapq.heappop(heap)
        if not heap:
            continue
        row = heap[0][1]
        seg_end = points[k + 1] - 1  # exists: the row's end + 1 is a later point
        if out_r and out_r[-1] == row and out_e[-1] + 1 == p:
            out_e[-1] = seg_end
        else:
            out_s.append(p)
            out_e.append(seg_end)
            out_r.append(row)
    return out_s, out_e, out_r, 1


# ---------------------------------------------------------------- table


def _to_u64_pair(values: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    hi = np.fromiter((v >> 64 for v in values), dtype=np.uint64, count=len(values))
    lo = np.fromiter((v & _M64 for v in values), dtype=np.uint64, count=len(values))
    return hi, lo


def _ntop6(packed: bytes) -> str:
    """IPv6 text as ``str(ipaddress.IPv6Address)`` gives it (inet_ntop is 5x
    faster; it differs only where it writes an embedded IPv4 dotted quad)."""
    text = socket.inet_ntop(socket.AF_INET6, packed)
    return text if "." not in text else str(ipaddress.IPv6Address(packed))


def _key16(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Big-endian 16-byte keys (numpy S16) of (hi, lo) uint64 columns."""
    k = np.empty(len(hi), dtype=[("hi", ">u8"), ("lo", ">u8")])
    k["hi"] = hi
    k["lo"] = lo
    return k.view("S16")


def _blob(strings: Sequence[str]) -> np.ndarray:
    return np.frombuffer("\n".join(s.replace("\n", " ") for s in strings).encode("utf-8"), dtype=np.uint8)


def _unblob(arr: np.ndarray, n: int) -> list[str]:
    if n == 0:
        return []
    out = arr.tobytes().decode("utf-8").split("\n")
    if len(out) != n:
        raise AsnTableError(_("corrupt cache: string table length mismatch"))
    return out


def _now_iso() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def _parse_v4_batch(ips: Sequence[Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """Vectorised parse of dotted-quad strings: (uint32 keys, ok mask), where
    ok is False for anything that is not a strict a.b.c.d (IPv6, blanks,
    leading zeros, junk: the caller parses those one by one).  None when the
    batch is not all ASCII strings without newlines."""
    n = len(ips)
    try:
        blob = ("\n".join(ips) + "\n").encode("ascii")
    except (TypeError, UnicodeEncodeError):
        return None
    buf = np.frombuffer(blob, dtype=np.uint8)
    is_nl = buf == 10
    if int(np.count_nonzero(is_nl)) != n:
        return None
    ends = np.flatnonzero(is_nl | (buf == 46))  # every field ends at a '.' or '\n'
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    flen = ends - starts
    digit = buf - np.uint8(48)  # uint8 wraps: digits are 0..9, anything else > 9
    value = np.zeros(len(ends), dtype=np.int16)
    ok = (flen >= 1) & (flen <= 3)
    for k, scale in ((1, 1), (2, 10), (3, 100)):
        dig = digit.take(ends - k, mode="wrap")  # out of the field only where flen < k: masked
        has = flen >= k
        ok &= (dig <= 9) | ~has
        value += dig.astype(np.int16) * np.int16(scale) * has
    ok &= (value <= 255) & ~((flen > 1) & (buf[starts] == 48))  # no leading zeros (as inet_pton)
    last = is_nl[ends]  # field closes its line
    line = np.cumsum(last) - last
    nfields = np.bincount(line, minlength=n)
    nbad = np.bincount(line, weights=~ok, minlength=n)
    line_ok = (nfields == 4) & (nbad == 0)
    lastf = np.flatnonzero(last)
    idx = np.maximum(lastf - 3, 0)
    v = value.astype(np.uint32)
    keys = (v[idx] << 24) | (v[np.minimum(idx + 1, lastf)] << 16) | (v[np.minimum(idx + 2, lastf)] << 8) | v[lastf]
    keys = np.where(line_ok, keys, 0).astype(np.uint32)
    return keys, line_ok


_DEFAULT_CACHE: dict[tuple[str, int, int], "AsnTable"] = {}


class AsnTable:
    """IP -> origin AS lookups over disjoint sorted ranges (see module doc).

    Build with :meth:`from_file` / :meth:`from_files` / :meth:`from_rows`,
    persist with :meth:`save` / :meth:`load`; the installed default is
    :meth:`load_default`.
    """

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self._a = arrays
        self._meta = meta
        n = int(meta["records"])
        self._countries = _unblob(arrays["rec_country"], n)
        self._descs = _unblob(arrays["rec_desc"], n)
        self._v4_start = arrays["v4_seg_start"]
        self._v4_end = arrays["v4_seg_end"]
        self._v6_start = _key16(arrays["v6_seg_start_hi"], arrays["v6_seg_start_lo"])
        self._v6_end = _key16(arrays["v6_seg_end_hi"], arrays["v6_seg_end_lo"])
        self._parts: list[tuple] | None = None
        self._cache: dict[int, AsnRecord] = {}
        self._shown: list[str] | None = None  # the problems in the user's language (a table just built)

    # ---------------------------------------------------------- building

    @classmethod
    def from_files(cls, paths: Sequence[str | os.PathLike], *, format: str = "auto", name: str | None = None,
                   source: str | None = None, version: str | None = None,
                   data_date: str | None = None) -> "AsnTable":
        """Build from ip2asn / pfx2as files (plain or gzip), e.g. the v4 and v6
        halves of iptoasn.  ``data_date`` (ISO) is when the data was published;
        it drives :func:`stale_warning` and defaults to the newest file mtime."""
        if not paths:
            raise AsnTableError(_("no input files"))
        b = _Builder()
        fmts = []
        for p in paths:
            if not Path(p).is_file():
                raise AsnTableError((_("not a regular file: {path}") if Path(p).exists() else
                                     _("no such file: {path}")).format(path=p))
            fmts.append(b.read(p, format))
        if data_date is None:
            newest = max(Path(p).stat().st_mtime for p in paths)
            data_date = datetime.fromtimestamp(newest, timezone.utc).replace(microsecond=0).isoformat()
        return cls._build(b, name=name or Path(paths[0]).name.split(".")[0], source=source or ", ".join(str(p) for p in paths),
                          version=version, data_date=data_date, fmt="+".join(sorted(set(fmts))))

    @classmethod
    def from_file(cls, path: str | os.PathLike, **kw: Any) -> "AsnTable":
        """Build from one ip2asn or pfx2as file (see :meth:`from_files`)."""
        return cls.from_files([path], **kw)

    @classmethod
    def from_rows(cls, rows: Iterable[Sequence[Any]], *, name: str = "rows", source: str = "rows",
                  version: str | None = None, data_date: str | None = None) -> "AsnTable":
        """Build from ip2asn-shaped rows ``(start, end, asn, country, description)``
        (e.g. :func:`stekker.lab.catalog.ip2asn_rows`)."""
        lines = ("\t".join(str(x) for x in r) for r in rows)
        b = _Builder()
        b._read_ip2asn(_str_lines(lines), name)
        b.files.append({"file": source, "format": "ip2asn", "rows": sum(len(v[0]) for v in b.rows.values())})
        return cls._build(b, name=name, source=source, version=version, data_date=data_date or _now_iso(), fmt="ip2asn")

    @classmethod
    def _build(cls, b: _Builder, *, name: str, source: str, version: str | None, data_date: str | None,
               fmt: str) -> "AsnTable":
        t0 = time.perf_counter()
        nrows = sum(len(v[0]) for v in b.rows.values())
        if nrows == 0:
            counts = {"name": name, "lines": b.lines, "bad": b.bad_lines, "not_routed": b.not_routed}
            if b.problems:
                raise AsnTableError(_("{name}: no valid rows ({lines} data lines, {bad} bad, {not_routed} not "
                                      "routed); first problems: {problems}")
                                    .format(**counts, problems="; ".join(shown(p) for p in b.problems[:5])))
            raise AsnTableError(_("{name}: no valid rows ({lines} data lines, {bad} bad, {not_routed} not routed)")
                                .format(**counts))
        arrays: dict[str, np.ndarray] = {}
        counts: dict[str, int] = {}
        overlaps = {}
        for fam in (4, 6):
            s, e, r = b.rows[fam]
            seg_s, seg_e, seg_row, ov = _flatten(s, e)
            overlaps[fam] = bool(ov)
            counts[f"v{fam}_rows"] = len(s)
            counts[f"v{fam}_ranges"] = len(seg_s)
            row_rec = np.asarray(r, dtype=np.int32)
            if fam == 4:
                arrays["v4_seg_start"] = np.asarray(seg_s, dtype=np.uint32)
                arrays["v4_seg_end"] = np.asarray(seg_e, dtype=np.uint32)
                arrays["v4_row_start"] = np.asarray(s, dtype=np.uint32)
                arrays["v4_row_end"] = np.asarray(e, dtype=np.uint32)
            else:
                for key, vals in (("seg_start", seg_s), ("seg_end", seg_e), ("row_start", s), ("row_end", e)):
                    hi, lo = _to_u64_pair(vals)
                    arrays[f"v6_{key}_hi"] = hi
                    arrays[f"v6_{key}_lo"] = lo
            arrays[f"v{fam}_seg_row"] = np.asarray(seg_row, dtype=np.int32)
            arrays[f"v{fam}_row_rec"] = row_rec
        recs = b.recs
        arrays["rec_asn"] = np.asarray([x[0] for x in recs], dtype=np.int64)
        arrays["rec_flags"] = np.asarray([(1 if x[4] else 0) | (2 if x[5] else 0) for x in recs], dtype=np.uint8)
        orig_off = [0]
        orig: list[int] = []
        for x in recs:
            orig.extend(x[3])
            orig_off.append(len(orig))
        arrays["rec_origins"] = np.asarray(orig, dtype=np.int64)
        arrays["rec_origins_off"] = np.asarray(orig_off, dtype=np.int64)
        arrays["rec_country"] = _blob([x[1] for x in recs])
        arrays["rec_desc"] = _blob([x[2] for x in recs])
        meta = {
            "cache_format": CACHE_FORMAT,
            "name": name,
            "source": source,
            "format": fmt,
            "version": version or (data_date[:10] if data_date else None),
            "data_date": data_date,
            "imported_at": _now_iso(),
            "files": b.files,
            "lines": b.lines,
            "rows": nrows,
            **counts,
            "records": len(recs),
            "asns": len({x[0] for x in recs}),
            "not_routed": b.not_routed,
            "bad_lines": b.bad_lines,
            "problems": [str(p) for p in b.problems],
            "overlapping": overlaps[4] or overlaps[6],
            "build_seconds": 0.0,
        }
        meta["build_seconds"] = round(time.perf_counter() - t0, 3)
        table = cls(arrays, meta)
        table._shown = [shown(p) for p in b.problems]
        return table

    # ---------------------------------------------------------- persistence

    def save(self, path: str | os.PathLike) -> Path:
        """Write the table to one ``.npz`` (arrays + JSON meta; atomic replace)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}")
        meta = np.frombuffer(json.dumps(self._meta).encode("utf-8"), dtype=np.uint8)
        with open(tmp, "wb") as fh:
            np.savez(fh, meta=meta, **self._a)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "AsnTable":
        """Read a table written by :meth:`save`; AsnTableError when unreadable."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
                if meta.get("cache_format") != CACHE_FORMAT:
                    raise AsnTableError(_("{path}: cache format {found} is not {want}; re-import")
                                        .format(path=path, found=meta.get("cache_format"), want=CACHE_FORMAT))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except AsnTableError:
            raise
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            # numpy's own words ("... load it unsafely using the allow_pickle= keyword") are advice to
            # do what must not be done with a file from elsewhere: say what it is instead
            why = exc if isinstance(exc, OSError) and not isinstance(exc, zipfile.BadZipFile) else \
                _("damaged or not a table stekker wrote")
            raise AsnTableError(_("cannot read IP-to-ASN cache {path}: {why}; run `stekker data update` "
                                  "(or `stekker data import FILE`) to write it again").format(path=path, why=why)) from None
        meta["path"] = str(path)
        return cls(arrays, meta)

    @staticmethod
    def read_info(path: str | os.PathLike) -> dict[str, Any]:
        """The ``info`` of a saved table without loading its arrays."""
        try:
            with np.load(path, allow_pickle=False) as z:
                meta = json.loads(z["meta"].tobytes().decode("utf-8"))
        except (ValueError, KeyError, EOFError, zipfile.BadZipFile):
            raise AsnTableError(_("cannot read IP-to-ASN cache {path}: damaged or not a table stekker wrote")
                                .format(path=path)) from None
        meta["path"] = str(path)
        return meta

    @staticmethod
    def default_path(data_dir: str | os.PathLike | None = None) -> Path:
        return Path(data_dir) if data_dir is not None else default_data_dir()

    @classmethod
    def load_default(cls, data_dir: str | os.PathLike | None = None) -> "AsnTable | None":
        """The table installed by ``stekker data update`` / ``data import``, or
        None when nothing was imported yet (or the cache is unreadable).
        Cached: calling it again costs a ``stat()`` until the file changes."""
        path = cls.default_path(data_dir) / DEFAULT_TABLE_FILE
        try:
            st = path.stat()
        except OSError:
            return None
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
        hit = _DEFAULT_CACHE.get(key)
        if hit is not None:
            return hit
        try:
            table = cls.load(path)
        except AsnTableError:
            return None
        _DEFAULT_CACHE.clear()
        _DEFAULT_CACHE[key] = table
        return table

    # ---------------------------------------------------------- info

    @property
    def info(self) -> dict[str, Any]:
        """name, source, format, version, data_date, imported_at, files, row
        counts (rows, v4_rows, v6_rows, v4_ranges, v6_ranges, records, asns,
        not_routed, bad_lines) and the first ``problems`` with line numbers."""
        return dict(self._meta)

    def shown_problems(self) -> list[str]:
        """The first problems (bad lines) in the user's language, for the command that imported
        the table; a table read from its file has only their English (``info["problems"]``)."""
        return list(self._shown) if self._shown is not None else list(self._meta.get("problems") or [])

    def __len__(self) -> int:
        return int(self._meta["v4_ranges"] + self._meta["v6_ranges"])

    def __repr__(self) -> str:
        m = self._meta
        return f"<AsnTable {m['name']} {m.get('version')} v4={m['v4_ranges']} v6={m['v6_ranges']}>"

    # ---------------------------------------------------------- lookups

    @staticmethod
    def _key(ip: Any) -> tuple[int, int]:
        if isinstance(ip, str):
            fam, v = _ip_int(ip.strip())
        elif isinstance(ip, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
            fam, v = ip.version, int(ip)
        elif isinstance(ip, (bytes, bytearray)) and len(ip) in (4, 16):
            fam, v = (4 if len(ip) == 4 else 6), int.from_bytes(ip, "big")
        else:
            raise ValueError(_("not an IP address: {ip!r}").format(ip=ip))
        if fam == 6 and (v >> 32) == 0xFFFF:  # IPv4-mapped ::ffff:a.b.c.d
            return 4, v & 0xFFFFFFFF
        return fam, v

    def _seg_v4(self, keys: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self._v4_start, keys, side="right") - 1
        ok = i >= 0
        ic = np.where(ok, i, 0)
        if len(self._v4_end):
            ok &= keys <= self._v4_end[ic]
        else:
            ok[:] = False
        return np.where(ok, i, -1)

    def _seg_v6(self, keys: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self._v6_start, keys, side="right") - 1
        ok = i >= 0
        ic = np.where(ok, i, 0)
        if len(self._v6_end):
            ok &= keys <= self._v6_end[ic]
        else:
            ok[:] = False
        return np.where(ok, i, -1)

    def _rec_parts(self) -> list[tuple[int, str | None, str | None, tuple[int, ...], bool, bool]]:
        """Per record: (asn, country, description, origins, multi_origin, as_set); built once."""
        if self._parts is None:
            a = self._a
            asns = a["rec_asn"].tolist()
            flags = a["rec_flags"].tolist()
            off = a["rec_origins_off"].tolist()
            orig = a["rec_origins"].tolist()
            self._parts = [
                (asn, self._countries[k] or None, self._descs[k] or None,
                 tuple(orig[off[k]:off[k + 1]]) or (asn,), bool(flags[k] & 1), bool(flags[k] & 2))
                for k, asn in enumerate(asns)
            ]
        return self._parts

    def _records(self, fam: int, segs: np.ndarray) -> list[AsnRecord]:
        """Records of segment indices (all >= 0) of one family, vectorised gathers."""
        a = self._a
        parts = self._rec_parts()
        rows = a[f"v{fam}_seg_row"][segs]
        recs = a[f"v{fam}_row_rec"][rows].tolist()
        if fam == 4:
            ntop = socket.inet_ntop
            A4 = socket.AF_INET
            sb = a["v4_row_start"][rows].astype(">u4").tobytes()
            eb = a["v4_row_end"][rows].astype(">u4").tobytes()
            firsts = [ntop(A4, sb[i:i + 4]) for i in range(0, len(sb), 4)]
            lasts = [ntop(A4, eb[i:i + 4]) for i in range(0, len(eb), 4)]
        else:
            sb = _key16(a["v6_row_start_hi"][rows], a["v6_row_start_lo"][rows]).tobytes()
            eb = _key16(a["v6_row_end_hi"][rows], a["v6_row_end_lo"][rows]).tobytes()
            firsts = [_ntop6(sb[i:i + 16]) for i in range(0, len(sb), 16)]
            lasts = [_ntop6(eb[i:i + 16]) for i in range(0, len(eb), 16)]
        out = []
        for r, f, l in zip(recs, firsts, lasts):
            asn, cc, desc, origins, multi, aset = parts[r]
            out.append(AsnRecord(asn, cc, desc, f, l, origins, multi, aset))
        return out

    def _record(self, fam: int, seg: int) -> AsnRecord:
        """The record of one segment (scalar path, cached per range)."""
        key = seg if fam == 4 else ~seg
        rec = self._cache.get(key)
        if rec is not None:
            return rec
        a = self._a
        row = int(a[f"v{fam}_seg_row"][seg])
        asn, cc, desc, origins, multi, aset = self._rec_parts()[int(a[f"v{fam}_row_rec"][row])]
        if fam == 4:
            first = socket.inet_ntoa(int(a["v4_row_start"][row]).to_bytes(4, "big"))
            last = socket.inet_ntoa(int(a["v4_row_end"][row]).to_bytes(4, "big"))
        else:
            first = _ntop6(((int(a["v6_row_start_hi"][row]) << 64) | int(a["v6_row_start_lo"][row])).to_bytes(16, "big"))
            last = _ntop6(((int(a["v6_row_end_hi"][row]) << 64) | int(a["v6_row_end_lo"][row])).to_bytes(16, "big"))
        if len(self._cache) >= 100_000:
            self._cache.clear()
        rec = self._cache[key] = AsnRecord(asn, cc, desc, first, last, origins, multi, aset)
        return rec

    def lookup(self, ip: Any) -> AsnRecord | None:
        """The origin AS of one address (str, ipaddress object, or 4/16 packed
        bytes); None when no range covers it.  Raises ValueError on a malformed
        address.  IPv4-mapped IPv6 (``::ffff:a.b.c.d``) is looked up as IPv4."""
        fam, v = self._key(ip)
        # keys must have the arrays' dtype, else numpy would cast the whole array per call
        if fam == 4:
            i = int(self._v4_start.searchsorted(np.uint32(v), side="right")) - 1
            if i < 0 or v > int(self._v4_end[i]):
                return None
        else:
            k = v.to_bytes(16, "big")
            i = int(self._v6_start.searchsorted(np.array(k, dtype="S16"), side="right")) - 1
            if i < 0 or k > self._v6_end[i].ljust(16, b"\0"):
                return None
        return self._record(fam, i)

    def _segments(self, ips: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
        """(family per ip: 4/6/0 invalid, segment index or -1) for a batch."""
        n = len(ips)
        fam = np.zeros(n, dtype=np.int8)
        seg = np.full(n, -1, dtype=np.int64)
        v4_pos: list[int] = []
        v4_raw: list[bytes] = []
        v6_pos: list[int] = []
        v6_raw: list[bytes] = []
        parsed = _parse_v4_batch(ips) if n else None
        if parsed is not None:
            # fast path: strict dotted quads parsed in numpy, the rest one by one
            keys4, ok4 = parsed
            p = np.flatnonzero(ok4)
            fam[p] = 4
            seg[p] = self._seg_v4(keys4[p])
            todo: Iterable[int] = np.flatnonzero(~ok4).tolist()
        else:
            todo = range(n)
        # general path: other types, IPv6, IPv4-mapped, blanks, invalid entries
        key = self._key
        pton6 = _PTON6
        for k in todo:
            ip = ips[k]
            try:
                raw = pton6(ip)  # the common case here: an IPv6 string
            except (OSError, TypeError):
                pass
            else:
                if raw[:12] != _MAPPED_PREFIX:
                    v6_pos.append(k)
                    v6_raw.append(raw)
                    continue
            try:
                f, v = key(ip)
            except (OSError, ValueError):
                continue
            if f == 4:
                v4_pos.append(k)
                v4_raw.append(v.to_bytes(4, "big"))
            else:
                v6_pos.append(k)
                v6_raw.append(v.to_bytes(16, "big"))
        if v4_pos:
            keys = np.frombuffer(b"".join(v4_raw), dtype=">u4").astype(np.uint32)
            p = np.asarray(v4_pos, dtype=np.int64)
            fam[p] = 4
            seg[p] = self._seg_v4(keys)
        if v6_pos:
            keys = np.frombuffer(b"".join(v6_raw), dtype="S16")
            p = np.asarray(v6_pos, dtype=np.int64)
            fam[p] = 6
            seg[p] = self._seg_v6(keys)
        return fam, seg

    def lookup_many(self, ips: Iterable[Any]) -> list[AsnRecord | None]:
        """:meth:`lookup` for a batch (one vectorised search per family; one
        record per distinct range); malformed addresses give None instead of
        raising."""
        ips = ips if isinstance(ips, Sequence) else list(ips)
        fam, seg = self._segments(ips)
        n4 = len(self._v4_start)
        key = np.where(seg < 0, -1, np.where(fam == 6, seg + n4, seg))
        uniq, inv = np.unique(key, return_inverse=True)
        recs: list[AsnRecord | None] = []
        if len(uniq) and uniq[0] < 0:
            recs.append(None)
            uniq = uniq[1:]
        u4 = uniq[uniq < n4]
        u6 = uniq[uniq >= n4] - n4
        if len(u4):
            recs.extend(self._records(4, u4))
        if len(u6):
            recs.extend(self._records(6, u6))
        return [recs[i] for i in inv.tolist()]

    def asn_many(self, ips: Iterable[Any]) -> np.ndarray:
        """Origin AS numbers of a batch as an int64 array (0 = no route / invalid);
        the fastest path, no record objects."""
        ips = ips if isinstance(ips, Sequence) else list(ips)
        fam, seg = self._segments(ips)
        out = np.zeros(len(ips), dtype=np.int64)
        a = self._a
        for f in (4, 6):
            m = (fam == f) & (seg >= 0)
            if m.any():
                rows = a[f"v{f}_seg_row"][seg[m]]
                out[m] = a["rec_asn"][a[f"v{f}_row_rec"][rows]]
        return out

    def asn_v4_ints(self, keys: np.ndarray) -> np.ndarray:
        """Origin AS numbers (0 = none) of IPv4 addresses given as integers."""
        seg = self._seg_v4(np.asarray(keys, dtype=np.uint32))
        out = np.zeros(len(seg), dtype=np.int64)
        m = seg >= 0
        out[m] = self._a["rec_asn"][self._a["v4_row_rec"][self._a["v4_seg_row"][seg[m]]]]
        return out


# ---------------------------------------------------------------- staleness


_parse_when = as_datetime  # the one reader of timestamps (stekker.dates)


def stale_warning(table: "AsnTable | dict | None", now: datetime | float | None = None,
                  max_age_days: float = 45) -> str | None:
    """A one-line warning when the IP-to-ASN data is missing or older than
    ``max_age_days`` (age of the data's publication date, else of the import);
    None when fresh.  ``table`` may also be an ``info`` dict."""
    from stekker.text import Message

    if table is None:
        return Message("asn_missing", "no IP-to-ASN data: web hosting cannot be attributed by IP address; "
                       "run `stekker data update` (or `stekker data import FILE`)")
    info = table if isinstance(table, dict) else table.info
    now_dt = _parse_when(now) or datetime.now(timezone.utc)
    when = _parse_when(info.get("data_date")) or _parse_when(info.get("imported_at"))
    name = repr(info.get("name"))
    if when is None:
        return Message("asn_undated", f"IP-to-ASN data {name} has no date; run `stekker data update` to refresh",
                       name=name)
    age = (now_dt - when).total_seconds() / 86400
    if age <= max_age_days:
        return None
    day, limit = when.date().isoformat(), f"{max_age_days:g}"
    return Message("asn_stale", f"IP-to-ASN data {name} is {int(age)} days old (from {day}, "
                   f"limit {limit} days); routing changes, so run `stekker data update` to refresh",
                   name=name, age=int(age), date=day, limit=limit)
