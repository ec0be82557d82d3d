"""Rich terminal tables of a report (same numbers as the HTML).

Every value from DNS or the input is passed to Rich as ``Text`` (never as
markup), so a hostile organisation name or TXT record cannot inject styles.
"""

from __future__ import annotations

import datetime as _dt

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .aggregate import NOT_SOVEREIGN, Report, Tally, category_rows, multi_rows
from .compare import Comparison
from .render import Strings, _ts, fmt_int, fmt_pct, host_row, share_text, visible

HOSTS_PRINTED = 200  # the terminal lists up to this many extra hosts (all are in the exports)


def _share(tl: Tally, lang: str) -> Text:
    txt = Text(fmt_pct(tl.share, lang), style="bold red" if tl.share else "")
    txt.append(f" ({tl.not_sovereign}/{tl.decided})", style="dim")
    return txt


def _T(x: object) -> Text:
    return Text("" if x is None else str(x))


def print_report(report: Report, lang: str = "en", console: Console | None = None,
                 comparison: Comparison | None = None, top: int = 10) -> None:
    c = console or Console()
    t = Strings(lang)
    meta = report.meta
    measured = _ts(meta.get("finished_at")) or _ts(meta.get("started_at"))
    age = (_dt.datetime.now(_dt.timezone.utc).date() - measured.date()).days if measured else None
    head = Text()
    head.append(t("title"), style="bold")
    head.append(f"\n{t('scan')} {meta.get('scan_id', '–')}")
    if meta.get("label"):
        head.append(" (")
        head.append(str(meta["label"]))
        head.append(")")
    head.append(f" · {t('measured')}: {measured.strftime('%Y-%m-%d %H:%M UTC') if measured else '–'}")
    if age is not None:
        head.append(f" · {t('data_age')}: {age} {t('days')}")
    head.append(f"\n{t('judged_as_of')}: {report.as_of.isoformat()} · {t('kb_version')}: {meta.get('kb_version') or '–'}")
    head.append(f" · {t('domains')}: {report.domain_count} · {t('organisations')}: {report.organisation_count}")
    c.print(head)
    for w in meta.get("warnings") or []:
        c.print(Text("! " + str(w), style="yellow"))

    tb = Table(title=t("policies_side_n"), caption=t("caption_policies"), caption_justify="left")
    tb.add_column(t("policy"))
    tb.add_column(t("organisations"), justify="right")
    tb.add_column(t("domains"), justify="right")
    tb.add_column(t("excl_unknown"), justify="right")
    tb.add_column(t("excl_error"), justify="right")
    tb.add_column(t("excl_nxdomain"), justify="right")
    tb.add_column(t("total"), justify="right")
    for p in report.policies:
        d = report.domains[p.id]
        tb.add_row(p.title(lang), _share(report.organisations[p.id], lang), _share(d, lang),
                   str(d.counts["unknown"]), str(d.counts["error"]), str(d.counts["nxdomain"]), str(d.total))
    c.print(tb)
    c.print(Text(f"{t('status_ok')}: {report.status_counts.get('ok', 0)} · {t('status_error')}: "
                 f"{report.status_counts.get('error', 0)} · {t('status_nxdomain')}: "
                 f"{report.status_counts.get('nxdomain', 0)} · {t('failed_queries')}: "
                 f"{report.domains_with_failed_queries} · {t('no_org')}: {report.domains_without_org}", style="dim"))

    if any(report.unknown_reasons.values()):
        tb = Table(title=t("unknown_reasons"))
        tb.add_column(t("policy"))
        tb.add_column(t("reason"))
        tb.add_column(t("domains"), justify="right")
        for p in report.policies:
            for n, v in report.unknown_reasons.get(p.id, [])[:5]:
                tb.add_row(p.short_title(lang), _T(v.reason(lang)), str(n))
        c.print(tb)

    tb = Table(title=t("by_category"))
    tb.add_column(t("category"))
    tb.add_column(t("with_service"), justify="right")
    tb.add_column(t("unidentified"), justify="right")
    tb.add_column(t("excl_error"), justify="right")
    for p in report.policies:
        tb.add_column(p.short_title(lang), justify="right")
    for row, _cats in category_rows():
        pres = report.category_presence[row]
        name = t.category(row)
        if row in ("mail_inbound", "mail_gateway", "mailbox"):
            name = "  " + name
        tb.add_row(name, str(pres.get("identified", 0)), str(pres.get("unknown", 0)), str(pres.get("error", 0)),
                   *[_share(report.by_category[row][p.id], lang) for p in report.policies])
    c.print(tb)

    tb = Table(title=t("by_sector") + f" ({t('domains').lower()})")
    tb.add_column(t("sector"))
    tb.add_column(t("domains"), justify="right")
    tb.add_column(t("organisations"), justify="right")
    for p in report.policies:
        tb.add_column(p.short_title(lang), justify="right")
    for s, tallies in report.by_sector.items():
        orgs = next(iter(report.by_sector_orgs[s].values())).total if report.by_sector_orgs[s] else 0
        tb.add_row(_T(t("no_sector") if s == "-" else s), str(report.sector_domain_counts[s]), str(orgs),
                   *[_share(tallies[p.id], lang) for p in report.policies])
    c.print(tb)

    tb = Table(title=t("providers"), caption=t("providers_intro", n=fmt_int(report.providers_denominator, lang)),
               caption_justify="left")
    tb.add_column(t("provider"))
    tb.add_column(t("parent"))
    tb.add_column(t("country"))
    tb.add_column(t("domains"), justify="right")
    tb.add_column(t("share"), justify="right")
    for ps in report.providers_overall[:top]:
        tb.add_row(_T(t("self") if ps.key == "self" else ps.name), _T(ps.parent), _T(ps.jurisdiction),
                   str(ps.count), fmt_pct(ps.share, lang))
    c.print(tb)

    tb = Table(title=t("by_parent"))
    tb.add_column(t("parent"))
    tb.add_column(t("country"))
    tb.add_column(t("domains"), justify="right")
    tb.add_column(t("share"), justify="right")
    for ps in report.parents_overall[:top]:
        tb.add_row(_T(ps.name), _T(ps.jurisdiction or "?"), str(ps.count), fmt_pct(ps.share, lang))
    c.print(tb)

    tb = Table(title=t("markets"))
    tb.add_column(t("category"))
    tb.add_column("n", justify="right")
    tb.add_column(t("top_providers"))
    tb.add_column(t("hhi"), justify="right")
    multi = multi_rows()
    for row, _cats in category_rows():
        m = report.markets[row]
        tops = ", ".join(f"{t('self') if s.key == 'self' else s.name} {fmt_pct(s.share, lang)}" for s in m.shares[:4])
        hhi = "–" if m.hhi is None else f"{fmt_int(round(m.hhi), lang)} ({t.hhi_band(m.hhi)})"
        tb.add_row(t.category(row), str(m.denominator), _T(tops), hhi if row not in multi else "–")
    c.print(tb)

    print_answer_kinds(report, lang, c)
    print_hosts(report, lang, c)

    if comparison is not None:
        print_comparison(comparison, lang, c)


