"""The peer check (issue #3, item 6): stekker's mailbox attribution against the
labels of mxmap, mxmap.it and mxmap-dk, through the loopback DNS lab.

The lab tests need root, knotd, unbound and ../shared/data/peers; they skip
cleanly otherwise. They run on net 127.84 (the session lab uses 127.77)."""

from __future__ import annotations

import ipaddress

import pytest

from conftest import PEERS_NET, SHARED_DATA, lab_missing_reason
from stekker import kb as kbmod
from stekker.validate import check, report, verdict
from stekker.validate.peers import PeerObservation, bucket, load_all

PEERS = SHARED_DATA / "peers"


def _obs(domain, label="microsoft", **kw):
    return PeerObservation(dataset="t", domain=domain, name=domain, label=label, **kw)


# ---------------------------------------------------------------- without the lab
def test_bucket_mapping():
    assert bucket("microsoft") == bucket("ms365") == "microsoft"
    assert bucket("google") == bucket("gws") == "google"
    assert bucket("aws") == "amazon"
    for other in ("independent", "local-isp", "infomaniak", "unknown", "telia", None, ""):
        assert bucket(other) == "other"


def test_kb_knows_the_newer_microsoft_dkim_format():
    k = kbmod.load()
    m = k.match_name("selector1-willebroek-be._domainkey.organisatiewillebroek.d-v1.dkim.mail.microsoft", on="dkim")
    assert m and m[0].provider == "microsoft" and "mailbox" in m[0].roles
    assert m[0].tenant == "organisatiewillebroek"
    # a broken CNAME (relative name appended to the zone) is not Microsoft's
    assert not k.match_name("selector2-st-vith-be._domainkey.sanktvith.onmicrosoft.com.vith.be", on="dkim")


def test_build_orgs_addresses_conflicts_and_skips():
    obs = [
        # Exchange Online next to an own server: the peer's one ASN (8075) is Exchange Online's,
        # so the own host gets no ASN
        _obs("mixed.be", mx=["mixed-be.mail.protection.outlook.com", "mail.mixed.be"], mx_asns=[8075]),
        # one ASN for a host outside the lab's provider zones: a synthetic prefix of that ASN
        _obs("hosted.ch", label="independent", mx=["mx1.some-isp.ch"], mx_asns=[3303]),
        # two orgs publish different CNAMEs for one shared name: the second is dropped, with the reason
        _obs("first.be", mx=["mx.shared-isp.be"], mx_cnames={"mx.shared-isp.be": "a.relay-isp.be"}),
        _obs("clash.be", mx=["mx.shared-isp.be"], mx_cnames={"mx.shared-isp.be": "b.relay-isp.be"}),
        _obs("a" * 70 + ".be"),  # not a valid DNS name
        _obs("mixed.be"),  # duplicate
        _obs("outlook.com"),  # a zone the lab serves itself
    ]
    orgs, rows, skipped, asns = check.build_orgs(obs, "t")
    assert sorted(rows) == ["clash.be", "first.be", "hosted.ch", "mixed.be"]
    reasons = {s.domain: s.reason for s in skipped}
    assert "not a valid DNS name" in reasons["a" * 70 + ".be"]
    assert reasons["mixed.be"] == "duplicate domain in the dataset"
    assert "serves itself" in reasons["outlook.com"]
    recs = {o.domain: o.records for o in orgs}
    a = {owner: v for owner, t, v in recs["mixed.be"] if t == "A"}
    assert ipaddress.ip_address(a["mail.mixed.be"]) in check.NO_ASN_NET
    assert "mixed-be.mail.protection.outlook.com" in a  # a Microsoft lab address
    hosted = {owner: v for owner, t, v in recs["hosted.ch"] if t == "A"}
    assert ipaddress.ip_address(hosted["mx1.some-isp.ch"]) in asns.net(3303)
    assert [r[2] for r in asns.rows()] == [3303]
    assert not rows["first.be"].dropped
    assert rows["clash.be"].dropped == ["mx.shared-isp.be CNAME b.relay-isp.be.: the name already has CNAME "
                                        "a.relay-isp.be."]
    # the helper address goes to the end of the observed chain, once
    assert [(o, t) for o, t, _ in recs["first.be"] if o == "a.relay-isp.be"] == [("a.relay-isp.be", "A")]


