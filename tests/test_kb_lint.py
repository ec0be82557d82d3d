"""Knowledge-base lint (issue 12): every fact has a source and a date, and
the knowledge base names at least 200 providers.

A "fact" here is a provider (its fingerprints and ASNs), a company (its
country), an ownership period, a holder and an event. A source is a URL; its
date is the day it was read (`retrieved`). A source that was not read is
allowed only when it says so (`verified: false`), so that what is unconfirmed
stays visible (docs/KB_SOURCES.md lists it)."""

from __future__ import annotations

import datetime as _dt
import re

import pytest

from stekker import kb as kbmod

URL = re.compile(r"^https?://\S+$")


@pytest.fixture(scope="module")
def kb():
    return kbmod.load()


def _source_problems(where: str, sources) -> list[str]:
    out = []
    if not sources:
        out.append(f"{where}: no source")
    for s in sources:
        if not URL.match(s.url):
            out.append(f"{where}: source is not a URL: {s.url!r}")
        if s.retrieved is None and s.verified:
            out.append(f"{where}: source {s.url} has no retrieved date and is not marked verified: false")
    return out


def test_at_least_200_providers_each_with_a_company(kb):
    assert len(kb.providers) >= 200, len(kb.providers)
    for p in kb.providers.values():
        assert kb.company(p.company) is not None, p.id


def test_every_provider_fact_has_a_dated_source(kb):
    problems = []
    for p in kb.providers.values():
        problems += _source_problems(f"provider {p.id}", p.sources)
        for f in p.fingerprints:
            if f.verified and not (f.source and URL.match(f.source)):
                problems.append(f"provider {p.id}: fingerprint {f.matcher} has no source URL")
            if not f.verified and not f.note:
                problems.append(f"provider {p.id}: unverified fingerprint {f.matcher} without a note")
        if p.asns and not p.sources:
            problems.append(f"provider {p.id}: ASNs without a source")
    assert not problems, "\n".join(problems)


def test_every_company_fact_has_a_dated_source(kb):
    problems = []
    for c in kb.companies.values():
        where = f"company {c.id}"
        problems += _source_problems(where, c.sources)
        if not c.country:
            problems.append(f"{where}: no country")
        for o in c.ownership:
            if not (o.source and URL.match(o.source)):
                problems.append(f"{where}: ownership by {o.parent} has no source URL")
            if o.since is None and not o.note:
                problems.append(f"{where}: ownership by {o.parent} has no date (since) and no note saying why")
        for h in c.holders:
            if not (h.source and URL.match(h.source)):
                problems.append(f"{where}: holder {h.holder} has no source URL")
            if h.as_of is None and not (getattr(h, "note", None) or c.model_extra.get("note")):
                problems.append(f"{where}: holder {h.holder} has no date (as_of) and no note")
        for e in c.events:
            if not isinstance(e.date, _dt.date):
                problems.append(f"{where}: event without a date")
            if not (e.source and URL.match(e.source)):
                problems.append(f"{where}: event {e.kind} {e.date} has no source URL")
    assert not problems, "\n".join(problems)


def test_every_control_chain_ends_in_a_known_country(kb):
    """For every provider, on today's date and on 2020-01-01, each entity of
    its control chain (company -> ... -> ultimate parent) is a company of the
    knowledge base with a country."""
    problems = []
    for day in (_dt.date(2020, 1, 1), _dt.date.today()):
        for p in kb.providers.values():
            for cid in kb.chain(p.company, day):
                c = kb.company(cid)
                if c is None or not c.country:
                    problems.append(f"{day} provider {p.id}: chain entity {cid} unknown or without country")
    assert not problems, "\n".join(problems[:40])


