"""Input: the list of domains to scan (issue #2, item 2).

Two formats:

* ``.txt`` (and any file that does not look like CSV): one domain per line;
  ``#`` starts a comment (whole line or after the name); blank lines are
  skipped.
* ``.csv`` / ``.tsv``: a header row with a ``domain`` column and optionally
  ``organisation`` (also ``organization``, ``organisatie``, ``naam``,
  ``name``, ``agency``), ``sector`` (also ``category``, ``categorie``,
  ``type``, ``domain type``) and ``hosts`` (extra host names of that
  organisation, separated by spaces, ``;`` or ``,``).  The delimiter is
  detected among ``,``, ``;`` (Excel in Dutch/European locales) and tab.
  A CSV whose first cell is already a valid domain name has no header; its
  columns are then taken as domain, organisation, sector, hosts.  A header
  row without a domain column is refused.

Encodings: UTF-8 (with or without BOM), UTF-16 (with BOM, or BOM-less when
the NUL-byte pattern is unambiguous); when the file is not valid UTF-8 it is
read as Windows-1252 (or ISO-8859-1 when it has bytes undefined in 1252) and
an ``encoding`` issue says so, naming the first line that is not UTF-8.
Binary files, spreadsheets (``.xlsx``/``.xls``) and broken UTF-16 are
refused with a clear :class:`InputError`.

Names are normalised (:func:`normalise_domain`): surrounding whitespace,
a URL's scheme/port/path, a trailing dot and letter case are removed,
internationalised names become A-labels (IDNA 2008 with UTS #46 mapping),
and a leading ``www.`` label is dropped (the scan asks ``www.<domain>``
itself; the input is the organisation's domain, and web-address columns
usually carry ``www.``).  ``input_name`` keeps the text as written.
Rejected, each reported with its line number and reason: IP addresses,
single labels, labels over 63 or names over 253 octets, characters outside
letters/digits/hyphen, names IDNA 2008 does not allow (emoji, ...), e-mail
addresses, and public suffixes (``nl``, ``co.uk``, ``gov.nl``, ``github.io``:
no organisation's domain).  A name under a TLD the public-suffix list does
not know is kept, with an ``unknown_tld`` note.

Duplicates (the same normalised domain on several lines) are merged: one
target keeps every organisation, sector, host and line number, and each
repeat is reported as a ``duplicate`` issue (a note, not an error).

Streaming: :func:`read_targets` reads the file once to detect encoding and
dialect and compute its SHA-256, and parses up to the first valid row (a file
without any valid row raises :class:`InputError`).  Iterating the returned
:class:`TargetFile` then streams the rows in input order; a repeat of an
earlier domain is yielded as a ``Target`` with ``duplicate=True`` carrying
that line's additions, for the consumer to merge
(:meth:`stekker.store.Store.add_targets` does).  Only the set of seen domains
is kept in memory.  :meth:`TargetFile.merged` gives the fully merged list
for small inputs.

Size (over 400 lines on purpose): name normalisation (IDNA, URLs, public
suffixes), reading CSV/text and detecting encoding and dialect keep one
promise together: every input line becomes a target or a listed issue.  The
seam if it grows: normalisation vs file reading.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import ipaddress
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import urlsplit

from stekker.datasets import suffix_list
from stekker.i18n import N_, Said, _, os_error, said_again, shown, translate

__all__ = [
    "InputError",
    "InputIssue",
    "Target",
    "TargetFile",
    "NameProblem",
    "read_targets",
    "iter_targets",
    "normalise_domain",
    "normalise_host",
    "REJECTING_KINDS",
]

# Issue kinds that drop the row; the others are notes (the row is kept).
REJECTING_KINDS = frozenset({"invalid", "ip_address", "public_suffix", "malformed", "missing_domain"})


class InputError(Exception):
    """The input file cannot be used at all (no valid row, undecodable, ...): its message is shown to
    the user (in the user's language; the input issues' kinds and reasons are the stored ones, in
    English)."""

    def __init__(self, message: str, issues: list | None = None):
        super().__init__(message)
        self.issues = list(issues or [])


@dataclass(slots=True)
class InputIssue:
    line: int | None
    raw: str | None
    kind: str  # see REJECTING_KINDS; notes: duplicate, invalid_host, unknown_tld, encoding, truncated
    reason: str

    @property
    def rejected(self) -> bool:
        return self.kind in REJECTING_KINDS

    def to_dict(self) -> dict:
        return {"line": self.line, "raw": self.raw, "kind": self.kind, "reason": self.reason}

    def said(self) -> Said:
        """The issue as a message: English (``str``) and in the user's language (:func:`shown`)."""
        raw = f" {self.raw!r}" if self.raw else ""
        if self.line is None:
            return Said(N_("file:{raw} {reason}"), raw=raw, reason=self.reason)
        return Said(N_("line {line}:{raw} {reason}"), line=self.line, raw=raw, reason=self.reason)

    def __str__(self) -> str:
        return str(self.said())


