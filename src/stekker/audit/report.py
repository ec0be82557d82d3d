"""The audit report for a decision maker: JSON (machine), HTML and PDF (people),
Dutch or English.  Summary first, then inventory, scenarios, alternatives and
plan.  HTML: Jinja2 with autoescape, no scripts, a strict Content Security
Policy (styles pinned by hash), lang attribute, real headings and table
headers.  PDF: headless Chromium ``--print-to-pdf``.
"""

from __future__ import annotations

import datetime as _dt
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import jinja2

from stekker.audit import catalog as C
from stekker.audit.model import Inventory
from stekker.audit.plan import Plan, make_plan, notice_deadline
from stekker.audit.resolve import KBLike, Resolution, resolve
from stekker.audit.scenarios import Scenarios, run_all, to_jsonable
from stekker.dates import as_date
from stekker.i18n import LANGS, _
from stekker.render import csp as _csp
from stekker.render import environment, style_hash
from stekker.render import fmt_money as _fmt_money
from stekker.render import fmt_num as _fmt_num
from stekker.render import fmt_pct as _fmt_pct
from stekker.render.pdf import RenderError, find_chromium, html_to_pdf, run_chromium, screenshot  # noqa: F401 - re-exported

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Audit:
    inventory: Inventory
    as_of: _dt.date
    kb_version: str | None
    kb_error: str | None
    resolutions: list[Resolution]
    scenarios: Scenarios
    plan: Plan

    def to_dict(self) -> dict:
        return {
            "organisation": self.inventory.organisation,
            "as_of": self.as_of.isoformat(),
            "kb_version": self.kb_version,
            "kb_error": self.kb_error,
            "currency": self.inventory.currency,
            "it_budget": to_jsonable(self.inventory.it_budget),
            "items": [to_jsonable(it) for it in self.inventory.items],
            "resolutions": [to_jsonable(r) for r in self.resolutions],
            "scenarios": to_jsonable(self.scenarios),
            "plan": to_jsonable(self.plan),
        }


def run_audit(inv: Inventory, kb: KBLike | None, as_of: Any = None, kb_error: str | None = None) -> Audit:
    d = as_date(as_of) if as_of else (inv.as_of or _dt.date.today())
    res = resolve(inv, kb, d)
    sc = run_all(inv, res)
    plan = make_plan(inv.items, res, kb, d)
    version = getattr(kb, "version", None) if kb is not None else None
    return Audit(inventory=inv, as_of=d, kb_version=version, kb_error=kb_error,
                 resolutions=res, scenarios=sc, plan=plan)


# ------------------------------------------------------------------ format
# The shared formatters (stekker.render.fmt) with the audit's choices: an
# unknown value says so in words, percentages round half up to one decimal
# (the audit's own rounding, kept: see stekker.render.fmt), scores two decimals.
def fmt_money(x: Decimal | int | None, lang: str, currency: str = "EUR") -> str:
    return _fmt_money(x, lang, currency, missing=C.t("misc.unknown", lang))


def _people(n: int | None, lang: str) -> str:
    """A number of users: ``5.000`` / ``5,000``, or unknown in words."""
    from stekker.render.fmt import fmt_int

    return fmt_int(n, lang) if n is not None else C.t("misc.unknown", lang)


def fmt_pct(x: Decimal | float | None, lang: str) -> str:
    return _fmt_pct(x, lang, 1, rounding="half-up", missing=C.t("misc.unknown", lang))


def fmt_num(x: float, lang: str) -> str:
    return _fmt_num(x, lang, 2)


JOIN_MAX = 10  # names in one sentence of the summary; the rest are counted (the tables list them all)


