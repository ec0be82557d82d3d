"""Rich terminal tables of a report (same numbers as the HTML).

Every value from DNS or the input is passed to Rich as ``Text`` (never as
markup), so a hostile organisation name or TXT record cannot inject styles.

Size (over 400 lines on purpose): one printer per report section, all over
the same Rich helpers (tables fitted to the width, hostile text as ``Text``).
"""

from __future__ import annotations

import datetime as _dt

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .aggregate import NOT_SOVEREIGN, Report, Tally, category_rows, multi_rows
from .compare import Comparison
from .figures import (
    base_text,
    compare_company_rows,
    compare_share_rows,
    count_of,
    dns_limit_lines,
    excluded_text,
    headline_figures,
    nos_differences,
    nos_published_text,
    nos_stekker_text,
)
from .render import Strings, _ts, fmt_int, fmt_pct, host_row, share_text, visible

HOSTS_PRINTED = 200  # the terminal lists up to this many extra hosts (all are in the exports)
PIPE_WIDTH = 160  # width of the report written to a file or pipe when COLUMNS is not set
KEY_WIDTH = 24  # a table's label column may wrap to this width before value columns are stacked


def make_console(file=None) -> Console:
    """The console for a report: the terminal's width on a terminal; in a file
    or pipe ``$COLUMNS`` when set (e.g. ``COLUMNS=80 stekker report | less``),
    else a wide layout."""
    import os
    import sys

    out = file or sys.stdout
    cols = os.environ.get("COLUMNS", "").strip()
    width = int(cols) if cols.isdigit() and 20 <= int(cols) <= 1000 else None
    if width is None and not (hasattr(out, "isatty") and out.isatty()):
        width = PIPE_WIDTH
    return Console(file=file, width=width)


def _share(tl: Tally, lang: str) -> Text:
    if not tl.total:  # nothing to count: a definition that does not look at these services
        return Text("–")
    txt = Text(fmt_pct(tl.share, lang), style="bold red" if tl.share else "")
    txt.append(f" ({fmt_int(tl.not_sovereign, lang)}/{fmt_int(tl.decided, lang)})", style="dim")
    return txt


def _T(x: object) -> Text:
    """A table cell of stored text (organisation, domain, provider names):
    control and bidi characters made visible, never sent to the terminal."""
    return Text("" if x is None else visible(x))


def _plain(x: object) -> str:
    return x.plain if isinstance(x, Text) else ("" if x is None else str(x))


def _longest_line(x: object) -> int:
    return max((len(line) for line in _plain(x).splitlines()), default=0)


def _longest_word(x: object) -> int:
    return max((len(w) for w in _plain(x).split()), default=0)


def print_fit(c: Console, title: str, keys: list[str], values: list[str], rows: list[tuple[list, list]],
              caption: str | None = None, right: bool = True, records: bool = False) -> None:
    """Print a table that fits the console: label columns (``keys``) may wrap;
    value columns (figures) are never cut. When the value columns do not fit
    side by side they are stacked over several tables, each repeating the
    labels (``records=True``: one block per row instead, each value on its own
    line under the row's label, for tables whose columns belong together); a
    figure that still does not fit folds onto the next line (never an
    ellipsis)."""
    def need(idx: list[int]) -> int:
        w = 1
        for j, k in enumerate(keys):
            w += min(max([_longest_line(k)] + [_longest_line(r[0][j]) for r in rows]), KEY_WIDTH) + 3
        for i in idx:
            w += max([_longest_word(values[i])] + [_longest_line(r[1][i]) for r in rows]) + 3
        return w

    if records and need(list(range(len(values)))) > c.width:
        c.print(Text(title, style="bold"))
        for kc, vc in rows:
            c.print(Text(" ".join(_plain(k).strip() for k in kc), style="bold"))
            for h, v in zip(values, vc):
                line = Text(f"   {h}: ")
                line.append(v if isinstance(v, Text) else _T(v))
                c.print(line)
        if caption:
            c.print(Text(caption, style="dim"))
        return
    groups: list[list[int]] = []
    cur: list[int] = []
    for i in range(len(values)):
        if cur and need(cur + [i]) > c.width:
            groups.append(cur)
            cur = [i]
        else:
            cur.append(i)
    groups.append(cur)
    for gi, g in enumerate(groups):
        tt = title if len(groups) == 1 else f"{title} ({gi + 1}/{len(groups)})"
        last = gi == len(groups) - 1
        tb = Table(title=tt, caption=caption if last else None, caption_justify="left", title_justify="left")
        for k in keys:
            tb.add_column(k, overflow="fold")
        for i in g:
            tb.add_column(values[i], justify="right" if right else "left", overflow="fold")
        for kc, vc in rows:
            tb.add_row(*[x if isinstance(x, Text) else _T(x) for x in kc],
                       *[vc[i] if isinstance(vc[i], Text) else _T(vc[i]) for i in g])
        c.print(tb)


