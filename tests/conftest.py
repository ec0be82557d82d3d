"""Shared test fixtures.

``lab`` (session): the loopback DNS lab on net 127.77 with
``profiles.generate(200, seed=7)`` + the hand-written orgs of
:data:`HAND_ORGS` (known truth) + :data:`EXTRA_ORGS` + the fault fixtures.
Mark tests that use it ``@pytest.mark.lab``; it skips cleanly when knotd or
unbound are missing.

Adding your own orgs to the session lab: append to ``EXTRA_ORGS`` at import
time of your test module (before the lab starts)::

    from conftest import EXTRA_ORGS
    from stekker.lab import Org
    EXTRA_ORGS.append(Org(domain="mijn-test.nl", records=[...], truth={...}))

or build a separate lab with :func:`make_lab` (it runs on the same net, so
it waits for the session lab's lock: use another net, e.g. "127.79", if the
session lab is running in the same session).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import pytest

# The suite reads stekker's messages in English whatever the developer's locale (LANG=nl_NL.UTF-8
# would make every message Dutch: stekker.i18n); tests of the Dutch messages set STEKKER_LANG=nl.
os.environ["STEKKER_LANG"] = "en"
# the command line's option and group help texts are read when its modules load (docs/CLI.md,
# "Language / Taal"): loaded here, in English, so that a test that runs a command in Dutch first
# does not leave them Dutch for the rest of the session
from stekker.cli import _register  # noqa: E402

_register()

from stekker.lab import NO_FAULTS, Lab, LabError, LabSpec, Org, profiles
from stekker.lab import procs as _lab_procs

# STEKKER_TEST_NET_BASE moves every lab the suite starts to other loopback
# nets (base, base+2, base+4, base+7), so two checkouts can run the suite at
# the same time on one machine.
NET_BASE = int(os.environ.get("STEKKER_TEST_NET_BASE", "77"))
LAB_NET = f"127.{NET_BASE}"
OTHER_NET = f"127.{NET_BASE + 2}"
SPARE_NET = f"127.{NET_BASE + 4}"
PEERS_NET = f"127.{NET_BASE + 7}"
LAB_ORGS = 200
LAB_SEED = 7
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

# Hand-written organisations with known ground truth.
HAND_ORGS: list[Org] = [
    Org(
        domain="gemeente-a.nl",
        organisation="Gemeente A",
        sector="gemeente",
        records=[
            ("gemeente-a.nl", "MX", "0 gemeente-a-nl.mail.protection.outlook.com."),
            ("gemeente-a-nl.mail.protection.outlook.com", "A", "52.101.68.5"),
            ("gemeente-a.nl", "TXT", "v=spf1 include:spf.protection.outlook.com -all"),
            ("gemeente-a.nl", "TXT", "MS=ms12345678"),
            ("gemeente-a.nl", "NS", "ns0.transip.net."),
            ("gemeente-a.nl", "NS", "ns1.transip.nl."),
            ("gemeente-a.nl", "NS", "ns2.transip.eu."),
            ("gemeente-a.nl", "A", "149.210.1.10"),
            ("www.gemeente-a.nl", "CNAME", "gemeente-a.nl."),
            ("autodiscover.gemeente-a.nl", "CNAME", "autodiscover.outlook.com."),
            ("selector1._domainkey.gemeente-a.nl", "CNAME",
             "selector1-gemeente-a-nl._domainkey.gemeentea.onmicrosoft.com."),
            ("selector2._domainkey.gemeente-a.nl", "CNAME",
             "selector2-gemeente-a-nl._domainkey.gemeentea.onmicrosoft.com."),
            ("selector1-gemeente-a-nl._domainkey.gemeentea.onmicrosoft.com", "TXT", "v=DKIM1; k=rsa; p=MIGf"),
            ("lyncdiscover.gemeente-a.nl", "CNAME", "webdir.online.lync.com."),
            ("sip.gemeente-a.nl", "CNAME", "sipdir.online.lync.com."),
            ("_sip._tls.gemeente-a.nl", "SRV", "100 1 443 sipdir.online.lync.com."),
            ("_sipfederationtls._tcp.gemeente-a.nl", "SRV", "100 1 5061 sipfed.online.lync.com."),
            ("enterpriseregistration.gemeente-a.nl", "CNAME", "enterpriseregistration.windows.net."),
            ("enterpriseenrollment.gemeente-a.nl", "CNAME", "enterpriseenrollment.manage.microsoft.com."),
            ("_dmarc.gemeente-a.nl", "TXT", "v=DMARC1; p=reject; rua=mailto:dmarc@gemeente-a.nl"),
        ],
        truth={"web": "transip", "cdn": None, "mail_inbound": "microsoft", "mail_gateway": None,
               "mailbox": "microsoft", "mail_outbound": ["microsoft"], "dns": "transip",
               "office": "microsoft", "collaboration": "microsoft", "identity": "microsoft", "saas": []},
        hosts=["loket.gemeente-a.nl"],
    ),
    Org(
        domain="ziekenhuis-b.nl",
        organisation="Ziekenhuis B",
        sector="zorg",
        records=[
            ("ziekenhuis-b.nl", "NS", "ada.ns.cloudflare.com."),
            ("ziekenhuis-b.nl", "NS", "bob.ns.cloudflare.com."),
            ("ziekenhuis-b.nl", "MX", "10 eu-smtp-inbound-1.mimecast.com."),
            ("ziekenhuis-b.nl", "MX", "10 eu-smtp-inbound-2.mimecast.com."),
            ("ziekenhuis-b.nl", "TXT",
             "v=spf1 include:eu._netblocks.mimecast.com include:spf.protection.outlook.com -all"),
            ("autodiscover.ziekenhuis-b.nl", "CNAME", "autodiscover.outlook.com."),
            ("ziekenhuis-b.nl", "A", "104.16.10.20"),
            ("www.ziekenhuis-b.nl", "A", "104.16.10.21"),
            ("ziekenhuis-b.nl", "TXT", "docusign=3b0f6a3e-2d1c-4b8e-9a7f-1c2d3e4f5a6b"),
        ],
        truth={"web": "cloudflare", "cdn": "cloudflare", "mail_inbound": "mimecast",
               "mail_gateway": "mimecast", "mailbox": "microsoft",
               "mail_outbound": ["mimecast", "microsoft"], "dns": "cloudflare", "office": "microsoft",
               "collaboration": None, "identity": None, "saas": ["docusign"]},
    ),
    Org(
        domain="school-c.nl",
        organisation="School C",
        sector="school",
        records=[
            ("school-c.nl", "MX", "1 aspmx.l.google.com."),
            ("school-c.nl", "MX", "5 alt1.aspmx.l.google.com."),
            ("school-c.nl", "TXT", "v=spf1 include:_spf.google.com ~all"),
            ("school-c.nl", "TXT", "google-site-verification=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"),
            ("www.school-c.nl", "CNAME", "d1a2b3c4d5e6f7.cloudfront.net."),
            ("d1a2b3c4d5e6f7.cloudfront.net", "A", "13.32.1.2"),
            ("school-c.nl", "NS", "ns-101.awsdns-12.com."),
            ("school-c.nl", "NS", "ns-202.awsdns-25.net."),
        ],
        truth={"web": "amazon", "cdn": "amazon", "mail_inbound": "google", "mail_gateway": None,
               "mailbox": "google", "mail_outbound": ["google"], "dns": "amazon", "office": "google",
               "collaboration": None, "identity": None, "saas": ["google"]},
    ),
    Org(
        domain="waterschap-d.nl",
        organisation="Waterschap D",
        sector="waterschap",
        records=[
            ("waterschap-d.nl", "MX", "10 mail.waterschap-d.nl."),
            ("mail.waterschap-d.nl", "A", "192.87.10.25"),
            ("waterschap-d.nl", "A", "192.87.10.80"),
            ("www.waterschap-d.nl", "A", "192.87.10.80"),
            ("waterschap-d.nl", "TXT", "v=spf1 mx -all"),
        ],
        truth={"web": "self", "cdn": None, "mail_inbound": "self", "mail_gateway": None,
               "mailbox": "self", "mail_outbound": ["self"], "dns": "self", "office": None,
               "collaboration": None, "identity": None, "saas": []},
    ),
]

# Other test modules may append orgs here at import time.
EXTRA_ORGS: list[Org] = []


def lab_missing_reason() -> str | None:
    missing = _lab_procs.missing_binaries()
    if missing:
        return "DNS lab needs knotd and unbound (missing: " + ", ".join(missing) + "); apt-get install knot unbound"
    if os.geteuid() != 0:
        return "DNS lab binds port 53 on 127.77.x.x and needs root"
    return None


def lab_spec(orgs: Iterable[Org] | None = None, with_faults: bool = True) -> LabSpec:
    """The session lab's spec, or a spec of your own orgs (+ faults)."""
    if orgs is None:
        from stekker.lab import FaultMix, faults

        mix = FaultMix()  # realistic fractions of lame and nonexistent zones, only among the generated orgs

        def _all():
            yield from HAND_ORGS
            yield from EXTRA_ORGS
            for org in profiles.generate(LAB_ORGS, seed=LAB_SEED):
                yield faults.apply_mix(org, mix)
        orgs = _all()
    return LabSpec(orgs=orgs, with_faults=with_faults, fault_mix=NO_FAULTS)


