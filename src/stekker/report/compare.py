"""Change over time: compare the judged results of two scans.

Changes of the domain list itself (domains added to or removed from the
input) are kept apart from real changes of dependence.  A category that was
not measured in one of the scans (DNS error, unknown provider) is listed as
"not comparable", never as a move.  The input's extra hosts (category
``host``, the host name in ``Change.host``) are compared the same way when
both scans list them; a host listed in only one scan is a list change and
not reported.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from stekker.attribute.model import CATEGORIES
from stekker.judge import HOST_CATEGORY, DomainResult, HostResult

from .aggregate import DECIDED, Tally, controlling_parents

COMPARE_CATEGORIES: tuple[str, ...] = CATEGORIES + ("saas",)
MULTI = ("mail_outbound", "saas")


@dataclass(slots=True)
class Change:
    kind: str  # moved | new | vanished | not_comparable | existence (the domain stopped or started to exist)
    domain: str
    organisations: list[str]
    category: str
    old: str | None  # provider key / state before
    new: str | None
    old_name: str | None = None
    new_name: str | None = None
    host: str | None = None  # the extra host, for category "host"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "domain": self.domain, "organisations": self.organisations,
                "category": self.category, "old": self.old, "new": self.new,
                "old_name": self.old_name, "new_name": self.new_name, "host": self.host}


@dataclass(slots=True)
class VerdictChange:
    domain: str
    organisations: list[str]
    policy: str
    old: str
    new: str


@dataclass(slots=True)
class ShareShift:
    """One definition's headline share in both scans: over every domain each
    scan measured, and over the domains in both scans only.  A change of the
    list moves the first pair; only the second pair is a change of
    dependence (explore-e H3: Microsoft "fell" from 49% to 41% because 40
    dependent domains left the list; on the domains in both, nothing moved)."""

    policy: str
    old_all: Tally
    new_all: Tally
    old_common: Tally
    new_common: Tally

    def to_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "old_all": self.old_all.to_dict(), "new_all": self.new_all.to_dict(),
                "old_common": self.old_common.to_dict(), "new_common": self.new_common.to_dict()}


@dataclass(slots=True)
class Part:
    """``count`` of ``of`` domains (a company's share of the measured domains)."""

    count: int = 0
    of: int = 0

    @property
    def share(self) -> float | None:
        return self.count / self.of if self.of else None

    def fraction(self) -> tuple[int, int]:
        return self.count, self.of

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "of": self.of, "share": None if self.share is None else round(self.share, 6)}


@dataclass(slots=True)
class CompanyShift:
    """A parent company's share of the measured domains (those with no DNS error) in both scans,
    over all of each scan's domains and over the domains in both: the report's "Microsoft 49%" -
    the figure a changed list moves most easily (explore-e H3)."""

    company: str
    name: str
    old_all: Part
    new_all: Part
    old_common: Part
    new_common: Part

    def to_dict(self) -> dict[str, Any]:
        return {"company": self.company, "name": self.name, "old_all": self.old_all.to_dict(),
                "new_all": self.new_all.to_dict(), "old_common": self.old_common.to_dict(),
                "new_common": self.new_common.to_dict()}


COMPARE_COMPANIES = 5  # the companies of the largest shares in either scan that a comparison shows


