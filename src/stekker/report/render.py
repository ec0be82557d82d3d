"""HTML (Jinja2, autoescaped, no scripts) and PDF (headless Chromium) of
the scan report; the environment, the policy, the formatters and Chromium
are the shared toolkit in :mod:`stekker.render`.

Everything in DNS is attacker-controlled: the environment autoescapes every
template, no value is ever placed in a script, style or URL context, and the
page carries a Content-Security-Policy that allows no scripts at all (the
only inline style is the report's own stylesheet, allowed by its hash).
Charts are inline SVG generated here, with title/desc for screen readers.

Size (just over 400 lines): the HTML context of the report and of its
organisation pages, one dict per page from the same ``Strings``; the
toolkit (environment, policy, formatters, Chromium) is :mod:`stekker.render`.
"""

from __future__ import annotations

import datetime as _dt
from importlib import resources
from typing import Any

import jinja2

from stekker.dates import as_datetime
from stekker.i18n import LANGS, _
from stekker.judge import HOST_ABSENT, NOT_SOVEREIGN, HostResult, load_policies
from stekker.judge.domain import LIKELY_KEY
from stekker.render import (  # noqa: F401 - find_chromium, run_chromium, write_pdf: re-exported for callers
    RenderError,
    csp,
    environment,
    find_chromium,
    fmt_datetime,
    run_chromium,
    style_hash,
    write_pdf,
)
from stekker.text import visible  # noqa: F401 - re-exported (report.terminal)

from .aggregate import (
    Report,
    Tally,
    category_rows,
    multi_rows,
    report_data,
)
from .compare import Comparison
from .figures import (  # noqa: F401 - fmt_int, fmt_pct: the shared formatters (re-exported)
    base_text,
    compare_company_rows,
    compare_share_rows,
    count_of,
    dns_limit_lines,
    excluded_text,
    fmt_int,
    fmt_pct,
    headline_figures,
    nos_differences,
    nos_published_text,
    nos_stekker_text,
)

PER_DOMAIN_LIMIT = 400  # the per-domain table is in the HTML up to this many domains
HOSTS_LIMIT = 400  # the list of extra hosts is in the HTML up to this many hosts


def _template_text(name: str) -> str:
    return resources.files("stekker.report").joinpath("templates", name).read_text("utf-8")


def _env() -> jinja2.Environment:
    return environment(jinja2.FunctionLoader(lambda name: _template_text(name)))


