"""Figures a journalist can quote (issue 13), read as a person would read them.

A hand-made scan where 999 of 1,000 domains whose answer is known depend on
Microsoft (99.9%), plus a DNS error, an unknown provider and a domain that
does not exist, judged under the shipped definitions. For each headline
figure in each output (terminal at 80 and 160 columns, HTML, CSV, JSONL) the
label must state the finding, and a share below 100% must never be printed
as "100%"; the quote sentences and the NOS comparison appear in both
languages; an input without organisations gets no organisation figures.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re

import pytest
from test_report_support import FakeKB, dom, ev, host_sample, svc

from stekker.judge import load_policies
from stekker.report import build
from stekker.report.export import write_csv, write_jsonl
from stekker.report.figures import fmt_day, fmt_pct, nos_data
from stekker.report.render import Strings, fmt_int, render_html
from stekker.report.terminal import make_console, print_report

MEASURED = dt.datetime(2026, 12, 5, 9, 30, tzinfo=dt.timezone.utc)
META = {"scan_id": 42, "kb_version": "fake-kb-1", "started_at": MEASURED.timestamp(), "label": "figures"}
NOW = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.timezone.utc)

# the finding each shipped definition's share counts, as a person reads it
PHRASES = {
    "en": {"nos": "depend on at least one US-controlled service",
           "nos-records": "linked to at least one US-controlled service through A, MX, NS or CNAME records",
           "broad": "depend on at least one service that neither keeps data in the EU/EEA nor is controlled from it",
           "eu-controlled": "depend on at least one service not controlled from the EU/EEA",
           "strict": "depend on at least one service that fails the strict ownership test"},
    "nl": {"nos": "afhankelijk van minstens één dienst onder Amerikaanse zeggenschap",
           "nos-records": "gekoppeld aan minstens één dienst onder Amerikaanse zeggenschap",
           "broad": "afhankelijk van minstens één dienst die de gegevens niet in de EU/EER bewaart",
           "eu-controlled": "afhankelijk van minstens één dienst die niet vanuit de EU/EER wordt gecontroleerd",
           "strict": "afhankelijk van minstens één dienst die niet slaagt voor de strenge eigendomstoets"},
}
ONE = {"en": {"nos": "depends on at least one US-controlled service"},
       "nl": {"nos": "afhankelijk van minstens één dienst onder Amerikaanse zeggenschap"}}


def nearly_all(orgs: bool) -> list:
    """999 domains on Microsoft mail + TransIP DNS, one self-hosted, one DNS
    error, one unrecognised provider, one that does not exist; hospitals with
    patient portals (3 of 5 via Microsoft)."""
    out = []
    for i in range(999):
        sector = "zorg" if i < 5 else "gemeente"
        org = f"Organisatie {i}" if orgs else None
        d = dom(f"d{i:03}.nl", org, sector, {
            "mail_inbound": svc("mail_inbound", "microsoft",
                                evidence=[ev(f"d{i:03}.nl", "MX", f"0 d{i:03}-nl.mail.protection.outlook.com")]),
            "mailbox": svc("mailbox", "microsoft"), "dns": svc("dns", "transip")})
        if i < 5:
            prov = "microsoft" if i < 3 else "kpn"
            d.hosts = {f"mijn.d{i:03}.nl": svc("host", prov, evidence=[ev(f"mijn.d{i:03}.nl", "CNAME",
                                                                          f"portal{i}.azurewebsites.net.")])}
        out.append(d)
    out.append(dom("eigen.nl", "Eigen" if orgs else None, "gemeente", {
        c: svc(c, "self", "self") for c in ("web", "mail_inbound", "mailbox", "dns")}))
    out.append(dom("kapot.nl", "Kapot" if orgs else None, "gemeente",
                   {c: svc(c, None, "error") for c in ("web", "dns")}, status="error"))
    out.append(dom("raadsel.nl", "Raadsel" if orgs else None, "gemeente",
                   {"mailbox": svc("mailbox", None, "unknown"), "dns": svc("dns", "self", "self")}))
    out.append(dom("weg.nl", "Weg" if orgs else None, "gemeente", {}, status="nxdomain"))
    if not orgs:
        for d in out:
            d.sectors, d.sector = [], None
    return out


@pytest.fixture(scope="module")
def rep():
    return build(nearly_all(orgs=True), FakeKB(), load_policies().select(None), MEASURED.date(), meta=META)  # as the CLI: the scan's day


@pytest.fixture(scope="module")
def rep_no_orgs():
    return build(nearly_all(orgs=False), FakeKB(), load_policies().select(None), MEASURED.date(), meta=META)


def _flat(text: str) -> str:
    """Text as read: wrapped lines joined, runs of white space as one."""
    return " ".join(text.split())


SHARE = re.compile(r"(?<![\w.,])([<>]?\d+(?:[.,]\d)?%) \((\d[\d.,]*)(?:/| of | van )(\d[\d.,]*)\)")


def honest_shares(text: str) -> int:
    """Every ``pct (n/d)`` / ``pct (n of d)`` in ``text``: "100%" only when
    n == d, "0%" only when n == 0. Returns how many were checked."""
    k = 0
    for pct, n, d in SHARE.findall(_flat(text)):
        n, d = int(re.sub(r"[.,]", "", n)), int(re.sub(r"[.,]", "", d))
        assert pct != "100%" or n == d, (pct, n, d)
        assert pct != "0%" or n == 0, (pct, n, d)
        k += 1
    return k


def _terminal(report, lang: str, width: int) -> str:
    buf = io.StringIO()
    con = make_console(buf)
    con.width = width
    print_report(report, lang, con)
    return buf.getvalue()


# ---------------------------------------------------------------- rounding


@pytest.mark.parametrize("x,en,nl", [
    (13058 / 13070, "99.9%", "99,9%"), (1.0, "100%", "100%"), (0.0, "0%", "0%"),
    (0.002, "0.2%", "0,2%"), (0.9996, ">99.9%", ">99,9%"), (0.0004, "<0.1%", "<0,1%"),
    (0.67, "67%", "67%"), (0.994, "99.4%", "99,4%"), (0.49, "49%", "49%"), (None, "–", "–"),
])
def test_percent_never_says_all_or_none_unless_exact(x, en, nl):
    assert fmt_pct(x, "en") == en and fmt_pct(x, "nl") == nl


def test_numbers_and_dates_in_both_languages():
    assert fmt_int(13058, "en") == "13,058" and fmt_int(13058, "nl") == "13.058"
    assert fmt_day(dt.date(2026, 12, 5), "en") == "5 December 2026"
    assert fmt_day(dt.date(2026, 12, 5), "nl") == "5 december 2026"
    nl, en = Strings("nl"), Strings("en")
    assert nl.count("day", 1) == "1 dag" and nl.count("day", 2) == "2 dagen" and nl.count("day", 0) == "0 dagen"
    assert en.count("domain", 1) == "1 domain" and nl.count("host", 1) == "1 hostname"
    assert nl.count("organisation", 1) == "1 organisatie" and nl.count("domain", 13058) == "13.058 domeinen"


def test_the_figures_themselves(rep):
    nos = rep.domains["nos"]
    assert (nos.not_sovereign, nos.decided) == (999, 1000)
    assert (nos.counts["unknown"], nos.counts["error"], nos.counts["nxdomain"]) == (1, 1, 1)
    assert rep.domains["broad"].share == 0  # Microsoft's EU region is offered: passes "broad" (with a flag)
    assert all(rep.domains[p.id].share < 1 for p in rep.policies)  # no headline figure may say "100%"


# ---------------------------------------------------------------- terminal


@pytest.mark.parametrize("lang", ["en", "nl"])
@pytest.mark.parametrize("width", [80, 160])
def test_terminal_headline_states_the_finding(rep, lang, width):
    out = _terminal(rep, lang, width)
    flat = _flat(out)
    nine = "99.9%" if lang == "en" else "99,9%"
    for pid, phrase in PHRASES[lang].items():
        assert phrase in flat, (pid, phrase)
    # the headline of nos: the figure, then the finding (red = dependent), the count, what was excluded
    assert re.search(re.escape(nine) + r" +" + re.escape(PHRASES[lang]["nos"]), flat)
    assert ("999 of 1,000 domains whose answer is known" if lang == "en"
            else "999 van 1.000 domeinen waarvan het antwoord bekend is") in flat
    assert ("not counted: 1 unknown, 1 DNS error, 1 not existing (total 1,003)" if lang == "en"
            else "niet meegeteld: 1 onbekend, 1 DNS-fout, 1 bestaat niet (totaal 1.003)") in flat
    head = flat[flat.index("Hoofdcijfers" if lang == "nl" else "Headline figures"):]
    head = head[:head.index("Wat DNS" if lang == "nl" else "What DNS")]
    assert "100%" not in head  # no headline figure here is "all"
    assert honest_shares(out) > 50  # and no share anywhere says "all" or "none" when it is not
    assert "…" not in out  # nothing cut
    assert all(len(line) <= width for line in out.splitlines())
    # a definition's name is never the label of a failure share
    assert not re.search(r"(No US control \(NOS\)|Geen Amerikaanse zeggenschap \(NOS\))\s*│\s*\d", out)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_terminal_quotes_both_languages(rep, lang):
    flat = _flat(_terminal(rep, lang, 80))
    assert ("“On 5 December 2026, 99.9% of the 1,000 domains examined whose answer is known (999 of 1,000) "
            "depended on at least one US-controlled service (definition ‘no US control, as NOS’; stekker, "
            "knowledge base fake-kb-1, scan 42).”") in flat
    assert ("“Op 5 december 2026 was 99,9% van de 1.000 onderzochte domeinen waarvan het antwoord bekend is "
            "(999 van 1.000) afhankelijk van minstens één dienst onder Amerikaanse zeggenschap (definitie "
            "‘geen Amerikaanse zeggenschap, zoals NOS’; stekker, kennisbank fake-kb-1, scan 42).”") in flat


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_terminal_nos_comparison(rep, lang):
    flat = _flat(_terminal(rep, lang, 80))
    if lang == "en":
        assert "Compared with the NOS study (January 2026)" in flat
        assert "67% of ~16,500 domains" in flat and "28 of ~70" in flat and "under 1%" in flat
        assert "99.9% (999 of 1,000)" in flat  # linked to a US cloud service, A/MX/NS/CNAME
        assert "99.8% (999 of 1,001)" in flat  # Microsoft, of the existing domains measured (status ok)
        assert "3 of 5 (extra hosts, sector zorg)" in flat  # patient portals via Microsoft
        assert "Why the figures can differ" in flat and "WHOIS" in flat
    else:
        assert "Vergeleken met het NOS-onderzoek (januari 2026)" in flat
        assert "67% van ~16.500 domeinen" in flat and "28 van ~70" in flat and "minder dan 1%" in flat
        assert "99,8% (999 van 1.001)" in flat and "3 van 5 (extra hostnames, sector zorg)" in flat
        assert "Waarom de cijfers kunnen verschillen" in flat


def test_terminal_what_dns_cannot_show(rep):
    flat = _flat(_terminal(rep, "en", 80))
    assert "What DNS cannot show" in flat
    assert "Mail routing is not mailbox location" in flat and "a tenant, not its use" in flat
    assert "own server may hide a cloud" in flat
    # counted: the self-hosted domain is not dependent and runs its own services
    assert "Possibly too low: 1 domain not dependent that run" in flat


def test_terminal_honours_columns_when_piped(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert make_console(io.StringIO()).width == 80
    monkeypatch.delenv("COLUMNS")
    assert make_console(io.StringIO()).width == 160  # a file or pipe without COLUMNS: the wide layout


def test_terminal_80_columns_extra_hosts_readable():
    r = build(host_sample(), FakeKB(), load_policies().select(None), "2026-01-01", meta=META)
    out = _terminal(r, "en", 80)
    assert all(len(line) <= 80 for line in out.splitlines()) and "…" not in out
    assert "\n\n\n" not in out  # no row padded with blank lines
    sec = out[out.index("Every extra host"):]
    assert "Evidence: mijn.zkh-1.nl CNAME zkh1-portal.azurewebsites.net." in sec
    assert "Strict: not sovereign" in sec and "No US (NOS): not sovereign" in sec
    flat = _flat(out)
    for share in ("50% (3/6)", "Microsoft 33% (2/6)"):
        assert share in flat
    nl = _terminal(r, "nl", 80)
    assert "9 hostnames van 8 organisaties" in _flat(nl) and "1 hostnames" not in nl


# ---------------------------------------------------------------- HTML


def _figures(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<div class="figure" id="figure-[^"]+">\s*<div class="num(?: zero)?">([^<]+)</div>\s*'
                      r'<div class="body">\s*<p class="lbl">([^<]+)<', html)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_html_headline_states_the_finding(rep, lang):
    html = render_html(rep, lang, now=NOW)
    figs = _figures(html)
    assert len(figs) == len(rep.policies)
    for (num, label), p in zip(figs, rep.policies):
        assert PHRASES[lang][p.id] in label, (p.id, label)
        assert num == fmt_pct(rep.domains[p.id].share, lang) and num != "100%"
    assert figs[0][0] == ("99.9%" if lang == "en" else "99,9%")
    assert honest_shares(re.sub(r"<[^>]+>", " ", html)) > 50
    # the quote sentences, both languages, under every figure
    assert html.count('<blockquote lang="nl">') == html.count('<blockquote lang="en">') == len(rep.policies)
    assert "kennisbank fake-kb-1, scan 42" in html and "knowledge base fake-kb-1, scan 42" in html
    # the NOS comparison, with its sources
    nos = html[html.index('<section id="nos"'):]
    nos = nos[:nos.index("</section>")]
    assert ("67% of ~16,500 domains" if lang == "en" else "67% van ~16.500 domeinen") in nos
    assert ("99.8% (999 of 1,001)" if lang == "en" else "99,8% (999 van 1.001)") in nos
    for src in nos_data()["study"]["sources"]:
        assert src["url"].replace("&", "&amp;") in nos
    assert ("What DNS cannot show" if lang == "en" else "Wat DNS niet kan laten zien") in html


def test_html_colour_agrees_with_wording(rep):
    html = render_html(rep, "en", now=NOW)
    css = html[html.index("<style>"):html.index("</style>")]
    # the figure is red (the accent), and its label says "depend": red = dependent
    assert re.search(r"\.figure \.num\{[^}]*color:var\(--accent\)", css) and "--accent:#a4161a" in css
    # nothing the summary needs is hidden in print (the PDF is printed from this page)
    print_css = css[css.index("@media print"):]
    for sel in ("#nos", ".figures", ".figure", ".quote", ".limits", "blockquote"):
        assert not re.search(re.escape(sel) + r"[^{}]*\{[^}]*display:none", print_css), sel
    # and in print a figure keeps its red mark (no other colour painted over it)
    assert not re.search(r"\.figure[^{}]*\{[^}]*(border|background)", print_css)


def test_no_organisation_column(rep_no_orgs):
    r = rep_no_orgs
    assert r.organisation_count == 0
    for lang, why in (("en", "none: the input has no organisation column"),
                      ("nl", "geen: de invoer heeft geen kolom organisatie")):
        out = _terminal(r, lang, 80)
        flat = _flat(out)
        assert why in flat
        assert not re.search(r"Organisations?: 0\b|Organisaties: 0\b", flat)
        assert "Organisations: " + "99" not in flat and "Organisaties: 99" not in flat
        html = render_html(r, lang, now=NOW)
        assert why in html
        assert "– of the organisations" not in html and "– van de organisaties" not in html
        assert "<dd>0</dd>" not in html
        assert "Organisations: " not in html and "Organisaties: " not in html  # no organisation figure
        assert not re.search(r'<th scope="col" class="n">(Organisations|Organisaties)</th>', html)


# ---------------------------------------------------------------- CSV and JSONL


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_csv_columns_state_the_finding(rep, tmp_path, lang):
    path = tmp_path / f"r-{lang}.csv"
    write_csv(rep, str(path), ";", lang)
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig")), delimiter=";"))
    col = f"{ONE[lang]['nos']} (nos)"
    assert col in rows[0]
    yes, no = ("yes", "no") if lang == "en" else ("ja", "nee")
    by = {r["domain"]: r for r in rows}
    assert by["d000.nl"][col] == yes and by["eigen.nl"][col] == no
    assert by["kapot.nl"][col] == "" and by["kapot.nl"]["verdict_nos"] == "error"  # an error is never "no"
    assert sum(r[col] == yes for r in rows) == 999 and sum(r[col] == no for r in rows) == 1
    for p in rep.policies:
        assert any(h.endswith(f"({p.id})") and not h.startswith(p.title(lang)) for h in rows[0])


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_jsonl_fields_state_the_finding(rep, tmp_path, lang):
    path = tmp_path / "r.jsonl"
    write_jsonl(rep, str(path), lang)
    recs = {r["domain"]: r for r in map(json.loads, path.read_text().splitlines())}
    f = recs["d000.nl"]["findings"]["nos"]
    assert f == {"finding": ONE[lang]["nos"], "dependent": True}
    assert recs["eigen.nl"]["findings"]["nos"]["dependent"] is False
    assert recs["kapot.nl"]["findings"]["nos"]["dependent"] is None  # excluded, not "no"
    assert recs["weg.nl"]["findings"]["nos"]["dependent"] is None


# ---------------------------------------------------------------- real data


def test_shared_domain_list_headline(tmp_path):
    """The figures of a report over a real public list (no DNS: every domain
    unmeasured) say so: nothing is decided, so no share is printed at all."""
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "shared" / "data" / "domains" / "openstate_govdomains_Provincies.csv"
    if not src.exists():
        pytest.skip("../shared/data not present")
    from stekker.lab import profiles

    names = [n[0] if isinstance(n, tuple) else n for n in profiles.read_names(src)][:50]
    assert names
    recs = [dom(n, None, None, {c: svc(c, None, "error") for c in ("web", "dns")}, status="error") for n in names]
    r = build(recs, FakeKB(), load_policies().select(["nos"]), "2026-12-05", meta=META)
    flat = _flat(_terminal(r, "nl", 80))
    assert "– afhankelijk van minstens één dienst onder Amerikaanse zeggenschap" in flat
    assert f"0 van 0 domeinen waarvan het antwoord bekend is; niet meegeteld: 0 onbekend, {len(names)} DNS-fout" in flat
    assert "0%" not in flat.split("Hoofdcijfers")[1].split("Wat DNS")[0]  # an unmeasured share is not 0%


def test_terminal_80_columns_organisation_page():
    from test_report_support import sample

    from stekker.report.terminal import print_organisation

    r = build(sample(), FakeKB(), load_policies().select(None), "2026-01-01", meta=META)
    buf = io.StringIO()
    con = make_console(buf)
    con.width = 80
    print_organisation(r, "Gemeente A", "en", con)
    out = buf.getvalue()
    assert all(len(line) <= 80 for line in out.splitlines()) and "…" not in out and "\n\n\n" not in out
    flat = _flat(out)
    assert "gemeente-a.nl — Where your mailboxes live" in flat
    assert "Provider: Microsoft · controlled by: Microsoft Corporation (US)" in flat
    assert "No US (NOS): not sovereign" in flat and "Strict: not sovereign" in flat
    assert "Reason (No US (NOS)): Microsoft Corporation (US) is in the control chain" in flat


def test_terminal_80_columns_comparison():
    from test_report import _new_scan
    from test_report_support import sample

    from stekker.report import compare
    from stekker.report.terminal import print_comparison

    pols = load_policies().select(None)
    old = build(sample(), FakeKB(), pols, "2026-01-01")
    new = build(_new_scan(), FakeKB(), pols, "2026-01-01")
    buf = io.StringIO()
    con = make_console(buf)
    con.width = 80
    print_comparison(compare(old.results, new.results, "1", "2"), "en", con)
    out = buf.getvalue()
    assert all(len(line) <= 80 for line in out.splitlines()) and "…" not in out
    assert "Moved to another provider (2)" in out


# ---------------------------------------------------------------- the real lab


@pytest.mark.lab
def test_lab_scan_figures_and_nos_comparison(lab_scan, lab):
    """A real scan of the session lab (knot + unbound on loopback): the
    report's headline figures, quotes and NOS comparison, at 80 columns and in
    HTML, and the comparison's Microsoft row against the lab's truth."""
    from stekker import kb as K
    from stekker.attribute import attribute_scan, load_attributions
    from stekker.ipasn import AsnTable
    from stekker.lab import catalog
    from stekker.report import scan_meta

    store, sid = lab_scan
    kb = K.load()
    day = "2026-01-01"
    attribute_scan(store, sid, kb=kb, asn_table=AsnTable.from_rows(catalog.ip2asn_rows(), name="lab-ip2asn"),
                   as_of=day)
    attrs = list(load_attributions(store, sid, kb=kb))
    r = build(attrs, kb, load_policies().select(None), day, meta=scan_meta(store, sid, kb))
    nos = r.nos
    us = nos.row("us_cloud")
    assert (us.count, us.base) == (r.domains["nos-records"].not_sovereign, r.domains["nos-records"].decided)
    # Microsoft through A/MX/NS/CNAME services, against the generated truth
    cats = {"web", "cdn", "mail_inbound", "mail_gateway", "mailbox", "dns", "collaboration", "identity"}
    truth = lab.truth()
    live = {x.domain for x in r.results if x.da.status == "ok"}  # measured (review 5: not status error)
    want = sum(1 for d, tr in truth.items() if d in live and any(
        "microsoft" in (v if isinstance(v, list) else [v]) for k, v in tr.items() if k in cats))
    ms = nos.row("microsoft")
    assert ms.base == len(live) and ms.count > 0
    assert abs(ms.count - want) <= max(2, want // 20), (ms.count, want)  # attribution agrees with the truth
    for lang in ("en", "nl"):
        out = _terminal(r, lang, 80)
        assert all(len(line) <= 80 for line in out.splitlines()) and "…" not in out
        assert honest_shares(out) > 50
        flat = _flat(out)
        for phrase in PHRASES[lang].values():
            assert phrase in flat
        assert (f"{fmt_pct(ms.share, lang)} ({fmt_int(ms.count, lang)} {'of' if lang == 'en' else 'van'} "
                f"{fmt_int(ms.base, lang)})") in flat
        html = render_html(r, lang, now=NOW)
        assert honest_shares(re.sub(r"<[^>]+>", " ", html)) > 50
        assert len(_figures(html)) == len(r.policies)
    print(f"lab: nos-records {us.count}/{us.base}, microsoft {ms.count}/{ms.base} (truth {want}), "
          f"portals {nos.row('portals').count}/{nos.row('portals').base} ({nos.row('portals').scope})")


def test_nos_comparison_rows(rep):
    """Each row computed as documented: the US clouds together, each provider
    of the existing domains, portals of the healthcare sector."""
    nos = rep.nos
    assert [r.id for r in nos.rows] == ["us_cloud", "big_three", "microsoft", "amazon", "google", "solvinity",
                                        "portals"]
    # of the same domains as the headline row (its answer known), so the two rows compare
    us = nos.row("us_cloud")
    assert (nos.row("big_three").count, nos.row("big_three").base) == (999, us.base) and us.base == 1000
    assert nos.row("microsoft").base == 1001  # a provider row: every existing domain measured without error
    assert (nos.row("amazon").count, nos.row("google").count) == (0, 0)
    assert (nos.row("portals").count, nos.row("portals").base, nos.row("portals").scope) == (3, 5, "sector")
    assert nos.row("microsoft").nos["share"] == 0.49 and nos.row("us_cloud").nos["base"] == 16500


def test_the_sentence_to_quote_names_the_ownership_date_when_it_is_not_the_measurement_date():
    """Field trial F4: `report --scan 3 --as-of 2025-01-01` printed "On 6 December 2026, 96% of the
    1,928 domains ..." with no word that ownership was judged as of 2025-01-01. The sentence names
    the ownership date when it differs from the day the scan ran (and only then)."""
    from stekker.report.figures import headline_figures

    old = build(nearly_all(orgs=True), FakeKB(), load_policies().select(["nos"]), "2025-01-01", meta=META)
    (fig,) = headline_figures(old, Strings("en"))
    assert fig.quotes["en"].startswith("On 5 December 2026, 99.9% of the 1,000 domains")
    assert "(definition ‘no US control, as NOS’, with ownership as of 1 January 2025; stekker," in fig.quotes["en"]
    assert ("(definitie ‘geen Amerikaanse zeggenschap, zoals NOS’, met de eigendomsverhoudingen van 1 januari "
            "2025; stekker,") in fig.quotes["nl"]
    for lang in ("en", "nl"):
        assert fig.quotes[lang] in _flat(_terminal(old, lang, 80))
        assert fig.quotes[lang] in _flat(render_html(old, lang))
    same = build(nearly_all(orgs=True), FakeKB(), load_policies().select(["nos"]), MEASURED.date(), meta=META)
    (fig,) = headline_figures(same, Strings("en"))
    assert "ownership" not in fig.quotes["en"] and "eigendom" not in fig.quotes["nl"]


def test_the_sentence_to_quote_carries_many_unknown_domains_and_the_range():
    """Field trial F7: under "broad", "44% of the 1,030 domains examined whose answer is known" hid
    that 986 of 2,016 were unknown (23%-72% only on the line above). When the unknown domains are 5%
    or more of those with an answer, the sentence carries them and the range; a few do not lengthen it."""
    from stekker.report.figures import headline_figures

    recs = [dom(f"ms{i}.nl", None, None, {"mailbox": svc("mailbox", "microsoft"), "dns": svc("dns", "transip")})
            for i in range(10)]
    recs += [dom(f"kpn{i}.nl", None, None, {"mailbox": svc("mailbox", "kpn"), "dns": svc("dns", "kpn")})
             for i in range(10)]
    recs += [dom(f"raadsel{i}.nl", None, None, {"mailbox": svc("mailbox", None, "unknown"), "dns": svc("dns", "kpn")})
             for i in range(10)]
    r = build(recs, FakeKB(), load_policies().select(["nos"]), MEASURED.date(), meta=META)
    (fig,) = headline_figures(r, Strings("en"))
    assert ("On 5 December 2026, 50% of the 20 domains examined whose answer is known (10 of 20) depended on at "
            "least one US-controlled service; for 10 more domains (33% of the 30) the answer is unknown, so the "
            "share of all 30 lies between 33% and 67% (definition ‘no US control, as NOS’;") in fig.quotes["en"]
    assert ("afhankelijk van minstens één dienst onder Amerikaanse zeggenschap; van nog 10 domeinen (33% van de 30) "
            "is het antwoord onbekend, zodat het aandeel van alle 30 tussen 33% en 67% ligt (definitie") in fig.quotes["nl"]
    for lang in ("en", "nl"):
        assert fig.quotes[lang] in _flat(_terminal(r, lang, 80)) and fig.quotes[lang] in _flat(render_html(r, lang))
    # one unknown domain of 1,001 (0.1%, under QUOTE_UNKNOWN): the sentence as it was
    from stekker.report.figures import QUOTE_UNKNOWN

    few = build(nearly_all(orgs=True), FakeKB(), load_policies().select(["nos"]), MEASURED.date(), meta=META)
    assert few.domains["nos"].counts["unknown"] < QUOTE_UNKNOWN * 1001
    (fig,) = headline_figures(few, Strings("en"))
    assert "unknown" not in fig.quotes["en"] and "onbekend, zodat" not in fig.quotes["nl"]


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_the_terminal_says_a_domain_counts_once_per_reason_why_it_is_unknown(lang):
    """Field trial F10: the terminal table "Why domains are 'unknown'" had no note that a domain counts
    once per reason (its rows can add up to more than the unknown domains); the HTML had it."""
    recs = [dom("twee.nl", None, None, {"mailbox": svc("mailbox", None, "unknown"), "dns": svc("dns", "kpn")},
                saas=[svc("saas", "mystery")]),  # not recognised, and a company of unknown country: two reasons
            dom("saas.nl", None, None, {"dns": svc("dns", "kpn")}, saas=[svc("saas", "mystery")])]
    r = build(recs, FakeKB(), load_policies().select(["nos"]), MEASURED.date(), meta=META)
    t = Strings(lang)
    assert sum(n for n, _v in r.unknown_reasons["nos"]) > r.domains["nos"].counts["unknown"]
    note = t("unknown_reasons_intro")
    for width in (80, 160):
        assert note in _flat(_terminal(r, lang, width))
    assert note in html.unescape(_flat(render_html(r, lang)))
    assert ("more than its unknown domains" if lang == "en" else "meer zijn dan haar onbekende domeinen") in note