@dataclass(slots=True)
class Comparison:
    old_label: str
    new_label: str
    added_domains: list[str]
    removed_domains: list[str]
    changes: list[Change]
    verdict_changes: list[VerdictChange]
    common: int
    shares: list[ShareShift] = field(default_factory=list)
    companies: list[CompanyShift] = field(default_factory=list)
    # domains of a scan's input that the scan did not measure (it did not finish), measured in the
    # other scan: neither added to nor removed from the list (field trial F3: an interrupted newer
    # scan's 479 unmeasured domains read "removed from the list")
    unmeasured_old: list[str] = field(default_factory=list)  # in NEW, in OLD's input, not measured in OLD
    unmeasured_new: list[str] = field(default_factory=list)  # in OLD, in NEW's input, not measured in NEW

    @property
    def verdict_flips(self) -> list[VerdictChange]:
        """Verdict changes between two decided verdicts (sovereign, not
        sovereign): a change of dependence under the definition."""
        return [v for v in self.verdict_changes if v.old in DECIDED and v.new in DECIDED]

    @property
    def verdicts_undecided(self) -> list[VerdictChange]:
        """Verdict changes to or from unknown, a DNS error or a domain that
        does not exist: what can be said changed, not the dependence."""
        return [v for v in self.verdict_changes if not (v.old in DECIDED and v.new in DECIDED)]

    def of_kind(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def moved(self) -> list[Change]:
        return self.of_kind("moved")

    @property
    def new(self) -> list[Change]:
        return self.of_kind("new")

    @property
    def vanished(self) -> list[Change]:
        return self.of_kind("vanished")

    @property
    def not_comparable(self) -> list[Change]:
        return self.of_kind("not_comparable")

    @property
    def existence(self) -> list[Change]:
        return self.of_kind("existence")

    def organisations_moved(self) -> dict[str, list[Change]]:
        out: dict[str, list[Change]] = {}
        for c in self.changes:
            if c.kind == "not_comparable":
                continue
            for o in c.organisations or ["-"]:
                out.setdefault(o, []).append(c)
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old_label, "new": self.new_label, "common_domains": self.common,
            "added_domains": self.added_domains, "removed_domains": self.removed_domains,
            "changes": [c.to_dict() for c in self.changes],
            "verdict_changes": [vars_(v) for v in self.verdict_changes],
            "shares": [x.to_dict() for x in self.shares],
            "companies": [x.to_dict() for x in self.companies],
            "unmeasured_old": self.unmeasured_old, "unmeasured_new": self.unmeasured_new,
        }


def vars_(v: VerdictChange) -> dict[str, Any]:
    return {"domain": v.domain, "organisations": v.organisations, "policy": v.policy,
            "old": v.old, "new": v.new}


def _state(r: DomainResult, cat: str) -> tuple[str, set[str], dict[str, str]]:
    """("identified"|"absent"|"error"|"unknown", provider keys, key -> name)."""
    if r.da.status == "nxdomain":
        return "absent", set(), {}
    deps = [d for d in r.deps if d.category == cat]
    if cat not in MULTI:
        deps = [d for d in deps if d.primary]
    ident = [d for d in deps if d.service.status in ("attributed", "self")
             and (d.service.provider or d.service.status == "self")]
    names = {d.provider_key: (d.service.provider_name or d.provider_key) for d in ident}
    if ident:
        errorish = any(d.service.status == "error" for d in deps)
        return ("identified" if not (cat in MULTI and errorish) else "partial"), set(names), names
    if r.da.status == "error" or any(d.service.status == "error" for d in deps):
        return "error", set(), {}
    if any(d.service.status == "unknown" or d.service.status == "attributed" for d in deps):
        return "unknown", set(), {}
    return "absent", set(), {}


def _host_state(h: HostResult) -> tuple[str, str | None, str | None]:
    """("identified"|"absent"|"error"|"unknown", provider key, name)."""
    if h.identified:
        return "identified", h.provider_key, h.service.provider_name or h.provider_key
    st = h.service.status
    return (st if st in ("absent", "error") else "unknown"), None, None


_ABSENT: tuple[str, set[str], dict[str, str]] = ("absent", set(), {})


@dataclass(slots=True)
class DomainState:
    """What a comparison reads of one judged domain: its status, verdicts and
    the state of each category and extra host.  Small (a judged scan's states
    are sent from the process that judged it), and the same for both scans."""

    domain: str
    organisations: list[str]
    status: str
    verdict: dict[str, str]
    states: dict[str, tuple[str, set[str], dict[str, str]]]  # categories that are not absent
    hosts: dict[str, tuple[str, str | None, str | None]]
    parents: dict[str, str] = field(default_factory=dict)  # companies at the top (id -> name); measured domains

    def state(self, cat: str) -> tuple[str, set[str], dict[str, str]]:
        return self.states.get(cat, _ABSENT)


