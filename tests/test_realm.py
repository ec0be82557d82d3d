"""The opt-in Microsoft realm look-up (``stekker scan --ms-realm``,
collect/realm.py) against a loopback stand-in of the endpoint
(stekker.lab.realm): every answer ends present / absent / error, an error is
never "no tenant", an unreachable endpoint ends in seconds, the rows are
stored after the domain's DNS rows and attributed like them."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from stekker.collect.realm import FAIL_STREAK, RealmConfig, RealmURLError, ask_realms, check_url
from stekker.evidence import AbsentKind, ErrorKind, QueryResult, Status
from stekker.lab.realm import RealmServer


def _ask(domains, url, **kw):
    got: dict[str, tuple[QueryResult, bytes | None]] = {}
    cfg = RealmConfig(url=url, qps=0, backoff=0.01, **kw)
    counts = asyncio.run(ask_realms(domains, cfg, lambda r, b: got.__setitem__(r.domain, (r, b))))
    return got, counts


def test_answers_become_present_absent_or_error():
    tenants = {"gemeente-a.nl": "Managed", "bedrijf-f.nl": "Federated", "school-x.nl": "Managed",
               "vreemd.nl": "Managed", "groot.nl": "Managed"}
    faults = {"kapot.nl": "garbage", "druk.nl": "429", "stuk.nl": "503", "vreemd.nl": "other-domain",
              "groot.nl": "huge", "diep.nl": "nested"}
    domains = ["gemeente-a.nl", "bedrijf-f.nl", "niemand.nl", "kapot.nl", "druk.nl", "stuk.nl", "vreemd.nl",
               "groot.nl", "diep.nl"]
    with RealmServer(tenants, faults=faults) as srv:
        got, counts = _ask(domains, srv.url, retries=1)
    assert set(got) == set(domains)
    a, body = got["gemeente-a.nl"]
    assert a.status is Status.PRESENT and a.values("REALM") == ["managed"] and a.qname == "gemeente-a.nl"
    assert a.purpose == "ms_realm" and a.rcode == "HTTP 200" and b'"Managed"' in body
    f, body = got["bedrijf-f.nl"]
    assert f.values("REALM") == ["federated"] and b"AuthURL" in body  # the raw answer keeps the identity provider
    assert f.values("IDP") == ["sts.bedrijf-f.nl"]  # ... and its host is a record of its own
    n, _ = got["niemand.nl"]
    assert n.status is Status.ABSENT and n.absent_kind is AbsentKind.NODATA
    # everything else is an error with its reason, never absent
    for d, kind, words in [("kapot.nl", ErrorKind.MALFORMED, "not JSON"), ("druk.nl", ErrorKind.OTHER, "HTTP 429"),
                           ("stuk.nl", ErrorKind.OTHER, "HTTP 503"),
                           ("vreemd.nl", ErrorKind.MALFORMED, "another domain"),
                           ("groot.nl", ErrorKind.MALFORMED, "larger than"),
                           ("diep.nl", ErrorKind.MALFORMED, "not JSON")]:  # nesting that breaks the parser
        r, _ = got[d]
        assert r.status is Status.ERROR and r.error_kind is kind and words in r.detail, (d, r)
    assert (counts.present, counts.absent, counts.error) == (2, 1, 6)
    # 429 and 503 were asked again once (retries=1), the others once
    assert srv.requests.count("druk.nl") == 2 and srv.requests.count("stuk.nl") == 2
    assert srv.requests.count("kapot.nl") == 1


@pytest.mark.parametrize("auth_url, host, why", [
    ("https://sts.bedrijf-f.nl/adfs/ls/?username=user%40bedrijf-f.nl&wa=wsignin1.0", "sts.bedrijf-f.nl", None),
    ("https://bedrijf.okta-emea.com/app/office365/x/sso/wsfed/passive?username=u", "bedrijf.okta-emea.com", None),
    ("HTTPS://User:pw@STS.Bedrijf-F.NL:8443/adfs", "sts.bedrijf-f.nl", None),
    ("https://sts.bücher.de/adfs", "sts.xn--bcher-kva.de", None),
    (None, None, "names no AuthURL"),
    ("", None, "names no AuthURL"),
    (["https://x.nl"], None, "names no AuthURL"),
    ("javascript:alert(1)", None, "not an http(s) URL"),
    ("https://" + "a" * 5000 + ".nl/", None, "characters long"),
    ("  https://sts.bedrijf-f.nl/adfs  ", "sts.bedrijf-f.nl", None),
    ("https://evil.example\\@bedrijf.okta.com/app", None, "backslash"),
    ("https://bedrijf.okta.com\\@evil.example/", None, "backslash"),
    ("https://192.0.2.7/adfs", None, "no usable host name"),
    ("https:///adfs", None, "no usable host name"),
    ("https://sts_x.bedrijf.nl\u0000/", None, "no usable host name"),
])
def test_a_federated_answer_names_its_identity_provider_only_by_a_valid_host(auth_url, host, why):
    from stekker.collect.realm import parse_realm

    body = {"NameSpaceType": "Federated", "DomainName": "bedrijf-f.nl"}
    if auth_url is not None:
        body["AuthURL"] = auth_url
    r = parse_realm(RealmConfig(url="https://x/{domain}"), "bedrijf-f.nl", 200, json.dumps(body).encode())
    # the tenant is a fact either way; only a valid host becomes the identity provider's record
    assert r.status is Status.PRESENT and r.values("REALM") == ["federated"]
    assert r.values("IDP") == ([host] if host else [])
    if why:
        assert why in r.detail
    else:
        assert r.detail is None


def test_the_lab_endpoint_serves_a_given_auth_url():
    with RealmServer({"bedrijf-f.nl": "Federated"}, auth_urls={"bedrijf-f.nl": "https://b.okta.com/sso"}) as srv:
        got, _ = _ask(["bedrijf-f.nl"], srv.url)
    assert got["bedrijf-f.nl"][0].values("IDP") == ["b.okta.com"]


def test_a_slow_endpoint_is_a_timeout():
    with RealmServer({}, faults={"traag.nl": "slow"}) as srv:
        t0 = time.monotonic()
        got, _ = _ask(["traag.nl"], srv.url, timeout=0.3, retries=0)
        assert time.monotonic() - t0 < 5
    r, _ = got["traag.nl"]
    assert r.status is Status.ERROR and r.error_kind is ErrorKind.TIMEOUT


def test_an_unreachable_endpoint_ends_in_seconds_and_counts_as_errors():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there: connection refused
    domains = [f"d{i}.nl" for i in range(200)]
    t0 = time.monotonic()
    got, counts = _ask(domains, f"http://127.0.0.1:{port}/getuserrealm.srf?login=user@{{domain}}&json=1",
                       retries=2, concurrency=4)
    assert time.monotonic() - t0 < 10
    assert len(got) == 200 and counts.error == 200 and counts.present == counts.absent == 0
    assert counts.not_asked >= 200 - FAIL_STREAK - 4
    assert all("not asked" in got[d][0].detail or "could not be reached" in got[d][0].detail for d in domains)
    # why it gave up: English as every domain's stored detail, Dutch for a Dutch user (stekker.i18n.Said)
    import os

    from stekker import i18n

    assert counts.unreachable.startswith("did not answer ") and counts.unreachable in got[domains[-1]][0].detail
    os.environ["STEKKER_LANG"] = "nl"
    i18n.reset()
    try:
        assert i18n.shown(counts.unreachable).startswith("gaf ") and "pogingen achter elkaar geen antwoord" in \
            i18n.shown(counts.unreachable)
    finally:
        os.environ["STEKKER_LANG"] = "en"
        i18n.reset()


@pytest.mark.parametrize("url,ok", [
    ("https://login.microsoftonline.com/getuserrealm.srf?login=user@{domain}&json=1", True),
    ("http://127.0.0.1:8080/r?login=user@{domain}", True),
    ("http://[::1]:8080/r?login=user@{domain}", True),
    ("http://realm.example.nl/r?login=user@{domain}", False),  # plain http off this machine
    ("https://login.microsoftonline.com/getuserrealm.srf", False),  # no {domain}
    ("ftp://127.0.0.1/{domain}", False),
    ("file:///etc/passwd?{domain}", False),
    ("https://[::1/{domain}", False),  # not a URL
    ("https://r.example:99999/{domain}", False),  # no such port
    ("https://r.example:abc/{domain}", False),
    ("https://r.example:0/{domain}", False),
    ("https://xn--/{domain}", False),  # the HTTP client refuses the host (not an IDNA name)
])
def test_realm_url_is_checked(url, ok):
    if ok:
        assert check_url(url) == url
    else:
        with pytest.raises(RealmURLError):
            check_url(url)


def test_rows_are_stored_after_the_dns_rows_and_attributed(tmp_path):
    from test_store import add, new_scan, results_for

    from stekker import kb as kbmod
    from stekker.attribute import attribute_domain
    from stekker.collect.realm import run_realm
    from stekker.store import Store

    store = Store.open(str(tmp_path / "r.db"))
    sid = new_scan(store)
    add(store, sid, ["a.nl", "b.nl", "c.nl", "d.nl"])  # d.nl stays pending: not asked
    store.write_domains(sid, [("a.nl", "ok", results_for("a.nl")), ("b.nl", "nxdomain", results_for("b.nl")),
                              ("c.nl", "ok", results_for("c.nl"))])
    before = {d: len(store.evidence(sid, d).results) for d in ("a.nl", "c.nl")}
    assert store.domains_lacking(sid, "ms_realm") == ["a.nl", "c.nl"]  # an nxdomain domain is not asked
    with RealmServer({"a.nl": "Managed"}, faults={"c.nl": "503"}) as srv:
        cfg = RealmConfig(url=srv.url, qps=0, retries=0, backoff=0.01)
        counts, stopped = run_realm(store, sid, cfg)
        assert not stopped and (counts.present, counts.error) == (1, 1)
        assert store.domains_lacking(sid, "ms_realm") == []
        assert store.domains_lacking(sid, "ms_realm", redo_errors=True) == ["c.nl"]
        # asked again: the error row is replaced, not added to
        srv.faults.clear()
        run_realm(store, sid, cfg, redo_errors=True)
    ev = store.evidence(sid, "a.nl")
    assert len(ev.results) == before["a.nl"] + 1 and ev.results[-1].purpose == "ms_realm"
    assert ev.status == "ok"  # a realm row does not change the domain's DNS status
    c = store.evidence(sid, "c.nl")
    assert len(c.results) == before["c.nl"] + 1 and c.results[-1].status is Status.ABSENT
    assert store.purpose_counts(sid, "ms_realm") == {"present": 1, "absent": 1, "error": 0, "error_kinds": {}}
    counts = store.scan_info(sid)["counts"]  # the per-domain counts include the realm rows
    assert counts["queries"] == sum(len(store.evidence(sid, d).results) for d in ("a.nl", "b.nl", "c.nl"))
    a = attribute_domain(ev, kbmod.load(), as_of="2026-12-05")
    assert a.services["identity"].provider == "microsoft"


def test_the_identity_provider_hosts_still_to_ask_follow_the_realm_answers(tmp_path):
    """Which IdP hosts a scan still has to ask: those a federated answer
    names and no idp_host row has asked; a host whose answer changed is asked
    anew; a domain whose answer names no host any more loses its old rows;
    with redo_errors a failed one is asked again."""
    from test_store import add, new_scan, results_for

    from stekker.evidence import RR, ErrorKind, QueryResult, Status
    from stekker.store import Store

    store = Store.open(str(tmp_path / "r.db"))
    sid = new_scan(store)
    add(store, sid, ["a.nl", "b.nl", "c.nl"])
    store.write_domains(sid, [(d, "ok", results_for(d)) for d in ("a.nl", "b.nl", "c.nl")])

    def realm_row(d, host=None):
        answers = [RR(d, "REALM", 0, "federated" if host else "managed")] + ([RR(d, "IDP", 0, host)] if host else [])
        return QueryResult(d, "ms_realm", d, "REALM", Status.PRESENT, answers=answers,
                           resolver="https://login.microsoftonline.com")

    def host_row(d, host, status=Status.PRESENT):
        if status is Status.ERROR:
            return QueryResult(d, "idp_host", host, "A", status, error_kind=ErrorKind.TIMEOUT)
        return QueryResult(d, "idp_host", host, "A", status, answers=[RR(host, "A", 60, "192.0.2.7")])

    store.add_results(sid, "ms_realm", [("a.nl", [(realm_row("a.nl", "sts.a.nl"), None)]),
                                        ("b.nl", [(realm_row("b.nl", "b.okta.com"), None)]),
                                        ("c.nl", [(realm_row("c.nl"), None)])])
    lacking = store.named_hosts_lacking
    assert lacking(sid, "ms_realm", "IDP", "idp_host") == [("a.nl", ["sts.a.nl"]), ("b.nl", ["b.okta.com"])]
    store.add_results(sid, "idp_host", [("a.nl", [(host_row("a.nl", "sts.a.nl"), None)]),
                                        ("b.nl", [(host_row("b.nl", "b.okta.com", Status.ERROR), None)])])
    assert lacking(sid, "ms_realm", "IDP", "idp_host") == []
    assert lacking(sid, "ms_realm", "IDP", "idp_host", redo_errors=True) == [("b.nl", ["b.okta.com"])]
    # the answers change: a.nl now signs in elsewhere, b.nl is managed (its old host rows are to go)
    store.add_results(sid, "ms_realm", [("a.nl", [(realm_row("a.nl", "a.onelogin.com"), None)]),
                                        ("b.nl", [(realm_row("b.nl"), None)])])
    assert lacking(sid, "ms_realm", "IDP", "idp_host") == [("a.nl", ["a.onelogin.com"]), ("b.nl", [])]
    # the pass drops the rows no answer names any more (without asking anything for them)
    from stekker.collect.idp import run_idp_hosts
    from stekker.collect.plan import load_plan
    from stekker.collect.transport import TransportConfig

    store.add_results(sid, "idp_host", [("a.nl", [(host_row("a.nl", "a.onelogin.com"), None)])])
    counts, stopped = run_idp_hosts(store, sid, "ms_realm", [("127.0.0.1", 9)], TransportConfig(), load_plan())
    assert (counts.domains, stopped) == (0, False)
    assert [q for q in store.evidence(sid, "b.nl").results if q.purpose == "idp_host"] == []
    assert lacking(sid, "ms_realm", "IDP", "idp_host") == []


def _idp_store(tmp_path, n=6):
    from test_store import add, new_scan, results_for

    from stekker.evidence import RR, QueryResult, Status
    from stekker.store import Store

    store = Store.open(str(tmp_path / "idp.db"))
    sid = new_scan(store)
    doms = [f"d{i}.nl" for i in range(n)]
    add(store, sid, doms)
    store.write_domains(sid, [(d, "ok", results_for(d)) for d in doms])
    store.add_results(sid, "ms_realm", [(d, [(QueryResult(
        d, "ms_realm", d, "REALM", Status.PRESENT, answers=[RR(d, "REALM", 0, "federated"), RR(d, "IDP", 0, f"sts.{d}")],
        resolver="https://login.microsoftonline.com"), None)]) for d in doms])
    return store, sid, doms


class _FallsSilent:
    """A UDP DNS responder on loopback that answers its first ``answers``
    questions and then drops everything (a resolver that goes away)."""

    def __init__(self, answers):
        import socket
        import threading

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.left = answers
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        import dns.message
        import dns.rdatatype
        import dns.rrset

        while self.running:
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                continue
            if self.left <= 0:
                continue
            self.left -= 1
            q = dns.message.from_wire(data)
            r = dns.message.make_response(q)
            if q.question and q.question[0].rdtype == dns.rdatatype.NS:  # the start-up check: the root's servers
                r.answer.append(dns.rrset.from_text(q.question[0].name, 60, "IN", "NS", "a.root-servers.net."))
            self.sock.sendto(r.to_wire(), addr)

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


def test_the_idp_pass_stops_when_the_resolvers_fall_silent_and_keeps_the_rest_for_resume(tmp_path, caplog):
    """The transport's clock stops while no resolver answers: the pass must
    notice (as the scan does) instead of waiting for deadlines that never
    come; nothing half-asked is stored, and a resume asks it all again. A
    resolver that does not answer the start-up check is a clear error."""
    import logging
    import threading

    from stekker.collect.idp import run_idp_hosts
    from stekker.collect.plan import load_plan
    from stekker.collect.transport import NoResolverError, TransportConfig

    store, sid, doms = _idp_store(tmp_path)
    cfg = TransportConfig(timeout=0.3, retries=1, outage_max=1.0)
    srv = _FallsSilent(answers=1)  # the start-up check is answered, then silence
    try:
        out = []
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            # in a thread, so that a pass that never ends fails the test instead of hanging the suite
            th = threading.Thread(target=lambda: out.append(run_idp_hosts(
                store, sid, "ms_realm", [("127.0.0.1", srv.port)], cfg, load_plan())), daemon=True)
            th.start()
            th.join(30)
        assert not th.is_alive(), "the IdP pass did not stop within 30 s after the resolver fell silent"
        counts, stopped = out[0]
    finally:
        srv.close()
    assert counts.dead and "no resolver has answered" in counts.dead and not stopped
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert [d for d, _ in store.named_hosts_lacking(sid, "ms_realm", "IDP", "idp_host")] == doms
    silent = _FallsSilent(answers=0)
    try:
        with pytest.raises(NoResolverError):
            run_idp_hosts(store, sid, "ms_realm", [("127.0.0.1", silent.port)], cfg, load_plan())
    finally:
        silent.close()
    assert len(store.named_hosts_lacking(sid, "ms_realm", "IDP", "idp_host")) == len(doms)  # nothing recorded


def test_the_idp_pass_stops_storing_when_the_store_fails_and_passes_the_domain_deadline_on(tmp_path, monkeypatch):
    """A failing store write is raised, and the other domains' answers are
    not written after it (they would be rows the counts never saw); the
    scan's --domain-deadline reaches the pass."""
    from stekker.collect import idp
    from stekker.collect.plan import load_plan
    from stekker.collect.transport import TransportConfig

    store, sid, doms = _idp_store(tmp_path, n=40)
    calls = []
    real = store.add_results

    def flaky(scan_id, purpose, items):
        calls.append(purpose)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(scan_id, purpose, items)

    monkeypatch.setattr(store, "add_results", flaky)
    deadlines = []
    scanner = idp.DomainScanner
    monkeypatch.setattr(idp, "DomainScanner", lambda t, plan, **kw: deadlines.append(kw) or scanner(t, plan, **kw))
    srv = _FallsSilent(answers=10**6)
    try:
        with pytest.raises(OSError, match="disk full"):
            idp.run_idp_hosts(store, sid, "ms_realm", [("127.0.0.1", srv.port)], TransportConfig(timeout=1.0),
                              load_plan(), domain_deadline=7.5)
    finally:
        srv.close()
    assert len(calls) == 3 and deadlines == [{"domain_deadline": 7.5}]


