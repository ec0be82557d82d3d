"""Figures a journalist can quote without getting them wrong (issue 13).

One place for what every output (terminal, HTML, PDF, CSV, JSONL) says about
a headline figure:

* :func:`fmt_pct` (from :mod:`stekker.render.fmt`) — the one percent formatter: never "100%" or "0%" unless
  exact, one decimal near the ends (99.9%, 0.2%), Dutch decimal comma;
* :func:`headline_figures` — per definition the share that *depends* on a
  service failing it, labelled with the finding (report/templates/strings.yaml
  ``findings``), the count it rests on, what was excluded, and a sentence to
  quote in Dutch and English;
* :func:`nos_comparison` — what the NOS study of January 2026 computed,
  computed again on this scan, next to the published figures
  (report/data/nos_2026.yaml);
* :func:`dns_limits` — what DNS cannot show, counted where the data allows.

Functions that need words take ``t``, a :class:`stekker.report.render.Strings`.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from stekker.dates import scan_day
from stekker.judge import NOT_SOVEREIGN, SOVEREIGN
from stekker.render.fmt import MONTHS, fmt_day, fmt_int, fmt_pct  # noqa: F401 - re-exported

# the sentence to quote carries the unknown domains and the range when they are at least this share
# of the domains with an answer (known or unknown): then the range is 5 points wide or more
QUOTE_UNKNOWN = 0.05


def count_of(n: int, d: int, t: Any) -> str:
    """``13,058 of 13,070`` / ``13.058 van 13.070``."""
    return t("fig_of", n=fmt_int(n, t.lang), d=fmt_int(d, t.lang))


def measured_day(report: Any) -> _dt.date:
    """The day the scan ran (else the ownership date)."""
    return scan_day(report.meta or {}) or report.as_of


# ---------------------------------------------------------------------------
# headline figures
# ---------------------------------------------------------------------------


def finding(t: Any, policy: Any) -> dict[str, str]:
    """The finding a definition's share counts, in ``t``'s language:
    ``label`` (a group), ``one`` (one domain), ``past`` (quote sentence),
    ``definition`` and ``column`` (a short column header)."""
    data = t.data["findings"]
    entry = data.get(policy.id)
    name = policy.title(t.lang)
    short = policy.short_title(t.lang)
    base = data["_default"]
    out = {}
    for k in ("label", "one", "past", "definition", "column"):
        src = entry if entry is not None and k in entry else base
        e = src.get(k)
        if e is None:  # `column` of the default, or a missing form: fall back
            if k == "column":
                out[k] = ("Niet soeverein: " if t.lang == "nl" else "Not sovereign: ") + short
                continue
            e = (entry or base).get("label")
        txt = e.get(t.lang) or (e.get("en") if t.lang == "en" else None)
        if txt is None:  # Dutch has one form for label/one/past
            e2 = (entry or base).get("label")
            txt = e2.get(t.lang) or e2["en"]
        out[k] = txt.format(name=name)
    return out


@dataclass(slots=True)
class Figure:
    """One headline figure: the share of domains that depend on at least one
    service failing a definition, with everything needed to quote it."""

    policy: Any
    finding: dict[str, str]  # in the report's language
    tally: Any  # Tally over domains
    org_tally: Any | None  # Tally over organisations (None: the input names none)
    quotes: dict[str, str] = field(default_factory=dict)  # lang -> sentence

    @property
    def share(self) -> float | None:
        return self.tally.share


def quote(report: Any, policy: Any, t: Any) -> str:
    """The sentence to quote for one definition, in ``t``'s language."""
    tl = report.domains[policy.id]
    f = finding(t, policy)
    lang = t.lang
    meta = report.meta or {}
    day = measured_day(report)
    # ownership judged on another day than the measurement (--as-of): the sentence names that day, or
    # "On 6 December 2026, 96% ..." reads as the owners of that day (field trial F4)
    owned = t("quote_owned", date=fmt_day(report.as_of, lang)) if report.as_of != day else ""
    # many unknown domains: the sentence carries them and the range (field trial F7: "44% of the 1,030
    # domains examined whose answer is known" hid that 986 of 2,016 were unknown: 23%-72%)
    unknown = ""
    b = bounds(tl)
    if b is not None and b[0] >= QUOTE_UNKNOWN * b[1]:
        u, n, low, high = b
        unknown = t("quote_unknown", unknown=fmt_int(u, lang), units=t.noun("domain", u), n=fmt_int(n, lang),
                    ushare=fmt_pct(u / n, lang), low=fmt_pct(low, lang), high=fmt_pct(high, lang))
    return t("quote", date=fmt_day(day, lang), pct=fmt_pct(tl.share, lang),
             base=fmt_int(tl.decided, lang), units=t.noun("domain", tl.decided),
             count=count_of(tl.not_sovereign, tl.decided, t), past=f["past"], label=f["label"],
             unknown=unknown, definition=f["definition"], owned=owned, kb=meta.get("kb_version") or "–",
             scan=meta.get("scan_id") if meta.get("scan_id") is not None else "–")


