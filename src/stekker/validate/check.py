"""The peer check (issue #3, item 6): observed records -> lab zones -> a real
stekker scan through the loopback DNS lab -> attribution -> comparison of
stekker's ``mailbox`` provider with each peer's label.

How the observed records become lab zones
=========================================

* The records the peer published (:func:`stekker.validate.peers.observation_records`:
  MX, MX CNAMEs, SPF and verification TXT, autodiscover CNAME/SRV, DKIM
  selector CNAMEs) go into the organisation's ``Org``. The lab places each
  record in the zone with the longest matching apex it knows: provider zones
  from ``stekker/lab/data/providers.yaml`` (``outlook.com``, ``google.com``,
  ``pphosted.com``, ``onmicrosoft.com`` ...), the org zones, else a TLD zone.
* MX hosts get an address so that stekker's IP -> ASN rule sees what the
  peer saw: a host in a lab provider zone gets that provider's address
  (``stekker.lab.catalog.address``, as the lab does for its own hosts);
  any other host gets an address in a synthetic /24 (from 100.64.0.0/10) of
  the ASN the peer published for the domain's MX hosts, when the peer
  published exactly one ASN; otherwise an address in 192.0.2.0/24
  (TEST-NET-1, no ASN). The check's ASN table is the lab catalogue plus
  those synthetic prefixes.
* Autodiscover CNAME/SRV targets get an address the same way (provider
  address, else TEST-NET-1); DKIM CNAME targets get a placeholder key TXT
  so the chain resolves (stekker's rule reads only the CNAME target name).
* Records the lab cannot hold (a bad name, a CNAME next to other data or a
  second CNAME at one name) are dropped and listed per observation;
  observations whose domain cannot be an org zone (bad name, a public suffix,
  a lab provider zone, a duplicate) are listed as skipped with the reason.

* Microsoft's realm answer the peer published (``tenant``: Managed /
  Federated) is served by a loopback stand-in of the realm endpoint
  (``stekker.lab.realm``), and the scan asks it as ``stekker scan --ms-realm``
  does; where the peer published none it answers Unknown. The same scan is
  also attributed without its realm rows (``DatasetResult.dns_only``), so the
  report shows what DNS alone gives.

What the peers did not publish cannot be reconstructed: SPF include
contents (other than the lab's own provider hosts), other DKIM selectors than
those listed, and for mxmap-dk's company lists everything but MX, SPF and
the realm answer.

Buckets
=======

Peer label -> :func:`stekker.validate.peers.bucket`. stekker's mailbox service
-> the provider id when ``attributed`` and it is microsoft/google/amazon;
everything else -> ``other``: another provider, ``self``, ``unknown`` (evidence
but no conclusion, e.g. an own server behind a gateway), ``absent`` (no MX)
and ``error``. Peer ``unknown``/``independent``/``local-isp`` are ``other``
too: neither side names a hyperscaler, which is what the four buckets
measure. The finer table (stekker status x peer label) is printed next to it
so that "unknown" on either side stays visible.

Size (over 400 lines on purpose): a tool beside the product, one pipeline
in one file (peer records -> lab zones -> scan -> comparison); nothing of
it ships in a verdict.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import ipaddress
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable

from stekker.attribute.model import SELF_HOSTED_ON
from stekker.datasets import is_public_suffix, registrable_domain
from stekker.i18n import _, shown
from stekker.validate.peers import PeerObservation, bucket, load_all, observation_records
from stekker.validate.verdict import stekker_kinds

LAB_NET = "127.84"
BUCKETS = ("microsoft", "google", "amazon", "other")
HYPERSCALERS = ("microsoft", "google", "amazon")
NO_OPERATOR_LABELS = ("unknown", "", "none", "absent", "error")
LOOK_THROUGH = ("likely_behind_gateway", "peer_tenant_or_token", "both_look_through")  # causes counted by the explained agreement
# the evidence a 'likely <hyperscaler>' mailbox answer rests on, as the peers' conventions differ on it
WEAK_PATTERNS = {
    "tenant_behind_gateway": "a tenant (realm answer, MS= token) behind a filtering gateway, no SPF include",
    "spf_behind_gateway": "an SPF include of the platform behind a filtering gateway (a tenant or not)",
    "spf_unknown_mx": "an SPF include of the platform, the MX a host the knowledge base does not know",
}
PEER_ASN_NET = ipaddress.ip_network("100.64.0.0/10")
NO_ASN_NET = ipaddress.ip_network("192.0.2.0/24")
DKIM_PLACEHOLDER = "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDlabplaceholder"


def default_peers_dir() -> Path:
    """``../shared/data/peers`` next to the checkout (or $STEKKER_PEERS)."""
    import os

    env = os.environ.get("STEKKER_PEERS")
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        cand = parent.parent / "shared" / "data" / "peers"
        if cand.is_dir():
            return cand
    return Path.cwd().parent / "shared" / "data" / "peers"


# ------------------------------------------------------------------ results
@dataclass
class Skipped:
    dataset: str
    domain: str
    label: str
    reason: str


@dataclass
class Row:
    """One compared observation."""

    obs: PeerObservation
    input_domain: str
    peer_bucket: str
    stekker_bucket: str = "other"
    stekker_status: str = "error"
    stekker_provider: str | None = None
    stekker_also: list[str] = field(default_factory=list)
    stekker_gateway: str | None = None
    stekker_inbound: str | None = None
    stekker_note: str | None = None
    stekker_basis: str | None = None  # kb | network | likely | self (issue 12)
    stekker_kind: str | None = None  # platform | infrastructure
    stekker_us: bool = False  # the mailbox answer's company is US-controlled (ultimate parent / AS registration US)
    evidence: list[str] = field(default_factory=list)  # "rule: qname TYPE value"
    items: list[tuple[str, str, str, str, str]] = field(default_factory=list)  # (provider|status, rule, qname, type, value)
    dropped: list[str] = field(default_factory=list)  # observed records the lab could not hold
    verdict: str | None = None  # stekker | peer | undecided
    cause: str | None = None  # short cause id
    verdict_text: str | None = None

    @property
    def agree(self) -> bool:
        return self.peer_bucket == self.stekker_bucket

    @property
    def stekker_label(self) -> str:
        if self.stekker_status == "attributed":
            p = self.stekker_provider or "?"
            if self.stekker_basis == "network":
                return "network:" + p
            if self.stekker_basis == "likely":
                return "likely:" + p
            if self.stekker_kind == "infrastructure":
                return SELF_HOSTED_ON + p
            return p
        return self.stekker_status

    @property
    def peer_names(self) -> bool:
        """The peer names a mailbox operator (any label but unknown)."""
        return (self.obs.label or "unknown").lower() not in NO_OPERATOR_LABELS

    @property
    def stekker_names(self) -> bool:
        """stekker names an operator: a provider (also a network operator or a
        likely provider) or the organisation itself."""
        return self.stekker_status in ("attributed", "self")

    @property
    def peer_us(self) -> bool:
        """The peer's label is a US-controlled mailbox operator. The peers'
        labels name a company, not its owners; mxmap's own category for
        microsoft/google/aws is "us-cloud", every other label is a non-US
        ("swiss-based") operator or none: so the peer's US control is its
        hyperscaler bucket."""
        return self.peer_bucket in HYPERSCALERS

    @property
    def us_agree(self) -> bool:
        """Both sides agree whether the mailbox operator is US-controlled
        (issue 12's "agreement on US control")."""
        return self.peer_us == self.stekker_us

    @property
    def peer_local(self) -> bool:
        """The peer names a local ISP / independent / non-hyperscaler provider."""
        return self.peer_names and self.peer_bucket == "other"

    @property
    def weak_pattern(self) -> str | None:
        """The look-through pattern a ``likely <hyperscaler>`` mailbox answer
        rests on (WEAK_PATTERNS), None for any other answer: the peers label
        these patterns by different conventions."""
        if self.stekker_basis != "likely" or self.stekker_bucket not in HYPERSCALERS:
            return None
        kinds = stekker_kinds(self, self.stekker_bucket)
        if self.stekker_gateway:
            return "spf_behind_gateway" if "spf" in kinds else "tenant_behind_gateway"
        return "spf_unknown_mx" if "spf" in kinds else None

    def both_agree_if_other(self, patterns: Iterable[str]) -> bool:
        """Class and US control agree when stekker's ``likely`` answers of these
        patterns were counted as other and not US-controlled (the reading of
        a peer that does not look through on such evidence)."""
        if self.weak_pattern not in set(patterns):
            return self.agree and self.us_agree
        return self.peer_bucket == "other" and not self.peer_us


@dataclass
class DatasetResult:
    name: str
    rows: list[Row]
    skipped: list[Skipped]
    timings: dict[str, float] = field(default_factory=dict)
    dns_only: "DatasetResult | None" = None  # the same scan attributed without its realm rows

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def agree(self) -> int:
        return sum(r.agree for r in self.rows)

    @property
    def rate(self) -> float:
        return self.agree / self.n if self.n else 0.0

    # issue 12: coverage beyond the hyperscaler buckets
    @property
    def peer_named(self) -> int:
        return sum(r.peer_names for r in self.rows)

    @property
    def none_named(self) -> int:
        """Domains where the peer names a mailbox operator and stekker names none."""
        return sum(r.peer_names and not r.stekker_names for r in self.rows)

    @property
    def local_n(self) -> int:
        return sum(r.peer_local for r in self.rows)

    @property
    def local_agree(self) -> int:
        """Peer names a local/independent operator, stekker names a
        non-hyperscaler operator (a provider, a network operator, the
        organisation itself, or a server on a cloud it runs itself)."""
        return sum(r.peer_local and r.stekker_names and r.stekker_bucket == "other" for r in self.rows)

    def basis_count(self, basis: str) -> int:
        return sum(r.stekker_status == "attributed" and r.stekker_basis == basis for r in self.rows)

    @property
    def infrastructure(self) -> int:
        return sum(r.stekker_kind == "infrastructure" for r in self.rows)

    @property
    def us_agree(self) -> int:
        """Domains where both sides agree whether the mailbox operator is US-controlled."""
        return sum(r.us_agree for r in self.rows)

    @property
    def both_agree(self) -> int:
        """Domains where both the class (bucket) and US control agree."""
        return sum(r.agree and r.us_agree for r in self.rows)

    @property
    def explained(self) -> int:
        """Class disagreements explained: verdict 'stekker', or a gateway that
        one side looks through on a token."""
        return sum(r.verdict == "stekker" or r.cause in LOOK_THROUGH for r in self.rows if not r.agree)

    @property
    def agree_explained(self) -> int:
        """Agreements plus the explained disagreements."""
        return self.agree + self.explained

    @property
    def both_explained(self) -> int:
        """Class-and-US-control agreements plus the class disagreements explained
        as in ``agree_explained`` (a domain where the class agrees and only US
        control differs stays a disagreement: no verdict explains it)."""
        return self.both_agree + self.explained

    def pattern_split(self, pattern: str) -> tuple[int, int]:
        """(peer names a hyperscaler, peer does not) among stekker's ``likely``
        answers resting on ``pattern``."""
        rs = [r for r in self.rows if r.weak_pattern == pattern]
        hyper = sum(r.peer_bucket in HYPERSCALERS for r in rs)
        return hyper, len(rs) - hyper

    def both_agree_if_other(self, patterns: Iterable[str]) -> int:
        return sum(r.both_agree_if_other(tuple(patterns)) for r in self.rows)

    def confusion(self) -> dict[str, Counter]:
        """peer bucket -> Counter(stekker bucket)."""
        out: dict[str, Counter] = {b: Counter() for b in BUCKETS}
        for r in self.rows:
            out[r.peer_bucket][r.stekker_bucket] += 1
        return out

    def fine(self) -> Counter:
        """(peer label, stekker label) -> n."""
        return Counter((r.obs.label, r.stekker_label) for r in self.rows)

    def disagreements(self) -> list[Row]:
        return [r for r in self.rows if not r.agree]


# ------------------------------------------------------------------ lab zones
class _Zones:
    """The zones the lab knows before any org is added."""

    def __init__(self) -> None:
        from stekker.lab import build as labbuild
        from stekker.lab import catalog

        self.provider_zone: dict[str, str] = {}
        self.fixed: dict[str, set[str]] = defaultdict(set)  # owner (no dot) -> types
        tlds = set(labbuild.DEFAULT_TLDS)
        for pid, p in catalog.providers().items():
            for z in p.zones:
                self.provider_zone[z] = pid
                tlds.add(z.rsplit(".", 1)[-1])
            for owner, rtype, _rdata in p.hosts:
                self.fixed[owner.lower().rstrip(".")].add(rtype.upper())
        self.tlds = tlds
        for z in [*self.provider_zone, *tlds]:
            self.fixed[z].update({"SOA", "NS"})

    def provider_of(self, name: str) -> str | None:
        labels = name.split(".")
        for i in range(len(labels)):
            pid = self.provider_zone.get(".".join(labels[i:]))
            if pid:
                return pid
        return None


def _addr_in(net: ipaddress.IPv4Network, key: str) -> str:
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
    return str(net.network_address + 1 + h % (net.num_addresses - 2))


class _AsnPlan:
    """Synthetic /24 per peer-published ASN (100.64.0.0/10)."""

    def __init__(self) -> None:
        self.nets: dict[int, ipaddress.IPv4Network] = {}

    def net(self, asn: int) -> ipaddress.IPv4Network:
        if asn not in self.nets:
            i = len(self.nets)
            base = int(PEER_ASN_NET.network_address) + 256 * i
            self.nets[asn] = ipaddress.ip_network(f"{ipaddress.ip_address(base)}/24")
        return self.nets[asn]

    def rows(self) -> list[tuple]:
        return [(str(n.network_address), str(n.broadcast_address), asn, "ZZ", f"PEER-PUBLISHED-AS{asn}")
                for asn, n in self.nets.items()]


def _norm(name: str) -> str:
    """Lowercase absolute name without the dot; ZoneDataError when it is not
    a valid DNS name (label > 63 octets, name > 255, bad IDN, ...)."""
    import dns.name

    from stekker.lab.zonefile import ZoneDataError, norm_name

    n = norm_name(name)
    try:
        dns.name.from_text(n)
    except Exception as exc:  # dnspython raises many kinds
        # the reason goes into the validation report's lists of skipped observations and dropped records
        # (an English report, written to a file): data, not a message
        reason = f"bad DNS name {name!r}: {exc}"
        raise ZoneDataError(reason) from exc
    return n.rstrip(".")


def _final_mx_hosts(obs: PeerObservation) -> list[str]:
    """The MX hosts after the observed MX CNAMEs (valid names only)."""
    from stekker.lab.zonefile import ZoneDataError

    out = []
    for mx in obs.mx:
        try:
            host = _norm(mx)
            seen = set()
            while host in obs.mx_cnames and host not in seen:
                seen.add(host)
                host = _norm(obs.mx_cnames[host])
        except ZoneDataError:
            continue
        if host not in out:
            out.append(host)
    return out


def build_orgs(observations: Iterable[PeerObservation], dataset: str) -> tuple[list, dict[str, Row], list[Skipped], _AsnPlan]:
    """Lab orgs for one dataset: (orgs, rows by input domain, skipped, ASN plan)."""
    from stekker.lab import Org
    from stekker.lab import catalog
    from stekker.lab.zonefile import ZoneDataError, norm_rdata

    zones = _Zones()
    asns = _AsnPlan()
    orgs = []
    rows: dict[str, Row] = {}
    skipped: list[Skipped] = []
    owners: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))  # owner -> type -> rdatas
    for owner, types in zones.fixed.items():
        for t in types:
            owners[owner][t].add("(lab)")
    org_apexes: set[str] = set()

    def add(recs: list, dropped: list, owner: str, rtype: str, rdata: str, helper: bool = False) -> None:
        """Add one record unless the lab cannot hold it. Observed records that
        do not fit are listed in ``dropped``; helper records (addresses and
        DKIM keys this check adds) are left out quietly where the name is
        already defined otherwise."""
        try:
            o = _norm(owner)
            r = norm_rdata(rtype, rdata)
        except (ZoneDataError, ValueError) as exc:
            dropped.append(f"{owner} {rtype} {rdata}: not a valid lab record ({exc})")
            return
        have = owners[o]
        problem = None
        if rtype == "CNAME":
            others = {t for t in have if t != "CNAME"}
            if others or o in org_apexes:
                problem = f"the name already has {', '.join(sorted(others)) or 'SOA/NS'} (CNAME and other data)"
            elif have.get("CNAME") and r not in have["CNAME"]:
                problem = f"the name already has CNAME {sorted(have['CNAME'])[0]}"
        elif "CNAME" in have:
            problem = "the name is already a CNAME"
        if problem:
            if not helper:
                dropped.append(f"{o} {rtype} {r}: {problem}")
            return
        if r in have.get(rtype, ()):  # exact duplicate (e.g. a shared MX host)
            return
        have[rtype].add(r)
        recs.append((o, rtype, rdata))  # the lab normalises it again (TXT: raw content)

    def address_for(host: str, obs: PeerObservation, mx: bool) -> tuple[str, str] | None:
        """(A rdata, why) for a host, or None when the lab already defines it."""
        if "A" in zones.fixed.get(host, ()) or "CNAME" in zones.fixed.get(host, ()):
            return None
        pid = zones.provider_of(host)
        if pid:
            return catalog.address(pid, host), f"lab address of {pid}"
        if mx and host_asn.get(host) is not None:
            return _addr_in(asns.net(host_asn[host]), host), f"AS{host_asn[host]} (peer-published)"
        return _addr_in(NO_ASN_NET, host), "TEST-NET-1 (no ASN)"

    kept: list[tuple[PeerObservation, str, list, list[str]]] = []
    for obs in observations:
        try:
            domain = _norm(obs.domain)
        except ZoneDataError as exc:
            skipped.append(Skipped(dataset, obs.domain, obs.label, f"domain is not a valid DNS name: {exc}"))
            continue
        apex = registrable_domain(domain, icann_only=True)  # the lab serves ICANN suffixes
        if zones.provider_of(domain) or apex in zones.tlds:
            skipped.append(Skipped(dataset, obs.domain, obs.label,
                                   f"domain lies in a zone the lab serves itself ({apex})"))
            continue
        if is_public_suffix(domain, icann_only=True):
            skipped.append(Skipped(dataset, obs.domain, obs.label, "domain is a public suffix"))
            continue
        if domain in rows:
            skipped.append(Skipped(dataset, obs.domain, obs.label, "duplicate domain in the dataset"))
            continue
        org_apexes.add(apex)
        rows[domain] = Row(obs=obs, input_domain=domain, peer_bucket=bucket(obs.label))
        kept.append((obs, domain, [], rows[domain].dropped))
    # the ASN of each MX host outside the lab's provider zones: the one ASN the
    # peer published for the domain's MX hosts once the ASNs of hosts in lab
    # provider zones (e.g. Exchange Online next to an own server) are taken
    # out; a host whose observations disagree gets none
    prov_asn = {pid: p.asn for pid, p in catalog.providers().items()}
    seen_asn: dict[str, set[int]] = defaultdict(set)
    for obs, domain, _recs, _dropped in kept:
        hosts = _final_mx_hosts(obs)
        explained = {prov_asn.get(zones.provider_of(h)) for h in hosts if zones.provider_of(h)}
        rest = [h for h in hosts if not zones.provider_of(h)]
        cand = set(obs.mx_asns) - explained
        if rest and len(cand) == 1:
            for h in rest:
                seen_asn[h] |= cand
    host_asn = {h: next(iter(a)) for h, a in seen_asn.items() if len(a) == 1}
    # pass 1: the observed records of every org (they win over helper records)
    for obs, domain, recs, dropped in kept:
        for owner, rtype, rdata in observation_records(obs):
            add(recs, dropped, owner, rtype, rdata)
    # pass 2: addresses and DKIM keys so that the observed chains resolve
    for obs, domain, recs, dropped in kept:
        for host in _final_mx_hosts(obs):
            a = address_for(host, obs, mx=True)
            if a:
                add(recs, dropped, host, "A", a[0], helper=True)
        for target in filter(None, (obs.autodiscover_cname, obs.autodiscover_srv)):
            try:
                t = _norm(target)
            except ZoneDataError:
                continue
            if t == f"autodiscover.{domain}" and obs.autodiscover_cname == target:
                continue
            a = address_for(t, obs, mx=False)
            if a:
                add(recs, dropped, t, "A", a[0], helper=True)
        for target in obs.dkim.values():
            try:
                t = _norm(target)
            except ZoneDataError:
                continue
            if zones.fixed.get(t):
                continue
            add(recs, dropped, t, "TXT", DKIM_PLACEHOLDER, helper=True)
        orgs.append(Org(domain=domain, organisation=obs.name, sector=obs.dataset, records=recs,
                        truth={"mailbox": obs.label}))
    return orgs, rows, skipped, asns


