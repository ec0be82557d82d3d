"""Verdicts of a whole domain and of the input's extra hosts.

Every place that shows a verdict (the report's tables, CSV, JSONL, Parquet,
and any web page or API) reads it from here: :func:`judge_results` judges
each dependency of a domain with :func:`stekker.judge.evaluate.judge` and
combines them.

Domain verdict under a policy (first rule that applies):

* ``nxdomain``       the domain does not exist (excluded, counted)
* ``not_sovereign``  at least one dependency is not sovereign (this holds
                     even when another measurement of the domain failed)
* ``error``          a DNS error prevented part of the measurement (a failed
                     query or a service in state ``error``): excluded, counted
* ``unknown``        a dependency could not be judged: excluded, counted
* ``sovereign``      every dependency is sovereign
* ``none``           no dependency seen at all

Organisations follow the same rules over their domains (:func:`combine`).

The input's extra hosts (``DomainAttribution.hosts``, e.g. a hospital's
patient portal) are judged with the same ``judge()`` (:class:`HostResult`):
a host's verdict is that of its providers combined like a category,
``nxdomain`` when the name has no address.  They do not change the domain
and organisation verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Iterator

from stekker.attribute.model import DomainAttribution, Service
from stekker.countries import common_country
from stekker.kb import as_date

from .evaluate import ERROR, NOT_SOVEREIGN, SOVEREIGN, UNKNOWN, Verdict, judge
from .facts import Entity, facts, top_controllers
from .policies import Policy, load_policies
from .seal import SealLevel, seal

if TYPE_CHECKING:
    from .explanations import Explanation

NXDOMAIN = "nxdomain"
NONE = "none"
DOMAIN_VERDICTS = (NOT_SOVEREIGN, SOVEREIGN, NONE, UNKNOWN, ERROR, NXDOMAIN)


@dataclass(slots=True)
class Dependency:
    """One provider behind one category of one domain, with its verdicts."""

    category: str  # a CATEGORIES name, or "saas"
    service: Service
    primary: bool  # False for a Service.also entry
    verdicts: dict[str, Verdict]  # policy id -> verdict
    seal: dict[str, SealLevel] | None
    chain: list[Entity] | None
    # parents that control the top of the chain together (joint control), each with its own chain
    joint: list[list[Entity]] | None = None

    @property
    def provider_key(self) -> str:
        """:func:`provider_key` of the service (infrastructure counted apart)."""
        return provider_key(self.service)

    @property
    def controllers(self) -> list[Entity]:
        return top_controllers(self.chain, self.joint)

    @property
    def parent_name(self) -> str | None:
        """The ultimate parent's name; parents in joint control joined by ' + '."""
        tops = self.controllers
        return " + ".join(e.name for e in tops) if tops else self.service.parent

    @property
    def jurisdiction(self) -> str | None:
        """The legal home of who controls the provider (the one place every
        report reads it from): the ultimate parent's country, for joint
        control the parents' common country or None when their homes differ."""
        tops = self.controllers
        return common_country(e.country for e in tops) if tops else self.service.jurisdiction


LIKELY_KEY = "#likely"  # the suffix of a provider key answered on weak evidence only


def provider_key(service: Service, infrastructure_apart: bool = True) -> str:
    """The key under which a service is counted and shown: the provider id,
    ``self`` (the organisation's own servers), or, when no provider is
    identified, its state: ``error``, ``absent``, else ``?`` (not recognised).

    ``infrastructure_apart`` (the default, for a domain's dependencies): a
    server on a provider's network (``service_kind`` ``infrastructure``) is
    keyed ``<provider>#self-hosted``, counted apart from the provider's
    platform in the provider tables; an answer on weak evidence only (basis
    ``likely``) ``<provider>#likely``.  False (for an extra host of the input,
    :class:`HostResult`): who answers for the name, the provider id either way.
    """
    s = service
    if s.status == "self":
        return "self"
    if s.status == "attributed" and s.provider:
        if infrastructure_apart and s.service_kind == "infrastructure":
            return s.provider + "#self-hosted"  # a server on the provider's network, counted apart from its platform
        if infrastructure_apart and s.basis == "likely":
            # weak evidence only (a tenant token behind a mail filter): counted apart from the provider's
            # answers on platform evidence, as the verdicts keep it apart (explore-e M8)
            return s.provider + LIKELY_KEY
        return s.provider
    if s.status in ("error", "absent"):
        return s.status
    return "?"


def dependencies(da: DomainAttribution) -> Iterator[tuple[str, Service, bool]]:
    """(category, service, primary) for every non-absent service of a domain."""
    for cat, s in da.services.items():
        if s.status == "absent":
            continue
        yield cat, s, True
        for a in s.also:
            if a.status != "absent":
                yield cat, a, False
    for s in da.saas:
        if s.status != "absent":
            yield "saas", s, True