def test_verdict_own_mx_with_exchange_online_evidence():
    row = check.Row(obs=_obs("x.be", mx=["mail.x.be"], reason="MX is local gateway; DKIM reveals microsoft"),
                    input_domain="x.be", peer_bucket="microsoft", stekker_bucket="other", stekker_status="self",
                    items=[("self", "self.own-domain", "x.be", "MX", "10 mail.x.be"),
                           ("microsoft", "microsoft.dkim:regex:...", "selector1._domainkey.x.be", "CNAME",
                            "selector1-x-be._domainkey.x.onmicrosoft.com")])
    verdict.judge(row)
    assert (row.verdict, row.cause) == ("peer", "own_mx_decides")
    # the same with only an SPF include for Microsoft: DNS cannot tell an own mailbox server from a relay
    row.items = [row.items[0], ("microsoft", "microsoft.spf:suffix:spf.protection.outlook.com", "x.be", "TXT", "v=spf1")]
    row.obs.reason = "SPF include:spf.protection.outlook.com matches ms365"
    verdict.judge(row)
    assert (row.verdict, row.cause) == ("undecided", "spf_only_vs_own_mx")


@pytest.mark.parametrize("gateway,basis,cause,explained", [
    ("proofpoint", "likely", "both_look_through", True),   # both look through the gateway, on different tokens
    (None, "likely", "both_weak", False),                  # no gateway: two weak claims, nothing to look through
])
def test_verdict_both_sides_look_through_a_gateway(gateway, basis, cause, explained):
    row = check.Row(obs=_obs("x.no", label="google", mx=["mxa-1.gslb.pphosted.com"],
                             reason="MX is proofpoint gateway; TXT verification proves google tenant"),
                    input_domain="x.no", peer_bucket="google", stekker_bucket="microsoft", stekker_status="attributed",
                    stekker_provider="microsoft", stekker_basis=basis, stekker_gateway=gateway, stekker_us=True,
                    items=[("microsoft", "microsoft.realm:equals:managed", "x.no", "REALM", "managed")])
    verdict.judge(row)
    assert (row.verdict, row.cause) == ("undecided", cause)
    res = check.DatasetResult(name="t", rows=[row], skipped=[])
    assert res.explained == int(explained) and res.both_explained == int(explained)


def test_coverage_metrics_name_an_operator_and_local_agreement():
    """Issue 12: share of domains where the peer names an operator and stekker
    none, and the agreement on local/independent operators."""
    def row(label, status, provider=None, basis=None, kind=None, bucket_=None):
        r = check.Row(obs=_obs(f"{label}-{status}-{provider}.ch", label=label), input_domain="x",
                      peer_bucket=bucket(label), stekker_status=status, stekker_provider=provider,
                      stekker_basis=basis, stekker_kind=kind)
        r.stekker_bucket = bucket_ or "other"
        return r

    rows = [row("independent", "unknown"),                        # no operator named
            row("independent", "attributed", "as3303", "network"),  # named: the network operator
            row("local-isp", "self", "self", "self"),               # named: the organisation itself
            row("independent", "attributed", "microsoft", "kb", "infrastructure"),  # a VM on Azure: self-hosted
            row("independent", "attributed", "microsoft", "likely", None, "microsoft"),  # a hyperscaler: no local agreement
            row("microsoft", "attributed", "microsoft", "kb", "platform", "microsoft"),
            row("microsoft", "absent"),                              # no operator named
            row("unknown", "unknown")]                               # the peer names none either: not counted
    res = check.DatasetResult(name="t", rows=rows, skipped=[])
    for r in res.disagreements():
        verdict.judge(r)
    assert res.peer_named == 7 and res.none_named == 2
    assert res.local_n == 5 and res.local_agree == 3
    assert res.basis_count("network") == 1 and res.basis_count("likely") == 1 and res.infrastructure == 1
    assert rows[1].stekker_label == "network:as3303" and rows[3].stekker_label == "self-hosted on microsoft"
    text = report.text_summary([res], details=False)
    assert "none named=   2/7" in text and "local agree=   3/5" in text
    md = report.markdown([res], report.meta_for("peers"))
    assert "| t | 7 | 2 | **28.6%** | 5 | 3 | **60.0%** |" in md