class Strings:
    def __init__(self, lang: str):
        if lang not in LANGS:
            raise RenderError(_("unknown language {lang!r}; use nl or en").format(lang=lang))
        self.lang = lang
        self.data = report_data()

    def __call__(self, key: str, **kw: Any) -> str:
        entry = self.data["strings"].get(key)
        if entry is None:
            raise RenderError(_("missing string {key!r}").format(key=key))
        text = entry.get(self.lang) or entry["en"]
        # the values are data (organisation names, labels, hosts): their control and bidi characters
        # are shown, never sent to a terminal or hidden in a page (explore-f H2)
        return text.format(**{k: visible(v) if isinstance(v, str) else v for k, v in kw.items()}) if kw else text

    def noun(self, key: str, n: int | float | None) -> str:
        """The noun for a count: ``1 dag``, ``2 dagen``."""
        forms = self.data["plurals"][key]
        one, other = forms.get(self.lang) or forms["en"]
        return one if n == 1 else other

    def count(self, key: str, n: int) -> str:
        """``1 day``, ``13.058 domeinen``."""
        return f"{fmt_int(n, self.lang)} {self.noun(key, n)}"

    def finding(self, policy: Any) -> dict[str, str]:
        """What a definition's share counts (figures.finding)."""
        from .figures import finding

        return finding(self, policy)

    def explanation_by(self, e: Any) -> str:
        """Who gave an explanation and when, and its end date - marked expired once passed (the
        report's HTML, the organisation page and the terminal: one line; the site marks it too)."""
        text = f"{self('by')} {e.by or '–'}, {e.date or '–'}"
        if getattr(e, "expires", None):
            text += "; " + self("explanation_expired" if e.expired() else "explanation_until", expires=e.expires)
        return text

    def message(self, w: Any) -> str:
        """A meta warning in this language: a :class:`stekker.text.Message`
        by its key (``messages:``), any other text as it is."""
        key = getattr(w, "key", None)
        entry = self.data.get("messages", {}).get(key) if key else None
        text = (entry.get(self.lang) or entry.get("en")) if entry is not None else None
        if text is None:  # no text in this language (a note's English is its own text): as it is
            return str(w)
        args = dict(w.args)
        state = self.data.get("scan_states", {}).get(args.get("state")) if isinstance(args.get("state"), str) else None
        if state is not None:  # a scan's state in this language ("heeft de status interrupted": field trial 11)
            args["state"] = state.get(self.lang) or state.get("en")
        if key in ("input_rejected", "input_rejected_cut") and isinstance(args.get("kinds"), str):
            args["kinds"] = ", ".join(self._issue_kind(part) for part in args["kinds"].split(", "))
        try:
            return text.format(**args)
        except (KeyError, IndexError, ValueError):  # a message whose values do not fit: its own English
            return str(w)

    def _issue_kind(self, part: str) -> str:
        """``invalid 2`` (an input issue's kind and its count) in this language: ``ongeldig 2``."""
        kind, _sep, count = part.rpartition(" ")
        entry = self.data.get("issue_kinds", {}).get(kind)
        return f"{entry.get(self.lang) or entry.get('en')} {count}" if entry is not None else part

    def note(self, s: Any) -> str:
        """A service's note in this language (its parts as messages; a note
        stored without them, by an older stekker, as it is)."""
        if s.note_msgs:
            from stekker.attribute.model import shown_name
            from stekker.text import Message

            def localised(m: Any) -> Any:  # a provider or category named in a note, in this language
                args = dict(m.args)
                if isinstance(args.get("provider"), str):
                    args["provider"] = shown_name(args["provider"], self.lang)  # "zelf gehost op X"
                if isinstance(args.get("kinds"), str):  # "spf, txt" -> "SPF-include, verificatietoken"
                    args["kinds"] = ", ".join(self.evidence_kind(k.strip()) for k in args["kinds"].split(","))
                if isinstance(args.get("category"), str):
                    args["category"] = self.category(args["category"])  # "mailbox" -> its name
                if m.key in ("note_dns_error", "note_lookup_error") and isinstance(args.get("kind"), str):
                    args["kind"] = self.error_kind(args["kind"])  # "servfail" -> "the name server reported ..."
                return Message(m.key, str(m), **args) if args != m.args else m

            return "; ".join(self.message(localised(m)) for m in s.note_msgs)
        return s.note or ""

    def verdict(self, v: str) -> str:
        e = self.data["verdicts"].get(v, {})
        return e.get(self.lang) or e.get("en") or v

    def host_verdict(self, v: str) -> str:
        """Verdict of an extra host (``nxdomain``: the name has no address)."""
        return self("host_absent") if v == HOST_ABSENT else self.verdict(v)

    def host_provider(self, key: str, name: str | None = None) -> str:
        """The shown name of a provider key (a domain's service, an extra
        host, a row of a provider table), or its state in words; a server on
        a provider's network reads "self-hosted on <provider>" in this language."""
        from stekker.attribute.model import shown_name

        if key == "self":
            return self("self")
        if key == "?":
            return self("host_unrecognised")
        if key == "error":
            return self.verdict("error")
        if key == "absent":
            return self("host_absent")
        if key.endswith(LIKELY_KEY):  # weak evidence only: "likely Microsoft" wherever it is named (review 28 M4)
            from stekker.attribute.model import LIKELY

            base = name or key[: -len(LIKELY_KEY)]
            return shown_name(base if base.startswith(LIKELY) else LIKELY + base, self.lang)
        return shown_name(name, self.lang) if name else key

    def change_side(self, key: str | None, name: str | None) -> str:
        """One side of a change between two scans: the provider's shown name,
        or the state in words (a DNS error, not recognised, none, the domain
        does not exist); "–" for nothing."""
        if name:
            return self.host_provider(key or "", name)
        if not key:
            return "–"
        entry = self.data["change_states"].get(key)
        return (entry.get(self.lang) or entry["en"]) if entry else key

    def error_kind(self, kind: Any) -> str:
        """Why a DNS question failed (``servfail``, an :class:`~stekker.evidence.ErrorKind`) in
        words; a kind without words as it is."""
        k = str(getattr(kind, "value", kind) or "error")
        e = self.data.get("error_kinds", {}).get(k)
        return (e.get(self.lang) or e.get("en")) if e else k

    def evidence_kind(self, kind: str) -> str:
        """A kind of evidence named in a note (``spf``) in words; an id without
        words as it is."""
        e = self.data.get("evidence_kinds", {}).get(kind)
        return (e.get(self.lang) or e.get("en")) if e else kind

    def category(self, cid: str) -> str:
        if cid == "host":
            return self("host")
        if cid == "domain":  # a change of the domain as a whole (compare: error, existence)
            return self("domain")
        for r in self.data["categories"]:
            if r["id"] == cid:
                return (r["name"].get(self.lang) or r["name"]["en"]).strip()
        return cid

    def absent(self, cid: str) -> str:
        """A domain without the category's service, in the category's words ("no mail (no MX)");
        an extra host without an address is "no address"."""
        if cid == "host":
            return self("host_absent")
        for r in self.data["categories"]:
            if r["id"] == cid and r.get("absent"):
                return r["absent"].get(self.lang) or r["absent"]["en"]
        return self.change_side("absent", None)

    def plain(self, cid: str) -> str:
        for r in self.data["categories"]:
            if r["id"] == cid:
                return r["plain"].get(self.lang) or r["plain"]["en"]
        return cid

    def hhi_band(self, h: float | None) -> str:
        if h is None:
            return ""
        for b in self.data["hhi"]["bands"]:
            if h < b["below"]:
                return b.get(self.lang) or b["en"]
        return ""