def print_headline(report: Report, t: Strings, c: Console) -> None:
    """The headline figures, stacked (any width): the share in red with the
    finding it counts, the count it rests on, what was not counted, the
    organisations' share when the input names organisations, and the
    sentences to quote."""
    lang = t.lang
    c.print(Text(t("headline_title"), style="bold"))
    c.print(Text(t("headline_intro"), style="dim"))
    for f in headline_figures(report, t):
        line = Text()
        line.append(fmt_pct(f.share, lang), style="bold red" if f.share else "bold")
        line.append("  ")
        line.append(f.finding["label"], style="bold")
        line.append(f" ({t('fig_definition', definition=f.finding['definition'])})")
        c.print(line)
        c.print(Text("   " + base_text(f.tally, t) + "; " + excluded_text(f.tally, t), style="dim"))
        if f.org_tally is not None:
            c.print(Text("   " + t("fig_orgs", pct=fmt_pct(f.org_tally.share, lang),
                                    count=count_of(f.org_tally.not_sovereign, f.org_tally.decided, t)), style="dim"))
        for lg, q in f.quotes.items():
            c.print(Text(f"   {lg.upper()}: “{q}”"))
    if report.limits is not None:
        lim = report.limits
        c.print(Text(t("limits_title"), style="bold yellow"))
        c.print(Text(t("limits_intro", definition=t.finding(lim.policy)["definition"]), style="dim"))
        for line in dns_limit_lines(lim, t):
            c.print(Text(" • " + line))


def print_nos(report: Report, t: Strings, c: Console) -> None:
    """stekker's figures next to the NOS figures of January 2026."""
    cmp_ = report.nos
    if cmp_ is None:
        return
    lang = t.lang
    rows = []
    for r in cmp_.rows:
        label = r.label.get(lang) or r.label["en"]
        rows.append(([("  " if r.kind == "provider" else "") + label],
                     [Text(nos_stekker_text(r, t), style="red"), nos_published_text(r, lang)]))
    c.print(Text(t("nos_intro", definition=t.finding(cmp_.policy)["definition"]), style="dim"))
    print_fit(c, t("nos_title"), [t("nos_what")], [t("nos_stekker"), t("nos_published")], rows,
              caption=t("nos_provider_note", n=fmt_int(cmp_.existing, lang),
                        partial=t.count("domain", cmp_.partial)), records=True)
    c.print(Text(t("nos_differences"), style="bold"))
    for d in nos_differences(report, t):
        c.print(Text(" • " + d))
    srcs = cmp_.data["study"]["sources"]
    c.print(Text(t("nos_sources") + ": " + "; ".join(s["url"] for s in srcs), style="dim"))