@dataclass(slots=True)
class Target:
    domain: str  # normalised, A-label form
    input_name: str | None = None  # as written (first occurrence)
    organisations: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)  # normalised extra host names
    lines: list[int] = field(default_factory=list)  # input line numbers
    duplicate: bool = False  # a repeat: merge into the earlier target of this domain

    def merge(self, other: "Target") -> None:
        for mine, theirs in (
            (self.organisations, other.organisations),
            (self.sectors, other.sectors),
            (self.hosts, other.hosts),
        ):
            for x in theirs:
                if x not in mine:
                    mine.append(x)
        merge_lines(self.lines, other.lines)


def merge_lines(mine: list, theirs: list) -> list:
    """Add the line numbers of a repeat: a later line is new and goes at the end without a search
    (a search made merging N repeats of one domain take N² steps: 300,000 lines ran for minutes)."""
    for x in theirs:
        if not mine or (isinstance(x, int) and isinstance(mine[-1], int) and x > mine[-1]) or x not in mine:
            mine.append(x)
    return mine


# -- name normalisation ---------------------------------------------------------


# the kinds of input issues (stored as these codes); a command shows them in the user's language
ISSUE_KINDS = {
    "malformed": N_("malformed"), "missing_domain": N_("missing_domain"), "invalid": N_("invalid"),
    "ip_address": N_("ip_address"), "public_suffix": N_("public_suffix"), "unknown_tld": N_("unknown_tld"),
    "invalid_host": N_("invalid_host"), "duplicate": N_("duplicate"), "truncated": N_("truncated"),
    "encoding": N_("encoding"),
}


def issue_kind(kind: str) -> str:
    """An input issue's kind in the user's language (the stored code in English)."""
    return translate(ISSUE_KINDS[kind]) if kind in ISSUE_KINDS else kind


# the reasons of input issues as stored (English, made from these templates): a command shows them in
# the user's language (issue_reason); a reason that wraps another comes first, so that both are read
ISSUE_REASONS = (
    N_("{reason} (one domain per line in a .txt file; for columns use a .csv with a 'domain' header)"),
    N_("host skipped, row kept: {reason}"),
    N_("not a valid URL: {error}"),
    N_("a URL without a host name"),
    N_("name is {n} characters long; at most 253 allowed"),
    N_("empty label (two dots in a row, or a leading dot)"),
    N_("label {label}... is {n} characters; at most 63 allowed"),
    N_("underscore ('_') is not allowed in a domain name"),
    N_("contains whitespace: one domain per line/cell"),
    N_("character {char} is not allowed in a domain name (read as a URL, its host {name} has no known top-level "
       "domain)"),
    N_("character {char} is not allowed in a domain name"),
    N_("label {label!r} starts or ends with a hyphen"),
    N_("not a valid domain name"),
    N_("too long for DNS: {error}"),
    N_("not a valid internationalised name (IDNA 2008): {error}"),
    N_("empty name"),
    N_("an e-mail address, not a domain name"),
    N_("an IP address, not a domain name"),
    N_("{name} is a top-level domain (a public suffix), not an organisation's domain"),
    N_("a single label, not a domain name (add the top-level domain)"),
    N_("the top-level label is all digits"),
    N_("{name} is a public suffix, not an organisation's domain"),
    N_("invalid A-label {label!r}: not in canonical form"),
    N_("invalid A-label {label!r}: {error}"),
    N_('unterminated quoted field (a " without its closing ")'),
    N_('a cell is longer than {limit:,} characters (perhaps a " without its closing ")'),
    N_('text after the closing " of a quoted cell (a " inside a quoted cell is written "")'),
    N_("unreadable CSV row: {error}"),
    N_("no domain in this row"),
    N_("top-level domain .{tld} is not in the public-suffix list; kept"),
    N_("duplicate of line {first} (as {domain}); merged into one target"),
    N_("duplicate of line {first}; merged into one target"),
    N_("{n} more issues not listed one by one ({kinds}); only the first {cap} are kept"),
    N_("file is not valid UTF-8 (first at line {line}); read as {encoding}. Save it as UTF-8 to be sure names and "
       "organisations are read right"),
)


def issue_reason(reason: object) -> str:
    """A stored input issue's reason (English) in the user's language; a reason stekker does not
    recognise (an older stekker's words) as it is stored."""
    return said_again(reason, ISSUE_REASONS, nested=("reason",), numbers=("n", "first", "cap", "limit", "line"))


class NameProblem(ValueError):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_NAME_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")
_STRIP = " \t\r\n\f\v\u00a0\u200b\u2060\ufeff\"'<>"


# The public suffix list in force (downloaded by `stekker data update`, else
# bundled): one function for every stage, see stekker.datasets.
_public_suffix_list = suffix_list


