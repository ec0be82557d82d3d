"""The knowledge base's query API: :class:`KnowledgeBase` (providers,
companies, ownership over time, ASNs, fingerprint matching) and
:class:`Match`.  Loading and validating the YAML is :mod:`stekker.kb.loading`."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from stekker.countries import common_country
from stekker.dates import as_date
from stekker.kb.schema import (
    CompaniesFile,
    Company,
    Event,
    Fingerprint,
    Holder,
    Provider,
    ProvidersFile,
    RulesFile,
)


class KBError(ValueError):
    """The knowledge base does not load or does not validate."""


@dataclass(frozen=True, slots=True)
class Match:
    """One fingerprint that matched an observed value."""

    provider: str
    on: str
    roles: tuple[str, ...]
    confidence: float
    rule: str  # stable rule id: "<provider>.<on>:<suffix|regex|equals>:<pattern>"
    value: str  # the matched value
    specificity: int  # longer suffix = more specific
    tenant: str | None = None
    fingerprint: Fingerprint | None = None


class KnowledgeBase:
    """Providers, companies and rules, validated, with the query API."""

    def __init__(
        self,
        providers: ProvidersFile,
        companies: CompaniesFile,
        rules: RulesFile,
        version: str,
        paths: dict[str, Path] | None = None,
    ) -> None:
        self._pfile = providers
        self._cfile = companies
        self.rules = rules
        self.version = version
        self.paths = paths or {}
        self.providers: dict[str, Provider] = {}
        self.companies: dict[str, Company] = {}
        self._errors: list[str] = []
        # control chains per (company, day): the data is frozen after loading, and every attributed
        # service asks its chain and its jurisdiction (a scan of 16,500 domains asks about 200,000 times)
        self._chains: dict[tuple[str, _dt.date], tuple[str, ...]] = {}
        self._joints: dict[tuple[str, _dt.date], tuple[tuple[str, ...], ...]] = {}
        for p in providers.providers:
            if p.id in self.providers:
                self._errors.append(f"duplicate provider id {p.id!r}")
            self.providers[p.id] = p
        for c in companies.companies:
            if c.id in self.companies:
                self._errors.append(f"duplicate company id {c.id!r}")
            self.companies[c.id] = c
        self._asn: dict[int, str] = {}
        self._asn_verified: dict[int, bool] = {}
        for p in providers.providers:
            for a in [*p.asns, *p.asns_unverified]:
                self._asn_verified.setdefault(a, a in p.asns)
                if a in self._asn and self._asn[a] != p.id:
                    self._errors.append(f"ASN {a} claimed by {self._asn[a]!r} and {p.id!r}")
                self._asn.setdefault(a, p.id)
        self._match_cache: dict[tuple[str, str], list[Match]] = {}
        # fingerprint index: on -> (suffix map, regex list, equals map)
        self._suffix: dict[str, dict[str, list[tuple[Provider, Fingerprint]]]] = {}
        self._regex: dict[str, list[tuple[Provider, Fingerprint, re.Pattern]]] = {}
        self._equals: dict[str, dict[str, list[tuple[Provider, Fingerprint]]]] = {}
        for p in providers.providers:
            for fp in p.fingerprints:
                if fp.suffix is not None:
                    self._suffix.setdefault(fp.on, {}).setdefault(fp.suffix, []).append((p, fp))
                elif fp.equals is not None:
                    self._equals.setdefault(fp.on, {}).setdefault(fp.equals, []).append((p, fp))
                else:
                    self._regex.setdefault(fp.on, []).append((p, fp, re.compile(fp.regex, re.I)))

    # -- validation ------------------------------------------------------------
    def validate(self) -> list[str]:
        """All cross-reference problems (empty list = valid)."""
        errs = list(self._errors)
        missing_parent = False
        for p in self.providers.values():
            if p.company not in self.companies:
                errs.append(f"provider {p.id!r}: company {p.company!r} not in companies.yaml")
        for c in self.companies.values():
            for o in c.ownership:
                if o.parent is not None and o.parent not in self.companies:
                    missing_parent = True
                    errs.append(f"company {c.id!r}: ownership parent {o.parent!r} not in companies.yaml")
                if o.parent == c.id:
                    errs.append(f"company {c.id!r}: owns itself")
                if o.start_unknown and o.since is None:
                    errs.append(f"company {c.id!r}: ownership by {o.parent!r} has start_unknown but no since "
                                f"(the first day a source shows it)")
                if o.since and o.until and o.until <= o.since:
                    errs.append(f"company {c.id!r}: ownership period until {o.until} <= since {o.since}")
            errs.extend(self._joint_problems(c))
            errs.extend(self._overlaps(c))
        if not missing_parent:  # a cycle walk needs every parent (other errors do not hide cycles)
            errs.extend(self._cycles())
        return errs

    @staticmethod
    def _overlap(a, b) -> bool:
        """Two ownership periods share a day (an open end runs for ever)."""
        lo, hi = _dt.date.min, _dt.date.max
        return (a.since or lo) < (b.until or hi) and (b.since or lo) < (a.until or hi)

    @classmethod
    def _overlaps(cls, c: Company) -> list[str]:
        """Two sole parents on the same date: which one controls? (controller()
        would take the larger share silently)."""
        sole = [o for o in c.ownership if o.parent and not o.joint]
        return [f"company {c.id!r}: ownership periods of {a.parent!r} and {b.parent!r} overlap"
                for i, a in enumerate(sole) for b in sole[i + 1:] if cls._overlap(a, b)]

    @classmethod
    def _joint_problems(cls, c: Company) -> list[str]:
        """Joint control is two or more joint parents on every date it covers,
        and no sole parent beside them (which of the two would control?)."""
        joint = [o for o in c.ownership if o.joint]
        if not joint:
            return []
        errs = []
        for d in sorted({o.since or _dt.date.min for o in joint} | {o.until for o in joint if o.until}):
            if len(set(cls._joint_parents(c, d))) == 1:  # none: joint control has ended
                errs.append(f"company {c.id!r}: joint control needs at least two joint parents (on {d})")
        for o in c.ownership:
            if o.joint or o.parent is None:
                continue
            for j in joint:
                if cls._overlap(o, j):
                    errs.append(f"company {c.id!r}: parent {o.parent!r} and joint parent {j.parent!r} "
                                f"on the same dates (a sole period ends before joint control starts)")
        return errs

    @staticmethod
    def _joint_parents(c: Company | None, d: _dt.date) -> list[str]:
        """The parents of ``c``'s joint periods that cover a date."""
        return [o.parent for o in c.ownership if o.joint and o.parent and o.covers(d)] if c else []

    def _parents(self, cid: str, d: _dt.date) -> list[str]:
        """The controlling parent, or every joint parent, of a company on a date."""
        cur = self.controller(cid, d)
        return [cur] if cur is not None else self._joint_parents(self.companies.get(cid), d)

    def _cycles(self) -> list[str]:
        """Ownership cycles on any date where a period starts or ends (through
        joint parents too)."""
        dates: set[_dt.date] = {_dt.date(1900, 1, 1)}
        for c in self.companies.values():
            for o in c.ownership:
                for d in (o.since, o.until):
                    if d is not None:
                        dates.add(d)
        errs: list[str] = []
        for d in sorted(dates):
            for cid in self.companies:
                stack = [[cid]]  # paths upwards; a joint company branches into one per joint parent
                while stack:
                    path = stack.pop()
                    for nxt in self._parents(path[-1], d):
                        if nxt in path:
                            cyc = " -> ".join(path[path.index(nxt):] + [nxt])
                            msg = f"ownership cycle on {d}: {cyc}"
                            if msg not in errs:
                                errs.append(msg)
                        else:
                            stack.append(path + [nxt])
        return errs

    # -- lookups ---------------------------------------------------------------
    def provider(self, pid: str | None) -> Provider | None:
        return self.providers.get(pid) if pid else None

    def company(self, cid: str | None) -> Company | None:
        return self.companies.get(cid) if cid else None

    def controller(self, company_id: str, as_of: _dt.date | str | None = None) -> str | None:
        """The direct controlling parent of a company on a date, or None.

        Among the ownership periods covering the date with a parent, the one
        with the largest share wins (an unknown share counts as control)."""
        c = self.companies.get(company_id)
        if c is None:
            return None
        d = as_date(as_of)
        best: tuple[float, str] | None = None
        for o in c.ownership:
            if o.parent is None or not o.covers(d):
                continue
            if o.joint:  # controlled together with others: no single controller (joint_controllers)
                return None
            share = 1.0 if o.share is None else o.share
            if best is None or share > best[0]:
                best = (share, o.parent)
        return best[1] if best else None

    def chain(self, company_id: str, as_of: _dt.date | str | None = None) -> list[str]:
        """[company, parent, grandparent, ..., ultimate parent] on a date."""
        d = as_date(as_of)
        hit = self._chains.get((company_id, d))
        if hit is None:
            out = [company_id]
            cur = self.controller(company_id, d)
            while cur is not None and cur not in out:
                out.append(cur)
                cur = self.controller(cur, d)
            if len(self._chains) > 100_000:  # many dates asked (a long-running server): start afresh
                self._chains.clear()
            hit = self._chains[(company_id, d)] = tuple(out)
        return list(hit)

    def ultimate_parent(self, company_id: str, as_of: _dt.date | str | None = None) -> str:
        return self.chain(company_id, as_of)[-1]

    def joint_controllers(self, company_id: str, as_of: _dt.date | str | None = None) -> list[list[str]]:
        """The control chains of the parents that control the top of
        ``company_id``'s chain together on a date (ownership periods with
        ``joint: true``), one chain per parent; [] when one company controls it."""
        d = as_date(as_of)
        hit = self._joints.get((company_id, d))
        if hit is None:
            paths = self._joint_paths(self.ultimate_parent(company_id, d), d, {company_id})
            if len(self._joints) > 100_000:
                self._joints.clear()
            hit = self._joints[(company_id, d)] = tuple(tuple(p) for p in paths)
        return [list(p) for p in hit]

    def _joint_paths(self, top_id: str, d: _dt.date, seen: set[str]) -> list[list[str]]:
        """One path per company at the top of ``top_id``'s joint control: a
        joint parent's own chain, continued through a joint parent that is
        itself jointly controlled (a venture of a venture)."""
        out: list[list[str]] = []
        for parent in self._joint_parents(self.companies.get(top_id), d):
            ch = self.chain(parent, d)
            if seen & set(ch):  # a cycle (kb.validate reports it): stop here
                out.append(ch)
                continue
            sub = self._joint_paths(ch[-1], d, seen | {top_id, *ch})
            out.extend([ch + p for p in sub] if sub else [ch])
        return out

    def jurisdiction(self, company_id: str, as_of: _dt.date | str | None = None) -> str | None:
        """ISO-2 country of the ultimate parent's legal home on a date; for a
        company several parents control together, their common country, or
        None when their homes differ (no single jurisdiction)."""
        joint = self.joint_controllers(company_id, as_of)
        if joint:
            return common_country(getattr(self.companies.get(ch[-1]), "country", None) for ch in joint)
        up = self.companies.get(self.ultimate_parent(company_id, as_of))
        return up.country if up else None

    def holders(self, company_id: str, as_of: _dt.date | str | None = None) -> list[Holder]:
        """Recorded shareholders of a company; with ``as_of`` only the
        entries dated on or before that day (undated ones are kept)."""
        c = self.companies.get(company_id)
        if c is None:
            return []
        if as_of is None:
            return list(c.holders)
        d = as_date(as_of)
        return [h for h in c.holders if h.as_of is None or h.as_of <= d]

    def events(self, company_id: str) -> list[Event]:
        c = self.companies.get(company_id)
        return sorted(c.events, key=lambda e: e.date) if c else []

    def asn_verified(self, asn: int | str | None) -> bool:
        """False when the ASN -> provider fact is a lab value not yet sourced."""
        try:
            return self._asn_verified.get(int(str(asn).upper().removeprefix("AS")), False)
        except ValueError:
            return False

    def provider_for_asn(self, asn: int | str | None) -> str | None:
        if asn is None:
            return None
        try:
            return self._asn.get(int(str(asn).upper().removeprefix("AS")))
        except ValueError:
            return None

    # -- fingerprint matching --------------------------------------------------
    def match_name(self, name: str, on: str | Iterable[str] = "cname") -> list[Match]:
        """Fingerprints of kind ``on`` matching a DNS name, best first.

        Suffixes match on label boundaries; per provider only the longest
        matching suffix is kept. Regex and equals fingerprints are tried too."""
        name = name.lower().rstrip(".")
        if isinstance(on, str):
            key = (name, on)
            hit = self._match_cache.get(key)
            if hit is None:
                hit = self._match_name(name, [on])
                if len(self._match_cache) >= 200_000:
                    self._match_cache.clear()
                self._match_cache[key] = hit
            return list(hit)
        return self._match_name(name, list(on))

    def _match_name(self, name: str, ons: list[str]) -> list[Match]:
        out: list[Match] = []
        for o in ons:
            per_provider: dict[str, Match] = {}
            smap = self._suffix.get(o, {})
            labels = name.split(".")
            for i in range(len(labels)):
                suf = ".".join(labels[i:])
                for p, fp in smap.get(suf, ()):
                    m = Match(p.id, o, tuple(fp.role), fp.confidence, f"{p.id}.{o}:{fp.matcher}",
                              name, len(suf), None, fp)
                    prev = per_provider.get(p.id)
                    if prev is None or m.specificity > prev.specificity:
                        per_provider[p.id] = m
            out.extend(per_provider.values())
            for p, fp in self._equals.get(o, {}).get(name, ()):
                out.append(Match(p.id, o, tuple(fp.role), fp.confidence, f"{p.id}.{o}:{fp.matcher}",
                                 name, 1000, None, fp))
            for p, fp, rx in self._regex.get(o, ()):
                mm = rx.search(name)
                if mm:
                    tenant = mm.groupdict().get("tenant")
                    out.append(Match(p.id, o, tuple(fp.role), fp.confidence, f"{p.id}.{o}:{fp.matcher}",
                                     name, len(mm.group(0)), tenant, fp))
        out.sort(key=lambda m: (-m.specificity, -m.confidence, m.provider))
        return out

    def match_txt(self, value: str, on: str = "txt") -> list[Match]:
        """Fingerprints matching one TXT string (verification tokens)."""
        out: list[Match] = []
        low = value.strip()
        for p, fp in self._equals.get(on, {}).get(low.lower(), ()):
            out.append(Match(p.id, on, tuple(fp.role), fp.confidence, f"{p.id}.{on}:{fp.matcher}",
                             value, 1000, None, fp))
        for p, fp, rx in self._regex.get(on, ()):
            if rx.search(low):
                out.append(Match(p.id, on, tuple(fp.role), fp.confidence, f"{p.id}.{on}:{fp.matcher}",
                                 value, len(fp.regex or ""), None, fp))
        out.sort(key=lambda m: (-m.specificity, -m.confidence, m.provider))
        return out

    def match(self, on: str, value: str) -> list[Match]:
        """Dispatch: names for mx/ns/cname/srv/dkim/spf/dmarc/selector, strings for txt."""
        if on == "txt":
            return self.match_txt(value)
        return self.match_name(value, on)
