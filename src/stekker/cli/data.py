"""CLI commands for reference data (IP-to-ASN tables, public suffix list):
``stekker data import | update | status | lookup``."""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, List, Optional

import typer

from stekker.cli import app, echo
from stekker.cli.common import in_language, word
from stekker.dates import as_datetime
from stekker.i18n import _

data_app = typer.Typer(
    help=_(
        "Reference data: IP-to-ASN tables (iptoasn.com, RouteViews pfx2as) and the "
        "public suffix list.  Kept in $STEKKER_DATA_DIR (default ~/.local/share/stekker).\n\n"
        "Example: stekker data update && stekker data status"
    ),
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")

_DATA_DIR_HELP = _("Data directory (default $STEKKER_DATA_DIR or ~/.local/share/stekker).")


@contextmanager
def _store_of(db: Optional[str]) -> Iterator[Any]:
    """The store of --db (None without one), opened before anything is written:
    a database stekker must not write into (another program's) is refused with
    exit 2 while the data in use is still untouched (docs/CLI.md)."""
    if not db:
        yield None
        return
    from stekker.cli.common import open_store

    store = open_store(db, create=True)
    try:
        yield store
    finally:
        store.close()


def _record_in_store(store: Any, data_dir: Optional[Path]) -> None:
    """Copy the manifest into the store's ``datasets`` table when --db is given."""
    if store is None:
        return
    from stekker import datasets

    rows = datasets.records(data_dir)
    for r in rows:
        store.record_dataset(**r)
    echo(_("recorded {n} data set(s) in {url}").format(n=len(rows), url=store.url))


def _age_days(when: Optional[str]) -> Optional[float]:
    if not when:
        return None
    d = as_datetime(when) or as_datetime(str(when)[:10])
    if d is None:
        return None
    return (datetime.now(timezone.utc) - d).total_seconds() / 86400


@data_app.command("import")
def import_(
    files: List[Path] = typer.Argument(..., help=_("ip2asn-v4.tsv / ip2asn-v6.tsv / ip2asn-combined.tsv (.gz) or a pfx2as file; several files are merged.")),
    name: Optional[str] = typer.Option(None, "--name", help=_("Data set name (default: from the file name).")),
    format: str = typer.Option("auto", "--format", help=_("auto | ip2asn | pfx2as.")),
    version: Optional[str] = typer.Option(None, "--version", help=_("Version label (default: date of the newest file).")),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
    db: Optional[str] = typer.Option(None, "--db", help=_("Also record the data set in this stekker database.")),
    show_problems: int = typer.Option(10, "--show-problems", min=0, max=1_000_000, help=_("How many bad lines to list.")),
    force: bool = typer.Option(False, "--force", help=_("Install the new table even when it has under half the IPv4 or IPv6 ranges of the one in use (it is meant to be smaller).")),
) -> None:
    """Import an IP-to-ASN file as the table stekker uses for IP -> ASN.

    Replaces the current table (see `stekker data status`).  Bad lines are
    skipped and reported with their line numbers (exit 1).  A table with
    under half the IPv4 or IPv6 ranges of the one in use is not imported
    (exit 2, a cut-off file?) unless --force.

    Example: stekker data import ip2asn-v4.tsv.gz ip2asn-v6.tsv.gz --name iptoasn

    Example: stekker data import routeviews-rv2-20261124-1200.pfx2as.gz --format pfx2as
    """
    if format not in ("auto", "ip2asn", "pfx2as"):
        echo(_("error: --format must be auto, ip2asn or pfx2as (not {format!r})").format(format=format), err=True)
        raise typer.Exit(2)
    with _store_of(db) as store:
        _import(files, format, name, version, data_dir, store, show_problems, force)


def _import(files: List[Path], format: str, name: Optional[str], version: Optional[str], data_dir: Optional[Path],
            store: Any, show_problems: int, force: bool) -> None:
    from stekker import datasets
    from stekker.ipasn import AsnTable, AsnTableError

    datasets.check_data_dir(data_dir)  # before reading a large file: a user's own files there stay (exit 2)
    try:
        table = AsnTable.from_files(files, format=format, name=name, version=version,
                                    source=", ".join(str(f.resolve()) for f in files))
    except AsnTableError as exc:  # a missing or unreadable input file: an input error
        echo(_("error: {message}").format(message=exc), err=True)
        raise typer.Exit(2)
    info = table.info
    problems = table.shown_problems()  # (info["problems"]: the same in English, kept with the table)
    bad, good = int(info.get("bad_lines") or 0), int(info.get("rows") or 0)
    if bad > good:  # mostly unreadable: the table in use is better than this one
        for p in problems[:show_problems]:
            echo(_("  bad line: {problem}").format(problem=p), err=True)
        echo(_("error: {bad} of the {total} lines cannot be read (not an IP-to-ASN file, or damaged): nothing "
               "was imported, the table in use stays").format(bad=bad, total=bad + good), err=True)
        raise typer.Exit(2)
    shrunk = datasets.shrink_warning(data_dir, info)
    if shrunk and not force:
        for p in problems[:show_problems]:  # (a cut-off last line says why)
            echo(_("  bad line: {problem}").format(problem=p), err=True)
        echo(_("error: {warning} Nothing was imported, the table in use stays; --force imports it when it is "
               "meant to be smaller").format(warning=shrunk), err=True)
        raise typer.Exit(2)
    entry = datasets.register_table(data_dir, table)
    echo(_("imported {name} ({format}, version {version}): {v4} IPv4 + {v6} IPv6 ranges, {asns} ASes, "
           "{not_routed} not-routed rows, {bad} bad lines -> {path}").format(
        name=info["name"], format=info["format"], version=info["version"], v4=info["v4_ranges"],
        v6=info["v6_ranges"], asns=info["asns"], not_routed=info["not_routed"], bad=info["bad_lines"],
        path=entry["path"]))
    for p in problems[:show_problems]:
        echo(_("  bad line: {problem}").format(problem=p), err=True)
    if info["bad_lines"] > show_problems:
        echo(_("  ... and {n} more bad lines").format(n=info["bad_lines"] - show_problems), err=True)
    if shrunk:
        echo(_("warning: {warning} (imported: --force)").format(warning=shrunk), err=True)
    _record_in_store(store, data_dir)
    if bad:
        raise typer.Exit(1)  # imported, but not every line: check (docs/CLI.md)


@data_app.command("update")
def update(
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
    only: Optional[List[str]] = typer.Option(None, "--only", metavar="NAME[,NAME...]", help=_("Update only these data sets (ip2asn-v4, ip2asn-v6, psl): a comma-separated list, or --only repeated.")),
    source: Optional[List[str]] = typer.Option(None, "--source", help=_("Override a source URL: NAME=URL (e.g. a mirror).")),
    timeout: float = typer.Option(300.0, "--timeout", min=0.1, max=86400.0, help=_("Seconds one whole download may take.")),
    connect_timeout: float = typer.Option(5.0, "--connect-timeout", min=0.1, max=600.0, help=_("Seconds to connect / wait for data before giving up.")),
    force: bool = typer.Option(False, "--force", help=_("Download even when the server says not modified.")),
    db: Optional[str] = typer.Option(None, "--db", help=_("Also record the data sets in this stekker database.")),
) -> None:
    """Download the current iptoasn tables and public suffix list.

    Uses conditional requests (ETag / If-Modified-Since), so an unchanged
    file costs one round trip.  When a download fails the previous copy stays
    in use and the command exits 1; when no server could be reached at all
    (no network) it exits 3.

    Example: stekker data update

    Example: stekker data update --only psl --source psl=https://mirror.example/public_suffix_list.dat
    """
    from stekker import datasets

    sources = dict(datasets.DEFAULT_SOURCES)
    for s in source or []:
        if "=" not in s:
            echo(_("error: --source wants NAME=URL, got {value!r}").format(value=s), err=True)
            raise typer.Exit(2)
        k, v = s.split("=", 1)
        k, v = k.strip(), v.strip()
        if k not in datasets.DEFAULT_SOURCES:  # a typo must not download nothing and say nothing
            from stekker.text import visible

            echo(_("error: --source {name!r}: no such data set; known: {known}").format(
                name=visible(k), known=", ".join(datasets.DEFAULT_SOURCES)), err=True)
            raise typer.Exit(2)
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(v)
        except ValueError as exc:
            parts, bad = None, str(exc)
        else:
            bad = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or \
                not v.isascii() or any(not c.isprintable() or c.isspace() for c in v):
            from stekker.text import visible

            if bad:
                echo(_("error: --source {name}: not an http(s) URL: {url!r} ({why})").format(
                    name=visible(k), url=visible(v), why=visible(bad)), err=True)
            else:
                echo(_("error: --source {name}: not an http(s) URL: {url!r}").format(name=visible(k), url=visible(v)),
                     err=True)
            raise typer.Exit(2)
        sources[k] = v
    if only:
        only = [n.strip() for o in only for n in o.split(",") if n.strip()]  # --only a,b as --only a --only b
        if not only:  # (an empty list must not mean "everything")
            echo(_("error: --only needs a data set name; known: {known}").format(known=", ".join(sources)), err=True)
            raise typer.Exit(2)
        unknown = [n for n in only if n not in sources]
        if unknown:
            echo(_("error: unknown data set(s) {names}; known: {known}").format(
                names=", ".join(unknown), known=", ".join(sources)), err=True)
            raise typer.Exit(2)
        sources = {k: v for k, v in sources.items() if k in only}
    with _store_of(db) as store:
        report = datasets.update(data_dir, sources=sources, timeout=timeout, connect_timeout=connect_timeout,
                                 force=force, log=None)
        _report_update(report)
        _record_in_store(store, data_dir)
    if report.offline:
        raise typer.Exit(3)  # not one source reachable: network unavailable (docs/CLI.md)
    if not report.ok or report.warnings:
        raise typer.Exit(1)


def _report_update(report: Any) -> None:
    for r in report.results:
        if r.status == "failed":
            echo(_("error: {message}").format(message=r.message), err=True)
        else:
            echo(_("{name}: {status} ({message}) [{seconds:.1f} s]").format(
                name=r.name, status=word(r.status).replace("_", " "), message=r.message, seconds=r.seconds))
    if report.table:
        t = report.table
        echo(_("ipasn: table rebuilt, {v4} IPv4 + {v6} IPv6 ranges, version {version}").format(
            v4=t["v4_ranges"], v6=t["v6_ranges"], version=t["version"]))
    for w in report.warnings:
        echo(_("warning: {message}").format(message=w), err=True)
    for e in report.errors:
        if not any(e == r.message for r in report.results):
            echo(_("error: {message}").format(message=e), err=True)


@data_app.command("status")
def status(
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
    max_age_days: float = typer.Option(45.0, "--max-age-days", min=0.0, max=36500.0, help=_("Warn when IP-to-ASN data is older than this.")),
    as_json: bool = typer.Option(False, "--json", help=_("Machine-readable output.")),
) -> None:
    """Show the reference data sets: versions, ages and stale warnings.

    Example: stekker data status --max-age-days 30
    """
    from stekker import datasets
    from stekker.ipasn import DEFAULT_TABLE_FILE, AsnTable, AsnTableError, stale_warning

    d = Path(data_dir) if data_dir else datasets.default_data_dir()
    if d.exists() and not d.is_dir():  # ("no downloads yet" would hide the mistake)
        if data_dir:
            echo(_("error: the data directory {path} is a file, not a directory").format(path=d), err=True)
        else:
            echo(_("error: the data directory {path} is a file, not a directory (STEKKER_DATA_DIR or XDG_DATA_HOME)")
                 .format(path=d), err=True)
        raise typer.Exit(2)
    manifest = datasets.read_manifest(d)
    table_info = None
    table_path = d / DEFAULT_TABLE_FILE
    if table_path.is_file():
        try:
            table_info = AsnTable.read_info(table_path)
        except (OSError, ValueError, KeyError, EOFError, AsnTableError) as exc:
            table_info = None
            if isinstance(exc, AsnTableError):
                echo(_("warning: {message}; run `stekker data update` to write it again").format(message=exc), err=True)
            else:
                why = exc if isinstance(exc, OSError) else _("damaged or not a table stekker wrote")
                echo(_("warning: cannot read {path}: {why}; run `stekker data update` to write it again").format(
                    path=table_path, why=why), err=True)
    warning = stale_warning(table_info, max_age_days=max_age_days)
    psl = datasets.psl_info(d)
    if as_json:
        echo(json.dumps({"data_dir": str(d), "datasets": manifest, "ipasn": table_info, "psl": psl,
                               "warnings": [warning] if warning else []}, indent=2, default=str))
        return
    echo(_("data dir: {path}").format(path=d))
    if not manifest:
        echo(_("  no downloads yet (run `stekker data update`)"))
    for name, e in sorted(manifest.items()):
        when = datasets.data_date({"name": name, **e})
        age = _age_days(when)
        age_s = _("{days:.0f} days old").format(days=age) if age is not None else _("age unknown")
        checked = e.get("checked_at") or e.get("fetched_at") or "?"
        echo(_("  {name:10} version {version}  ({age}; checked {checked})  {source}").format(
            name=name, version=e.get("version"), age=age_s, checked=checked, source=e.get("source")))
    if table_info:
        t = table_info
        echo(_("IP-to-ASN table: {name} version {version} ({format}): {v4} IPv4 + {v6} IPv6 ranges, {asns} ASes; "
               "imported {imported}").format(name=t["name"], version=t.get("version"), format=t["format"],
                                             v4=t["v4_ranges"], v6=t["v6_ranges"], asns=t["asns"],
                                             imported=t["imported_at"]))
    psl_age = _age_days(psl.get("data_date"))
    line = (_("public suffix list: bundled version {version}") if psl["bundled"] else
            _("public suffix list: downloaded version {version}")).format(version=psl["version"])
    if psl_age is not None:
        line += _(" ({days:.0f} days old)").format(days=psl_age)
    echo(line)
    if warning:
        echo(_("warning: {message}").format(message=in_language(warning)), err=True)


@data_app.command("lookup")
def lookup(
    ips: List[str] = typer.Argument(..., help=_("IPv4 / IPv6 addresses.")),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
) -> None:
    """Look addresses up in the installed IP-to-ASN table.

    Example: stekker data lookup 1.1.1.1 2a00:1450:4001::1
    """
    import ipaddress

    from stekker.ipasn import AsnTable, stale_warning
    from stekker.text import visible

    bad = []
    for ip in ips:
        try:
            ipaddress.ip_address(ip.strip())
        except ValueError:
            bad.append(ip)
    if bad:  # "-" would read as "not routed"
        echo(_("error: not an IP address: {addresses}").format(addresses=", ".join(repr(visible(b)) for b in bad[:5])),
             err=True)
        raise typer.Exit(2)
    table = AsnTable.load_default(data_dir)
    if table is None:
        echo(_("error: {message}").format(message=in_language(stale_warning(None))), err=True)
        raise typer.Exit(1)
    for ip, rec in zip(ips, table.lookup_many(ips)):
        if rec is None:
            echo(f"{ip}\t-")
        else:
            # a tab-separated record (address, AS number, country, AS name, prefix [origins=a/b]), the same
            # in every language: data for a script, not a message
            extra = f" origins={'/'.join(map(str, rec.origins))}" if len(rec.origins) > 1 else ""
            echo("\t".join([ip, f"AS{rec.asn}", rec.country or "-", rec.description or "-", f"{rec.prefix}{extra}"]))
    w = stale_warning(table)
    if w:
        echo(_("warning: {message}").format(message=in_language(w)), err=True)
