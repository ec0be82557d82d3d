"""Reference data that changes over time: IP-to-ASN tables (iptoasn.com) and
the public suffix list (publicsuffix.org).

Everything lives in one *data dir*: ``$STEKKER_DATA_DIR``, else
``$XDG_DATA_HOME/stekker``, else ``~/.local/share/stekker``::

    manifest.json            what is here: name, source, version, dates, etag, sha256
    ip2asn-v4.tsv.gz         last good download (kept when a later one fails)
    ip2asn-v6.tsv.gz
    public_suffix_list.dat
    ipasn.npz                the lookup table built from the ip2asn files
                             (or from `stekker data import FILE`)

:func:`update` downloads with conditional requests (``If-None-Match`` /
``If-Modified-Since``; a ``304 Not Modified`` costs one round trip), writes
to a temporary file, validates and only then replaces the previous copy.
When a host cannot be reached it fails fast (``connect_timeout``, default 5
s), skips the other files of that host and says what stekker keeps using.
Only the standard library (urllib) is used.

Size (over 400 lines on purpose): downloading with provenance (the
manifest) and the public suffix list in force share the data dir and the
manifest; the IP-to-ASN table itself is :mod:`stekker.ipasn`, the data dir
:mod:`stekker.datadir`.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from stekker.datadir import default_data_dir  # re-exported: datasets.default_data_dir()
from stekker.dates import as_datetime
from stekker.i18n import _

__all__ = [
    "DEFAULT_SOURCES",
    "FILENAMES",
    "FetchResult",
    "UpdateReport",
    "data_date",
    "default_data_dir",
    "read_manifest",
    "records",
    "is_public_suffix",
    "psl",
    "psl_info",
    "public_suffix",
    "registrable_domain",
    "suffix_list",
    "update",
]

DEFAULT_SOURCES: dict[str, str] = {
    "ip2asn-v4": "https://iptoasn.com/data/ip2asn-v4.tsv.gz",
    "ip2asn-v6": "https://iptoasn.com/data/ip2asn-v6.tsv.gz",
    "psl": "https://publicsuffix.org/list/public_suffix_list.dat",
}
FILENAMES: dict[str, str] = {
    "ip2asn-v4": "ip2asn-v4.tsv.gz",
    "ip2asn-v6": "ip2asn-v6.tsv.gz",
    "psl": "public_suffix_list.dat",
}
IPASN_PARTS = ("ip2asn-v4", "ip2asn-v6")
TABLE_NAME = "ipasn"
MANIFEST = "manifest.json"
PSL_MARKER = "===BEGIN ICANN DOMAINS==="


def _dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def reference_files(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The files of the data dir that hold stekker's reference data (the IP-to-ASN table, its
    downloads, the public suffix list, the manifest): never an output (``check_output(protected=)``)."""
    from stekker.ipasn import DEFAULT_TABLE_FILE

    d = _dir(data_dir)
    return [d / name for name in (DEFAULT_TABLE_FILE, MANIFEST, *FILENAMES.values())]


def check_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """The data dir, refused (:class:`stekker.outputs.OutputError`) when stekker must not write into it:
    not a directory, or holding a file of a name stekker writes there that is not stekker's own."""
    from stekker.ipasn import DEFAULT_TABLE_FILE, AsnTable, AsnTableError
    from stekker.outputs import check_data_dir as check

    def is_table(path: Path) -> bool:
        try:
            return "cache_format" in AsnTable.read_info(path)
        except (OSError, AsnTableError, ValueError):
            return False

    return check(_dir(data_dir), manifest_name=MANIFEST, table_name=DEFAULT_TABLE_FILE,
                 downloads=FILENAMES.values(), is_table=is_table)


def _iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if ts is None else ts, timezone.utc).replace(microsecond=0).isoformat()


# ---------------------------------------------------------------- manifest