def test_us_control_agreement_is_its_own_column():
    """Issue 12: agreement on US control, apart from the class: a US-owned
    non-hyperscaler and a different hyperscaler on each side."""
    def row(label, status, provider=None, us=False, bucket_=None, gateway=None, asns=()):
        r = check.Row(obs=_obs(f"{label}-{provider}-{us}.ch", label=label, mx_asns=list(asns)), input_domain="x",
                      peer_bucket=bucket(label), stekker_status=status, stekker_provider=provider, stekker_us=us,
                      stekker_gateway=gateway)
        r.stekker_bucket = bucket_ or "other"
        return r

    rows = [row("microsoft", "attributed", "microsoft", True, "microsoft"),  # both
            row("independent", "attributed", "godaddy", True),      # class agrees (other), US control does not
            row("google", "attributed", "microsoft", True, "microsoft"),  # class differs, both US-controlled
            row("independent", "self"),                               # both: not US
            row("unknown", "unknown"),                                # neither shows US control
            row("microsoft", "unknown", gateway="proofpoint"),       # behind a gateway: no operator, not US
            row("independent", "unknown"),                           # unknown MX, no ASN published
            row("independent", "unknown", asns=(3303, 6730))]         # two ASNs: the lab gives none either
    for r in rows:
        r.peer_bucket = bucket(r.obs.label)
    res = check.DatasetResult(name="t", rows=rows, skipped=[])
    assert [r.peer_us for r in rows] == [True, False, True, False, False, True, False, False]
    assert res.agree == 6 and res.us_agree == 6 and res.both_agree == 5
    for r in res.disagreements():
        verdict.judge(r)
    assert res.both_explained >= res.both_agree
    assert report.none_named_causes(res) == {"gateway": 1, "no_asn": 2}
    md = report.markdown([res], report.meta_for("peers"))
    assert "| t | 8 | 0 | 6 | **75.0%** | 75.0% | **62.5%** |" in md
    assert "US control=" in report.text_summary([res], details=False)


def test_peer_conventions_on_weak_evidence_are_shown_not_chosen():
    """Issue 12: a tenant behind a gateway is Microsoft for one peer and not
    for the other. The report shows what each reading gives; stekker's own
    figure keeps one reading (likely, in the provider's bucket)."""
    def row(domain, label, kinds, gateway="seppmail", basis="likely", bucket_="microsoft"):
        r = check.Row(obs=_obs(domain, label=label), input_domain=domain, peer_bucket=bucket(label),
                      stekker_status="attributed", stekker_provider="microsoft", stekker_basis=basis,
                      stekker_us=bucket_ == "microsoft", stekker_gateway=gateway,
                      items=[("microsoft", f"microsoft.{k}:x", domain, "TXT", "v") for k in kinds])
        r.stekker_bucket = bucket_
        return r

    ch = [row("a.ch", "independent", ["realm", "txt"]), row("b.ch", "independent", ["realm"]),
          row("c.ch", "microsoft", ["realm", "spf"]), row("d.ch", "microsoft", ["spf"], gateway=None),
          row("e.ch", "microsoft", ["mx"], gateway=None, basis="kb")]
    dk = [row("a.dk", "microsoft", ["realm"]), row("b.dk", "microsoft", ["realm"]), row("c.dk", "google", ["realm"])]
    assert [r.weak_pattern for r in ch] == ["tenant_behind_gateway", "tenant_behind_gateway", "spf_behind_gateway",
                                            "spf_unknown_mx", None]
    a = check.DatasetResult(name="ch", rows=ch, skipped=[])
    b = check.DatasetResult(name="dk", rows=dk, skipped=[])
    assert a.pattern_split("tenant_behind_gateway") == (0, 2) and b.pattern_split("tenant_behind_gateway") == (3, 0)
    assert a.both_agree == 3 and a.both_agree_if_other(["tenant_behind_gateway"]) == 5
    assert a.both_agree_if_other(check.WEAK_PATTERNS) == 3  # c, d counted as other: the peer says microsoft
    assert b.both_agree == 2 and b.both_agree_if_other(["tenant_behind_gateway"]) == 0
    md = report.markdown([a, b], report.meta_for("peers"))
    assert "| ch | 0 / 2 | 1 / 0 | 1 / 0 | 60.0% | 100.0% | 60.0% |" in md
    assert "| dk | 3 / 0 | 0 / 0 | 0 / 0 | 66.7% | 0.0% | 0.0% |" in md
    assert "A tenant behind a gateway is a hyperscaler's mailbox for dk and not for ch" in md


# ---------------------------------------------------------------- through the lab
def _need_lab():
    if not PEERS.is_dir():
        pytest.skip(f"peer data not found at {PEERS} (../shared/data/peers)")
    reason = lab_missing_reason()
    if reason:
        pytest.skip(reason)