def judge_domain(da: DomainAttribution, kb: Any, policies: list[Policy], as_of: Any = None,
                 with_seal: bool = True, cache: dict | None = None) -> list[Dependency]:
    """All dependencies of a domain, each judged under every policy.

    ``cache`` (a dict the caller keeps for one date and one set of policies)
    reuses the verdicts of the same provider across domains: the verdict of
    an attributed service depends only on the provider and company."""
    org = da.organisation or (da.organisations[0] if da.organisations else None)
    out: list[Dependency] = []
    cfg = policies[0].config if policies else load_policies()
    day = as_date(as_of)
    for cat, s, primary in dependencies(da):
        key = (cat, s.status, s.provider, s.company, s.provider_name, org if s.status == "self" else None,
               s.basis, (s.network or {}).get("country"),
               frozenset((e.rtype or "").upper() for e in s.evidence))
        hit = cache.get(key) if cache is not None else None
        if hit is None:
            f = None
            if s.status in ("attributed", "self") and (s.provider or s.status == "self"):
                f = facts(s, kb, day, org, cfg.organisation_country, cfg.location_table)
            vs = {p.id: judge(s, kb, p, day, org, _facts=f) for p in policies}
            sl = seal(s, kb, day, cfg, org, _facts=f) if (with_seal and f is not None) else None
            hit = (vs, sl, f.chain if f else None, f.joint if f else None)
            if cache is not None:
                cache[key] = hit
        out.append(Dependency(cat, s, primary, hit[0], hit[1], hit[2], hit[3]))
    return out


def organisations_of(da: DomainAttribution) -> list[str]:
    """The organisations of a domain's input row (each once, in input order)."""
    if da.organisations:
        return list(dict.fromkeys(da.organisations))
    return [da.organisation] if da.organisation else []


def sectors_of(da: DomainAttribution) -> list[str]:
    """The sectors of a domain's input row (each once, in input order)."""
    if da.sectors:
        return list(dict.fromkeys(da.sectors))
    return [da.sector] if da.sector else []


def combine(verdicts: Iterable[str], measurement_error: bool = False, nxdomain: bool = False) -> str:
    """Domain/organisation verdict from dependency (or domain) verdicts."""
    vs = set(verdicts)
    if nxdomain:
        return NXDOMAIN
    if NOT_SOVEREIGN in vs:
        return NOT_SOVEREIGN
    if measurement_error or ERROR in vs:
        return ERROR
    if UNKNOWN in vs:
        return UNKNOWN
    if SOVEREIGN in vs:
        return SOVEREIGN
    return NONE


@dataclass(slots=True)
class DomainResult:
    da: DomainAttribution
    deps: list[Dependency]
    verdict: dict[str, str]  # policy id -> domain verdict
    explanations: list[Explanation] = field(default_factory=list)
    hosts: list["HostResult"] = field(default_factory=list)  # the input's extra hosts, judged

    @property
    def domain(self) -> str:
        return self.da.domain

    @property
    def organisations(self) -> list[str]:
        return organisations_of(self.da)

    @property
    def sectors(self) -> list[str]:
        return sectors_of(self.da)

    @property
    def measurement_error(self) -> bool:
        return self.da.status == "error" or bool(self.da.errors)

    def deps_in(self, cats: Iterable[str]) -> list[Dependency]:
        cs = set(cats)
        return [d for d in self.deps if d.category in cs]

    def category_verdict(self, pid: str, cats: Iterable[str]) -> str:
        """Verdict restricted to some categories (``none`` = no such service)."""
        cats = list(cats)
        if self.da.status == "nxdomain":
            return NXDOMAIN
        deps = self.deps_in(cats)
        vs = [d.verdicts[pid].verdict for d in deps if d.verdicts.get(pid)]
        # a domain-level failure (apex SOA/NS) leaves every category unmeasured
        return combine(vs, measurement_error=self.da.status == "error")

    def non_sovereign(self, pid: str) -> list[Dependency]:
        return [d for d in self.deps if d.verdicts.get(pid) and d.verdicts[pid].verdict == NOT_SOVEREIGN]


def _deciding_categories(kb: Any) -> dict[str, frozenset[str]]:
    """purpose -> the categories whose answer it decides (``deciding`` in the
    knowledge base's rules.yaml; saas and the input's hosts included)."""
    rules = getattr(kb, "rules", None)
    if rules is None:
        return {}
    out: dict[str, set[str]] = {}
    named = [*getattr(rules, "categories", {}).items(), ("saas", getattr(rules, "saas", None)),
             (HOST_CATEGORY, getattr(rules, "hosts", None))]
    for cat, rule in named:
        for purpose in (*(getattr(rule, "deciding", None) or ()), *(getattr(rule, "ip_purposes", None) or ())):
            out.setdefault(purpose, set()).add(cat)
    return {k: frozenset(v) for k, v in out.items()}


def _error_counts(p: Policy, e: dict, decides: dict[str, frozenset[str]]) -> bool:
    """Whether a failed question leaves the domain unmeasured under ``p``:
    not when it is of a record type the definition leaves out (nos-records:
    TXT, the realm look-up), nor when it decides only categories the
    definition does not look at (nos-mx: a DKIM or realm failure). A failure
    of a question that decides no category (an MX host's address, an SPF
    include) always counts."""
    if p.leaves_out(e.get("qtype"), e.get("purpose")):
        return False
    if p.categories is not None:
        cats = decides.get(str(e.get("purpose") or ""))
        if cats and not (cats & set(p.categories)):
            return False
    return True