def _show(ch: str) -> str:
    if ch.isprintable() and not ch.isspace():
        return repr(ch)
    return f"U+{ord(ch):04X}"


def _strip_url(s: str) -> str:
    """The host part of a URL-ish input (scheme, userinfo, port, path, query dropped)."""
    if "://" in s:
        try:
            host = urlsplit(s).hostname
        except ValueError as e:
            raise NameProblem("invalid", Said(N_("not a valid URL: {error}"), error=str(e))) from None
        if not host:
            raise NameProblem("invalid", Said(N_("a URL without a host name")))
        return host
    for sep in ("/", "?"):
        if sep in s:
            s = s.split(sep, 1)[0]
    if s.count(":") == 1:  # host:port (an IPv6 address has several colons)
        host, port = s.split(":")
        if port.isdigit():
            s = host
    return s


def _check_ascii_name(name: str) -> None:
    """Detailed reason for an ASCII name that failed the fast regex."""
    if len(name) > 253:
        raise NameProblem("invalid", Said(N_("name is {n} characters long; at most 253 allowed"), n=len(name)))
    for label in name.split("."):
        if label == "":
            raise NameProblem("invalid", Said(N_("empty label (two dots in a row, or a leading dot)")))
        if len(label) > 63:
            raise NameProblem("invalid", Said(N_("label {label}... is {n} characters; at most 63 allowed"), label=label[:20],
                                              n=len(label)))
        bad = next((c for c in label if not (c.isalnum() or c == "-") or not c.isascii()), None)
        if bad is not None:
            if bad == "_":
                raise NameProblem("invalid", Said(N_("underscore ('_') is not allowed in a domain name")))
            if bad.isspace():
                raise NameProblem("invalid", Said(N_("contains whitespace: one domain per line/cell")))
            raise NameProblem("invalid", Said(N_("character {char} is not allowed in a domain name"), char=_show(bad)))
        if label.startswith("-") or label.endswith("-"):
            raise NameProblem("invalid", Said(N_("label {label!r} starts or ends with a hyphen"), label=label))
    raise NameProblem("invalid", Said(N_("not a valid domain name")))  # pragma: no cover


def _to_alabels(name: str) -> str:
    """``name`` (lowercase, any script) as A-labels, with IDNA 2008 checks."""
    import idna

    try:
        out = idna.encode(name, uts46=True, std3_rules=True, transitional=False).decode("ascii")
    except idna.IDNAError as e:
        msg = str(e)
        if "too long" in msg.lower():
            raise NameProblem("invalid", Said(N_("too long for DNS: {error}"), error=msg)) from None
        raise NameProblem("invalid", Said(N_("not a valid internationalised name (IDNA 2008): {error}"), error=msg)) from None
    except UnicodeError as e:
        raise NameProblem("invalid", Said(N_("not a valid internationalised name (IDNA 2008): {error}"), error=str(e))) from None
    return out.lower()


def _normalise(raw: str, *, strip_www: bool) -> tuple[str, bool]:
    """(normalised name, TLD unknown to the public-suffix list)"""
    s = raw.strip(_STRIP)
    if not s:
        raise NameProblem("invalid", Said(N_("empty name")))
    if "@" in s and "://" not in s:
        raise NameProblem("invalid", Said(N_("an e-mail address, not a domain name")))
    # "example.nl/contact" is a URL without its scheme; "B.6v?$eW" is junk that
    # would become "b.6v" by the same cut: only a known suffix makes it a URL
    cut = next((c for c in "/?" if c in s), None) if "://" not in s else None
    s = _strip_url(s)
    s = s.strip(_STRIP)
    # IP addresses (also [v6] and v4 with a trailing dot)
    candidate = s.strip("[]").rstrip(".")
    is_ip = False
    if ":" in candidate or candidate.replace(".", "").isdigit():
        try:
            ipaddress.ip_address(candidate.split("%", 1)[0])
            is_ip = True
        except ValueError:
            pass
    if is_ip:
        raise NameProblem("ip_address", Said(N_("an IP address, not a domain name")))
    name = s.lower()
    if name.endswith("."):
        name = name[:-1]
    if not name:
        raise NameProblem("invalid", Said(N_("empty name")))
    if not name.isascii():
        name = _to_alabels(name)
    if not _NAME_RE.match(name):
        if "." not in name and _LABEL_RE.match(name):
            if _public_suffix_list().publicsuffix(name, accept_unknown=False) == name:
                raise NameProblem("public_suffix", Said(N_("{name} is a top-level domain (a public suffix), not an organisation's "
                                                       "domain"), name=name))
            raise NameProblem("invalid", Said(N_("a single label, not a domain name (add the top-level domain)")))
        _check_ascii_name(name)
    if len(name) > 253:
        raise NameProblem("invalid", Said(N_("name is {n} characters long; at most 253 allowed"), n=len(name)))
    labels = name.split(".")
    if labels[-1].isdigit():
        raise NameProblem("invalid", Said(N_("the top-level label is all digits")))
    for label in labels:
        if label.startswith("xn--") or label[2:4] == "--":
            _check_alabel(label)
    if strip_www and labels[0] == "www" and len(labels) > 2:
        rest = name[4:]
        if not _is_public(rest):
            name = rest
    suffix = _public_suffix_list().publicsuffix(name, accept_unknown=False)
    if suffix == name:
        raise NameProblem("public_suffix", Said(N_("{name} is a public suffix, not an organisation's domain"), name=name))
    if cut is not None and suffix is None:
        raise NameProblem("invalid", Said(N_("character {char} is not allowed in a domain name (read as a URL, its "
                                             "host {name} has no known top-level domain)"), char=_show(cut), name=name))
    return name, suffix is None