def domain_state(r: "DomainResult | DomainState") -> DomainState:
    """The comparison's view of a judged domain."""
    if isinstance(r, DomainState):
        return r
    states = {}
    if r.da.status != "nxdomain":
        for cat in COMPARE_CATEGORIES:
            st = _state(r, cat)
            if st[0] != "absent":
                states[cat] = st
    parents = {k: v.name for k, v in controlling_parents(r).items()} if r.da.status == "ok" else {}
    return DomainState(r.domain, list(r.organisations), r.da.status, dict(r.verdict), states,
                       {h.host: _host_state(h) for h in r.hosts}, parents)


def _compare_hosts(ro: DomainState, rn: DomainState, orgs: list[str]) -> list[Change]:
    out = []
    for name in sorted(set(ro.hosts) & set(rn.hosts)):
        so, ko, no = ro.hosts[name]
        sn, kn, nn = rn.hosts[name]
        if (so, ko) == (sn, kn) or so == sn == "absent":
            continue
        if {so, sn} & {"error", "unknown"}:
            out.append(Change("not_comparable", rn.domain, orgs, HOST_CATEGORY, ko or so, kn or sn, no, nn, host=name))
        elif so == "absent":
            out.append(Change("new", rn.domain, orgs, HOST_CATEGORY, None, kn, None, nn, host=name))
        elif sn == "absent":
            out.append(Change("vanished", rn.domain, orgs, HOST_CATEGORY, ko, None, no, None, host=name))
        else:
            out.append(Change("moved", rn.domain, orgs, HOST_CATEGORY, ko, kn, no, nn, host=name))
    return out


def compare(old: "list[DomainResult] | list[DomainState]", new: "list[DomainResult] | list[DomainState]",
            old_label: str = "old", new_label: str = "new", old_input: "Iterable[str] | None" = None,
            new_input: "Iterable[str] | None" = None) -> Comparison:
    """The changes between two judged scans (their results, or their
    :func:`domain_state`).  ``old_input`` / ``new_input``: the domains of a
    scan's input (given for a scan that did not finish): a domain of its input
    that it did not measure is "not measured" in it, neither added to nor
    removed from the list."""
    o = {r.domain: domain_state(r) for r in old}
    n = {r.domain: domain_state(r) for r in new}
    in_old, in_new = set(old_input or ()), set(new_input or ())
    only_new, only_old = set(n) - set(o), set(o) - set(n)
    added, unmeasured_old = sorted(only_new - in_old), sorted(only_new & in_old)
    removed, unmeasured_new = sorted(only_old - in_new), sorted(only_old & in_new)
    changes: list[Change] = []
    vchanges: list[VerdictChange] = []
    common = sorted(set(o) & set(n))
    for dom in common:
        ro, rn = o[dom], n[dom]
        orgs = list(dict.fromkeys(rn.organisations + ro.organisations))
        if {"error", "nxdomain"} & {ro.status, rn.status} and ro.status != rn.status:
            # the domain as a whole was not measured in one scan, or does not exist in one of them
            # (a lapsed delegation, not a move away from each provider): one entry
            kind = "not_comparable" if "error" in (ro.status, rn.status) else "existence"
            changes.append(Change(kind, dom, orgs, "domain", ro.status, rn.status))
            for pid, v in rn.verdict.items():
                if ro.verdict.get(pid) not in (None, v):
                    vchanges.append(VerdictChange(dom, orgs, pid, ro.verdict[pid], v))
            continue
        for cat in COMPARE_CATEGORIES:
            so, ko, no = ro.state(cat)
            sn, kn, nn = rn.state(cat)
            if so == sn == "absent":
                continue
            if {so, sn} & {"error", "unknown"} or (cat in MULTI and {so, sn} & {"partial"} and ko != kn):
                if (so, ko) != (sn, kn):
                    changes.append(Change("not_comparable", dom, orgs, cat,
                                          ",".join(sorted(ko)) or so, ",".join(sorted(kn)) or sn,
                                          ", ".join(no[k] for k in sorted(ko)) or None,
                                          ", ".join(nn[k] for k in sorted(kn)) or None))
                continue
            if cat in MULTI:
                for k in sorted(kn - ko):
                    changes.append(Change("new", dom, orgs, cat, None, k, None, nn.get(k)))
                for k in sorted(ko - kn):
                    changes.append(Change("vanished", dom, orgs, cat, k, None, no.get(k), None))
                continue
            if so == "absent" and sn == "identified":
                k = next(iter(kn))
                changes.append(Change("new", dom, orgs, cat, None, k, None, nn.get(k)))
            elif so == "identified" and sn == "absent":
                k = next(iter(ko))
                changes.append(Change("vanished", dom, orgs, cat, k, None, no.get(k), None))
            elif ko != kn:
                a, b = next(iter(ko)), next(iter(kn))
                changes.append(Change("moved", dom, orgs, cat, a, b, no.get(a), nn.get(b)))
        changes.extend(_compare_hosts(ro, rn, orgs))
        for pid, v in rn.verdict.items():
            vo = ro.verdict.get(pid)
            if vo is not None and vo != v:
                vchanges.append(VerdictChange(dom, orgs, pid, vo, v))
    return Comparison(old_label, new_label, added, removed, changes, vchanges, len(common),
                      _shares(o, n, set(common)), _companies(o, n, set(common)), unmeasured_old, unmeasured_new)