# ------------------------------------------------------------------ scan + attribute
def _scan(lab, workdir: Path, domains: list[str] | None = None, name: str = "stekker", realm_url: str | None = None):
    """Scan the lab's input (or only ``domains``) with stekker's real engine
    into a fresh SQLite store, with ``realm_url`` also the realm look-up
    (``stekker scan --ms-realm``); returns (store, scan id)."""
    import csv

    from stekker import __version__
    from stekker.collect.plan import load_plan
    from stekker.collect.run import RunOptions, run_scan
    from stekker.collect.transport import TransportConfig, parse_resolver
    from stekker.store import Store
    from stekker.targets import read_targets

    if domains is None:
        inp = lab.write_input(workdir / f"{name}-input.csv", fmt="csv")
    else:
        inp = workdir / f"{name}-input.csv"
        with open(inp, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["domain", "organisation", "sector", "hosts"])
            for d in domains:
                w.writerow([d, "", "", ""])
    db = workdir / f"{name}.db"
    if db.exists():
        db.unlink()
    store = Store.open(str(db))
    tf = read_targets(inp)
    sid = store.create_scan(tool_version=__version__, plan_version=load_plan().version, input_path=str(inp),
                            input_sha256=tf.sha256, resolvers=[lab.resolver], options={"validate": "peers"})
    store.add_targets(sid, tf)
    store.add_input_issues(sid, tf.issues)
    res = run_scan(store, sid, [parse_resolver(lab.resolver)], TransportConfig(timeout=2.0, retries=2, window=256),
                   RunOptions(progress="none"))
    if res.state != "finished":
        raise RuntimeError(_("scan of the peer lab did not finish: {state} {message}").format(state=res.state,
                                                                                             message=shown(res.message)))
    if realm_url:
        from stekker.collect.realm import RealmConfig, run_realm

        run_realm(store, sid, RealmConfig(url=realm_url, qps=0, backoff=0.05))
    return store, sid