def _provenance(report: Report, t: Strings) -> Text:
    """What a figure is quoted with: the scan, when it was measured, the ownership date and the
    knowledge-base version (the whole report's head and an organisation's: field trial 14)."""
    meta = report.meta
    measured = _ts(meta.get("finished_at")) or _ts(meta.get("started_at"))
    age = (_dt.datetime.now(_dt.timezone.utc).date() - measured.date()).days if measured else None
    head = Text(f"{t('scan')} {meta.get('scan_id', '–')}")
    if meta.get("label"):
        head.append(" (")
        head.append(visible(meta["label"]))  # stored text: a shared database's label may carry escapes (explore-f H2)
        head.append(")")
    head.append(f" · {t('measured')}: {measured.strftime('%Y-%m-%d %H:%M UTC') if measured else '–'}")
    if age is not None:
        head.append(f" · {t('data_age')}: {t.count('day', age)}")
    head.append(f"\n{t('judged_as_of')}: {report.as_of.isoformat()} · {t('kb_version')}: {meta.get('kb_version') or '–'}")
    return head


def print_report(report: Report, lang: str = "en", console: Console | None = None,
                 comparison: Comparison | None = None, top: int = 10) -> None:
    c = console or make_console()
    t = Strings(lang)
    meta = report.meta
    head = Text()
    head.append(t("title"), style="bold")
    head.append("\n")
    head.append_text(_provenance(report, t))
    head.append(f" · {t('domains')}: {fmt_int(report.domain_count, lang)} · {t('organisations')}: ")
    # "no organisation column" only when domains were measured and none had an organisation
    head.append(fmt_int(report.organisation_count, lang) if report.organisation_count or not report.results
                else t("no_orgs_header"))
    c.print(head)
    for w in meta.get("warnings") or []:
        c.print(Text("! " + t.message(w), style="yellow"))

    print_headline(report, t, c)
    print_nos(report, t, c)

    orgs = bool(report.organisation_count)
    values = ([t("organisations")] if orgs else []) + [t("domains"), t("excl_unknown"), t("excl_error"),
                                                        t("excl_nxdomain"), t("total")]
    rows = []
    for p in report.policies:
        d = report.domains[p.id]
        f = t.finding(p)
        rows.append(([Text(f"{f['label']} ({t('fig_definition', definition=f['definition'])})")],
                     ([_share(report.organisations[p.id], lang)] if orgs else [])
                     + [_share(d, lang), fmt_int(d.counts["unknown"], lang), fmt_int(d.counts["error"], lang),
                        fmt_int(d.counts["nxdomain"], lang), fmt_int(d.total, lang)]))
    print_fit(c, t("policies_side_n"), [t("finding")], values, rows, caption=t("caption_policies"))
    status = (f"{t('status_ok')}: {fmt_int(report.status_counts.get('ok', 0), lang)} · {t('status_error')}: "
              f"{fmt_int(report.status_counts.get('error', 0), lang)} · {t('status_nxdomain')}: "
              f"{fmt_int(report.status_counts.get('nxdomain', 0), lang)} · {t('failed_queries')}: "
              f"{fmt_int(report.domains_with_failed_queries, lang)} · {t('status_dns_only')}: "
              f"{fmt_int(report.dns_only, lang)}")
    if orgs:
        status += f" · {t('no_org')}: {fmt_int(report.domains_without_org, lang)}"
    c.print(Text(status, style="dim"))

    if any(report.unknown_reasons.values()):
        rows = [([p.short_title(lang), _T(v.reason(lang))], [fmt_int(n, lang)])
                for p in report.policies for n, v in report.unknown_reasons.get(p.id, [])[:5]]
        # a domain counts once per reason, so a definition's rows can add up to more than its unknown
        # domains: said here as in the HTML (field trial F10)
        print_fit(c, t("unknown_reasons"), [t("policy"), t("reason")], [t("domains")], rows,
                  caption=t("unknown_reasons_intro"))

    cols = [t.finding(p)["column"] for p in report.policies]
    rows = []
    for row, _cats in category_rows():
        pres = report.category_presence[row]
        name = t.category(row)
        if row in ("mail_inbound", "mail_gateway", "mailbox"):
            name = "  " + name
        rows.append(([name], [fmt_int(pres.get("identified", 0), lang), fmt_int(pres.get("unknown", 0), lang),
                              fmt_int(pres.get("error", 0), lang),
                              *[_share(report.by_category[row][p.id], lang) for p in report.policies]]))
    print_fit(c, t("by_category"), [t("category")],
              [t("with_service"), t("unidentified"), t("excl_error"), *cols], rows, caption=t("caption_category"))

    rows = []
    for s, tallies in report.by_sector.items():
        n_orgs = next(iter(report.by_sector_orgs[s].values())).total if report.by_sector_orgs[s] else 0
        rows.append(([t("no_sector") if s == "-" else s],
                     [fmt_int(report.sector_domain_counts[s], lang), *([fmt_int(n_orgs, lang)] if orgs else []),
                      *[_share(tallies[p.id], lang) for p in report.policies]]))
    print_fit(c, t("by_sector") + f" ({t('domains').lower()})", [t("sector")],
              [t("domains"), *([t("organisations")] if orgs else []), *cols], rows, caption=t("caption_sector_doms"))

    # the share counts the domains that depend on the provider; a domain that shows only an account there
    # (a verification token) is counted apart, in its own column (field trial F2)
    rows = [([t.host_provider(ps.key, ps.name)],
             [_T(ps.parent), _T(ps.jurisdiction), fmt_int(ps.count, lang), fmt_pct(ps.share, lang),
              fmt_int(ps.account_only, lang)])
            for ps in report.providers_overall[:top]]
    print_fit(c, t("providers"), [t("provider")],
              [t("parent"), t("country"), t("domains"), t("share"), t("account_only")], rows,
              caption=t("providers_intro", n=fmt_int(report.providers_denominator, lang),
                        partial=t.count("domain", report.providers_partial)))

    rows = [([ps.name], [_T(ps.jurisdiction or "?"), fmt_int(ps.count, lang), fmt_pct(ps.share, lang),
                         fmt_int(ps.account_only, lang)])
            for ps in report.parents_overall[:top]]
    print_fit(c, t("by_parent"), [t("parent")], [t("country"), t("domains"), t("share"), t("account_only")], rows,
              caption=t("by_parent_intro"))

    multi = multi_rows()
    rows = []
    for row, _cats in category_rows():
        m = report.markets[row]
        tops = ", ".join(f"{t.host_provider(s.key, s.name)} {fmt_pct(s.share, lang)}" for s in m.shares[:4])
        hhi = "–" if m.hhi is None else f"{fmt_int(round(m.hhi), lang)} ({t.hhi_band(m.hhi)})"
        rows.append(([t.category(row), _T(tops)], [fmt_int(m.denominator, lang), hhi if row not in multi else "–"]))
    print_fit(c, t("markets"), [t("category"), t("top_providers")], ["n", t("hhi")], rows)

    print_answer_kinds(report, lang, c)
    print_hosts(report, lang, c)

    if comparison is not None:
        print_comparison(comparison, lang, c, report.policies)


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
    # fold, never cut: at 80 columns a long definition name wraps inside its cell
    tb.add_column(t("answer_kinds_policy"), overflow="fold")
    for key in ("answer_kinds_verdicts", "answer_kinds_network", "answer_kinds_likely", "answer_kinds_infrastructure"):
        tb.add_column(t(key), justify="right", overflow="fold")
    for p in report.policies:
        k = kinds.get(p.id)
        if k is None:
            continue
        tb.add_row(p.short_title(lang), fmt_int(k.get("verdicts", 0), lang), fmt_int(k.get("network", 0), lang),
                   fmt_int(k.get("likely", 0), lang), fmt_int(k.get("infrastructure", 0), lang))
    c.print(tb)
    c.print(Text(t("answer_kinds_note"), style="dim"))


