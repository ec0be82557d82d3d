#!/usr/bin/env python3
"""Site benchmark: ``stekker site`` on a lab scan of N domains (a script, not a test).

Builds the loopback DNS lab of N organisation domains (default 17,600, the
NOS 2026 study's size; real Dutch public-sector names of ../shared/data/domains
first, generated ones beyond), scans it with ``stekker scan`` (two scans, so
the changes page and the history have something to compare; the second is
the same lab), then runs ``stekker site`` as a separate process and prints:
wall time, peak RSS (the child's ru_maxrss), number of files and pages,
bytes, the home and organisation page weights, and a link check over
every page.  ``--db`` reuses an existing database (no lab, no scan).

    sudo python3 benchmarks/bench_site.py --n 2000
    sudo python3 benchmarks/bench_site.py                    # 17,600 domains
    python3 benchmarks/bench_site.py --db bench.db           # an existing scan

Needs root (port 53 on 127.x) and Debian's knot + unbound for the lab.
Sends traffic to loopback only.
"""

from __future__ import annotations

import argparse
import html.parser
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urldefrag, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
SHARED = ROOT.parent / "shared" / "data"


def stekker_argv() -> list[str]:
    exe = shutil.which("stekker")
    return [exe] if exe else [sys.executable, "-m", "stekker"]


def run(argv: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB of the child) of one command."""
    wall, peak, _ = run_cpu(argv)
    return wall, peak


def run_cpu(argv: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak RSS MB of the largest process, CPU seconds of the
    command and its processes, user + system) of one command.  The CPU time
    is what a shared machine's load does not inflate much: wall / CPU shows
    how well the cores were used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(argv, check=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, max(after.ru_maxrss, before.ru_maxrss) / 1024, cpu


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.links.append(v)


def link_check(out: Path) -> tuple[int, int, int]:
    pages = links = broken = 0
    for page in out.rglob("*.html"):
        pages += 1
        p = _Links()
        p.feed(page.read_text("utf-8"))
        for link in p.links:
            url = urlparse(urldefrag(link)[0])
            if url.scheme or url.netloc:
                continue
            links += 1
            target = (page.parent / url.path)
            if url.path.endswith("/") or target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken += 1
    return pages, links, broken


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=17_600)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--net", default="127.89")
    ap.add_argument("--db", default=None, help="use this database (no lab, no scan)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--scans", type=int, default=2, help="scans of the lab (2: changes and history)")
    ap.add_argument("--geo", default=str(SHARED / "geo"))
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="stekker-bench-site-"))
    work.mkdir(parents=True, exist_ok=True)
    db = args.db
    if db is None:
        from bench_scan import nos_size_orgs, real_names

        from stekker.lab import FaultMix, Lab, LabSpec

        names = real_names() if SHARED.exists() else None
        lab = Lab(LabSpec(orgs=nos_size_orgs(args.n, args.seed, names), with_faults=True, fault_mix=FaultMix()), workdir=work / "lab",
                  net=args.net)
        print(f"building lab of {args.n:,} organisations in {work} ...", flush=True)
        lab.start(timeout=900)
        try:
            inp = lab.write_input(work / "input.csv")
            db = str(work / "bench.db")
            for i in range(args.scans):
                wall, _ = run(stekker_argv() + ["scan", str(inp), "--resolver", lab.resolver, "--db", db,
                                                "--progress", "none"])
                print(f"scan {i + 1}: {wall:.1f} s", flush=True)
        finally:
            lab.stop()
    out = work / "site"
    if out.exists():
        shutil.rmtree(out)
    argv = stekker_argv() + ["site", "--db", db, "--out", str(out)]
    if args.geo and Path(args.geo).is_dir():
        argv += ["--geo", args.geo]
    print("$ stekker " + " ".join(argv[len(stekker_argv()):]), flush=True)
    load = " ".join(f"{x:.2f}" for x in __import__("os").getloadavg())
    wall, peak, cpu = run_cpu(argv)
    files = [p for p in out.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    homes = {lang: (out / lang / "index.html").stat().st_size for lang in ("nl", "en")}
    orgs = sorted(p.stat().st_size for p in (out / "nl" / "org").glob("*/index.html"))
    org_more = sorted(p.stat().st_size for p in (out / "nl" / "org").glob("*/domains/*/index.html"))
    t0 = time.monotonic()
    pages, links, broken = link_check(out)
    print(f"stekker site: {wall:.1f} s wall, {cpu:.1f} s CPU (all its processes), peak RSS {peak:.0f} MB; "
          f"load average before: {load}")
    print(f"files {len(files):,}, {size / 1e6:.1f} MB; HTML pages {pages:,}")
    print(f"home: nl {homes['nl'] / 1e3:.1f} KB, en {homes['en'] / 1e3:.1f} KB; organisation pages: "
          f"{len(orgs):,}, median {orgs[len(orgs) // 2] / 1e3:.1f} KB, max {orgs[-1] / 1e3:.1f} KB" if orgs else "")
    if org_more:
        print(f"further pages of long organisation domain lists: {len(org_more):,}, max {org_more[-1] / 1e3:.1f} KB")
    big = sorted(((p.stat().st_size, p) for p in out.rglob("index.html")), reverse=True)[:3]
    print("largest pages: " + ", ".join(f"{p.relative_to(out)} {s / 1e3:.0f} KB" for s, p in big))
    print(f"link check: {pages:,} pages, {links:,} internal links, {broken} broken ({time.monotonic() - t0:.1f} s)")
    return 0 if broken == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
