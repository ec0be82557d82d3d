"""Tests of the loopback DNS lab (stekker.lab): zone generation (no servers
needed) and, marked ``lab``, the running hierarchy through unbound."""

from __future__ import annotations

import csv
import ipaddress
import itertools
import os
import shutil
import subprocess
import time
import types
from collections import Counter
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.zone
import pytest

from conftest import HAND_ORGS, OTHER_NET, SHARED_DATA, SPARE_NET
from stekker.lab import Lab, LabSpec, Org, faults, profiles
from stekker.lab import catalog
from stekker.lab.build import Builder
from stekker.lab.zonefile import ZoneDataError, norm_rdata, txt_rdata

# ---------------------------------------------------------------- zone text


@pytest.mark.parametrize("value", faults.HOSTILE_TXT)
def test_txt_escaping_round_trips_hostile_content(value):
    text = txt_rdata(value)
    assert "\n" not in text and "\r" not in text and "\x00" not in text
    rd = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, text)
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else value
    assert b"".join(rd.strings) == raw
    assert all(len(s) <= 255 for s in rd.strings)


def test_norm_rdata_makes_names_absolute_and_rejects_garbage():
    assert norm_rdata("MX", "10 mx.example.nl") == "10 mx.example.nl."
    assert norm_rdata("CNAME", "Autodiscover.Outlook.com") == "autodiscover.outlook.com."
    assert norm_rdata("SRV", "100 1 443 sipdir.online.lync.com") == "100 1 443 sipdir.online.lync.com."
    assert norm_rdata("MX", "0 .") == "0 ."
    with pytest.raises(ZoneDataError):
        norm_rdata("A", "not-an-address")
    with pytest.raises(ZoneDataError):
        norm_rdata("CNAME", "evil.nl.\nevil.nl. 300 IN A 1.2.3.4")
    # an internationalised target is absolute too (explore-d M8: `ns1.xn--hxargifdar.eu` without the dot
    # and without glue made a healthy IDN org's zone lame)
    assert norm_rdata("NS", "ns1.ελληνικά.eu") == "ns1.xn--hxargifdar.eu."
    assert norm_rdata("MX", "10 mail.bücher.de") == "10 mail.xn--bcher-kva.de."
    assert norm_rdata("SRV", "0 5 443 sip.bücher.de") == "0 5 443 sip.xn--bcher-kva.de."
    with pytest.raises(ZoneDataError):
        norm_rdata("NS", "bad..name")


def test_address_is_inside_provider_prefixes_and_stable():
    provs = catalog.providers()
    for pid in ("microsoft", "amazon", "cloudflare", "transip", "google"):
        a = catalog.address(pid, "host.example")
        assert a == catalog.address(pid, "host.example")
        assert any(ipaddress.IPv4Address(a) in net for net in provs[pid].prefixes)


def _ip2asn(path: Path) -> list[tuple[int, int, int, str, str]]:
    rows = []
    for line in path.read_text().splitlines():
        start, end, asn, cc, desc = line.split("\t")
        rows.append((int(ipaddress.IPv4Address(start)), int(ipaddress.IPv4Address(end)), int(asn), cc, desc))
    return rows


def _asn_of(rows, addr: str) -> int | None:
    a = int(ipaddress.IPv4Address(addr))
    hits = [r[2] for r in rows if r[0] <= a <= r[1]]
    return hits[0] if hits else None


def test_ip2asn_table_is_sorted_disjoint_and_matches_catalogue(tmp_path):
    from stekker.lab.build import write_ip2asn

    write_ip2asn(tmp_path / "ip2asn-v4.tsv")
    rows = _ip2asn(tmp_path / "ip2asn-v4.tsv")
    assert len(rows) >= 20
    for a, b in zip(rows, rows[1:]):
        assert a[1] < b[0], f"overlap {a} {b}"
    assert _asn_of(rows, "52.101.68.5") == 8075
    assert _asn_of(rows, "104.16.10.20") == 13335
    assert _asn_of(rows, "149.210.1.10") == 20857
    assert _asn_of(rows, "10.0.0.1") is None


# ---------------------------------------------------------------- profiles


def test_profiles_are_deterministic_and_seeded():
    a = [(o.domain, o.records, o.truth) for o in profiles.generate(40, seed=3)]
    b = [(o.domain, o.records, o.truth) for o in profiles.generate(40, seed=3)]
    c = [(o.domain, o.records, o.truth) for o in profiles.generate(40, seed=4)]
    assert a == b
    assert a != c
    assert len({d for d, _, _ in a}) == 40