def bar_chart(rows: list[tuple[str, float | None, str]], title: str, desc: str, uid: str,
              width: int = 640, color: str = "#a4161a") -> dict[str, Any]:
    """Geometry of a horizontal bar chart; rows are (label, share 0..1, value text).
    Rendered by the ``bars`` macro (escaping is the template's job)."""
    label_w = 290
    bar_w = width - label_w - 70
    row_h = 26
    bars = []
    for i, (label, share, text) in enumerate(rows):
        y = 8 + i * row_h
        w = 0 if share is None else max(1.0, bar_w * share) if share > 0 else 0
        bars.append({"label": label, "y": y, "w": round(w, 1), "text": text,
                     "ty": y + 15, "tx": label_w + round(w, 1) + 6})
    return {"uid": uid, "title": title, "desc": desc, "width": width, "height": 16 + len(rows) * row_h,
            "label_w": label_w, "bar_w": bar_w, "bars": bars, "color": color}


def _age_days(measured: _dt.datetime | None, now: _dt.datetime) -> int | None:
    if measured is None:
        return None
    return max(0, (now.date() - measured.date()).days)


_ts = as_datetime  # the name report.figures and report.terminal use


def context(report: Report, lang: str, comparison: Comparison | None = None,
            now: _dt.datetime | None = None) -> dict[str, Any]:
    t = Strings(lang)
    now = now or _dt.datetime.now(_dt.timezone.utc)
    meta = {k: None for k in ("scan_id", "kb_version", "input_path", "input_sha256", "label",
                              "started_at", "finished_at", "tool_version", "datasets", "warnings")}
    meta.update(report.meta)
    measured = _ts(meta.get("finished_at")) or _ts(meta.get("started_at"))
    cfg = report.policies[0].config if report.policies else load_policies()
    first = report.policies[0] if report.policies else None

    def cell(tl: Tally) -> dict[str, Any]:
        return {"n": tl.not_sovereign, "d": tl.decided, "pct": fmt_pct(tl.share, lang),
                "share": tl.share, "unknown": tl.counts["unknown"], "error": tl.counts["error"],
                "nxdomain": tl.counts["nxdomain"], "total": tl.total}

    policy_rows = [{"p": p, "title": p.title(lang), "short": p.short_title(lang), "orgs": cell(report.organisations[p.id]),
                    "doms": cell(report.domains[p.id]), "f": t.finding(p), "col": t.finding(p)["column"]}
                   for p in report.policies]
    # bars of the headline figures (domains: comparable with NOS, always there), labelled with the finding
    chart_pol = bar_chart(
        [(r["col"], r["doms"]["share"], f'{r["doms"]["pct"]} ({count_of(r["doms"]["n"], r["doms"]["d"], t)})')
         for r in policy_rows],
        t("chart_policies_alt"), t("caption_policies"), "chart-policies")
    figures = [{"fig": f, "pct": fmt_pct(f.share, lang), "label": f.finding["label"],
                "definition": t("fig_definition", definition=f.finding["definition"]),
                "base": base_text(f.tally, t), "excluded": excluded_text(f.tally, t),
                "orgs": (t("fig_orgs", pct=fmt_pct(f.org_tally.share, lang),
                           count=count_of(f.org_tally.not_sovereign, f.org_tally.decided, t))
                         if f.org_tally is not None else None),
                "quotes": [(lg, q) for lg, q in f.quotes.items()]}
               for f in headline_figures(report, t)]
    nos = None
    if report.nos is not None:
        nos = {"c": report.nos, "definition": t.finding(report.nos.policy)["definition"],
               "rows": [{"label": r.label.get(lang) or r.label["en"], "stekker": nos_stekker_text(r, t),
                         "published": nos_published_text(r, lang), "kind": r.kind} for r in report.nos.rows],
               "differences": nos_differences(report, t), "sources": report.nos.data["study"]["sources"],
               "provider_note": t("nos_provider_note", n=fmt_int(report.nos.existing, lang),
                                  partial=t.count("domain", report.nos.partial))}
    limits = None
    if report.limits is not None:
        limits = {"definition": t.finding(report.limits.policy)["definition"],
                  "lines": dns_limit_lines(report.limits, t)}
    prov_top = report.providers_overall[:12]
    chart_prov = bar_chart([(_pname(p, t), p.share, fmt_pct(p.share, lang)) for p in prov_top],
                           t("chart_providers_alt"), t("providers_intro", n=fmt_int(report.providers_denominator, lang),
                                                        partial=t.count("domain", report.providers_partial)),
                           "chart-providers", color="#154273")
    cat_rows = []
    for row, cats in category_rows():
        pres = report.category_presence[row]
        cat_rows.append({"id": row, "name": t.category(row), "sub": row in ("mail_inbound", "mail_gateway", "mailbox"),
                         "with": pres.get("identified", 0), "unknown": pres.get("unknown", 0),
                         "error": pres.get("error", 0),
                         "cells": [cell(report.by_category[row][p.id]) for p in report.policies]})
    sector_rows = [{"name": s, "domains": report.sector_domain_counts[s],
                    "orgs": [cell(report.by_sector_orgs[s][p.id]) for p in report.policies],
                    "doms": [cell(report.by_sector[s][p.id]) for p in report.policies]}
                   for s in report.by_sector]
    multi = multi_rows()
    markets = []
    for row, _c in category_rows():
        m = report.markets[row]
        markets.append({"id": row, "name": t.category(row), "m": m, "multi": row in multi,
                        "top": [{"name": _pname(s, t), "pct": fmt_pct(s.share, lang), "n": s.count,
                                 "country": s.jurisdiction or ""} for s in m.shares[:6]],
                        "hhi": fmt_int(round(m.hhi), lang) if m.hhi is not None else None,
                        "band": t.hhi_band(m.hhi)})
    # per provider: which categories, how many domains
    per_provider = []
    for p in report.providers_overall[:15]:
        if p.key == "self":
            continue
        cats: dict[str, int] = {}
        for r in report.results:
            seen = set()
            for d in r.deps:
                if d.provider_key == p.key and d.category not in seen:
                    seen.add(d.category)
                    cats[d.category] = cats.get(d.category, 0) + 1
        verdicts = {}
        for pol in report.policies:
            v = None
            for r in report.results:
                for d in r.deps:
                    if d.provider_key == p.key and d.verdicts.get(pol.id):
                        v = d.verdicts[pol.id]
                        break
                if v:
                    break
            verdicts[pol.id] = v
        seal_l = next((d.seal for r in report.results for d in r.deps if d.provider_key == p.key and d.seal), None)
        per_provider.append({"p": p, "name": _pname(p, t), "pct": fmt_pct(p.share, lang),
                             "seal": ", ".join(f"{k} {v.label()}" for k, v in (seal_l or {}).items()),
                             "cats": [(t.category(c), n) for c, n in sorted(cats.items(), key=lambda kv: -kv[1])],
                             "verdicts": verdicts})
    seal_levels = sorted({lab for c in report.seal.values() for lab in c},
                         key=lambda x: (x == "?", x))
    datasets = []
    for ds in meta.get("datasets") or []:
        if isinstance(ds, dict):
            datasets.append({"name": ds.get("name"), "version": ds.get("version"),
                             "fetched": _fmt_date(_ts(ds.get("fetched_at") or ds.get("data_date")
                                                      or ds.get("imported_at")), lang),
                             "source": ds.get("source")})
    excluded = {
        "ok": report.status_counts.get("ok", 0), "error": report.status_counts.get("error", 0),
        "nxdomain": report.status_counts.get("nxdomain", 0),
        "failed_queries": report.domains_with_failed_queries, "no_org": report.domains_without_org,
        "dns_only": report.dns_only,
    }
    hosts = host_context(report, t, lang)
    headline = figures[0]["quotes"][0][1] if figures else None
    return {
        "lang": lang, "t": t, "r": report, "meta": meta, "cfg": cfg,
        "policy_rows": policy_rows, "chart_pol": chart_pol, "chart_prov": chart_prov,
        "cat_rows": cat_rows, "sector_rows": sector_rows, "markets": markets,
        "per_provider": per_provider, "seal_levels": seal_levels, "datasets": datasets,
        "excluded": excluded, "headline": headline, "first": first,
        "measured": _fmt_date(measured, lang), "age": _age_days(measured, now),
        "as_of": report.as_of.isoformat(), "generated": _fmt_date(now, lang),
        "fmt_pct": lambda x: fmt_pct(x, lang), "fmt_int": lambda x: fmt_int(x, lang),
        "comparison": comparison,
        "compare_shares": compare_share_rows(comparison, report.policies, t) if comparison is not None else [],
        "compare_companies": compare_company_rows(comparison, t) if comparison is not None else [],
        "policy_titles": {p.id: p.short_title(lang) for p in report.policies},
        "per_domain": report.results if len(report.results) <= PER_DOMAIN_LIMIT else None,
        "per_domain_limit": PER_DOMAIN_LIMIT, "NOT_SOVEREIGN": NOT_SOVEREIGN,
        "set_rows": [(name, cfg.set_title(name, lang), sorted(codes)) for name, codes in cfg.country_sets.items()],
        "seal_source": _seal_source(), "version": meta.get("tool_version") or _version(),
        "hosts": hosts, "figures": figures, "nos": nos, "limits": limits,
    }