def test_cli_refuses_bad_realm_options(tmp_path):
    from cli_util import cli

    inp = tmp_path / "in.txt"
    inp.write_text("gemeente-a.nl\n")
    r = cli("scan", inp, "--db", tmp_path / "x.db", "--ms-realm-url", "https://r.example/{domain}")
    assert r.rc == 2 and "--ms-realm-url and --ms-realm-qps need --ms-realm" in r.err
    r = cli("scan", inp, "--db", tmp_path / "x.db", "--ms-realm", "--ms-realm-url", "http://r.example/{domain}")
    assert r.rc == 2 and "https" in r.err
    assert not (tmp_path / "x.db").exists()  # refused before a database was made


@pytest.mark.lab
def test_scan_with_ms_realm_on_the_lab(lab, tmp_path):
    """The whole path: DNS from the lab, the realm from its stand-in, the
    rows in the store, the attribution; a scan without --ms-realm asks
    nothing beyond DNS."""
    from cli_util import cli

    from stekker import kb as kbmod
    from stekker.attribute import attribute_domain
    from stekker.store import Store

    inp = tmp_path / "in.txt"
    inp.write_text("gemeente-a.nl\nschool-c.nl\nbestaat-niet-xyz.nl\n")
    with RealmServer({"school-c.nl": "Federated", "gemeente-a.nl": "Federated"},
                     auth_urls={"school-c.nl": "https://login.elders.example/adfs/ls/"}) as srv:
        r = cli("scan", inp, "--db", tmp_path / "plain.db", "--resolver", lab.resolver, "-q")
        assert r.rc == 0, r.err
        assert srv.requests == []  # off by default: Microsoft is not told which domains are looked at
        r = cli("scan", inp, "--db", tmp_path / "r.db", "--resolver", lab.resolver, "-q", "--ms-realm",
                "--ms-realm-url", srv.url)
        assert r.rc == 0, r.err
        assert sorted(srv.requests) == ["gemeente-a.nl", "school-c.nl"]  # not the domain that does not exist
        # the scan is complete: a resume asks nothing again
        r = cli("scan", "--resume", "1", "--db", tmp_path / "r.db")
        assert r.rc == 0 and "already complete" in r.err and len(srv.requests) == 2
    store = Store.open(str(tmp_path / "r.db"))
    info = store.scan_info(1)
    assert info["options"]["ms_realm"] is True
    assert info["summary"]["ms_realm"]["present"] == 2 and info["summary"]["ms_realm"]["absent"] == 0
    kb = kbmod.load()
    c = attribute_domain(store.evidence(1, "school-c.nl"), kb, as_of="2026-12-05")
    assert c.services["identity"].provider == "microsoft"
    assert any(e.purpose == "ms_realm" for e in c.services["identity"].evidence)
    # a federated domain: the stored answer names its identity provider (an own ADFS server in the stand-in)
    g = attribute_domain(store.evidence(1, "gemeente-a.nl"), kb, as_of="2026-12-05").services["identity"]
    assert g.provider == "microsoft" and [(a.status, a.evidence[0].value) for a in g.also] == [
        ("self", "sts.gemeente-a.nl")]
    # an identity provider nobody catalogued is named, in `stekker show` too (a note next to the evidence)
    assert c.services["identity"].note == "not recognised: login.elders.example"
    r = cli("show", "school-c.nl", "--db", tmp_path / "r.db")
    assert r.rc == 0 and "school-c.nl IDP login.elders.example" in r.out
    assert "(not recognised: login.elders.example)" in r.out
    plain = Store.open(str(tmp_path / "plain.db"))
    assert not any(q.purpose == "ms_realm" for q in plain.evidence(1, "school-c.nl").results)