def test_profiles_stream():
    gen = profiles.generate(1_000_000, seed=1)
    assert isinstance(gen, types.GeneratorType)
    t0 = time.monotonic()
    first = list(itertools.islice(gen, 5))
    assert len(first) == 5 and time.monotonic() - t0 < 2
    # org i does not depend on how many were asked for
    assert [o.domain for o in first] == [o.domain for o in profiles.generate(5, seed=1)]


def _somewhere(truth: dict, provider: str) -> bool:
    for v in truth.values():
        if v == provider or (isinstance(v, list) and provider in v):
            return True
    return False


def test_profiles_mix_is_roughly_the_intended_one():
    orgs = list(profiles.generate(3000, seed=11))
    n = len(orgs)
    ms = sum(_somewhere(o.truth, "microsoft") for o in orgs) / n
    amz = sum(_somewhere(o.truth, "amazon") for o in orgs) / n
    google_mb = sum(o.truth["mailbox"] == "google" for o in orgs) / n
    gateways = Counter(o.truth["mail_gateway"] for o in orgs if o.truth["mail_gateway"])
    dns_ = Counter(o.truth["dns"] for o in orgs)
    assert 0.40 <= ms <= 0.65, ms
    assert 0.10 <= amz <= 0.25, amz
    assert 0.03 <= google_mb <= 0.15, google_mb
    assert set(gateways) >= {"mimecast", "proofpoint", "barracuda", "hornetsecurity", "seppmail"}
    assert set(dns_) >= {"transip", "cloudflare", "microsoft", "amazon", "self"}
    saas = Counter(s for o in orgs for s in o.truth["saas"])
    assert saas["facebook"] > 0 and saas["docusign"] > 0 and saas["atlassian"] > 0


def test_profile_records_agree_with_truth():
    rows = list(catalog.ip2asn_rows())
    table = [(int(ipaddress.IPv4Address(s)), int(ipaddress.IPv4Address(e)), asn, c, d) for s, e, asn, c, d in rows]
    asn = {pid: p.asn for pid, p in catalog.providers().items()}
    checked = 0
    for o in profiles.generate(400, seed=5):
        recs = o.records
        mx = [r for r in recs if r[0] == o.domain and r[1] == "MX"]
        if o.truth["mailbox"] == "microsoft" and not o.truth["mail_gateway"]:
            assert mx and mx[0][2].endswith((".mail.protection.outlook.com.", ".mx.microsoft."))
            host = mx[0][2].split()[1].rstrip(".")
            a = [r[2] for r in recs if r[0] == host and r[1] == "A"]
            assert _asn_of(table, a[0]) == asn["microsoft"]
            checked += 1
        if o.truth["dns"] == "cloudflare":
            ns = [r[2] for r in recs if r[1] == "NS"]
            assert ns and all(n.endswith(".ns.cloudflare.com.") for n in ns)
        if o.truth["mail_gateway"] == "proofpoint":
            assert any("pphosted.com" in r[2] or "ppe-hosted.com" in r[2] for r in mx)
        spf = [r[2] for r in recs if r[0] == o.domain and r[1] == "TXT" and r[2].startswith("v=spf1")]
        assert len(spf) == 1
        if "amazon" in o.truth["mail_outbound"]:
            assert "include:amazonses.com" in spf[0]
    assert checked > 50


def test_profiles_use_given_names_and_skip_duplicates():
    names = ["https://www.gemeente-x.nl/", ("gemeente-x.nl", "dup"), ("school-y.nl", "School Y", "onderwijs"), "geen-domein"]
    orgs = list(profiles.generate(10, seed=1, names=names))
    assert [o.domain for o in orgs] == ["gemeente-x.nl", "school-y.nl"]
    assert orgs[1].organisation == "School Y" and orgs[1].sector == "onderwijs"


def test_read_names_from_shared_data():
    path = SHARED_DATA / "domains" / "openstate_govdomains_Gemeenten.csv"
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    orgs = list(profiles.generate(50, seed=1, names=profiles.read_names(path)))
    assert len(orgs) == 50
    assert all("." in o.domain and not o.domain.startswith("www.") for o in orgs)


