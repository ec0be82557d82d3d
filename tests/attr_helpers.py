"""Build DomainEvidence from a small in-memory zone, the way the collect stage
would (plan purposes, CNAME chains, derived mx_host/ns_host/spf_include
queries), so attribution can be tested without DNS."""

from __future__ import annotations

import yaml
from importlib import resources

from stekker.collect.spf import lookup_targets, spf_records
from stekker.evidence import RR, AbsentKind, DomainEvidence, ErrorKind, QueryResult, Status

NAME_TYPES = {"CNAME", "NS", "MX", "SRV"}


def _norm_value(rtype: str, value: str) -> str:
    if rtype in ("CNAME", "NS"):
        return value.rstrip(".").lower()
    if rtype in ("MX", "SRV"):
        parts = value.split()
        parts[-1] = parts[-1].rstrip(".").lower() or "."
        if parts[-1] == "":
            parts[-1] = "."
        return " ".join(parts)
    return value


def make_zone(records):
    zone: dict[str, list[tuple[str, str]]] = {}
    for owner, rtype, value in records:
        owner = owner.rstrip(".").lower()
        zone.setdefault(owner, []).append((rtype, _norm_value(rtype, value)))
    return zone


def _exists(zone, name):
    return name in zone or any(k.endswith("." + name) for k in zone)


def resolve(zone, domain, purpose, qname, qtype, errors=None, wildcard=None):
    """A QueryResult for (qname, qtype) from the zone; ``errors`` maps
    (qname, qtype) -> ErrorKind; ``wildcard`` is a set of qnames whose answer
    is a wildcard echo."""
    errors = errors or {}
    if (qname, qtype) in errors or (qname, "*") in errors:
        kind = errors.get((qname, qtype)) or errors.get((qname, "*"))
        return QueryResult(domain, purpose, qname, qtype, Status.ERROR, error_kind=kind, rcode="SERVFAIL")
    answers: list[RR] = []
    cur = qname
    seen = set()
    while True:
        rrs = zone.get(cur, [])
        typed = [v for t, v in rrs if t == qtype]
        if typed:
            answers += [RR(cur, qtype, 300, v) for v in typed]
            break
        cn = [v for t, v in rrs if t == "CNAME"]
        if cn and qtype != "CNAME" and cur not in seen:
            seen.add(cur)
            answers.append(RR(cur, "CNAME", 300, cn[0]))
            cur = cn[0]
            continue
        if cn and qtype == "CNAME":
            answers.append(RR(cur, "CNAME", 300, cn[0]))
        break
    wild = bool(wildcard and qname in wildcard)
    if answers and (qtype == "CNAME" or any(rr.rtype == qtype for rr in answers)):
        return QueryResult(domain, purpose, qname, qtype, Status.PRESENT, rcode="NOERROR", answers=answers, wildcard=wild)
    last = answers[-1].value if answers else qname
    kind = AbsentKind.NODATA if _exists(zone, last) else AbsentKind.NXDOMAIN
    return QueryResult(domain, purpose, qname, qtype, Status.ABSENT, absent_kind=kind,
                       rcode="NOERROR" if kind is AbsentKind.NODATA else "NXDOMAIN", answers=answers)


def _plan():
    text = resources.files("stekker").joinpath("data/plan.yaml").read_text()
    return yaml.safe_load(text)


def evidence(domain, records, *, errors=None, wildcard=None, organisation=None, sector=None, hosts=()):
    """DomainEvidence for ``domain`` from (owner, type, value) records.
    An SOA is implied when the domain has any record."""
    domain = domain.lower()
    zone = make_zone(records)
    if zone and domain not in zone:
        zone[domain] = []
    if zone and not any(t == "NS" for t, _ in zone[domain]):  # like the lab: ns1/ns2.<domain>
        zone[domain] += [("NS", f"ns1.{domain}"), ("NS", f"ns2.{domain}")]
    if zone:
        zone[domain].append(("SOA", f"ns1.{domain} hostmaster.{domain} 1 3600 600 86400 300"))
    ev = DomainEvidence(domain, organisations=[organisation] if organisation else [],
                        sectors=[sector] if sector else [], hosts=list(hosts))
    add = ev.results.append
    for item in _plan()["items"]:
        label = item["label"]
        qname = domain if label == "@" else f"{label}.{domain}"
        for t in item["types"]:
            add(resolve(zone, domain, item["id"], qname, t, errors, wildcard))
    for r in list(ev.results):
        if r.purpose == "apex_mx" and r.status is Status.PRESENT:
            for v in r.values("MX"):
                h = v.split()[-1]
                if h != ".":
                    for t in ("A", "AAAA"):
                        add(resolve(zone, domain, "mx_host", h, t, errors, wildcard))
        if r.purpose == "apex_ns" and r.status is Status.PRESENT:
            for h in r.values("NS"):
                for t in ("A", "AAAA"):
                    add(resolve(zone, domain, "ns_host", h, t, errors, wildcard))
    # SPF expansion
    txt = ev.first("apex_txt", "TXT")
    todo = []
    if txt is not None and txt.status is Status.PRESENT:
        for rec in spf_records(txt.values("TXT")):
            todo += [v for _, v in lookup_targets(rec)]
    seen = set()
    while todo and len(seen) < 10:
        n = todo.pop(0)
        if n in seen:
            continue
        seen.add(n)
        r = resolve(zone, domain, "spf_include", n, "TXT", errors, wildcard)
        add(r)
        if r.status is Status.PRESENT:
            for rec in spf_records(r.values("TXT")):
                todo += [v for _, v in lookup_targets(rec)]
    for h in hosts:
        for t in ("A", "AAAA", "CNAME"):
            add(resolve(zone, domain, "host", h, t, errors, wildcard))
    return ev


class FakeAsn:
    """Minimal AsnTable stand-in: prefix -> (asn, country)."""

    def __init__(self, table):
        import ipaddress

        self._nets = [(ipaddress.ip_network(p), a) for p, a in table.items()]
        self.info = {"name": "fake", "source": "test", "version": "t1", "data_date": "2026-11-01"}

    def lookup(self, ip):
        import ipaddress

        from stekker.ipasn import AsnRecord

        addr = ipaddress.ip_address(ip)
        best = None
        for net, asn in self._nets:
            if addr.version == net.version and addr in net and (best is None or net.prefixlen > best[0].prefixlen):
                best = (net, asn)
        if best is None:
            return None
        return AsnRecord(asn=best[1], country=None, description=None,
                         first=str(best[0].network_address), last=str(best[0].broadcast_address))