@pytest.mark.lab
def test_the_identity_provider_hosts_addresses_are_asked_after_the_realm(lab, tmp_path):
    """A federated answer names the host sign-in is passed on to; its A and
    AAAA records are then asked through the scan's resolver (``idp_host``),
    so an own ADFS host on a cloud's network is that cloud's, and a host
    without a public address stays the organisation's own by its name, with
    a note saying so. A resume asks nothing again."""
    from cli_util import cli

    from stekker import kb as kbmod
    from stekker.attribute import attribute_domain
    from stekker.ipasn import AsnTable
    from stekker.lab import catalog
    from stekker.store import Store

    inp = tmp_path / "in.txt"
    inp.write_text("federatie-lab.nl\ngemeente-a.nl\n")
    db = tmp_path / "r.db"
    with RealmServer({"federatie-lab.nl": "Federated", "gemeente-a.nl": "Federated"},
                     auth_urls={"federatie-lab.nl": "https://ADFS.federatie-lab.nl/adfs/ls/"}) as srv:
        r = cli("scan", inp, "--db", db, "--resolver", lab.resolver, "--ms-realm", "--ms-realm-url", srv.url)
        assert r.rc == 0, r.err
        assert "identity provider hosts: 2 of 2 domains asked" in r.err
        r = cli("scan", "--resume", "1", "--db", db)
        assert r.rc == 0 and "already complete" in r.err and len(srv.requests) == 2
        # a scan made before this pass (or stopped in it): a resume asks the hosts, not the realm again
        import sqlite3

        with sqlite3.connect(db) as con:
            con.execute("DELETE FROM queries WHERE purpose = 'idp_host'")
        r = cli("scan", "--resume", "1", "--db", db)
        assert r.rc == 0 and "identity provider hosts: 2 of 2 domains asked" in r.err, r.err
        assert "realm:" not in r.err and len(srv.requests) == 2
    store = Store.open(str(db))
    rows = [(q.qname, q.qtype, q.status.value) for d in ("federatie-lab.nl", "gemeente-a.nl")
            for q in store.evidence(1, d).results if q.purpose == "idp_host"]
    assert sorted(rows) == [("adfs.federatie-lab.nl", "A", "present"), ("adfs.federatie-lab.nl", "AAAA", "absent"),
                            ("sts.gemeente-a.nl", "A", "absent"), ("sts.gemeente-a.nl", "AAAA", "absent")]
    assert store.scan_info(1)["summary"]["idp_host"]["present"] == 1
    table = AsnTable.from_rows(catalog.ip2asn_rows(), name="lab-ip2asn")  # the lab's own IP-to-ASN data
    kb = kbmod.load()
    fed = attribute_domain(store.evidence(1, "federatie-lab.nl"), kb, as_of="2026-12-06",
                           asn_table=table).services["identity"]
    assert fed.provider == "microsoft" and [a.provider for a in fed.also] == ["amazon"]
    assert fed.also[0].evidence[0].purpose == "idp_host" and fed.also[0].evidence[0].value == "52.16.1.20"
    own = attribute_domain(store.evidence(1, "gemeente-a.nl"), kb, as_of="2026-12-06").services["identity"]
    assert [(a.status, a.evidence[0].value) for a in own.also] == [("self", "sts.gemeente-a.nl")]
    assert "it has no address in public DNS" in own.also[0].note
    r = cli("show", "gemeente-a.nl", "--db", db)  # the user sees it too, next to the evidence
    assert r.rc == 0 and "+ self-hosted (own)" in r.out, r.out
    assert "it has no address in public DNS" in " ".join(r.out.split()), r.out
    # the realm answer changes (now managed): a resume drops the host's rows and the summary follows
    with sqlite3.connect(db) as con:
        con.execute("UPDATE queries SET answers = ? WHERE purpose = 'ms_realm' AND domain = 'federatie-lab.nl'",
                    ('[["federatie-lab.nl", "REALM", 0, "managed"]]',))
    r = cli("scan", "--resume", "1", "--db", db)
    assert r.rc == 0, r.err
    again = Store.open(str(db))
    assert not [q for q in again.evidence(1, "federatie-lab.nl").results if q.purpose == "idp_host"]
    assert again.scan_info(1)["summary"]["idp_host"]["present"] == 0


