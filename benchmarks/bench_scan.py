#!/usr/bin/env python3
"""Scan benchmark: build a loopback DNS lab of N organisation domains, scan it
with the full query plan through the lab's recursive resolver with a cold
cache, and print domains/s, queries/s, peak RSS and error counts.

Default: N = 17,600 (the size of the NOS 2026 study), with the real Dutch
public-sector names of ../shared/data/domains when present (openstate
government and school lists, jorants public-sector list), generated names
otherwise.  Not a test: it prints figures; targets are in the issue.

    sudo python3 benchmarks/bench_scan.py                    # 17,600 names
    sudo python3 benchmarks/bench_scan.py --n 100000 --tiers 4 --no-real-names
    python3 benchmarks/bench_scan.py --db postgresql://stekker@127.0.0.1:55432/bench

Needs root (port 53 on 127.x) and Debian's knot + unbound.  Sends traffic to
loopback only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SHARED = ROOT.parent / "shared" / "data" / "domains"
NAME_FILES = ["openstate_govdomains_domains.csv", "openstate_onderwijs.csv", "jorants_public_sector_domains_result.csv"]


def rss_mb() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _pss_mb(pid: str) -> float:
    """Proportional set size: pages shared with the parent after fork count
    once, split between the processes (RSS would count them in each)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def rss_tree_mb() -> float:
    """Memory (PSS) of this process plus its engine workers (children named
    python); the lab's knotd/unbound children are not counted."""
    total = _pss_mb("self") or rss_mb()
    me = str(os.getpid())
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                st = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if st.get("PPid", "").strip() == me and st.get("Name", "").strip().startswith("python"):
            total += _pss_mb(pid) or int(st.get("VmRSS", "0 kB").split()[0]) / 1024
    return total


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


SKIPPED: list[str] = []


