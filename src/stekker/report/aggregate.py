"""Aggregates over one scan: the numbers the report prints.

The verdicts themselves come from :mod:`stekker.judge` (domains, their
dependencies, the input's extra hosts: :func:`stekker.judge.judge_results`);
this module only tallies them.  Every share has its numerator and
denominator next to it; what could not be decided (DNS errors, unknown
providers, non-existent domains) is counted in its own column and never
silently dropped or counted as sovereign.

The headline share is ``not_sovereign / (not_sovereign + sovereign + none)``
— the domains for which the answer is known.  Organisations follow the same
rules over their domains.  The input's extra hosts are tallied apart
(:class:`HostGroup`); they do not change the domain and organisation
verdicts.

Longer than ~400 lines on purpose: :func:`tally` computes every table of
the report in one pass over the judged results, and the dataclasses it
fills (:class:`Report` and its parts) are the one contract that terminal,
HTML, PDF, CSV and JSONL output read.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable

import yaml

from stekker.attribute.model import DomainAttribution
from stekker.judge.domain import LIKELY_KEY
from stekker.judge import (
    DOMAIN_VERDICTS,
    ERROR,
    NONE,
    NOT_SOVEREIGN,
    NXDOMAIN,
    SOVEREIGN,
    UNKNOWN,
    Dependency,
    DomainResult,
    Explanation,
    HostResult,
    Policy,
    as_date,
    combine,
    judge_results,
    looks_at_hosts,
)

DECIDED = (NOT_SOVEREIGN, SOVEREIGN, NONE)
EXCLUDED = (UNKNOWN, ERROR, NXDOMAIN)


@lru_cache(maxsize=1)
def report_data() -> dict[str, Any]:
    """Category groups, HHI thresholds and UI strings (templates/strings.yaml)."""
    text = resources.files("stekker.report").joinpath("templates", "strings.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def category_rows() -> list[tuple[str, list[str]]]:
    """(row id, categories it covers) in report order, from the data file."""
    return [(r["id"], list(r.get("covers") or [r["id"]])) for r in report_data()["categories"]]


def multi_rows() -> set[str]:
    """Rows where several providers per domain are normal (SaaS, outbound mail)."""
    return {r["id"] for r in report_data()["categories"] if r.get("multi")}


# ---------------------------------------------------------------------------
# tallies
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class Tally:
    """Counts of verdicts for one group under one policy."""

    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in DOMAIN_VERDICTS})

    def add(self, verdict: str) -> None:
        self.counts[verdict] = self.counts.get(verdict, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def decided(self) -> int:
        return sum(self.counts[k] for k in DECIDED)

    @property
    def not_sovereign(self) -> int:
        return self.counts[NOT_SOVEREIGN]

    @property
    def excluded(self) -> int:
        return sum(self.counts[k] for k in EXCLUDED)

    @property
    def share(self) -> float | None:
        """not_sovereign / decided (None when nothing was decided)."""
        return self.not_sovereign / self.decided if self.decided else None

    def fraction(self) -> tuple[int, int]:
        """What the share is made of: (not sovereign, decided)."""
        return self.not_sovereign, self.decided

    def to_dict(self) -> dict[str, Any]:
        return {**self.counts, "total": self.total, "decided": self.decided,
                "share": None if self.share is None else round(self.share, 6)}


def _tally(verdicts: Iterable[str]) -> Tally:
    t = Tally()
    for v in verdicts:
        t.add(v)
    return t


@dataclass(slots=True)
class ProviderShare:
    key: str  # provider id, or "self"
    name: str
    count: int
    denominator: int
    company: str | None = None
    parent: str | None = None
    jurisdiction: str | None = None
    # the provider and company tables: further domains that show only an account there (a verification
    # token, a realm answer: Service.account_only), counted apart and not in ``count``
    account_only: int = 0

    @property
    def share(self) -> float | None:
        return self.count / self.denominator if self.denominator else None


@dataclass(slots=True)
class CategoryMarket:
    row: str
    shares: list[ProviderShare]  # primary provider per domain, sums to the denominator
    denominator: int  # domains with an identified service (attributed or self)
    unknown: int  # domains whose service exists but the provider is unknown
    error: int  # domains where the measurement failed
    hhi: float | None  # Herfindahl-Hirschman index 0..10000 (self-hosted: each its own firm)
    self_hosted: int


@dataclass(slots=True)
class Report:
    policies: list[Policy]
    as_of: _dt.date
    results: list[DomainResult]
    meta: dict[str, Any]
    domains: dict[str, Tally]  # policy -> tally over domains
    organisations: dict[str, Tally]  # policy -> tally over organisations
    org_verdicts: dict[str, dict[str, str]]  # organisation -> policy -> verdict
    domains_without_org: int
    by_category: dict[str, dict[str, Tally]]  # row -> policy -> tally (over existing domains)
    category_presence: dict[str, Counter]  # row -> Counter(status of the category per domain)
    by_sector: dict[str, dict[str, Tally]]  # sector -> policy -> tally over domains
    by_sector_orgs: dict[str, dict[str, Tally]]  # sector -> policy -> tally over organisations
    sector_domain_counts: dict[str, int]
    providers_overall: list[ProviderShare]  # domains using the provider in any category
    parents_overall: list[ProviderShare]  # domains using any provider of the ultimate parent
    providers_denominator: int
    markets: dict[str, CategoryMarket]  # row -> market
    seal: dict[str, Counter]  # objective -> Counter(label) over identified dependencies
    status_counts: Counter  # ok / nxdomain / error
    domains_with_failed_queries: int
    explanations: list[Explanation]
    # policy -> [(domains, example verdict)] of the reasons dependencies were
    # "unknown", most frequent first (what the knowledge base is missing)
    unknown_reasons: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    dns_only: int = 0  # measured domains with no service besides their name servers (parked, alias)
    # the input's extra hosts (empty when the input lists none)
    hosts: list[HostResult] = field(default_factory=list)  # sorted by host name
    host_policies: list[str] = field(default_factory=list)  # ids of the policies that judge hosts
    hosts_overall: "HostGroup | None" = None
    hosts_by_sector: dict[str, "HostGroup"] = field(default_factory=dict)  # sector ("-": none) -> group
    # what the NOS study of January 2026 computed, computed on this scan (figures.NosComparison)
    nos: Any = None
    # what DNS cannot show, counted (figures.DnsLimits)
    limits: Any = None
    # issue 12: policy -> Counter of the verdicts (on primary dependencies) by what the answer
    # rests on: "verdicts" (all), "network" (the network operator of the addresses), "likely"
    # (weak evidence only), "infrastructure" (a server on a provider's network)
    answer_kinds: dict[str, Counter] = field(default_factory=dict)
    # of the providers_denominator domains (the apex answered), those with at least one failed question:
    # they count with what was answered (field trial F12: "measured without a DNS error" said otherwise)
    providers_partial: int = 0

    @property
    def domain_count(self) -> int:
        return len(self.results)

    @property
    def organisation_count(self) -> int:
        return len(self.org_verdicts)

    def policy(self, pid: str) -> Policy:
        for p in self.policies:
            if p.id == pid:
                return p
        raise KeyError(pid)

    def org_results(self, name: str) -> list[DomainResult]:
        return [r for r in self.results if name in r.organisations]

    def org_hosts(self, name: str) -> list[HostResult]:
        return [h for h in self.hosts if name in h.organisations]

    def find_organisation(self, name: str) -> str | None:
        """Exact name, else the single case-insensitive (substring) match."""
        if name in self.org_verdicts:
            return name
        low = name.lower()
        exact = [o for o in self.org_verdicts if o.lower() == low]
        if len(exact) == 1:
            return exact[0]
        sub = [o for o in self.org_verdicts if low in o.lower()]
        return sub[0] if len(sub) == 1 else None


@dataclass(slots=True)
class HostGroup:
    """The extra hosts of a group (all, or one sector)."""

    name: str  # sector, or "" for all hosts
    hosts: int  # hosts listed
    present: int  # hosts that resolve or could not be measured: the denominator of the shares
    absent: int  # hosts without an address (excluded, counted)
    organisations: int
    shares: list[ProviderShare]  # primary provider per host over ``present``; the states
    #                              "?" (not recognised) and "error" are rows too, so shares add up to 100%
    tallies: dict[str, Tally]  # policy id -> verdicts of the hosts (policies that judge hosts)

    def share(self, key: str) -> ProviderShare | None:
        return next((s for s in self.shares if s.key == key), None)


def host_group(name: str, hosts: list[HostResult], pids: list[str]) -> HostGroup:
    present = [h for h in hosts if h.present]
    cnt: Counter = Counter(h.provider_key for h in present)
    info: dict[str, ProviderShare] = {}
    for h in present:
        k = h.provider_key
        if k in info:
            continue
        if h.identified and h.primary is not None:
            info[k] = _share_info(h.primary)
        else:
            info[k] = ProviderShare(k, k, 0, 0)
    state_order = {"?": 1, "error": 2}
    keys = sorted(cnt, key=lambda k: (state_order.get(k, 0), -cnt[k], k))
    shares = [ProviderShare(k, info[k].name, cnt[k], len(present), info[k].company, info[k].parent,
                            info[k].jurisdiction) for k in keys]
    tallies = {pid: _tally(h.verdict[pid] for h in hosts) for pid in pids}
    orgs = {o for h in hosts for o in h.organisations}
    return HostGroup(name, len(hosts), len(present), len(hosts) - len(present), len(orgs), shares, tallies)


def _hhi(counts: list[int], denominator: int) -> float | None:
    if not denominator:
        return None
    return round(sum((c * 100.0 / denominator) ** 2 for c in counts), 1)


ORG_DOMINANT = (0.10, 20)  # one organisation named for this share of the domains, and at least this many


def _dominant_organisation(org_domains: dict[str, list], total: int) -> list:
    """A warning when one organisation is named for a large share of the input's domains (a list
    whose organisation column says "Gemeenten" for 344 municipalities: the organisation figures
    then count them as one; field trial 18). Many domains of one organisation are normal (a
    ministry's), so it is said, not corrected."""
    from stekker.text import Message

    if not org_domains or not total:
        return []
    name, rs = max(org_domains.items(), key=lambda kv: (len(kv[1]), kv[0]))
    share, least = ORG_DOMINANT
    if len(rs) < least or len(rs) < share * total:
        return []
    return [Message("org_dominant", f"the input names one organisation, '{name}', for {len(rs)} of its {total} "
                    "domains; each organisation counts once in the organisation figures - check that this column "
                    "names organisations, not a group or a sector", organisation=name, n=len(rs), total=total)]


def build(attributions: Iterable[DomainAttribution], kb: Any, policies: list[Policy],
          as_of: Any = None, meta: dict[str, Any] | None = None,
          explanations: list[Explanation] | None = None) -> Report:
    """Judge every domain of a scan (:func:`stekker.judge.judge_results`) and
    compute all aggregates (:func:`tally`)."""
    day = as_date(as_of)
    explanations = explanations or []
    results = judge_results(attributions, kb, policies, day, explanations)
    return tally(results, kb, policies, day, meta, explanations)


def tally(results: list[DomainResult], kb: Any, policies: list[Policy], as_of: Any = None,
          meta: dict[str, Any] | None = None, explanations: list[Explanation] | None = None) -> Report:
    """All aggregates of judged results (from :func:`stekker.judge.judge_results`
    with the same ``policies`` and date); ``kb`` only for the comparison with
    the NOS study (:func:`.figures.nos_comparison`)."""
    day = as_date(as_of)
    explanations = explanations or []
    pids = [p.id for p in policies]

    domains = {pid: _tally(r.verdict[pid] for r in results) for pid in pids}

    # organisations
    org_domains: dict[str, list[DomainResult]] = defaultdict(list)
    without = 0
    for r in results:
        if not r.organisations:
            without += 1
        for o in r.organisations:
            org_domains[o].append(r)
    org_verdicts: dict[str, dict[str, str]] = {}
    for o, rs in sorted(org_domains.items()):
        org_verdicts[o] = {}
        for pid in pids:
            vs = [r.verdict[pid] for r in rs]
            if all(v == NXDOMAIN for v in vs):
                org_verdicts[o][pid] = NXDOMAIN
            else:
                org_verdicts[o][pid] = combine([v for v in vs if v != NXDOMAIN])
    organisations = {pid: _tally(org_verdicts[o][pid] for o in org_verdicts) for pid in pids}
    org_warnings = _dominant_organisation(org_domains, len(results))

    # categories (over domains that exist)
    live = [r for r in results if r.da.status != "nxdomain"]
    by_category: dict[str, dict[str, Tally]] = {}
    presence: dict[str, Counter] = {}
    for row, cats in category_rows():
        tallies = {pid: Tally() for pid in pids}
        by_category[row] = tallies
        c: Counter = Counter()
        judged: set[str] = set()  # the definitions that judge anything in this row
        for r in live:
            deps = r.deps_in(cats)
            err = r.da.status == "error"
            for pid in pids:
                vs = [d.verdicts[pid].verdict for d in deps if d.verdicts.get(pid)]
                if vs:
                    judged.add(pid)
                tallies[pid].add(combine(vs, measurement_error=err))
            if r.da.status == "error" and not deps:
                c["error"] += 1
            elif not deps:
                c["absent"] += 1
            else:
                sts = {d.service.status for d in deps}
                if sts & {"attributed", "self"}:
                    c["identified"] += 1
                elif "unknown" in sts:
                    c["unknown"] += 1
                else:
                    c["error"] += 1
        presence[row] = c
        for pid in pids:
            if pid not in judged:  # a definition that does not look at these services (nos-records: the
                tallies[pid] = Tally()  # office suite, SPF, tokens): empty, shown as "–", never as a measured 0%

    # sectors
    sector_results: dict[str, list[DomainResult]] = defaultdict(list)
    for r in results:
        for s in r.sectors or ["-"]:
            sector_results[s].append(r)
    by_sector = {s: {pid: _tally(r.verdict[pid] for r in rs) for pid in pids}
                 for s, rs in sorted(sector_results.items())}
    by_sector_orgs: dict[str, dict[str, Tally]] = {}
    for s, rs in sorted(sector_results.items()):
        orgs = sorted({o for r in rs for o in r.organisations})
        by_sector_orgs[s] = {pid: _tally(org_verdicts[o][pid] for o in orgs) for pid in pids}
    sector_counts = {s: len(rs) for s, rs in sector_results.items()}

    # providers overall: domains (that exist and whose apex answered - status ok - the base of the
    # NOS comparison too) with the provider anywhere; a domain whose measurement failed is in neither
    # the count nor the base, so an error never counts as "does not use it"
    # A provider counts for a domain through a service that runs there (F2 of the field trial:
    # "Google 30%" of which 435 of 610 domains were Google only through a google-site-verification
    # token); a domain that shows only an account there (Service.account_only) is counted apart.
    measured = [r for r in live if r.da.status == "ok"]
    info: dict[str, ProviderShare] = {}
    overall: Counter = Counter()
    overall_acc: Counter = Counter()
    parents: Counter = Counter()
    parents_acc: Counter = Counter()
    parent_info: dict[str, ProviderShare] = {}
    for r in measured:
        used, accounts = set(), set()
        for d in _known_deps(r):
            k = d.provider_key
            (accounts if d.service.account_only else used).add(k)
            if k not in info:
                info[k] = _share_info(d)
        top, top_acc = controlling_parents(r), account_parents(r)
        for cid, share in (top_acc | top).items():
            parent_info.setdefault(cid, share)
        overall.update(used)
        overall_acc.update(accounts - used)
        parents.update(top.keys())
        parents_acc.update(top_acc.keys())
    providers_overall = [
        ProviderShare(k, info[k].name, overall[k], len(measured), info[k].company, info[k].parent,
                      info[k].jurisdiction, account_only=overall_acc[k])
        for k in sorted(set(overall) | set(overall_acc), key=lambda k: (-overall[k], -overall_acc[k], k))
    ]
    parents_overall = [
        ProviderShare(k, parent_info[k].name, parents[k], len(measured), jurisdiction=parent_info[k].jurisdiction,
                      account_only=parents_acc[k])
        for k in sorted(set(parents) | set(parents_acc), key=lambda k: (-parents[k], -parents_acc[k], k))
    ]

    # markets per category row: the primary provider of the row's first
    # category that has one (a domain counts once per row)
    markets: dict[str, CategoryMarket] = {}
    multi = multi_rows()
    for row, cats in category_rows():
        cnt: Counter = Counter()
        unknown = error = selfc = with_service = 0
        for r in live:
            if row in multi:
                found = [d for d in r.deps_in(cats) if d.service.status in ("attributed", "self")
                         and (d.service.provider or d.service.status == "self")]
            else:
                prim = _primary(r, cats)
                found = [prim] if prim is not None else []
            if not found:
                if r.da.status == "error" or any(d.service.status == "error" for d in r.deps_in(cats)):
                    error += 1
                elif any(d.service.status == "unknown" for d in r.deps_in(cats)):
                    unknown += 1
                continue
            with_service += 1
            for k in {d.provider_key for d in found}:
                d = next(x for x in found if x.provider_key == k)
                if k not in info:
                    info[k] = _share_info(d)
                if k == "self":
                    selfc += 1
                cnt[k] += 1
        den = with_service
        shares = [ProviderShare(k, info[k].name, n, den, info[k].company, info[k].parent, info[k].jurisdiction)
                  for k, n in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))]
        # one firm per provider: its platform, servers on its network and likely answers together
        firms: Counter = Counter()
        for k, n in cnt.items():
            if k != "self":
                firms[k.split("#", 1)[0]] += n
        firm_counts = list(firms.values()) + [1] * selfc
        hhi = None if row in multi else _hhi(firm_counts, den)
        markets[row] = CategoryMarket(row, shares, den, unknown, error, hhi, selfc)

    seal_counts: dict[str, Counter] = {"SOV-1": Counter(), "SOV-2": Counter()}
    for r in live:
        for d in r.deps:
            if d.seal and d.primary:
                for obj, lvl in d.seal.items():
                    seal_counts.setdefault(obj, Counter())[lvl.label()] += 1

    answer_kinds: dict[str, Counter] = {pid: Counter() for pid in pids}
    for r in live:
        for d in r.deps:
            if not d.primary:
                continue
            s = d.service
            for pid in pids:
                if d.verdicts.get(pid) is None:
                    continue
                ak = answer_kinds[pid]
                ak["verdicts"] += 1
                if s.basis in ("network", "likely"):
                    ak[s.basis] += 1
                if s.service_kind == "infrastructure":
                    ak["infrastructure"] += 1

    unknown_reasons: dict[str, list[tuple[int, Any]]] = {}
    for pid in pids:
        cnt: Counter = Counter()
        example: dict[str, Any] = {}
        for r in live:
            if r.verdict[pid] != UNKNOWN:
                continue
            seen = set()
            for d in r.deps:
                v = d.verdicts.get(pid)
                if v is not None and v.verdict == UNKNOWN:
                    key = v.reason("en")
                    if key not in seen:
                        seen.add(key)
                        cnt[key] += 1
                        example.setdefault(key, v)
        unknown_reasons[pid] = [(n, example[k]) for k, n in sorted(cnt.items(), key=lambda kv: (-kv[1], kv[0]))]

    status_counts = Counter(r.da.status for r in results)
    # measured domains with no service besides their name servers (parked or alias domains): each
    # counts as sovereign under a definition, so how many there are is said (explore-e M5)
    dns_only = sum(1 for r in results if r.da.status == "ok" and all(d.category == "dns" for d in r.deps))
    failed_q = sum(1 for r in results if r.da.errors)

    # extra hosts (a host listed with several domains of the input counts once)
    hosts: dict[str, HostResult] = {}
    for r in results:
        for h in r.hosts:
            hosts.setdefault(h.host, h)
    host_list = sorted(hosts.values(), key=lambda h: h.host)
    host_pids = [p.id for p in policies if looks_at_hosts(p)]
    hosts_overall = host_group("", host_list, host_pids) if host_list else None
    by_sec: dict[str, list[HostResult]] = defaultdict(list)
    for h in host_list:
        for s in h.sectors or ["-"]:
            by_sec[s].append(h)
    hosts_by_sector = {s: host_group(s, hs, host_pids) for s, hs in sorted(by_sec.items())}

    meta = dict(meta or {})
    if org_warnings:
        meta["warnings"] = [*(meta.get("warnings") or []), *org_warnings]
    report = Report(
        policies=list(policies), as_of=day, results=results, meta=meta,
        domains=domains, organisations=organisations, org_verdicts=org_verdicts,
        domains_without_org=without, by_category=by_category, category_presence=presence,
        by_sector=by_sector, by_sector_orgs=by_sector_orgs, sector_domain_counts=sector_counts,
        providers_overall=providers_overall, parents_overall=parents_overall, providers_denominator=len(measured), markets=markets,
        seal=seal_counts, status_counts=status_counts, domains_with_failed_queries=failed_q, dns_only=dns_only,
        explanations=explanations, unknown_reasons=unknown_reasons,
        hosts=host_list, host_policies=host_pids, hosts_overall=hosts_overall, hosts_by_sector=hosts_by_sector,
        answer_kinds=answer_kinds, providers_partial=sum(1 for r in measured if r.da.errors),
    )
    from .figures import dns_limits, nos_comparison

    report.nos = nos_comparison(report, kb) if policies else None
    report.limits = dns_limits(report)
    return report


