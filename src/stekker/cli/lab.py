"""CLI commands of the lab stage (registered on stekker.cli.app):
``stekker lab start | stop | status``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from stekker.cli import app, echo
from stekker.cli.common import in_language
from stekker.i18n import _


def check_net(value: str) -> str:
    """``--net``: 127.X with X in 0..255 (the lab lives on loopback only)."""
    import re

    m = re.fullmatch(r"127\.(\d{1,3})", value or "")
    if not m or int(m.group(1)) > 255:
        raise typer.BadParameter(_("must be 127.X with X from 0 to 255 (loopback), not {value!r}").format(value=value))
    return value


lab_app = typer.Typer(
    help=_(
        "Loopback DNS lab: a fake DNS hierarchy (root, TLDs, providers, "
        "organisations) served by knotd + unbound on 127.x addresses.\n\n"
        "Example: stekker lab start --orgs 500 && stekker scan .lab/input.csv "
        "--resolver 127.77.0.53 ; stekker lab stop"
    ),
    no_args_is_help=True,
)
app.add_typer(lab_app, name="lab")


@lab_app.command("start")
def start(
    dir: Path = typer.Option(Path(".lab"), "--dir", help=_("Work directory (zones, configs, pids, logs).")),
    orgs: int = typer.Option(200, "--orgs", min=0, max=1_000_000, help=_("Number of generated organisations.")),
    seed: int = typer.Option(1, "--seed", min=0, max=2**63 - 1, help=_("Seed of the generated organisations.")),
    net: str = typer.Option("127.77", "--net", callback=lambda v: check_net(v),
                            help=_("First two octets of the lab's loopback addresses (127.X).")),
    names: Optional[Path] = typer.Option(None, "--names", help=_("CSV of real domain names to use (e.g. ../shared/data/domains/openstate_govdomains_Gemeenten.csv).")),
    faults: bool = typer.Option(True, "--faults/--no-faults", help=_("Also serve the fault fixtures (stekker.lab.faults).")),
    tiers: int = typer.Option(2, "--tiers", min=1, max=40, help=_("knotd instances for organisation zones (<net>.0.4 ...).")),
    check: bool = typer.Option(False, "--check", help=_("Validate every zone with knotc zone-check before starting.")),
    resolver_profile: str = typer.Option("default", "--resolver-profile",
                                         help=_("default: Unbound's shipped defaults; public: with client and zone rate limits.")),
    lame_timeout: float = typer.Option(0.002, "--lame-timeout", min=0.0, max=1.0,
                                       help=_("Fraction of generated orgs delegated to name servers that never answer.")),
    lame_refused: float = typer.Option(0.004, "--lame-refused", min=0.0, max=1.0,
                                       help=_("Fraction delegated to servers without the zone (REFUSED).")),
    nonexistent: float = typer.Option(0.01, "--nonexistent", min=0.0, max=1.0,
                                      help=_("Fraction listed in the input but not delegated (NXDOMAIN).")),
) -> None:
    """Build and start the lab; returns when the resolver answers.

    Writes DIR/input.csv (domain,organisation,sector,hosts), DIR/truth.jsonl
    and DIR/ip2asn-v4.tsv.

    Example: stekker lab start --dir .lab --orgs 1000 --seed 3
    """
    from stekker.lab import FaultMix, Lab, LabError, LabSpec, profiles
    from stekker.lab.procs import RESOLVER_PROFILES
    from stekker.lab.zonefile import ZoneDataError

    if resolver_profile not in RESOLVER_PROFILES:
        echo(_("error: --resolver-profile must be one of {profiles}").format(profiles=", ".join(RESOLVER_PROFILES)),
             err=True)
        raise typer.Exit(2)
    if lame_timeout + lame_refused + nonexistent > 1.0:
        echo(_("error: the fault fractions add up to more than 1"), err=True)
        raise typer.Exit(2)

    if names is not None and not names.exists():
        echo(_("error: --names file not found: {path}").format(path=names), err=True)
        raise typer.Exit(2)
    # the lab writes DIR/input.csv and replaces DIR/zones and DIR/run: only in a directory it made
    # (it holds lab.json) or a new or empty one - never over a user's own files
    if dir.exists() and (not dir.is_dir() or (any(dir.iterdir()) and not (dir / "lab.json").is_file())):
        echo(_("error: --dir {dir} is not empty and is not a lab directory stekker made (no lab.json): the lab "
               "would overwrite input.csv and replace zones/ there; choose a new or empty directory "
               "(nothing was touched)").format(dir=dir), err=True)
        raise typer.Exit(2)
    from stekker.safeyaml import UserFileError

    try:
        name_iter = profiles.read_names(names) if names else None
    except UserFileError as exc:
        echo(_("error: --names {path}: {error}").format(path=names, error=exc), err=True)
        raise typer.Exit(2)
    spec = LabSpec(orgs=profiles.generate(orgs, seed=seed, names=name_iter), with_faults=faults, org_tiers=tiers,
                   fault_mix=FaultMix(lame_timeout, lame_refused, nonexistent), resolver_profile=resolver_profile)
    lab = Lab(spec, workdir=dir, net=net)
    try:
        if check:
            lab.build()
            problems = lab.check_zones()
            if problems:
                echo(_("zone check failed:\n{problems}").format(problems="\n".join(problems)), err=True)
                raise typer.Exit(1)
        lab.start(lock_timeout=5)
    except (LabError, ZoneDataError, OSError) as exc:
        # (a ZoneDataError's own text is English: the validation report lists it; in_language() is the user's language)
        echo(_("error: the lab did not start: {error}").format(
            error=in_language(exc)), err=True)
        raise typer.Exit(1)
    lab._release_net()  # the servers keep running after this command exits
    echo(_("lab running: {orgs} organisations ({lame_timeout} lame-timeout, {lame_refused} lame-refused, "
           "{nonexistent} not existing), resolver profile {profile}, build {build:.1f}s, start {start:.1f}s").format(
        orgs=lab.counts.get("orgs", 0), lame_timeout=lab.counts.get("lame_timeout", 0),
        lame_refused=lab.counts.get("lame_refused", 0), nonexistent=lab.counts.get("nonexistent", 0),
        profile=resolver_profile, build=lab.timings.get("build", 0), start=lab.timings.get("start", 0)))
    echo(_("resolver:  {resolver} (port 53)").format(resolver=lab.resolver))
    echo(_("input:     {path}").format(path=lab.workdir / "input.csv"))
    echo(_("truth:     {path}").format(path=lab.workdir / "truth.jsonl"))
    echo(_("ip2asn:    {path}").format(path=lab.workdir / "ip2asn-v4.tsv"))
    # the lab's addresses are in its own IP-to-ASN table: without it every service known only by
    # its address stays unknown (field trial 15)
    echo(_("data:      export STEKKER_DATA_DIR={data}; stekker data import {path}   (the lab's IP-to-ASN table, "
           "apart from your real one; keep STEKKER_DATA_DIR set for scan, report and site)").format(
        data=lab.workdir / "data", path=lab.workdir / "ip2asn-v4.tsv"))
    echo(_("scan:      stekker scan {input} --resolver {resolver}").format(input=lab.workdir / "input.csv",
                                                                         resolver=lab.resolver))
    echo(_("stop:      stekker lab stop --dir {dir}").format(dir=dir))


@lab_app.command("stop")
def stop(dir: Path = typer.Option(Path(".lab"), "--dir", help=_("Work directory of the lab."))) -> None:
    """Stop every process of the lab in DIR.

    Example: stekker lab stop --dir .lab
    """
    from stekker.lab import Lab

    meta = _meta(dir)
    _check_pids(dir)
    stopped = Lab(workdir=dir, net=meta.get("net", "127.77")).stop()
    echo(_("stopped: {names}").format(names=", ".join(stopped)) if stopped else _("stopped: nothing was running"))


@lab_app.command("status")
def status(dir: Path = typer.Option(Path(".lab"), "--dir", help=_("Work directory of the lab."))) -> None:
    """Show whether the lab in DIR runs, its processes and the resolver.

    Example: stekker lab status --dir .lab
    """
    from stekker.lab import procs

    meta = _meta(dir)
    _check_pids(dir)
    pids = procs.read_pids(dir)
    if not pids:
        echo(_("lab in {dir}: not running").format(dir=dir))
        raise typer.Exit(1)
    ok = True
    for name, e in sorted(pids.items()):
        alive = procs.alive(e)
        ok &= alive
        echo(_("  {name:14s} pid {pid:>7}  {state}").format(name=name, pid=e["pid"],
                                                           state=_("running") if alive else _("DEAD")))
    echo(_("resolver: {resolver}  organisations: {orgs}").format(resolver=meta.get("resolver", "?"),
                                                                 orgs=_count(meta, "orgs")))
    if not ok:
        raise typer.Exit(1)


def _check_pids(dir: Path) -> None:
    """A pids.json that is not stekker's record of processes (hand-edited, damaged) is exit 2: which
    servers run cannot be told from it (lab stop signals only processes it recorded)."""
    from stekker.lab import procs

    why = procs.pids_problem(dir)
    if why:
        echo(_("error: {problem}; stekker cannot tell which lab servers run (look for knotd and unbound with ps, "
               "stop them, and remove the file)").format(problem=why), err=True)
        raise typer.Exit(2)


def _count(meta: dict, key: str) -> object:
    """A count of lab.json (``?`` when the file does not have it as stekker writes it)."""
    counts = meta.get("counts")
    value = counts.get(key, "?") if isinstance(counts, dict) else "?"
    return value if isinstance(value, int) and not isinstance(value, bool) else "?"


def _meta(dir: Path) -> dict:
    try:
        meta = json.loads((dir / "lab.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}