def make_lab(tmp_path_factory, orgs: Iterable[Org] | None = None, with_faults: bool = True,
             net: str = LAB_NET, name: str = "lab") -> Lab:
    """A started Lab in a fresh temporary directory (caller stops it).
    Skips the test if the lab cannot run here."""
    reason = lab_missing_reason()
    if reason:
        pytest.skip(reason)
    lab = Lab(lab_spec(orgs, with_faults), workdir=tmp_path_factory.mktemp(name), net=net)
    try:
        lab.start()
    except LabError as exc:
        if "another lab holds net" in str(exc):
            pytest.skip(f"DNS lab busy: {exc}")
        raise
    return lab


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """The started session lab (net 127.77, resolver 127.77.0.53)."""
    lab = make_lab(tmp_path_factory)
    try:
        yield lab
    finally:
        lab.stop()


# An organisation whose extra host walks the fault lab's 12-hop CNAME chain.
EXTRA_ORGS.append(
    Org(
        domain="chain-user.nl",
        organisation="Chain User",
        sector="test",
        records=[("chain-user.nl", "A", "149.210.1.11")],
        truth={},
        hosts=["start.cname-loop.nl", "www.cname-loop.nl"],
    )
)


# An organisation with an internationalised domain name, written in the input
# as a U-label: the scan must find it under its A-label.
EXTRA_ORGS.append(
    Org(
        domain="café-de-kroon.nl",
        organisation="Café de Kroon",
        sector="mkb",
        records=[
            ("xn--caf-de-kroon-deb.nl", "MX", "10 aspmx.l.google.com."),
            ("xn--caf-de-kroon-deb.nl", "TXT", "v=spf1 include:_spf.google.com ~all"),
        ],
        truth={"mail_inbound": "google", "mailbox": "google"},
    )
)