# ---------------------------------------------------------------- builder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    wd = tmp_path_factory.mktemp("labbuild")
    b = Builder(wd, "127.77", 2)
    for org in itertools.chain(HAND_ORGS, profiles.generate(60, seed=2), faults.orgs()):
        b.add_org(org)
    b.finish()
    return wd, b


def _zone_text(wd: Path, rel: str) -> str:
    return (wd / "zones" / rel).read_text()


def test_records_land_in_longest_matching_zone(built):
    wd, b = built
    outlook = _zone_text(wd, "static/outlook.com.zone")
    assert "gemeente-a-nl.mail.protection.outlook.com. 300 IN A 52.101.68.5" in outlook
    org = _zone_text(wd, "org/gemeente-a.nl.zone")
    assert "gemeente-a.nl. 300 IN MX 0 gemeente-a-nl.mail.protection.outlook.com." in org
    assert "mail.protection.outlook.com" not in org.replace("IN MX 0 gemeente-a-nl.mail.protection.outlook.com.", "")
    nl = _zone_text(wd, "static/nl.zone")
    assert "gemeente-a.nl. 300 IN NS ns1.transip.nl." in nl
    # hosted DNS: the provider NS host resolves to an org tier that serves the zone
    cf = _zone_text(wd, "static/cloudflare.com.zone")
    line = next(l for l in cf.splitlines() if l.startswith("ada.ns.cloudflare.com. "))
    addr = line.split()[-1]
    tier = b.tier_addrs.index(addr)
    assert "ziekenhuis-b.nl" in b.tier_zones[tier]
    # self-hosted DNS: glue in the TLD zone
    assert "ns1.waterschap-d.nl. 300 IN A 127.77.0." in nl
    # faults
    assert faults.NXDOMAIN_DOMAIN not in nl
    assert f"{faults.TIMEOUT_DOMAIN}. 300 IN NS ns1.{faults.TIMEOUT_DOMAIN}." in nl
    assert f"ns1.{faults.TIMEOUT_DOMAIN}. 300 IN A 127.77.0.99" in nl
    assert all(faults.SERVFAIL_DOMAIN not in zs for zs in b.tier_zones)


def test_every_zone_file_parses(built):
    wd, b = built
    n = 0
    for name, (addr, zones) in b.instances().items():
        for zone, rel in zones:
            z = dns.zone.from_file(str(wd / "zones" / rel), origin=zone if zone == "." else zone + ".",
                                   relativize=False, check_origin=True)
            assert z.get_rdataset(z.origin, "SOA") is not None
            n += 1
    assert n > 100