def _check_alabel(label: str) -> None:
    if not label.startswith("xn--"):
        # IDNA 2008 reserves "??--" for A-labels; plain LDH names with it exist
        # in DNS though, so only xn-- labels are checked.
        return
    import idna

    try:
        canonical = idna.encode(idna.decode(label)).decode("ascii") == label
    except (idna.IDNAError, UnicodeError) as e:
        raise NameProblem("invalid", Said(N_("invalid A-label {label!r}: {error}"), label=label, error=str(e))) from None
    if not canonical:
        raise NameProblem("invalid", Said(N_("invalid A-label {label!r}: not in canonical form"), label=label))


def _is_public(name: str) -> bool:
    return _public_suffix_list().is_public(name)


def normalise_domain(raw: str) -> str:
    """The normalised A-label form of an input domain, or :class:`NameProblem`."""
    return _normalise(raw, strip_www=True)[0]


def normalise_host(raw: str) -> str:
    """Like :func:`normalise_domain` but keeps a leading ``www.``."""
    return _normalise(raw, strip_www=False)[0]


def unknown_tld(name: str) -> bool:
    return _public_suffix_list().publicsuffix(name, accept_unknown=False) is None


# -- file reading -------------------------------------------------------------------

DOMAIN_COLUMNS = ("domain", "domains", "domain name", "domainname", "domein", "domeinnaam", "domeinen")
ORG_COLUMNS = (
    "organisation", "organization", "organisatie", "organisation name", "organization name",
    "organisatienaam", "naam", "name", "agency", "org",
)
SECTOR_COLUMNS = ("sector", "category", "categorie", "type", "domain type", "sectors")
HOSTS_COLUMNS = ("hosts", "host", "hostnames", "extra hosts", "host names")

_DELIMS = {",": "comma", ";": "semicolon", "\t": "tab"}
_CSV_EXT = {".csv", ".tsv"}
_TXT_EXT = {".txt", ".lst", ".list"}
_MAX_RECORD_LINES = 50  # a quoted CSV field spanning more lines is a missing closing quote
_MAX_RAW = 200
MAX_ISSUES = 100_000  # issues listed one by one per file; the rest are counted per kind
_CHUNK = 1 << 20


def _norm_header(h: str) -> str:
    return re.sub(r"[\s_\-]+", " ", h.strip().strip("\ufeff").strip().lower())


def _find_col(header: list[str], names: Iterable[str]) -> int | None:
    for n in names:
        if n in header:
            return header.index(n)
    return None


def _cell_text(s: str) -> str:
    s = " ".join(s.split())
    if not s.isprintable():
        s = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}" for c in s)
    return s


def _raw(s: str) -> str:
    s = s.rstrip("\r\n")
    return s if len(s) <= _MAX_RAW else s[:_MAX_RAW] + "..."


_HOST_SPLIT = re.compile(r"[\s;,]+")


def csv_records(lines: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str] | None, str, Said | None]]:
    """(first line, row or None, raw text, problem) of every CSV record of ``lines`` (a text's
    lines with their line ends, as ``open(..., newline="")`` gives them).  A missing closing
    quote does not swallow the rest of the file: the record is reported and reading restarts on
    the next line (a quoted field spanning more than 50 lines counts as one); a field over the
    csv module's size limit, or text after a closing quote, is reported as its record.  The one
    CSV reader of the scan's input and the audit's inventory."""
    line_no = 0
    source: Iterator[str] = iter(lines)

    class _Runaway(Exception):
        pass

    while True:
        buf: list[str] = []

        def tap(src: Iterator[str], buf: list[str] = buf) -> Iterator[str]:
            for ln in src:
                buf.append(ln)
                if len(buf) > _MAX_RECORD_LINES:
                    raise _Runaway
                yield ln

        reader = csv.reader(tap(source), delimiter=delimiter, quotechar='"', strict=True)
        restart: list[str] | None = None
        while True:
            buf.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, _Runaway) as e:
                start = line_no + 1
                runaway = isinstance(e, _Runaway) or "unexpected end of data" in str(e)
                if runaway and len(buf) > 1:
                    yield start, None, buf[0], Said(N_('unterminated quoted field (a " without its closing ")'))
                    line_no += 1
                    restart = buf[1:]
                    break
                reason = (Said(N_('unterminated quoted field (a " without its closing ")')) if runaway
                          else _csv_error(e))
                yield start, None, "".join(buf), reason
                line_no += max(1, len(buf))
                continue
            start = line_no + 1
            line_no += len(buf)
            yield start, row, "".join(buf), None
        source = itertools.chain(restart, source)


