"""CLI commands of the report stage (registered on stekker.cli.app): ``stekker report``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Tuple

import typer

from stekker.cli import app, echo
from stekker.cli.common import as_of_day, csv_separator, db_option, load_kb, open_store, read_explanations, report_languages
from stekker.cli.common import fail as _err
from stekker.cli.common import say_kept
from stekker.cli.common import scan_id as resolve
from stekker.i18n import _, os_error


def _policy_ids(values: List[str]) -> List[str]:
    out: List[str] = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return out


@app.command()
def report(
    scan: str = typer.Option("latest", "--scan", "-s", help=_("Scan ID, or 'latest'.")),
    db: str = db_option(),
    policy: List[str] = typer.Option([], "--policy", "-p", help=_("Definition(s) to apply, in this order; repeatable "
                                       "or comma-separated (default: nos, broad, eu-controlled, strict).")),
    policies_file: Optional[Path] = typer.Option(None, "--policies", help=_("YAML file with your own definitions and "
                                                   "country sets (same format as the shipped "
                                                   "judge/data/policies.yaml).")),
    as_of: Optional[str] = typer.Option(None, "--as-of", help=_("Judge ownership as of this date (YYYY-MM-DD); "
                                          "default: the day the scan ran.")),
    lang: Optional[str] = typer.Option(None, "--lang", help=_("nl or en (default: your language: STEKKER_LANG, "
                                                                "else the locale; docs/CLI.md).")),
    html: Optional[Path] = typer.Option(None, "--html", help=_("Write the self-contained HTML report here.")),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help=_("Write a PDF (needs headless Chromium).")),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help=_("Per-domain verdicts as CSV.")),
    csv_sep: str = typer.Option(",", "--csv-sep", help=_("CSV separator; ';' for Dutch Excel.")),
    jsonl: Optional[Path] = typer.Option(None, "--jsonl", help=_("Per-domain verdicts with evidence as JSON lines.")),
    parquet: Optional[Path] = typer.Option(None, "--parquet", help=_("Per-domain verdicts as Parquet.")),
    organisation: Optional[str] = typer.Option(None, "--organisation", help=_("One organisation: a one-page "
                                                 "'who can pull the plug' report (terminal, --html, --pdf).")),
    compare: Optional[Tuple[str, str]] = typer.Option(None, "--compare", help=_("OLD NEW: what changed between two "
                                                        "scans (the report is about NEW).")),
    explanations: Optional[Path] = typer.Option(None, "--explanations", help=_("YAML file of explanations "
                                                  "('pas toe of leg uit'): shown next to verdicts, never change "
                                                  "them.")),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_("No terminal tables (only files and messages).")),
    force: bool = typer.Option(False, "--force", help=_("Replace existing output files that are not earlier "
                                                        "stekker outputs of the same kind (never the database "
                                                        "or an input file).")),
) -> None:
    """Judge a scan under explicit definitions of "sovereign" and report it.

    Shares are always shown with their denominator; DNS errors, unknown
    providers and non-existent domains are excluded from the shares and
    counted, never counted as sovereign.

    Examples:

      stekker report --scan latest

      stekker report --scan 3 --lang nl --html rapport.html --pdf rapport.pdf

      stekker report --policy nos,strict --as-of 2026-06-01 --csv out.csv --csv-sep ';'

      stekker report --organisation "Gemeente Utrecht" --lang nl --html utrecht.html

      stekker report --compare 2 5 --html changes.html

      stekker report --policies mine.yaml --policy my-policy --explanations toelichting.yaml
    """

    from stekker.judge import PolicyError, load_policies
    from stekker.report import build, load_scan, measurement_date
    from stekker.report.compare import compare as _compare
    from stekker.report.export import write_csv, write_jsonl, write_parquet
    from stekker.report.render import RenderError, render_html, render_org_html, write_pdf
    from stekker.report.terminal import make_console, print_organisation, print_report
    from stekker.store import StoreError

    from stekker.cli.common import check_output
    from stekker.outputs import OutputError, replacing

    lang, data_lang = report_languages(lang)
    if organisation is not None and not organisation.strip():
        raise _err(_("--organisation is empty: give an organisation's name (or leave it out for the whole report)"))
    outs = {"--html": (html, "html"), "--pdf": (pdf, "pdf"), "--csv": (csv_path, "csv"),
            "--jsonl": (jsonl, "jsonl"), "--parquet": (parquet, "parquet")}
    kept: dict = {}
    try:
        for opt, (path, kind) in outs.items():
            if path is not None:
                check_output(path, kind, option=opt, db=db, inputs=[policies_file, explanations], force=force,
                             others=[o for k, (o, _kind) in outs.items() if k != opt], kept=kept)
    except OutputError as exc:
        raise _err(str(exc))
    csv_sep = csv_separator(csv_sep, "--csv-sep")
    day = as_of_day(as_of)
    try:
        cfg = load_policies(policies_file) if policies_file else load_policies()
        pols = cfg.select(_policy_ids(policy))
    except PolicyError as exc:
        raise _err(str(exc))
    exps = read_explanations(explanations)
    kb = load_kb()
    store = open_store(db)

    console = make_console()  # terminal width; in a file or pipe $COLUMNS, else a wide layout
    say = (lambda m: None) if quiet else (lambda m: echo(m, err=True))
    comparison = None
    try:
        scan_ref = resolve(store, compare[1] if compare else scan)  # ('latest': says what it passed over)
        attributions, meta = load_scan(store, scan_ref, kb)
        when = day or measurement_date(meta)
        rep = build(attributions, kb, pols, when, meta=meta, explanations=exps)
        if compare:
            old_attr, old_meta = load_scan(store, resolve(store, compare[0]), kb)
            old_day = day or measurement_date(old_meta)
            old_rep = build(old_attr, kb, pols, old_day, meta=old_meta)
            # a scan that did not finish (explore-e L4, field trial F3): the domains of its input it did not
            # measure are "not measured in it", neither added to the list (older scan) nor removed (newer)
            unfinished = {side: next((w for w in m.get("warnings") or [] if getattr(w, "key", None) == "scan_unfinished"),
                                     None) for side, m in (("old", old_meta), ("new", meta))}
            inputs = {side: ({t["domain"] for t in store.iter_targets(m["scan_id"])} if unfinished[side] else None)
                      for side, m in (("old", old_meta), ("new", meta))}
            comparison = _compare(old_rep.results, rep.results, str(old_meta["scan_id"]), str(meta["scan_id"]),
                                  old_input=inputs["old"], new_input=inputs["new"])
            from stekker.text import Message

            for side, w in unfinished.items():
                if w is not None:
                    a = w.args
                    which, instead = ("older", "added to") if side == "old" else ("newer", "removed from")
                    meta.setdefault("warnings", []).append(Message(
                        f"compare_{side}_unfinished", f"the {which} scan of the comparison, scan {a['scan']}, is "
                        f"{a['state']}: {a['done']} of the {a['total']} domains of its input were measured; the "
                        f"domains it did not measure are listed as not measured in it, not as {instead} the list",
                        **a))
            if old_meta["scan_id"] == meta["scan_id"]:
                echo(_("warning: --compare {old} {new} compares scan {scan_id} with itself").format(
                    old=compare[0], new=compare[1], scan_id=meta['scan_id']), err=True)
            else:
                from stekker.dates import as_datetime

                t_old, t_new = as_datetime(old_meta.get("started_at")), as_datetime(meta.get("started_at"))
                if t_old and t_new and t_old > t_new:
                    echo(_("warning: --compare OLD NEW: scan {old} ({t_old:%Y-%m-%d %H:%M}) started "
                           "after scan {new} ({t_new:%Y-%m-%d %H:%M}); every change reads backwards - "
                           "give --compare {new} {old}").format(old=old_meta['scan_id'], new=meta['scan_id'],
                                                                t_old=t_old, t_new=t_new), err=True)
    except (StoreError, LookupError) as exc:
        raise _err(str(exc))

    org_name = None
    if organisation:
        org_name = rep.find_organisation(organisation)
        if org_name is None:
            close = [o for o in rep.org_verdicts if organisation.lower()[:4] in o.lower()][:5]
            if close:
                raise _err(_("no organisation named {name!r} in scan {scan_id}; similar: {similar}").format(
                    name=organisation, scan_id=meta['scan_id'], similar=", ".join(close)))
            raise _err(_("no organisation named {name!r} in scan {scan_id}").format(name=organisation,
                                                                                  scan_id=meta['scan_id']))

    if not quiet:
        if org_name:
            print_organisation(rep, org_name, lang, console)
        else:
            print_report(rep, lang, console, comparison)

    export_rep = rep
    if org_name:
        from dataclasses import replace

        export_rep = replace(rep, results=rep.org_results(org_name))
    try:
        html_text = None
        if html or pdf:
            html_text = render_org_html(rep, org_name, lang) if org_name else render_html(rep, lang, comparison)
        if html:
            with replacing(html, keep=kept) as tmp:
                tmp.write_text(html_text, encoding="utf-8")
            say(_("wrote {path}").format(path=html))
        if pdf:
            with replacing(pdf, keep=kept) as tmp:
                write_pdf(html_text, tmp)
            say(_("wrote {path}").format(path=pdf))
        if csv_path:
            with replacing(csv_path, keep=kept) as tmp:
                n = write_csv(export_rep, str(tmp), csv_sep, data_lang)
            say(_("wrote {path} ({n} domains)").format(path=csv_path, n=n))
        if jsonl:
            with replacing(jsonl, keep=kept) as tmp:
                n = write_jsonl(export_rep, str(tmp), data_lang)
            say(_("wrote {path} ({n} domains)").format(path=jsonl, n=n))
        if parquet:
            with replacing(parquet, keep=kept) as tmp:
                n = write_parquet(export_rep, str(tmp), data_lang)
            say(_("wrote {path} ({n} domains)").format(path=parquet, n=n))
    except RenderError as exc:
        raise _err(str(exc), 1)
    except OSError as exc:
        raise _err(_("cannot write output: {error}").format(error=os_error(exc)), 2)
    finally:
        say_kept(kept)
    if meta.get("state") not in (None, "finished"):
        if quiet:  # the tables say it; without them it is said here (field trial cron 4: exit 1, an empty log)
            from stekker.cli.common import in_language

            for w in meta.get("warnings") or []:
                if getattr(w, "key", None) == "scan_unfinished":
                    echo(_("warning: {message}").format(message=in_language(w)), err=True)
        return 1  # a report of an unfinished scan is a partial result (docs/CLI.md); the report says so