def share_text(count: int, denominator: int, lang: str) -> str:
    """NOS style: ``40% (28/70)``."""
    return f"{fmt_pct(count / denominator if denominator else None, lang)} ({fmt_int(count, lang)}/{fmt_int(denominator, lang)})"


def host_row(h: HostResult, t: Strings, policies: list[Any]) -> dict[str, Any]:
    """One extra host, ready to print (every value still to be escaped)."""
    s = h.service
    prov = t.host_provider(h.provider_key, s.provider_name or s.provider)
    chain = h.chain or []
    if h.provider_key == "self":
        company = t("self")
    elif chain:
        tops = h.primary.controllers if h.primary else chain[-1:]  # parents in joint control: "A + B"
        company = (chain[0].name if [e.id for e in tops] == [chain[0].id]
                   else f"{chain[0].name} → {' + '.join(e.name for e in tops)}")
    else:
        company = (s.company or "–") if h.identified else "–"
    juris = (h.primary.jurisdiction if h.primary else s.jurisdiction) if h.identified else None
    further = [t.host_provider(d.provider_key, d.service.provider_name) for d in h.deps[1:]]
    verdicts = []
    for p in policies:
        v = h.verdict[p.id]
        verdicts.append({"v": v, "label": t.host_verdict(v)})
    first = h.primary.verdicts.get(policies[0].id) if (h.primary and policies) else None
    return {"host": h.host, "domain": h.domain, "orgs": ", ".join(h.organisations), "provider": prov,
            "further": ", ".join(further), "company": company, "jurisdiction": juris or "?",
            "verdicts": verdicts, "reason": first.reason(t.lang) if first else t.note(s),
            "evidence": [(e.qname, e.rtype, e.value) for e in s.evidence[:4]], "note": t.note(s),
            "more_evidence": max(0, len(s.evidence) - 4)}