def _fill(row: Row, a) -> None:
    svc = a.services.get("mailbox")
    if svc is None:
        return
    row.stekker_status = svc.status
    row.stekker_provider = svc.provider if svc.status == "attributed" else None
    row.stekker_basis = svc.basis
    row.stekker_kind = svc.service_kind
    # a server on a cloud's network (service kind infrastructure) is self-hosted, not the cloud's mail platform
    row.stekker_bucket = (svc.provider if svc.status == "attributed" and svc.provider in HYPERSCALERS
                          and svc.service_kind != "infrastructure" else "other")
    # US control of the answer: the ultimate parent's country on the date, for a network answer the AS
    # holder's registration country; self / unknown / absent are not US-controlled, nor is a company
    # several parents control together (no single jurisdiction; no peer label concerns one)
    if svc.status == "attributed":
        country = (svc.network or {}).get("country") if svc.basis == "network" else svc.jurisdiction
        row.stekker_us = (country or "").upper() == "US"
    row.stekker_also = [x.provider or x.status for x in svc.also]
    row.stekker_note = svc.note
    first = svc.provider or svc.status
    row.items = [(first, e.rule, e.qname, e.rtype, e.value) for e in svc.evidence]
    for x in svc.also:
        row.items += [(x.provider or x.status, e.rule, e.qname, e.rtype, e.value) for e in x.evidence]
    row.evidence = [(f"(also {who}) " if i >= len(svc.evidence) else "") + f"{rule}: {q} {t} {v}"
                    for i, (who, rule, q, t, v) in enumerate(row.items)]
    gw = a.services.get("mail_gateway")
    if gw is not None and gw.status == "attributed":
        row.stekker_gateway = gw.provider
    mi = a.services.get("mail_inbound")
    if mi is not None:
        row.stekker_inbound = mi.provider if mi.status == "attributed" else mi.status