def test_reports_say_that_the_realm_was_asked_in_the_readers_language(tmp_path):
    from test_store import add, new_scan, results_for

    from stekker.collect.realm import run_realm
    from stekker.report import scan_meta
    from stekker.report.render import Strings
    from stekker.store import Store

    store = Store.open(str(tmp_path / "m.db"))
    sid = new_scan(store)
    add(store, sid, ["a.nl", "c.nl"])
    store.write_domains(sid, [("a.nl", "ok", results_for("a.nl")), ("c.nl", "ok", results_for("c.nl"))])
    store.finish_scan(sid, "finished", {})
    assert not [w for w in scan_meta(store, sid)["warnings"] if getattr(w, "key", "").startswith("ms_realm")]
    with RealmServer({"a.nl": "Managed"}, faults={"c.nl": "garbage"}) as srv:
        run_realm(store, sid, RealmConfig(url=srv.url, qps=0, retries=0))
    store.finish_scan(sid, "finished", {"ms_realm": store.purpose_counts(sid, "ms_realm")})
    ws = {w.key: w for w in scan_meta(store, sid)["warnings"] if getattr(w, "key", None)}
    assert ws["ms_realm_asked"].args == {"n": 2, "present": 1, "absent": 0, "errors": 1}
    assert ws["ms_realm_errors"].args == {"errors": 1}
    nl, en = Strings("nl"), Strings("en")
    assert "Entra ID-tenant" in nl.message(ws["ms_realm_asked"]) and "van 2 domeinen" in nl.message(ws["ms_realm_asked"])
    assert "1 konden niet worden opgevraagd" in nl.message(ws["ms_realm_asked"])
    assert "nooit als 'geen tenant'" in nl.message(ws["ms_realm_errors"])
    assert en.message(ws["ms_realm_errors"]) == str(ws["ms_realm_errors"])