def read_manifest(data_dir: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """name -> entry (name, source, version, data_date, fetched_at, checked_at,
    path, etag, last_modified, size, sha256, ...); {} when there is none."""
    p = _dir(data_dir) / MANIFEST
    try:
        d = json.loads(p.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    ds = d.get("datasets") if isinstance(d, dict) else None
    return ds if isinstance(ds, dict) else {}


def _write_manifest(data_dir: Path, datasets: dict[str, dict[str, Any]]) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    p = data_dir / MANIFEST
    tmp = p.with_name(p.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps({"format": 1, "datasets": datasets}, indent=2, sort_keys=True) + "\n", "utf-8")
    os.replace(tmp, p)


def record(data_dir: str | os.PathLike | None, name: str, **entry: Any) -> dict[str, Any]:
    """Add or replace one manifest entry; returns it."""
    d = _dir(data_dir)
    ds = read_manifest(d)
    entry = {"name": name, **entry}
    ds[name] = entry
    _write_manifest(d, ds)
    return entry


def records(data_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Manifest entries shaped like the store's ``datasets`` table:
    name, source, version, fetched_at (epoch seconds), path."""
    out = []
    for name, e in sorted(read_manifest(data_dir).items()):
        when = e.get("fetched_at") or e.get("imported_at")
        dt = as_datetime(when) if when else None
        ts = dt.timestamp() if dt is not None else None
        out.append({"name": name, "source": e.get("source"), "version": e.get("version"),
                    "fetched_at": ts, "path": e.get("path")})
    return out


def register_table(data_dir: str | os.PathLike | None, table: Any) -> dict[str, Any]:
    """Save ``table`` (an :class:`stekker.ipasn.AsnTable`) as the default table
    of ``data_dir`` and record it in the manifest."""
    from stekker.ipasn import DEFAULT_TABLE_FILE

    d = check_data_dir(data_dir)
    path = table.save(d / DEFAULT_TABLE_FILE)
    info = table.info
    return record(d, TABLE_NAME, source=info.get("source"), version=info.get("version"),
                  data_date=info.get("data_date"), imported_at=info.get("imported_at"),
                  fetched_at=info.get("imported_at"), path=str(path), dataset=info.get("name"),
                  format=info.get("format"), rows=info.get("rows"), v4_ranges=info.get("v4_ranges"),
                  v6_ranges=info.get("v6_ranges"), bad_lines=info.get("bad_lines"))


def shrink_warning(data_dir: str | os.PathLike | None, info: dict[str, Any]) -> str | None:
    """Why the table described by ``info`` (a new table's ``AsnTable.info``)
    looks cut off: it has under half the IPv4 ranges or under half the IPv6
    ranges of the table in use in ``data_dir`` (each family on its own: the
    IPv6 part is small beside IPv4).  None otherwise, or when no table is in
    use.  Call it before :func:`register_table`: such a table is not
    installed unless the user says it is meant (``data import --force``)."""
    from stekker.ipasn import DEFAULT_TABLE_FILE, AsnTable, AsnTableError

    try:
        old = AsnTable.read_info(_dir(data_dir) / DEFAULT_TABLE_FILE)
    except (OSError, AsnTableError):
        return None
    for fam, label in (("v4_ranges", "IPv4"), ("v6_ranges", "IPv6")):
        n_old, n_new = int(old.get(fam) or 0), int(info.get(fam) or 0)
        if n_new * 2 < n_old:
            return _("the new IP-to-ASN table has {new} {family} ranges, under half of the {old} of the table "
                     "in use ({name!r} version {version}): is the file complete?").format(
                new=n_new, family=label, old=n_old, name=old.get("name"), version=old.get("version"))
    return None


# ---------------------------------------------------------------- downloads


@dataclass
class FetchResult:
    """Outcome of one download: status is 'downloaded', 'not_modified' or 'failed'."""

    name: str
    url: str
    status: str
    message: str = ""
    entry: dict[str, Any] | None = None
    seconds: float = 0.0
    unreachable: bool = False  # failed because the host could not be reached at all


@dataclass
class UpdateReport:
    results: list[FetchResult] = field(default_factory=list)
    table: dict[str, Any] | None = None  # info of a rebuilt ip-to-asn table
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # done, but check (a much smaller table)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def offline(self) -> bool:
        """No source could be reached at all (no network, no DNS): not one
        answer, as opposed to some sources failing."""
        return bool(self.results) and all(r.unreachable for r in self.results)

    def result(self, name: str) -> FetchResult | None:
        return next((r for r in self.results if r.name == name), None)


class _Failure(Exception):
    def __init__(self, message: str, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def _reason(exc: BaseException, connect_timeout: float) -> str:
    """Why a server could not be reached, in words (the common cases of "no network" in the
    user's language; anything else as the system says it)."""
    import errno
    import ssl

    r = getattr(exc, "reason", exc)
    if isinstance(r, (socket.timeout, TimeoutError)):
        return _("timed out after {seconds:g} s").format(seconds=connect_timeout)
    if isinstance(r, socket.gaierror):
        if r.errno == socket.EAI_NONAME:
            why = _("the name does not exist")
        elif r.errno == socket.EAI_AGAIN:
            why = _("no answer from the DNS resolver: no network?")
        else:
            why = r.strerror or str(r)
        return _("name resolution failed ({error})").format(error=why)
    if isinstance(r, ssl.SSLCertVerificationError):
        return _("the server's certificate is not valid ({error})").format(error=r.verify_message or r)
    known = {errno.ECONNREFUSED: _("connection refused"),
             errno.ENETUNREACH: _("network unreachable: no network?"),
             errno.EHOSTUNREACH: _("host unreachable"),
             errno.ECONNRESET: _("connection reset by the server")}
    if isinstance(r, OSError) and r.errno in known:
        return known[r.errno]
    return str(r) or type(r).__name__


def _validate(name: str, path: Path) -> str | None:
    """A problem with a freshly downloaded file, or None when it looks right."""
    if name.startswith("ip2asn"):
        from stekker.ipasn import AsnTableError, check_file

        try:
            check_file(path, name)  # recognisable, whole gzip stream decodes, bounded in size
        except AsnTableError as exc:
            return str(exc).removeprefix(f"{name}: ")
        return None
    try:
        if name == "psl":
            text = path.read_text("utf-8", errors="replace")
            return None if PSL_MARKER in text else \
                _("not a public suffix list (no {marker!r} line)").format(marker=PSL_MARKER)
    except (OSError, ValueError) as exc:
        return _("unreadable: {error}").format(error=exc)
    return None


def _psl_version(text_head: str) -> str | None:
    for line in text_head.splitlines()[:40]:
        if line.startswith("// VERSION:"):
            return line.split(":", 1)[1].strip()
    return None


def _version_day(version: Any) -> str | None:
    """``2026-10-22`` of a version like ``2026-10-22_10-00-00_UTC`` (the PSL's), else None."""
    day = str(version or "")[:10]
    try:
        return datetime.strptime(day, "%Y-%m-%d").date().isoformat()
    except ValueError:
        return None


def data_date(entry: Mapping[str, Any]) -> str | None:
    """The date of a manifest entry's data (what its age is measured on): the
    public suffix list's own version date, else ``data_date`` (an ip2asn
    download's Last-Modified), else when it was fetched or imported.  (A
    manifest written before 2026-12 holds the PSL's download date as its
    ``data_date``; the version wins.)"""
    if entry.get("name") == "psl":
        day = _version_day(entry.get("version"))
        if day:
            return day
    return entry.get("data_date") or entry.get("fetched_at") or entry.get("imported_at")


def _fetch(name: str, url: str, dest: Path, prev: dict[str, Any] | None, *, timeout: float,
           connect_timeout: float, force: bool) -> FetchResult:
    t0 = time.monotonic()
    headers = {"User-Agent": _user_agent(), "Accept-Encoding": "identity"}
    have = dest.is_file()
    if have and prev and not force:
        if prev.get("etag"):
            headers["If-None-Match"] = prev["etag"]
        if prev.get("last_modified"):
            headers["If-Modified-Since"] = prev["last_modified"]
    req = urllib.request.Request(url, headers=headers)
    tmp = dest.with_name(dest.name + f".part{os.getpid()}")
    deadline = t0 + timeout
    from stekker.ipasn import max_text_bytes, too_big

    limit = max_text_bytes()
    try:
        try:
            resp = urllib.request.urlopen(req, timeout=connect_timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 304 and have:
                entry = dict(prev or {})
                entry["checked_at"] = _iso()
                return FetchResult(name, url, "not_modified",
                                   _("not modified since {version}").format(version=entry.get("version")),
                                   entry, time.monotonic() - t0)
            raise _Failure(f"HTTP {exc.code} {exc.reason}") from None
        except urllib.error.URLError as exc:
            raise _Failure(_reason(exc, connect_timeout), unreachable=True) from None
        except (socket.timeout, TimeoutError, ConnectionError) as exc:
            raise _Failure(_reason(exc, connect_timeout), unreachable=True) from None
        with resp:
            h = hashlib.sha256()
            size = 0
            dest.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as fh:
                while True:
                    if time.monotonic() > deadline:
                        raise _Failure(_("download took longer than {seconds:g} s").format(seconds=timeout))
                    try:
                        chunk = resp.read(1 << 16)
                    except (socket.timeout, TimeoutError) as exc:
                        raise _Failure(_("stalled: {reason}").format(reason=_reason(exc, connect_timeout))) from None
                    except OSError as exc:
                        raise _Failure(_("connection lost: {error}").format(error=_reason(exc, connect_timeout))) from None
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > limit:
                        raise _Failure(too_big(limit, downloaded=True))
                    fh.write(chunk)
                    h.update(chunk)
            etag = resp.headers.get("ETag")
            last_modified = resp.headers.get("Last-Modified")
        problem = _validate(name, tmp)
        if problem:
            raise _Failure(_("downloaded file rejected: {problem}").format(problem=problem))
        fetched_at = _iso()
        data_date = None
        if last_modified:
            try:
                data_date = parsedate_to_datetime(last_modified).astimezone(timezone.utc).isoformat()
            except (TypeError, ValueError):
                data_date = None
        version = None
        if name == "psl":
            with open(tmp, encoding="utf-8", errors="replace") as fh:
                version = _psl_version(fh.read(4096))
            data_date = _version_day(version) or data_date  # the list's own date, not the mirror's copy
        version = version or (data_date or fetched_at)[:10]
        os.replace(tmp, dest)
        entry = {"name": name, "source": url, "version": version, "data_date": data_date or fetched_at,
                 "fetched_at": fetched_at, "checked_at": fetched_at, "path": str(dest), "etag": etag,
                 "last_modified": last_modified, "size": size, "sha256": h.hexdigest()}
        return FetchResult(name, url, "downloaded", _("{size} bytes, version {version}").format(size=size, version=version),
                           entry, time.monotonic() - t0)
    finally:
        if tmp.exists():
            tmp.unlink()


def _user_agent() -> str:
    try:
        from stekker import __version__
    except ImportError:  # pragma: no cover
        __version__ = "0"
    return f"stekker/{__version__} (+https://github.com/; reference data update)"


def _keeps_using(name: str, prev: dict[str, Any] | None, have: bool,
                 table: dict[str, Any] | None = None) -> str:
    if have and prev:
        when = str(data_date({"name": name, **prev}) or "?")[:10]
        if name == "psl":
            return _("stekker keeps using the public suffix list from {date}").format(date=when)
        return _("stekker keeps using {name} from {date}").format(name=name, date=when)
    if name == "psl":
        info = psl_info_bundled()
        return _("stekker keeps using the public suffix list bundled with publicsuffixlist from "
                 "{date}").format(date=str(info["version"])[:10])
    if table and name in IPASN_PARTS:
        when = str(table.get("data_date") or table.get("imported_at") or "?")[:10]
        return _("stekker keeps using the IP-to-ASN table {name!r} from {date}").format(
            name=table.get("dataset") or TABLE_NAME, date=when)
    if name == "ip2asn-v4":
        return _("there is no earlier copy, so no IPv4 IP-to-ASN data will be available until a download succeeds")
    if name == "ip2asn-v6":
        return _("there is no earlier copy, so no IPv6 IP-to-ASN data will be available until a download succeeds")
    return _("there is no earlier copy, so no {name} data will be available until a download succeeds").format(
        name=name)


def update(data_dir: str | os.PathLike | None = None, sources: Mapping[str, str] | None = None,
           timeout: float = 300.0, connect_timeout: float = 5.0, force: bool = False,
           build_table: bool = True, log: Callable[[str], None] | None = None) -> UpdateReport:
    """Download the reference data sets into ``data_dir``.

    ``sources`` maps data set name -> URL (default :data:`DEFAULT_SOURCES`;
    pass a subset to update only those, or loopback URLs in tests).
    ``connect_timeout`` bounds connecting and every read (fail fast when
    offline); ``timeout`` bounds each whole download.  After new ip2asn files
    arrive (or when the table is missing) the lookup table ``ipasn.npz`` is
    rebuilt.  Failures never remove what is there; they are reported in
    ``report.errors`` as "cannot reach HOST: REASON; stekker keeps using ...".
    """
    d = check_data_dir(data_dir)
    d.mkdir(parents=True, exist_ok=True)
    sources = dict(DEFAULT_SOURCES if sources is None else sources)
    manifest = read_manifest(d)
    report = UpdateReport()
    dead_hosts: dict[str, str] = {}
    say = log or (lambda _m: None)
    for name, url in sources.items():
        fname = FILENAMES.get(name) or (Path(urllib.parse.urlsplit(url).path).name or name)
        dest = d / fname
        prev = manifest.get(name)
        host = urllib.parse.urlsplit(url).netloc
        hostname = urllib.parse.urlsplit(url).hostname or host
        if host in dead_hosts:
            msg = _("cannot reach {host}: {reason}; {keeps_using}").format(
                host=hostname, reason=dead_hosts[host],
                keeps_using=_keeps_using(name, prev, dest.is_file(), manifest.get(TABLE_NAME)))
            report.results.append(FetchResult(name, url, "failed", msg, unreachable=True))
            report.errors.append(msg)
            say(msg)
            continue
        try:
            res = _fetch(name, url, dest, prev, timeout=timeout, connect_timeout=connect_timeout, force=force)
        except _Failure as exc:
            keeps_using = _keeps_using(name, prev, dest.is_file(), manifest.get(TABLE_NAME))
            if exc.unreachable:
                dead_hosts[host] = str(exc)
                msg = _("cannot reach {host}: {reason}; {keeps_using}").format(
                    host=hostname, reason=exc, keeps_using=keeps_using)
            else:
                msg = _("download of {name} from {url} failed: {reason}; {keeps_using}").format(
                    name=name, url=url, reason=exc, keeps_using=keeps_using)
            report.results.append(FetchResult(name, url, "failed", msg, unreachable=exc.unreachable))
            report.errors.append(msg)
            say(msg)
            continue
        report.results.append(res)
        if res.entry is not None:
            manifest[name] = res.entry
        say(f"{name}: {res.status} ({res.message})")
    _write_manifest(d, manifest)

    if build_table:
        changed = any(r.status == "downloaded" and r.name in IPASN_PARTS for r in report.results)
        from stekker.ipasn import DEFAULT_TABLE_FILE, AsnTable, AsnTableError

        table_path = d / DEFAULT_TABLE_FILE
        current = manifest.get(TABLE_NAME) or {}
        from_iptoasn = current.get("dataset") in (None, "iptoasn")
        parts = [n for n in IPASN_PARTS if n in manifest and (d / FILENAMES[n]).is_file()]
        if parts and (changed or (not table_path.is_file())) and (from_iptoasn or changed):
            dates = [str(manifest[n].get("data_date") or manifest[n].get("fetched_at")) for n in parts]
            try:
                table = AsnTable.from_files([d / FILENAMES[n] for n in parts], format="ip2asn", name="iptoasn",
                                            source=", ".join(manifest[n]["source"] for n in parts),
                                            version=min(dates)[:10], data_date=min(dates))
            except AsnTableError as exc:
                msg = _("cannot build the IP-to-ASN table: {error}; stekker keeps using the previous table").format(
                    error=exc)
                report.errors.append(msg)
                say(msg)
            else:
                shrunk = shrink_warning(d, table.info)
                if shrunk:  # a cut-off or partial download: the table in use is better than this one
                    msg = _("{warning}; not installed, stekker keeps using the previous table").format(warning=shrunk)
                    report.errors.append(msg)
                    say(msg)
                else:
                    register_table(d, table)
                    report.table = table.info
                    say(_("ipasn: built from {parts}: {v4} IPv4 + {v6} IPv6 ranges").format(
                        parts=", ".join(parts), v4=table.info["v4_ranges"], v6=table.info["v6_ranges"]))
    return report


# ---------------------------------------------------------------- public suffix list

_PSL_CACHE: dict[tuple[str, float], Any] = {}


def psl_info_bundled() -> dict[str, Any]:
    import publicsuffixlist

    path = Path(publicsuffixlist.PSLFILE)
    with open(path, encoding="utf-8", errors="replace") as fh:
        version = _psl_version(fh.read(4096))
    try:
        from importlib.metadata import version as _pkgver

        pkg = _pkgver("publicsuffixlist")
    except Exception:  # pragma: no cover
        pkg = "?"
    return {"name": "psl", "source": f"publicsuffixlist {pkg} (bundled)", "version": version or pkg,
            "data_date": (version or "")[:10] or None, "path": str(path), "bundled": True}


def psl_info(data_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Where :func:`psl` takes its list from (downloaded copy or bundled) and its version."""
    d = _dir(data_dir)
    p = d / FILENAMES["psl"]
    if p.is_file() and _validate("psl", p) is None:
        entry = read_manifest(d).get("psl") or {}
        with open(p, encoding="utf-8", errors="replace") as fh:
            version = _psl_version(fh.read(4096))
        return {"name": "psl", "source": entry.get("source") or str(p), "version": version or entry.get("version"),
                "data_date": _version_day(version) or data_date({"name": "psl", **entry}),
                "fetched_at": entry.get("fetched_at"), "path": str(p), "bundled": False}
    return psl_info_bundled()


def psl(data_dir: str | os.PathLike | None = None, *, icann_only: bool = False) -> Any:
    """A ``publicsuffixlist.PublicSuffixList`` from the downloaded list when
    present (and valid), else the package's bundled list.  Its ``info``
    attribute says which (name, source, version, data_date, path, bundled).
    ``icann_only`` drops the list's PRIVATE section (the lab's zones use
    ICANN suffixes only).  Cached per file and modification time."""
    from publicsuffixlist import PublicSuffixList

    info = psl_info(data_dir)
    path = info["path"]
    key = (path, os.stat(path).st_mtime, icann_only)
    obj = _PSL_CACHE.get(key)
    if obj is None:
        with open(path, "rb") as fh:
            obj = PublicSuffixList(fh, only_icann=icann_only)
        obj.info = info
        for k in [k for k in _PSL_CACHE if k[2] == icann_only]:
            del _PSL_CACHE[k]
        _PSL_CACHE[key] = obj
    return obj


# The one place every stage (targets, attribute, lab) asks where a name's
# registrable domain ends.  psl_info() validates the downloaded file (it reads
# it whole), so the list in force is looked up again only when the data dir or
# the downloaded file's size/mtime changes: one stat() per call.
_IN_FORCE: dict[tuple[str, bool], tuple[Any, Any]] = {}
_WHERE: dict[tuple[str | None, ...], tuple[str, str]] = {}


def suffix_list(*, icann_only: bool = False, data_dir: str | os.PathLike | None = None) -> Any:
    """The public suffix list in force: the copy ``stekker data update``
    downloaded into the data dir when present and valid, else the list
    bundled with the publicsuffixlist package (see :func:`psl`)."""
    if data_dir is None:  # hot path (once per name): no Path objects
        env = (os.environ.get("STEKKER_DATA_DIR"), os.environ.get("XDG_DATA_HOME"), os.environ.get("HOME"))
        where = _WHERE.get(env)
        if where is None:
            d = default_data_dir()
            where = _WHERE[env] = (str(d), str(d / FILENAMES["psl"]))
    else:
        d = _dir(data_dir)
        where = (str(d), str(d / FILENAMES["psl"]))
    try:
        st = os.stat(where[1])
        sig: Any = (st.st_mtime_ns, st.st_size, st.st_ino)
    except OSError:
        sig = None
    key = (where[0], icann_only)
    hit = _IN_FORCE.get(key)
    if hit is not None and hit[0] == sig:
        return hit[1]
    obj = psl(where[0], icann_only=icann_only)
    _IN_FORCE[key] = (sig, obj)
    return obj


def public_suffix(name: str, *, icann_only: bool = False, data_dir: str | os.PathLike | None = None) -> str | None:
    """The public suffix of ``name`` (lowercase, no trailing dot) by the list in
    force, or None when its top-level domain is unknown to the list."""
    return suffix_list(icann_only=icann_only, data_dir=data_dir).publicsuffix(name, accept_unknown=False)


def is_public_suffix(name: str, *, icann_only: bool = False, data_dir: str | os.PathLike | None = None) -> bool:
    """True when ``name`` is itself a public suffix (by the list in force)."""
    return bool(suffix_list(icann_only=icann_only, data_dir=data_dir).is_public(name))


def registrable_domain(name: str, *, icann_only: bool = False, data_dir: str | os.PathLike | None = None) -> str:
    """The registrable domain (public suffix + one label) of ``name`` by the
    list in force, lowercase without a trailing dot; the name itself when it
    is a public suffix, unknown or malformed.  ``icann_only`` ignores the
    list's PRIVATE section."""
    name = name.strip().lower().rstrip(".")
    try:
        r = suffix_list(icann_only=icann_only, data_dir=data_dir).privatesuffix(name)
    except Exception:  # noqa: BLE001 - malformed input: fall back to the name
        r = None
    return r or name