def print_comparison(cmp: Comparison, lang: str = "en", console: Console | None = None,
                     policies: list | None = None) -> None:
    c = console or make_console()
    t = Strings(lang)
    c.print(Text(f"{t('compare_title')}: {t('scan')} {cmp.old_label} → {cmp.new_label} "
                 f"({t.count('domain', cmp.common)})", style="bold"))
    n = fmt_int(cmp.common, lang)
    heads = [t("compare_shares_all", scan=cmp.old_label), t("compare_shares_all", scan=cmp.new_label),
             t("compare_shares_common", scan=cmp.old_label, n=n), t("compare_shares_common", scan=cmp.new_label, n=n)]
    # the headline in both scans, over all domains and over the common ones; then the largest companies
    for title, head, rows, note in ((t("compare_shares_title"), t("policy"), compare_share_rows(cmp, policies or [], t),
                                     "compare_shares_note"),
                                    (t("compare_companies_title"), t("company"), compare_company_rows(cmp, t),
                                     "compare_companies_note")):
        if not rows:
            continue
        print_fit(c, title, [head], heads,
                  [([_T(r["label"])], [r["old_all"], r["new_all"], r["old_common"], r["new_common"]]) for r in rows])
        c.print(Text(t(note, added=fmt_int(len(cmp.added_domains), lang),
                       removed=fmt_int(len(cmp.removed_domains), lang)), style="dim"))
        for scan, doms in _unmeasured(cmp):
            c.print(Text(t("compare_unmeasured_note", n=fmt_int(len(doms), lang), scan=scan), style="dim"))
        for r in rows:
            key = "compare_shares_by_list" if r["moved_by_list"] else \
                "compare_shares_reversed" if r["reversed_by_list"] else None
            if key:
                c.print(Text("! " + t(key, label=r["label"], old=r["old_all"].split(" ")[0],
                                      new=r["new_all"].split(" ")[0], old_common=r["old_common"].split(" ")[0],
                                      new_common=r["new_common"].split(" ")[0]), style="yellow"))
    for title, items in ((t("moved"), cmp.moved), (t("new_deps"), cmp.new), (t("vanished"), cmp.vanished),
                         (t("existence"), cmp.existence), (t("not_comparable"), cmp.not_comparable)):
        rows = []
        for ch in items[:50]:
            cat = t.category(ch.category) + (f" {visible(ch.host)}" if ch.host else "")
            rows.append(([_T(", ".join(ch.organisations)), _T(ch.domain)],
                         [_T(cat), _T(t.change_side(ch.old, ch.old_name)), _T(t.change_side(ch.new, ch.new_name))]))
        if items:
            print_fit(c, f"{title} ({len(items)})", [t("organisation"), t("domain")],
                      [t("category"), t("from"), t("to")], rows, right=False, records=True)
            _more(c, t, len(items) - 50)
        else:
            c.print(Text(f"{title}: {t('none_found')}"))
    titles = {p.id: p.short_title(lang) for p in policies or []}  # a definition by its name, not its id
    # a verdict between sovereign and not sovereign apart from one that became unknown, a DNS error or
    # a domain that does not exist (explore-e L3: "15 verdict changes" of which 10 were not measured)
    for key, vc in (("verdict_changes", cmp.verdict_flips), ("verdicts_undecided", cmp.verdicts_undecided)):
        if vc:  # named, not only counted
            rows = [([_T(", ".join(v.organisations)), _T(v.domain)],
                     [titles.get(v.policy, v.policy), t.verdict(v.old), t.verdict(v.new)]) for v in vc[:50]]
            print_fit(c, f"{t(key)} ({len(vc)})", [t("organisation"), t("domain")],
                      [t("policy"), t("from"), t("to")], rows, right=False, records=True)
            _more(c, t, len(vc) - 50)
        elif key == "verdict_changes":
            c.print(Text(f"{t(key)}: {t('none_found')}"))
    vc = cmp.verdict_changes
    lists = [(t("added_domains"), cmp.added_domains), (t("removed_domains"), cmp.removed_domains),
             *((t("unmeasured_domains", scan=scan), doms) for scan, doms in _unmeasured(cmp))]
    for title, doms in lists:
        shown = ", ".join(visible(d) for d in doms[:20]) + (" …" if len(doms) > 20 else "")
        c.print(Text(f"{title}: {len(doms)}" + (f" ({shown})" if doms else "")))
    kinds = (cmp.moved, cmp.new, cmp.vanished, cmp.existence, cmp.not_comparable, vc)
    if any(len(x) > 50 for x in kinds) or any(len(doms) > 20 for _title, doms in lists):
        c.print(Text(t("compare_whole"), style="dim"))