@pytest.mark.skipif(not shutil.which("knotc") and not Path("/usr/sbin/knotc").exists(), reason="knotc missing")
def test_knot_accepts_every_zone(built, tmp_path):
    from stekker.lab import procs

    wd, b = built
    for name, (addr, zones) in b.instances().items():
        conf = procs.knot_conf(wd, name, addr, zones)
        res = subprocess.run([procs.KNOTC, "-c", str(conf), "zone-check"], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and "error" not in (res.stdout + res.stderr), (name, res.stdout, res.stderr)


def test_bad_record_is_reported_not_dropped(tmp_path):
    b = Builder(tmp_path, "127.77", 2)
    with pytest.raises(ZoneDataError, match="bad-org.nl"):
        b.add_org(Org("bad-org.nl", records=[("www.bad-org.nl", "A", "300.1.1.1")]))


# ---------------------------------------------------------------- running lab


def _resolver(lab: Lab, lifetime: float = 5.0) -> dns.resolver.Resolver:
    r = dns.resolver.Resolver(configure=False)
    r.nameservers = [lab.resolver]
    r.lifetime = lifetime
    r.timeout = lifetime
    return r


def _ask(server: str, name: str, rdtype: str, tcp: bool = False, timeout: float = 8.0, **kw):
    q = dns.message.make_query(name, rdtype, **kw)
    return (dns.query.tcp if tcp else dns.query.udp)(q, server, timeout=timeout)


@pytest.mark.lab
def test_referral_chain_root_tld_org(lab):
    net = lab.net
    # the root refers to nl, nl refers to the org tier: real referrals
    r = _ask(f"{net}.0.1", "gemeente-a.nl.", "MX")
    assert not r.flags & dns.flags.AA and any(rr.rdtype == dns.rdatatype.NS for rr in r.authority)
    r = _ask(f"{net}.0.2", "gemeente-a.nl.", "MX")
    assert not r.flags & dns.flags.AA
    assert {str(x) for rr in r.authority for x in rr} >= {"ns1.transip.nl."}
    # and unbound walks it
    ans = _resolver(lab).resolve("gemeente-a.nl", "MX")
    assert [str(x) for x in ans] == ["0 gemeente-a-nl.mail.protection.outlook.com."]
    a = _resolver(lab).resolve("gemeente-a-nl.mail.protection.outlook.com", "A")
    assert [str(x) for x in a] == ["52.101.68.5"]


@pytest.mark.lab
def test_provider_hosts_and_hosted_delegations_resolve(lab):
    res = _resolver(lab)
    chain = res.resolve("autodiscover.gemeente-a.nl", "A")
    assert chain.canonical_name.to_text() == "autod.ha-autod.office.com."
    assert str(res.resolve("sipdir.online.lync.com", "A")[0])
    # delegated to Cloudflare / Route 53 name servers
    assert [str(x) for x in res.resolve("ziekenhuis-b.nl", "MX")] != []
    assert str(res.resolve("www.school-c.nl", "A")[0]) == "13.32.1.2"
    ns = sorted(str(x) for x in res.resolve("school-c.nl", "NS"))
    assert ns == ["ns-101.awsdns-12.com.", "ns-202.awsdns-25.net."]


@pytest.mark.lab
def test_every_generated_org_resolves(lab):
    res = _resolver(lab)
    truth = lab.truth()
    broken = lab.faults()  # the fault mix's lame and nonexistent orgs
    assert len(broken) < len(truth) * 0.05
    failed = []
    for domain in itertools.islice(truth, 0, None):
        if domain in faults.EXPECTED or domain.startswith("chain") or domain in broken:
            continue
        try:
            res.resolve(domain, "SOA")
        except Exception as exc:  # noqa: BLE001
            failed.append((domain, type(exc).__name__))
    assert not failed, failed[:10]
    assert len(truth) >= 200


@pytest.mark.lab
def test_fault_servfail_and_blackhole_delegation(lab):
    r = _ask(lab.resolver, faults.SERVFAIL_DOMAIN, "MX")
    assert r.rcode() == dns.rcode.SERVFAIL
    # Unbound on its shipped defaults gives no answer at all for a zone whose
    # name servers never answer (the request is dropped after discard-timeout,
    # 1900 ms) until its infrastructure cache has marked them down; after that
    # it answers SERVFAIL. Either is what a scanner must live with; a positive
    # answer or NXDOMAIN would be a broken lab.
    t0 = time.monotonic()
    try:
        r = _ask(lab.resolver, faults.TIMEOUT_DOMAIN, "MX", timeout=5)
    except dns.exception.Timeout:
        pass
    else:
        assert r.rcode() == dns.rcode.SERVFAIL
    assert time.monotonic() - t0 < 6


@pytest.mark.lab
def test_fault_blackhole_resolver_never_answers(lab):
    bh = faults.for_net(faults.BLACKHOLE_RESOLVER, lab.net)
    with pytest.raises(dns.exception.Timeout):
        _ask(bh, "gemeente-a.nl.", "MX", timeout=0.5)
    with pytest.raises((dns.exception.Timeout, OSError)):
        _ask(bh, "gemeente-a.nl.", "MX", tcp=True, timeout=0.5)


@pytest.mark.lab
def test_fault_truncating_resolver(lab):
    tr = faults.for_net(faults.TRUNCATING_RESOLVER, lab.net)
    r = _ask(tr, "gemeente-a.nl.", "MX", timeout=2, use_edns=0)
    assert r.flags & dns.flags.TC and not r.answer
    assert r.question[0].name.to_text() == "gemeente-a.nl."
    with pytest.raises((EOFError, ConnectionError, OSError, dns.exception.DNSException)):
        _ask(tr, "gemeente-a.nl.", "MX", tcp=True, timeout=2)


@pytest.mark.lab
@pytest.mark.parametrize("name", [faults.TCP_ONLY_NAME, faults.TCP_ONLY_DOMAIN])
def test_fault_tcp_only(lab, name):
    r = _ask(lab.resolver, name, "TXT", use_edns=0, payload=1232)
    assert r.flags & dns.flags.TC
    r = _ask(lab.resolver, name, "TXT", tcp=True)
    assert not r.flags & dns.flags.TC
    assert len(r.to_wire()) > 1232
    assert sum(len(rr) for rr in r.answer) >= 16


@pytest.mark.lab
def test_fault_cname_loop_and_long_chain(lab):
    r = _ask(lab.resolver, faults.CNAME_LOOP_NAME, "A")
    assert r.rcode() == dns.rcode.SERVFAIL
    r = _ask(lab.resolver, faults.CNAME_CHAIN_NAME, "A", tcp=True)
    cnames = [rr for rr in r.answer if rr.rdtype == dns.rdatatype.CNAME]
    # unbound hands the whole chain over (it is the client's job to cap it)
    assert len(cnames) >= faults.CNAME_CHAIN_HOPS - 1 or r.rcode() == dns.rcode.SERVFAIL


@pytest.mark.lab
def test_fault_wildcards(lab):
    res = _resolver(lab)
    for label in ("autodiscover", "sip", "x7f3k2q9"):
        assert str(res.resolve(f"{label}.{faults.WILDCARD_DOMAIN}", "A")[0]) == "149.210.10.10"
    ans = res.resolve(f"zz-random.{faults.WILDCARD_CNAME_DOMAIN}", "A")
    assert ans.chaining_result.cnames[0][0].to_text() == "autodiscover.outlook.com."


@pytest.mark.lab
def test_fault_hostile_txt_is_served_byte_exact(lab):
    r = _ask(lab.resolver, faults.HOSTILE_TXT_DOMAIN, "TXT", tcp=True)
    got = {b"".join(x.strings) for rr in r.answer for x in rr}
    want = {v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v for v in faults.HOSTILE_TXT}
    assert got == want


@pytest.mark.lab
def test_fault_broken_idn_nxdomain_and_ns_only(lab):
    r = _ask(lab.resolver, f"www.{faults.BROKEN_IDN_DOMAIN}", "A")
    assert r.rcode() == dns.rcode.NXDOMAIN
    assert str(r.answer[0][0]) == faults.BROKEN_IDN_TARGET + "."
    assert _ask(lab.resolver, faults.NXDOMAIN_DOMAIN, "MX").rcode() == dns.rcode.NXDOMAIN
    r = _ask(lab.resolver, faults.NS_ONLY_DOMAIN, "MX")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert _ask(lab.resolver, f"www.{faults.NS_ONLY_DOMAIN}", "A").rcode() == dns.rcode.NXDOMAIN


@pytest.mark.lab
def test_write_input_and_truth(lab, tmp_path):
    p = lab.write_input(tmp_path / "in.csv")
    rows = list(csv.DictReader(p.open()))
    assert list(rows[0]) == ["domain", "organisation", "sector", "hosts"]
    by = {r["domain"]: r for r in rows}
    assert by["gemeente-a.nl"]["hosts"] == "loket.gemeente-a.nl"
    assert faults.NXDOMAIN_DOMAIN in by and len(rows) >= 200
    t = lab.write_input(tmp_path / "in.txt", fmt="txt").read_text().split()
    assert t == [r["domain"] for r in rows]
    assert lab.truth()["ziekenhuis-b.nl"]["mail_gateway"] == "mimecast"
    lab.write_ip2asn(tmp_path / "ip2asn-v4.tsv")
    assert _asn_of(_ip2asn(tmp_path / "ip2asn-v4.tsv"), "52.101.68.5") == 8075


@pytest.mark.lab
def test_flush_gives_a_working_cold_resolver(lab):
    pid_before = __import__("stekker.lab.procs", fromlist=["x"]).read_pids(lab.workdir)["unbound"]["pid"]
    lab.flush()
    pid_after = __import__("stekker.lab.procs", fromlist=["x"]).read_pids(lab.workdir)["unbound"]["pid"]
    assert pid_before != pid_after
    assert str(_resolver(lab).resolve("gemeente-a.nl", "MX")[0]).startswith("0 gemeente-a-nl")
    lab.start()  # idempotent: still the same processes
    assert __import__("stekker.lab.procs", fromlist=["x"]).read_pids(lab.workdir)["unbound"]["pid"] == pid_after


@pytest.mark.lab
def test_session_lab_zones_pass_knot_zone_check(lab):
    problems = lab.check_zones()
    # "missing glue" warnings are expected for out-of-bailiwick NS; nothing else
    assert not [p for p in problems if "error" in p or "rc=0" not in p], problems


@pytest.mark.lab
def test_session_lab_starts_fast(lab):
    assert lab.timings["build"] < 10
    assert lab.timings["start"] < 20


@pytest.mark.lab
def test_cli_start_status_stop(tmp_path):
    from typer.testing import CliRunner

    from conftest import lab_missing_reason
    from stekker.cli import _register, app
    from stekker.lab import procs

    reason = lab_missing_reason()
    if reason:
        pytest.skip(reason)
    _register()
    runner = CliRunner()
    d = tmp_path / "clilab"
    net = OTHER_NET  # not the session lab's net
    try:
        res = runner.invoke(app, ["lab", "start", "--dir", str(d), "--orgs", "20", "--net", net, "--no-faults",
                                  "--tiers", "3", "--check"])
        assert res.exit_code == 0, res.output
        assert f"{net}.0.53" in res.output
        assert (d / "input.csv").exists() and (d / "ip2asn-v4.tsv").exists()
        pids = procs.read_pids(d)
        assert set(pids) >= {"knot-root", "knot-tld", "knot-provider", "knot-org2", "unbound"}
        first = next(iter(Lab(workdir=d, net=net).truth()))
        r = _ask(f"{net}.0.53", first, "SOA")
        assert r.rcode() == dns.rcode.NOERROR
        res = runner.invoke(app, ["lab", "status", "--dir", str(d)])
        assert res.exit_code == 0 and "running" in res.output
    finally:
        res = runner.invoke(app, ["lab", "stop", "--dir", str(d)])
    assert res.exit_code == 0 and "unbound" in res.output
    assert not any(procs.alive(e) for e in pids.values())
    res = runner.invoke(app, ["lab", "status", "--dir", str(d)])
    assert res.exit_code == 1


def test_org_domains_are_normalised_and_suffixes_refused(tmp_path):
    b = Builder(tmp_path, "127.77", 2)
    b.add_org(Org("Gemeente-Ü.NL", records=[("www.gemeente-ü.nl", "A", "149.210.1.1")]))
    b.add_org(Org("gemeente-x.azurewebsites.net", records=[]))
    with pytest.raises(ZoneDataError):
        b.add_org(Org("co.uk"))
    with pytest.raises(ZoneDataError):
        b.add_org(Org("outlook.com"))
    b.finish()
    ace = "gemeente-ü.nl".encode("idna").decode()
    assert ace.startswith("xn--") and ace in b.org_zones
    text = (tmp_path / "zones" / "org" / f"{ace}.zone").read_text()
    assert f"www.{ace}. 300 IN A 149.210.1.1" in text
    assert "gemeente-x.azurewebsites.net" in b.org_zones
    assert "gemeente-x.azurewebsites.net. 300 IN NS" in (tmp_path / "zones" / "static" / "azurewebsites.net.zone").read_text()


def test_read_names_with_and_without_header(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("http://www.min-x.nl/over,MinX\nsub.min-y.nl,\n")
    b = tmp_path / "b.csv"
    b.write_text("Domain Name,Domain Type,Agency\nschool-z.nl,Onderwijs,Stichting Z\n")
    got_a = [(o.domain, o.organisation) for o in profiles.generate(9, names=profiles.read_names(a))]
    assert got_a == [("min-x.nl", "MinX"), ("min-y.nl", "min-y.nl")]
    got_b = [(o.domain, o.organisation, o.sector) for o in profiles.generate(9, names=profiles.read_names(b))]
    assert got_b == [("school-z.nl", "Stichting Z", "Onderwijs")]


def test_missing_servers_give_a_clear_skip_reason(monkeypatch, tmp_path):
    from conftest import lab_missing_reason
    from stekker.lab import LabError, procs

    monkeypatch.setattr(procs, "KNOTD", str(tmp_path / "no-knotd"))
    reason = lab_missing_reason()
    assert reason and "knotd" in reason
    with pytest.raises(LabError, match="no-knotd"):
        Lab(LabSpec(orgs=[]), workdir=tmp_path / "w", net=SPARE_NET).start()


def test_lab_stop_never_signals_a_process_a_pids_file_names_that_is_no_lab_server(tmp_path):
    """A hand-edited or hostile pids.json cannot make `lab stop` kill another
    process, even one whose command line it quotes exactly."""
    import json as _json
    import subprocess as _sp
    import sys as _sys

    from stekker.lab import procs

    victim = _sp.Popen([_sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / "pids.json").write_text(_json.dumps(
            {"x": {"pid": victim.pid, "argv": [_sys.executable, "-c", "import time; time.sleep(30)"]},
             "init": {"pid": 1, "argv": ["/sbin/init"]}}))
        procs.stop_all(tmp_path, timeout=0.5)
        assert victim.poll() is None  # still running
    finally:
        victim.kill()
        victim.wait()


def test_cli_start_refuses_a_directory_of_the_users(tmp_path):
    """Exploratory test (2026-12-06): `lab start --dir DIR` on a directory of
    the user's overwrote DIR/input.csv (the likeliest name of their own list)
    and deleted DIR/zones. Refused before anything is written or started."""
    from typer.testing import CliRunner

    from stekker.cli import _register, app

    _register()
    d = tmp_path / "mine"
    (d / "zones").mkdir(parents=True)
    (d / "zones" / "keep.zone").write_text("my zone")
    (d / "input.csv").write_text("domain,organisation\nmine.nl,Me\n")
    try:
        from conftest import SPARE_NET

        res = CliRunner().invoke(app, ["lab", "start", "--dir", str(d), "--orgs", "5", "--net", SPARE_NET])
    finally:
        if (d / "lab.json").exists():  # a regression started a lab there: stop it
            CliRunner().invoke(app, ["lab", "stop", "--dir", str(d)])
    assert res.exit_code == 2 and "not a lab directory" in res.output, res.output
    assert (d / "input.csv").read_text() == "domain,organisation\nmine.nl,Me\n"
    assert (d / "zones" / "keep.zone").read_text() == "my zone"


def test_lab_stop_and_status_with_a_pids_file_that_is_not_stekkers(tmp_path):
    """pids.json holding `[1, 2]` or `"x"` was an AttributeError (exit 4) in `lab stop` and `lab status`:
    a message and exit 2 now (exploratory test explore-f M12)."""
    from cli_util import cli

    for text in ("[1, 2]", '"x"', '{"a": 5}', "{not json"):
        (tmp_path / "pids.json").write_text(text)
        for cmd in ("stop", "status"):
            r = cli("lab", cmd, "--dir", str(tmp_path))
            assert r.rc == 2 and "pids.json" in r.err and "internal error" not in r.err, (text, cmd, r.text)


def test_cli_start_names_is_read_like_every_user_file(tmp_path):
    """`lab start --names /dev/zero` ate memory without limit, a FIFO hung, a directory was exit 1:
    each is refused with exit 2 before anything is written or started (explore-f M10)."""
    from cli_util import cli

    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    (tmp_path / "adir").mkdir()
    for names, why in (("/dev/zero", "a device"), (fifo, "named pipe"), (tmp_path / "adir", "directory")):
        d = tmp_path / "lab"
        r = cli("lab", "start", "--dir", str(d), "--names", str(names), "--net", "127.254")
        assert r.rc == 2 and "--names" in r.err and why in r.err, r.text
        assert not d.exists()


def test_a_build_cut_short_leaves_a_directory_the_next_start_takes(tmp_path):
    """A `lab start` interrupted while it wrote input.csv, truth.jsonl and zones/ left a directory
    without lab.json, which the next `lab start --dir` refused as the user's (explore-f M10)."""
    from stekker.lab import Lab, LabSpec

    def orgs():
        raise KeyboardInterrupt
        yield

    d = tmp_path / "lab"
    lab = Lab(LabSpec(orgs=orgs()), workdir=d, net="127.254")
    lab._orgs = orgs
    with pytest.raises(KeyboardInterrupt):
        lab.build()
    assert (d / "lab.json").is_file()  # the next start takes the directory as the lab's


def test_lab_status_with_a_lab_json_whose_counts_are_not_stekkers(tmp_path):
    """`counts` of a hand-edited lab.json that is not a mapping crashed `lab status` (exit 4, found by
    the helper that translated the lab's messages): the count is shown as unknown."""
    import json

    from cli_util import cli
    from stekker.lab import procs

    procs.write_pids(tmp_path, {"knotd": {"pid": 999_999_9, "argv": ["/usr/sbin/knotd", "-c", "x"]}})
    for counts in ([1, 2], "x", {"orgs": "many"}, {"orgs": 7}):
        (tmp_path / "lab.json").write_text(json.dumps({"resolver": "127.0.0.1", "counts": counts}))
        r = cli("lab", "status", "--dir", str(tmp_path))
        assert r.rc == 1 and "internal error" not in r.err, (counts, r.text)
        assert ("organisations: 7" if counts == {"orgs": 7} else "organisations: ?") in r.out, r.text
