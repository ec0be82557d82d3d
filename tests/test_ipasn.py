"""IP -> ASN tables: parsing (ip2asn, pfx2as, gzip, bad lines), most-specific
matching against a brute-force reference, batch lookups, the lab's table,
save/load, default location and staleness."""

from __future__ import annotations

import gzip
import ipaddress
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stekker import datasets
from stekker.ipasn import AsnRecord, AsnTable, AsnTableError, detect_format, stale_warning

IP2ASN = (
    "# iptoasn sample\n"
    "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
    "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
    "\n"
    "1.0.4.0\t1.0.7.255\t38803\tAU\tWPL-AS-AP Wirefreebroadband Pty Ltd\n"
    "garbage\n"
    "1.0.8.0\t1.0.8.x\t1\tUS\tbroken address\n"
    "1.0.9.0\t1.0.9.255\tASX\tUS\tbroken asn\n"
    "149.210.0.0\t149.210.255.255\t20857\tNL\tTRANSIP-AS\n"
    "2001:db8::\t2001:db8:ffff:ffff:ffff:ffff:ffff:ffff\t64500\tNL\tEXAMPLE-V6\n"
    "2a00:1450::\t2a00:1450:ffff:ffff:ffff:ffff:ffff:ffff\t15169\tUS\tGOOGLE\n"
    "2a00:1451::\t1.2.3.4\t15169\tUS\tmixed families\n"
)

PFX2AS = (
    "10.0.0.0\t8\t64500\n"
    "10.1.0.0\t16\t64501\n"
    "10.1.2.0\t24\t64502_64503\n"
    "10.1.2.128\t25\t64504,64505\n"
    "10.9.9.9\t24\t64506\n"          # host bits set: reported, used as 10.9.9.0/24
    "10.2.0.0\t33\t64507\n"          # bad length
    "2001:db8::\t32\t64510\n"
    "2001:db8:1::\t48\t64511\n"
)


def write(path: Path, text: str, gz: bool = False) -> Path:
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            fh.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize("gz", [False, True])
def test_ip2asn_combined_v4_v6_and_bad_lines(tmp_path, gz):
    f = write(tmp_path / ("ip2asn-combined.tsv" + (".gz" if gz else "")), IP2ASN, gz)
    t = AsnTable.from_file(f)
    info = t.info
    assert info["format"] == "ip2asn"
    assert info["name"] == "ip2asn-combined"
    assert (info["v4_rows"], info["v6_rows"], info["not_routed"], info["bad_lines"]) == (3, 2, 1, 4)
    probs = info["problems"]
    assert any(p.startswith(f"{f.name} line 6:") and "expected 5" in p for p in probs)
    assert any(p.startswith(f"{f.name} line 7:") and "bad IP address '1.0.8.x'" in p for p in probs)
    assert any(p.startswith(f"{f.name} line 8:") and "bad AS number" in p for p in probs)
    assert any(p.startswith(f"{f.name} line 12:") and "different IP versions" in p for p in probs)

    r = t.lookup("1.0.0.77")
    assert (r.asn, r.country, r.description, r.prefix) == (13335, "US", "CLOUDFLARENET", "1.0.0.0/24")
    assert t.lookup("1.0.2.1") is None  # AS 0 "Not routed"
    assert t.lookup("1.0.5.5").description == "WPL-AS-AP Wirefreebroadband Pty Ltd"
    assert t.lookup("149.210.1.10").asn == 20857
    assert t.lookup("9.9.9.9") is None
    assert t.lookup("2001:db8::1").asn == 64500
    r6 = t.lookup("2a00:1450:4001:80b::200e")
    assert (r6.asn, r6.country, r6.prefix) == (15169, "US", "2a00:1450::/32")
    assert t.lookup("2a00:1452::1") is None
    assert t.lookup(ipaddress.ip_address("1.0.0.1")).asn == 13335
    assert t.lookup(bytes([1, 0, 0, 1])).asn == 13335
    assert t.lookup("::ffff:1.0.0.1").asn == 13335  # IPv4-mapped
    with pytest.raises(ValueError):
        t.lookup("1.2.3")


def test_ip2asn_unknown_country_and_range_prefix(tmp_path):
    f = write(tmp_path / "x.tsv", "5.0.0.0\t5.0.2.255\t64999\tNone\t\n")
    r = AsnTable.from_file(f).lookup("5.0.1.1")
    assert r.country is None and r.description is None
    assert r.prefix == "5.0.0.0-5.0.2.255"  # not one CIDR block
    assert r.to_dict()["origins"] == [64999]