def print_answer_kinds(report: Report, lang: str = "en", console: Console | None = None) -> None:
    """Issue 12: how many verdicts rest on a weaker kind of answer (the network
    operator of the addresses, weak evidence only, a server on a provider's
    network); a small block of its own, only when there are any."""
    c = console or Console()
    t = Strings(lang)
    kinds = getattr(report, "answer_kinds", {}) or {}
    if not any(k.get("network") or k.get("likely") or k.get("infrastructure") for k in kinds.values()):
        return
    tb = Table(title=t("answer_kinds_title"))
    tb.add_column(t("answer_kinds_policy"))
    tb.add_column(t("answer_kinds_verdicts"), justify="right")
    tb.add_column(t("answer_kinds_network"), justify="right")
    tb.add_column(t("answer_kinds_likely"), justify="right")
    tb.add_column(t("answer_kinds_infrastructure"), justify="right")
    for p in report.policies:
        k = kinds.get(p.id)
        if k is None:
            continue
        tb.add_row(p.short_title(lang), fmt_int(k.get("verdicts", 0), lang), fmt_int(k.get("network", 0), lang),
                   fmt_int(k.get("likely", 0), lang), fmt_int(k.get("infrastructure", 0), lang))
    c.print(tb)
    c.print(Text(t("answer_kinds_note"), style="dim"))