@pytest.mark.lab
def test_peer_sample_agreement_and_explanations(tmp_path):
    _need_lab()
    results = check.run(PEERS, workdir=tmp_path, net=PEERS_NET, n_sample=100)
    assert len(results) == 4 and all(r.n >= 5 for r in results)
    n = sum(r.n for r in results)
    agree = sum(r.agree for r in results)
    print("\n" + report.text_summary(results, details=True))
    assert agree / n >= 0.9, report.text_summary(results)
    for r in results:
        # no lab failure may reach the comparison
        assert all(row.stekker_status != "error" for row in r.rows), [x.obs.domain for x in r.rows if x.stekker_status == "error"]
        for d in r.disagreements():
            assert d.obs.reason or d.obs.non_dns_signals, d.obs.domain  # the peer's explanation
            assert d.evidence or d.stekker_note, d.obs.domain  # stekker's explanation
            assert d.verdict in ("stekker", "peer", "undecided") and d.cause in verdict.CAUSES and d.verdict_text
    md = report.markdown(results, report.meta_for(PEERS, 100))
    for r in results:
        for d in r.disagreements():
            assert f"#### {d.obs.domain} " in md


@pytest.mark.lab
def test_gateway_look_through_on_real_peer_records(tmp_path):
    """Real observations (mxmap.it): Exchange Online behind a Barracuda/Sophos
    gateway seen through the newer DKIM format; an own relay with DKIM to the
    tenant; Exchange Online found through autodiscover behind an ISP MX."""
    _need_lab()
    want = {"willebroek.be", "woluwe1150.be", "hasselt.be", "zottegem.be", "aalst.be"}
    obs = [o for o in load_all(PEERS)["mxmap.it (BE municipalities)"] if o.domain in want]
    assert len(obs) == len(want)
    res = check.run_dataset("hand-picked", obs, tmp_path, net=PEERS_NET)
    by = {r.obs.domain: r for r in res.rows}
    for d in ("willebroek.be", "woluwe1150.be"):  # gateway in front, DKIM *.x-v1.dkim.mail.microsoft behind it
        r = by[d]
        assert r.stekker_gateway in ("barracuda", "sophos") and r.stekker_provider == "microsoft", (d, r.evidence)
        assert any("dkim.mail.microsoft" in e for e in r.evidence)
        assert r.agree
    assert by["aalst.be"].agree and by["aalst.be"].stekker_provider == "microsoft"
    # the own relay in front of Exchange Online (DKIM to the tenant, autodiscover): either stekker sees
    # through it, or it is the known, explained disagreement of the engine's own-MX rule
    h = by["hasselt.be"]
    if not h.agree:
        assert h.stekker_status == "self" and "microsoft" in h.stekker_also
        assert (h.verdict, h.cause) == ("peer", "own_mx_decides")
    z = by["zottegem.be"]
    assert z.stekker_provider == "microsoft" and (z.verdict, z.cause) == ("stekker", "stekker_autodiscover")


@pytest.mark.lab
def test_realm_answers_the_peer_published_are_asked_like_a_user_would(tmp_path):
    """mxmap-dk's company list: a Proofpoint/Mimecast gateway with the realm
    answer 'Managed' published and nothing else behind it. From DNS alone
    stekker names no mailbox operator; with the realm look-up (served by the
    lab's stand-in, asked as `stekker scan --ms-realm` does) it says 'likely
    microsoft', and the DNS-only attribution of the same scan is kept."""
    _need_lab()
    want = {"dnb.no", "aspo.com", "nokia.com"}
    obs = [o for o in load_all(PEERS)["mxmap-dk (Nordic listed companies)"] if o.domain in want]
    assert len(obs) == len(want) and {o.domain: o.tenant for o in obs}["dnb.no"] == "Managed"
    res = check.run_dataset("realm", obs, tmp_path, net=PEERS_NET)
    by = {r.obs.domain: r for r in res.rows}
    dns = {r.obs.domain: r for r in res.dns_only.rows}
    for d in ("dnb.no", "aspo.com"):
        assert dns[d].stekker_status == "unknown" and not dns[d].agree, dns[d].evidence
        r = by[d]
        assert (r.stekker_provider, r.stekker_basis) == ("microsoft", "likely") and r.agree, r.evidence
        assert any("REALM managed" in e for e in r.evidence) and r.stekker_gateway in ("proofpoint", "mimecast")
    # the MX decides where it names the platform: the realm adds nothing there
    assert by["nokia.com"].stekker_basis != "likely" and by["nokia.com"].agree and dns["nokia.com"].agree
    assert res.none_named == 0 and res.dns_only.none_named == 2
    dsonly = check.run_dataset("realm-off", obs, tmp_path / "off", net=PEERS_NET, ms_realm=False)
    assert dsonly.dns_only is None and {r.obs.domain: r.stekker_status for r in dsonly.rows}["dnb.no"] == "unknown"
