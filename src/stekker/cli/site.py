"""CLI commands of the publish stage (registered on stekker.cli.app):
``stekker site`` (static site) and ``stekker serve`` (the same pages live)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from stekker.cli import app, echo
from stekker.cli.common import fail as _err
from stekker.cli.common import display_db, load_kb, read_explanations, word
from stekker.cli.common import scan_id as resolve
from stekker.i18n import _, num, os_error


# the publication's options of both `site` and `serve` (one home)
_PUBLISHER = typer.Option(None, "--publisher", help=_("Who publishes the site (named in the open data's DCAT-AP "
                                                      "description)."))
_LICENCE = typer.Option(None, "--licence", help=_("URL of the licence of the published data "
                                                  "(e.g. https://creativecommons.org/licenses/by/4.0/); none is assumed."))
_SITE_URL = typer.Option(None, "--site-url", help=_("The site's public address (e.g. https://example.org/stekker/): "
                                                    "the Atom feeds say their links against it (xml:base) and their "
                                                    "ids name it."))


def _note_if_locked(db: str) -> None:
    """A SQLite database that another process holds locked: said before the wait (up to 60 s), so
    the wait is not silent (field trial publish 13).  Looks only: takes the write lock for an
    instant and writes nothing."""
    import os
    import sqlite3

    p = Path(db).expanduser()
    if "://" in db or db == ":memory:" or not p.is_file() or not os.access(p, os.W_OK):
        return
    try:
        with p.open("rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return  # not a database: Store.open says so
        conn = sqlite3.connect(f"{p.resolve().as_uri()}?mode=rw", uri=True, timeout=0.2)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            from stekker.store.engine import SQLITE_BUSY_MS

            echo(_("note: another process holds the database {db} locked: waiting for it (at most {s} s)").format(
                db=db, s=round(SQLITE_BUSY_MS / 1000)), err=True)
    except (OSError, sqlite3.Error):
        return


def _model(db: str, scan: str, explanations: Optional[Path], contest_url: Optional[str],
           contest_email: Optional[str], history: int, publisher: Optional[str] = None,
           licence: Optional[str] = None, say=None, site_url: Optional[str] = None,
           check=None):  # noqa: ANN001
    from stekker.publish.model import Model
    from stekker.store import Store, StoreError

    if licence and not licence.lower().startswith(("https://", "http://")):
        raise _err(_("--licence must be the licence's URL (https://...), e.g. "
                     "https://creativecommons.org/licenses/by/4.0/"))
    if publisher is not None and (not publisher.strip() or len(publisher) > 200 or not publisher.isprintable()):
        raise _err(_("--publisher must be a name of at most 200 printable characters"))

    if contest_url is not None:
        _check_contest_url(contest_url)
    site_url = _site_url(site_url)
    if contest_email and ("@" not in contest_email or any(c in contest_email for c in " <>\"'?&\r\n")):
        raise _err(_("--contest-email must be a plain e-mail address"))
    exps = read_explanations(explanations)
    kb = load_kb()
    _note_if_locked(db)
    try:
        store = Store.open(db, create=False)
    except StoreError as exc:
        raise _err(str(exc))
    sid = resolve(store, scan)
    if check is not None:  # (before the judging, which takes a while)
        check(store, sid)
    if say is not None:  # judging a large scan takes a while: say what is happening before it
        say(_("loading scan {scan_id} from {db} (judging its domains; this can take a while)…").format(
            scan_id=sid, db=display_db(db)))
    try:
        m = Model.load(store, sid, kb, explanations=exps, history=history, contest_url=contest_url,
                       contest_email=contest_email)
    except (StoreError, LookupError) as exc:
        raise _err(str(exc))
    m.publisher, m.licence, m.site_url = (publisher.strip() if publisher else None), licence, site_url
    return m


def _check_contest_url(url: str, option: str = "--contest-url") -> None:
    """A web address, whole: http(s), a host, no spaces or control characters (field trial
    publish 5: "https://", "https://ex.org/a form" were taken and made broken links)."""
    from urllib.parse import urlsplit

    if not url.lower().startswith(("https://", "http://")):
        raise _err(_("{option} must start with https:// or http://").format(option=option))
    if any(c.isspace() or not c.isprintable() for c in url) or any(c in url for c in "\"<>\\"):
        raise _err(_("{option} must not contain spaces, quotes, angle brackets, backslashes or control "
                     "characters (write a space as %20)").format(option=option))
    try:
        u = urlsplit(url)
        u.port  # noqa: B018 - a port that is not a number, or out of range, raises
    except ValueError:
        raise _err(_("{option} is not a valid web address (its host or port cannot be read)").format(option=option))
    if not u.hostname:
        raise _err(_("{option} names no host: it must look like https://example.org/form").format(option=option))


def _site_url(url: Optional[str]) -> Optional[str]:
    """``--site-url``: the site's public address (a folder: ends in "/"), without query or fragment."""
    if url is None:
        return None
    _check_contest_url(url, "--site-url")
    from urllib.parse import urlsplit

    u = urlsplit(url)
    if u.query or u.fragment:
        raise _err(_("--site-url is the address of the site's folder, without ?query or #fragment: "
                     "e.g. https://example.org/stekker/"))
    return url if url.endswith("/") else url + "/"