def _cpu_self() -> float:
    """CPU of this process and of its finished (joined) engine workers."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def _cpu_of(comm: str) -> float:
    """CPU seconds used so far by processes named ``comm`` (from /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)
            if not parts[0].endswith("(" + comm):
                continue
            fields = parts[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def real_names():
    """Names from the shared lists that stekker itself accepts as input
    (the lists contain typos such as 'x..nl'; those are counted, not served)."""
    from stekker.lab import profiles
    from stekker.targets import normalise_domain

    for name in NAME_FILES:
        p = SHARED / name
        if p.exists():
            for dom, org, sec in profiles.read_names(p):
                try:
                    normalise_domain(dom)
                except ValueError:
                    SKIPPED.append(dom)
                    continue
                yield dom, org, sec


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=17_600, help="organisation domains (default 17,600)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--net", default="127.88")
    ap.add_argument("--tiers", type=int, default=2, help="knotd instances for organisation zones")
    ap.add_argument("--no-real-names", action="store_true", help="generated names only")
    ap.add_argument("--db", default=None, help="SQLite path or postgresql:// URL (default: a temporary SQLite file)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--window", type=int, default=1024)
    ap.add_argument("--max-window", type=int, default=4096)
    ap.add_argument("--keep", action="store_true", help="leave the lab running")
    ap.add_argument("--workers", type=int, default=1, help="engine processes (stekker scan --workers)")
    ap.add_argument("--extra-nx", type=int, default=0,
                    help="append this many names that are not delegated (NXDOMAIN) to the input: a cheap way to "
                         "push the whole pipeline (input, store, engine) to 1,000,000 targets for the memory check")
    args = ap.parse_args()

    from stekker import __version__
    from stekker.collect.plan import load_plan
    from stekker.collect.run import RunOptions, run_scan
    from stekker.collect.transport import TransportConfig, parse_resolver
    from stekker.lab import Lab, LabSpec, profiles
    from stekker.store import Store
    from stekker.targets import read_targets

    work = Path(args.workdir or tempfile.mkdtemp(prefix="stekker-bench-"))
    names = None
    source = "generated names"
    if not args.no_real_names and SHARED.exists():
        names = real_names()
        source = "real Dutch public-sector names (../shared/data/domains) + generated names beyond them"
    def all_orgs():
        k = 0
        if names is not None:
            for org in profiles.generate(args.n, seed=args.seed, names=names):
                k += 1
                yield org
        yield from profiles.generate(args.n - k, seed=args.seed + 1)

    orgs = all_orgs()
    lab = Lab(LabSpec(orgs=orgs, with_faults=True, org_tiers=args.tiers), workdir=work / "lab", net=args.net)
    print(f"building lab of {args.n:,} organisations ({source}) in {work} ...", flush=True)
    lab.start(timeout=600)
    try:
        if SKIPPED:
            print(f"skipped {len(SKIPPED)} invalid names from the shared lists, e.g. {SKIPPED[:3]}")
        print(f"lab: build {lab.timings.get('build', 0):.1f} s, start {lab.timings.get('start', 0):.1f} s, "
              f"counts {lab.counts}", flush=True)
        inp = lab.write_input(work / "input.csv")
        if args.extra_nx:
            with open(inp, "a", encoding="utf-8") as f:
                for i in range(args.extra_nx):
                    f.write(f"bench-nx-{i:07d}.nl,Niet Bestaand {i},nx,\n")
            print(f"input: {args.n:,} lab organisations + {args.extra_nx:,} names that do not exist", flush=True)
        lab.flush()  # cold cache
        db = args.db or str(work / "bench.db")
        store = Store.open(db)
        rss0 = rss_mb()
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sampler():
            t0 = time.monotonic()
            while not stop.wait(1.0):
                samples.append((time.monotonic() - t0, rss_tree_mb()))

        threading.Thread(target=sampler, daemon=True).start()
        cpu0 = _cpu_self()
        ub0 = _cpu_of("unbound")
        t0 = time.monotonic()
        tf = read_targets(inp)
        sid = store.create_scan(tool_version=__version__, plan_version=load_plan().version, input_path=str(inp),
                                input_sha256=None, resolvers=[lab.resolver], options={"bench": True})
        n = store.add_targets(sid, tf)
        t_in = time.monotonic() - t0
        cfg = TransportConfig(timeout=2.0, retries=2, window=args.window, window_max=args.max_window)
        res = run_scan(store, sid, [parse_resolver(lab.resolver)], cfg,
                       RunOptions(progress="lines", progress_interval=5, workers=args.workers))
        wall = time.monotonic() - t0
        stop.set()
        c = res.counters
        print()
        print(f"domains            {c.domains:,} of {n:,} (input read + stored in {t_in:.1f} s)")
        print(f"  ok / nxdomain / error   {c.ok:,} / {c.nxdomain:,} / {c.error:,}")
        print(f"questions          {c.queries:,} (sent to the resolver: {res.transport['sent']:,}; "
              f"shared-name cache hits {c.cache_hits:,})")
        print(f"  present / absent / error  {c.present:,} / {c.absent:,} / {c.errors:,}")
        print(f"  error kinds      {dict(c.error_kinds)}")
        print(f"transport          {res.transport}")
        print(f"scan time          {res.elapsed:.1f} s; wall incl. input {wall:.1f} s")
        print(f"domains/s          {c.domains / res.elapsed:,.0f}")
        print(f"questions/s        {c.queries / res.elapsed:,.0f} (stored rows); "
              f"{res.transport['sent'] / res.elapsed:,.0f} sent on the wire")
        steady = [s for s in samples if s[0] > 2]
        peak = max([m for _, m in samples] or [rss_tree_mb()])
        print(f"memory (PSS)       start {rss0:.0f} MB, peak {peak:.0f} MB (engine processes together; parent's "
              f"own peak RSS {peak_rss_mb():.0f} MB); samples "
              + ", ".join(f"{t:.0f}s:{m:.0f}" for t, m in steady[:: max(1, len(steady) // 8)]))
        cpu = _cpu_self() - cpu0
        ub = _cpu_of("unbound") - ub0
        print(f"CPU                stekker {cpu:.1f} s ({1e6 * cpu / max(1, c.queries):.0f} us per question), "
              f"unbound {ub:.1f} s, on {os.cpu_count()} cores shared with knotd")
        print(f"database           {db}")
    finally:
        if not args.keep:
            lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
