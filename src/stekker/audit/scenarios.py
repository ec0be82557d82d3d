"""The four "what if" scenarios, each a number plus the data behind it.

Money is ``Decimal`` (exact); shares are ``Decimal`` fractions (0..1), rounded
only when shown.  Items whose cost or users are unknown are listed as such,
never counted as zero silently.

* **price_doubles** — extra annual cost if a vendor doubles its price:
  per vendor (grouped by ultimate parent; unknown vendors by the name given),
  in total, per jurisdiction group, and as a share of the IT budget.
* **cut_off** — a vendor (or a whole jurisdiction, e.g. under sanctions) cuts
  the service: which items stop (directly, or because they ``depends_on`` an
  item that stops), which business functions stop, and for how many users
  (the largest user count among the items that stop: the same people use
  several tools, so users are not added up).
* **owner_change** — items whose vendor changed control within the look-back
  window or has an announced, unfinished deal (from the KB), flagging a move
  to a non-EU owner.
* **concentration** — share of the business functions (all, and those of
  high-criticality items) and of spend with each vendor and jurisdiction.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from stekker.audit.catalog import jurisdiction_group
from stekker.audit.model import Inventory, Item
from stekker.audit.resolve import Resolution

ZERO = Decimal(0)


def _share(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return Decimal(part) / Decimal(whole)


def _funcs(items: list[Item]) -> list[str]:
    seen: "OrderedDict[str, str]" = OrderedDict()
    for it in items:
        for f in it.stops:
            seen.setdefault(f.casefold(), f)
    return sorted(seen.values(), key=str.casefold)


def _stopped_with(inv: Inventory, direct: set[str]) -> list[Item]:
    """Items that stop when the items named in ``direct`` stop, following
    ``depends_on`` transitively.  Order of the inventory."""
    stopped = {n.casefold() for n in direct}
    changed = True
    while changed:
        changed = False
        for it in inv.items:
            k = it.name.casefold()
            if k not in stopped and any(d.casefold() in stopped for d in it.depends_on):
                stopped.add(k)
                changed = True
    return [it for it in inv.items if it.name.casefold() in stopped]


@dataclass
class VendorGroup:
    key: str
    label: str
    jurisdiction: str | None
    group: str
    items: list[str]
    cost: Decimal
    cost_unknown: list[str]

    def to_dict(self) -> dict:
        return asdict(self)


def vendor_groups(inv: Inventory, res: list[Resolution]) -> list[VendorGroup]:
    groups: "OrderedDict[str, VendorGroup]" = OrderedDict()
    for it, r in zip(inv.items, res):
        g = groups.get(r.vendor_key)
        if g is None:
            g = groups[r.vendor_key] = VendorGroup(
                key=r.vendor_key, label=r.vendor_label, jurisdiction=r.jurisdiction,
                group=r.group, items=[], cost=ZERO, cost_unknown=[])
        g.items.append(it.name)
        if it.annual_cost is None:
            g.cost_unknown.append(it.name)
        else:
            g.cost += it.annual_cost
    return sorted(groups.values(), key=lambda g: (-g.cost, g.label.casefold()))


# ---------------------------------------------------------------- price
@dataclass
class PriceVendor:
    key: str
    label: str
    jurisdiction: str | None
    group: str
    items: list[str]
    current: Decimal | None  # None: none of its costs is known (never 0)
    extra: Decimal | None
    share_of_budget: Decimal | None
    cost_unknown: list[str]
    at_least: bool  # some of its costs are unknown: current, extra and share are lower bounds


@dataclass
class PriceDoubles:
    factor: Decimal
    total_current: Decimal | None  # None: no cost in the inventory is known
    total_extra: Decimal | None
    share_of_budget: Decimal | None
    it_budget: Decimal | None
    extra_by_group: dict[str, Decimal | None]  # None: the group has systems, none with a known cost
    extra_by_group_at_least: dict[str, bool]  # the group's sum leaves out items of unknown cost: a lower bound
    vendors: list[PriceVendor]
    cost_unknown: list[str]
    biggest: PriceVendor | None
    at_least: bool  # some costs are unknown: the totals and their share are lower bounds


def price_doubles(inv: Inventory, res: list[Resolution], factor: Decimal | int = 2) -> PriceDoubles:
    f = Decimal(factor)
    vs: list[PriceVendor] = []
    by_group: dict[str, Decimal | None] = {"eu": ZERO, "europe": ZERO, "non_european": ZERO, "unknown": ZERO}
    known_in: set[str] = set()
    partly_unknown: set[str] = set()  # groups with an item of unknown cost
    budget = inv.it_budget if inv.it_budget else None
    for g in vendor_groups(inv, res):
        known = len(g.cost_unknown) < len(g.items)  # an unknown cost is never read as 0
        if g.cost_unknown:
            partly_unknown.add(g.group)
        extra = g.cost * (f - 1) if known else None
        if known:
            by_group[g.group] = (by_group.get(g.group) or ZERO) + extra
            known_in.add(g.group)
        elif g.group not in known_in:
            by_group[g.group] = None
        vs.append(PriceVendor(key=g.key, label=g.label, jurisdiction=g.jurisdiction, group=g.group,
                              items=g.items, current=g.cost if known else None, extra=extra,
                              share_of_budget=_share(extra, budget) if budget and known else None,
                              cost_unknown=g.cost_unknown, at_least=known and bool(g.cost_unknown)))
    unknown = [it.name for it in inv.items if it.annual_cost is None]
    any_known = len(unknown) < len(inv.items)
    total = sum((it.annual_cost for it in inv.items if it.annual_cost is not None), ZERO) if any_known else None
    total_extra = total * (f - 1) if total is not None else None
    return PriceDoubles(factor=f, total_current=total, total_extra=total_extra,
                        share_of_budget=_share(total_extra, budget) if budget and total_extra is not None else None,
                        it_budget=budget, extra_by_group=by_group,
                        extra_by_group_at_least={k: v is not None and k in partly_unknown for k, v in by_group.items()},
                        vendors=vs, cost_unknown=unknown,
                        biggest=vs[0] if vs and vs[0].extra is not None and vs[0].extra > 0 else None,
                        at_least=any_known and bool(unknown))


# ---------------------------------------------------------------- cut off
@dataclass
class CutOff:
    key: str
    label: str
    kind: str  # vendor | jurisdiction
    jurisdiction: str | None
    direct: list[str]  # items of this vendor / jurisdiction
    knock_on: list[str]  # items that stop because they depend on a direct item
    functions: list[str]
    users: int | None  # largest user count among the stopped items
    users_unknown: list[str]
    critical_items: list[str]  # stopped items with criticality high
    shared: bool  # more than one item behind this single point of failure


@dataclass
class CutOffScenario:
    vendors: list[CutOff]
    jurisdictions: list[CutOff]
    worst: CutOff | None
    all_functions: list[str]


def _cut(inv: Inventory, key: str, label: str, kind: str, jur: str | None, direct_items: list[Item]) -> CutOff:
    direct = {it.name for it in direct_items}
    stopped = _stopped_with(inv, direct)
    knock = [it.name for it in stopped if it.name not in direct]
    users = [it.users for it in stopped if it.users is not None]
    return CutOff(
        key=key, label=label, kind=kind, jurisdiction=jur,
        direct=[it.name for it in direct_items], knock_on=knock, functions=_funcs(stopped),
        users=max(users) if users else None,
        users_unknown=[it.name for it in stopped if it.users is None],
        critical_items=[it.name for it in stopped if it.criticality == "high"],
        shared=len(stopped) > 1,
    )


def _cut_rank(c: CutOff) -> tuple:
    return (-len(c.critical_items), -len(c.functions), -(c.users or 0), c.label.casefold())


def cut_off(inv: Inventory, res: list[Resolution]) -> CutOffScenario:
    by_vendor: "OrderedDict[str, list]" = OrderedDict()
    by_jur: "OrderedDict[str, list]" = OrderedDict()
    for it, r in zip(inv.items, res):
        by_vendor.setdefault(r.vendor_key, [r, []])[1].append(it)
        if r.jurisdiction:
            by_jur.setdefault(r.jurisdiction, [r, []])[1].append(it)
    vendors = [_cut(inv, k, r.vendor_label, "vendor", r.jurisdiction, items) for k, (r, items) in by_vendor.items()]
    jurs = [_cut(inv, "jurisdiction:" + j, j, "jurisdiction", j, items) for j, (r, items) in by_jur.items()]
    vendors.sort(key=_cut_rank)
    jurs.sort(key=_cut_rank)
    return CutOffScenario(vendors=vendors, jurisdictions=jurs, worst=vendors[0] if vendors else None,
                          all_functions=_funcs(inv.items))


# ---------------------------------------------------------------- owner change
@dataclass
class OwnerChangeItem:
    item: str
    vendor: str
    kind: str  # changed | pending
    date: str | None
    detail: dict
    to_non_eu: bool | None  # None = the new owner's jurisdiction is unknown


@dataclass
class OwnerChangeScenario:
    items: list[OwnerChangeItem]
    to_non_eu: list[str]
    unknown_items: list[str]  # items whose ownership could not be checked (unresolved)


def owner_change(inv: Inventory, res: list[Resolution]) -> OwnerChangeScenario:
    out: list[OwnerChangeItem] = []
    for it, r in zip(inv.items, res):
        for ch in r.owner_changes:
            j = ch.to_jurisdiction if ch.kind == "changed" else ch.counterparty_jurisdiction
            non_eu = None if not j else jurisdiction_group(j) != "eu"
            # the vendor (Visma), never its new owner (Hg): that is the change's other side
            out.append(OwnerChangeItem(item=it.name, vendor=r.company_name or r.vendor_label, kind=ch.kind, date=ch.date,
                                       detail=asdict(ch), to_non_eu=non_eu))
    return OwnerChangeScenario(
        items=out,
        to_non_eu=sorted({o.item for o in out if o.to_non_eu}, key=str.casefold),
        unknown_items=[it.name for it, r in zip(inv.items, res) if r.status != "resolved"],
    )


# ---------------------------------------------------------------- concentration
@dataclass
class Share:
    key: str
    label: str
    jurisdiction: str | None
    functions: list[str]
    function_share: Decimal | None
    critical_functions: list[str]  # its functions that high-criticality items provide
    critical_share: Decimal | None  # ... as a share of all functions of high-criticality items
    spend: Decimal | None  # None: none of its costs is known (never 0)
    spend_share: Decimal | None  # of the known spend (see Concentration.spend_complete)
    items: list[str]
    spend_at_least: bool  # some of its costs are unknown: spend is a lower bound


@dataclass
class Concentration:
    all_functions: list[str]
    critical_functions: list[str]
    total_spend: Decimal | None  # None: no cost is known
    spend_complete: bool  # every cost is known; otherwise spend shares are of the known spend
    vendors: list[Share]
    jurisdictions: list[Share]
    top_vendor_functions: Share | None
    top_vendor_spend: Share | None
    top_jurisdiction_functions: Share | None
    top_jurisdiction_spend: Share | None
    unknown_jurisdiction_items: list[str]


def concentration(inv: Inventory, res: list[Resolution], cuts: CutOffScenario | None = None) -> Concentration:
    cuts = cuts or cut_off(inv, res)
    allf = _funcs(inv.items)
    total = sum((it.annual_cost for it in inv.items if it.annual_cost is not None), ZERO)
    costs: dict[str, Decimal] = {}
    jcosts: dict[str, Decimal] = {}
    for it, r in zip(inv.items, res):
        c = it.annual_cost or ZERO
        costs[r.vendor_key] = costs.get(r.vendor_key, ZERO) + c
        if r.jurisdiction:
            jcosts[r.jurisdiction] = jcosts.get(r.jurisdiction, ZERO) + c

    critf = _funcs([it for it in inv.items if it.criticality == "high"])
    crit_keys = {f.casefold() for f in critf}

    cost_of = {it.name: it.annual_cost for it in inv.items}

    def share(c: CutOff, spend: Decimal) -> Share:
        cf = [f for f in c.functions if f.casefold() in crit_keys]
        n_unknown = sum(1 for i in c.direct if cost_of.get(i) is None)
        known = n_unknown < len(c.direct) or not c.direct
        return Share(key=c.key, label=c.label, jurisdiction=c.jurisdiction, functions=c.functions,
                     function_share=_share(len(c.functions), len(allf)),
                     critical_functions=cf, critical_share=_share(len(cf), len(critf)),
                     spend=spend if known else None, spend_share=_share(spend, total) if known else None,
                     items=c.direct, spend_at_least=known and n_unknown > 0)

    vs = [share(c, costs.get(c.key, ZERO)) for c in cuts.vendors]
    js = [share(c, jcosts.get(c.jurisdiction or "", ZERO)) for c in cuts.jurisdictions]

    def top(xs: list[Share], attr: str) -> Share | None:
        xs = [x for x in xs if getattr(x, attr) is not None]
        if not xs:
            return None
        return sorted(xs, key=lambda x: (-getattr(x, attr), x.label.casefold()))[0]

    no_cost = [it for it in inv.items if it.annual_cost is None]
    return Concentration(
        all_functions=allf, critical_functions=critf, total_spend=total if len(no_cost) < len(inv.items) else None,
        spend_complete=not no_cost, vendors=vs, jurisdictions=js,
        top_vendor_functions=top(vs, "function_share"), top_vendor_spend=top(vs, "spend_share"),
        top_jurisdiction_functions=top(js, "function_share"), top_jurisdiction_spend=top(js, "spend_share"),
        unknown_jurisdiction_items=[it.name for it, r in zip(inv.items, res) if not r.jurisdiction],
    )


@dataclass
class Scenarios:
    price: PriceDoubles
    cut: CutOffScenario
    owner: OwnerChangeScenario
    concentration: Concentration


def run_all(inv: Inventory, res: list[Resolution]) -> Scenarios:
    cuts = cut_off(inv, res)
    return Scenarios(price=price_doubles(inv, res), cut=cuts, owner=owner_change(inv, res),
                     concentration=concentration(inv, res, cuts))


def to_jsonable(x: Any) -> Any:
    """Dataclasses/Decimals/dates -> JSON-friendly (Decimal as string, exact)."""
    import datetime as _dt
    from dataclasses import fields, is_dataclass

    if is_dataclass(x) and not isinstance(x, type):
        return {f.name: to_jsonable(getattr(x, f.name)) for f in fields(x)}
    if isinstance(x, Decimal):
        return str(x)
    if isinstance(x, (_dt.date, _dt.datetime)):
        return x.isoformat()
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set)):
        return [to_jsonable(v) for v in x]
    if hasattr(x, "model_dump"):
        return to_jsonable(x.model_dump())
    return x