def print_comparison(cmp: Comparison, lang: str = "en", console: Console | None = None) -> None:
    c = console or Console()
    t = Strings(lang)
    c.print(Text(f"{t('compare_title')}: {t('scan')} {cmp.old_label} → {cmp.new_label} "
                 f"({cmp.common} {t('domains').lower()})", style="bold"))
    for title, items in ((t("moved"), cmp.moved), (t("new_deps"), cmp.new), (t("vanished"), cmp.vanished),
                         (t("not_comparable"), cmp.not_comparable)):
        tb = Table(title=f"{title} ({len(items)})")
        tb.add_column(t("organisation"))
        tb.add_column(t("domain"))
        tb.add_column(t("category"))
        tb.add_column(t("from"))
        tb.add_column(t("to"))
        for ch in items[:50]:
            cat = t.category(ch.category) + (f" {visible(ch.host)}" if ch.host else "")
            tb.add_row(_T(", ".join(ch.organisations)), _T(ch.domain), _T(cat),
                       _T(ch.old_name or ch.old or "–"), _T(ch.new_name or ch.new or "–"))
        if items:
            c.print(tb)
        else:
            c.print(Text(f"{title}: {t('none_found')}"))
    c.print(Text(f"{t('verdict_changes')}: {len(cmp.verdict_changes)}"))
    c.print(Text(f"{t('added_domains')}: {len(cmp.added_domains)}"))
    c.print(Text(f"{t('removed_domains')}: {len(cmp.removed_domains)}"))


def print_organisation(report: Report, name: str, lang: str = "en", console: Console | None = None) -> None:
    c = console or Console()
    t = Strings(lang)
    results = report.org_results(name)
    c.print(Text(t("org_title", org=name), style="bold"))
    first = report.policies[0]
    tb = Table(title=t("policies_side_n"))
    tb.add_column(t("policy"))
    tb.add_column(t("verdict"))
    for p in report.policies:
        tb.add_row(p.title(lang), t.verdict(report.org_verdicts[name][p.id]))
    c.print(tb)
    tb = Table(title=t("service"))
    tb.add_column(t("domain"))
    tb.add_column(t("service"))
    tb.add_column(t("provider"))
    tb.add_column(t("org_controlled_by"))
    for p in report.policies:
        tb.add_column(p.short_title(lang))
    tb.add_column(t("reason") + f" ({first.short_title(lang)})")
    for r in results:
        for d in r.deps:
            s = d.service
            prov = t("self") if s.status == "self" else (s.provider_name or s.provider or t.verdict(s.status))
            ctrl = f"{d.chain[-1].name} ({d.chain[-1].country or '?'})" if d.chain else "–"
            cells = []
            for p in report.policies:
                v = d.verdicts.get(p.id)
                cells.append(Text(t.verdict(v.verdict) if v else "", style="red" if v and v.verdict == NOT_SOVEREIGN else ""))
            v0 = d.verdicts.get(first.id)
            tb.add_row(_T(r.domain), t.plain(d.category), _T(prov), _T(ctrl), *cells, _T(v0.reason(lang) if v0 else ""))
    c.print(tb)
    hosts = report.org_hosts(name)
    if hosts:
        pols = [p for p in report.policies if p.id in report.host_policies]
        if pols:
            n = sum(1 for h in hosts if h.verdict[pols[0].id] == NOT_SOVEREIGN)
            c.print(Text(t("org_hosts_summary", policy=pols[0].title(lang), n=n, total=len(hosts))))
        c.print(_host_table(t, [host_row(h, t, pols) for h in hosts], pols, False, t("hosts_title")))
    for r in results:
        for e in r.explanations:
            line = Text(f"{t('explanation')} ({r.domain}{', ' + e.category if e.category else ''}): ", style="bold")
            line.append(e.text)
            line.append(f" ({t('by')} {e.by or '–'}, {e.date or '–'})", style="dim")
            c.print(line)