def run_dataset(name: str, observations: list[PeerObservation], workdir: Path, net: str = LAB_NET,
                kb=None, as_of: str | None = None, ms_realm: bool = True) -> DatasetResult:
    """Build a lab of one dataset's observations, scan it, attribute, compare.
    ``ms_realm``: scan as ``stekker scan --ms-realm`` does, against a loopback
    stand-in of Microsoft's realm endpoint that answers what the peer
    published (``tenant``: Managed / Federated; Unknown where it published
    nothing)."""
    from stekker import kb as kbmod
    from stekker.attribute import attribute_domain
    from stekker.ipasn import AsnTable
    from stekker.lab import NO_FAULTS, Lab, LabSpec, catalog

    kb = kb or kbmod.load()
    as_of = as_of or _dt.date.today().isoformat()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    orgs, rows, skipped, asns = build_orgs(observations, name)
    timings = {}
    # the peers' observed records as they are: no lame or missing zones added
    lab = Lab(LabSpec(orgs=orgs, fault_mix=NO_FAULTS), workdir=workdir / "lab", net=net)
    from stekker.lab.realm import RealmServer

    # the peers published the realm's NameSpaceType, not a federated domain's AuthURL: none is made up
    realm = RealmServer({o.domain: o.tenant for o in observations if o.tenant},
                        auth_urls={o.domain: None for o in observations if o.tenant}) if ms_realm else None
    realm_url = realm.start().url if realm else None
    try:
        lab.start()
        timings["lab_start_s"] = round(time.perf_counter() - t0, 1)
        t1 = time.perf_counter()
        store, sid = _scan(lab, workdir, realm_url=realm_url)
        evidence = {ev.domain: ev for ev in store.iter_evidence(sid, list(rows))}
        store.close()
        # The lab has no real failures for these zones: a DNS error here is
        # load on the loopback servers. Scan those domains once more, alone.
        failed = sorted(d for d, ev in evidence.items()
                        if any(r.status.name == "ERROR" and r.purpose not in ("spf_walk", "ms_realm") for r in ev.results))
        if failed:
            lab.flush()
            store2, sid2 = _scan(lab, workdir, failed, name="rescan", realm_url=realm_url)
            for ev in store2.iter_evidence(sid2, failed):
                evidence[ev.domain] = ev
            store2.close()
        timings["scan_s"] = round(time.perf_counter() - t1, 1)
        timings["rescanned"] = len(failed)
    finally:
        lab.stop()
        if realm is not None:
            realm.stop()
    t2 = time.perf_counter()
    table = AsnTable.from_rows(sorted([*catalog.ip2asn_rows(), *asns.rows()],
                                      key=lambda r: int(ipaddress.ip_address(r[0]))),
                               name="lab-ip2asn+peer-asns")
    # with the realm look-up: also what DNS alone gives, from the same scan without its realm rows
    shadow = {d: copy.deepcopy(r) for d, r in rows.items()} if ms_realm else None
    for domain, ev in evidence.items():
        row = rows.get(domain)
        if row is None:
            continue
        _fill(row, attribute_domain(ev, kb, asn_table=table, as_of=as_of))
        if shadow is not None:
            dns = replace(ev, results=[r for r in ev.results if r.purpose != "ms_realm"])
            _fill(shadow[domain], attribute_domain(dns, kb, asn_table=table, as_of=as_of))
    timings["attribute_s"] = round(time.perf_counter() - t2, 1)
    from stekker.validate.verdict import judge

    def judged(rs: list[Row]) -> list[Row]:
        for r in rs:
            if not r.agree:
                judge(r)
        return rs

    dns_only = (DatasetResult(name=name, rows=judged(list(shadow.values())), skipped=skipped)
                if shadow is not None else None)
    return DatasetResult(name=name, rows=judged(list(rows.values())), skipped=skipped, timings=timings,
                         dns_only=dns_only)


