"""Benchmark of stekker.ipasn (a script, not a test).

Builds a realistic IP-to-ASN table -- by default a synthetic iptoasn-shaped
file of 500,000 IPv4 + 100,000 IPv6 disjoint ranges over ~75,000 ASes, or a
real file given with --file (ip2asn-*.tsv[.gz] or pfx2as) -- and prints
build time, cache save/load time, memory, single lookups/s and batch
lookups/s.  --pfx2as makes the synthetic data an overlapping pfx2as table
(covering prefixes + more-specifics) to time the flattening.

    python benchmarks/bench_ipasn.py
    python benchmarks/bench_ipasn.py --v4 1000000 --v6 200000 --pfx2as
    python benchmarks/bench_ipasn.py --file ~/Downloads/ip2asn-combined.tsv.gz
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import os
import random
import resource
import socket
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stekker.ipasn import AsnTable  # noqa: E402

COUNTRIES = ["US", "NL", "DE", "FR", "GB", "CN", "JP", "BR", "IN", "RU", "SE", "IT", "ES", "PL", "CA", "AU"]


def rss_mb() -> float:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synth_ip2asn(path: Path, n4: int, n6: int, n_as: int, seed: int) -> None:
    """Like iptoasn's files: adjacent ranges covering the routed space, ~15 %
    of them "Not routed" (AS 0, dropped at import), boundaries on /24 (v4)
    and /48 (v6), an AS per range from a skewed (Zipf-like) distribution."""
    rng = np.random.default_rng(seed)
    names = {a: f"AS{a}-NET-{['HOSTING', 'TELECOM', 'CLOUD', 'UNIV', 'ISP'][a % 5]} Example Networks {a % 997}"
             for a in range(1, n_as + 1)}
    cc = {a: COUNTRIES[(a * 7) % len(COUNTRIES)] for a in names}
    n4_total = int(n4 / 0.85)
    n6_total = int(n6 / 0.85)

    def asn_pick(n: int) -> list[int]:
        z = np.minimum(rng.zipf(1.3, n), n_as)
        a = ((z * 2654435761) % n_as + 1).tolist()
        routed = rng.random(n) >= 0.15
        return [x if r else 0 for x, r in zip(a, routed)]

    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as fh:
        # IPv4: 1.0.0.0 .. 223.255.255.255 cut at random /24 boundaries
        cuts = np.unique(rng.integers(1 << 16, 224 << 16, size=n4_total, dtype=np.int64)) << 8
        ends = np.append(cuts[1:] - 1, (224 << 24) - 1)
        ntoa = socket.inet_ntoa
        for start, end, a in zip(cuts.tolist(), ends.tolist(), asn_pick(len(cuts))):
            desc, c = (names[a], cc[a]) if a else ("Not routed", "None")
            fh.write(f"{ntoa(start.to_bytes(4, 'big'))}\t{ntoa(end.to_bytes(4, 'big'))}\t{a}\t{c}\t{desc}\n")
        # IPv6: 2000::/12 cut at random /48 boundaries (48-bit cut points, shifted by 80)
        cuts6 = np.unique(rng.integers(0, 1 << 36, size=n6_total, dtype=np.int64)).tolist()
        base = 0x2000 << 112
        for k, a in zip(range(len(cuts6)), asn_pick(len(cuts6))):
            start = base + (cuts6[k] << 80)
            end = (base + (cuts6[k + 1] << 80) - 1) if k + 1 < len(cuts6) else base + (1 << 116) - 1
            desc, c = (names[a], cc[a]) if a else ("Not routed", "None")
            fh.write(f"{ipaddress.IPv6Address(start)}\t{ipaddress.IPv6Address(end)}\t{a}\t{c}\t{desc}\n")


def synth_pfx2as(path: Path, n4: int, n6: int, n_as: int, seed: int) -> None:
    """Covering /16s plus more-specific /20../24s (overlaps), some MOAS."""
    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=1) as fh:
        for i in range(n4):
            if i % 8 == 0:
                net = rng.randint(1 << 8, 223 << 8) << 16
                plen = 16
            else:
                plen = rng.randint(20, 24)
                net = (rng.randint(1 << 24, 223 << 24)) & ~((1 << (32 - plen)) - 1)
            a = rng.randint(1, n_as)
            asn = f"{a}_{a + 1}" if i % 500 == 0 else str(a)
            fh.write(f"{ipaddress.IPv4Address(net)}\t{plen}\t{asn}\n")
        for i in range(n6):
            plen = 32 if i % 8 == 0 else rng.randint(36, 48)
            net = ((0x2 << 124) | rng.getrandbits(124)) & ~((1 << (128 - plen)) - 1)
            fh.write(f"{ipaddress.IPv6Address(net)}\t{plen}\t{rng.randint(1, n_as)}\n")


def queries(table: AsnTable, n: int, seed: int) -> list[str]:
    """Mixed queries: 90 % uniformly random IPv4 in 1/8..222/8, 10 % IPv6."""
    rng = np.random.default_rng(seed)
    v4 = rng.integers(1 << 24, 223 << 24, size=int(n * 0.9), dtype=np.uint64)
    out = [str(ipaddress.IPv4Address(int(x))) for x in v4]
    hi = table._a["v6_seg_start_hi"]
    if len(hi):  # addresses near announced IPv6 space (random /64 inside a range's first /32)
        pick = rng.integers(0, len(hi), size=n - len(out))
        for i in pick.tolist():
            h = int(hi[i]) + int(rng.integers(0, 1 << 16))
            out.append(str(ipaddress.IPv6Address((h << 64) | int(rng.integers(0, 2**63)))))
    rng.shuffle(out)
    return out


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--file", type=Path, help="A real ip2asn / pfx2as file instead of synthetic data.")
    ap.add_argument("--v4", type=int, default=500_000, help="Synthetic IPv4 ranges.")
    ap.add_argument("--v6", type=int, default=100_000, help="Synthetic IPv6 ranges.")
    ap.add_argument("--asns", type=int, default=75_000, help="Synthetic AS count.")
    ap.add_argument("--pfx2as", action="store_true", help="Synthetic pfx2as with overlapping prefixes.")
    ap.add_argument("--queries", type=int, default=1_000_000, help="Batch size.")
    ap.add_argument("--single", type=int, default=100_000, help="Single lookups to time.")
    ap.add_argument("--repeat", type=int, default=3, help="Time each lookup mode this often; report the best.")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.file:
            src = args.file
        else:
            src = tmp / ("synthetic.pfx2as.gz" if args.pfx2as else "ip2asn-synthetic.tsv.gz")
            t0 = time.perf_counter()
            (synth_pfx2as if args.pfx2as else synth_ip2asn)(src, args.v4, args.v6, args.asns, args.seed)
            print(f"synthetic input:   {src.name}, {src.stat().st_size / 2**20:.1f} MB gz "
                  f"(generated in {time.perf_counter() - t0:.1f} s)")
        rss0 = rss_mb()
        t0, c0 = time.perf_counter(), time.process_time()
        table = AsnTable.from_file(src)
        build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
        info = table.info
        print(f"build (parse+flatten): {build:.2f} s wall, {build_cpu:.2f} s CPU for {info['rows']:,} rows "
              f"({info['v4_ranges']:,} IPv4 + {info['v6_ranges']:,} IPv6 disjoint ranges, "
              f"{info['asns']:,} ASes, overlapping={info['overlapping']})")
        arr_mb = sum(a.nbytes for a in table._a.values()) / 2**20
        print(f"memory:            arrays {arr_mb:.1f} MB; process RSS +{rss_mb() - rss0:.0f} MB during build")

        cache = tmp / "ipasn.npz"
        t0 = time.perf_counter()
        table.save(cache)
        save = time.perf_counter() - t0
        t0 = time.perf_counter()
        table = AsnTable.load(cache)
        load = time.perf_counter() - t0
        print(f"cache:             save {save:.2f} s, load {load * 1000:.0f} ms, {cache.stat().st_size / 2**20:.1f} MB")

        qs = queries(table, args.queries, args.seed)
        single = qs[: args.single]

        def best(fn) -> float:
            """Best of --repeat runs, in process CPU seconds (stable on a shared
            machine; these loops are single-threaded, so CPU time = wall time
            on an idle one)."""
            times = []
            for _ in range(max(1, args.repeat)):
                table._cache.clear()
                t0 = time.process_time()
                fn()
                times.append(time.process_time() - t0)
            return max(min(times), 1e-9)

        hits = sum(1 for ip in single if table.lookup(ip) is not None)
        dt = best(lambda: [table.lookup(ip) for ip in single])
        print(f"single lookup():   {rate(len(single), dt)} ({hits / len(single):.0%} hit; best of {args.repeat})")
        recs = table.lookup_many(qs)
        dt = best(lambda: table.lookup_many(qs))
        print(f"batch lookup_many(): {rate(len(qs), dt)} for {len(qs):,} address strings -> AsnRecord "
              f"({len(set(map(id, recs))):,} distinct records)")
        # clustered, like real scans: many sites on few hosting/CDN ranges
        rng = np.random.default_rng(args.seed + 1)
        pool = rng.choice(np.asarray(qs[: 10_000], dtype=object), size=len(qs)).tolist()
        dt = best(lambda: table.lookup_many(pool))
        print(f"batch lookup_many() clustered: {rate(len(pool), dt)} for {len(pool):,} strings over 10,000 distinct addresses")
        asns = table.asn_many(qs)
        dt = best(lambda: table.asn_many(qs))
        print(f"batch asn_many():  {rate(len(qs), dt)} for {len(qs):,} address strings -> AS numbers")
        assert [r.asn if r else 0 for r in recs[:1000]] == asns[:1000].tolist()
        v4only = [ip for ip in qs if ":" not in ip]
        dt = best(lambda: table.asn_many(v4only))
        print(f"batch asn_many() IPv4 only: {rate(len(v4only), dt)} for {len(v4only):,} strings")
        ints = np.random.default_rng(args.seed).integers(1 << 24, 223 << 24, size=len(qs), dtype=np.uint64).astype(np.uint32)
        dt = best(lambda: table.asn_v4_ints(ints))
        print(f"batch asn_v4_ints(): {rate(len(ints), dt)} for {len(ints):,} IPv4 integers")
        print(f"(lookup rates from process CPU time, best of {args.repeat}; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")

if __name__ == "__main__":
    main()
