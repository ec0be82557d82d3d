"""CLI commands of the audit stage (registered on stekker.cli.app):
``stekker audit init | check | report | seed``, and ``stekker audit --scan ID``
/ ``--domain D`` as a shortcut for ``seed``."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Optional

import typer

from stekker.cli import app, echo
from stekker.cli.common import as_of_day, db_option, display_db, fail, in_language, report_languages
from stekker.i18n import _, os_error

audit_app = typer.Typer(
    help=_(
        "Your own software inventory: who owns each supplier, what happens if a "
        "price doubles or a service is cut off, European alternatives and where to start.\n\n"
        "Example: stekker audit init . && stekker audit report inventory.yaml --html rapport.html --pdf rapport.pdf"
    ),
    invoke_without_command=True,
)
app.add_typer(audit_app, name="audit")


def _fail(msg: str, code: int = 2) -> None:
    raise fail(msg, code)


def _load_inventory(path: Path):
    from stekker.audit.loader import InventoryError, load

    try:
        return load(path)
    except InventoryError as exc:
        if len(exc.problems) == 1 and exc.problems[0].line is None and not exc.problems[0].field:
            _fail(str(exc.problems[0]), 2)  # about the file as a whole (a pipe, too large, not text): one line
        echo(_("{n} problem(s) in {file}:").format(n=len(exc.problems), file=_visible(path)), err=True)
        for p in exc.problems:
            echo(f"  {_visible(p)}", err=True)
        raise typer.Exit(2)


def _visible(text: object) -> str:
    from stekker.text import visible

    return visible(text)


def _check_out(path: Optional[Path], kind: str, option: str, force: bool, inputs=(), db=None, others=()) -> None:
    from stekker.cli.common import check_output
    from stekker.outputs import OutputError

    if path is None or str(path) == "-":
        return
    try:
        check_output(path, kind, option=option, db=db, inputs=inputs, force=force, others=others)
    except OutputError as exc:
        _fail(str(exc), 2)


def _seed(scan: Optional[str], domain: Optional[str], db: str, out: Optional[Path], into: Optional[Path],
          resolver: Optional[str], force: bool = False) -> None:
    from stekker.audit import seed as S
    from stekker.safeyaml import UserFileError, YAMLInputError, load_user_yaml, read_user_file

    if not scan and not domain:
        _fail(_("give --scan ID (optionally with --domain D to pick one domain of it) or --domain D to scan it now"), 2)
    if domain:
        from stekker.targets import NameProblem, _is_public, normalise_domain

        try:
            name = normalise_domain(domain)
        except NameProblem as exc:
            _fail(_("--domain {domain!r} is not a domain name: {reason}").format(domain=_visible(domain), reason=in_language(exc.reason)),
                  2)
        if _is_public(name):
            _fail(_("--domain {domain!r} is a public suffix (like 'nl' or 'co.uk'), not an organisation's "
                    "domain").format(domain=_visible(domain)), 2)
        # the name as stored and scanned (an internationalised name as its A-label: münchen.de is
        # xn--mnchen-3ya.de); explore-f M9: the Unicode form was scanned, then not found in the scan
        domain = name
    if into is not None and into.exists() and not into.is_file():
        _fail(_("--into {file} is not a file").format(file=into), 2)
    if into is not None and into.suffix.lower() in (".csv", ".tsv", ".txt"):
        _fail(_("--into {file}: --into adds to a YAML inventory; for a CSV inventory write the detected items "
                "to a new file (-o seeded.yaml) and copy what you keep into your CSV (nothing was changed)").format(
                    file=into), 2)
    from stekker.outputs import is_stekker_output, keep_copy

    replaced_by_force = False  # -o over a file that is not stekker's unchanged output: a copy is kept
    if out is not None and not (into is not None and out.exists() and into.exists() and out.samefile(into)):
        _check_out(out, "inventory", "--output", force, db=db)
        replaced_by_force = out.is_file() and not is_stekker_output(out, "inventory")
    existing, into_text, into_enc = None, "", "utf-8"
    if into is not None and into.exists():
        from stekker.audit.loader import InventoryError, decode_text

        try:
            # bounded, a pipe or device refused unread; decoded as `audit check` reads it (UTF-8, else Windows-1252)
            into_text, into_enc = decode_text(read_user_file(into), str(into))
            existing = load_user_yaml(into_text, str(into)) or {}
        except InventoryError as exc:
            _fail(_("--into {file}: {error}").format(file=into, error=exc.problems[0].message if exc.problems else exc), 2)
        except (YAMLInputError, UserFileError) as exc:
            _fail(_("--into {file}: {error}").format(file=into, error=exc), 2)
        if not isinstance(existing, dict):
            _fail(_("--into {file}: expected an inventory (a mapping with 'items:')").format(file=into), 2)
    if resolver and not scan:  # a typo in --resolver is refused before the database is opened, as by `scan`
        from stekker.collect.transport import parse_resolver

        try:
            parse_resolver(resolver)
        except ValueError as exc:
            _fail(str(exc), 2)
    try:
        from stekker.store import Store

        store = Store.open(db, create=not scan)
    except Exception as exc:  # noqa: BLE001
        _fail(_("cannot open the database {db}: {error}").format(db=display_db(db), error=exc), 2)
    if scan:
        from stekker.cli.common import scan_id as resolve

        scan_id = resolve(store, scan)  # (exit 2 for none; says which newer scans 'latest' passed over)
    else:
        try:
            scan_id = S.scan_one_domain(store, domain, [resolver] if resolver else None)
        except Exception as exc:  # noqa: BLE001
            _fail(_("scanning {domain} failed: {error}").format(domain=domain, error=in_language(exc)), 3)
        echo(_("scanned {domain} as scan {scan_id} in {db}").format(domain=domain, scan_id=scan_id, db=display_db(db)),
             err=True)
        try:  # this one-domain scan is now the database's newest: 'latest' means it
            older = [x for x in store.list_scans() if x["id"] != scan_id]
        except Exception:  # noqa: BLE001
            older = []
        if older:
            echo(_("note: scan {scan_id} (audit {domain}) is now the newest in {db}: `--scan latest` means this "
                   "one-domain scan; give the number of the scan you mean (`stekker scans` lists them)").format(
                       scan_id=scan_id, domain=domain, db=display_db(db)), err=True)
    try:
        atts = S.attributions_of(store, scan_id, domain)  # loaded once: the items and what failed
    except Exception as exc:  # noqa: BLE001
        _fail(_("cannot load attributions of scan {scan_id}: {error}").format(scan_id=scan_id, error=exc))
    try:  # a domain of the scan with no attribution (the scan did not finish there) is not measured
        unmeasured = S.unmeasured_targets(store, scan_id, atts, domain)
    except Exception as exc:  # noqa: BLE001
        _fail(_("cannot load the domains of scan {scan_id}: {error}").format(scan_id=scan_id, error=exc))
    items, failed = S.seed_items(atts), S.not_measured(atts) + unmeasured
    write_enc = "utf-8"  # a user's file extended in place keeps its encoding (below)
    inv = S.merge(existing, items)
    text = S.to_yaml(inv, failed)
    target = out or into
    added = S.new_items(existing, items) if existing is not None else items
    if into is not None and into.exists() and existing is not None:
        # the user's own file: add the new items to its text, keeping every comment and line; when
        # its shape does not allow that, the rewritten file comes with a copy of the original
        try:
            kept = S.append_to_text(into_text, added)
            if kept is not None and load_user_yaml(kept, str(into)) != inv:
                kept = None  # the text does not read back as the merged inventory: rewrite (with a copy)
        except (YAMLInputError, OSError):
            kept = None
        if kept is not None:
            if failed:  # the not-measured note once: a line already in the file is not added again
                have = set(kept.splitlines())
                eol = "\r\n" if "\r\n" in into_text else "\n"
                kept = "".join(line + eol for line in S.not_measured_lines(failed) if line not in have) + kept
            text = kept
            if into_enc != "utf-8":  # the user's file keeps its encoding while what is added fits in it
                try:
                    text.encode(into_enc)
                    write_enc = into_enc
                except UnicodeEncodeError:
                    echo(_("note: {file} was {encoding} text; an added item does not fit in it, so the file is "
                           "written as UTF-8").format(file=into, encoding=into_enc), err=True)
        elif target == into:
            try:
                backup = keep_copy(into)  # never over an earlier copy
            except OSError as exc:
                _fail(_("--into {file}: cannot keep a copy of it before rewriting ({error})").format(
                    file=into, error=os_error(exc)), 2)
            echo(_("note: {file} is rewritten (its list could not be extended in place); your original, with its "
                   "comments, is kept as {backup}").format(file=into, backup=backup), err=True)
    if target and target is out and replaced_by_force:
        try:
            backup = keep_copy(out)
        except OSError as exc:
            _fail(_("--output {file}: cannot keep a copy of it before replacing it ({error})").format(
                file=out, error=os_error(exc)), 2)
        echo(_("note: {file} is replaced (--force); the file as it was is kept as {backup}").format(file=out, backup=backup),
             err=True)
    if target:
        from stekker.outputs import write_text

        write_text(target, text, encoding=write_enc if target == into else "utf-8")
        if len(items) > len(added):
            echo(_("{n} detected item(s) written to {file} ({already} already in it); confirm them, then: "
                   "stekker audit check {file}").format(n=len(added), file=target, already=len(items) - len(added)))
        else:
            echo(_("{n} detected item(s) written to {file}; confirm them, then: stekker audit check {file}").format(
                n=len(added), file=target))
    else:
        sys.stdout.write(text)
    if failed:
        # a DNS error is never "nothing detected": say what could not be measured, exit 1 (partial)
        for d, cats in failed[:20]:
            echo(_("warning: the DNS of {domain} could not be measured for {categories} (DNS error): what runs "
                   "there is not known - scan again later or add it yourself").format(
                       domain=_visible(d), categories=", ".join(cats)), err=True)
        if len(failed) > 20:
            echo(_("warning: ... and {n} more domains not measured").format(n=len(failed) - 20), err=True)
        raise typer.Exit(1)


@audit_app.callback()
def main(
    ctx: typer.Context,
    scan: Optional[str] = typer.Option(None, "--scan", help=_("Seed from this scan's attributions (same as `audit seed --scan`).")),
    domain: Optional[str] = typer.Option(None, "--domain", help=_("Scan this domain now and seed from it (with --scan: pick this domain of that scan).")),
    db: str = db_option(help=_("Database with scans (SQLite path or postgresql:// URL).")),
    resolver: Optional[str] = typer.Option(None, "--resolver", "-r", help=_("DNS resolver for --domain.")),
    out: Optional[Path] = typer.Option(None, "-o", "--output", "--out", help=_("Write the seeded inventory here (default: stdout).")),
    force: bool = typer.Option(False, "--force", help=_("Replace an existing file that is not an earlier seeded inventory.")),
) -> None:
    """Your own software inventory.

    Example: stekker audit --scan 1 --db stekker.db -o inventory.yaml
    """
    if ctx.invoked_subcommand is not None:
        return
    if scan or domain:
        _seed(scan, domain, db, out, None, resolver, force)
        raise typer.Exit(0)
    typer.echo(ctx.get_help())
    raise typer.Exit(0)


@audit_app.command("init")
def init(
    dir: Path = typer.Argument(Path("."), help=_("Directory to write inventory.yaml (template) and inventory-example.yaml.")),
    force: bool = typer.Option(False, "--force", help=_("Overwrite existing files.")),
) -> None:
    """Write a commented inventory template and a realistic example (a fictional
    25-person Dutch company).

    Example: stekker audit init mijn-audit && stekker audit report mijn-audit/inventory-example.yaml --html rapport.html
    """
    from stekker.audit.catalog import DATA_DIR

    if dir.exists() and not dir.is_dir():
        _fail(_("{dir} is not a directory").format(dir=dir), 2)
    try:
        dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(_("cannot create {dir}: {error}").format(dir=dir, error=os_error(exc)), 2)
    pairs = [(DATA_DIR / "inventory_template.yaml", dir / "inventory.yaml"),
             (DATA_DIR / "inventory_example.yaml", dir / "inventory-example.yaml")]
    from stekker.outputs import SQLITE_MAGIC, keep_copy, replacing

    for src, dst in pairs:
        if dst.exists() and not force:
            _fail(_("{file} exists (use --force to overwrite)").format(file=dst), 2)
        if dst.is_dir() or (dst.is_file() and dst.read_bytes()[:16] == SQLITE_MAGIC):
            _fail(_("{file} is a directory or a database; stekker never overwrites one").format(file=dst), 2)
    for src, dst in pairs:
        if dst.is_file() and (dst.stat().st_size != src.stat().st_size or dst.read_bytes() != src.read_bytes()):  # --force over a file the user changed
            try:
                backup = keep_copy(dst)
            except OSError as exc:
                _fail(_("cannot keep a copy of {file} before replacing it ({error}); nothing replaced").format(
                    file=dst, error=os_error(exc)), 2)
            echo(_("note: {file} differed from stekker's; the file as it was is kept as {backup}").format(
                file=dst, backup=backup), err=True)
        with replacing(dst) as tmp:
            shutil.copyfile(src, tmp)
        echo(_("wrote {file}").format(file=dst))
    echo(_("next: edit {file}, then: stekker audit check {file}").format(file=pairs[0][1]))


@audit_app.command("check")
def check(file: Path = typer.Argument(..., help=_("Inventory (.yaml/.yml or .csv)."))) -> None:
    """Validate an inventory; problems are shown with file, line and field.
    Also lists items whose product or vendor is not known (reported as unknown).

    Example: stekker audit check inventory.yaml
    """
    from stekker.audit.resolve import load_kb, resolve

    inv = _load_inventory(file)
    kb, err = load_kb()
    if err:
        echo(_("warning: knowledge base not loaded ({error}); owners will be unknown").format(error=err), err=True)
    res = resolve(inv, kb)
    echo(_("{file}: OK, {n} item(s)").format(file=_visible(file), n=len(inv.items)))
    for r in res:
        if r.status != "resolved":
            why = _reason(r.reason, r.candidates)
            echo(_("  unknown: {item}: {reason}").format(item=_visible(r.item), reason=_visible(why)))
    det = [it.name for it in inv.items if it.detected]
    if det:
        echo(_("  detected in DNS, to confirm: {items}").format(items=_visible(", ".join(det))))


def _reason(code: object, candidates: list[str] | tuple = ()) -> object:
    """Why an item is unknown (a code of stekker.audit.resolve: ``company_not_in_kb``): in English the
    code itself, as `audit check` always printed it, with the companies an ambiguous vendor name fits
    (``vendor_ambiguous (Topicus.com B.V., Topicus.com Inc.)``); in Dutch the audit report's words."""
    from stekker.i18n import language

    if language() != "nl" or not isinstance(code, str):
        return f"{code} ({', '.join(candidates)})" if candidates else code
    from stekker.audit import catalog as C

    try:
        return C.t(f"reason.{code}", "nl", candidates=", ".join(candidates))
    except (KeyError, TypeError):
        return code