def sample(datasets: dict[str, list[PeerObservation]], n: int = 60) -> dict[str, list[PeerObservation]]:
    """A small deterministic sample across datasets: per dataset, its share of
    ``n`` (at least 5), keeping every label bucket represented, by a hash of
    the domain (not by outcome)."""
    total = sum(len(v) for v in datasets.values())
    out = {}
    for name, obs in datasets.items():
        k = max(5, round(n * len(obs) / total))
        uniq = {o.domain: o for o in reversed(obs)}  # one per domain (the first listed)
        ranked = sorted(uniq.values(), key=lambda o: hashlib.sha256(o.domain.encode()).hexdigest())
        pick: list[PeerObservation] = []
        for b in BUCKETS:  # one of each bucket first (when present)
            for o in ranked:
                if o.bucket == b and o not in pick:
                    pick.append(o)
                    break
        for o in ranked:
            if len(pick) >= k:
                break
            if o not in pick:
                pick.append(o)
        out[name] = sorted(pick, key=lambda o: o.domain)
    return out


def run(peers_dir: Path | None = None, workdir: Path | None = None, net: str = LAB_NET, n_sample: int | None = None,
        datasets: Iterable[str] | None = None, kb=None, ms_realm: bool = True) -> list[DatasetResult]:
    import tempfile

    peers_dir = Path(peers_dir or default_peers_dir())
    data = load_all(peers_dir)
    if datasets:
        want = list(datasets)
        data = {k: v for k, v in data.items() if any(w.lower() in k.lower() for w in want)}
    if n_sample:
        data = sample(data, n_sample)
    with tempfile.TemporaryDirectory(prefix="stekker-validate-") as tmp:
        base = Path(workdir) if workdir else Path(tmp)
        results = []
        for i, (name, obs) in enumerate(data.items()):
            results.append(run_dataset(name, obs, base / f"ds{i}", net=net, kb=kb, ms_realm=ms_realm))
    return results


def as_dict(results: list[DatasetResult]) -> dict[str, Any]:
    return {
        r.name: {"n": r.n, "agree": r.agree, "rate": round(r.rate, 4), "skipped": len(r.skipped),
                 "agree_explained": r.agree_explained, "peer_named": r.peer_named, "none_named": r.none_named,
                 "local_n": r.local_n, "local_agree": r.local_agree, "network": r.basis_count("network"),
                 "likely": r.basis_count("likely"), "infrastructure": r.infrastructure,
                 "us_agree": r.us_agree, "both_agree": r.both_agree, "both_explained": r.both_explained,
                 "likely_patterns": {k: dict(zip(("peer_hyperscaler", "peer_other"), r.pattern_split(k)))
                                     for k in WEAK_PATTERNS},
                 "both_agree_if_tenant_behind_gateway_other": r.both_agree_if_other(("tenant_behind_gateway",)),
                 "confusion": {k: dict(v) for k, v in r.confusion().items()},
                 **({"dns_only": {"agree": r.dns_only.agree, "both_agree": r.dns_only.both_agree,
                                  "both_explained": r.dns_only.both_explained, "none_named": r.dns_only.none_named}}
                    if r.dns_only is not None else {})}
        for r in results
    }