def host_context(report: Report, t: Strings, lang: str) -> dict[str, Any] | None:
    """The numbers of the extra-hosts section (None: the scan has no extra hosts)."""
    g = report.hosts_overall
    if g is None:
        return None
    pols = [p for p in report.policies if p.id in report.host_policies]

    def shares(grp, n=None):
        return [{"key": s.key, "name": t.host_provider(s.key, s.name), "count": s.count,
                 "text": share_text(s.count, s.denominator, lang), "share": s.share,
                 "parent": s.parent or "", "company": s.company or "", "country": s.jurisdiction or ""}
                for s in grp.shares[:n]]

    def cell(tl: Tally) -> dict[str, Any]:
        return {"n": tl.not_sovereign, "d": tl.decided, "pct": fmt_pct(tl.share, lang), "share": tl.share,
                "unknown": tl.counts["unknown"], "error": tl.counts["error"], "absent": tl.counts[HOST_ABSENT],
                "total": tl.total}

    overall = shares(g)
    chart = bar_chart([(x["name"], x["share"], x["text"]) for x in overall[:12]],
                      t("chart_hosts_alt"), t("hosts_caption_providers", n=fmt_int(g.present, lang)),
                      "chart-hosts", color="#154273")
    sectors = [{"name": t("no_sector") if s == "-" else s, "hosts": grp.hosts, "present": grp.present,
                "top": ", ".join(f'{x["name"]} {x["text"]}' for x in shares(grp, 3)),
                "cells": [cell(grp.tallies[p.id]) for p in pols]}
               for s, grp in report.hosts_by_sector.items()]
    limited = report.hosts if len(report.hosts) <= HOSTS_LIMIT else report.hosts[:HOSTS_LIMIT]
    skipped = [p for p in report.policies if p.id not in report.host_policies]
    return {"g": g, "policies": pols, "skipped": ", ".join(p.short_title(lang) for p in skipped),
            "policy_rows": [{"p": p, "title": p.title(lang), "short": p.short_title(lang),
                             "f": t.finding(p), "col": t.finding(p)["column"],
                             "cell": cell(g.tallies[p.id])} for p in pols],
            "shares": overall, "chart": chart, "sectors": sectors,
            "rows": [host_row(h, t, pols) for h in limited], "omitted": len(report.hosts) - len(limited)}


