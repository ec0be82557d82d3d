"""CLI commands to look at stored evidence: ``scans``, ``show`` and ``export``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from stekker.cli import app, echo
from stekker.cli.common import as_of_day, csv_separator, db_option, display_db, fail, in_language, open_store, say_kept, word
from stekker.dates import scan_day
from stekker.i18n import _, language


def _scan_id(store, ref: Optional[str]) -> int:
    from stekker.cli.common import scan_id

    return scan_id(store, ref)


def _safe(text: object) -> str:
    """DNS text on a terminal: control characters visible, Rich markup inert."""
    from rich.markup import escape

    from stekker.text import visible

    return escape(visible(text, keep_newlines=True))


@app.command()
def scans(db: str = db_option()) -> None:
    """List the scans in the database.

    Example: stekker scans --db stekker.db
    """
    from rich.console import Console
    from rich.table import Table
    import datetime as dt

    store = open_store(db)
    t = Table(title=_("scans in {db}").format(db=display_db(db)))
    # (ok, nxdomain and error are the domains' status names, as `show` gives them)
    for col in ("id", _("started"), _("state"), _("domains done"), "ok", "nxdomain", "error", _("input"), _("label")):
        t.add_column(col)
    for s in store.list_scans():
        c = s.get("counts", {})
        started = dt.datetime.fromtimestamp(s["started_at"], dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        t.add_row(str(s["id"]), started, word(s["state"]), f"{c.get('done', 0)}/{c.get('targets', 0)}",
                  str(c.get("ok", "")), str(c.get("nxdomain", "")), str(c.get("error", "")),
                  _safe(s.get("input_path") or ""), _safe(s.get("label") or ""))
    # in a file or pipe: wide enough that no state or path is cut ("finish…", "/tmp/e…")
    (Console() if sys.stdout.isatty() else Console(width=250)).print(t)


@app.command()
def show(
    domain: Optional[str] = typer.Argument(None, help=_("The domain to show (as in the input).")),
    scan: Optional[str] = typer.Option("latest", "--scan", help=_("Scan id or 'latest'.")),
    db: str = db_option(),
    issues: bool = typer.Option(False, "--issues", help=_("List the input problems of the scan instead.")),
    attribution: bool = typer.Option(True, "--attribution/--no-attribution", help=_("Also show who runs each service.")),
) -> None:
    """Show the stored evidence for one domain: every question, its state and
    its answers; then who runs each service and why.

    Examples:

      stekker show gemeente-a.nl

      stekker show ziekenhuis-b.nl --scan 2 --db stekker.db

      stekker show --issues --scan 2
    """
    from rich.console import Console
    from rich.table import Table


    store = open_store(db)
    sid = _scan_id(store, scan)
    con = Console() if sys.stdout.isatty() else Console(width=200)
    if issues:
        t = Table(title=_("input problems of scan {scan_id}").format(scan_id=sid))
        # (the reasons are the stored input issues: English, said in the user's language; their kinds are
        # codes, shown as words)
        from stekker.targets import issue_kind, issue_reason

        for col in (_("line"), _("kind"), _("reason"), _("as written")):
            t.add_column(col)
        for i in store.input_issues(sid):
            t.add_row(str(i.get("line") or ""), issue_kind(i["kind"]), _safe(issue_reason(i["reason"])), _safe(i.get("raw") or ""))
        con.print(t)
        return
    if not domain:
        raise fail(_("give a DOMAIN (or --issues)"))
    from stekker.targets import normalise_domain

    try:
        name = normalise_domain(domain)
    except ValueError as exc:
        raise fail(in_language(exc))
    ev = store.evidence(sid, name)
    if ev is None:
        tgt = store.target(sid, name) if hasattr(store, "target") else None
        if tgt is not None:
            echo(_("{domain} is in scan {scan_id} but not scanned yet (resume the scan)").format(domain=name, scan_id=sid),
                 err=True)
            raise typer.Exit(1)  # a partial result
        echo(_("error: {domain} is not in scan {scan_id}").format(domain=name, scan_id=sid), err=True)
        raise typer.Exit(2)  # an input error (docs/CLI.md)

    con.print(_("[bold]{domain}[/bold]  scan {scan_id}  status [bold]{status}[/bold]").format(
        domain=_safe(name), scan_id=sid, status=ev.status)
        + (_("  organisation: {organisations}").format(organisations=_safe('; '.join(ev.organisations)))
           if ev.organisations else "")
        + (_("  sector: {sectors}").format(sectors=_safe('; '.join(ev.sectors))) if ev.sectors else ""))
    t = Table(title=_("DNS evidence (raw answers)"), show_lines=False)
    for col in (_("purpose"), _("question"), _("type"), _("state"), _("answer")):
        t.add_column(col, overflow="fold")
    for r in ev.results:
        state = r.status.value
        if r.error_kind:
            state += f" ({r.error_kind.value})"
        elif r.absent_kind:
            state += f" ({r.absent_kind.value})"
        if r.wildcard:
            state += " wildcard"
        ans = "\n".join(f"{rr.name} {rr.rtype} {rr.value}" for rr in r.answers) or (r.detail or "")
        if r.detail and r.answers:
            ans += f"\n({r.detail})"
        style = {"present": "", "absent": "dim", "error": "red"}[r.status.value]
        t.add_row(r.purpose, _safe(r.qname), r.qtype, state, _safe(ans), style=style)
    con.print(t)
    con.print(_("[dim]what each purpose asks and why: src/stekker/data/plan.yaml[/dim]"))
    if attribution:
        _show_attribution(con, ev, scan_day(store.scan_info(sid)))


def _show_attribution(con, ev, as_of) -> None:
    from rich.table import Table

    try:
        from stekker import kb as kbmod
        from stekker.attribute import attribute_domain
    except ImportError:
        return
    try:
        kb = kbmod.load()
        asn = _asn_table()
        att = attribute_domain(ev, kb, asn, as_of)
    except Exception as exc:  # the evidence above stands on its own
        con.print(_("[red]attribution failed: {error}[/red]").format(error=_safe(exc)))
        return
    t = Table(title=_("who runs it (knowledge base {kb_version}, ownership as of {as_of})").format(
        kb_version=att.kb_version, as_of=att.as_of))
    for col, kw in ((_("service"), {"no_wrap": True}),
                    (_("who: provider (company -> ultimate parent, jurisdiction)"), {}),
                    (_("conf."), {"justify": "right"}), (_("evidence [rule]"), {})):
        t.add_column(col, overflow="fold", **kw)

    def who(s) -> str:
        if s.status != "attributed":
            return s.status
        chain = s.company or ""
        if s.parent and s.parent != s.company:
            chain += f" -> {s.parent}"
        # parents in joint control (kb/data/README.md): each named with its home, no single jurisdiction
        joint = kb.joint_controllers(s.company, att.as_of) if s.company else []
        if joint:
            chain += " -> " + " + ".join(f"{ch[-1]} ({kb.jurisdiction(ch[-1], att.as_of) or '?'})" for ch in joint)
        where = s.jurisdiction or (_("jointly") if joint else "?")
        text = f"{s.provider_name or s.provider} ({chain}, {where})"
        for a in s.also:
            home = _("own") if a.status == "self" else a.jurisdiction or "?"
            text += f"\n+ {a.provider_name or a.provider} ({home})"
        return text

    # a service's note in the user's language: its Dutch is the report's (Strings.note); in English the
    # note as stored
    if language() == "nl":
        from stekker.report.render import Strings

        note = Strings("nl").note
    else:
        note = lambda s: s.note  # noqa: E731

    def evid(s, n: int) -> str:
        lines = [f"{e.qname} {e.rtype} {e.value} [{e.rule}]" for e in s.evidence[:n]]
        if len(s.evidence) > n:
            lines.append(_("(+{n} more)").format(n=len(s.evidence) - n))
        text = "\n".join(lines)
        if s.note:  # why it is weak, what was not recognised: shown next to the evidence, not only without it
            text = f"{text}\n({note(s)})" if text else note(s)
        for a in s.also:  # e.g. an own sign-in host whose addresses could not be asked
            if a.note:
                text += f"\n(+ {a.provider_name or a.provider}: {note(a)})"
        return text

    for cat, s in att.services.items():
        t.add_row(cat, _safe(who(s)), f"{s.confidence:.2f}" if s.status == "attributed" else "", _safe(evid(s, 3)))
    for s in att.saas:
        t.add_row("saas", _safe(who(s)), f"{s.confidence:.2f}", _safe(evid(s, 1)))
    con.print(t)
    if att.tenant:
        con.print(_("Microsoft 365 tenant: {tenant}").format(tenant=_safe(att.tenant)))
    try:
        from stekker.ipasn import stale_warning

        warn = stale_warning(asn)
    except ImportError:
        warn = None
    if warn:
        con.print(_safe(warn), style="yellow")


def _asn_table():
    try:
        from stekker.ipasn import AsnTable

        return AsnTable.load_default()
    except Exception:
        return None


@app.command()
def export(
    scan: Optional[str] = typer.Option("latest", "--scan", help=_("Scan id or 'latest'.")),
    format: str = typer.Option("jsonl", "--format", "-f", help=_("jsonl (one object per domain) or csv (one row per "
                                                                 "DNS question).")),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help=_("File to write (default: standard output).")),
    db: str = db_option(),
    evidence: bool = typer.Option(True, "--evidence/--no-evidence", help=_("jsonl: include the raw DNS answers.")),
    attribution: bool = typer.Option(True, "--attribution/--no-attribution",
                                     help=_("jsonl: include services/saas (computed from the evidence if needed).")),
    sep: str = typer.Option(",", "--sep", help=_("csv separator (';' for Dutch Excel).")),
    as_of: Optional[str] = typer.Option(None, "--as-of", help=_("Ownership as of this date (YYYY-MM-DD); "
                                                               "default: the day the scan ran.")),
    force: bool = typer.Option(False, "--force", help=_("Replace an existing -o file that is not an earlier "
                                                        "export of the same format (never the database).")),
) -> None:
    """Export a scan's per-domain records.

    Text from DNS and input files is made inert: control and bidi characters
    become visible escapes (csv: \\xNN / \\uNNNN; jsonl: JSON \\u escapes,
    the same string) and csv cells that a spreadsheet would run as a formula
    get a leading '.

    jsonl: one JSON object per domain with domain, organisation, sector,
    status, services (category -> provider, company, parent, jurisdiction,
    confidence, evidence), saas, and the raw DNS questions and answers
    (docs/EXPORT.md). csv: one row per DNS question.

    Examples:

      stekker export --scan 1 --format jsonl -o scan1.jsonl

      stekker export --scan latest --format csv --sep ';' -o vragen.csv
    """
    as_of_day(as_of)  # a bad date fails before anything is written
    from stekker.cli.common import check_output
    from stekker.outputs import OutputError, replacing

    if format not in ("jsonl", "csv"):
        raise fail(_("--format must be jsonl or csv"))
    sep = csv_separator(sep, "--sep")
    if output is not None and str(output) != "-":
        kept: dict = {}
        try:
            check_output(output, f"export-{format}", option="--output", db=db, force=force, kept=kept)
        except OutputError as exc:
            raise fail(str(exc))
    else:
        output = None
    store = open_store(db)
    sid = _scan_id(store, scan)
    if output:
        with replacing(output, keep=kept) as tmp:
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                _export(store, sid, format, fh, sep, evidence, attribution, as_of)
        say_kept(kept)
        echo(_("wrote {path}").format(path=output), err=True)
    else:
        _export(store, sid, format, sys.stdout, sep, evidence, attribution, as_of)
    _say_if_partial(store, sid, db)


def _say_if_partial(store, sid: int, db: str) -> None:
    """An export of a scan that did not finish holds the domains measured so
    far only: said, and exit 1 (partial), as `report` and `site` do
    (explore-f M5: exit 0, and the missing domains were silently absent)."""
    info = store.scan_info(sid) or {}
    if info.get("state") == "finished":
        return
    c = info.get("counts") or {}
    done, total = int(c.get("done") or 0), int(c.get("targets") or 0)
    if info.get("state") == "running":  # (a resume is refused while it runs: export again when it has finished)
        echo(_("warning: scan {scan_id} is still running: {done} of the {total} domains of its input were measured "
               "so far; the export holds those {done} only (export again when the scan has finished)").format(
            scan_id=sid, done=done, total=total), err=True)
        raise typer.Exit(1)
    echo(_("warning: scan {scan_id} is {state}: {done} of the {total} domains of its input were measured; "
           "the export holds those {done} only (finish it: stekker scan --resume {scan_id} --db {db})").format(
        scan_id=sid, state=word(info.get('state')), done=done, total=total, db=display_db(db)), err=True)
    raise typer.Exit(1)


def _export(store, sid: int, format: str, out, sep: str, evidence: bool, attribution: bool,
            as_of: Optional[str]) -> None:
    from stekker.report.export import scan_records, write_jsonl_records, write_questions_csv

    if format == "csv":
        write_questions_csv(store.iter_evidence(sid), out, sep)
        return
    attributions, missing = (_stored_attributions(store, sid, as_of_day(as_of) or scan_day(store.scan_info(sid)))
                             if attribution else (None, None))
    write_jsonl_records(scan_records(store.iter_evidence(sid), sid, evidence, attributions, missing), out)


def _stored_attributions(store, sid: int, as_of):
    """The scan's stored attributions for the current knowledge base, read as
    ``stekker report`` reads them (:func:`stekker.attribute.load_attributions`):
    computed from the stored evidence and stored first when the scan has none
    for this knowledge base; recomputed in memory for an ``as_of`` other than
    the stored one.  Also a function that attributes (in memory) a domain
    finished after they were stored.  (None, None) without the attribute stage."""
    try:
        from stekker import kb as kbmod
        from stekker.attribute import attribute_domain, attribute_scan, load_attributions
    except ImportError:
        return None, None
    kb = kbmod.load()
    asn = _asn_table()
    missing = lambda ev: attribute_domain(ev, kb, asn, as_of)  # noqa: E731
    if not store.attributions_current(sid, kb.version) and store.scan_finished(sid):
        # (a scan that is not finished is attributed in memory by load_attributions, never stored)
        # computed and stored before reading, not while the evidence is being streamed
        try:
            attribute_scan(store, sid, kb=kb, asn_table=asn, as_of=as_of)
        except Exception as exc:  # noqa: BLE001 - a read-only or locked database: export reads, it need not store
            if not _cannot_write(exc):
                raise
            echo(_("note: the database cannot be written to; attributing in memory (nothing stored)"), err=True)
            return [], missing
    return load_attributions(store, sid, kb=kb, as_of=as_of, asn_table=asn), missing


def _cannot_write(exc: BaseException) -> bool:
    """A database that refuses writes (read-only file or mount, locked by a
    running scan, a read-only PostgreSQL role)."""
    text = str(exc).lower()
    return any(k in text for k in ("readonly", "read-only", "read only", "database is locked",
                                   "permission denied", "insufficient privilege"))