def _shares(o: dict[str, Any], n: dict[str, Any], common: set[str]) -> list[ShareShift]:
    """Each definition's tallies in both scans, over all their domains and over the domains in both
    whose verdict is decided in both: a domain decided in one scan and not the other (a DNS error, a
    name that stopped existing) would move one side's share alone (review i18n-2 1.1)."""
    pids = list(dict.fromkeys(p for r in n.values() for p in r.verdict))
    out = []
    for pid in pids:
        tallies = [Tally(), Tally(), Tally(), Tally()]
        for side, rs in ((0, o), (1, n)):
            for dom, r in rs.items():
                v = r.verdict.get(pid)
                if v is None:
                    continue
                tallies[side].add(v)
                if dom in common and o[dom].verdict.get(pid) in DECIDED and n[dom].verdict.get(pid) in DECIDED:
                    tallies[2 + side].add(v)
        out.append(ShareShift(pid, *tallies))
    return out


def _companies(o: dict[str, DomainState], n: dict[str, DomainState], common: set[str]) -> list[CompanyShift]:
    """The parent companies of the largest shares in either scan, with their shares in both scans
    over all measured domains (a domain with a DNS error in a scan is in neither count of that scan,
    as in the report) and over the domains measured in both (the same domains on both sides)."""
    both = {d for d in common if o[d].status == "ok" and n[d].status == "ok"}
    names: dict[str, str] = {}
    counts: list[Counter] = [Counter(), Counter(), Counter(), Counter()]
    bases = [0, 0, len(both), len(both)]
    for side, states in ((0, o), (1, n)):
        for dom, st in states.items():
            if st.status != "ok":
                continue
            bases[side] += 1
            for cid, name in st.parents.items():
                names.setdefault(cid, name)
                counts[side][cid] += 1
                if dom in both:
                    counts[2 + side][cid] += 1
    top = set()
    for side in (0, 1):
        ranked = sorted(counts[side], key=lambda c: (-counts[side][c], names[c]))
        top.update(ranked[:COMPARE_COMPANIES])
    order = sorted(top, key=lambda c: (-counts[1][c], -counts[0][c], names[c]))
    return [CompanyShift(c, names[c], *(Part(counts[i][c], bases[i]) for i in range(4))) for c in order]