def _version() -> str:
    from stekker import __version__

    return __version__


def _seal_source() -> str:
    from stekker.judge import seal_table

    return seal_table()["source"]


def _pname(p: Any, t: Strings) -> str:
    return t.host_provider(p.key, p.name)


_fmt_date = fmt_datetime  # the name report.figures uses


def _css() -> tuple[str, str]:
    css = _template_text("report.css")
    return css, style_hash(css)


def render_html(report: Report, lang: str = "en", comparison: Comparison | None = None,
                now: _dt.datetime | None = None) -> str:
    ctx = context(report, lang, comparison, now)
    css, h = _css()
    ctx.update(css=css, csp=csp(h))
    return _env().get_template("report.html").render(**ctx)


def render_org_html(report: Report, organisation: str, lang: str = "en",
                    now: _dt.datetime | None = None) -> str:
    ctx = context(report, lang, None, now)
    t = ctx["t"]
    name = report.find_organisation(organisation)
    if name is None:
        raise RenderError(t("org_not_found", name=repr(organisation)))
    css, h = _css()
    results = report.org_results(name)
    first = report.policies[0]
    rows = []
    for r in results:
        for d in r.deps:
            if d.service.status == "absent":
                continue
            ex = [e for e in r.explanations if e.category == d.category]
            rows.append({"r": r, "d": d, "ex": ex})
    n_not = sum(1 for x in rows if x["d"].verdicts[first.id] and x["d"].verdicts[first.id].verdict == NOT_SOVEREIGN)
    pols = [p for p in report.policies if p.id in report.host_policies]
    org_hosts = [host_row(x, t, pols) for x in report.org_hosts(name)]
    hp = pols[0] if pols else None
    n_hosts_not = sum(1 for x in report.org_hosts(name) if hp and x.verdict[hp.id] == NOT_SOVEREIGN)
    ctx.update(org_hosts=org_hosts, org_host_policies=pols, org_host_policy=hp, n_hosts_not=n_hosts_not)
    ctx.update(css=css, csp=csp(h), org=name, org_results=results, org_rows=rows,
               org_verdicts=report.org_verdicts[name], n_not=n_not, n_total=len(rows),
               org_general_ex=[e for r in results for e in r.explanations if not e.category])
    return _env().get_template("organisation.html").render(**ctx)