@pytest.mark.parametrize("gz", [False, True])
def test_pfx2as_most_specific_moas_and_as_sets(tmp_path, gz):
    f = write(tmp_path / ("routeviews-rv2.pfx2as" + (".gz" if gz else "")), PFX2AS, gz)
    t = AsnTable.from_file(f)
    info = t.info
    assert info["format"] == "pfx2as" and info["overlapping"] is True
    assert info["bad_lines"] == 2
    assert any("line 5:" in p and "host bits set" in p for p in info["problems"])
    assert any("line 6:" in p and "bad prefix length '33'" in p for p in info["problems"])

    assert t.lookup("10.200.0.1").asn == 64500
    assert t.lookup("10.200.0.1").prefix == "10.0.0.0/8"
    assert t.lookup("10.1.200.1").prefix == "10.1.0.0/16"
    r = t.lookup("10.1.2.5")
    assert (r.asn, r.origins, r.multi_origin, r.as_set, r.prefix) == (64502, (64502, 64503), True, False, "10.1.2.0/24")
    r = t.lookup("10.1.2.200")
    assert (r.asn, r.origins, r.multi_origin, r.as_set, r.prefix) == (64504, (64504, 64505), False, True, "10.1.2.128/25")
    assert t.lookup("10.1.3.0").asn == 64501  # back in the /16 after the /24
    assert t.lookup("10.9.9.200").prefix == "10.9.9.0/24"
    assert t.lookup("11.0.0.0") is None
    assert t.lookup("2001:db8:1:2::1").asn == 64511
    assert t.lookup("2001:db8:2::1").asn == 64510
    assert t.lookup("2001:db9::1") is None
    assert t.lookup("10.1.0.1").country is None


def test_format_detection_and_errors(tmp_path):
    assert detect_format(["# x", "1.0.0.0\t24\t13335"]) == "pfx2as"
    assert detect_format(["1.0.0.0\t1.0.0.255\t13335\tUS\tX"]) == "ip2asn"
    with pytest.raises(AsnTableError, match="unknown format"):
        AsnTable.from_file(write(tmp_path / "a.txt", "hello world\tfoo\tbar\n"))
    with pytest.raises(AsnTableError, match="no valid rows"):
        AsnTable.from_file(write(tmp_path / "b.tsv", "1.0.0.0\t1.0.0.255\t0\tNone\tNot routed\n"))
    with pytest.raises(AsnTableError, match="no such file"):
        AsnTable.from_file(tmp_path / "missing.tsv")
    with pytest.raises(AsnTableError, match="unknown format 'csv'"):
        AsnTable.from_file(write(tmp_path / "c.tsv", "1.0.0.0\t24\t1\n"), format="csv")
    bad_gz = tmp_path / "trunc.tsv.gz"
    whole = gzip.compress("".join(f"{i >> 8}.{i & 255}.0.0\t16\t{i * 7919}\n" for i in range(1, 5000)).encode())
    bad_gz.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(AsnTableError, match="cannot read"):
        AsnTable.from_file(bad_gz, format="pfx2as")


def test_from_files_merges_v4_and_v6(tmp_path):
    v4 = write(tmp_path / "ip2asn-v4.tsv.gz", "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n", gz=True)
    v6 = write(tmp_path / "ip2asn-v6.tsv.gz", "2606:4700::\t2606:4700:ffff:ffff:ffff:ffff:ffff:ffff\t13335\tUS\tCLOUDFLARENET\n", gz=True)
    t = AsnTable.from_files([v4, v6], name="iptoasn", version="2026-11-24")
    assert t.info["version"] == "2026-11-24" and len(t.info["files"]) == 2
    assert [r.asn if r else None for r in t.lookup_many(["1.0.0.1", "2606:4700::6810:84e5", "8.8.8.8"])] == [13335, 13335, None]
    assert t.info["records"] == 1  # same AS, country and name -> one record


# ---------------------------------------------------------------- correctness vs brute force


def brute(rows: list[tuple[int, int, int]], ip: int) -> int | None:
    """Row index of the smallest containing range (ties: first row)."""
    best = None
    for i, (a, b, _asn) in enumerate(rows):
        if a <= ip <= b and (best is None or b - a < rows[best][1] - rows[best][0]):
            best = i
    return best


v4_prefix = st.tuples(st.integers(0, 0xFFFF), st.integers(16, 32))  # inside 10.0.0.0/16 .. nested a lot


@settings(max_examples=60, deadline=None)
@given(prefixes=st.lists(st.tuples(v4_prefix, st.integers(1, 9)), min_size=1, max_size=40),
       queries=st.lists(st.integers(0, 0x1FFFF), min_size=1, max_size=60))