def counted_errors(da: DomainAttribution, p: Policy, decides: dict[str, frozenset[str]]) -> list[dict]:
    """The domain's failed questions that leave it unmeasured under ``p`` (``decides``:
    :func:`deciding_categories` of the knowledge base)."""
    if p.left_out_records or p.left_out_purposes or p.categories is not None:
        return [e for e in da.errors if _error_counts(p, e, decides)]
    return list(da.errors)


deciding_categories = _deciding_categories


def judge_results(attributions: Iterable[DomainAttribution], kb: Any, policies: list[Policy],
                  as_of: Any = None, explanations: list[Explanation] | None = None) -> list[DomainResult]:
    out = []
    explanations = explanations or []
    cache: dict = {}
    decides = _deciding_categories(kb)
    for da in attributions:
        deps = judge_domain(da, kb, policies, as_of, cache=cache)
        verdict = {}
        for p in policies:
            vs = [d.verdicts[p.id].verdict for d in deps if d.verdicts.get(p.id)]
            errs = counted_errors(da, p, decides)
            verdict[p.id] = combine(vs, measurement_error=da.status == "error" or bool(errs),
                                    nxdomain=da.status == "nxdomain")
        ex = [e for e in explanations if e.applies(da)]
        res = DomainResult(da, deps, verdict, ex)
        res.hosts = judge_hosts(res, kb, policies, as_of, cache)
        out.append(res)
    out.sort(key=lambda r: r.domain)
    return out



# ---------------------------------------------------------------------------
# extra hosts of the input (e.g. a hospital's patient portal)
# ---------------------------------------------------------------------------

HOST_CATEGORY = "host"  # Service.category of an extra host (attribute engine)
HOST_ABSENT = NXDOMAIN  # host verdict key when the name has no address (excluded, counted)


def looks_at_hosts(policy: Policy) -> bool:
    """Whether a definition judges extra hosts (a ``categories:`` list without
    ``host`` limits it to other dependencies)."""
    return policy.categories is None or HOST_CATEGORY in policy.categories


@dataclass(slots=True)
class HostResult:
    """One extra host of the input: who serves it and its verdict per policy."""

    host: str
    result: DomainResult = field(repr=False, compare=False)  # the domain (input row) it was listed with
    service: Service
    deps: list[Dependency]  # the primary provider first, then the further ones (Service.also)
    verdict: dict[str, str]  # policy id -> not_sovereign|sovereign|none|unknown|error|nxdomain (no address)

    @property
    def domain(self) -> str:
        return self.result.domain

    @property
    def organisations(self) -> list[str]:
        return self.result.organisations

    @property
    def sectors(self) -> list[str]:
        return self.result.sectors

    @property
    def primary(self) -> Dependency | None:
        return self.deps[0] if self.deps else None

    @property
    def present(self) -> bool:
        """The name resolves (or could not be measured): it is in the denominators."""
        return self.service.status != "absent"

    @property
    def identified(self) -> bool:
        s = self.service
        return s.status == "self" or (s.status == "attributed" and bool(s.provider))

    @property
    def provider_key(self) -> str:
        """Provider id, ``self``, ``?`` (not recognised), ``error`` or ``absent``
        (:func:`provider_key`; a server on a provider's network counts as the provider)."""
        return provider_key(self.service, infrastructure_apart=False)

    @property
    def chain(self):
        return self.primary.chain if self.primary else None


def judge_hosts(res: DomainResult, kb: Any, policies: list[Policy], as_of: Any = None,
                cache: dict | None = None) -> list[HostResult]:
    """Judge every extra host of a domain with the same ``judge()`` as the
    categories (through :func:`stekker.judge.judge_domain`, on a record that
    holds only the host).  The host's verdict combines its providers like a
    category: not sovereign if any is; an error or unknown is excluded and
    counted, never sovereign; a name without an address is ``nxdomain``."""
    da = res.da
    out = []
    for name, s in sorted((da.hosts or {}).items()):
        if s.status == "absent":
            deps: list[Dependency] = []
        else:
            one = DomainAttribution(domain=da.domain, organisation=da.organisation,
                                    organisations=da.organisations, sector=da.sector, sectors=da.sectors,
                                    status="ok", services={HOST_CATEGORY: s}, saas=[],
                                    kb_version=da.kb_version, as_of=da.as_of)
            deps = judge_domain(one, kb, policies, as_of, cache=cache)
        verdict = {}
        for p in policies:
            if s.status == "absent":
                verdict[p.id] = HOST_ABSENT
            else:
                verdict[p.id] = combine(d.verdicts[p.id].verdict for d in deps if d.verdicts.get(p.id))
        out.append(HostResult(name, res, s, deps, verdict))
    return out
