"""Benchmark the evidence store's write path (not a test).

    python benchmarks/bench_store.py [--domains 5000] [--rows 35] [--batch 50] [--db PATH|postgresql://...]

Writes synthetic domains the way the scan engine does (``write_domains`` with
``rows`` QueryResults per domain, a ~200-byte wire answer each) and prints
domains/s and rows/s, then reads all evidence back and prints that rate.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

from stekker.evidence import RR, AbsentKind, ErrorKind, QueryResult, Status
from stekker.store import Store
from stekker.targets import Target


def make_rows(domain: str, n: int) -> list[tuple[QueryResult, bytes | None]]:
    rows = []
    now = time.time()
    for i in range(n):
        k = i % 5
        if k == 3:
            r = QueryResult(domain, "apex_txt", f"q{i}.{domain}", "TXT", Status.ABSENT,
                            absent_kind=AbsentKind.NXDOMAIN, rcode="NXDOMAIN", resolver="127.0.0.1:53", ts=now)
        elif k == 4:
            r = QueryResult(domain, "apex_mx", f"q{i}.{domain}", "MX", Status.ERROR,
                            error_kind=ErrorKind.TIMEOUT, resolver="127.0.0.1:53", ts=now, detail="timeout after 2 tries")
        else:
            r = QueryResult(domain, "www", f"q{i}.{domain}", "A", Status.PRESENT, rcode="NOERROR",
                            answers=[RR(f"q{i}.{domain}", "CNAME", 300, f"x.{domain}"),
                                     RR(f"x.{domain}", "A", 300, "192.0.2.1")],
                            resolver="127.0.0.1:53", ts=now)
        rows.append((r, os.urandom(200)))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--domains", type=int, default=5000)
    ap.add_argument("--rows", type=int, default=35)
    ap.add_argument("--batch", type=int, default=50, help="domains per write_domains call")
    ap.add_argument("--db", default=None)
    a = ap.parse_args()
    tmp = None
    db = a.db
    if db is None:
        tmp = tempfile.TemporaryDirectory()
        db = os.path.join(tmp.name, "bench.db")
    store = Store.open(db)
    sid = store.create_scan(tool_version="bench", plan_version=1, input_path=None, input_sha256=None,
                            resolvers=["127.0.0.1:53"], options={})
    domains = [f"org{i}.example.nl" for i in range(a.domains)]
    t0 = time.perf_counter()
    store.add_targets(sid, (Target(d, d, [f"Org {i}"], ["test"], [], [i + 1]) for i, d in enumerate(domains)))
    t1 = time.perf_counter()
    print(f"add_targets: {a.domains} targets in {t1 - t0:.2f}s ({a.domains / (t1 - t0):,.0f}/s)")
    wall = cpu = 0.0
    for i in range(0, len(domains), a.batch):
        batch = [(d, "ok", make_rows(d, a.rows)) for d in domains[i : i + a.batch]]  # not timed
        t0 = time.perf_counter()
        c0 = time.process_time()
        store.write_domains(sid, batch)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
    t0, t1, c0, c1 = 0.0, wall, 0.0, cpu
    rows = a.domains * a.rows
    print(f"write_domains ({store.dialect}, batch {a.batch}): {a.domains / (t1 - t0):,.0f} domains/s, "
          f"{rows / (t1 - t0):,.0f} rows/s wall; {(c1 - c0) / rows * 1e6:.1f} us CPU of this process per row "
          f"(load average {os.getloadavg()[0]:.1f})")
    t0 = time.perf_counter()
    n = sum(len(ev.results) for ev in store.iter_evidence(sid))
    t1 = time.perf_counter()
    print(f"iter_evidence: {n / (t1 - t0):,.0f} rows/s read back ({n} rows)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