def test_pfx2as_longest_prefix_matches_brute_force(prefixes, queries):
    base = 10 << 24
    rows = []
    lines = []
    for (off, plen), asn in prefixes:
        host = (1 << (32 - plen)) - 1
        a = (base + off) & ~host
        rows.append((a, a | host, asn))
        lines.append(f"{ipaddress.IPv4Address(a)}\t{plen}\t{asn}")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "t.pfx2as"
        p.write_text("\n".join(lines) + "\n")
        t = AsnTable.from_file(p)
    ips = [str(ipaddress.IPv4Address(base + q)) for q in queries] + [
        str(ipaddress.IPv4Address(x)) for r in rows for x in (r[0], r[1], r[0] - 1, r[1] + 1)]
    got = t.lookup_many(ips)
    for ip, rec in zip(ips, got):
        i = brute(rows, int(ipaddress.IPv4Address(ip)))
        if i is None:
            assert rec is None, ip
        else:
            assert rec is not None and rec.asn == rows[i][2], ip
            assert (rec.first, rec.last) == (str(ipaddress.IPv4Address(rows[i][0])), str(ipaddress.IPv4Address(rows[i][1])))
        assert rec == t.lookup(ip)


@settings(max_examples=60, deadline=None)
@given(ranges=st.lists(st.tuples(st.integers(0, 300), st.integers(0, 300), st.integers(1, 5)), min_size=1, max_size=25),
       hi=st.sampled_from([0x20010DB8 << 96, (0x2A00 << 112) | (0xFFFFFFFF << 64), (1 << 128) - 1000]),
       queries=st.lists(st.integers(0, 320), max_size=40))
def test_v6_arbitrary_overlapping_ranges_match_brute_force(ranges, hi, queries):
    """ip2asn-style ranges that overlap arbitrarily (not only nested), IPv6,
    including the top of the address space and ranges crossing a 64-bit boundary."""
    rows = []
    for a, b, asn in ranges:
        a, b = min(a, b), max(a, b)
        rows.append((hi + a, min(hi + b, (1 << 128) - 1), asn))
    t = AsnTable.from_rows((str(ipaddress.IPv6Address(a)), str(ipaddress.IPv6Address(b)), asn, "NL", f"AS{asn}")
                           for a, b, asn in rows)
    ips = [hi + q for q in queries if hi + q < (1 << 128)]
    got = t.lookup_many([str(ipaddress.IPv6Address(x)) for x in ips])
    asns = t.asn_many([str(ipaddress.IPv6Address(x)) for x in ips])
    for ip, rec, asn in zip(ips, got, asns):
        assert rec == t.lookup(str(ipaddress.IPv6Address(ip)))
        i = brute(rows, ip)
        if i is None:
            assert rec is None and asn == 0
        else:
            assert rec.asn == rows[i][2] == asn
            assert rec.first == str(ipaddress.IPv6Address(rows[i][0]))


# ---------------------------------------------------------------- batch, lab table


def test_lookup_many_and_asn_many_handle_mixed_and_invalid_inputs(tmp_path):
    t = AsnTable.from_file(write(tmp_path / "c.tsv", IP2ASN))
    ips = ["1.0.0.1", "nonsense", "2001:db8::5", ipaddress.ip_address("149.210.3.3"), "", "::ffff:1.0.4.1", "8.8.8.8"]
    recs = t.lookup_many(ips)
    assert [r.asn if r else None for r in recs] == [13335, None, 64500, 20857, None, 38803, None]
    assert t.asn_many(iter(ips)).tolist() == [13335, 0, 64500, 20857, 0, 38803, 0]
    assert t.asn_v4_ints(np.array([0x01000001, 0x08080808], dtype=np.uint32)).tolist() == [13335, 0]
    assert t.lookup_many([]) == []
    # records of the same range are shared, single and batch agree
    assert t.lookup("1.0.0.1") is t.lookup("1.0.0.200")
    assert t.lookup_many(["1.0.0.1", "1.0.0.2"]) == [t.lookup("1.0.0.3")] * 2
    assert t.lookup_many([" 1.0.0.1 "])[0].asn == 13335  # general path strips blanks


def test_lab_generated_table(tmp_path):
    from stekker.lab import Lab, LabSpec, catalog

    lab = Lab(LabSpec(orgs=[]), workdir=tmp_path / "lab")
    path = lab.write_ip2asn(tmp_path / "ip2asn-v4.tsv")
    t = AsnTable.from_file(path, name="lab")
    assert t.info["bad_lines"] == 0 and t.info["v4_rows"] == len(list(catalog.ip2asn_rows()))
    for prov in catalog.providers().values():
        for k in range(3):
            ip = catalog.address(prov.id, f"host{k}.example")
            r = t.lookup(ip)
            assert r is not None, (prov.id, ip)
            assert (r.asn, r.country, r.description) == (prov.asn, prov.country, prov.as_name)
            assert ipaddress.ip_address(ip) in ipaddress.ip_network(r.prefix)
    assert t.lookup("127.77.0.53") is None


# ---------------------------------------------------------------- persistence, staleness


