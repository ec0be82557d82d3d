"""``python -m stekker.validate peers [--peers DIR] [--out FILE] [--sample N]``:
the peer check without the CLI registration (same as ``stekker validate peers``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m stekker.validate",
                                 description="Compare stekker's mailbox attribution with peer classifiers "
                                             "(mxmap, mxmap.it, mxmap-dk) through the loopback DNS lab.")
    ap.add_argument("what", nargs="?", default="peers", choices=["peers"], help="what to validate (peers)")
    ap.add_argument("--peers", type=Path, default=None, help="peer data directory (default ../shared/data/peers)")
    ap.add_argument("--out", type=Path, default=None, help="write the Markdown report here (e.g. docs/VALIDATION.md)")
    ap.add_argument("--sample", type=int, default=None, help="a deterministic sample of about N observations")
    ap.add_argument("--dataset", action="append", default=None, help="only datasets whose name contains this")
    ap.add_argument("--workdir", type=Path, default=None, help="lab and scan files (default: a temporary directory)")
    ap.add_argument("--net", default="127.84", help="lab net (first two octets; default 127.84)")
    ap.add_argument("--brief", action="store_true", help="print the figures only, not every disagreement")
    a = ap.parse_args(argv)
    return run_cli(a.peers, a.out, a.sample, a.dataset, a.workdir, a.net, brief=a.brief)


def run_cli(peers: Path | None, out: Path | None, sample: int | None, datasets, workdir: Path | None, net: str,
            brief: bool = False) -> int:
    from stekker.validate import check, report

    peers = Path(peers) if peers else check.default_peers_dir()
    if not peers.is_dir():
        print(f"error: peer data directory {peers} not found (see ../shared/data/PROVENANCE.md)", file=sys.stderr)
        return 2
    from stekker.lab import procs

    missing = procs.missing_binaries()
    if missing:
        print("error: the DNS lab needs knotd and unbound (missing: " + ", ".join(missing) + ")", file=sys.stderr)
        return 2
    results = check.run(peers, workdir=workdir, net=net, n_sample=sample, datasets=datasets)
    print(report.text_summary(results, details=not brief))
    if out:
        from stekker.outputs import write_text

        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, report.markdown(results, report.meta_for(peers, sample)))
        print(f"\nreport written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
