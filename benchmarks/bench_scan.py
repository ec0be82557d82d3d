#!/usr/bin/env python3
"""Scan benchmark against a resolver as users have it, side by side with dnsperf.

Builds the loopback DNS lab of N organisation domains (default 17,600, the
size of the NOS 2026 study: the real Dutch public-sector names of
../shared/data/domains padded with generated ones), with the lab's default
fault mix (0.2% of the zones lame with silent name servers, 0.4% lame
answering REFUSED, 1% in the list but not existing, plus the fault
fixtures) behind Unbound with its shipped defaults, cold cache.  Then:

1. ``stekker scan`` with **default options** (only --resolver and --db
   given; ``--scan-arg`` adds more) as a separate process: wall time, peak
   memory (PSS of the stekker processes), errors by kind, and the longest
   stall: the fewest questions completed in any 2-second span while healthy
   domains were still unfinished (from the stored answer times);
2. the resolver's cache is flushed (unbound restarted) and ``dnsperf``
   (defaults: 100 questions outstanding, 5 s timeout) is sent the same
   distinct questions that stekker asked;
3. both wall times and their ratio are printed.

    sudo python3 benchmarks/bench_scan.py                    # 17,600 names
    sudo python3 benchmarks/bench_scan.py --n 5000 --lame-timeout 0.02
    sudo python3 benchmarks/bench_scan.py --scan-arg=--workers --scan-arg=2

Needs root (port 53 on 127.x), Debian's knot + unbound and dnsperf.  Sends
traffic to loopback only.  Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
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


def nos_size_orgs(n: int, seed: int, names=None):
    """The lab's organisations: the real names first (``names``, e.g.
    :func:`real_names`), generated ones beyond them, ``n`` in all."""
    from stekker.lab import profiles

    k = 0
    if names is not None:
        for org in profiles.generate(n, seed=seed, names=names):
            k += 1
            yield org
    yield from profiles.generate(n - k, seed=seed + 1)


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


def _tree_pss_mb(root_pid: int) -> float:
    """PSS of a process and all its descendants (the stekker scan and its
    engine processes)."""
    children: dict[int, list[int]] = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    total, todo = 0.0, [root_pid]
    while todo:
        p = todo.pop()
        total += _pss_mb(str(p))
        todo.extend(children.get(p, []))
    return total


def _stall(db: str, faulty: set[str]) -> tuple[float, int, float, float]:
    """(start, fewest questions completed in any 2 s span before the last
    healthy domain finished, when that span began, when the last healthy
    domain finished), from the stored answer times."""
    import sqlite3

    con = sqlite3.connect(db)
    rows = con.execute("select domain, ts from queries where ts is not null").fetchall()
    con.close()
    ts = sorted(t for _, t in rows)
    last_healthy: dict[str, float] = {}
    for d, t in rows:
        if d not in faulty:
            last_healthy[d] = max(t, last_healthy.get(d, 0.0))
    start, end = ts[0], max(last_healthy.values())
    import bisect

    worst, at = len(ts), start
    t = start
    while t + 2.0 <= end:
        n = bisect.bisect_left(ts, t + 2.0) - bisect.bisect_left(ts, t)
        if n < worst:
            worst, at = n, t
        t += 0.1
    return start, worst, at - start, end - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=17_600, help="organisation domains (default 17,600)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--net", default="127.88")
    ap.add_argument("--tiers", type=int, default=2, help="knotd instances for organisation zones")
    ap.add_argument("--no-real-names", action="store_true", help="generated names only")
    ap.add_argument("--db", default=None, help="SQLite path (default: a temporary file)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--keep", action="store_true", help="leave the lab running")
    ap.add_argument("--lame-timeout", type=float, default=0.002)
    ap.add_argument("--lame-refused", type=float, default=0.004)
    ap.add_argument("--nonexistent", type=float, default=0.01)
    ap.add_argument("--resolver-profile", default="default", choices=["default", "public"])
    ap.add_argument("--scan-arg", action="append", default=[], help="extra option for stekker scan (repeatable)")
    ap.add_argument("--no-dnsperf", action="store_true")
    ap.add_argument("--extra-nx", type=int, default=0,
                    help="append this many names that are not delegated (NXDOMAIN) to the input: a cheap way to "
                         "push the whole pipeline (input, store, engine) to 1,000,000 targets for the memory check")
    args = ap.parse_args()

    import json
    import shutil
    import subprocess

    from stekker.lab import FaultMix, Lab, LabSpec

    work = Path(args.workdir or tempfile.mkdtemp(prefix="stekker-bench-"))
    names = None
    source = "generated names"
    if not args.no_real_names and SHARED.exists():
        names = real_names()
        source = "real Dutch public-sector names (../shared/data/domains) + generated names beyond them"

    mix = FaultMix(args.lame_timeout, args.lame_refused, args.nonexistent)
    lab = Lab(LabSpec(orgs=nos_size_orgs(args.n, args.seed, names), with_faults=True, org_tiers=args.tiers, fault_mix=mix,
                      resolver_profile=args.resolver_profile), workdir=work / "lab", net=args.net)
    print(f"building lab of {args.n:,} organisations ({source}) in {work} ...", flush=True)
    lab.start(timeout=600)
    try:
        if SKIPPED:
            print(f"skipped {len(SKIPPED)} invalid names from the shared lists, e.g. {SKIPPED[:3]}")
        print(f"lab: build {lab.timings.get('build', 0):.1f} s, start {lab.timings.get('start', 0):.1f} s, "
              f"counts {lab.counts}; resolver: Unbound {args.resolver_profile} profile", flush=True)
        faulty, lame = set(), set()
        with open(lab.workdir / "truth.jsonl", encoding="utf-8") as fh:
            for line in fh:
                d = json.loads(line)
                if d.get("fault") or (d.get("sector") == "fault"):
                    faulty.add(d["domain"])
                if str(d.get("fault", "")).startswith("lame"):
                    lame.add(d["domain"])
        from stekker.lab import faults as _faults

        faulty |= {o.domain for o in _faults.orgs()}
        lame |= {_faults.SERVFAIL_DOMAIN, _faults.TIMEOUT_DOMAIN}
        inp = lab.write_input(work / "input.csv")
        if args.extra_nx:
            with open(inp, "a", encoding="utf-8") as f:
                for i in range(args.extra_nx):
                    f.write(f"bench-nx-{i:07d}.nl,Niet Bestaand {i},nx,\n")
            print(f"input: {args.n:,} lab organisations + {args.extra_nx:,} names that do not exist", flush=True)
        lab.flush()  # cold cache
        db = args.db or str(work / "bench.db")
        if os.path.exists(db):
            os.unlink(db)
        stekker = shutil.which("stekker") or sys.executable
        argv = ([stekker] if stekker != sys.executable else [sys.executable, "-m", "stekker"]) + [
            "scan", str(inp), "--resolver", lab.resolver, "--db", db, "--progress", "lines", *args.scan_arg]
        print("$ " + " ".join(argv[1 if stekker != sys.executable else 2:]), flush=True)
        ub0 = _cpu_of("unbound")
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sampler():
            while not stop.wait(1.0):
                samples.append((time.monotonic() - t0, _tree_pss_mb(proc.pid)))

        threading.Thread(target=sampler, daemon=True).start()
        out_lines = []
        for line in proc.stdout:
            out_lines.append(line.rstrip())
            if "domains (" in line or "PAUSED" in line:
                print("   " + line.rstrip(), flush=True)
        rc = proc.wait()
        wall = time.monotonic() - t0
        stop.set()
        cpu_children = resource.getrusage(resource.RUSAGE_CHILDREN)
        ub = _cpu_of("unbound") - ub0
        print("\n".join(out_lines[-28:]))
        import sqlite3

        con = sqlite3.connect(db)
        summary = json.loads(con.execute("select summary from scans order by id desc limit 1").fetchone()[0] or "{}")
        qs = con.execute("select distinct qname, qtype from queries where error_kind is null or error_kind not in "
                         "('zone_unreachable', 'deadline', 'spf_limit', 'spf_loop') and purpose != 'spf_walk'"
                         ).fetchall()
        kinds = dict(con.execute("select error_kind, count(*) from queries where status = 'error' group by 1"))
        lame_absent = con.execute(
            "select count(*) from queries where status != 'error' and domain in (%s)" % ",".join("?" * len(lame)),
            sorted(lame)).fetchone()[0] if lame else 0
        lame_status = dict(con.execute(
            "select status, count(*) from targets where domain in (%s) group by 1" % ",".join("?" * len(lame)),
            sorted(lame)).fetchall()) if lame else {}
        # healthy domains the scan called unreachable (SOA and NS both failed): a resolver that drops
        # or rate-limits must not turn a healthy zone into a lame one (SCAN.md, the public profile)
        unreachable = {d for (d,) in con.execute("select distinct domain from queries where error_kind = "
                                                 "'zone_unreachable'")}
        healthy_unreachable = sorted(unreachable - set(faulty))
        con.close()
        start, worst, at, healthy_end = _stall(db, faulty)
        peak = max([m for _, m in samples] or [0.0])
        print()
        print(f"stekker scan       rc {rc}, wall {wall:.1f} s (last healthy domain done at {healthy_end:.1f} s "
              f"after the first answer)")
        print(f"  errors by kind   {kinds}")
        print(f"  transport        {summary.get('transport')}")
        print(f"  stall            fewest questions completed in any 2 s span while healthy domains were "
              f"unfinished: {worst:,} (at {at:.1f} s)")
        print(f"  memory (PSS)     peak {peak:.0f} MB; samples "
              + ", ".join(f"{t:.0f}s:{m:.0f}" for t, m in samples[:: max(1, len(samples) // 8)]))
        print(f"  CPU              stekker {cpu_children.ru_utime + cpu_children.ru_stime:.1f} s, unbound {ub:.1f} s, "
              f"{os.cpu_count()} cores shared with knotd")
        print(f"  lame domains     {len(lame)}: status {lame_status}; questions not recorded as errors: "
              f"{lame_absent} (must be 0)")
        print(f"  healthy domains  called zone_unreachable: {len(healthy_unreachable)} (must be 0)"
              + (f": {', '.join(healthy_unreachable[:5])}" if healthy_unreachable else ""))
        if args.no_dnsperf or not shutil.which("dnsperf"):
            print("dnsperf            not run" + ("" if args.no_dnsperf else " (not installed: apt-get install dnsperf)"))
            return 0
        qfile = work / "dnsperf-questions.txt"
        with open(qfile, "w", encoding="ascii", errors="replace") as f:
            for qname, qtype in qs:
                if qname and all(32 < ord(c) < 127 for c in qname):
                    f.write(f"{qname} {qtype}\n")
        lab.flush()  # the same cold cache
        t1 = time.monotonic()
        p = subprocess.run(["dnsperf", "-s", lab.resolver, "-d", str(qfile)], capture_output=True, text=True)
        dwall = time.monotonic() - t1
        lines = [ln.strip() for ln in p.stdout.splitlines() if ln.strip().startswith(("Queries", "Response codes",
                                                                                           "Run time"))]
        print(f"dnsperf            {len(qs):,} distinct questions, wall {dwall:.1f} s; " + "; ".join(lines))
        print(f"RATIO              stekker {wall:.1f} s / dnsperf {dwall:.1f} s = {wall / dwall:.2f}")
    finally:
        if not args.keep:
            lab.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