NO_CONTEST = _("warning: no --contest-email or --contest-url: the site names no address for reporting an error, "
               "so no one can contest a label from it (its pages say so, and so does its methods page)")


def _warn_unstated(model) -> None:  # noqa: ANN001
    """What the publisher did not state, said on the operator's terminal (the public pages say only
    that it was not stated, never which option states it: field trial, publish 3)."""
    if not model.licence:
        echo(_("warning: no --licence: the open data page tells readers that no licence was stated for these "
               "data, and the DCAT-AP catalogue names none"), err=True)
    if not model.publisher:
        echo(_("warning: no --publisher: the DCAT-AP catalogue names no publisher"), err=True)


def _check_geo(geo: Optional[Path]) -> None:
    """``--geo DIR`` must be a directory holding the two boundary files (a wrong one was ignored)."""
    if geo is None:
        return
    from stekker.publish.geo import LIST_FILE, TOPO_FILE, geo_dir

    if not geo.expanduser().is_dir():
        raise _err(_("--geo {geo}: no such directory (it holds {topo} and {listing})").format(
            geo=geo, topo=TOPO_FILE, listing=LIST_FILE))
    if geo_dir(geo) is None:
        raise _err(_("--geo {geo} does not hold {topo} and {listing}").format(
            geo=geo, topo=TOPO_FILE, listing=LIST_FILE))


def _site_of(model, geo: Optional[Path]):  # noqa: ANN001, ANN202
    """The site's pages, with the map's boundaries read now: unreadable ones are exit 2, not a crash
    in the middle of rendering."""
    from stekker.publish.geo import GeoError
    from stekker.publish.pages import Site

    s = Site(model, geo)
    try:
        s.prepare()
    except GeoError as exc:
        where = "--geo" if geo is not None else "$STEKKER_GEO_DIR"  # the option or variable: no words to translate
        raise _err(f"{where}: {exc}")
    return s