def _host_table(t: Strings, rows: list[dict], pols: list, with_org: bool, title: str) -> Table:
    tb = Table(title=title, caption=t("hosts_caption_list"), caption_justify="left")
    # hostnames are evidence: shown whole (the evidence column folds instead)
    tb.add_column(t("host"), overflow="fold", min_width=min(60, max((len(h["host"]) for h in rows), default=10)))
    if with_org:
        tb.add_column(t("organisation"))
    tb.add_column(t("provider"))
    tb.add_column(t("company_parent"))
    tb.add_column(t("jurisdiction"))
    for p in pols:
        tb.add_column(p.short_title(t.lang))
    tb.add_column(t("evidence"), overflow="fold", ratio=1)
    for h in rows:
        prov = _T(h["provider"])
        if h["further"]:
            prov.append(f" ({t('host_further')}: {h['further']})", style="dim")
        cells = [Text(v["label"], style="red" if v["v"] == NOT_SOVEREIGN else "") for v in h["verdicts"]]
        # DNS text: control and bidi characters made visible (no terminal escapes)
        evid = Text("\n".join(visible(f"{q} {rt} {val[:120]}") for q, rt, val in h["evidence"][:2]))
        tb.add_row(_T(visible(h["host"])), *([_T(h["orgs"])] if with_org else []), prov, _T(h["company"]),
                   _T(h["jurisdiction"]), *cells, evid)
    return tb


def print_hosts(report: Report, lang: str = "en", console: Console | None = None) -> None:
    """The extra hosts of the input (nothing when the scan has none)."""
    g = report.hosts_overall
    if g is None:
        return
    c = console or Console()
    t = Strings(lang)
    pols = [p for p in report.policies if p.id in report.host_policies]
    c.print(Text(t("hosts_title"), style="bold"))
    c.print(Text(t("hosts_intro", n=fmt_int(g.hosts, lang), orgs=fmt_int(g.organisations, lang),
                   d=fmt_int(g.present, lang), absent=fmt_int(g.absent, lang)), style="dim"))
    if pols:
        tb = Table(title=t("hosts_title"), caption=t("hosts_caption_policies"), caption_justify="left")
        tb.add_column(t("policy"))
        tb.add_column(t("hosts"), justify="right")
        tb.add_column(t("excl_unknown"), justify="right")
        tb.add_column(t("excl_error"), justify="right")
        tb.add_column(t("host_absent"), justify="right")
        tb.add_column(t("total"), justify="right")
        for p in pols:
            tl = g.tallies[p.id]
            tb.add_row(p.title(lang), _share(tl, lang), str(tl.counts["unknown"]), str(tl.counts["error"]),
                       str(tl.counts["nxdomain"]), str(tl.total))
        c.print(tb)
    else:
        c.print(Text(t("hosts_none_judged")))
    skipped = [p.short_title(lang) for p in report.policies if p.id not in report.host_policies]
    if skipped:
        c.print(Text(t("hosts_skipped", ids=", ".join(skipped)), style="dim"))

    tb = Table(title=t("hosts_providers"), caption=t("hosts_caption_providers", n=fmt_int(g.present, lang)),
               caption_justify="left")
    tb.add_column(t("provider"))
    tb.add_column(t("company_parent"))
    tb.add_column(t("jurisdiction"))
    tb.add_column(t("share"), justify="right")
    for s in g.shares:
        comp = s.company or ""
        if s.parent and s.parent != s.company:
            comp = f"{comp} → {s.parent}" if comp else s.parent
        tb.add_row(_T(t.host_provider(s.key, s.name)), _T(comp), _T(s.jurisdiction or ""),
                   share_text(s.count, s.denominator, lang))
    c.print(tb)

    tb = Table(title=t("hosts_by_sector"))
    tb.add_column(t("sector"))
    tb.add_column(t("hosts"), justify="right")
    tb.add_column(t("top_providers"))
    for p in pols:
        tb.add_column(p.short_title(lang), justify="right")
    for sec, grp in report.hosts_by_sector.items():
        tops = ", ".join(f"{t.host_provider(s.key, s.name)} {share_text(s.count, s.denominator, lang)}"
                         for s in grp.shares[:3])
        tb.add_row(_T(t("no_sector") if sec == "-" else sec), str(grp.hosts), _T(tops),
                   *[_share(grp.tallies[p.id], lang) for p in pols])
    c.print(tb)

    rows = [host_row(h, t, pols) for h in report.hosts[:HOSTS_PRINTED]]
    c.print(_host_table(t, rows, pols, True, t("hosts_list")))
    if len(report.hosts) > HOSTS_PRINTED:
        c.print(Text(t("hosts_omitted", n=fmt_int(len(report.hosts) - HOSTS_PRINTED, lang)), style="dim"))