def _unmeasured(cmp: Comparison) -> list[tuple[str, list[str]]]:
    """(scan label, domains) of the input of a scan that did not finish, not measured in it."""
    return [(label, doms) for label, doms in ((cmp.old_label, getattr(cmp, "unmeasured_old", [])),
                                              (cmp.new_label, getattr(cmp, "unmeasured_new", []))) if doms]


def _more(c: Console, t: Strings, n: int) -> None:
    if n > 0:
        c.print(Text(t("compare_more", n=fmt_int(n, t.lang)), style="dim"))


def print_organisation(report: Report, name: str, lang: str = "en", console: Console | None = None) -> None:
    c = console or make_console()
    t = Strings(lang)
    results = report.org_results(name)
    c.print(Text(t("org_title", org=name), style="bold"))
    c.print(_provenance(report, t))
    first = report.policies[0]
    tb = Table(title=t("policies_side_n"))
    tb.add_column(t("policy"))
    tb.add_column(t("verdict"))
    for p in report.policies:
        tb.add_row(p.title(lang), t.verdict(report.org_verdicts[name][p.id]))
    c.print(tb)
    # one block per service (fits any width): domain and service, who runs it and
    # who ultimately controls it, the verdict per definition, the reason for the first
    c.print(Text(t("services"), style="bold"))
    c.print(Text(t("caption_org"), style="dim"))
    for r in results:
        for d in r.deps:
            s = d.service
            prov = (t.host_provider(d.provider_key, s.provider_name or s.provider) if s.status in ("self", "attributed")
                    else t.verdict(s.status))
            ctrl = " + ".join(f"{e.name} ({e.country or '?'})" for e in d.controllers) or "–"
            line = Text(r.domain, style="bold")
            line.append(" — ")
            line.append(t.plain(d.category))
            c.print(line)
            who = Text(f"   {t('provider')}: ")
            who.append(prov)
            who.append(f" · {t('org_controlled_by')}: ")
            who.append(ctrl)
            c.print(who)
            v = Text("   ")
            for i, p in enumerate(report.policies):
                vp = d.verdicts.get(p.id)
                if i:
                    v.append(" · ")
                v.append(f"{p.short_title(lang)}: ")
                v.append(t.verdict(vp.verdict) if vp else "–",
                         style="red" if vp and vp.verdict == NOT_SOVEREIGN else "")
            c.print(v)
            v0 = d.verdicts.get(first.id)
            if v0:
                c.print(Text(f"   {t('reason')} ({first.short_title(lang)}): {v0.reason(lang)}", style="dim"))
    hosts = report.org_hosts(name)
    if hosts:
        pols = [p for p in report.policies if p.id in report.host_policies]
        if pols:
            n = sum(1 for h in hosts if h.verdict[pols[0].id] == NOT_SOVEREIGN)
            c.print(Text(t("org_hosts_summary", policy=pols[0].title(lang), n=n, total=len(hosts))))
        _host_records(c, t, [host_row(h, t, pols) for h in hosts], pols, False, t("hosts_title"))
    for r in results:
        for e in r.explanations:
            line = Text(f"{t('explanation')} ({r.domain}{', ' + e.category if e.category else ''}): ", style="bold")
            line.append(e.text)
            line.append(f" ({t.explanation_by(e)})", style="dim")
            c.print(line)