def test_unverified_facts_are_listed_in_kb_sources(kb):
    """docs/KB_SOURCES.md names every company with an unverified ownership
    period (what is not confirmed must be findable by a reader)."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "KB_SOURCES.md").read_text(encoding="utf-8")
    missing = [c.id for c in kb.companies.values()
               if any(not o.verified for o in c.ownership) and f"`{c.id}`" not in doc]
    assert not missing, missing


def test_lint_catches_a_missing_source(tmp_path):
    """The lint itself can fail: a company source without a date and not
    marked unverified is reported."""
    from stekker.kb.schema import Source

    assert _source_problems("x", [Source(url="https://example.org/a")])
    assert not _source_problems("x", [Source(url="https://example.org/a", verified=False)])
    assert not _source_problems("x", [Source(url="https://example.org/a", retrieved="2026-12-05")])
    assert _source_problems("x", [])


# a company note that says its owners were not researched / are from memory (review 6)
UNRESEARCHED = re.compile(
    r"not researched|from memory|unverified owner|no single controlling owner"
    r"|owners?\b[^;:.]*\bnot (?:verified|stated|sourced|found)|shareholders were not found"
    r"|holder changes[^;]*not verified|structure[^;]*not verified|privately held \(unverified\)", re.I)


def _unresearched_problems(companies) -> list[str]:
    """Companies whose note says their owners were not researched but that
    lack ``controller_unknown: true`` (they would pass as their own controller)."""
    out = []
    for c in companies:
        note = (c.model_extra or {}).get("note") or ""
        if UNRESEARCHED.search(note) and not c.controller_unknown:
            out.append(f"company {c.id}: note says owners not researched ({note[:80]!r}) but no controller_unknown")
    return out


def test_unresearched_owners_are_marked_controller_unknown(kb):
    problems = _unresearched_problems(kb.companies.values())
    assert not problems, "\n".join(problems)
    from stekker.kb.schema import Company

    # the lint itself can fail
    bad = Company(id="x", name="X", country="DE", note="ownership not researched (unverified)")
    assert _unresearched_problems([bad])
    assert not _unresearched_problems([Company(id="x", name="X", country="DE", controller_unknown=True,
                                               note="ownership not researched (unverified)")])


def test_an_unresearched_controller_never_passes_as_sovereign(kb):
    """For every provider whose control chain ends (today, 2020-01-01) in a
    company with controller_unknown, no control-based definition says
    sovereign: nos, nos-records, eu-controlled, strict."""
    from stekker.attribute.model import Service
    from stekker.judge import judge, load_policies

    pol = load_policies()
    checked = 0
    problems = []
    for day in (_dt.date(2020, 1, 1), _dt.date.today()):
        for p in kb.providers.values():
            top = kb.company(kb.chain(p.company, day)[-1])
            if not top.controller_unknown:
                continue
            s = Service(category="web", status="attributed", provider=p.id, provider_name=p.name,
                        company=p.company, confidence=0.9, basis="kb")
            for pid in ("nos", "nos-records", "eu-controlled", "strict"):
                checked += 1
                v = judge(s, kb, pol[pid], day)
                if v.verdict == "sovereign":
                    problems.append(f"{day} {p.id} ({top.id}): {pid} says sovereign")
    assert checked > 100
    assert not problems, "\n".join(problems)


def test_every_fingerprint_is_read_by_a_rule(kb):
    """A fingerprint whose observation kind and roles no category of
    rules.yaml reads is dead data that still does harm: a matched name
    silences the addresses behind it (e.g. a Zivver Return-Path CNAME with
    role mail_outbound, or a Laposta DKIM key for a sender, review 23)."""
    rules = [*kb.rules.categories.values(), kb.rules.saas, *([kb.rules.hosts] if kb.rules.hosts else [])]
    dead = []
    for pid, p in kb.providers.items():
        for f in p.fingerprints:
            roles = set(f.role if isinstance(f.role, (list, tuple)) else [f.role])
            if not any(f.on in r.on and roles & (set(r.roles) | set(r.likely_roles) | set(r.unknown_roles))
                       for r in rules):
                dead.append((pid, f.on, sorted(roles)))
    assert not dead, dead


# a note that says a period's `since` is when a source showed the control, not when it began
EVIDENCE_DATE = re.compile(
    r"fetch date|retrieval date|not the deal date|date of that statement|first day the link is certain"
    r"|control before \S+ is (?:therefore )?not asserted", re.I)


def _start_unknown_problems(companies) -> list[str]:
    """One convention for "controlled at least since the day a source was read, start unknown"
    (field trial F5: Visma's `since` was the retrieval date of its governance page and the audit
    showed Hg as Visma's new owner on that day, and Visma as its own ultimate parent before it):
    such a period carries ``start_unknown: true`` - a period whose `since` is the retrieval date of
    its own source, or whose note says so - and its company ``controller_unknown: true`` (before
    `since` the controller is unknown, not the company itself), unless an earlier period of the
    company ends that day."""
    out = []
    for c in companies:
        read = {s.url: s.retrieved for s in c.sources if s.retrieved}
        for o in c.ownership:
            if o.start_unknown:
                if o.since is None:
                    out.append(f"company {c.id}: start_unknown ownership by {o.parent} without since")
                elif not c.controller_unknown and not any(p.until == o.since for p in c.ownership):
                    out.append(f"company {c.id}: ownership by {o.parent} has start_unknown, but the company "
                               f"has no controller_unknown: true (it would be its own controller before {o.since})")
                continue
            if o.since is not None and read.get(o.source) == o.since:
                out.append(f"company {c.id}: ownership by {o.parent} starts on the day its source was read "
                           f"({o.since}) without start_unknown: true")
            elif EVIDENCE_DATE.search(o.note or ""):
                out.append(f"company {c.id}: ownership by {o.parent}: the note says `since` is an evidence "
                           f"date ({EVIDENCE_DATE.search(o.note).group(0)!r}) without start_unknown: true")
    return out


def test_a_since_that_is_only_a_retrieval_date_is_marked_start_unknown(kb):
    problems = _start_unknown_problems(kb.companies.values())
    assert not problems, "\n".join(problems)
    marked = {c.id for c in kb.companies.values() if any(o.start_unknown for o in c.ownership)}
    assert {"visma", "flowmailer", "hostnet", "metanet", "contabo", "one-com"} <= marked, marked
    from stekker.kb.schema import Company, Source

    # the lint itself can fail: Visma as it was (since = the retrieval date, no flag)
    src = "https://www.visma.com/investors/corporate-governance/"
    was = {"id": "visma", "name": "Visma AS", "country": "NO",
           "sources": [Source(url=src, retrieved="2026-11-25")],
           "ownership": [{"parent": "hg", "since": "2026-11-25", "source": src}]}
    assert _start_unknown_problems([Company(**was)])
    flagged = dict(was, ownership=[{"parent": "hg", "since": "2026-11-25", "source": src, "start_unknown": True}])
    assert _start_unknown_problems([Company(**flagged)])  # the flag without controller_unknown
    assert not _start_unknown_problems([Company(**flagged, controller_unknown=True)])
    noted = dict(was, sources=[], ownership=[{"parent": "hg", "since": "2024-01-01", "source": src,
                                               "note": "since = that fetch date"}])
    assert _start_unknown_problems([Company(**noted)])


def test_before_a_first_seen_controller_the_controller_is_unknown(kb):
    """Visma before 2017-12-31 (the first day a read source shows Hg's control): no control period
    covers the day, and the company is marked controller_unknown, so nothing takes Visma (NO) as its
    own controller."""
    day = _dt.date(2017, 6, 1)
    assert kb.chain("visma", day) == ["visma"] and kb.company("visma").controller_unknown
    assert kb.chain("visma", _dt.date(2017, 12, 31))[-1] == "hg"
    assert kb.chain("visma", _dt.date(2026, 11, 25))[-1] == "hg"


# words of a curator's note, not of a name, in lower case (a name's own words are capitalised:
# "Infomaniak Foundation", "Brussels Regional Informatics Centre")
NOTE_WORDS = re.compile(
    r"\b(?:formerly|incl|including|ex|since|later|not|read|retrieved|verified|unverified|seat|legal form|dba"
    r"|affiliated|and|of|for|foundation|company|service|filter|informatics|mail|public)\b")


def _name_problems(entries, kind: str) -> list[str]:
    """A display name is a clean name: what stands in parentheses is another name (a brand, an
    abbreviation, the group), never a curator's note. Field trial F7: the Dutch report read "als
    ChipSoft (ChipSoft B.V., legal form and seat not read) afsluit"; such text belongs in `note`."""
    out = []
    for e in entries:
        for part in re.findall(r"\(([^()]*)\)", e.name):
            m = NOTE_WORDS.search(part)
            if m:
                out.append(f"{kind} {e.id}: name {e.name!r} holds a note ({m.group(0)!r}); move it to note")
    return out


def test_display_names_hold_no_curator_notes(kb):
    problems = _name_problems(kb.companies.values(), "company") + _name_problems(kb.providers.values(), "provider")
    assert not problems, "\n".join(problems)
    assert kb.company("chipsoft").name == "ChipSoft"
    from stekker.kb.schema import Company

    # the lint itself can fail (the name as it was)
    bad = Company(id="chipsoft", name="ChipSoft (ChipSoft B.V., legal form and seat not read)", country="NL")
    assert _name_problems([bad], "company")
    assert not _name_problems([Company(id="x", name="Telecom Italia S.p.A. (TIM)", country="IT")], "company")
