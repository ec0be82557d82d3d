"""The plan: European alternatives per item (side by side), items ranked by
risk reduced per effort, one "start here" item with first steps, and an exit
checklist per critical item.  Weights: ``data/scoring.yaml`` (formula there
and in docs/AUDIT.md)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stekker.audit.catalog import (
    alternatives_for,
    catalogue,
    features,
    jurisdiction_group,
    scoring,
)
from stekker.audit.model import Item
from stekker.audit.resolve import KBLike, Resolution
from stekker.dates import days_before

GROUP_ORDER = {"eu": 0, "europe": 1, "unknown": 2, "non_european": 3}


def _in_languages(v: Any) -> dict[str, str]:
    """A text of the alternatives catalogue as {language: text}: a plain
    string (an SPDX id, a name) reads the same in every language."""
    return dict(v) if isinstance(v, dict) else {"en": str(v), "nl": str(v)}


@dataclass
class AltView:
    id: str
    name: str
    country: str
    controller: dict[str, str]  # language -> who controls it, in words (alternatives.yaml)
    jurisdiction: str | None  # effective: KB when known, else controller_country
    jurisdiction_source: str  # kb | catalogue
    group: str  # effective group of control for this use (self-hosting counts as eu)
    eu_controlled: Any
    recommended: bool  # improves on the item's group and is not a "looks European" trap
    warning: str | None  # not_eu_controlled | not_available (alternatives.yaml available: false) | different_function
    #                      | partial_function (covers less than scoring.yaml's recommend_min_fit)
    open_source: bool
    licence: dict[str, str]  # language -> licence in words ("gesloten dienst"); SPDX ids in every language
    hosting: list[str]
    open_standards: list[str]
    features: list[str]
    coverage: Decimal | None  # offered / all listed features of the category
    price: dict | None
    migration: dict
    sources: list[str]
    fit: Decimal | None = None  # share of the current product's features it offers (ranking of alternatives)


@dataclass
class Comparison:
    item: str
    category: str
    feature_ids: list[str]
    current_features: list[str] | None  # None = product not in catalogue (unknown)
    current_coverage: Decimal | None
    alternatives: list[AltView]


@dataclass
class Ranked:
    item: str
    category: str
    criticality: str
    group: str
    exposure: float
    risk_reduced: float
    effort: float
    score: float
    best_alternative: str | None
    note: str | None  # no_alternative | already_eu | unknown_vendor


@dataclass
class ExitChecklist:
    item: str
    vendor: str
    export_formats: list[str]
    export_api: bool | None
    contract_end: str | None
    days_to_contract_end: int | None
    notice_days: int | None
    notice_deadline: str | None
    days_to_notice_deadline: int | None  # negative: the last day to give notice has passed
    contact: str | None
    functions: list[str]
    users: int | None


@dataclass
class Plan:
    ranking: list[Ranked]
    start_here: Ranked | None
    comparisons: list[Comparison]
    exits: list[ExitChecklist]
    # the contract ends, or notice must be given, within contract_soon_days (and the notice deadline,
    # when known, has not passed): the moment to negotiate or switch
    contracts_soon: list[str] = field(default_factory=list)
    contracts_past: list[str] = field(default_factory=list)  # end date before the as-of date: renewed? check
    # the contract has not ended but the last day to give notice has passed: it probably renews
    notice_passed: list[str] = field(default_factory=list)


def _alt_view(a: dict, item_group: str, category: str, kb: KBLike | None, as_of: _dt.date) -> AltView:
    j, jsrc = None, "catalogue"
    cid = a.get("company")
    if kb is not None and cid:
        try:
            if kb.company(cid) is not None:
                j = kb.jurisdiction(cid, as_of)
                jsrc = "kb" if j else "catalogue"
                joint = getattr(kb, "joint_controllers", None)
                if not j and joint and joint(cid, as_of):
                    jsrc = "kb"  # several parents control it together: no single jurisdiction, no fallback
        except KeyError:
            j = None
    if not j and jsrc == "catalogue":
        j = a.get("controller_country")
    j = j.upper() if j else None
    if a.get("self_host_removes_vendor"):
        group = "eu"  # self-hosted in the EU: the organisation itself is in control
    elif jsrc == "kb":
        group = jurisdiction_group(j)
    elif a.get("eu_controlled") == "unknown":
        group = "unknown"  # ownership not verified: never presented as EU
    else:
        group = jurisdiction_group(j) if j else "unknown"
    warning = None
    if group == "non_european":  # e.g. Exact Online (KKR), Pipedrive (Vista): looks European, is not
        warning = "not_eu_controlled"
    elif a.get("available") is False:  # e.g. MijnBureau: a government pilot, not a product one can take
        warning = "not_available"
    feats = list((a.get("features") or {}).get(category, []))
    listed = list(features().get(category, {}))
    cov = Decimal(len([f for f in feats if f in listed])) / Decimal(len(listed)) if listed else None
    recommended = (warning is None and group in ("eu", "europe")
                   and GROUP_ORDER[group] < GROUP_ORDER.get(item_group, 3))
    return AltView(
        id=a["id"], name=a["name"], country=a["country"], controller=_in_languages(a["controller"]), jurisdiction=j,
        jurisdiction_source=jsrc, group=group, eu_controlled=a.get("eu_controlled"), recommended=recommended,
        warning=warning, open_source=bool(a.get("open_source")), licence=_in_languages(a.get("licence", "")),
        hosting=list(a.get("hosting") or []), open_standards=list(a.get("open_standards") or []),
        features=feats, coverage=cov, price=a.get("price"), migration=a.get("migration") or {},
        sources=list(a["sources"]),
    )


def compare(item: Item, r: Resolution, kb: KBLike | None, as_of: _dt.date) -> Comparison:
    listed = list(features().get(item.category, {}))
    cur = None
    cov = None
    core: list[str] = []
    if r.product_id:
        p = catalogue().products[r.product_id]
        if p.category == item.category:
            cur = list(p.features)
        else:  # product filed under another category in the catalogue: compare what overlaps
            cur = [f for f in p.features if f in listed]
        core = [f for f in p.core if f in cur]
        cov = Decimal(len(cur)) / Decimal(len(listed)) if listed else None
    alts = [_alt_view(a, r.group, item.category, kb, as_of) for a in alternatives_for(item.category)
            if not (r.company and a.get("company") == r.company)]  # not the same vendor again
    for v in alts:  # coverage of what the current product does (all listed features when unknown)
        basis = cur if cur else listed
        v.fit = Decimal(len([f for f in basis if f in v.features])) / Decimal(len(basis)) if basis else None
        if cur and (v.fit == 0 or any(f not in v.features for f in core)):
            # offers none of what the current product does, or not what it is used for (a video tool
            # with chat beside the call for Slack's team chat: products.yaml core): not a replacement
            v.recommended = False
            v.warning = v.warning or "different_function"
        elif v.fit is not None and v.fit < Decimal(str(scoring()["recommend_min_fit"])):
            # offers some, not most, of what is used (La Suite's one storage feature of six): shown, with
            # what it covers, never recommended as the replacement
            v.recommended = False
            v.warning = v.warning or "partial_function"
    alts.sort(key=lambda v: (not v.recommended, v.warning is not None, GROUP_ORDER[v.group],
                             -(v.fit or 0), -(v.coverage or 0), not v.open_source, v.name.casefold()))
    return Comparison(item=item.name, category=item.category, feature_ids=listed,
                      current_features=cur, current_coverage=cov, alternatives=alts)


def _effort(item: Item) -> float:
    s = scoring()
    base = float(s["category_effort"].get(item.category, s["category_effort"]["other"]))
    users = item.users or 0
    ef = s["export_factor"]
    has_f, has_api = bool(item.export.formats), bool(item.export.api)
    factor = ef["formats_and_api"] if (has_f and has_api) else ef["one_of_them"] if (has_f or has_api) else ef["none"]
    return base * (1 + users / float(s["users_scale"])) * float(factor)


def rank_item(item: Item, r: Resolution, comp: Comparison) -> Ranked:
    s = scoring()
    crit = float(s["criticality"][item.criticality or "unknown"])
    sens = float(s["sensitivity"][item.data_sensitivity or "unknown"])
    jw = s["jurisdiction"]
    j = float(jw[r.group])
    owner = float(s["owner_change_factor"]) if r.owner_changes else 1.0
    exposure = crit * sens * j * owner
    best = next((a for a in comp.alternatives if a.recommended), None)
    note = None
    if best is None and r.group in ("non_european", "unknown"):
        # a candidate whose ownership is not verified: counts as unknown (small reduction)
        best = next((a for a in comp.alternatives if a.warning is None and a.group == "unknown"
                     and GROUP_ORDER["unknown"] < GROUP_ORDER[r.group]), None)
        if best is not None:
            note = "verify_owner"
    if best is None:
        reduced = 0.0
        note = "already_eu" if r.group == "eu" else "no_alternative"
    else:
        reduced = crit * sens * (j * owner - float(jw[best.group]))
        if r.group == "unknown" and note is None:
            note = "unknown_vendor"
    effort = _effort(item)
    score = reduced / effort if effort > 0 else 0.0
    return Ranked(item=item.name, category=item.category, criticality=item.criticality or "unknown", group=r.group,
                  exposure=round(exposure, 4), risk_reduced=round(reduced, 4), effort=round(effort, 4),
                  score=round(score, 4), best_alternative=best.id if best else None, note=note)


def notice_deadline(item: Item) -> _dt.date | None:
    """The last day to give notice: the contract's end minus the notice period (None when either
    is unknown); never an overflow, whatever the dates (stekker.dates.days_before)."""
    if item.contract_end and item.notice_days is not None:
        return days_before(item.contract_end, item.notice_days)
    return None


def exit_checklist(item: Item, r: Resolution, as_of: _dt.date) -> ExitChecklist:
    days = (item.contract_end - as_of).days if item.contract_end else None
    deadline = notice_deadline(item)
    return ExitChecklist(
        item=item.name, vendor=r.company_name or r.vendor_label, export_formats=list(item.export.formats),
        export_api=item.export.api, contract_end=str(item.contract_end) if item.contract_end else None,
        days_to_contract_end=days, notice_days=item.notice_days,
        notice_deadline=str(deadline) if deadline else None,
        days_to_notice_deadline=(deadline - as_of).days if deadline else None,
        contact=item.contact, functions=list(item.stops), users=item.users,
    )


def make_plan(items: list[Item], res: list[Resolution], kb: KBLike | None, as_of: _dt.date) -> Plan:
    comps = [compare(it, r, kb, as_of) for it, r in zip(items, res)]
    ranking = [rank_item(it, r, c) for it, r, c in zip(items, res, comps)]
    ranking.sort(key=lambda x: (-x.score, -x.risk_reduced, x.item.casefold()))
    # "start here" is an item whose owner is known to be outside the EU where there is one: a
    # vendor whose owner is unknown may well be European (the caveat says so when it is the only one)
    movable = [x for x in ranking if x.best_alternative and x.risk_reduced > 0]
    start = next((x for x in movable if x.group != "unknown"), None) or next(iter(movable), None)
    exits = [exit_checklist(it, r, as_of) for it, r in zip(items, res) if it.criticality == "high"]
    soon_days = int(scoring()["contract_soon_days"])
    soon, past, passed = [], [], []
    for it in items:
        if not it.contract_end:
            continue
        deadline = notice_deadline(it)
        if it.contract_end < as_of:
            past.append(it.name)
        elif deadline is not None and deadline < as_of:
            # too late to give notice for this end date: never "the right moment to switch"
            passed.append(it.name)
        elif ((deadline or it.contract_end) - as_of).days <= soon_days:  # what counts is the last day to act
            soon.append(it.name)
    return Plan(ranking=ranking, start_here=start, comparisons=comps, exits=exits, contracts_soon=soon,
                contracts_past=past, notice_passed=passed)