def _join(xs: list[str], lang: str) -> str:
    """Names as a sentence reads them ("a, b and c"); after JOIN_MAX names "and N more" (an
    inventory of 10,000 items put 10,000 function names in one headline: field trial F14)."""
    xs = list(xs)
    if not xs:
        return C.t("misc.none", lang)
    if len(xs) == 1:
        return xs[0]
    if len(xs) > JOIN_MAX:
        return C.t("misc.and_more", lang, first=", ".join(xs[:JOIN_MAX]), n=len(xs) - JOIN_MAX)
    word = " en " if lang == "nl" else " and "
    return ", ".join(xs[:-1]) + word + xs[-1]


# ------------------------------------------------------------------ context
def context(a: Audit, lang: str) -> dict:
    if lang not in LANGS:
        raise ValueError(_("language must be one of {langs}").format(langs=LANGS))
    inv = a.inventory
    cur = inv.currency
    t = lambda k, **kw: C.t(k, lang, **kw)  # noqa: E731
    money = lambda x: fmt_money(x, lang, cur)  # noqa: E731
    pct = lambda x: fmt_pct(x, lang)  # noqa: E731

    def at_least(text: str, lower_bound: bool) -> str:  # a figure with unknown costs left out of it
        return t("misc.at_least", n=text) if lower_bound else text

    def spend_pct(x: Decimal | None, complete: bool) -> str:  # a share of spend, with what it is of
        return pct(x) + ("" if complete or x is None else t("misc.known_amounts_only"))
    items = inv.items
    res = a.resolutions
    sc, plan = a.scenarios, a.plan
    n = len(items)

    # --- summary lines (plain language, each with its number)
    summary: list[str] = []
    n_cost_unknown = len(sc.price.cost_unknown)
    costs_unknown = n_cost_unknown == n  # no amount at all: "unknown", never "EUR 0"
    if costs_unknown:
        summary.append(t("summary.items_unknown", n=n))
    elif n_cost_unknown:
        summary.append(t("summary.items_partial", n=n, cost=money(sc.price.total_current),
                         unknown=f"{n_cost_unknown}/{n}"))
    else:
        summary.append(t("summary.items", n=n, cost=money(sc.price.total_current)))
    non_eu = [(it, r) for it, r in zip(items, res) if r.group in ("non_european", "europe")]
    non_eu_spend = sum((it.annual_cost or Decimal(0) for it, r in non_eu), Decimal(0))
    # the share is of the systems whose owner is known: an unknown owner is neither inside nor
    # outside the EU (it was in the base, so an inventory of unknown vendors read "0% outside the EU")
    known = [(it, r) for it, r in zip(items, res) if r.group != "unknown"]
    known_spend = sum((it.annual_cost or Decimal(0) for it, r in known), Decimal(0))
    if known and not non_eu:  # "none of the 3", never "0 of the one system (0%)"
        summary.append(t("summary.non_eu_none", total=len(known)))
    elif known and len(non_eu) == len(known):  # "all 3" (a share of 100% says nothing more)
        summary.append(t("summary.non_eu_all", total=len(known)))
    elif known:
        known_complete = all(it.annual_cost is not None for it, r in known)
        if known_spend:
            spend = t("summary.non_eu_spend", total=len(known), spend=spend_pct(non_eu_spend / known_spend, known_complete))
        elif all(it.annual_cost is None for it, r in known):  # never "unknown of their spend"
            spend = t("summary.non_eu_spend_unknown", total=len(known))
        else:  # every known amount is 0: no share to give
            spend = ""
        summary.append(t("summary.non_eu", n=len(non_eu), total=len(known), share=pct(Decimal(len(non_eu)) / len(known)),
                         spend=spend))
    elif n:
        summary.append(t("summary.non_eu_none_known", total=n))
    unknown = [r.item for r in res if r.status != "resolved"]
    if unknown:
        summary.append(t("summary.unknown", n=len(unknown)))
    partial = sc.price.at_least  # some costs unknown: every total and share from them is a lower bound
    budget = (t("summary.price_budget", share=at_least(pct(sc.price.share_of_budget), partial))
              if sc.price.share_of_budget is not None else "")
    if costs_unknown:
        summary.append(t("summary.price_unknown"))
    else:
        summary.append(t("summary.price", extra=at_least(money(sc.price.total_extra), partial), budget=budget))
    w = sc.cut.worst
    if w and w.functions:
        summary.append(t("summary.cut" if w.users is not None else "summary.cut_users_unknown", vendor=w.label,
                         nf=len(w.functions), functions=_join(w.functions, lang), users=_people(w.users, lang)))
    tv = sc.concentration.top_vendor_functions
    if tv and tv.function_share:
        summary.append(t("summary.concentration", vendor=tv.label, fshare=pct(tv.function_share),
                         cshare=pct(tv.critical_share),
                         sshare=spend_pct(tv.spend_share, sc.concentration.spend_complete)))
    if sc.owner.items:
        summary.append(t("summary.owner", items=_join(sorted({o.item for o in sc.owner.items}, key=str.casefold), lang)))
    def contract_note(name: str, key: str) -> str:  # "CRM (ends 2026-12-31, give notice by 2026-12-01)"
        it = next(x for x in items if x.name == name)
        deadline = notice_deadline(it)
        return t(key + ("_notice" if deadline else ""), item=name, end=str(it.contract_end), deadline=str(deadline))

    if plan.contracts_soon:
        summary.append(t("summary.contracts_soon",
                         items=_join([contract_note(x, "summary.contract_item") for x in plan.contracts_soon], lang)))
    if plan.notice_passed:
        summary.append(t("summary.notice_passed",
                         items=_join([contract_note(x, "summary.passed_item") for x in plan.notice_passed], lang)))
    if plan.contracts_past:
        summary.append(t("summary.contracts_past", items=_join(plan.contracts_past, lang)))
    detected = [it.name for it in items if it.detected]
    if detected:
        summary.append(t("summary.detected", n=len(detected)))

    by_name = {it.name: it for it in items}
    res_by = {r.item: r for r in res}
    comp_by = {c.item: c for c in plan.comparisons}

    # --- start here
    start = None
    if plan.start_here:
        s = plan.start_here
        it, r, comp = by_name[s.item], res_by[s.item], comp_by[s.item]
        alt = next(x for x in comp.alternatives if x.id == s.best_alternative)
        fm = f" ({', '.join(it.export.formats)})" if it.export.formats else ""
        steps = [t("start.step_export", item=it.name, formats=fm, vendor=(r.company_name or r.vendor_label).rstrip("."))]
        deadline = notice_deadline(it)
        # the plan's classification (one rule): a passed deadline said as such, none for an ended contract
        too_late = it.name in plan.notice_passed
        if it.contract_end:
            notice = (t("start.notice_passed" if too_late else "start.notice", deadline=str(deadline))
                      if deadline and it.name not in plan.contracts_past else "")
            steps.append(t("start.step_contract", end=str(it.contract_end), notice=notice))
        else:
            steps.append(t("start.step_contract_unknown"))
        steps.append(t("start.step_trial", alt=alt.name))
        steps.append(t("start.step_compare", cost=money(it.annual_cost),
                       users=_people(it.users, lang)))
        steps.append(t("start.step_decide_next" if too_late else "start.step_decide"))
        verify = s.group == "unknown"  # the owner is not known: first find out who it is
        if verify:
            steps.insert(0, t("start.step_verify", vendor=r.vendor_label.rstrip(".")))
        start = {"item": it.name, "alt": alt.name, "why": t("start.why", score=fmt_num(s.score, lang)),
                 "steps": steps, "migration": alt.migration.get(lang, ""),
                 "caveat": t("start.verify_owner") if verify else ""}
        summary.insert(0, t("summary.start_verify" if verify else "summary.start", item=it.name, alt=alt.name))
    elif res and all(r.group == "eu" for r in res):  # nothing at risk, so no starting point is needed
        summary.insert(0, t("summary.no_start_all_eu", n=n))
    else:
        summary.insert(0, t("summary.no_start"))
    if a.kb_error:
        summary.insert(0, t("summary.kb_missing", why=a.kb_error))

    def reason(r: Resolution) -> str:  # why an item is unknown, with the companies an ambiguous name fits
        return t(f"reason.{r.reason}", candidates=", ".join(r.candidates)) if r.reason else ""

    # --- inventory rows
    inv_rows = []
    for it, r in zip(items, res):
        inv_rows.append({
            "name": it.name, "category": C.category_label(it.category, lang),
            "product": r.product_name or it.product or "", "vendor": it.vendor or r.company_name or "",
            "owner": r.parent_name or "", "country": C.country_name(r.jurisdiction, lang) if r.jurisdiction else "",
            "group": r.group, "group_label": t(f"group.{r.group}"),
            "cost": money(it.annual_cost), "users": _people(it.users, lang),
            "criticality": t(f"crit.{it.criticality or 'unknown'}"), "crit": it.criticality or "unknown",
            "stops": ", ".join(it.stops),
            "detected": it.detected, "status": r.status,
            "reason": reason(r),
            "chain": " → ".join(l.name for l in r.chain),
        })

    # --- price
    price_rows = [{
        "label": v.label, "country": C.country_name(v.jurisdiction, lang) if v.jurisdiction else t("misc.unknown"),
        "group": v.group, "systems": ", ".join(v.items),
        "current": at_least(money(v.current), v.at_least),  # None: unknown, never 0
        "extra": at_least(money(v.extra), v.at_least),
        "share": at_least(pct(v.share_of_budget), v.at_least),
    } for v in sc.price.vendors]
    price = {"rows": price_rows, "total_current": at_least(money(sc.price.total_current), partial),
             "total_extra": at_least(money(sc.price.total_extra), partial),
             "share": at_least(pct(sc.price.share_of_budget), partial),
             "budget": money(sc.price.it_budget) if sc.price.it_budget else None,
             "cost_unknown": t("misc.cost_unknown", items=", ".join(sc.price.cost_unknown)) if sc.price.cost_unknown else "",
             # a group with systems but no known cost is "unknown", never left out; a sum leaving out
             # unknown costs is "at least"
             "by_group": [(t(f"group.{g}"), at_least(money(v), sc.price.extra_by_group_at_least.get(g, False))
                           if v is not None else t("misc.unknown"))
                          for g, v in sc.price.extra_by_group.items() if v is None or v > 0]}

    def cut_row(c):
        return {"label": c.label if c.kind == "vendor" else C.country_name(c.jurisdiction, lang),
                "country": C.country_name(c.jurisdiction, lang) if c.jurisdiction else t("misc.unknown"),
                "direct": ", ".join(c.direct), "knock_on": ", ".join(c.knock_on),
                "functions": ", ".join(c.functions) or t("misc.none"),
                "users": (t("misc.at_least", n=c.users) if c.users is not None else t("misc.unknown"))
                + (" (" + t("misc.users_unknown", items=", ".join(c.users_unknown)) + ")" if c.users_unknown and c.users is not None else ""),
                "critical": len(c.critical_items), "shared": c.shared}

    cut = {"vendors": [cut_row(c) for c in sc.cut.vendors if c.functions or c.critical_items or c.shared],
           "jurisdictions": [cut_row(c) for c in sc.cut.jurisdictions]}
    owner_rows = []
    for o in sc.owner.items:
        d = o.detail
        new = d.get("to_parent") if o.kind == "changed" else d.get("counterparty_name")
        j = d.get("to_jurisdiction") if o.kind == "changed" else d.get("counterparty_jurisdiction")
        owner_rows.append({"item": o.item, "vendor": o.vendor, "kind": t(f"change.{o.kind}"), "date": o.date or "—",
                           "new_owner": new or t("misc.unknown"),
                           "country": C.country_name(j, lang) if j else t("misc.unknown"), "non_eu": o.to_non_eu,
                           "source": d.get("source"), "note": d.get("note") or ""})
    conc = sc.concentration

    def share_row(s, kind):
        return {"label": s.label if kind == "vendor" else C.country_name(s.jurisdiction, lang),
                "fshare": pct(s.function_share), "cshare": pct(s.critical_share), "sshare": pct(s.spend_share),
                "spend": at_least(money(s.spend), s.spend_at_least),  # None: unknown, never 0
                "systems": ", ".join(s.items)}

    concentration = {"vendors": [share_row(s, "vendor") for s in conc.vendors],
                     "jurisdictions": [share_row(s, "jur") for s in conc.jurisdictions],
                     "nfunctions": len(conc.all_functions),
                     "spend_note": "" if conc.spend_complete or conc.total_spend is None
                     else t("misc.spend_share_known", items=", ".join(sc.price.cost_unknown))}

    # --- alternatives
    feats = C.features()

    def self_hosted(a) -> bool:  # in the EU group only because it can be self-hosted there
        return bool(a.group == "eu" and a.jurisdiction and C.jurisdiction_group(a.jurisdiction) != "eu")

    comps = []
    for c in plan.comparisons:
        fl = feats.get(c.category, {})
        alts = c.alternatives[:4]
        rows = []
        for fid in c.feature_ids:
            rows.append({"label": fl[fid][lang],
                         "current": None if c.current_features is None else fid in c.current_features,
                         "alts": [fid in a.features for a in alts]})
        comps.append({
            "item": c.item, "category": C.category_label(c.category, lang),
            "product": res_by[c.item].product_name or by_name[c.item].product or by_name[c.item].vendor,
            "current_coverage": pct(c.current_coverage) if c.current_coverage is not None else t("misc.current_unknown"),
            "rows": rows,
            "alts": [{
                "name": a.name, "country": C.country_name(a.country, lang), "controller": a.controller.get(lang) or a.controller.get("en", ""),
                "jurisdiction": C.country_name(a.jurisdiction, lang) if a.jurisdiction else t("misc.unknown"),
                "group": a.group, "recommended": a.recommended,
                # counted as EU because it can be self-hosted there: its maker is not (Element: United Kingdom)
                "group_label": t("misc.self_host_group", country=C.country_name(a.jurisdiction, lang))
                if self_hosted(a) else t(f"group.{a.group}"),
                "warning": t("misc.warning_" + ("not_eu" if a.warning == "not_eu_controlled" else a.warning)) if a.warning else "",
                "self_host": self_hosted(a),
                "licence": a.licence.get(lang) or a.licence.get("en", ""), "open_source": a.open_source,
                "hosting": ", ".join(t(f"misc.hosting_{h}") for h in a.hosting),
                "standards": ", ".join(a.open_standards) or "—",
                "coverage": pct(a.coverage) if a.coverage is not None else "—",
                "price": (a.price or {}).get(lang) or t("misc.price_not_public"),
                "price_source": (a.price or {}).get("source"),
                "migration": a.migration.get(lang, ""), "sources": a.sources,
            } for a in alts],
            "group": res_by[c.item].group,
        })
    # a card per item that is not already EU and has alternatives, in plan order;
    # the others in one line each (nothing dropped)
    order = [r.item for r in plan.ranking]
    comps.sort(key=lambda x: order.index(x["item"]))
    skipped_eu = [c["item"] for c in comps if c["group"] == "eu"]
    skipped_none = [c["item"] for c in comps if c["group"] != "eu" and not c["alts"]]
    comps = [c for c in comps if c["group"] != "eu" and c["alts"]]

    ranking = [{
        "rank": i + 1, "item": x.item, "category": C.category_label(x.category, lang),
        "criticality": t(f"crit.{x.criticality}"), "group": t(f"group.{x.group}"),
        "risk_reduced": fmt_num(x.risk_reduced, lang), "effort": fmt_num(x.effort, lang),
        "score": fmt_num(x.score, lang),
        "alternative": next((a.name for a in comp_by[x.item].alternatives if a.id == x.best_alternative), "—"),
        "note": t(f"misc.note_{x.note}") if x.note else "",
    } for i, x in enumerate(plan.ranking)]

    exits = []
    for e in plan.exits:
        lines_export = [t("exit.export_formats", formats=", ".join(e.export_formats))] if e.export_formats else [t("exit.export_none")]
        lines_export.append(t("exit.api", api=t("misc.yes") if e.export_api else t("misc.no") if e.export_api is False else t("misc.unknown")))
        lines_export.append(t("exit.test"))
        if not e.contract_end:
            lines_contract = [t("exit.contract_unknown")]
        elif e.days_to_contract_end is not None and e.days_to_contract_end < 0:  # never "in -67 days"
            lines_contract = [t("exit.contract_ended", end=e.contract_end, ago=-e.days_to_contract_end)]
        elif e.days_to_contract_end == 0:
            lines_contract = [t("exit.contract_today", end=e.contract_end)]
        else:
            lines_contract = [t("exit.contract_end", end=e.contract_end, days=e.days_to_contract_end)]
        ended = e.days_to_contract_end is not None and e.days_to_contract_end < 0
        if e.notice_deadline and not ended:  # (an ended contract's deadline belongs to the old term)
            if e.days_to_notice_deadline < 0:  # too late for this end date: it probably renews
                lines_contract.append(t("exit.notice_passed", deadline=e.notice_deadline,
                                        ago=-e.days_to_notice_deadline, end=e.contract_end))
            elif e.days_to_notice_deadline == 0:
                lines_contract.append(t("exit.notice_today", deadline=e.notice_deadline))
            else:
                lines_contract.append(t("exit.notice", deadline=e.notice_deadline))
        lines_contract.append(t("exit.terms"))
        who = t("exit.who_contact", contact=e.contact) if e.contact else t("exit.who_unknown", vendor=e.vendor.rstrip("."))
        exits.append({"item": e.item, "vendor": e.vendor, "export": lines_export, "contract": lines_contract,
                      "who": who,
                      "impact": t("exit.impact", functions=", ".join(e.functions) or t("misc.none"), n=e.users,
                                  users=_people(e.users, lang)) if e.users is not None else
                      t("exit.impact_users_unknown", functions=", ".join(e.functions) or t("misc.none"))})

    from stekker import __version__

    sources = sorted({r.product_source for r in res if r.product_source})
    return {
        "lang": lang, "t": t,
        "org": inv.organisation or t("org_unknown"), "as_of": a.as_of.isoformat(),
        "summary": summary, "start": start, "inventory": inv_rows, "price": price, "cut": cut,
        "worst_jur": (sc.cut.jurisdictions[0] if sc.cut.jurisdictions else None),
        "owner": owner_rows, "owner_unknown": sc.owner.unknown_items,
        "owner_years": C.scoring()["owner_change_lookback_years"],
        "concentration": concentration, "comparisons": comps,
        "alt_skipped_eu": skipped_eu, "alt_skipped_none": skipped_none, "ranking": ranking, "exits": exits,
        "unresolved": [{"item": r.item, "reason": reason(r)} for r in res if r.status != "resolved"],
        "kb": a.kb_version or t("misc.unknown"), "product_sources": sources,
        "footer": t("misc.generated", version=__version__, date=_dt.date.today().isoformat(),
                    kb=a.kb_version or t("misc.unknown")),
        "country_name": lambda c: C.country_name(c, lang),
    }


# ------------------------------------------------------------------ render
def _env() -> jinja2.Environment:
    return environment(jinja2.FileSystemLoader(str(TEMPLATES)))


def render_html(a: Audit, lang: str = "nl") -> str:
    env = _env()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    ctx = context(a, lang)
    return env.get_template("report.html.j2").render(css=css, csp=_csp(style_hash(css)), **ctx)


def chromium(args: list[str], timeout: float = 90) -> subprocess.CompletedProcess:
    """Headless Chromium with the shared flags; the last of ``args`` is the URL."""
    return run_chromium(list(args[:-1]), args[-1], timeout, purpose="The audit's PDF")