def _known_deps(r: DomainResult) -> Iterable[Dependency]:
    """The dependencies of a domain whose provider is known (attributed to one, or self-hosted)."""
    for d in r.deps:
        if d.service.status not in ("attributed", "self") or (d.service.status == "attributed" and not d.service.provider):
            continue
        yield d


def controlling_parents(r: DomainResult) -> dict[str, ProviderShare]:
    """The companies at the top of the providers a domain depends on (id -> name and country; each
    parent in joint control): what the report's parent-company shares ("Microsoft 49%") count, and
    what a comparison of two scans counts again.  A guess on weak evidence counts for no parent
    (review 28 M3), as it counts apart from the provider; self-hosting has none; nor does a provider
    that the domain shows only an account at (a verification token: :attr:`Service.account_only`)."""
    return _parents(d for d in _known_deps(r) if not d.service.account_only)


def account_parents(r: DomainResult) -> dict[str, ProviderShare]:
    """The companies at the top of the providers a domain shows only an account at (a verification
    token, a realm answer) and does not depend on through any other service: the column "account or
    token only" beside :func:`controlling_parents`."""
    top = controlling_parents(r)
    acc = _parents(d for d in _known_deps(r) if d.service.account_only)
    return {k: v for k, v in acc.items() if k not in top}


def _parents(deps: Iterable[Dependency]) -> dict[str, ProviderShare]:
    out: dict[str, ProviderShare] = {}
    for d in deps:
        k = d.provider_key
        for top in (d.controllers if k != "self" and not k.endswith(LIKELY_KEY) else []):
            if top.id not in out:
                out[top.id] = ProviderShare(top.id, top.name, 0, 0, jurisdiction=top.country)
    return out


def _share_info(d: Dependency) -> ProviderShare:
    s = d.service
    if d.provider_key == "self":
        return ProviderShare("self", "self", 0, 0)
    chain = d.chain or []
    return ProviderShare(d.provider_key, s.provider_name or s.provider or "?", 0, 0,
                         company=chain[0].name if chain else s.company,
                         parent=d.parent_name, jurisdiction=d.jurisdiction)


def _primary(r: DomainResult, cats: list[str]) -> Dependency | None:
    for c in cats:
        for d in r.deps:
            if d.category == c and d.primary and d.service.status in ("attributed", "self") and \
                    (d.service.provider or d.service.status == "self"):
                return d
    return None
