"""CLI commands of the scan stage (registered on stekker.cli.app): ``stekker scan``."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import List, Optional

import typer

from stekker.cli import app, echo
from stekker.cli.common import db_option, display_db, in_language, open_store, word
from stekker.cli.common import fail as _err
from stekker.i18n import _, ngettext, num


@app.command()
def scan(
    file: Optional[Path] = typer.Argument(None, help=_("Input: .txt (one domain per line) or .csv with a 'domain' column "
                                                       "(optional: organisation, sector, hosts).")),
    db: str = db_option(),
    resolver: List[str] = typer.Option([], "--resolver", "-r", help=_("Resolver IP[:PORT]; repeatable (round-robin with "
                                                                      "failover). Default: the system's resolvers.")),
    qps: float = typer.Option(0.0, "--qps", min=0.0, max=10_000_000.0, help=_("Global cap on queries per second "
                                                                            "(0 = none).")),
    window: int = typer.Option(256, "--window", min=1, max=1_000_000,
                               help=_("Initial number of questions in flight (adapts between 16 and --max-window; "
                                      "questions of slow zones wait outside it).")),
    max_window: int = typer.Option(384, "--max-window", min=1, max=1_000_000,
                                   help=_("Upper bound of questions in flight per resolver (a resolver on its shipped "
                                          "defaults starts dropping questions well before 1,000 waiting from one "
                                          "client; raise it for a resolver with several cores).")),
    outage_max: float = typer.Option(120.0, "--outage-max", min=1.0, max=86_400.0,
                                     help=_("When every resolver falls silent (not even answering the root's name "
                                            "servers from its cache), pause up to this many seconds for it to come "
                                            "back, then stop cleanly (resume later with --resume).")),
    domain_deadline: float = typer.Option(60.0, "--domain-deadline", min=0.0, max=86_400.0,
                                          help=_("Seconds one domain may take (0 = no limit); what is still unanswered "
                                                 "then is recorded as a 'deadline' error, never as absent.")),
    timeout: float = typer.Option(2.0, "--timeout", min=0.05, max=300.0, help=_("Seconds to wait for one answer.")),
    retries: int = typer.Option(2, "--retries", min=0, max=10, help=_("Further attempts after a timeout (next resolver).")),
    workers: int = typer.Option(0, "--workers", min=0, max=64,
                                help=_("Engine processes sharing the domains (and the window and --qps between "
                                       "them). 0 (default): one per core (at most 4) when the resolver is on this "
                                       "machine or the local network and answers within 10 ms, else 1; the choice "
                                       "is shown on the first line.")),
    resume: Optional[int] = typer.Option(None, "--resume", min=1, max=2**63 - 1, help=_("Finish scan ID: only the domains not yet "
                                                                          "done.")),
    ms_realm: bool = typer.Option(False, "--ms-realm",
                                  help=_("After the DNS questions, ask Microsoft's public user-realm endpoint whether "
                                         "each domain is verified in an Entra ID tenant (one HTTPS request per domain; "
                                         "identity evidence, and 'likely Microsoft' for mail behind a filtering "
                                         "gateway). Off by default: it tells Microsoft which domains you look at.")),
    ms_realm_url: Optional[str] = typer.Option(None, "--ms-realm-url",
                                               help=_("Another realm endpoint with {domain} (a mirror; http:// only to "
                                                      "a loopback address). Default: Microsoft's.")),
    ms_realm_qps: Optional[float] = typer.Option(None, "--ms-realm-qps", min=0.1, max=1000.0,
                                                 help=_("Realm requests per second at most (default 20).")),
    label: Optional[str] = typer.Option(None, "--label", help=_("A name for this scan (shown in reports).")),
    progress: str = typer.Option("auto", "--progress", help=_("auto (bar on a terminal, lines otherwise), bar, lines, none.")),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=_("Only the summary.")),
) -> None:
    """Measure domains from public DNS and store the raw answers.

    Every question ends present, absent (NXDOMAIN/NODATA) or error (with its
    kind); errors are never counted as absent. Ctrl-C stops cleanly and keeps
    finished domains; resume with --resume ID.

    Examples:

      stekker scan domains.csv

      stekker scan gemeenten.txt --resolver 9.9.9.9 --resolver 1.1.1.1 --qps 2000

      stekker scan --resume 3
    """
    from stekker import __version__
    from stekker.collect.plan import load_plan
    from stekker.collect.run import RunOptions, run_scan
    from stekker.collect.transport import NoResolverError, TransportConfig, format_resolver, parse_resolver, system_resolvers
    from stekker.store import StoreError

    if progress not in ("auto", "bar", "lines", "none"):
        raise _err(_("--progress must be auto, bar, lines or none"))
    import math

    if (file is None) == (resume is None):
        raise _err(_("give an input FILE, or --resume SCAN_ID (not both)"))
    if not (math.isfinite(qps) and math.isfinite(timeout)):
        raise _err(_("--qps and --timeout must be finite numbers"))
    if 0 < qps < 0.1:  # one question per 10 s or slower never finishes a domain
        raise _err(_("--qps must be 0 (no cap) or at least 0.1"))
    if ms_realm_qps is not None and not math.isfinite(ms_realm_qps):
        raise _err(_("--ms-realm-qps must be a finite number"))
    if (ms_realm_url is not None or ms_realm_qps is not None) and not ms_realm:
        raise _err(_("--ms-realm-url and --ms-realm-qps need --ms-realm"))
    if ms_realm_url is not None:
        from stekker.collect.realm import RealmURLError, check_url

        try:
            check_url(ms_realm_url)
        except RealmURLError as exc:
            raise _err(str(exc))
    if label is not None and len(label) > 200:
        raise _err(_("--label is longer than 200 characters"))
    if label is not None and (label.strip().lower() in ("latest", "last") or label.strip().isdigit()):
        # --scan LABEL would never find it: a number or "latest" names a scan by id (explore-f L11)
        raise _err(_("--label {label!r} reads as a scan number or 'latest' in --scan; give a name with a "
                     "letter").format(label=label))
    if label is not None and _safe_msg(label) != label:  # a name people read: no control or bidi characters
        raise _err(_("--label {label!r} contains control or bidi characters (shown escaped); "
                     "give a plain name").format(label=_safe_msg(label)))
    if file is not None and not file.is_file():
        raise _err(_("input file not found: {file}").format(file=_safe_msg(file)) if not file.exists()
                   else _("input is not a file: {file}").format(file=_safe_msg(file)))
    from stekker.outputs import db_files

    if file is not None and any(file.exists() and d.exists() and file.samefile(d) for d in db_files(db)):
        raise _err(_("the input {file} is the database (--db {db})").format(file=file, db=display_db(db)))
    try:  # bad options and inputs leave no empty database behind
        given = [parse_resolver(r) for r in resolver]
    except ValueError as exc:
        raise _err(str(exc))
    tf = None
    if file is not None:
        from stekker.targets import InputError, read_targets

        try:
            tf = read_targets(file)
        except InputError as exc:
            _print_issues(getattr(exc, "issues", []) or [], counts=getattr(exc, "issue_counts", None))
            raise _err(_safe_msg(str(exc)))
    store = open_store(db, create=resume is None)
    try:
        if resolver:
            resolvers = given
        elif resume is not None and (recorded := _recorded_resolvers(store, resume)):
            resolvers = recorded  # a resumed scan asks the resolvers it started with
        else:
            resolvers = system_resolvers()
    except (ValueError, NoResolverError) as exc:
        raise _err(in_language(exc))

    plan = load_plan()
    say = (lambda *a, **k: None) if quiet else (lambda m: echo(m, err=True))
    if resume is not None:  # the pace the scan was started with, unless given again (field trial cron 5)
        rec = _recorded_options(store, resume, {"qps": qps, "timeout": timeout, "retries": retries, "window": window,
                                                "max_window": max_window, "domain_deadline": domain_deadline,
                                                "outage_max": outage_max}, say)
        qps, timeout, retries, window = rec["qps"], rec["timeout"], rec["retries"], rec["window"]
        max_window, domain_deadline, outage_max = rec["max_window"], rec["domain_deadline"], rec["outage_max"]
    config = TransportConfig(timeout=timeout, retries=retries, qps=qps, window=min(window, max_window),
                             window_max=max_window, window_min=min(16, window), outage_max=outage_max)
    why = ngettext("{n} engine process (--workers)", "{n} engine processes (--workers)", workers).format(n=workers)
    if workers == 0:
        from stekker.collect.run import choose_workers

        # a resolver that does not answer at all is reported by the scan's own
        # start-up check below (and the scan is recorded as aborted)
        workers, why = choose_workers(resolvers, config)
        why = _("{why}; --workers N to choose").format(why=why)
    if resume is not None:
        try:
            info = store.scan_info(resume)
            # another live process runs it: said before anything is written or asked (review 28 L5: the
            # realm options were recorded over the running process's, "resuming scan N" was printed)
            store.refuse_if_run_by_another(resume)
        except StoreError as exc:
            raise _err(str(exc))
        realm_opts = _realm_options(info, ms_realm, ms_realm_url, ms_realm_qps)

        def record_realm() -> None:  # recorded, so that a later plain --resume finishes the look-ups too
            if ms_realm:  # (the options as they are now: a run lock taken since is kept)
                store.update_scan(resume, options={**(store.scan_info(resume).get("options") or {}), **realm_opts})

        if info["state"] == "finished" and info["counts"].get("done") == info["counts"].get("targets"):
            if realm_opts and (store.domains_lacking(resume, plan.lookups["ms_realm"].id, redo_errors=ms_realm)
                               or _idp_hosts_lacking(store, resume, plan, ms_realm)):
                # the pass's own lock: two passes over one finished scan would ask and write the same
                # look-ups twice; the scan stays finished, with its dates
                with contextlib.ExitStack() as held:
                    try:
                        held.enter_context(store.keep_running(resume, finished_pass=True))
                    except StoreError as exc:
                        raise _err(str(exc))
                    record_realm()
                    with _database_lost(store, resume, db):
                        _realm_pass(store, resume, plan, realm_opts, ms_realm, say, db, resolvers, config,
                                    domain_deadline)
                raise typer.Exit(0)
            say(_("scan {scan_id} is already complete ({done} domains)").format(scan_id=resume,
                                                                                done=info['counts'].get('done')))
            raise typer.Exit(0)
        if info.get("plan_version") != plan.version:
            raise _err(_("scan {scan_id} used query plan version {used}, this stekker has {have}; start a new "
                         "scan").format(scan_id=resume, used=info.get('plan_version'), have=plan.version))
        record_realm()
        scan_id = resume
        to_go = info['counts'].get('targets', 0) - info['counts'].get('done', 0)
        say(ngettext("resuming scan {scan_id}: {n} domain to go; {why}", "resuming scan {scan_id}: {n} domains to go; "
                     "{why}", to_go).format(scan_id=scan_id, n=num(to_go), why=why))
    else:
        realm_opts = _realm_options({}, ms_realm, ms_realm_url, ms_realm_qps)
        scan_id = store.create_scan(
            tool_version=__version__, plan_version=plan.version, input_path=str(file),
            input_sha256=tf.sha256, resolvers=[format_resolver(r) for r in resolvers],
            options={"qps": qps, "timeout": timeout, "retries": retries, "window": window, "max_window": max_window,
                     "domain_deadline": domain_deadline, "outage_max": outage_max, "workers": workers,
                     **realm_opts},
            label=label,
        )
        n = store.add_targets(scan_id, tf)
        store.add_input_issues(scan_id, tf.issues)
        issues = list(tf.issues)
        counts = getattr(tf, "issue_counts", None) or None
        if n == 0:
            _print_issues(issues, counts=counts)
            store.finish_scan(scan_id, "aborted", {"message": "no valid domain in the input"})  # stored: English
            raise _err(_("{file}: no valid domain in the input ({n} problems, counted above)").format(
                file=_safe_msg(file), n=sum(counts.values()) if counts else len(issues)))
        say(ngettext("scan {scan_id}: {n} domain from {file} ({encoding}); {why}",
                     "scan {scan_id}: {n} domains from {file} ({encoding}); {why}", n).format(
            scan_id=scan_id, n=n, file=_safe_msg(file), encoding=tf.encoding + (", " + word(tf.dialect) if tf.dialect else ""),
            why=why))
        if issues:
            _print_issues(issues, limit=0 if quiet else 20, counts=counts)

    try:
        with _database_lost(store, scan_id, db):
            res = run_scan(store, scan_id, resolvers, config,
                           RunOptions(progress="none" if quiet else progress, workers=workers,
                                      domain_deadline=domain_deadline))
    except NoResolverError as exc:
        if resume is not None and store.run_by_another(scan_id):
            # another live process runs this scan: its state is that process's (review 28 M1: marking it
            # aborted stopped its heartbeat and let a third resume write the same domains)
            raise _err(_("{error} (scan {scan_id} is being run by another process; nothing changed)").format(
                error=in_language(exc), scan_id=scan_id), 3)
        store.finish_scan(scan_id, "aborted", {"message": exc.record})  # stored in English; shown translated
        # the scan and its input are kept (aborted, nothing measured): it can be resumed, and a report
        # of it says that none of its domains were measured
        raise _err(_("{error} Scan {scan_id} is kept as aborted with its input; when a resolver works: "
                     "stekker scan --resume {scan_id} --db {db}").format(error=in_language(exc), scan_id=scan_id,
                                                                         db=display_db(db)), 3)
    # a resume's counters are of this run alone: the whole scan's are said beside them (field trial 16)
    _print_summary(res, store.scan_info(scan_id).get("counts") if resume is not None else None)
    c = res.counters
    if res.state == "finished" and c.domains and c.error == c.domains and not (c.present or c.absent):
        # not one answer was usable (a resolver that truncates every answer and refuses TCP, ...):
        # the errors are stored as errors, but this run measured nothing - say so, exit 3
        kinds = ", ".join(f"{k} {n}" for k, n in c.error_kinds.most_common(3))
        echo(_("error: none of the {domains} domains could be measured: every question failed ({kinds}); the "
               "resolver does not work for this scan - scan again with another --resolver. The errors are stored "
               "as errors (scan {scan_id}), never as 'absent'").format(domains=c.domains, kinds=kinds,
                                                                       scan_id=scan_id), err=True)
        raise typer.Exit(3)
    if c.domains >= 20 and c.nxdomain > c.domains / 2:
        echo(_("warning: {nxdomain} of {domains} domains do not exist according to the resolver; "
               "check the input list and the resolver before quoting these results").format(
            nxdomain=c.nxdomain, domains=c.domains), err=True)
    if res.state == "interrupted":
        echo(_("resume with: stekker scan --resume {scan_id} --db {db}").format(scan_id=scan_id, db=display_db(db)),
             err=True)
        raise typer.Exit(130)
    if res.state == "aborted":
        # (the message is the scan's record: English, said in the user's language)
        echo(_("error: {message}").format(message=in_language(res.message)), err=True)
        echo(_("finished domains are kept; resume with: stekker scan --resume {scan_id} --db {db}").format(
            scan_id=scan_id, db=display_db(db)), err=True)
        raise typer.Exit(3)
    if realm_opts:
        with _database_lost(store, scan_id, db):
            _realm_pass(store, scan_id, plan, realm_opts, ms_realm, say, db, resolvers, config, domain_deadline)


@contextlib.contextmanager
def _database_lost(store, scan_id: int, db: str):
    """The database refused a write during a pass of the scan (DNS, realm, identity providers): what
    was written is kept, the scan reads as interrupted once this process has ended; one line and the
    resume command - exit 3 when the PostgreSQL server went away (network), 2 when the database
    itself refused (a full disk, a read-only file)."""
    import sqlalchemy.exc as sa_exc

    from stekker.collect.run import StoreWriteFailed, store_write_failed

    try:
        yield
    except (StoreWriteFailed, sa_exc.OperationalError) as exc:
        if not isinstance(exc, StoreWriteFailed) and store.dialect != "postgresql":
            raise  # a SQLite error of this process has its own message (locked: wait and try again)
        failed = store_write_failed(exc, store.dialect)
        resume = f"stekker scan --resume {scan_id} --db {display_db(db)}"
        if failed.lost_connection:
            raise _err(_("the connection to the database was lost ({reason}); what was written before is "
                         "kept; when the server is back: {resume}").format(reason=failed.reason, resume=resume),
                       3) from None
        raise _err(_("cannot write to the database {db}: {reason}; the domains written before "
                     "are kept; once that is fixed (a full disk: free space): {resume}").format(
            db=display_db(db), reason=failed.reason, resume=resume), 2) from None


def _realm_options(info: dict, ms_realm: bool, url: str | None, qps: float | None) -> dict:
    """The realm check's settings as the scan records them (options
    column): as given, else as recorded (a resumed scan finishes the
    look-ups it started with); empty when the scan does not ask it."""
    rec = (info.get("options") or {}) if info else {}
    if not (ms_realm or rec.get("ms_realm")):
        return {}
    return {"ms_realm": True, "ms_realm_url": url or rec.get("ms_realm_url"),
            "ms_realm_qps": float(qps or rec.get("ms_realm_qps") or 20.0)}


def _idp_hosts_lacking(store, scan_id: int, plan, redo_errors: bool) -> bool:
    from stekker.collect.idp import PURPOSE
    from stekker.evidence import IDP_RTYPE

    return bool(store.named_hosts_lacking(scan_id, plan.lookups["ms_realm"].id, IDP_RTYPE, PURPOSE, redo_errors))


def _realm_pass(store, scan_id: int, plan, opts: dict, redo_errors: bool, say, db: str, resolvers, config,
                domain_deadline: float) -> None:
    """The opt-in realm look-ups of a scan's done domains (collect/realm.py),
    then the addresses of the identity provider hosts federated answers name
    (collect/idp.py, through the scan's resolvers); ``redo_errors``
    (--ms-realm given again): failed look-ups are asked again.
    Their counts go into the scan's summary (its state and times stay)."""
    from stekker.collect.realm import RealmConfig, RealmSetupError, RealmURLError, check_url, run_realm

    lookup = plan.lookups["ms_realm"]
    try:
        url = check_url(opts.get("ms_realm_url") or lookup.url)
    except RealmURLError as exc:  # a recorded URL this version refuses
        raise _err(str(exc))
    cfg = RealmConfig(url=url, qps=opts["ms_realm_qps"], purpose=lookup.id, qtype=lookup.type)
    try:
        counts, stopped = run_realm(store, scan_id, cfg, say, redo_errors=redo_errors)
    except RealmSetupError as exc:
        raise _err(_("{error}; the DNS results are stored, nothing was asked").format(error=exc), 3)
    _summarise(store, scan_id, lookup.id)
    if counts.present + counts.absent + counts.error:  # (a resume only for the IdP hosts asks no realm)
        if counts.not_asked:
            say(_("realm: {present:,} in an Entra ID tenant, {absent:,} not, {errors:,} errors ({not_asked:,} "
                  "not asked)").format(present=counts.present, absent=counts.absent, errors=counts.error,
                                       not_asked=counts.not_asked))
        else:
            say(_("realm: {present:,} in an Entra ID tenant, {absent:,} not, {errors:,} errors").format(
                present=counts.present, absent=counts.absent, errors=counts.error))
    if stopped:
        again = " --ms-realm" if counts.unreachable else ""  # look-ups recorded as 'not asked' are asked again
        echo(_("realm check stopped; finish it with: stekker scan --resume {scan_id} --db {db}{again}").format(
            scan_id=scan_id, db=display_db(db), again=again), err=True)
        raise typer.Exit(130)
    _idp_pass(store, scan_id, plan, redo_errors, say, db, resolvers, config, domain_deadline)
    if counts.unreachable:
        # (why it is unreachable is the scan's record, stored with each look-up not asked: English)
        echo(_("error: Microsoft's realm endpoint {unreachable}; the look-ups of {errors:,} domains "
               "are recorded as errors ({not_asked:,} of them not asked), never as 'no tenant'. The DNS "
               "results are complete. Check the network and ask again with: "
               "stekker scan --resume {scan_id} --db {db} --ms-realm").format(
            unreachable=in_language(counts.unreachable), errors=counts.error, not_asked=counts.not_asked, scan_id=scan_id,
            db=display_db(db)), err=True)
        raise typer.Exit(3)


def _summarise(store, scan_id: int, purpose: str) -> None:
    """A look-up's rows (every pass, earlier ones included) by status into
    the scan's summary, under the purpose id (its state and times stay)."""
    store.update_scan(scan_id, summary={**(store.scan_info(scan_id).get("summary") or {}),
                                        purpose: store.purpose_counts(scan_id, purpose)})


def _idp_pass(store, scan_id: int, plan, redo_errors: bool, say, db: str, resolvers, config,
              domain_deadline: float) -> None:
    """The addresses of the hosts federated realm answers name as identity
    provider (collect/idp.py): their counts go into the scan's summary."""
    from stekker.collect.idp import PURPOSE, run_idp_hosts
    from stekker.collect.transport import NoResolverError

    try:
        counts, stopped = run_idp_hosts(store, scan_id, plan.lookups["ms_realm"].id, resolvers, config, plan, say,
                                        redo_errors=redo_errors, domain_deadline=domain_deadline)
    except NoResolverError as exc:
        raise _err(_("{error} The DNS results and the realm answers are stored; ask the identity provider hosts "
                     "with: stekker scan --resume {scan_id} --db {db}").format(error=in_language(exc), scan_id=scan_id,
                                                                               db=display_db(db)), 3)
    if counts.domains or counts.dropped:
        _summarise(store, scan_id, PURPOSE)
    if counts.domains:
        say(_("identity provider hosts: {hosts:,} of {domains:,} domains asked; "
              "{present:,} answers with addresses, {absent:,} without, {errors:,} errors").format(
            hosts=counts.hosts, domains=counts.domains, present=counts.present, absent=counts.absent,
            errors=counts.error))
    if counts.dead:
        echo(_("error: {why}; the identity provider hosts not asked yet are asked with: "
               "stekker scan --resume {scan_id} --db {db}").format(why=in_language(counts.dead), scan_id=scan_id,
                                                                   db=display_db(db)), err=True)
        raise typer.Exit(3)
    if stopped:
        echo(_("stopped; finish it with: stekker scan --resume {scan_id} --db {db}").format(scan_id=scan_id,
                                                                                    db=display_db(db)), err=True)
        raise typer.Exit(130)




def _recorded_options(store, scan_id: int, given: dict, say) -> dict:
    """``given`` with each option the command line did not give replaced by the one the scan was
    started with (a scan started with --qps 1500 for a rate-limiting resolver is resumed at that
    pace, not unbounded); says which were taken over."""
    import math

    from typer._click.core import ParameterSource  # typer 0.29 vendors click (pinned in pyproject.toml)
    from typer._click.globals import get_current_context

    from stekker.store import StoreError

    try:
        recorded = store.scan_info(scan_id).get("options") or {}
    except StoreError:
        return given  # unknown scan: reported below
    try:
        ctx = get_current_context()
    except RuntimeError:  # called outside a command (a test): everything counts as given
        return given
    out, taken = dict(given), []
    options = {p.name: p for p in ctx.command.params}
    for name in given:
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE or name not in recorded:
            continue
        # within the bounds of its command-line option (a record of another tool is not trusted blindly)
        v, low, high = recorded[name], options[name].min, options[name].max
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or \
                (low is not None and v < low) or (high is not None and v > high):
            continue
        v = type(given[name])(v)
        if v != given[name]:
            out[name] = v
            taken.append(f"--{name.replace('_', '-')} {v:g}")
    if taken:
        say(_("resuming with the options scan {scan_id} was started with: {options} (give them again to "
              "change them)").format(scan_id=scan_id, options=", ".join(taken)))
    return out


def _recorded_resolvers(store, scan_id: int) -> list[tuple[str, int]]:
    from stekker.collect.transport import parse_resolver
    from stekker.store import StoreError

    try:
        return [parse_resolver(r) for r in store.scan_info(scan_id).get("resolvers") or []]
    except (StoreError, ValueError):
        return []  # unknown scan: reported below; unparsable: fall back to the system's


def _safe_msg(text: object) -> str:
    from stekker.text import visible

    return visible(text)


def _print_issues(issues, limit: int = 20, counts: dict | None = None) -> None:
    """The input problems: every one counted per kind (``counts``, from the
    reader, includes those beyond the stored list), the first ``limit`` shown."""
    from stekker.targets import issue_kind

    issues = list(issues)
    if not issues:
        return
    kinds: dict[str, int] = dict(counts) if counts else {}
    if not counts:
        for i in issues:
            k = i.kind if hasattr(i, "kind") else i.get("kind")
            kinds[k] = kinds.get(k, 0) + 1
    stored = sum(1 for i in issues if (i.kind if hasattr(i, "kind") else i.get("kind")) != "truncated")
    total = sum(v for k, v in kinds.items() if k != "truncated")
    note = (_("all stored with the scan") if stored >= total
            else _("the first {n:,} stored with the scan").format(n=stored))
    # (the kinds and reasons are stored in English; a reason just read says itself in the user's language)
    echo(_("input: {kinds} ({note})").format(
        kinds=", ".join(f"{num(v)} {issue_kind(k)}" for k, v in sorted(kinds.items()) if k != "truncated"), note=note),
        err=True)
    for i in issues[:limit]:
        line = i.line if hasattr(i, "line") else i.get("line")
        raw = i.raw if hasattr(i, "raw") else i.get("raw")
        reason = i.reason if hasattr(i, "reason") else i.get("reason")
        kind = i.kind if hasattr(i, "kind") else i.get("kind")
        where = _("line {line}").format(line=line) if line else _("input")
        echo(f"  {where}: {issue_kind(kind)}: {in_language(reason)}" + (f"  [{_safe(raw)}]" if raw else ""), err=True)
    if limit and len(issues) > limit:
        echo("  " + _("... and {n} more (stekker show --issues)").format(n=len(issues) - limit), err=True)


def _safe(text: str) -> str:
    """Input text shown on a terminal: control characters made visible."""
    from stekker.text import visible

    return visible(text)[:120]


def _print_summary(res, whole: dict | None = None) -> None:
    """The run's counts; ``whole`` (a resume): the whole scan's domain counts too, first, so that
    the resumed part is not read as the scan's total."""
    from rich.console import Console
    from rich.table import Table

    c = res.counters
    t = Table(title=_("scan {scan_id}: {state}").format(scan_id=res.scan_id, state=word(res.state)), show_header=True)
    t.add_column(_("what"))
    t.add_column(_("count"), justify="right")
    if whole:
        t.add_row(_("whole scan: domains done"), _("{done} of {total}").format(
            done=num(int(whole.get("done") or 0)), total=num(int(whole.get("targets") or 0))))
        t.add_row("  ok", num(int(whole.get("ok") or 0)))
        t.add_row("  " + _("nxdomain (does not exist)"), num(int(whole.get("nxdomain") or 0)))
        t.add_row("  " + _("error (cannot tell)"), num(int(whole.get("error") or 0)))
    t.add_row(_("domains done (this run)") if whole else _("domains done"), num(c.domains))
    t.add_row("  ok", num(c.ok))  # (the domains' status name)
    t.add_row("  " + _("nxdomain (does not exist)"), num(c.nxdomain))
    t.add_row("  " + _("error (cannot tell)"), num(c.error))
    t.add_row(_("questions"), num(c.queries))
    t.add_row("  " + _("present"), num(c.present))
    t.add_row("  " + _("absent"), num(c.absent))
    t.add_row("  " + _("error"), num(c.errors))
    for k, v in sorted(c.error_kinds.items(), key=lambda kv: -kv[1]):
        t.add_row(f"    {k}", num(v))
    t.add_row(_("elapsed"), f"{num(res.elapsed, '.1f')} s")
    t.add_row(_("questions/s"), num(res.qps, ",.0f"))
    Console(file=sys.stderr).print(t)
