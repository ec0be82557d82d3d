"""CLI commands of the attribute stage (registered on stekker.cli.app):
``stekker attribute``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from stekker.cli import app, echo
from stekker.cli.common import as_of_day, db_option, in_language, open_store, word
from stekker.cli.common import scan_id as resolve
from stekker.cli.common import fail as _err
from stekker.i18n import _

STATUS_COLS = ("attributed", "self", "unknown", "absent", "error")



@app.command()
def attribute(
    scan: str = typer.Option("latest", "--scan", help=_("Scan ID, or 'latest'.")),
    db: str = db_option(),
    as_of: Optional[str] = typer.Option(None, "--as-of", help=_("Ownership date YYYY-MM-DD (default: today): "
                                                               "parent and jurisdiction as on that day.")),
    kb_dir: Optional[Path] = typer.Option(None, "--kb", help=_("Knowledge-base directory (default: the shipped one).")),
    top: int = typer.Option(3, "--top", min=0, max=1000, help=_("Top providers shown per category.")),
    as_json: bool = typer.Option(False, "--json", help=_("Print the summary as JSON instead of a table.")),
) -> None:
    """Work out who runs each service (provider -> company -> ultimate parent ->
    jurisdiction) from a scan's stored evidence, with the current knowledge
    base. No DNS is asked: results are recomputed and stored under the
    knowledge-base version, replacing earlier results of that version.

    Per domain and category the status is attributed, self (the
    organisation's own name/network), unknown (evidence, no conclusion),
    absent (an authoritative empty answer) or error (a DNS error; never
    counted as absent).

    Examples:

      stekker attribute --scan latest

      stekker attribute --scan 3 --db stekker.db --as-of 2026-01-01

      stekker attribute --scan 3 --db postgresql://stekker@localhost/stekker --json
    """
    from stekker import kb as kbmod
    from stekker.attribute import attribute_scan
    from stekker.store import StoreError

    day = as_of_day(as_of)  # a bad or future date fails before anything is read
    try:
        k = kbmod.load(kb_dir) if kb_dir else kbmod.load()
    except kbmod.KBError as exc:
        raise _err(str(exc))
    store = open_store(db)
    scan_id = resolve(store, scan)
    table = None
    try:
        from stekker.ipasn import AsnTable

        table = AsnTable.load_default()
    except ImportError:  # pragma: no cover
        table = None
    try:
        summary = attribute_scan(store, scan_id, kb=k, asn_table=table, as_of=day)
    except StoreError as exc:
        raise _err(str(exc))
    if as_json:
        echo(json.dumps(summary, indent=2, default=str))
    else:
        for w in summary.get("warnings", []):
            echo(_("warning: {warning}").format(warning=in_language(w)), err=True)
        _print_summary(summary, top)
    if table is None:
        # attributed without IP-to-ASN data (none installed, a mis-set STEKKER_DATA_DIR): every service
        # known only by its addresses is unknown - a partial result, exit 1 (explore-f L14: exit 0)
        echo(_("warning: no IP-to-ASN data is installed: services known only by their addresses are 'unknown' in "
               "these attributions (`stekker data update`, or check STEKKER_DATA_DIR); exit 1"), err=True)
        raise typer.Exit(1)


def _print_summary(summary: dict, top: int) -> None:
    from rich.console import Console
    from rich.table import Table

    from stekker.attribute import CATEGORIES

    con = Console()
    ds = summary.get("datasets") or []
    dsn = ", ".join(f"{d.get('name')} {d.get('version') or d.get('data_date') or ''}".strip() for d in ds) or _("none")
    t = Table(title=_("scan {scan_id}: {domains} domains, knowledge base {kb_version}, ownership as of {as_of}, "
                      "IP-to-ASN: {datasets}").format(scan_id=summary['scan_id'], domains=summary['domains'],
                                                      kb_version=summary['kb_version'], as_of=summary['as_of'],
                                                      datasets=dsn))
    t.add_column(_("category"))  # (the categories and statuses are the attributions' names)
    for c in STATUS_COLS:
        t.add_column(word(c), justify="right")  # (the attributions store the codes)
    t.add_column(_("top providers"))
    for cat in (*CATEGORIES,):
        counts = summary["counts"].get(cat, {})
        provs = sorted(summary["providers"].get(cat, {}).items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        t.add_row(cat, *[str(counts.get(c, 0)) for c in STATUS_COLS],
                  ", ".join(f"{p} {n}" for p, n in provs))
    saas = summary["counts"].get("saas", {})
    provs = sorted(summary["providers"].get("saas", {}).items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    t.add_row(_("saas (domains with any)"), str(saas.get("attributed", 0)), "", "", str(saas.get("none", 0)), "",
              ", ".join(f"{p} {n}" for p, n in provs))
    con.print(t)
    st = summary.get("domain_status", {})
    con.print(_("domains: {counts}").format(counts=", ".join(f"{k} {v}" for k, v in sorted(st.items()))))