# A federated organisation whose own sign-in host (the realm answer's AuthURL,
# tests/test_realm.py) runs on a cloud's network: its addresses say where.
EXTRA_ORGS.append(
    Org(
        domain="federatie-lab.nl",
        organisation="Federatie Lab",
        sector="test",
        records=[("federatie-lab.nl", "A", "149.210.1.12"), ("adfs.federatie-lab.nl", "A", "52.16.1.20")],
        truth={},
    )
)


def scan_into(store, input_path, resolver: str, **config):
    """Scan an input file through the real engine into ``store``; returns
    (scan_id, RunResult). ``config``: TransportConfig fields, and ``workers``."""
    from stekker import __version__
    from stekker.collect.plan import load_plan
    from stekker.collect.run import RunOptions, run_scan
    from stekker.collect.transport import TransportConfig, parse_resolver
    from stekker.targets import read_targets

    tf = read_targets(input_path)
    sid = store.create_scan(tool_version=__version__, plan_version=load_plan().version, input_path=str(input_path),
                            input_sha256=tf.sha256, resolvers=[resolver], options={})
    store.add_targets(sid, tf)
    store.add_input_issues(sid, tf.issues)
    workers = config.pop("workers", 1)
    res = run_scan(store, sid, [parse_resolver(resolver)], TransportConfig(**config),
                   RunOptions(progress="none", workers=workers))
    return sid, res


@pytest.fixture(scope="session")
def lab_scan(lab, tmp_path_factory):
    """(store, scan_id) of one scan of the whole session lab (SQLite)."""
    from stekker.store import Store

    d = tmp_path_factory.mktemp("lab_scan")
    inp = lab.write_input(d / "input.csv", fmt="csv")
    store = Store.open(str(d / "stekker.db"))
    sid, res = scan_into(store, inp, lab.resolver, timeout=1.5, retries=1)
    assert res.state == "finished", res.message
    return store, sid