def _csv_error(e: csv.Error) -> Said:
    """Why the csv module refused a record, in words a user can act on."""
    text = str(e)
    if text.startswith("field larger than field limit"):
        return Said(N_('a cell is longer than {limit:,} characters (perhaps a " without its closing ")'),
                    limit=csv.field_size_limit())
    if text.endswith("expected after '\"'"):
        return Said(N_('text after the closing " of a quoted cell (a " inside a quoted cell is written "")'))
    return Said(N_("unreadable CSV row: {error}"), error=text)


class TargetFile:
    """An opened input file: format, encoding, dialect, hash, and a stream of targets.

    ``issues`` holds file-level issues (encoding) from opening, plus the row
    issues of the most recent complete or ongoing iteration.  ``stats`` counts
    rows, targets, duplicates and rejected rows of that iteration."""

    def __init__(self, path: Path, fmt: str, encoding: str, sha256: str, size: int):
        self.path = path
        self.format = fmt  # "txt" | "csv"
        self.encoding = encoding  # python codec name actually used
        self.sha256 = sha256
        self.size = size
        self.delimiter: str | None = None
        self.header: list[str] | None = None  # the header row as written (CSV with header)
        self.columns: dict[str, int] = {}  # role -> column index (CSV)
        self.file_issues: list[InputIssue] = []
        self.issues: list[InputIssue] = []
        self.stats: dict[str, int] = {}
        self.issue_counts: dict[str, int] = {}  # every issue per kind (the list stops at MAX_ISSUES)

    @property
    def dialect(self) -> str | None:
        """``comma``, ``semicolon`` or ``tab`` for CSV; None for text files."""
        return _DELIMS.get(self.delimiter) if self.delimiter else None

    def __repr__(self) -> str:
        return f"TargetFile({str(self.path)!r}, format={self.format}, encoding={self.encoding}, dialect={self.dialect})"

    def __iter__(self) -> Iterator[Target]:
        return self.iter_targets()

    @property
    def targets(self) -> Iterator[Target]:
        """A fresh stream of the targets (same as iterating the file)."""
        return self.iter_targets()

    # -- rows -------------------------------------------------------------------------
    def _open_text(self):
        return open(self.path, encoding=self.encoding, newline="")

    def _txt_rows(self) -> Iterator[tuple[int, str | None, dict, str | None]]:
        """(line, domain cell, extra cells, problem) for a text file."""
        with self._open_text() as fh:
            for n, line in enumerate(fh, 1):
                text = line.rstrip("\r\n")
                body = text.split("#", 1)[0] if "#" in text else text
                if not body.strip(_STRIP):
                    continue
                yield n, body, {}, None, text

    def _csv_records(self, fh) -> Iterator[tuple[int, list[str] | None, str, Said | None]]:
        return csv_records(fh, self.delimiter or ",")

    def _csv_rows(self) -> Iterator[tuple[int, str | None, dict, str | None, str]]:
        cols = self.columns
        dcol = cols["domain"]
        width = len(self.header) if self.header is not None else None
        with self._open_text() as fh:
            for line, row, raw, problem in self._csv_records(fh):
                if line < self._first_data_line:  # the header and comments above it
                    continue
                if problem is not None:
                    yield line, None, {}, problem, raw
                    continue
                if not row or all(not c.strip() for c in row):
                    continue
                if row[0].lstrip().startswith("#") and (dcol == 0 or not (dcol < len(row) and row[dcol].strip())):
                    continue  # a comment row
                if width is not None and len(row) > width and any(c.strip() for c in row[width:]):
                    yield line, None, {}, (
                        f"{len(row)} fields where the header has {width}: quote fields that contain "
                        f"the delimiter {self.delimiter!r}"
                    ), raw
                    continue
                cell = row[dcol] if dcol < len(row) else ""
                extra = {}
                for role in ("organisation", "sector", "hosts"):
                    i = cols.get(role)
                    if i is not None and i < len(row):
                        extra[role] = row[i]
                yield line, cell, extra, None, raw

    def _rows(self):
        return self._csv_rows() if self.format == "csv" else self._txt_rows()

    # -- targets --------------------------------------------------------------------
    def iter_targets(self) -> Iterator[Target]:
        """Stream targets in input order (repeats flagged ``duplicate=True``).
        Raises :class:`InputError` at the end when no row was valid."""
        issues = self.issues = list(self.file_issues)
        overflow: dict[str, int] = {}
        cap = MAX_ISSUES

        def note(issue: InputIssue) -> None:  # listed up to the cap, then counted per kind
            counts[issue.kind] = counts.get(issue.kind, 0) + 1
            if len(issues) < cap:
                issues.append(issue)
            else:
                overflow[issue.kind] = overflow.get(issue.kind, 0) + 1

        stats = self.stats = {"rows": 0, "targets": 0, "duplicates": 0, "rejected": 0, "invalid_hosts": 0}
        counts = self.issue_counts = {}  # kind -> every issue of that kind, listed or not
        for i in issues:
            counts[i.kind] = counts.get(i.kind, 0) + 1
        seen: dict[str, int] = {}
        check_tld = self._check_tld
        for line, cell, extra, problem, raw in self._rows():
            stats["rows"] += 1
            if problem is not None:
                note(InputIssue(line, _raw(raw), "malformed", problem))
                stats["rejected"] += 1
                continue
            if cell is None or not cell.strip(_STRIP):
                note(InputIssue(line, _raw(raw), "missing_domain", Said(N_("no domain in this row"))))
                stats["rejected"] += 1
                continue
            input_name = cell.strip(_STRIP)
            try:
                domain, unknown = _normalise(input_name, strip_www=True)
            except NameProblem as p:
                reason = p.reason
                if self.format == "txt" and any(d in input_name for d in _DELIMS):
                    reason = Said(N_("{reason} (one domain per line in a .txt file; for columns use a .csv with a "
                                     "'domain' header)"), reason=reason)
                note(InputIssue(line, _raw(input_name), p.kind, reason))
                stats["rejected"] += 1
                continue
            if check_tld and unknown:
                note(
                    InputIssue(line, _raw(input_name), "unknown_tld",
                               Said(N_("top-level domain .{tld} is not in the public-suffix list; kept"),
                                    tld=domain.rsplit('.', 1)[-1]))
                )
            orgs, sectors, hosts = [], [], []
            org = _cell_text(extra.get("organisation", ""))
            if org:
                orgs.append(org)
            sec = _cell_text(extra.get("sector", ""))
            if sec:
                sectors.append(sec)
            for h in _HOST_SPLIT.split(extra.get("hosts", "") or ""):
                if not h.strip(_STRIP):
                    continue
                try:
                    host = _normalise(h, strip_www=False)[0]
                except NameProblem as p:
                    note(InputIssue(line, _raw(h), "invalid_host", Said(N_("host skipped, row kept: {reason}"),
                                                                        reason=p.reason)))
                    stats["invalid_hosts"] += 1
                    continue
                if host not in hosts:
                    hosts.append(host)
            first = seen.get(domain)
            if first is not None:
                stats["duplicates"] += 1
                if domain == input_name.lower().rstrip("."):
                    why = Said(N_("duplicate of line {first}; merged into one target"), first=first)
                else:
                    why = Said(N_("duplicate of line {first} (as {domain}); merged into one target"), first=first,
                               domain=domain)
                note(InputIssue(line, _raw(input_name), "duplicate", why))
                yield Target(domain, input_name, orgs, sectors, hosts, [line], duplicate=True)
                continue
            seen[domain] = line
            stats["targets"] += 1
            yield Target(domain, input_name, orgs, sectors, hosts, [line])
        if overflow:
            kinds = ", ".join(f"{n} {k}" for k, n in sorted(overflow.items()))
            issues.append(
                InputIssue(None, None, "truncated",
                           Said(N_("{n} more issues not listed one by one ({kinds}); only the first {cap} are kept"),
                                n=sum(overflow.values()), kinds=kinds, cap=cap))
            )
        if stats["targets"] == 0:
            err = InputError(_no_valid_message(self, stats, issues), issues)
            err.issue_counts = dict(counts)
            raise err

    def merged(self) -> list[Target]:
        """All targets, duplicates merged, in input order (holds the list in memory)."""
        out: dict[str, Target] = {}
        for t in self.iter_targets():
            cur = out.get(t.domain)
            if cur is None:
                t.duplicate = False
                out[t.domain] = t
            else:
                cur.merge(t)
        return list(out.values())

    # -- set up by read_targets ---------------------------------------------------------
    _header_line = 0
    _first_data_line = 1
    _check_tld = True