def _host_records(c: Console, t: Strings, rows: list[dict], pols: list, with_org: bool, title: str) -> None:
    """The extra hosts as stacked records (fits any width, no padding lines):
    the host and its organisation, who serves it, the verdict per definition
    and the DNS evidence (control and bidi characters made visible)."""
    c.print(Text(title, style="bold"))
    c.print(Text(t("hosts_caption_list"), style="dim"))
    for h in rows:
        line = Text(visible(h["host"]), style="bold")
        if with_org and h["orgs"]:
            line.append(" — ")
            line.append(h["orgs"])
        c.print(line)
        prov = Text(f"   {t('provider')}: ")
        prov.append(h["provider"])
        if h["further"]:
            prov.append(f" ({t('host_further')}: {h['further']})", style="dim")
        prov.append(f" · {t('company_parent')}: ")
        prov.append(h["company"])
        prov.append(f" · {t('jurisdiction')}: {h['jurisdiction']}")
        c.print(prov)
        if pols:
            v = Text("   ")
            for i, (p, cell) in enumerate(zip(pols, h["verdicts"])):
                if i:
                    v.append(" · ")
                v.append(f"{p.short_title(t.lang)}: ")
                v.append(cell["label"], style="red" if cell["v"] == NOT_SOVEREIGN else "")
            c.print(v)
        ev = [visible(f"{q} {rt} {val[:120]}") for q, rt, val in h["evidence"][:2]]
        if ev or h["note"]:
            c.print(Text(f"   {t('evidence')}: " + ("; ".join(ev) if ev else visible(h["note"])), style="dim"))