def headline_figures(report: Any, t: Any) -> list[Figure]:
    """Per definition of the report, its headline figure (domains), with the
    organisations' share when the input names organisations, and the quote
    sentence in both languages (the report's language first)."""
    from .render import LANGS, Strings

    others = [Strings(lg) for lg in (t.lang, *[x for x in LANGS if x != t.lang])]
    out = []
    for p in report.policies:
        org = report.organisations[p.id] if report.organisation_count else None
        fig = Figure(p, finding(t, p), report.domains[p.id], org)
        fig.quotes = {s.lang: quote(report, p, s) for s in others}
        out.append(fig)
    return out


def excluded_text(tl: Any, t: Any) -> str:
    text = t("fig_excluded", unknown=fmt_int(tl.counts["unknown"], t.lang), error=fmt_int(tl.counts["error"], t.lang),
             nxdomain=fmt_int(tl.counts["nxdomain"], t.lang), total=fmt_int(tl.total, t.lang))
    b = bounds_text(tl, t)
    return f"{text}; {b}" if b else text


def bounds(tl: Any) -> tuple[int, int, float, float] | None:
    """The share with the unknown domains counted too: (unknown, domains with an answer, the share
    with none of them dependent, with all of them); None when no domain is unknown (explore-e M4: the
    headline leaves them out, and an unknown domain has no known dependency, so the share over the
    known ones alone leans high; "stekker finds more than NOS" could be that lean)."""
    u = tl.counts.get("unknown", 0)
    d = tl.decided + u
    if not u or not d:
        return None
    return u, d, tl.not_sovereign / d, (tl.not_sovereign + u) / d


def bounds_text(tl: Any, t: Any) -> str:
    """:func:`bounds` in words; empty when no domain is unknown."""
    b = bounds(tl)
    if b is None:
        return ""
    u, d, low, high = b
    return t("fig_bounds", unknown=fmt_int(u, t.lang), n=fmt_int(d, t.lang),
             low=fmt_pct(low, t.lang), high=fmt_pct(high, t.lang))


def base_text(tl: Any, t: Any, noun: str = "domain") -> str:
    return t("fig_base", n=fmt_int(tl.not_sovereign, t.lang), d=fmt_int(tl.decided, t.lang),
             units=t.noun(noun, tl.decided))


def share_cell(tl: Any, t: Any) -> str:
    """``93% (248/268)``: a share with what it rests on (a tally's, or a company's count of the measured
    domains: ``fraction()``); ``–`` when it rests on nothing."""
    part, whole = tl.fraction()
    if not whole:
        return "–"
    return f"{fmt_pct(tl.share, t.lang)} ({fmt_int(part, t.lang)}/{fmt_int(whole, t.lang)})"


def _direction(old: Any, new: Any, lang: str) -> int:
    """+1 when the share rose, -1 when it fell, 0 when unchanged or not known on a side - as shown: a
    change the rounded figures do not show is none (field trial F8: "96% → 96% ..., but 96% → 96%
    ...: the change of the list turned the direction around", on changes under half a point)."""
    if old.share is None or new.share is None or fmt_pct(old.share, lang) == fmt_pct(new.share, lang):
        return 0
    return 1 if new.share > old.share else -1


def compare_share_rows(cmp: Any, policies: list[Any], t: Any) -> list[dict[str, str]]:
    """Each definition's headline share in both scans of a comparison, over
    all the domains each scan measured and over the domains in both: the
    rows of the terminal and HTML compare tables (explore-e H3: a change of the
    list read as a change of dependence).  ``moved_by_list``: the shares over
    all domains moved while those over the common domains did not."""
    by = {p.id: p for p in policies}
    return [_shift_row(finding(t, by[x.policy])["column"], x, t) for x in cmp.shares if x.policy in by]


def compare_company_rows(cmp: Any, t: Any) -> list[dict[str, str]]:
    """The largest parent companies' shares of the measured domains in both scans of a comparison
    (the report's "Microsoft 49%"), over all domains and over the domains in both, with the same
    warnings as :func:`compare_share_rows`."""
    return [_shift_row(x.name, x, t) for x in getattr(cmp, "companies", [])]