@app.command()
def site(
    out: Path = typer.Option(..., "--output", "--out", "-o", help=_("Directory to write the site into (new, empty, or a site "
                             "stekker wrote before; anything else is refused).")),
    scan: str = typer.Option("latest", "--scan", "-s", help=_("Scan ID, or 'latest'.")),
    db: str = typer.Option("stekker.db", "--db", help=_("SQLite file, or a postgresql://user@host/db URL.")),
    contest_url: Optional[str] = typer.Option(None, "--contest-url", help=_("Web form for 'report an error' next to "
                                              "each label: ?scan=…&kb=…&as_of=…&domain=…&category=…&provider=… is "
                                              "added.")),
    contest_email: Optional[str] = typer.Option(None, "--contest-email", help=_("Address for 'report an error' next "
                                                "to each label (a mailto: link whose body identifies the label and "
                                                "asks what is wrong). Without either the site says it names no "
                                                "contact.")),
    explanations: Optional[Path] = typer.Option(None, "--explanations", help=_("YAML file of explanations "
                                                "('pas toe of leg uit'), shown next to findings.")),
    geo: Optional[Path] = typer.Option(None, "--geo", help=_("Directory with the municipal boundaries "
                                       "(mxmapit_nl_municipality.topo.json, mxmapit_municipalities_nl.json); "
                                       "default $STEKKER_GEO_DIR, else the boundaries shipped with stekker.")),
    history: int = typer.Option(6, "--history", min=1, max=100, help=_("Scans shown in each domain's history.")),
    publisher: Optional[str] = _PUBLISHER,
    licence: Optional[str] = _LICENCE,
    site_url: Optional[str] = _SITE_URL,
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=64, help=_("Rendering processes "
                                          "(default: one per core, at most 8).")),
    partial: bool = typer.Option(False, "--partial", help=_("Write the site of a scan that is running or did not "
                                 "finish (every page says it is partial; exit code 1). Without it such a scan is "
                                 "refused and the site in --out stays as it is.")),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_("Only errors.")),
) -> None:
    """Write a static site of a scan: pages in Dutch and English, open data
    (CSV, JSON, Parquet, DCAT-AP) and the JSON API's documents.

    Examples:

      stekker site --scan latest --out site/

      stekker site --out site/ --contest-email fouten@example.org --explanations toelichting.yaml
    """
    from stekker.outputs import OutputError
    from stekker.publish.site import check_out_dir, default_workers, write_site

    try:
        check_out_dir(out, db)
    except OutputError as exc:
        raise _err(str(exc))
    _check_geo(geo)
    say = (lambda m: None) if quiet else (lambda m: echo(m, err=True))

    def finished_or_partial(store, sid: int) -> None:
        # field trial cron 2: `scan ...; site ...` in a cron job replaced a published site of 1,994
        # domains with the 588 an interrupted scan had measured (exit 1 came after the swap)
        info = store.scan_info(sid)
        if partial or info.get("state") in (None, "finished"):
            return
        c = info["counts"]
        first = (_("wait until it has finished") if info.get("state") == "running" else
                 _("finish it first: stekker scan --resume {scan_id} --db {db}").format(scan_id=sid, db=display_db(db)))
        echo(_("error: scan {scan_id} is {state} ({done} of the {total} domains measured): the site was not "
               "written, {out} stays as it is; {first}, or publish it as a partial result with --partial").format(
                   scan_id=sid, state=word(info.get("state")), done=num(c["done"]), total=num(c["targets"]),
                   out=out, first=first), err=True)
        raise typer.Exit(1)

    model = _model(db, scan, explanations, contest_url, contest_email, history, publisher, licence, say=say,
                   site_url=site_url, check=finished_or_partial)
    s = _site_of(model, geo)
    try:
        stats = write_site(s, out, progress=lambda n: say(_("  {n} files…").format(n=n)),
                           workers=workers or default_workers())
    except OutputError as exc:
        raise _err(str(exc))
    except OSError as exc:
        raise _err(_("cannot write the site: {error}").format(error=os_error(exc)))
    say(_("wrote {out}: {pages} pages, {files} files, {mb:.1f} MB in {seconds:.1f} s").format(
        out=out, pages=stats.pages, files=stats.files, mb=stats.bytes / 1e6, seconds=stats.seconds))
    if stats.kept:
        say(_("kept {n} file(s) you added: {names}{more}").format(
            n=len(stats.kept), names=", ".join(stats.kept[:5]), more=" ..." if len(stats.kept) > 5 else ""))
    if s._geo_dir is None:
        say(_("note: no municipal boundaries in the --geo / $STEKKER_GEO_DIR directory (it needs "
              "mxmapit_nl_municipality.topo.json and mxmapit_municipalities_nl.json): the map page has a table only"))
    if not model.contesting():
        echo(NO_CONTEST, err=True)
    _warn_unstated(model)
    if model.scan.get("state") not in (None, "finished"):
        echo(_("warning: scan {scan_id} is {state}: the site shows a partial "
               "result (and says so on every page's summary)").format(
                   scan_id=model.scan.get("scan_id"), state=word(model.scan.get("state"))), err=True)
        return 1  # a partial result (docs/CLI.md)