def test_save_load_round_trip_and_default(tmp_path, monkeypatch):
    src = write(tmp_path / "x.pfx2as", PFX2AS)
    t = AsnTable.from_file(src, name="routeviews", version="20261124")
    p = t.save(tmp_path / "cache" / "t.npz")
    t2 = AsnTable.load(p)
    ips = ["10.1.2.5", "10.1.2.200", "10.5.5.5", "2001:db8:1::9", "1.1.1.1"]
    assert t2.lookup_many(ips) == t.lookup_many(ips)
    assert {k: v for k, v in t2.info.items() if k != "path"} == t.info
    assert AsnTable.read_info(p)["version"] == "20261124"

    monkeypatch.setenv("STEKKER_DATA_DIR", str(tmp_path / "data"))
    assert AsnTable.load_default() is None
    datasets.register_table(None, t)
    d = AsnTable.load_default()
    assert d is not None and d.lookup("10.1.2.200").asn == 64504
    assert AsnTable.load_default() is d  # cached until the file changes
    datasets.register_table(None, AsnTable.from_rows([("10.0.0.0", "10.255.255.255", 7, "NL", "new")], name="new"))
    assert AsnTable.load_default().lookup("10.1.2.200").asn == 7
    assert datasets.read_manifest()["ipasn"]["dataset"] == "new"
    assert AsnTable.load_default(tmp_path / "elsewhere") is None

    (tmp_path / "data" / "ipasn.npz").write_bytes(b"garbage")
    assert AsnTable.load_default() is None
    with pytest.raises(AsnTableError):
        AsnTable.load(tmp_path / "data" / "ipasn.npz")


def test_stale_warning(tmp_path):
    t = AsnTable.from_rows([("1.0.0.0", "1.0.0.255", 13335, "US", "CF")], name="iptoasn",
                           data_date="2026-10-01T00:00:00+00:00")
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert stale_warning(t, now=now) is None
    w = stale_warning(t, now=now + timedelta(days=30))
    assert w is not None and "61 days old" in w and "2026-10-01" in w and "stekker data update" in w
    assert stale_warning(t, now=now, max_age_days=20) is not None
    assert stale_warning(t.info, now=now.timestamp()) is None
    assert "no IP-to-ASN data" in stale_warning(None)
    # no data date: the import time counts
    fresh = AsnTable.from_rows([("1.0.0.0", "1.0.0.255", 1, "US", "X")])
    assert stale_warning(fresh) is None


def test_record_prefix_property():
    r = AsnRecord(1, None, None, "10.0.0.0", "10.0.0.127")
    assert r.prefix == "10.0.0.0/25"


_octet = st.one_of(st.integers(0, 255).map(str), st.sampled_from(["256", "00", "01", "1a", "", "999", "0", " 7"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(
    st.tuples(_octet, _octet, _octet, _octet).map(".".join),
    st.text(alphabet="0123456789.:abcdef fx", max_size=20),
    st.sampled_from(["1.0.0.1", "::ffff:1.0.0.9", "2001:db8::7", "1.0.0.1.", "1.2.3.4.5", "", "ünïcode"]),
), max_size=30))
def test_batch_parsing_agrees_with_single_lookups(ips):
    """The vectorised dotted-quad parser of lookup_many/asn_many agrees with
    lookup() (socket.inet_pton) on valid, odd and malformed inputs."""
    t = _TABLE
    expect = []
    for ip in ips:
        try:
            expect.append(t.lookup(ip))
        except ValueError:
            expect.append(None)
    assert t.lookup_many(ips) == expect
    assert t.asn_many(ips).tolist() == [r.asn if r else 0 for r in expect]


_TABLE = AsnTable.from_rows([
    ("0.0.0.0", "0.255.255.255", 1, "NL", "zero"),
    ("1.0.0.0", "1.0.0.255", 13335, "US", "CLOUDFLARENET"),
    ("7.0.0.0", "7.255.255.255", 7, "US", "seven"),
    ("200.0.0.0", "255.255.255.255", 200, "BR", "top"),
    ("2001:db8::", "2001:db8::ffff", 64500, "NL", "doc"),
])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 255), st.integers(0, 8)), min_size=1, max_size=40))
def test_nested_sweep_agrees_with_general_sweep(prefixes):
    """The stack sweep used for prefixes gives the same segments as the
    general heap sweep (duplicates included: the earlier row wins)."""
    import stekker.ipasn as m

    starts, ends = [], []
    for net, plen in prefixes:
        host = (1 << (8 - plen)) - 1
        starts.append(net & ~host)
        ends.append((net & ~host) | host)
    nested = m._flatten_nested(starts, ends)
    assert nested is not None
    saved = m._flatten_nested
    m._flatten_nested = lambda s, e: None
    try:
        general = m._flatten(starts, ends)
    finally:
        m._flatten_nested = saved
    assert nested == tuple(general[:3])
    assert m._flatten_nested([0, 5], [10, 20]) is None  # partial overlap: not nested