def print_hosts(report: Report, lang: str = "en", console: Console | None = None) -> None:
    """The extra hosts of the input (nothing when the scan has none)."""
    g = report.hosts_overall
    if g is None:
        return
    c = console or make_console()
    t = Strings(lang)
    pols = [p for p in report.policies if p.id in report.host_policies]
    c.print(Text(t("hosts_title"), style="bold"))
    c.print(Text(t("hosts_intro", n=t.count("host", g.hosts), orgs=t.count("organisation", g.organisations),
                   d=fmt_int(g.present, lang), absent=fmt_int(g.absent, lang)), style="dim"))
    if pols:
        rows = []
        for p in pols:
            tl = g.tallies[p.id]
            f = t.finding(p)
            rows.append(([Text(f"{f['label']} ({t('fig_definition', definition=f['definition'])})")],
                         [_share(tl, lang), fmt_int(tl.counts["unknown"], lang), fmt_int(tl.counts["error"], lang),
                          fmt_int(tl.counts["nxdomain"], lang), fmt_int(tl.total, lang)]))
        print_fit(c, t("hosts_title"), [t("finding")],
                  [t("hosts"), t("excl_unknown"), t("excl_error"), t("host_absent"), t("total")], rows,
                  caption=t("hosts_caption_policies"))
    else:
        c.print(Text(t("hosts_none_judged")))
    skipped = [p.short_title(lang) for p in report.policies if p.id not in report.host_policies]
    if skipped:
        c.print(Text(t("hosts_skipped", ids=", ".join(skipped)), style="dim"))

    rows = []
    for s in g.shares:
        comp = s.company or ""
        if s.parent and s.parent != s.company:
            comp = f"{comp} → {s.parent}" if comp else s.parent
        rows.append(([t.host_provider(s.key, s.name), _T(comp)],
                     [_T(s.jurisdiction or ""), share_text(s.count, s.denominator, lang)]))
    print_fit(c, t("hosts_providers"), [t("provider"), t("company_parent")], [t("jurisdiction"), t("share")], rows,
              caption=t("hosts_caption_providers", n=fmt_int(g.present, lang)))

    rows = []
    for sec, grp in report.hosts_by_sector.items():
        tops = ", ".join(f"{t.host_provider(s.key, s.name)} {share_text(s.count, s.denominator, lang)}"
                         for s in grp.shares[:3])
        rows.append(([t("no_sector") if sec == "-" else sec, _T(tops)],
                     [fmt_int(grp.hosts, lang), *[_share(grp.tallies[p.id], lang) for p in pols]]))
    print_fit(c, t("hosts_by_sector"), [t("sector"), t("top_providers")],
              [t("hosts"), *[t.finding(p)["column"] for p in pols]], rows, caption=t("hosts_caption_sector"))

    rows = [host_row(h, t, pols) for h in report.hosts[:HOSTS_PRINTED]]
    _host_records(c, t, rows, pols, True, t("hosts_list"))
    if len(report.hosts) > HOSTS_PRINTED:
        c.print(Text(t("hosts_omitted", n=t.count("host", len(report.hosts) - HOSTS_PRINTED)), style="dim"))
