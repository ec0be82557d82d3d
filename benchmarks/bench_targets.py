"""Benchmark input reading (not a test): stream a large input file and report
time, rate and peak RSS.  Memory must stay bounded (only the set of seen
domains grows with the input).

    python benchmarks/bench_targets.py [--lines 1000000] [--format csv|txt] [--store]

``--store`` also streams the targets into a temporary SQLite store
(``Store.add_targets``) the way ``stekker scan`` does.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time

from stekker.targets import read_targets


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_input(path: str, n: int, fmt: str) -> None:
    rng = random.Random(1)
    tlds = ["nl", "nl", "nl", "eu", "com", "org", "be", "de"]
    with open(path, "w", encoding="utf-8") as fh:
        if fmt == "csv":
            fh.write("domain,organisation,sector,hosts\n")
        for i in range(n):
            d = f"organisatie-{i}-{rng.randrange(10**6)}.{rng.choice(tlds)}"
            if i % 50 == 0:
                d = "www." + d
            if i % 1000 == 999:
                d = f"organisatie-{i - 1}-x..nl"  # invalid
            if fmt == "csv":
                host = f"portaal.{d}" if i % 10 == 0 else ""
                fh.write(f"{d},Organisatie {i},sector {i % 7},{host}\n")
            else:
                fh.write(d + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--format", choices=["csv", "txt"], default="csv")
    ap.add_argument("--store", action="store_true", help="also stream into a SQLite store")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, f"input.{a.format}")
        write_input(path, a.lines, a.format)
        print(f"input: {a.lines:,} lines, {os.path.getsize(path) / 1e6:.1f} MB; RSS before {rss_mb():.0f} MB")
        t0 = time.perf_counter()
        tf = read_targets(path)
        t1 = time.perf_counter()
        print(f"read_targets (hash, encoding, dialect): {t1 - t0:.2f}s  sha256 {tf.sha256[:16]}...")
        if a.store:
            from stekker.store import Store

            store = Store.open(os.path.join(tmp, "bench.db"))
            sid = store.create_scan(tool_version="bench", plan_version=1, input_path=path,
                                    input_sha256=tf.sha256, resolvers=[], options={})
            n = store.add_targets(sid, tf)
            store.add_input_issues(sid, tf.issues)
        else:
            n = 0
            for _ in tf:
                n += 1
        t2 = time.perf_counter()
        st = tf.stats
        print(f"streamed {st['rows']:,} rows -> {st['targets']:,} targets, {st['rejected']:,} rejected, "
              f"{st['duplicates']:,} duplicates in {t2 - t1:.2f}s ({st['rows'] / (t2 - t1):,.0f} rows/s)"
              + (f"; {n:,} rows stored" if a.store else ""))
        print(f"RSS now {rss_mb():.0f} MB, peak {peak_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
