"""Test helpers for the judge/report tests (no tests here): a small fake
knowledge base with the same methods as ``stekker.kb.KnowledgeBase`` and
builders for hand-made attributions."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stekker.attribute.model import DomainAttribution, EvidenceItem, Service

DATA = Path(__file__).parent / "data"


@dataclass
class FakeCompany:
    id: str
    name: str
    country: str | None
    ownership: list[dict[str, Any]] = field(default_factory=list)
    holders: list[dict[str, Any]] | None = None


@dataclass
class FakeProvider:
    id: str
    name: str
    company: str
    eu_data_location: str | None = None


def _d(x: Any) -> dt.date:
    return x if isinstance(x, dt.date) else dt.date.fromisoformat(str(x))


class FakeKB:
    version = "fake-kb-1"

    def __init__(self, path: Path = DATA / "report_kb.yaml"):
        doc = yaml.safe_load(Path(path).read_text())
        self._c = {c["id"]: FakeCompany(c["id"], c["name"], c.get("country"), c.get("ownership", []),
                                        c.get("holders", []))
                   for c in doc["companies"]}
        self._p = {p["id"]: FakeProvider(p["id"], p["name"], p["company"], p.get("eu_data_location"))
                   for p in doc["providers"]}

    @property
    def providers(self):
        return list(self._p.values())

    @property
    def companies(self):
        return list(self._c.values())

    def provider(self, pid):  # None when unknown, like stekker.kb
        return self._p.get(pid)

    def company(self, cid):
        return self._c.get(cid)

    def controller(self, cid, as_of):
        day = _d(as_of)
        for o in self._c[cid].ownership:
            if _d(o["since"]) <= day and ("until" not in o or day < _d(o["until"])):
                return self._c[o["parent"]]
        return None

    def chain(self, cid, as_of):  # ids, company first, like stekker.kb
        if cid not in self._c:
            return []
        out = [self._c[cid]]
        while (p := self.controller(out[-1].id, as_of)) is not None and p not in out:
            out.append(p)
        return [c.id for c in out]

    def ultimate_parent(self, cid, as_of):
        return self.chain(cid, as_of)[-1]

    def jurisdiction(self, cid, as_of):
        return self._c[self.ultimate_parent(cid, as_of)].country

    def holders(self, cid):  # list of holder entries (shares as fractions), [] when none recorded
        return self._c[cid].holders if cid in self._c else []


def svc(category: str, provider: str | None, status: str = "attributed", evidence=None,
        also=None, name: str | None = None) -> Service:
    return Service(category=category, status=status, provider=provider,
                   provider_name=name or (provider.capitalize() if provider and provider != "self" else None),
                   company=None, confidence=0.9 if status == "attributed" else 0.0,
                   evidence=evidence or [], also=also or [])


def dom(domain: str, org: str | None, sector: str | None, services: dict[str, Service],
        saas: list[Service] | None = None, status: str = "ok") -> DomainAttribution:
    return DomainAttribution(domain=domain, organisation=org, organisations=[org] if org else [],
                             sector=sector, sectors=[sector] if sector else [], status=status,
                             services=services, saas=saas or [], kb_version="fake-kb-1",
                             as_of="2026-01-01")


def ev(qname: str, rtype: str, value: str, rule: str = "test") -> EvidenceItem:
    return EvidenceItem(qname=qname, rtype=rtype, value=value, rule=rule)


HOSTILE_TXT = '<script>alert(1)</script><img src=x onerror="alert(2)">'
HOSTILE_ORG = "Stichting <i>X</i> & Co"


def sample() -> list[DomainAttribution]:
    """Twelve hand-built domains with known verdicts (see tests/test_report.py)."""
    ms = lambda c: svc(c, "microsoft", evidence=[ev("gemeente-a.nl", "MX", "0 gemeente-a-nl.mail.protection.outlook.com")])  # noqa: E731
    out = [
        dom("gemeente-a.nl", "Gemeente A", "gemeente", {
            "mail_inbound": ms("mail_inbound"), "mailbox": ms("mailbox"), "office": ms("office"),
            "identity": ms("identity"), "web": svc("web", "transip"), "dns": svc("dns", "transip"),
            "cdn": svc("cdn", None, status="absent")}),
        dom("gemeente-a-extra.nl", "Gemeente A", "gemeente", {
            "web": svc("web", "kpn"), "dns": svc("dns", "kpn"), "mailbox": svc("mailbox", None, "absent")}),
        dom("ziekenhuis-b.nl", "Ziekenhuis B", "zorg", {
            "web": svc("web", "cloudflare"), "cdn": svc("cdn", "cloudflare"), "dns": svc("dns", "cloudflare"),
            "mail_inbound": svc("mail_inbound", "swisshost"), "mail_gateway": svc("mail_gateway", "swisshost"),
            "mailbox": svc("mailbox", "microsoft")},
            saas=[svc("saas", "mystery")]),
        dom("school-c.nl", "School C", "onderwijs", {
            "mail_inbound": svc("mail_inbound", "google"), "mailbox": svc("mailbox", "google"),
            "office": svc("office", "google"), "web": svc("web", "amazon"), "dns": svc("dns", "amazon")}),
        dom("waterschap-d.nl", "Waterschap D", "waterschap", {
            "web": svc("web", "self", "self"), "mail_inbound": svc("mail_inbound", "self", "self"),
            "mailbox": svc("mailbox", "self", "self"), "dns": svc("dns", "self", "self")}),
        dom("gemeente-e.nl", "Gemeente E", "gemeente", {
            "mail_inbound": svc("mail_inbound", "kpn"), "mailbox": svc("mailbox", "kpn"),
            "web": svc("web", "hoster-nl"), "dns": svc("dns", "transip")}),
        dom("broken.nl", "Gemeente F", "gemeente", {
            c: svc(c, None, "error") for c in ("web", "dns", "mail_inbound", "mailbox")}, status="error"),
        dom("unknown-g.nl", "Bedrijf G", "bedrijf", {
            "mailbox": svc("mailbox", None, "unknown"), "web": svc("web", "kpn"), "dns": svc("dns", "kpn")}),
        dom("gone.nl", "Gemeente H", "gemeente", {}, status="nxdomain"),
        dom("hostile.nl", HOSTILE_ORG, "stichting", {
            "web": svc("web", "kpn"),
            "dns": svc("dns", "kpn", evidence=[ev("hostile.nl", "TXT", HOSTILE_TXT, rule="kpn.ns")])},
            saas=[svc("saas", "mystery", evidence=[ev("hostile.nl", "TXT", HOSTILE_TXT)])]),
        dom("orphan.nl", None, None, {"web": svc("web", "transip"), "dns": svc("dns", "transip")}),
        dom("partial.nl", "Gemeente E", "gemeente", {
            "dns": svc("dns", "kpn"), "mailbox": svc("mailbox", None, "error")}),
    ]
    out[-1].errors = [{"qname": "partial.nl", "qtype": "MX", "error_kind": "timeout"}]
    return out


def host_sample() -> list[DomainAttribution]:
    """Hospitals and a municipality with extra hosts (the input's ``hosts``
    column), with known verdicts (see tests/test_report.py)."""
    def h(provider, status="attributed", value=None, qname="", name=None):
        return svc("host", provider, status, name=name,
                   evidence=[ev(qname, "CNAME", value)] if value else [])

    kpn = {"dns": svc("dns", "kpn")}
    out = [
        dom("zkh-1.nl", "Ziekenhuis 1", "zorg", dict(kpn)),
        dom("zkh-2.nl", "Ziekenhuis 2", "zorg", dict(kpn)),
        dom("zkh-3.nl", "Ziekenhuis 3", "zorg", dict(kpn)),
        dom("zkh-4.nl", "Ziekenhuis 4", "zorg", dict(kpn)),
        dom("zkh-5.nl", "Ziekenhuis 5", "zorg", dict(kpn)),
        dom("zkh-6.nl", "Ziekenhuis 6", "zorg", dict(kpn)),
        dom("zkh-7.nl", "Ziekenhuis 7", "zorg", dict(kpn)),
        dom("gemeente-a.nl", "Gemeente A", "gemeente", {"dns": svc("dns", "transip")}),
        dom("zonder-hosts.nl", "Gemeente Z", "gemeente", dict(kpn)),
    ]
    hosts = [
        {"mijn.zkh-1.nl": h("microsoft", value="zkh1-portal.azurewebsites.net.", qname="mijn.zkh-1.nl")},
        {"mijn.zkh-2.nl": h("microsoft", value="zkh2.trafficmanager.net.", qname="mijn.zkh-2.nl")},
        {"mijn.zkh-3.nl": h("kpn")},
        {"mijn.zkh-4.nl": h("self", "self")},
        {"mijn.zkh-5.nl": h(None, "error")},
        {"mijn.zkh-6.nl": h(None, "unknown", value="portal.example-unknown.net.", qname="mijn.zkh-6.nl")},
        {"mijn.zkh-7.nl": h(None, "absent")},
        {"loket.gemeente-a.nl": h("transip"),
         "portaal.gemeente-a.nl": h("cloudflare", value=HOSTILE_TXT, qname="portaal.gemeente-a.nl")},
        {},
    ]
    for d, hs in zip(out, hosts):
        d.hosts = hs
    out[4].hosts["mijn.zkh-5.nl"].note = "DNS error on mijn.zkh-5.nl A: timeout"
    return out
