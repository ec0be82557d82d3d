"""CLI commands of the lab stage (registered on stekker.cli.app):
``stekker lab start | stop | status``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from stekker.cli import app, echo

def check_net(value: str) -> str:
    """``--net``: 127.X with X in 0..255 (the lab lives on loopback only)."""
    import re

    m = re.fullmatch(r"127\.(\d{1,3})", value or "")
    if not m or int(m.group(1)) > 255:
        raise typer.BadParameter(f"must be 127.X with X from 0 to 255 (loopback), not {value!r}")
    return value


lab_app = typer.Typer(
    help=(
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
    dir: Path = typer.Option(Path(".lab"), "--dir", help="Work directory (zones, configs, pids, logs)."),
    orgs: int = typer.Option(200, "--orgs", min=0, max=1_000_000, help="Number of generated organisations."),
    seed: int = typer.Option(1, "--seed", min=0, max=2**63 - 1, help="Seed of the generated organisations."),
    net: str = typer.Option("127.77", "--net", callback=lambda v: check_net(v),
                            help="First two octets of the lab's loopback addresses (127.X)."),
    names: Optional[Path] = typer.Option(None, "--names", help="CSV of real domain names to use (e.g. ../shared/data/domains/openstate_govdomains_Gemeenten.csv)."),
    faults: bool = typer.Option(True, "--faults/--no-faults", help="Also serve the fault fixtures (stekker.lab.faults)."),
    tiers: int = typer.Option(2, "--tiers", min=1, max=40, help="knotd instances for organisation zones (<net>.0.4 ...)."),
    check: bool = typer.Option(False, "--check", help="Validate every zone with knotc zone-check before starting."),
    resolver_profile: str = typer.Option("default", "--resolver-profile",
                                         help="default: Unbound's shipped defaults; public: with client and zone rate limits."),
    lame_timeout: float = typer.Option(0.002, "--lame-timeout", min=0.0, max=1.0,
                                       help="Fraction of generated orgs delegated to name servers that never answer."),
    lame_refused: float = typer.Option(0.004, "--lame-refused", min=0.0, max=1.0,
                                       help="Fraction delegated to servers without the zone (REFUSED)."),
    nonexistent: float = typer.Option(0.01, "--nonexistent", min=0.0, max=1.0,
                                      help="Fraction listed in the input but not delegated (NXDOMAIN)."),
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
        echo(f"error: --resolver-profile must be one of {', '.join(RESOLVER_PROFILES)}", err=True)
        raise typer.Exit(2)
    if lame_timeout + lame_refused + nonexistent > 1.0:
        echo("error: the fault fractions add up to more than 1", err=True)
        raise typer.Exit(2)

    if names is not None and not names.exists():
        echo(f"error: --names file not found: {names}", err=True)
        raise typer.Exit(2)
    # the lab writes DIR/input.csv and replaces DIR/zones and DIR/run: only in a directory it made
    # (it holds lab.json) or a new or empty one - never over a user's own files
    if dir.exists() and (not dir.is_dir() or (any(dir.iterdir()) and not (dir / "lab.json").is_file())):
        echo(f"error: --dir {dir} is not empty and is not a lab directory stekker made (no lab.json): the lab "
             "would overwrite input.csv and replace zones/ there; choose a new or empty directory "
             "(nothing was touched)", err=True)
        raise typer.Exit(2)
    from stekker.safeyaml import UserFileError

    try:
        name_iter = profiles.read_names(names) if names else None
    except UserFileError as exc:
        echo(f"error: --names {names}: {exc}", err=True)
        raise typer.Exit(2)
    spec = LabSpec(orgs=profiles.generate(orgs, seed=seed, names=name_iter), with_faults=faults, org_tiers=tiers,
                   fault_mix=FaultMix(lame_timeout, lame_refused, nonexistent), resolver_profile=resolver_profile)
    lab = Lab(spec, workdir=dir, net=net)
    try:
        if check:
            lab.build()
            problems = lab.check_zones()
            if problems:
                echo("zone check failed:\n" + "\n".join(problems), err=True)
                raise typer.Exit(1)
        lab.start(lock_timeout=5)
    except (LabError, ZoneDataError, OSError) as exc:
        echo(f"error: the lab did not start: {exc}", err=True)
        raise typer.Exit(1)
    lab._release_net()  # the servers keep running after this command exits
    echo(f"lab running: {lab.counts.get('orgs', 0)} organisations "
         f"({lab.counts.get('lame_timeout', 0)} lame-timeout, {lab.counts.get('lame_refused', 0)} lame-refused, "
         f"{lab.counts.get('nonexistent', 0)} not existing), resolver profile {resolver_profile}, "
               f"build {lab.timings.get('build', 0):.1f}s, start {lab.timings.get('start', 0):.1f}s")
    echo(f"resolver:  {lab.resolver} (port 53)")
    echo(f"input:     {lab.workdir / 'input.csv'}")
    echo(f"truth:     {lab.workdir / 'truth.jsonl'}")
    echo(f"ip2asn:    {lab.workdir / 'ip2asn-v4.tsv'}")
    echo(f"scan:      stekker scan {lab.workdir / 'input.csv'} --resolver {lab.resolver}")
    echo(f"stop:      stekker lab stop --dir {dir}")


@lab_app.command("stop")
def stop(dir: Path = typer.Option(Path(".lab"), "--dir", help="Work directory of the lab.")) -> None:
    """Stop every process of the lab in DIR.

    Example: stekker lab stop --dir .lab
    """
    from stekker.lab import Lab

    meta = _meta(dir)
    _check_pids(dir)
    stopped = Lab(workdir=dir, net=meta.get("net", "127.77")).stop()
    echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@lab_app.command("status")
def status(dir: Path = typer.Option(Path(".lab"), "--dir", help="Work directory of the lab.")) -> None:
    """Show whether the lab in DIR runs, its processes and the resolver.

    Example: stekker lab status --dir .lab
    """
    from stekker.lab import procs

    meta = _meta(dir)
    _check_pids(dir)
    pids = procs.read_pids(dir)
    if not pids:
        echo(f"lab in {dir}: not running")
        raise typer.Exit(1)
    ok = True
    for name, e in sorted(pids.items()):
        alive = procs.alive(e)
        ok &= alive
        echo(f"  {name:14s} pid {e['pid']:>7}  {'running' if alive else 'DEAD'}")
    echo(f"resolver: {meta.get('resolver', '?')}  organisations: {meta.get('counts', {}).get('orgs', '?')}")
    if not ok:
        raise typer.Exit(1)


def _check_pids(dir: Path) -> None:
    """A pids.json that is not stekker's record of processes (hand-edited, damaged) is exit 2: which
    servers run cannot be told from it (lab stop signals only processes it recorded)."""
    from stekker.lab import procs

    why = procs.pids_problem(dir)
    if why:
        echo(f"error: {why}; stekker cannot tell which lab servers run (look for knotd and unbound with ps, "
             "stop them, and remove the file)", err=True)
        raise typer.Exit(2)


def _meta(dir: Path) -> dict:
    try:
        meta = json.loads((dir / "lab.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return meta if isinstance(meta, dict) else {}