def _no_valid_message(tf: TargetFile, stats: dict, issues: list[InputIssue]) -> str:
    """The message of an input without a valid row (shown, not stored: the issues' reasons are the
    stored ones, in English)."""
    if stats["rows"] == 0:
        if tf.header is not None:
            return _("{path}: a header but no data rows").format(path=tf.path)
        return _("{path}: no domains (empty, or only comments)").format(path=tf.path)
    shown = [i for i in issues if i.rejected][:5]
    lines = "; ".join(_issue_text(i) for i in shown)
    more = stats["rejected"] - len(shown)
    if more > 0:
        return _("{path}: no valid domain in {rows} row(s): {issues}; and {more} more").format(
            path=tf.path, rows=stats["rows"], issues=lines, more=more)
    return _("{path}: no valid domain in {rows} row(s): {issues}").format(path=tf.path, rows=stats["rows"],
                                                                         issues=lines)


def _issue_text(i: InputIssue) -> str:
    """An input issue in a message, in the user's language."""
    return shown(i.said())


# -- opening: encoding, format, dialect, hash --------------------------------------------


_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")


# the first bytes of a spreadsheet file itself: .xlsx/.ods (zip) and .xls (OLE)
SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def text_encoding(head: bytes) -> str | None:
    """The codec a text's first bytes (up to 1 MiB) show: ``utf-8-sig`` (a UTF-8 BOM),
    ``utf-16`` (a UTF-16 BOM: Excel's "Unicode text"), ``utf-16-le`` / ``utf-16-be`` (no BOM,
    but NUL bytes in every other byte, unambiguously), else ``utf-8`` (the caller falls back to
    an 8-bit code page when it does not decode); None for NUL bytes in no UTF-16 pattern (a
    binary file).  The one rule of the scan's input and the audit's inventory."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4 and b"\x00" in head:
        even, odd = head[0:2000:2], head[1:2000:2]
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
        return None
    if b"\x00" in head:
        return None
    return "utf-8"


def _scan_bytes(path: Path) -> tuple[str, int, str, list[InputIssue]]:
    """One pass over the bytes: SHA-256, size, and the encoding to read with."""
    h = hashlib.sha256()
    size = 0
    issues: list[InputIssue] = []
    with open(path, "rb") as fh:
        head = fh.read(_CHUNK)
        if head.startswith(SPREADSHEET_MAGIC):
            raise InputError(
                _("{path}: a spreadsheet workbook (.xlsx/.xls), not text; save it as CSV "
                  "(UTF-8) with a 'domain' column").format(path=path)
            )
        enc = text_encoding(head)
        if enc is None:
            raise InputError(_("{path}: a binary file (NUL bytes), not a text or CSV list of domains").format(path=path))
        dec = codecs.getincrementaldecoder(enc)("strict")
        bad_line = None
        newlines = 0
        cp1252_ok = True
        chunk = head
        utf16 = enc.startswith("utf-16")
        while chunk:
            h.update(chunk)
            size += len(chunk)
            if bad_line is None:
                try:
                    dec.decode(chunk)
                except UnicodeDecodeError as e:
                    if utf16:
                        raise InputError(_("{path}: not valid UTF-16 text ({reason} near byte {byte})").format(
                            path=path, reason=e.reason, byte=size - len(chunk) + e.start)) from None
                    bad_line = newlines + chunk.count(b"\n", 0, e.start) + 1
            if cp1252_ok and _CP1252_UNDEFINED.search(chunk):
                cp1252_ok = False
            if not utf16:
                if b"\x00" in chunk:
                    raise InputError(_("{path}: a binary file (NUL bytes), not a text or CSV list of domains").format(path=path))
                newlines += chunk.count(b"\n")
            chunk = fh.read(_CHUNK)
        if bad_line is None:
            try:
                dec.decode(b"", final=True)
            except UnicodeDecodeError as e:
                if utf16:
                    raise InputError(_("{path}: not valid UTF-16 text (truncated: {reason})").format(path=path,
                                                                                            reason=e.reason)) from None
                bad_line = newlines + 1
    if bad_line is not None:
        enc = "cp1252" if cp1252_ok else "latin-1"
        name = "Windows-1252" if cp1252_ok else "ISO-8859-1"
        issues.append(
            InputIssue(bad_line, None, "encoding",
                       Said(N_("file is not valid UTF-8 (first at line {line}); read as {encoding}. Save it as UTF-8 to "
                               "be sure names and organisations are read right"), line=bad_line, encoding=name))
        )
    return h.hexdigest(), size, enc, issues


def _first_lines(path: Path, enc: str, n: int = 50) -> list[tuple[int, str]]:
    out = []
    with open(path, encoding=enc, newline="") as fh:
        for i, line in enumerate(fh, 1):
            if line.strip() and not line.lstrip().startswith("#"):
                out.append((i, line))
                if len(out) >= n:
                    break
    return out


def _split(line: str, delim: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delim, quotechar='"'))
    except (csv.Error, StopIteration):
        return line.split(delim)


def _valid_domain(cell: str) -> bool:
    try:
        normalise_domain(cell)
        return True
    except NameProblem:
        return False


def _setup_csv(tf: TargetFile, lines: list[tuple[int, str]]) -> None:
    if not lines:
        tf.delimiter = ","
        tf.columns = {"domain": 0}
        return
    header_no, header_line = lines[0]
    header_line = header_line.rstrip("\r\n")
    present = [d for d in _DELIMS if d in header_line]
    with_domain = []
    for d in present or [","]:
        cells = [_norm_header(c) for c in _split(header_line, d)]
        if _find_col(cells, DOMAIN_COLUMNS) is not None:
            with_domain.append((len(cells), d, cells))
    if with_domain:
        with_domain.sort(key=lambda x: -x[0])
        best = [w for w in with_domain if w[0] == with_domain[0][0]]
        if len(best) > 1:
            delim = _sniff([ln for _n, ln in lines], [w[1] for w in best]) or best[0][1]
            cells = next(w[2] for w in best if w[1] == delim)
        else:
            _n, delim, cells = best[0]
        if not present:  # a one-column file: the delimiter is whatever the data uses
            delim = _sniff([ln for _n, ln in lines[1:]], list(_DELIMS)) or ","
        tf.delimiter = delim
        tf.header = _split(header_line, delim) if present else [header_line.strip()]
        tf._header_line = header_no
        tf._first_data_line = header_no + 1
        tf.columns = {"domain": _find_col(cells, DOMAIN_COLUMNS)}
        twice = [i for i, c in enumerate(cells) if c in DOMAIN_COLUMNS]
        if len(twice) > 1:  # the second one's names were never measured nor reported
            shown = ", ".join(_("{name!r} (column {n})").format(name=tf.header[i].strip(), n=i + 1) for i in twice)
            raise InputError(_("{path}: line {line}: more than one column holds domain names ({columns}); "
                               "stekker reads one: keep one 'domain' column, or put the others on lines of their "
                               "own").format(path=tf.path, line=header_no, columns=shown))
        for role, names in (("organisation", ORG_COLUMNS), ("sector", SECTOR_COLUMNS), ("hosts", HOSTS_COLUMNS)):
            i = _find_col(cells, names)
            if i is not None and i not in tf.columns.values():
                tf.columns[role] = i
        return
    # No domain column: a header-less file when the first cell is a domain name.
    for d in sorted(present or [","], key=lambda d: -len(_split(header_line, d))):
        cells = _split(header_line, d)
        if cells and _valid_domain(cells[0]):
            tf.delimiter = d
            tf.header = None
            tf._first_data_line = header_no
            tf.columns = {"domain": 0, "organisation": 1, "sector": 2, "hosts": 3}
            return
    shown = ", ".join(repr(c.strip()) for c in _split(header_line, present[0] if present else ","))
    raise InputError(
        _("{path}: line {line}: the header has no 'domain' column (found: {columns}); "
          "name the column with the domain names 'domain'").format(path=tf.path, line=header_no, columns=shown)
    )


def _sniff(lines: list[str], delims: list[str]) -> str | None:
    sample = "".join(lines[:50])
    if not sample:
        return None
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(delims)).delimiter
    except csv.Error:
        return None


def _detect_format(path: Path, lines: list[tuple[int, str]]) -> str:
    ext = path.suffix.lower()
    if ext in _CSV_EXT:
        return "csv"
    if ext in _TXT_EXT:
        return "txt"
    if lines:
        first = lines[0][1]
        if any(d in first for d in _DELIMS):
            return "csv"
    return "txt"


def read_targets(path: str | os.PathLike, *, check: bool = True) -> TargetFile:
    """Open an input file: detect format, encoding and CSV dialect, hash it,
    and (``check``) make sure it has at least one valid row.  Iterate the
    result to stream its targets.  Raises :class:`InputError`."""
    p = Path(path)
    if not p.exists():
        raise InputError(_("{path}: no such file").format(path=p))
    if p.is_dir():
        raise InputError(_("{path}: a directory, not a file").format(path=p))
    try:
        sha, size, enc, issues = _scan_bytes(p)
    except OSError as e:
        raise InputError(_("{path}: cannot read: {error}").format(path=p, error=os_error(e))) from None
    if size == 0:
        raise InputError(_("{path}: the file is empty").format(path=p))
    lines = _first_lines(p, enc)
    fmt = _detect_format(p, lines)
    tf = TargetFile(p, fmt, enc, sha, size)
    tf.file_issues = issues
    tf.issues = list(issues)
    if fmt == "csv":
        _setup_csv(tf, lines)
    if check:
        # Parse up to the first valid row; InputError (with all issues) when none.
        for _first in tf.iter_targets():
            break
        tf.issues = list(tf.file_issues)
        tf.stats = {}
    return tf


def iter_targets(path: str | os.PathLike) -> Iterator[Target]:
    """Stream the targets of an input file (see :class:`TargetFile`)."""
    return read_targets(path).iter_targets()