@audit_app.command("report")
def report(
    file: Path = typer.Argument(..., help=_("Inventory (.yaml/.yml or .csv).")),
    as_of: Optional[str] = typer.Option(None, "--as-of", help=_("Ownership as of this date (YYYY-MM-DD); default today or the inventory's as_of.")),
    lang: Optional[str] = typer.Option(None, "--lang", help=_("Report language: nl or en (default: your language: "
                                                                "STEKKER_LANG, else the locale; docs/CLI.md).")),
    html: Optional[Path] = typer.Option(None, "--html", help=_("Write the HTML report here.")),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help=_("Write a PDF (headless Chromium) here.")),
    json_out: Optional[Path] = typer.Option(None, "--json", help=_("Write all numbers as JSON here ('-' = stdout).")),
    force: bool = typer.Option(False, "--force", help=_("Replace existing output files that are not earlier stekker "
                                                        "outputs of the same kind (never the inventory).")),
) -> None:
    """Resolve owners, run the scenarios, compare European alternatives and
    make the plan; print a summary and write HTML/PDF/JSON.

    Example: stekker audit report inventory.yaml --lang en --as-of 2026-01-01 --html report.html --pdf report.pdf
    """
    import tempfile

    from stekker.audit import report as R
    from stekker.outputs import replacing, write_text
    from stekker.audit.resolve import load_kb

    lang = report_languages(lang)[0]  # (its JSON is language-neutral)
    as_of_day(as_of)  # a bad or future date fails before anything is written
    outs = {"--html": (html, "html"), "--pdf": (pdf, "pdf"), "--json": (json_out, "audit-json")}
    for opt, (path, kind) in outs.items():
        _check_out(path, kind, opt, force, inputs=[file],
                   others=[o for k, (o, _kind) in outs.items() if k != opt and o is not None and str(o) != "-"])
    inv = _load_inventory(file)
    kb, err = load_kb()
    if err:
        echo(_("warning: knowledge base not loaded ({error}); owners will be unknown").format(error=err), err=True)
    a = R.run_audit(inv, kb, as_of, kb_error=err)
    ctx = R.context(a, lang)
    if json_out is None or str(json_out) != "-":
        for line in ctx["summary"]:
            echo(f"- {_visible(line)}")  # item names come from the inventory file
    if json_out is not None:
        from stekker.text import json_inert

        text = json_inert(json.dumps(a.to_dict(), ensure_ascii=False, indent=2))
        if str(json_out) == "-":
            sys.stdout.write(text + "\n")
        else:
            write_text(json_out, text)
            echo(_("json: {file}").format(file=json_out))
    page = None
    if html or pdf:
        page = R.render_html(a, lang)
    if html:
        write_text(html, page)
        echo(_("html: {file}").format(file=html))
    if pdf:
        with tempfile.TemporaryDirectory() as td:
            src = html if html else Path(td) / "report.html"
            if not html:
                src.write_text(page, encoding="utf-8")
            try:
                with replacing(pdf) as tmp:
                    R.html_to_pdf(src, tmp)
            except Exception as exc:  # noqa: BLE001
                _fail(_("PDF failed: {error}").format(error=exc), 1)
        echo(_("pdf: {file}").format(file=pdf))


@audit_app.command("seed")
def seed(
    scan: Optional[str] = typer.Option(None, "--scan", help=_("Scan id (or reference) whose attributions to use.")),
    domain: Optional[str] = typer.Option(None, "--domain", help=_("Scan this domain now (with --scan: pick this domain of that scan).")),
    db: str = db_option(help=_("Database with scans.")),
    resolver: Optional[str] = typer.Option(None, "--resolver", "-r", help=_("DNS resolver for --domain.")),
    out: Optional[Path] = typer.Option(None, "-o", "--output", "--out", help=_("Write the inventory here (default: stdout).")),
    into: Optional[Path] = typer.Option(None, "--into", help=_("Add detected items to this existing inventory (in place unless -o).")),
    force: bool = typer.Option(False, "--force", help=_("Replace an existing -o file that is not an earlier seeded inventory.")),
) -> None:
    """Seed an inventory with what DNS reveals (Microsoft 365, Google Workspace,
    SaaS tokens, hosting), marked `detected: true` for you to confirm.

    Examples: stekker audit seed --domain example.nl --into inventory.yaml ;
    stekker audit seed --scan 1 --domain example.nl --db stekker.db -o inventory.yaml
    """
    _seed(scan, domain, db, out, into, resolver, force)