@app.command()
def serve(
    scan: str = typer.Option("latest", "--scan", "-s", help=_("Scan ID, or 'latest'.")),
    db: str = typer.Option("stekker.db", "--db", help=_("SQLite file, or a postgresql://user@host/db URL.")),
    host: str = typer.Option("127.0.0.1", "--host", help=_("Address to listen on (loopback by default).")),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help=_("Port to listen on.")),
    contest_url: Optional[str] = typer.Option(None, "--contest-url", help=_("Web form for 'report an error'.")),
    contest_email: Optional[str] = typer.Option(None, "--contest-email", help=_("Address for 'report an error'.")),
    explanations: Optional[Path] = typer.Option(None, "--explanations", help=_("YAML file of explanations.")),
    geo: Optional[Path] = typer.Option(None, "--geo", help=_("Directory with the municipal boundaries.")),
    history: int = typer.Option(6, "--history", min=1, max=100, help=_("Scans shown in each domain's history.")),
    publisher: Optional[str] = _PUBLISHER,
    licence: Optional[str] = _LICENCE,
    site_url: Optional[str] = _SITE_URL,
) -> None:
    """Serve the site and the JSON API live, read-only (GET only).

    The API adds filtering and pages: /api/v1/domains.json?sector=gemeente&limit=50&offset=100;
    its OpenAPI description is at /api/v1/openapi.json.

    Examples:

      stekker serve

      stekker serve --db stekker.db --port 8080
    """
    from stekker.publish.serve import create_app

    import socket

    # the address first: uvicorn reports a busy port in a log line of its own and exits 1
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        with socket.socket(infos[0][0], socket.SOCK_STREAM) as sk:
            sk.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sk.bind(infos[0][4])
    except (OSError, IndexError) as exc:
        raise _err(_("cannot listen on {host}:{port}: {error}").format(
            host=host, port=port, error=os_error(exc)))
    _check_geo(geo)
    model = _model(db, scan, explanations, contest_url, contest_email, history, publisher, licence,
                   say=lambda m: echo(m, err=True), site_url=site_url)
    if not model.contesting():
        echo(_("warning: no --contest-email or --contest-url: the pages name no address for reporting an error, so no "
               "one can contest a label from them (they say so, and so does the methods page)"), err=True)
    _warn_unstated(model)
    if model.scan.get("state") not in (None, "finished"):
        echo(_("warning: scan {scan_id} is {state}: the pages show a partial "
               "result (and say so in their summary)").format(
                   scan_id=model.scan.get("scan_id"), state=word(model.scan.get("state"))), err=True)
    app_ = create_app(_site_of(model, geo))
    import uvicorn

    echo(_("serving scan {scan_id} on http://{host}:{port}/ (Ctrl-C stops)").format(
        scan_id=model.scan["scan_id"], host=host, port=port), err=True)
    # no lifespan events (the model is loaded above): a forced stop cancels no lifespan task to log
    server = _Server(uvicorn.Config(app_, host=host, port=port, log_level="warning", server_header=False,
                                    lifespan="off"))
    try:
        server.run()
    except OSError as exc:
        raise _err(_("cannot listen on {host}:{port}: {error}").format(host=host, port=port, error=os_error(exc)))
    if not server.started and server.stopped_by is None:
        raise _err(_("cannot serve on {host}:{port} (the server did not start)").format(host=host, port=port))
    if server.stopped_by is not None:  # Ctrl-C or SIGTERM: stopped as asked
        echo(_("interrupted"), err=True)
        raise typer.Exit(130)


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, stopped by the first Ctrl-C or SIGTERM and at once
        by a second; the signal is not raised again after the shutdown
        (explore-f M11: a second signal during the shutdown raised into the
        event loop and printed uvicorn's tracebacks)."""

        stopped_by: int | None = None

        def handle_exit(self, sig, frame):  # noqa: ANN001 - uvicorn's signature
            self.stopped_by = sig
            if self.should_exit:
                self.force_exit = True
            else:
                self.should_exit = True

    return Server


def _Server(config):  # noqa: N802 - a class made when serving (uvicorn is imported only then)
    return _server_class()(config)
