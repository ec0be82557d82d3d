"""CLI commands of the validation stage (registered on stekker.cli.app):
``stekker validate peers``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from stekker.cli import app, echo
from stekker.i18n import _

validate_app = typer.Typer(help=_("Check stekker against independent sources."), no_args_is_help=True)
app.add_typer(validate_app, name="validate")


@validate_app.command("peers")
def peers(
    peers_dir: Optional[Path] = typer.Option(None, "--peers", help=_("Peer data directory (default ../shared/data/peers).")),
    out: Optional[Path] = typer.Option(None, "-o", "--output", "--out", help=_("Write the Markdown report here (e.g. "
                                                                                "docs/VALIDATION.md).")),
    sample: Optional[int] = typer.Option(None, "--sample", min=1, help=_("A deterministic sample of about N observations.")),
    dataset: Optional[List[str]] = typer.Option(None, "--dataset", help=_("Only datasets whose name contains this.")),
    workdir: Optional[Path] = typer.Option(None, "--workdir", help=_("Lab and scan files (default: a temporary directory).")),
    net: str = typer.Option("127.84", "--net", help=_("Lab net (first two octets, 127.X).")),
    brief: bool = typer.Option(False, "--brief", help=_("Print the figures only, not every disagreement.")),
    ms_realm: bool = typer.Option(True, "--ms-realm/--dns-only",
                                  help=_("Scan as 'stekker scan --ms-realm' does, the realm endpoint answering what "
                                         "the peer published (default), or from DNS alone.")),
    force: bool = typer.Option(False, "--force", help=_("Replace an existing -o file that is not an earlier "
                                                        "validation report.")),
) -> None:
    """Compare stekker's mailbox attribution with the labels of mxmap (Swiss
    municipalities), mxmap.it (Belgian municipalities) and mxmap-dk (Nordic
    companies, Icelandic municipalities): their observed DNS records become
    zones of the loopback DNS lab (needs root, knotd, unbound), stekker scans
    and attributes them, and every disagreement is printed with both
    explanations and a verdict.

    Examples:

      stekker validate peers --out docs/VALIDATION.md

      stekker validate peers --sample 60 --brief
    """
    from stekker.cli.lab import check_net
    from stekker.cli.common import check_output
    from stekker.outputs import OutputError

    try:
        check_net(net)
    except typer.BadParameter as exc:
        echo(_("error: --net {message}").format(message=exc.message), err=True)
        raise typer.Exit(2)
    if out is not None:
        try:
            check_output(out, "validation", option="--output", force=force)
        except OutputError as exc:
            echo(_("error: {message}").format(message=exc), err=True)
            raise typer.Exit(2)

    raise typer.Exit(run_cli(peers_dir, out, sample, dataset, workdir, net, brief=brief, ms_realm=ms_realm))


def run_cli(peers: Path | None, out: Path | None, sample: int | None, datasets, workdir: Path | None, net: str,
            brief: bool = False, ms_realm: bool = True) -> int:
    """Run the peer check and print (and write) its report; the exit code."""
    from stekker.validate import check, report

    peers = Path(peers) if peers else check.default_peers_dir()
    if not peers.is_dir():
        if peers.exists():
            echo(_("error: peer data directory {path} is a file, not a directory (give the directory with the "
                   "peers' JSON files; see ../shared/data/PROVENANCE.md)").format(path=peers), err=True)
        else:
            echo(_("error: peer data directory {path} not found (give the directory with the peers' JSON files; "
                   "see ../shared/data/PROVENANCE.md)").format(path=peers), err=True)
        return 2
    from stekker.lab import procs

    missing = procs.missing_binaries()
    if missing:
        echo(_("error: the DNS lab needs knotd and unbound (missing: {missing})").format(missing=", ".join(missing)),
             err=True)
        return 2
    results = check.run(peers, workdir=workdir, net=net, n_sample=sample, datasets=datasets, ms_realm=ms_realm)
    echo(report.text_summary(results, details=not brief))
    if out:
        from stekker.outputs import write_text

        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, report.markdown(results, {**report.meta_for(peers, sample), "ms_realm": ms_realm}))
        echo("\n" + _("report written to {path}").format(path=out))
    return 0