def _shift_row(label: str, x: Any, t: Any) -> dict[str, Any]:
    return {
        "label": label,
        "old_all": share_cell(x.old_all, t), "new_all": share_cell(x.new_all, t),
        "old_common": share_cell(x.old_common, t), "new_common": share_cell(x.new_common, t),
        "moved_by_list": (fmt_pct(x.old_all.share, t.lang) != fmt_pct(x.new_all.share, t.lang)
                          and fmt_pct(x.old_common.share, t.lang) == fmt_pct(x.new_common.share, t.lang)),
        # over all domains it rose while over the domains in both it fell, or the other way round:
        # the list's change turned the direction around (review 28 L6)
        "reversed_by_list": _direction(x.old_all, x.new_all, t.lang) * _direction(x.old_common, x.new_common, t.lang) < 0,
    }


# ---------------------------------------------------------------------------
# the NOS comparison
# ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def nos_data() -> dict[str, Any]:
    """The NOS figures of January 2026 (report/data/nos_2026.yaml)."""
    text = resources.files("stekker.report").joinpath("data", "nos_2026.yaml").read_text("utf-8")
    return yaml.safe_load(text)


@dataclass(slots=True)
class NosRow:
    id: str
    kind: str  # linked_us | provider | provider_group (several companies, one row) | portals
    label: dict[str, str]
    nos: dict[str, Any]  # as published
    count: int | None = None  # stekker: numerator
    base: int | None = None  # stekker: denominator
    tally: Any = None  # linked_us: the Tally under the comparison's policy
    scope: str = ""  # portals: "sector" (the healthcare sectors), "all" (no such sector) or "none"
    sectors: list[str] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        if self.tally is not None:
            return self.tally.share
        return self.count / self.base if self.base else None


@dataclass(slots=True)
class NosComparison:
    policy: Any  # the A/MX/NS/CNAME definition (nos-records)
    rows: list[NosRow]
    existing: int  # existing domains whose apex answered (status ok): the denominator of the provider rows
    partial: int = 0  # of those, domains with at least one failed question (counted with what was answered)

    @property
    def data(self) -> dict[str, Any]:
        return nos_data()

    def row(self, rid: str) -> NosRow | None:
        return next((r for r in self.rows if r.id == rid), None)


def _chain_ids(dep: Any) -> set[str]:
    """Every company in the dependency's control chain, the chains of parents in joint control included."""
    return {e.id for e in (dep.chain or [])} | {e.id for ch in (getattr(dep, "joint", None) or []) for e in ch}


def nos_comparison(report: Any, kb: Any) -> NosComparison | None:
    """Compute what NOS computed on this scan. The A/MX/NS/CNAME definition
    (``nos-records``) is judged apart when the report was not asked for it."""
    from stekker.judge import judge_results

    from .aggregate import DECIDED, _tally

    data = nos_data()
    head = data["rows"][0]
    pid = head.get("policy", "nos-records")
    pol = next((p for p in report.policies if p.id == pid), None)
    if pol is not None:
        tally, res = report.domains[pid], report.results
    else:
        cfg = report.policies[0].config if report.policies and report.policies[0].config else None
        if cfg is None:
            from stekker.judge import load_policies

            cfg = load_policies()
        try:
            pol = cfg.select([pid])[0]
        except Exception:  # noqa: BLE001 - a policy file without it: no comparison
            return None
        res = judge_results([r.da for r in report.results], kb, [pol], report.as_of)
        tally = _tally(r.verdict[pid] for r in res)
    # the domains whose answer under the definition is known: exactly the headline row's base
    decided = {r.domain for r in res if r.verdict.get(pid) in DECIDED}
    cats = set(pol.categories or []) - {"host"}
    # "of all existing domains": those measured (status ok); a domain whose measurement
    # failed (status error) is not in the base, a non-existent one neither
    live = [r for r in report.results if r.da.status == "ok"]
    rows = []
    for spec in data["rows"]:
        row = NosRow(spec["id"], spec["kind"], spec["label"], spec.get("nos") or {})
        if row.kind == "linked_us":
            row.tally = tally
            row.count, row.base = tally.not_sovereign, tally.decided
        elif row.kind in ("provider", "provider_group"):
            ids = set(spec.get("companies") or [])
            # ``base: decided``: of the same domains as the headline row, so the two can be compared
            # (a share of all existing domains beside one of the known answers invited a subtraction)
            scope = [r for r in live if r.domain in decided] if spec.get("base") == "decided" else live
            row.count = sum(1 for r in scope if any(
                (d.category in cats or not cats) and d.verdicts.get(pol.id) is not None
                # a knowledge-base answer only (null: a record from before issue 12, read as kb);
                # weak evidence (a tenant token, an SPF include) and network operators are left out
                and d.service.basis in (None, "kb")
                and (d.provider_key in ids or _chain_ids(d) & ids) for d in r.deps))
            row.base = len(scope)
        elif row.kind == "portals":
            ids = set(spec.get("companies") or [])
            want = {s.lower() for s in spec.get("sectors") or []}
            hosts = [h for h in report.hosts if h.present]
            scoped = [h for h in hosts if {s.lower() for s in h.sectors} & want]
            if scoped:
                row.scope = "sector"
                row.sectors = sorted({s for h in scoped for s in h.sectors if s.lower() in want})
            elif hosts:
                row.scope, scoped = "all", hosts
            else:
                row.scope = "none"
            row.count = sum(1 for h in scoped if any(d.provider_key in ids or _chain_ids(d) & ids for d in h.deps))
            row.base = len(scoped)
        rows.append(row)
    return NosComparison(pol, rows, len(live), report.providers_partial)  # (live: the providers' base too)