@pytest.mark.lab
def test_ctrl_c_during_the_realm_look_ups_and_resume_finishes_them(lab, tmp_path):
    """Ctrl-C while the realm endpoint is slow: the scan stops within
    seconds (look-ups in flight get no row), says how to finish, and
    --resume asks exactly the domains without a realm row."""
    import signal
    import sqlite3
    import subprocess
    import sys

    inp = tmp_path / "in.txt"
    inp.write_text("gemeente-a.nl\nschool-c.nl\n")
    db = tmp_path / "c.db"
    with RealmServer({"gemeente-a.nl": "Managed"}, faults={"school-c.nl": "slow"}) as srv:
        proc = subprocess.Popen([sys.executable, "-m", "stekker", "scan", str(inp), "--db", str(db), "--resolver",
                                 lab.resolver, "--progress", "none", "--ms-realm", "--ms-realm-url", srv.url],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while "school-c.nl" not in srv.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "school-c.nl" in srv.requests
        time.sleep(0.3)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert time.monotonic() - t0 < 5, err
        assert proc.returncode == 130, err
        assert "realm check stopped" in err and "--resume 1" in err
        con = sqlite3.connect(db)
        rows = dict(con.execute("select domain, status from queries where purpose='ms_realm'").fetchall())
        assert rows == {"gemeente-a.nl": "present"}  # the one in flight has no row, not an error
        srv.faults.clear()
        p = subprocess.run([sys.executable, "-m", "stekker", "scan", "--resume", "1", "--db", str(db)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        rows = dict(con.execute("select domain, status from queries where purpose='ms_realm'").fetchall())
        assert rows == {"gemeente-a.nl": "present", "school-c.nl": "absent"}
        assert srv.requests.count("gemeente-a.nl") == 1


def test_a_realm_row_is_rechecked_with_the_request_not_with_dig():
    from stekker.publish.model import dig_command

    assert dig_command("gemeente-a.nl", "MX") == "dig +noall +answer gemeente-a.nl MX"
    cmd = dig_command("gemeente-a.nl", "REALM")
    assert cmd == ("curl -s 'https://login.microsoftonline.com/getuserrealm.srf?login=user@gemeente-a.nl&json=1'")
    assert "dig" not in cmd
    # the identity provider's host comes from the same answer: the same request re-checks it
    assert dig_command("gemeente-a.nl", "IDP") == cmd
    hostile = dig_command("x.nl'; rm -rf ~", "REALM")
    assert hostile.startswith("curl -s '") and "'\"'\"'" in hostile  # the quote cannot end the argument


def test_a_throttling_endpoint_is_given_up_and_retry_after_is_read():
    from stekker.collect.realm import THROTTLE_STREAK, _retry_after

    assert _retry_after("3", 2.0) == 3.0 and _retry_after(None, 2.0) == 2.0 and _retry_after("junk", 2.0) == 2.0
    assert _retry_after("86400", 2.0) == 60.0 and _retry_after("nan", 2.0) == 2.0 and _retry_after("-5", 2.0) == 0.0
    domains = [f"t{i}.nl" for i in range(120)]
    with RealmServer({}, faults={d: "429" for d in domains}) as srv:
        t0 = time.monotonic()
        got, counts = _ask(domains, srv.url, retries=2, concurrency=4)
        assert time.monotonic() - t0 < 20
    assert len(got) == 120 and counts.error == 120 and counts.present == counts.absent == 0
    assert counts.unreachable and "HTTP 429" in counts.unreachable
    # given up after THROTTLE_STREAK answers in a row (plus those in flight), the rest not asked
    assert len(srv.requests) <= THROTTLE_STREAK + 4 * 3 and counts.not_asked >= 120 - THROTTLE_STREAK
    assert all(got[d][0].status is Status.ERROR for d in domains)


@pytest.mark.parametrize("proxy", ["socks5://127.0.0.1:1", "http://[::1", "ftp://127.0.0.1:1"])
def test_a_proxy_the_client_cannot_use_is_a_clear_setup_error(monkeypatch, proxy):
    import importlib.util

    from stekker.collect.realm import RealmSetupError

    if proxy.startswith("socks5") and importlib.util.find_spec("socksio") is not None:
        pytest.skip("socksio is installed: httpx can use a socks proxy")
    for var in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(var, proxy)
    with pytest.raises(RealmSetupError, match="HTTPS_PROXY"):
        _ask(["a.nl"], "http://127.0.0.1:9/r?login=user@{domain}")


def test_adding_realm_rows_drops_the_stored_attributions_that_rest_on_the_old_evidence(tmp_path):
    from test_store import add, new_scan, results_for

    from stekker import kb as kbmod
    from stekker.attribute import load_attributions
    from stekker.collect.realm import run_realm
    from stekker.store import Store

    store = Store.open(str(tmp_path / "a.db"))
    sid = new_scan(store)
    add(store, sid, ["a.nl"])
    store.write_domains(sid, [("a.nl", "ok", results_for("a.nl"))])
    kb = kbmod.load()

    def identity():
        (a,) = list(load_attributions(store, sid, kb))
        return a.services["identity"].provider

    assert identity() is None  # attributed and stored from DNS alone
    with RealmServer({"a.nl": "Managed"}) as srv:
        run_realm(store, sid, RealmConfig(url=srv.url, qps=0))
    assert identity() == "microsoft"  # not the stale stored answer


@pytest.mark.lab
def test_realm_added_to_a_finished_scan_keeps_its_date_records_the_choice_and_an_unreachable_endpoint_exits_3(
        lab, tmp_path):
    """--resume ID --ms-realm on a scan run without it: the scan records the
    choice (a later plain --resume finishes the look-ups), its measurement
    date does not move; when the endpoint cannot be reached the command says
    so and exits 3, every domain recorded as an error."""
    import socket

    from cli_util import cli

    from stekker.store import Store

    inp = tmp_path / "in.txt"
    inp.write_text("gemeente-a.nl\nschool-c.nl\n")
    db = tmp_path / "f.db"
    assert cli("scan", inp, "--db", db, "--resolver", lab.resolver, "-q").rc == 0
    before = Store.open(str(db)).scan_info(1)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    dead = f"http://127.0.0.1:{port}/getuserrealm.srf?login=user@{{domain}}&json=1"
    r = cli("scan", "--resume", "1", "--db", db, "--ms-realm", "--ms-realm-url", dead)
    assert r.rc == 3, r.err
    assert "could not be reached" in r.err and "never as 'no tenant'" in r.err and "Traceback" not in r.text
    info = Store.open(str(db)).scan_info(1)
    assert info["finished_at"] == before["finished_at"] and info["state"] == "finished"
    assert info["options"]["ms_realm"] is True and info["options"]["ms_realm_url"] == dead
    assert info["summary"]["ms_realm"]["error"] == 2 and info["summary"]["ms_realm"]["present"] == 0
    assert info["summary"]["elapsed_s"] == before["summary"]["elapsed_s"]  # the DNS summary stays
    # the endpoint is back: --ms-realm asks the failed domains again (a plain --resume keeps the errors)
    with RealmServer({"school-c.nl": "Managed"}) as srv:
        r = cli("scan", "--resume", "1", "--db", db)
        assert r.rc == 0 and srv.requests == []
        r = cli("scan", "--resume", "1", "--db", db, "--ms-realm", "--ms-realm-url", srv.url)
        assert r.rc == 0, r.err
        assert sorted(srv.requests) == ["gemeente-a.nl", "school-c.nl"]
    info = Store.open(str(db)).scan_info(1)
    assert info["summary"]["ms_realm"] == {"present": 1, "absent": 1, "error": 0, "error_kinds": {}}
    assert info["finished_at"] == before["finished_at"]


def test_hostile_realm_urls_end_in_a_message_or_an_error_row():
    """Every hostile string as a port, a path or a query of a loopback realm
    URL: check_url refuses it with RealmURLError, or the look-up ends in a
    row (never an exception, never a request off this machine)."""
    from test_fuzz_cli import HOSTILE_ARGS

    for x in HOSTILE_ARGS:
        for url in (f"http://127.0.0.1:{x}/r?login=user@{{domain}}", f"http://127.0.0.1:9/{x}?login=user@{{domain}}",
                    f"http://127.0.0.1:9/r?login={x}@{{domain}}", f"http://[::1]:9/r/{x}/{{domain}}"):
            try:
                check_url(url)
            except RealmURLError:
                continue
            got, counts = _ask(["a.nl"], url, retries=0)
            assert set(got) == {"a.nl"} and counts.error == 1, (url, got)