def nos_stekker_text(row: NosRow, t: Any) -> str:
    """stekker's figure for one comparison row, with its base."""
    lang = t.lang
    if row.kind == "portals" and row.scope == "none":
        return t("nos_portals_none")
    text = f"{fmt_pct(row.share, lang)} ({count_of(row.count or 0, row.base or 0, t)})"
    if row.kind == "linked_us" and row.tally is not None and bounds_text(row.tally, t):
        text += f"; {bounds_text(row.tally, t)}"  # NOS counted every domain: the range over all with an answer
    if row.kind == "portals":
        if row.scope == "sector":
            text = t("nos_portals_sector", count=count_of(row.count or 0, row.base or 0, t),
                     sectors=", ".join(row.sectors))
        else:
            text = t("nos_portals_all", count=count_of(row.count or 0, row.base or 0, t))
    return text


def nos_published_text(row: NosRow, lang: str) -> str:
    txt = row.nos.get("text") or {}
    return txt.get(lang) or txt.get("en") or "–"


def nos_differences(report: Any, t: Any) -> list[str]:
    from .render import _fmt_date, _ts

    meta = report.meta or {}
    measured = _ts(meta.get("finished_at")) or _ts(meta.get("started_at"))
    out = []
    for d in nos_data()["differences"]:
        txt = d.get(t.lang) or d["en"]
        out.append(txt.format(measured=_fmt_date(measured, t.lang), as_of=report.as_of.isoformat()))
    return out


# ---------------------------------------------------------------------------
# what DNS cannot show
# ---------------------------------------------------------------------------

MAIL_ROUTING = frozenset({"mail_inbound", "mail_gateway", "mail_outbound"})


@dataclass(slots=True)
class DnsLimits:
    """Domains whose verdict DNS alone may get wrong, under one definition."""

    policy: Any
    mail_over: int  # dependent only through MX/gateway/SPF, not the mailbox platform
    mail_under: int  # not dependent, a gateway in front of a mailbox platform DNS does not show
    token_over: int  # dependent only through TXT evidence (verification tokens, SPF)
    self_under: int  # not dependent, at least one service on own name/network


def dns_limits(report: Any) -> DnsLimits | None:
    """Count, under ``nos`` (else the first definition that looks at every
    category), the domains where a known blind spot of DNS may change the
    verdict."""
    pol = next((p for p in report.policies if p.id == "nos"), None) or \
        next((p for p in report.policies if p.categories is None), None)
    if pol is None:
        return None
    mail_over = mail_under = token_over = self_under = 0
    for r in report.results:
        v = r.verdict[pol.id]
        if v == NOT_SOVEREIGN:
            bad = r.non_sovereign(pol.id)
            if bad and all(d.category in MAIL_ROUTING for d in bad):
                mail_over += 1
            if bad and all(d.service.evidence and all(e.rtype == "TXT" for e in d.service.evidence) for d in bad):
                token_over += 1
        elif v in (SOVEREIGN, "none"):
            cats = {d.category: d for d in r.deps if d.service.status in ("attributed", "self")}
            if "mail_gateway" in cats and "mailbox" not in cats:
                mail_under += 1
            if any(d.service.status == "self" for d in r.deps):
                self_under += 1
    return DnsLimits(pol, mail_over, mail_under, token_over, self_under)


def dns_limit_lines(lim: DnsLimits, t: Any) -> list[str]:
    n = lambda k: f"{fmt_int(k, t.lang)} {t.noun('domain', k)}"  # noqa: E731
    return [t("limit_mail", over=n(lim.mail_over), under=n(lim.mail_under)),
            t("limit_token", over=n(lim.token_over)),
            t("limit_self", under=n(lim.self_under))]
