"""stekker site / stekker serve: the static site as a whole (every internal
link resolves, basic accessibility, hostile text stays inert), the verdicts
are the report's, the CLI's output safety, and the API against its OpenAPI
description (in-process, no network)."""

from __future__ import annotations

import csv
import dataclasses
import html.parser
import io
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlparse

import pytest
from publish_support import EXPLANATIONS, GEO_DIR, HOSTILE_ORG2, records, store_with_two_scans
from test_report_support import HOSTILE_ORG

from stekker.publish.model import Model, Text
from stekker.publish.pages import Site
from stekker.publish.site import MARKER, write_site

needs_geo = pytest.mark.skipif(not (GEO_DIR / "mxmapit_nl_municipality.topo.json").is_file(),
                               reason="../shared/data/geo not available")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    d = tmp_path_factory.mktemp("publish")
    db, st, sid = store_with_two_scans(d)
    exp = d / "exp.yaml"
    exp.write_text(EXPLANATIONS, encoding="utf-8")
    from stekker.judge import load_explanations

    model = Model.load(st, "latest", explanations=load_explanations(str(exp)),
                       contest_email="fouten@example.org")
    site = Site(model, GEO_DIR if GEO_DIR.is_dir() else None)
    out = d / "site"
    stats = write_site(site, out)
    return {"db": db, "store": st, "sid": sid, "model": model, "site": site, "out": out, "stats": stats}


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.headings: list[int] = []
        self.text_by_tag: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        for k in ("href", "src"):
            if a.get(k) is not None:
                self.links.append(a[k])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))


def _pages(out: Path):
    return sorted(out.rglob("*.html"))


def _resolve(page: Path, link: str, out: Path) -> Path | None:
    """The file a relative link points to (None: external or a mailto)."""
    url, _ = urldefrag(link)
    p = urlparse(url)
    if p.scheme or p.netloc:
        return None
    # a link from the root (only the 404 page has them: it is shown at any depth) is from the site's root
    target = (out / p.path.lstrip("/")).resolve() if p.path.startswith("/") else (page.parent / p.path).resolve()
    if p.path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


def test_every_internal_link_resolves(built):
    pages, checked = _check_links(built["out"])
    assert pages > 60 and checked > 1000


def test_long_indexes_are_split_and_their_links_resolve(built, tmp_path, monkeypatch):
    from stekker.publish import pages as P

    monkeypatch.setattr(P, "INDEX_LIMIT", 3)
    site = Site(built["model"], GEO_DIR if GEO_DIR.is_dir() else None)
    out = tmp_path / "split"
    write_site(site, out)
    idx = (out / "en" / "domain" / "index.html").read_text("utf-8")
    assert "almere.nl" not in idx and 'href="../../en/domains/a/"' in idx
    assert "almere.nl" in (out / "en" / "domains" / "a" / "index.html").read_text("utf-8")
    orgs_g = [p for p in (out / "nl" / "orgs").iterdir() if p.name.startswith("g")]
    assert len(orgs_g) > 1  # "g" has more than 3 organisations: split by longer prefixes
    _check_links(out)
    # every domain is listed in exactly one group
    seen = []
    for p in (out / "en" / "domains").glob("*/index.html"):
        seen += re.findall(r'href="\.\./\.\./\.\./en/domain/([^/]+)/"', p.read_text("utf-8"))
    assert sorted(seen) == sorted(built["model"].domain_ids())


def _check_links(out: Path) -> tuple[int, int]:
    pages = _pages(out)
    checked = external = 0
    broken = []
    for page in pages:
        parser = _Links()
        parser.feed(page.read_text("utf-8"))
        for link in parser.links:
            target = _resolve(page, link, out)
            if target is None:
                # the only links off the site: the contest address and the knowledge base's sources
                assert link.startswith(("mailto:fouten@example.org?", "https://", "http://")), link
                external += 1
                continue
            checked += 1
            if not target.is_file() or out.resolve() not in target.parents:
                broken.append((str(page.relative_to(out)), link))
    print(f"link check: {len(pages)} pages, {checked} internal links, {external} external")
    assert not broken, broken[:20]
    return len(pages), checked


def test_every_page_has_a_language_switch_and_basic_accessibility(built):
    out = built["out"]
    for page in _pages(out):
        text = page.read_text("utf-8")
        rel = page.relative_to(out).as_posix()
        lang = rel.split("/")[0] if rel.split("/")[0] in ("nl", "en") else "nl"
        assert f'<html lang="{lang}">' in text, rel
        parser = _Links()
        parser.feed(text)
        assert parser.headings.count(1) == 1, rel
        assert parser.headings[0] == 1, rel
        for a, b in zip(parser.headings, parser.headings[1:]):
            assert b <= a + 1, (rel, parser.headings)  # no skipped heading level
        tags = [t for t, _ in parser.tags]
        if "table" in tags:
            assert "th" in tags, rel
        # no form without labels (there are no forms: every figure reads without script)
        assert "input" not in tags and "script" not in tags, rel
        if rel.startswith(("nl/", "en/")):
            other = "en" if lang == "nl" else "nl"
            switch = [a for t, a in parser.tags if t == "a" and a.get("hreflang") == other]
            assert switch, rel
            assert _resolve(page, switch[0]["href"], out).is_file()
        assert "Content-Security-Policy" in text and "default-src 'none'" in text


def _lum(hexcol: str) -> float:
    h = hexcol.lstrip("#")
    rgb = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_lum(a), _lum(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_css_text_colours_have_enough_contrast(built):
    css = (built["out"] / "static" / "site.css").read_text("utf-8")
    var = dict(re.findall(r"--([a-z]+):\s*(#[0-9a-fA-F]{6})", css))
    for fg in ("fg", "muted", "link", "bad", "good", "unk"):
        for bg in ("bg", "accent"):
            assert _contrast(var[fg], var[bg]) >= 4.5, (fg, bg, _contrast(var[fg], var[bg]))
    assert _contrast("#1a1a1a", "#ffe98a") >= 4.5  # focused link
    assert _contrast("#777777", "#ffffff") < 4.5  # the check can fail


def test_hostile_text_is_inert_everywhere(built):
    out = built["out"]
    for page in _pages(out):
        text = page.read_text("utf-8")
        assert "<script" not in text.lower(), page
        assert "onerror=" not in text.replace("onerror=&#34;", "").replace("onerror=&quot;", ""), page
        assert "\u202e" not in text, page  # bidi override shown as \u202e text
    org = next(p for p in (out / "en" / "org").iterdir() if p.name.startswith("stichting-i-x-i-co"))
    page = (org / "index.html").read_text("utf-8")
    assert "Stichting &lt;i&gt;X&lt;/i&gt; &amp; Co" in page
    dom = (out / "en" / "domain" / "hostile.nl" / "index.html").read_text("utf-8")
    assert "&lt;script&gt;document.body.setAttribute(" in dom
    assert "evil\\u202etxt.exe" in dom
    # JSON: escaped, same data; CSV: no formula
    raw = (out / "api" / "v1" / "domains" / "hostile.nl.json").read_bytes().decode("utf-8")
    assert "\u202e" not in raw and "\\u202e" in raw
    assert any("data-pwned" in e["value"] for d in json.loads(raw)["dependencies"] for e in d["evidence"])
    rows = list(csv.reader(io.StringIO((out / "data" / "scan.csv").read_text("utf-8"))))
    assert all(not c.startswith(("=", "+", "-", "@")) for r in rows for c in r)


def test_verdicts_are_the_reports(built):
    """The site states the verdicts `stekker report` computes, for every domain and organisation."""
    from stekker import kb as K
    from stekker.judge import load_policies
    from stekker.report import build, load_scan, measurement_date

    st, sid, out = built["store"], built["sid"], built["out"]
    kb = K.load()
    attrs, meta = load_scan(st, sid, kb)
    rep = build(attrs, kb, load_policies().select(None), measurement_date(meta), meta=meta)
    for r in rep.results:
        doc = json.loads((out / "api" / "v1" / "domains" / f"{r.domain}.json").read_text("utf-8"))
        assert doc["verdicts"] == r.verdict
    orgs = json.loads((out / "api" / "v1" / "organisations.json").read_text("utf-8"))["items"]
    assert {o["name"]: o["verdicts"] for o in orgs} == rep.org_verdicts
    home = json.loads((out / "api" / "v1" / "scan.json").read_text("utf-8"))
    assert home["domains"]["nos"] == rep.domains["nos"].to_dict()
    from stekker.render.fmt import fmt_pct

    nl = (out / "nl" / "index.html").read_text("utf-8")
    assert fmt_pct(rep.domains["nos"].share, "nl") in nl


def test_domain_page_evidence_dig_history_explanation_contest(built):
    out = built["out"]
    page = (out / "nl" / "domain" / "almere.nl" / "index.html").read_text("utf-8")
    assert "dig +noall +answer almere.nl MX" in page
    assert "We move to a Dutch mail platform in 2027. &lt;b&gt;not bold&lt;/b&gt;" in page
    assert "CIO Almere" in page
    assert 'href="mailto:fouten@example.org?subject=stekker%3A%20fout%20in%20almere.nl%20%28scan%202%29&amp;body=' in page
    assert "Meld een fout" in page
    hist = page[page.index('id="hist-h"'):]
    assert hist.count("<tr>") == 3  # header + two scans
    en = (out / "en" / "domain" / "almere.nl" / "index.html").read_text("utf-8")
    assert "Report an error" in en and "Microsoft Corporation (US)" in en


def test_each_service_row_has_a_contest_link_that_identifies_the_label(built):
    """The contest link carried only the scan and the domain in its subject: not the service, the
    provider, the definitions' verdicts, the knowledge-base version (`stekker attribute` works the
    same scan out again under another) or the evidence, and it sat at the bottom of the page only
    (exploratory test E, M3).  Each service row has its own link; the mailto's body pins the label
    and says what to add, in the page's language."""
    import html as _html
    from urllib.parse import parse_qs, urlsplit

    m = built["model"]
    kb = m.report.meta["kb_version"]
    for lang, ask, service in (("en", "What is wrong, and what is right?", "Mailbox platform"),
                               ("nl", "Wat klopt er niet, en wat is wel juist?", "Mailboxplatform")):
        page = (built["out"] / lang / "domain" / "almere.nl" / "index.html").read_text("utf-8")
        table = page[page.index('id="s-h"'):page.index('id="r-h"')]
        rows = table.count("<tr>") - 1
        links = re.findall(r'<td class="contest"><a href="([^"]+)" rel="nofollow" aria-label="([^"]+)">', table)
        assert rows == len(links) == 4, (rows, links)
        bodies = {}
        for href, label in links:
            href = _html.unescape(href)
            assert href.startswith("mailto:fouten@example.org?")
            q = {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}
            assert "\r\n" in q["body"]  # line ends as RFC 6068 asks
            body = q["body"].replace("\r\n", "\n")
            ident = dict(line.split(": ", 1) for line in body.splitlines() if re.match(r"^[a-z_]+: ", line))
            assert ident["scan"] == "2" and ident["kb"] == kb and ident["as_of"] == m.report.as_of.isoformat()
            assert ident["domain"] == "almere.nl"
            bodies[(ident["category"], ident["provider"])] = (q["subject"], body, _html.unescape(label))
            assert body.rstrip().endswith(":") and ask in body
        subject, body, label = bodies[("mailbox", "microsoft")]
        assert subject.startswith("stekker: ") and "almere.nl" in subject and service in subject and "Microsoft" in subject
        assert label.endswith(f"{service}, Microsoft")
        assert "almere.nl MX 0 almere-nl.mail.protection.outlook.com" in body  # the evidence
        assert "Microsoft Corporation" in body and ": US" in body  # company and jurisdiction
        words = Text(lang)
        assert f"{m.report.policies[0].short_title(lang)}: {words.verdict('not_sovereign')}" in body
        assert {k for k, _ in bodies} == {"web", "dns", "mailbox", "mail_inbound"}
        # the page says what the links are for and where contesting is explained
        assert table.count('methods/#contest"') == 1
        assert f'/{lang}/methods/#contest">' in page[page.index('<p class="contest">'):]


def test_contest_url_gets_the_label_as_query_parameters(built):
    """With --contest-url each row's link is the form with scan, kb, as_of, domain, category and
    provider (and the page's language), so the form can show the label being contested."""
    import html as _html
    from urllib.parse import parse_qs, urlsplit

    m = dataclasses.replace(built["model"], contest_url="https://example.org/meld?x=1", contest_email=None)
    page = Site(m).render("/nl/domain/almere.nl/").body.decode("utf-8")
    hrefs = [_html.unescape(h) for h in re.findall(r'<td class="contest"><a href="([^"]+)"', page)]
    assert len(hrefs) == 4
    got = [{k: v[0] for k, v in parse_qs(urlsplit(h).query).items()} for h in hrefs]
    assert all(h.startswith("https://example.org/meld?x=1&scan=2&kb=") for h in hrefs)
    want = {"x": "1", "scan": "2", "kb": m.report.meta["kb_version"], "as_of": m.report.as_of.isoformat(),
            "domain": "almere.nl", "category": "mailbox", "provider": "microsoft", "lang": "nl"}
    assert want in got



def test_contest_url_parameters_go_before_a_fragment(built):
    """Field trial (publish, finding 5): with --contest-url https://ex.org/form#frag the label's
    parameters were appended after the fragment ("...#frag?scan=2&..."), where the form never sees
    them.  They join the query, before the fragment."""
    import html as _html
    from urllib.parse import parse_qs, urlsplit

    for url, query in (("https://example.org/meld#form", ""), ("https://example.org/meld?x=1#form", "x=1&")):
        m = dataclasses.replace(built["model"], contest_url=url, contest_email=None)
        page = Site(m).render("/en/domain/almere.nl/").body.decode("utf-8")
        hrefs = [_html.unescape(h) for h in re.findall(r'<td class="contest"><a href="([^"]+)"', page)]
        assert hrefs and all(h.startswith(f"https://example.org/meld?{query}scan=2&") for h in hrefs), hrefs
        u = urlsplit(hrefs[0])
        assert u.fragment == "form" and parse_qs(u.query)["domain"] == ["almere.nl"], hrefs[0]


@pytest.mark.parametrize("url,words", [("https://", "names no host"), ("https:///form", "names no host"),
                                       ("https://@/x", "names no host"),
                                       ("https://example.org/a form", "must not contain spaces"),
                                       ("https://example.org/a\tb", "must not contain spaces"),
                                       ('https://example.org/"x', "must not contain spaces"),
                                       ("https://example.org:99999/", "not a valid web address"),
                                       ("https://[::1/", "not a valid web address"),
                                       ("ftp://example.org/", "must start with https:// or http://")])
def test_cli_refuses_a_contest_url_that_is_no_web_address(built, tmp_path, url, words):
    """Field trial (publish, finding 5): `https://` without a host and a URL with spaces were taken and
    made broken links on every page.  Refused with exit 2 and what is wrong, before anything is written
    (site) or served (serve)."""
    db = str(built["db"])
    res = _cli("site", "--db", db, "--out", str(tmp_path / "s"), "-q", "--contest-url", url)
    assert res.exit_code == 2 and words in res.output, res.output
    assert not (tmp_path / "s").exists()
    import socket

    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = str(sk.getsockname()[1])
    res = _cli("serve", "--db", db, "--port", port, "--contest-url", url)
    assert res.exit_code == 2 and words in res.output, res.output

def test_without_a_contest_contact_every_page_says_so(built):
    """Without --contest-email/--contest-url the page said "quote the domain and scan 2 to the
    publisher of this site", naming no one (exploratory test E, M3): it says plainly that no
    address was named, and the methods page explains contesting all the same."""
    m = dataclasses.replace(built["model"], contest_url=None, contest_email=None)
    site = Site(m)
    kb = m.report.meta["kb_version"]
    for lang, words in (("en", "The publisher of this site has named no address for reporting an error"),
                        ("nl", "De uitgever van deze site heeft geen adres opgegeven om een fout te melden")):
        for path in (f"/{lang}/domain/almere.nl/", f"/{lang}/org/gemeente-almere/", f"/{lang}/provider/microsoft/",
                     f"/{lang}/methods/"):
            page = site.render(path).body.decode("utf-8")
            assert words in page and kb in page, path
            assert "mailto:" not in page and 'class="contest"><a' not in page, path
        page = site.render(f"/{lang}/domain/almere.nl/").body.decode("utf-8")
        assert "<th scope=\"col\">" + Text(lang)("col_contest") + "</th>" not in page  # no empty column


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_methods_page_explains_how_to_contest_a_label(built, lang):
    t = Text(lang)
    m = built["model"]
    page = (built["out"] / lang / "methods" / "index.html").read_text("utf-8")
    sec = page[page.index('<section id="contest"'):]
    sec = sec[:sec.index("</section>")]
    assert t("methods_contest") in sec
    assert m.report.meta["kb_version"] in sec and m.report.as_of.isoformat() in sec
    import html as _html

    for key in ("methods_contest_how", "methods_contest_after"):
        assert t(key) in _html.unescape(sec)
    assert 'href="mailto:fouten@example.org?' in sec and ">fouten@example.org</a>" in sec


def test_changes_page_feed_and_json(built):
    out = built["out"]
    ch = json.loads((out / "api" / "v1" / "changes.json").read_text("utf-8"))
    moved = [c for c in ch["changes"] if c["kind"] == "moved" and c["domain"] == "almere.nl"]
    assert {c["category"] for c in moved} >= {"mailbox"}
    assert moved[0]["old"] == "transip" and moved[0]["new"] == "microsoft"
    assert ch["added_domains"] == ["orphan.nl"]
    page = (out / "en" / "changes" / "index.html").read_text("utf-8")
    assert "almere.nl" in page and "moved" in page
    # definitions by their names, in the page's language, not their ids (exploratory test 2026-12-06)
    assert "<td>No US (NOS)</td>" in page and "<td>nos</td>" not in page and "<td>broad</td>" not in page
    feed = ET.fromstring((out / "en" / "changes.atom").read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    titles = [e.find("a:title", ns).text for e in feed.findall("a:entry", ns)]
    assert any("almere.nl" in x and "TransIP" in x and "Microsoft" in x for x in titles)


def test_changes_csv_lists_every_verdict_change(built):
    """A domain's verdict flipping under a definition was on the changes page and in the API but
    not in /data/changes.csv, which `report --compare` names as the list of every change
    (exploratory test E, M2): one row of kind "verdict" per verdict change, with its definition."""
    out = built["out"]
    ch = json.loads((out / "api" / "v1" / "changes.json").read_text("utf-8"))
    assert ch["verdict_changes"]
    rows = list(csv.DictReader(io.StringIO((out / "data" / "changes.csv").read_text("utf-8"))))
    got = [(r["domain"], r["definition"], r["old"], r["new"]) for r in rows if r["kind"] == "verdict"]
    assert got == [(v["domain"], v["policy"], v["old"], v["new"]) for v in ch["verdict_changes"]]
    # the service changes are all still there, with an empty definition
    others = [r for r in rows if r["kind"] not in ("verdict", "removed_from_input", "added_to_input")]
    assert len(others) == len(ch["changes"]) and all(r["definition"] == "" for r in others)
    assert all(r["category"] == "" and r["organisations"] == "Gemeente Almere" for r in rows if r["kind"] == "verdict")


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_feed_has_an_entry_per_verdict_change(built, lang):
    """Feed subscribers did not learn of a domain's verdict flipping (exploratory test E, M2): one
    entry per verdict change, naming the definition and the old and new verdict in the feed's
    language, linking to the domain's page, with an id of its own."""
    from stekker.publish.model import Text

    out, m = built["out"], built["model"]
    t = Text(lang)
    titles = {p.id: p.short_title(lang) for p in m.report.policies}
    ch = json.loads((out / "api" / "v1" / "changes.json").read_text("utf-8"))
    feed = ET.fromstring((out / lang / "changes.atom").read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = [(e.find("a:title", ns).text, e.find("a:id", ns).text, e.find("a:link", ns).get("href"))
               for e in feed.findall("a:entry", ns)]
    assert len({i for _, i, _ in entries}) == len(entries)  # every entry its own id
    assert ch["verdict_changes"]
    for v in ch["verdict_changes"]:
        want = f"{v['domain']}: {titles[v['policy']]} — {t('change_verdict')}: {t.verdict(v['old'])} → {t.verdict(v['new'])}"
        hit = [e for e in entries if e[0] == want]
        assert len(hit) == 1, (want, [e[0] for e in entries])
        assert hit[0][2] == f"domain/{v['domain']}/"
    listed = len(ch["added_domains"]) + len(ch["removed_domains"])  # an entry per domain put on or off the input
    assert len(entries) == len(ch["changes"]) + len(ch["verdict_changes"]) + listed


def test_provider_and_parent_pages(built):
    out = built["out"]
    ms = (out / "en" / "provider" / "microsoft" / "index.html").read_text("utf-8")
    assert "almere.nl" in ms and "gemeente.groningen.nl" in ms and "HHI" in ms
    doc = json.loads((out / "api" / "v1" / "providers" / "microsoft.json").read_text("utf-8"))
    assert {d["domain"] for d in doc["dependents"]} == {"almere.nl", "gemeente.groningen.nl", "ziekenhuis-b.nl"}
    parents = {p.name for p in (out / "en" / "parent").iterdir() if p.is_dir()}
    assert "microsoft" in parents


@needs_geo
def test_map_matches_municipalities_and_lists_the_unmatched(built):
    out = built["out"]
    page = (out / "en" / "map" / "index.html").read_text("utf-8")
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert svg.count("<path") == 342
    assert "Almere: Microsoft" in svg and "Utrecht: Google" in svg
    assert "© OpenStreetMap contributors" in page
    unmatched = page[page.index("matched none"):]
    assert "Gemeente Nergensland" in unmatched and "Gemeente Almere" not in unmatched
    assert "5 of 342 municipalities matched" in page  # Almere, Groningen, Utrecht, Amsterdam, Heemstede
    dns = (out / "nl" / "map" / "dns" / "index.html").read_text("utf-8")
    assert "Utrecht: eigen infrastructuur" in dns
    # a failed measurement, a service not recognised and no such service each have their own
    # colour (they shared one: an error looked like "not present", exploratory test 2026-12-06)
    web = (out / "en" / "map" / "web" / "index.html").read_text("utf-8")
    assert '<path class="cerror"' in web and "<title>Heemstede: not measured (DNS error)" in web
    assert '<path class="cunknown"' in web and "<title>Amsterdam: provider not recognised" in web
    assert '<path class="cabsent"' in web and "<title>Utrecht: no website (no address)" in web  # the category's words
    assert web.count("sw-error") == web.count("sw-unknown") == web.count("sw-absent") == 1
    assert len(page.encode("utf-8")) < 200_000


def test_page_weights(built):
    out = built["out"]
    for lang in ("nl", "en"):
        assert (out / lang / "index.html").stat().st_size < 200_000
        for p in (out / lang / "org").glob("*/index.html"):
            assert p.stat().st_size < 100_000, p


def _big_org_site(tmp_path: Path, n: int = 1234) -> tuple[Path, Model, list[str]]:
    """A site with one organisation of ``n`` domains (long names, 25 web
    hosters) beside the fixture's, like the agencies of the NOS-size lab."""
    from test_report_support import dom, ev, svc

    org = "Stichting Samenwerkingsverband Openbaar Primair Onderwijs <Groot> & Breed"
    attrs = [dom(f"basisschool-met-een-lange-naam-van-de-school-{i:05d}.nl", org, "onderwijs", {
        "mailbox": svc("mailbox", "microsoft", name="Microsoft", evidence=[
            ev(f"basisschool-met-een-lange-naam-van-de-school-{i:05d}.nl", "MX", "0 x.mail.protection.outlook.com")]),
        "web": svc("web", f"hoster-{i % 25}", name=f"Webhoster nummer {i % 25}"),
        "dns": svc("dns", "transip", name="TransIP")}) for i in range(n)]
    out, model = _site_with(tmp_path / "big", attrs)
    return out, model, [a.domain for a in attrs]


def _site_with(out: Path, attrs: list) -> tuple[Path, Model]:
    """The fixture's records plus ``attrs``, judged and written as a site in ``out``."""
    from stekker import kb as K
    from stekker.judge import load_policies
    from stekker.report import build

    kb = K.load()
    rep = build(records() + attrs, kb, load_policies().select(None), "2026-01-01",
                meta={"scan_id": 7, "started_at": "2026-01-01T00:00:00+00:00"})
    model = Model.from_report(rep, kb)
    write_site(Site(model, None), out)
    return out, model


def test_a_big_organisations_page_stays_under_100_kb_and_hides_nothing(tmp_path):
    out, model, domains = _big_org_site(tmp_path)
    slug = next(s for s in model.org_slugs() if s.startswith("stichting-samenwerkingsverband"))
    for lang in ("nl", "en"):
        first = out / lang / "org" / slug / "index.html"
        assert first.stat().st_size < 100_000, first.stat().st_size
        pages = [first] + sorted((out / lang / "org" / slug / "domains").glob("*/index.html"),
                                 key=lambda p: int(p.parent.name))
        assert len(pages) == 25  # 1,234 domains, 50 a page
        seen = []
        for p in pages:
            assert p.stat().st_size < 100_000, (p, p.stat().st_size)
            text = p.read_text("utf-8")
            seen += re.findall(r'/domain/(basisschool[^/]+)/"', text)
            assert 'domains/25/"' in text or p.parent.name == "25"  # every page links to the last
        assert sorted(set(seen)) == sorted(domains)  # every domain is on one of the pages (and linked)
        page = first.read_text("utf-8")
        # the summary by service: every one of the 25 hosters counted (10 by name, the rest as one row)
        summary = page[page.index('<section aria-labelledby="sum-h">'):]
        summary = summary[:summary.index("</section>")]
        assert summary.count("Webhoster nummer") == 10
        assert ("15 andere aanbieders" if lang == "nl" else "15 other providers") in summary
        assert re.search(r">Microsoft</a></td><td>1[.,]234</td><td>100", summary)
    _check_links(out)


# ---------------------------------------------------------------------------
# the CLI
# ---------------------------------------------------------------------------


def _cli(*args):
    from typer.testing import CliRunner

    from stekker.cli import _register, app

    _register()
    return CliRunner().invoke(app, list(args))


def test_cli_site_refuses_a_directory_it_did_not_write(built, tmp_path):
    db = str(built["db"])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my own file")
    res = _cli("site", "--db", db, "--out", str(mine), "-q")
    assert res.exit_code == 2, res.output
    assert "not a site stekker wrote" in res.output
    assert (mine / "notes.txt").read_text() == "my own file" and len(list(mine.iterdir())) == 1
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert _cli("site", "--db", db, "--out", str(f), "-q").exit_code == 2
    assert f.read_text() == "x"
    res = _cli("site", "--db", db, "--out", str(tmp_path / "s"), "--scan", "99", "-q")
    assert res.exit_code == 2 and "no scan 99" in res.output
    assert not (tmp_path / "s").exists()
    assert _cli("site", "--db", db, "--out", str(tmp_path / "s"), "--contest-url", "javascript:alert(1)").exit_code == 2


def test_cli_site_writes_and_rewrites_its_own_site(built, tmp_path):
    db = str(built["db"])
    out = tmp_path / "site"
    geo = ["--geo", str(GEO_DIR)] if GEO_DIR.is_dir() else []
    res = _cli("site", "--db", db, "--out", str(out), "--contest-url", "https://example.org/meld?x=1", *geo)
    assert res.exit_code == 0, res.output
    assert (out / MARKER).is_file() and (out / "nl" / "index.html").is_file()
    page = (out / "en" / "domain" / "utrecht.nl" / "index.html").read_text("utf-8")
    from stekker import kb as K

    ref = f"https://example.org/meld?x=1&amp;scan=2&amp;kb={K.load().version}&amp;as_of="
    assert f'href="{ref}' in page and "&amp;domain=utrecht.nl&amp;lang=en" in page
    assert "&amp;domain=utrecht.nl&amp;category=mailbox&amp;provider=google&amp;lang=en" in page
    # ownership and jurisdiction labels can be contested on provider and parent pages too
    prov = (out / "en" / "provider" / "microsoft" / "index.html").read_text("utf-8")
    assert f'href="{ref}' in prov and "&amp;provider=microsoft&amp;company=Microsoft&amp;lang=en" in prov
    par = next((out / "en" / "parent").glob("*/index.html")).read_text("utf-8")
    assert "&amp;company=" in par and "&amp;parent=" in par
    assert "no address for reporting an error" not in res.output  # a contact was given: no warning
    # a page stekker wrote that the new site no longer has goes; files the publisher added stay
    # (exploratory test 2026-12-06: a .htaccess and a robots.txt were deleted by the next run)
    (out / "stale.html").write_text("old")
    with (out / ".stekker-site-files").open("a", encoding="utf-8") as f:
        f.write("stale.html\n")
    (out / ".htaccess").write_text("RewriteEngine On\n")
    (out / "extra").mkdir()
    (out / "extra" / "logo.svg").write_text("<svg/>")
    res = _cli("site", "--db", db, "--out", str(out))
    assert res.exit_code == 0, res.output
    assert not (out / "stale.html").exists()  # the old site was replaced as a whole
    assert (out / ".htaccess").read_text() == "RewriteEngine On\n" and (out / "extra" / "logo.svg").is_file()
    assert "kept 2 file(s) you added: .htaccess, extra/logo.svg" in res.output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.")]  # no temporary left
    # a file of the publisher's where the new site writes one: stopped, nothing changed
    lines = (out / ".stekker-site-files").read_text("utf-8").splitlines()
    (out / ".stekker-site-files").write_text("".join(x + "\n" for x in lines if x != "data/home.csv"), "utf-8")
    (out / "data" / "home.csv").write_text("mine")
    res = _cli("site", "--db", db, "--out", str(out), "-q")
    assert res.exit_code == 2 and "data/home.csv" in res.output, res.output
    assert (out / "data" / "home.csv").read_text() == "mine" and (out / ".htaccess").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site.")]
    # a site written before the list of written files existed: what lies outside stekker's own
    # places is the publisher's and stays (review 26: it was deleted)
    (out / "data" / "home.csv").unlink()
    (out / ".stekker-site-files").unlink()
    (out / "robots.txt").write_text("User-agent: *\n")
    res = _cli("site", "--db", db, "--out", str(out), "-q")
    assert res.exit_code == 0, res.output
    assert (out / "robots.txt").is_file() and (out / ".htaccess").is_file() and (out / "extra" / "logo.svg").is_file()
    assert (out / "data" / "home.csv").is_file() and (out / ".stekker-site-files").is_file()


def test_cli_site_warns_when_the_site_names_no_contest_contact(built, tmp_path):
    """A site without --contest-email/--contest-url gives the people concerned no way to contest a
    label; whoever builds it is told (also with -q, like every warning), and it is still written."""
    db = str(built["db"])
    res = _cli("site", "--db", db, "--out", str(tmp_path / "s"), "-q")
    assert res.exit_code == 0, res.output
    assert "warning: no --contest-email or --contest-url: the site names no address for reporting an error" \
        in res.output
    assert (tmp_path / "s" / "en" / "index.html").is_file()
    res = _cli("site", "--db", db, "--out", str(tmp_path / "t"), "-q", "--contest-email", "fouten@example.org")
    assert res.exit_code == 0 and "contest" not in res.output, res.output


# ---------------------------------------------------------------------------
# the live server and its API
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(built):
    from starlette.testclient import TestClient

    from stekker.publish.serve import create_app

    return TestClient(create_app(built["site"]))


def test_serve_serves_the_same_documents_as_the_site(client, built):
    out = built["out"]
    for path in ("/api/v1/domains.json", "/api/v1/organisations.json", "/api/v1/domains/almere.nl.json",
                 "/api/v1/providers.json", "/api/v1/changes.json", "/data/catalog.jsonld", "/api/v1/openapi.json",
                 "/api/v1/scan.json", "/api/v1/sectors.json", "/api/v1/sectors/gemeente.json",
                 "/data/changes.csv"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.content == (out / path.lstrip("/")).read_bytes(), path
    r = client.get("/nl/org/gemeente-almere/")
    assert r.status_code == 200 and r.content == (out / "nl/org/gemeente-almere/index.html").read_bytes()
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "set-cookie" not in r.headers
    assert client.get("/nl/org/gemeente-almere", follow_redirects=False).status_code == 308
    assert client.post("/nl/").status_code == 405


def test_serve_redirects_only_within_the_site(client):
    """A path starting with "//" (or its encoded form, or a backslash, which browsers read as a
    slash) was redirected to "//evil.example/x/": a link on this host to any other host."""
    for path in ("//evil.example/x", "/%2F%2Fevil.example/x", "/%5Cevil.example/x", "/nl//evil.example"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 404, (path, r.status_code, r.headers.get("location"))
        assert "location" not in r.headers
    # the test client reads "//evil.example/x" as another host; a browser's request line carries the path
    # as sent: asked through the ASGI interface itself (review 26)
    import asyncio

    def raw(path):
        sent = []

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(msg):
            sent.append(msg)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
                 "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"", "headers": [],
                 "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 1)}
        asyncio.run(client.app(scope, receive, send))
        start = next(m for m in sent if m["type"] == "http.response.start")
        return start["status"], dict((k.decode(), v.decode()) for k, v in start["headers"])

    for path in ("//evil.example/x", "/\\evil.example/x", "//evil.example"):
        status, headers = raw(path)
        assert status == 404 and "location" not in headers, (path, status, headers)
    # a page without its trailing slash, also when its last segment has a dot (a domain)
    r = client.get("/en/domain/almere.nl", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/en/domain/almere.nl/"
    r = client.get("/nl", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/nl/"
    assert client.get("/en/domain/nope.nl", follow_redirects=False).status_code == 404
    assert client.get("/data/scan.csv", follow_redirects=False).status_code == 200


def test_serve_errors_carry_the_headers(client):
    """Starlette's own 404 (a path no route matches, e.g. with a newline) and 405 answered in
    text/plain without the CSP and nosniff; under /api/ they are the documented JSON error."""
    cases = [("GET", "/api/v1/parents/a%0Ab.json", 404, True), ("GET", "/en/%0A", 404, False),
             ("GET", "/api/v1/scan.json%0A", 404, True), ("POST", "/en/", 405, False),
             ("DELETE", "/api/v1/domains.json", 405, True), ("GET", "/nl/nergens/", 404, False)]
    for method, path, status, api in cases:
        r = client.request(method, path, follow_redirects=False)
        assert r.status_code == status, (method, path, r.status_code)
        assert "default-src 'none'" in r.headers["content-security-policy"], path
        assert r.headers["x-content-type-options"] == "nosniff", path
        if api:
            assert r.headers["content-type"].startswith("application/json") and "error" in r.json(), path
        else:
            assert r.headers["content-type"].startswith("text/html"), path
        if status == 405:
            assert r.headers["allow"] == "GET, HEAD"
    assert 'lang="nl"' in client.get("/nl/nergens/").text


def test_serve_api_filters_and_pages(client):
    r = client.get("/api/v1/domains.json", params={"sector": "gemeente"}).json()
    assert r["total"] == 8 and all("gemeente" in d["sectors"] for d in r["items"])
    r = client.get("/api/v1/domains.json", params={"provider": "microsoft"}).json()
    assert {d["domain"] for d in r["items"]} == {"almere.nl", "gemeente.groningen.nl", "ziekenhuis-b.nl"}
    page = client.get("/api/v1/domains.json", params={"limit": 2, "offset": 3}).json()
    full = client.get("/api/v1/domains.json").json()
    assert page["items"] == full["items"][3:5] and page["total"] == full["total"] == 11
    assert client.get("/api/v1/domains.json", params={"limit": "-1"}).status_code == 400
    assert client.get("/api/v1/domains.json", params={"limit": "x"}).json() == {
        "error": "limit must be a whole number from 0 to 100000"}
    assert client.get("/api/v1/domains/nope.nl.json").status_code == 404
    assert client.get("/api/v1/organisations.json", params={"sector": "zorg"}).json()["total"] == 1


def test_serve_api_refuses_unknown_parameters_listing_the_accepted_ones(client):
    """A misspelt filter (?sectr=gemeente) or one the document does not have (?verdict=…) gave
    every item, as if it were the filtered answer (exploratory test E, M6)."""
    for params in ({"sectr": "gemeente"}, {"verdict": "not_sovereign"}, {"sector": "gemeente", "Limit": "5"}):
        r = client.get("/api/v1/domains.json", params=params)
        assert r.status_code == 400, params
        body = r.json()
        bad = next(k for k in params if k not in ("sector",))
        assert repr(bad) in body["error"] and "sector, provider, limit, offset" in body["error"], body
        assert body["accepted"] == ["sector", "provider", "limit", "offset"]
    r = client.get("/api/v1/organisations.json", params={"provider": "microsoft"})
    assert r.status_code == 400 and r.json()["accepted"] == ["sector", "limit", "offset"]
    # a document without parameters says it takes none
    for path in ("/api/v1/scan.json", "/api/v1/changes.json", "/api/v1/domains/almere.nl.json", "/api/v1/openapi.json"):
        r = client.get(path, params={"v": "1"})
        assert r.status_code == 400 and r.json()["accepted"] == [] and "no query parameter" in r.json()["error"], path
    # a parameter given twice is not silently one of its values
    r = client.get("/api/v1/domains.json?sector=gemeente&sector=zorg")
    assert r.status_code == 400 and "sector" in r.json()["error"]
    # an unknown path stays a 404, whatever its parameters
    assert client.get("/api/v1/nothing.json", params={"x": "1"}).status_code == 404
    # the pages are not the API: their query strings are not checked
    assert client.get("/en/", params={"utm_source": "x"}).status_code == 200



@pytest.mark.parametrize("query", ["sector=", "provider=", "sector=%20", "provider=&limit=1"])
def test_serve_api_refuses_an_empty_filter(client, query):
    """Field trial (publish, finding 14): /api/v1/domains.json?sector= (an empty filter) answered with every
    domain, as if filtered.  A 400 like any other bad parameter, naming the parameter and those accepted;
    the OpenAPI description says so (minLength 1)."""
    from stekker.publish.api import openapi

    for doc in ("/api/v1/domains.json", "/api/v1/organisations.json"):
        if "provider" in query and doc.endswith("organisations.json"):
            continue
        r = client.get(f"{doc}?{query}")
        assert r.status_code == 400, (doc, query, r.status_code)
        body = r.json()
        assert "is empty" in body["error"] and query.split("=")[0] in body["error"] and body["accepted"], body
    params = {p["name"]: p["schema"] for p in openapi("")["paths"]["/api/v1/domains.json"]["get"]["parameters"]}
    assert params["sector"]["minLength"] == 1 and params["provider"]["minLength"] == 1


def test_serve_api_filter_values_ignore_case_and_unknown_values_are_refused(client):
    """?sector=Gemeente and ?provider=Microsoft gave 0 items where the ids are case-insensitive
    (sector ids and names, provider ids): matched without regard to case; a value that names no
    sector or provider of the scan is a 404 that says so, never an empty list (exploratory test E, M6)."""
    def total(path, **params):
        r = client.get(path, params=params)
        assert r.status_code == 200, (params, r.text)
        return r.json()["total"]

    assert total("/api/v1/domains.json", sector="Gemeente") == total("/api/v1/domains.json", sector="gemeente") == 8
    assert total("/api/v1/domains.json", sector="GEMEENTE") == 8
    assert total("/api/v1/domains.json", provider="Microsoft") == total("/api/v1/domains.json", provider="microsoft") == 3
    assert total("/api/v1/organisations.json", sector="Zorg") == 1
    assert total("/api/v1/domains.json", provider="self") == 1  # own infrastructure (utrecht.nl's DNS)
    for path, params, words in (("/api/v1/domains.json", {"sector": "gemeete"}, "/api/v1/sectors.json"),
                                ("/api/v1/organisations.json", {"sector": "gemeete"}, "/api/v1/sectors.json"),
                                ("/api/v1/domains.json", {"provider": "microsfot"}, "/api/v1/providers.json")):
        r = client.get(path, params=params)
        assert r.status_code == 404, (path, params)
        assert repr(next(iter(params.values()))) in r.json()["error"] and words in r.json()["error"]


def test_api_against_its_openapi_description(built):
    """schemathesis generates requests from the OpenAPI document and checks
    every response against it (status codes, content type, schema)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    from stekker.publish.serve import create_app

    app = create_app(built["site"])
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    ops = list(schema.get_all_operations())
    assert len(ops) >= 12
    for result in ops:
        op = result.ok()

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=op.as_strategy())
        def run(case):
            case.call_and_validate()

        run()


def test_every_domain_document_matches_its_openapi_schema(built):
    """Random ids rarely hit a real domain: every domain document the site
    holds is checked against the schema its API describes."""
    import jsonschema_rs

    from stekker.publish.api import openapi

    schema = openapi("t")["paths"]["/api/v1/domains/{id}.json"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    docs = sorted((built["out"] / "api" / "v1" / "domains").glob("*.json"))
    assert docs
    for p in docs:
        jsonschema_rs.validate(schema, json.loads(p.read_text(encoding="utf-8")))


def test_sector_filter_prefers_an_exact_match_and_refuses_an_ambiguous_one():
    """Two sectors whose names differ only in case ("Zorg", "zorg") are two sectors of the report:
    the exact id or name picks one; a third spelling is refused with both ids, never guessed."""
    m = Model(None, None, {})
    m._sectors = {"zorg": "Zorg", "zorg-1a2b3c4d": "zorg", "onderwijs": "Onderwijs"}
    assert m.sector_filter("zorg") == "zorg" and m.sector_filter("Zorg") == "zorg"
    assert m.sector_filter("zorg-1A2B3C4D") == "zorg-1a2b3c4d" and m.sector_filter("ONDERWIJS") == "onderwijs"
    with pytest.raises(ValueError, match="zorg, zorg-1a2b3c4d"):
        m.sector_filter("ZORG")
    with pytest.raises(LookupError, match="sectors.json"):
        m.sector_filter("zrog")


def _response_schema(path: str) -> dict:
    from stekker.publish.api import openapi

    return openapi("t")["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def test_openapi_describes_the_scan_figures_and_the_documents_match(built):
    """scan.json's schema was {"type": "object", "required": ["scan", "domains"]}: "share":
    0.925373 could be read as the share sovereign (exploratory test E, M6).  Every figure is
    described, and the site's documents hold to the description."""
    import jsonschema_rs

    from stekker.publish.api import openapi

    out = built["out"]
    scan = _response_schema("/api/v1/scan.json")
    assert {"scan", "as_of", "kb_version", "policies", "domains", "organisations", "status"} <= set(scan["required"])
    tally = scan["properties"]["domains"]["additionalProperties"]
    assert tally == scan["properties"]["organisations"]["additionalProperties"]
    share = tally["properties"]["share"]["description"]
    assert "not_sovereign" in share and "decided" in share and "not the share sovereign" in share.lower()
    for k in ("not_sovereign", "sovereign", "none", "unknown", "error", "nxdomain", "total", "decided"):
        assert tally["properties"][k].get("description"), k
    assert "no dependency" in tally["properties"]["none"]["description"].lower()
    sectors = _response_schema("/api/v1/sectors.json")
    assert sectors["properties"]["items"]["items"]["properties"]["tallies"]["additionalProperties"] == tally
    for path, doc in (("/api/v1/scan.json", "scan.json"), ("/api/v1/sectors.json", "sectors.json"),
                      ("/api/v1/changes.json", "changes.json"), ("/api/v1/sectors/{id}.json", "sectors/gemeente.json")):
        jsonschema_rs.validate(_response_schema(path), json.loads((out / "api" / "v1" / doc).read_text("utf-8")))
    change = _response_schema("/api/v1/changes.json")["properties"]["verdict_changes"]["items"]
    assert {"domain", "policy", "old", "new"} <= set(change["required"])
    # the filters say how they match and what a bad one gives; every document documents its 400
    spec = openapi("t")
    params = {p["name"]: p for p in spec["paths"]["/api/v1/domains.json"]["get"]["parameters"]}
    assert "case" in params["sector"]["description"] and "case" in params["provider"]["description"]
    assert "404" in params["sector"]["description"] and "404" in params["provider"]["description"]
    assert "404" in spec["paths"]["/api/v1/domains.json"]["get"]["responses"]
    for path, item in spec["paths"].items():
        assert "400" in item["get"]["responses"], path
    assert "accepted" in spec["components"]["schemas"]["Error"]["properties"]


def test_html_parses_in_a_strict_parser(built):
    """Not XHTML, but every page is well-formed enough that Python's parser
    sees one <html>, one <body> and one <main>."""
    for lang in ("nl", "en"):
        text = (built["out"] / lang / "index.html").read_text("utf-8")
        assert text.count("<main") == 1 and text.count("<body") == 1


def test_records_fixture_is_hostile():
    names = {r.organisation for r in records()}
    assert HOSTILE_ORG in names and HOSTILE_ORG2 in names


def test_only_the_model_imports_judging_and_report_code():
    """One door: publish/model.py is the only publish module that imports
    stekker.report, stekker.judge or stekker.attribute (so moving judging
    code touches one file here)."""
    import ast

    src = Path(__file__).resolve().parents[1] / "src" / "stekker" / "publish"
    seen = {}
    for f in src.glob("*.py"):
        mods = set()
        for node in ast.walk(ast.parse(f.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                mods.add(node.module)
            elif isinstance(node, ast.Import):
                mods.update(a.name for a in node.names)
        bad = {m for m in mods if m.split(".")[:2] in (["stekker", "report"], ["stekker", "judge"],
                                                       ["stekker", "attribute"])}
        bad |= {m for m in mods if m == "jinja2" and f.name != "pages.py"}  # one environment, in pages.py
        if bad:
            seen[f.name] = bad
    assert set(seen) == {"model.py"}, seen


def test_parallel_writing_gives_the_same_site(built, tmp_path):
    out2 = tmp_path / "site2"
    stats = write_site(built["site"], out2, workers=2)
    out = built["out"]
    files1 = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    files2 = sorted(p.relative_to(out2).as_posix() for p in out2.rglob("*") if p.is_file())
    assert files1 == files2 and stats.files == built["stats"].files and stats.pages == built["stats"].pages
    for rel in files1:
        if rel.endswith((".parquet", MARKER)):
            continue
        assert (out / rel).read_bytes() == (out2 / rel).read_bytes(), rel


def test_cli_serve_runs_on_loopback(built, tmp_path):
    """`stekker serve` as a user runs it: a process on 127.0.0.1 answering
    pages and the API with the CSP header; stopped by its own pid."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "stekker", "serve", "--db", str(built["db"]), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/nl/", timeout=2) as r:
                    body = r.read().decode("utf-8")
                    csp = r.headers["Content-Security-Policy"]
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.3)
        assert '<html lang="nl">' in body and "default-src 'none'" in csp
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/domains.json?limit=1", timeout=5) as r:
            doc = json.loads(r.read())
        assert doc["total"] == 11 and len(doc["items"]) == 1
    finally:
        # SIGTERM and, during the shutdown, Ctrl-C (explore-f M11: uvicorn's tracebacks): stopped, exit 130
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode()
    assert proc.returncode == 130 and "Traceback" not in err and "interrupted" in err, (proc.returncode, err)
    # served without --contest-email/--contest-url: whoever runs it is told (exploratory test E, M3)
    assert "warning: no --contest-email or --contest-url" in err


@pytest.mark.parametrize("value,want", [("=HYPERLINK(1)", "'=HYPERLINK(1)"), ("  @SUM(A1)", "'  @SUM(A1)"),
                                        ("\uff1d1+1", "'\uff1d1+1"), ("-2", "'-2"), ("a\u202eb", "a\\u202eb"),
                                        ("\t=1", "\\x09=1"), ("Gemeente A", "Gemeente A")])
def test_page_csv_cells_are_spreadsheet_safe(value, want):
    from stekker.publish.pages import _csv

    body = _csv(["x"], [[value]]).body.decode("utf-8")
    assert list(csv.reader(io.StringIO(body)))[1] == [want]


def test_long_tables_are_cut_on_the_page_and_whole_in_the_data(built, tmp_path, monkeypatch):
    from stekker.publish import model as M

    monkeypatch.setattr(M, "TABLE_LIMIT", 1)
    page = built["site"].render("/en/provider/microsoft/").body.decode("utf-8")
    assert "The first 1 of 3 are listed here" in page and page.count("/en/domain/") == 1
    rows = list(csv.reader(io.StringIO(built["site"].render("/data/provider/microsoft.csv").body.decode())))
    assert len(rows) == 4  # header + all three


def test_map_matching_per_domain_code_and_name():
    from stekker.publish.geo import Municipality, match

    munis = [Municipality("0034", "Almere", "almere.nl", "M0 0z"), Municipality("0014", "Groningen",
             "gemeente.groningen.nl", "M0 0z"), Municipality("0363", "Amsterdam", "amsterdam.nl", "M0 0z"),
             Municipality("0344", "Utrecht", "utrecht.nl", None)]
    orgs = [("gemeenten", "Gemeenten", ["almere.nl", "www.gemeente.groningen.nl", "x.nl"], ["gemeenten"]),
            ("gm0363", "Stadsdeel GM0363", [], []),
            ("gemeente-utrecht", "Gemeente Utrecht", ["utrecht-extern.nl"], []),
            ("gemeente-nergens", "Gemeente Nergens", [], []),
            ("bakker", "Bakker Utrecht", [], ["bakkers"])]
    matched, unmatched = match(munis, orgs)
    assert matched == {"0034": ("gemeenten", "Gemeenten", "almere.nl"),
                       "0014": ("gemeenten", "Gemeenten", "www.gemeente.groningen.nl"),
                       "0363": ("gm0363", "Stadsdeel GM0363", None),
                       "0344": ("gemeente-utrecht", "Gemeente Utrecht", None)}
    assert unmatched == [("gemeente-nergens", "Gemeente Nergens")]


def test_map_page_without_boundaries_says_so(built, tmp_path):
    empty = tmp_path / "no-geo"
    empty.mkdir()
    page = Site(built["model"], empty).render("/en/map/").body.decode("utf-8")
    assert "<svg" not in page and "there is no map" in page


def test_the_shipped_boundaries_draw_the_map_without_any_option(built, monkeypatch):
    """A user's install has no ../shared: the boundaries ship as package data
    (with their licence notice) and the map is drawn from them by default."""
    from stekker.publish import geo

    monkeypatch.delenv("STEKKER_GEO_DIR", raising=False)
    assert geo.geo_dir(None) == geo.SHIPPED and (geo.SHIPPED / "NOTICE.md").is_file()
    assert "ODbL" in (geo.SHIPPED / "NOTICE.md").read_text("utf-8")
    page = Site(built["model"], None).render("/en/map/").body.decode("utf-8")
    assert page.count("<path") >= 342 and "OpenStreetMap" in page


def test_service_verdict_cells_line_up_with_the_definitions(built):
    """A definition that does not look at a dependency (nos-records: A/MX/NS/CNAME
    only) leaves its cell empty ("–"); no verdict slides into another column."""
    page = (built["out"] / "en" / "domain" / "hostile.nl" / "index.html").read_text("utf-8")
    section = page[page.index('id="s-h"'):page.index('id="r-h"')]
    head = re.search(r"<thead><tr>(.*?)</tr></thead>", section).group(1)
    ncols = head.count("<th")
    pols = [p.id for p in built["model"].report.policies]
    assert ncols == 4 + len(pols) + 1  # and the last column's links to contest each row
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</tr>", section)
    assert rows
    for row in rows:
        assert row.count("<td>") + row.count('<td class="txt">') == ncols - 2 and row.endswith('</a></td>') and row.count('<td class="contest">') == 1, row
    saas = next(r for r in rows if r.startswith("SaaS"))
    cells = re.findall(r'<td(?: class="txt")?>(.*?)</td>', saas)[3:]
    judged = built["model"].report.results
    dom = next(r for r in judged if r.domain == "hostile.nl")
    dep = next(d for d in dom.deps if d.category == "saas")
    for pid, c in zip(pols, cells):
        v = dep.verdicts.get(pid)
        assert (f"v-{v.verdict}" in c) if v is not None else (c == '<span class="v v-not_judged">–</span>'), (pid, c)


def _meta_warnings(tmp_path: Path) -> list:
    """Every kind of meta warning, made by the code that makes it."""
    from stekker.ipasn import stale_warning
    from stekker.report import _psl_in_force, scan_meta

    _, st, _ = store_with_two_scans(tmp_path)
    sid = st.create_scan(tool_version="0.1.0", plan_version=1, input_path="in.csv", input_sha256="cd" * 32,
                         resolvers=["127.0.0.1:53"], options={}, label="broken off")
    st.finish_scan(sid, "interrupted")
    unfinished = [w for w in scan_meta(st, sid)["warnings"] if getattr(w, "key", None) == "scan_unfinished"]
    psl = {"datasets": [{"name": "psl", "version": "an-old-version"}], "warnings": []}
    _psl_in_force(psl)
    out = [stale_warning(None), stale_warning({"name": "routeviews"}),
           stale_warning({"name": "routeviews", "data_date": "2020-01-01"}), *unfinished, *psl["warnings"]]
    assert [w.key for w in out] == ["asn_missing", "asn_undated", "asn_stale", "scan_unfinished", "psl_in_force"]
    return out


def test_meta_warnings_are_shown_in_the_readers_language(tmp_path):
    from stekker import kb as K
    from stekker.judge import load_policies
    from stekker.report import build
    from stekker.report.render import Strings

    warnings = _meta_warnings(tmp_path)
    en, nl = Strings("en"), Strings("nl")
    for w in warnings:
        assert en.message(w) == str(w)  # the English text of strings.yaml is the one the CLI prints
        assert nl.message(w) != str(w)
    kb = K.load()
    rep = build(records(), kb, load_policies().select(None), "2026-01-01",
                meta={"scan_id": 7, "started_at": "2026-01-01T00:00:00+00:00", "warnings": warnings})
    site = Site(Model.from_report(rep, kb), None)
    page_nl = site.render("/nl/").body.decode("utf-8")
    page_en = site.render("/en/").body.decode("utf-8")
    for w in warnings:
        english = str(w).replace("`", "&#96;")
        assert str(w) not in page_nl and html_unescape(english) not in html_unescape(page_nl), str(w)
        assert html_unescape(nl.message(w)) in html_unescape(page_nl)
        assert html_unescape(str(w)) in html_unescape(page_en)
    from stekker.report.render import render_html

    report_nl = render_html(rep, "nl")  # the report's HTML reads them from the same home
    for phrase in ("days old", "no IP-to-ASN data", "has no date", "not every domain was measured", "is in force",
                   "run `stekker data update`"):
        assert phrase not in html_unescape(page_nl), phrase
        assert phrase not in html_unescape(report_nl), phrase


def html_unescape(s: str) -> str:
    import html as _html

    return _html.unescape(s)


def test_earlier_scans_judged_in_a_forked_process_give_what_judging_here_gives(built, monkeypatch):
    from stekker.publish import model as M

    st = built["store"]
    assert M._parallel_ok(st, built["model"].kb, [1, 2])  # the fixture's model took the forked path
    monkeypatch.setattr(M, "_parallel_ok", lambda *a: False)
    here = Model.load(st, "latest")
    forked = built["model"]
    assert here.comparison.to_dict() == forked.comparison.to_dict() and here.comparison.changes
    assert [(s["scan_id"], v) for s, v in here.history] == [(s["scan_id"], v) for s, v in forked.history]


def test_catalogue_links_resolve_to_the_sites_files(built):
    """The DCAT-AP catalogue's relative IRIs resolve against its own address
    (/data/catalog.jsonld): they pointed to /data/data/scan.csv (exploratory
    test 2026-12-06); languages, the country and media types are IRIs."""
    import json
    from urllib.parse import urljoin, urlsplit

    site = Site(built["model"], None)
    base = "https://example.org/data/catalog.jsonld"
    cat = json.loads(site.render("/data/catalog.jsonld").body)
    assert urlsplit(urljoin(base, cat["@id"])).path == "/"
    ds = cat["dcat:dataset"][0]
    urls = [urlsplit(urljoin(base, d["dcat:downloadURL"]["@id"])).path for d in ds["dcat:distribution"]]
    assert urls == ["/data/scan.csv", "/data/scan.parquet", "/api/v1/domains.json"]
    for path in urls[::2]:  # the whole-scan Parquet is written by write_site, not rendered
        assert site.render(path).body
    assert (built["out"] / "data" / "scan.parquet").is_file()
    assert all(x["@id"].startswith("http://publications.europa.eu/") for x in ds["dct:language"])
    assert ds["dct:spatial"]["@id"].endswith("/country/NLD")
    assert all(d["dcat:mediaType"]["@id"].startswith("http://www.iana.org/assignments/media-types/")
               for d in ds["dcat:distribution"])


def test_cli_serve_on_a_busy_port_says_so(built):
    """Exploratory test (2026-12-06): a busy port gave uvicorn's own log line
    ("ERROR: [Errno 98] ...") and exit 3; the documented answer is stekker's
    message and exit 2."""
    import socket
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "stekker", "serve", "--db", str(built["db"]), "--port", str(port)],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"error: cannot listen on 127.0.0.1:{port}" in r.stderr, (r.returncode, r.stderr)
    assert "ERROR:" not in r.stderr and "Traceback" not in r.stderr


def test_sector_mailbox_table_counts_every_domain(built):
    """Exploratory test (2026-12-06): the sector's mailbox table gave shares
    of the domains with a recognised platform only, leaving out those not
    recognised or in error, with no base; a sector without any was an empty
    table. Every domain of the sector is counted, the base is said."""
    page = (built["out"] / "en" / "sector" / "gemeente" / "index.html").read_text("utf-8")
    table = page[page.index('id="mb-h"'):page.index('id="o-h"')]
    assert "Of all 8 domains of this sector" in table
    assert "<em>not measured (DNS error)</em></th><td>1</td><td>13%</td>" in table
    assert "<th scope=\"row\">Microsoft</th><td>2</td><td>25%</td>" in table


def test_static_site_has_a_404_page(built):
    """Exploratory test (2026-12-06): the static site had no 404 page; a
    static host showed its own. /404.html links from the root, both languages."""
    page = (built["out"] / "404.html").read_text("utf-8")
    assert 'href="/nl/"' in page and 'href="/en/"' in page and 'href="/static/site.css"' in page
    assert "Niet gevonden" in page and "Not found" in page and "default-src 'none'" in page


def test_catalogue_names_publisher_and_licence_only_as_given(built, tmp_path):
    """Exploratory test of the site (2026-12-06): the DCAT-AP catalogue had
    no publisher (mandatory for a catalogue) and no licence. They are the
    publisher's to state (--publisher, --licence), never assumed."""
    import json

    db = str(built["db"])
    out = tmp_path / "s"
    res = _cli("site", "--db", db, "--out", str(out), "-q", "--publisher", "Gemeente Voorbeeld",
               "--licence", "https://creativecommons.org/licenses/by/4.0/")
    assert res.exit_code == 0, res.output
    cat = json.loads((out / "data" / "catalog.jsonld").read_text("utf-8"))
    assert cat["dct:publisher"]["foaf:name"] == "Gemeente Voorbeeld"
    assert all(d["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"
               for d in cat["dcat:dataset"][0]["dcat:distribution"])
    assert "Published by Gemeente Voorbeeld" in (out / "en" / "data" / "index.html").read_text("utf-8")
    plain = json.loads((built["out"] / "data" / "catalog.jsonld").read_text("utf-8"))
    assert "dct:publisher" not in plain and "dct:license" not in json.dumps(plain)
    assert "has not stated a licence" in (built["out"] / "en" / "data" / "index.html").read_text("utf-8")
    assert _cli("site", "--db", db, "--out", str(tmp_path / "t"), "--licence", "CC-BY").exit_code == 2


def test_a_server_on_a_providers_network_is_named_in_the_pages_language(tmp_path):
    """'self-hosted on Microsoft' (stored in English) reads 'zelf gehost op
    Microsoft' on the Dutch pages: the domain page, the provider tables and
    the verdict reasons; the English pages keep it."""
    from dataclasses import replace as _replace

    from test_report_support import dom, svc

    vm = _replace(svc("mailbox", "microsoft", name="self-hosted on Microsoft"), service_kind="infrastructure")
    attrs = [dom("gemeente-vm.nl", "Gemeente VM", "gemeente", {"mailbox": vm})]
    out, _ = _site_with(tmp_path / "vm", attrs)
    for lang, name in (("nl", "zelf gehost op Microsoft"), ("en", "self-hosted on Microsoft")):
        page = (out / lang / "domain" / "gemeente-vm.nl" / "index.html").read_text("utf-8")
        assert name in page
        home = (out / lang / "index.html").read_text("utf-8")
        providers = "".join(p.read_text("utf-8") for p in (out / lang / "provider").glob("*/index.html"))
        assert name in providers + home
        if lang == "nl":
            for text in (page, home, providers):
                assert "self-hosted on" not in text


def test_the_site_compares_with_the_previous_finished_scan(tmp_path):
    """Explore-e H2: an aborted scan between two finished ones (a resolver
    that went away) was taken as 'the previous scan': the changes page said
    '0 domains in both, 301 added', the feed was empty and the real changes
    were gone.  The changes and the verdict history rest on finished scans."""
    from stekker import kb as K

    _, st, sid = store_with_two_scans(tmp_path)
    aborted = st.create_scan(tool_version="0.1.0", plan_version=1, input_path="in.csv", input_sha256="ab" * 32,
                             resolvers=["127.0.0.1:53"], options={}, label="aborted")
    st.finish_scan(aborted, "aborted", {"message": "no resolver answers"})
    kb = K.load()
    newest = st.create_scan(tool_version="0.1.0", plan_version=1, input_path="in.csv", input_sha256="ab" * 32,
                            resolvers=["127.0.0.1:53"], options={}, label="newest")
    recs = records(True)
    st.add_targets(newest, [{"domain": r.domain, "organisation": r.organisation, "sector": r.sector} for r in recs])
    st.finish_scan(newest, "finished")
    from dataclasses import replace

    st.save_attributions(newest, kb.version, [replace(r, kb_version=kb.version).to_dict() for r in recs])
    m = Model.load(st, "latest")
    assert m.comparison is not None and m.comparison.old_label == str(sid), m.comparison.old_label
    assert m.comparison.common == len(recs) and not m.comparison.added_domains
    assert aborted not in [s["scan_id"] for s, _ in m.history]


def _between(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i:text.index(end, i)]


def _cells(row_html: str) -> list[str]:
    """The text of a table row's cells (tags dropped, entities kept)."""
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row_html)]


def test_sector_tables_say_what_the_share_counts_with_its_count(built):
    """Exploratory test E (H1): the sector tables (home page "Per sector", the
    sector index) headed the "% dependent" columns with the definition's name:
    "EU-controlled 100%" meant 100% *not* EU-controlled. They carry the
    report's direction-carrying labels (what the share counts), a caption,
    and "n of known" in every cell, on the index too."""
    from stekker.render.fmt import fmt_pct

    out, rep = built["out"], built["model"].report
    tl = rep.by_sector["gemeente"]
    for lang, cols, names, of in (
            ("en", ["US-controlled", "US (A/MX/NS/CNAME)", "Data outside EU", "Not EU-controlled", "Fails strict"],
             ["No US (NOS)", "EU-controlled", "Strict", "Broad"], "of"),
            ("nl", ["Amerikaanse zeggenschap", "VS (A/MX/NS/CNAME)", "Data buiten EU", "Niet EU-gecontroleerd",
                    "Zakt voor streng"], ["Geen VS (NOS)", "EU-gecontroleerd", "Streng", "Ruim"], "van")):
        home = (out / lang / "index.html").read_text("utf-8")
        index = (out / lang / "sector" / "index.html").read_text("utf-8")
        for table in (_between(home, 'id="sec-h"', "</table>"), _between(index, "<table", "</table>")):
            head = _cells(_between(table, "<thead>", "</thead>"))
            assert head[2:] == cols, head
            assert not set(head) & set(names), head
            caption = _between(table, "<caption>", "</caption>")
            assert ("non-sovereign dependency (%, n/known)" if lang == "en" else "niet-soevereine afhankelijkheid"
                    ) in caption
            row = next(r for r in table.split("<tr>") if "gemeente/" in r)
            cells = _cells(row)
            want = [f"{fmt_pct(tl[p].share, lang)} ({tl[p].not_sovereign} {of} {tl[p].decided})"
                    for p in ("nos", "nos-records", "broad", "eu-controlled", "strict")]
            assert cells[2:] == want, cells


def test_sector_page_figures_have_the_home_pages_columns(built):
    """Exploratory test E (M7): a sector page showed the organisations' share
    without its count and did not say how many domains were not counted
    (unknown, DNS error, not existing). Its figures table has the home
    page's headline columns: both shares with "n of known", and the
    domains not counted."""
    from stekker.render.fmt import fmt_pct

    out, rep = built["out"], built["model"].report
    for lang, known, orgs in (("en", "domains whose answer is known", "organisations whose answer is known"),
                              ("nl", "domeinen waarvan het antwoord bekend is",
                               "organisaties waarvan het antwoord bekend is")):
        home = _between((out / lang / "index.html").read_text("utf-8"), 'id="fig-h"', "</table>")
        page = _between((out / lang / "sector" / "gemeente" / "index.html").read_text("utf-8"), 'id="f-h"',
                        "</table>")
        assert _cells(_between(page, "<thead>", "</thead>")) == _cells(_between(home, "<thead>", "</thead>"))
        for p in rep.policies:
            tl, otl = rep.by_sector["gemeente"][p.id], rep.by_sector_orgs["gemeente"][p.id]
            row = next(r for r in page.split("<tr>") if r.startswith(f'<th scope="row">{p.title(lang)}<'))
            c = _cells(row)
            assert c[1:6] == [fmt_pct(tl.share, lang), f"{tl.not_sovereign} {'of' if lang == 'en' else 'van'} "
                              f"{tl.decided} {known}", str(tl.counts["unknown"]), str(tl.counts["error"]),
                              str(tl.counts["nxdomain"])], c
            assert c[6].startswith(fmt_pct(otl.share, lang)) and c[6].endswith(
                f"{otl.not_sovereign} {'of' if lang == 'en' else 'van'} {otl.decided} {orgs}"), c
    # the fixture's sector does have domains that were not counted
    tl = rep.by_sector["gemeente"]["nos"]
    assert tl.counts["error"] and tl.counts["nxdomain"]


def test_sector_tables_count_the_domains_without_a_sector(built):
    """Exploratory test E (L2): the report's "(no sector given)" row was
    missing from the site's sector tables, so their rows added up to fewer
    domains than the scan has. It is the last row (no page of its own)."""
    from stekker.render.fmt import fmt_pct

    out, rep = built["out"], built["model"].report
    tl = rep.by_sector["-"]["nos"]
    for lang, name, of in (("en", "(no sector given)", "of"), ("nl", "(geen sector opgegeven)", "van")):
        home = (out / lang / "index.html").read_text("utf-8")
        index = (out / lang / "sector" / "index.html").read_text("utf-8")
        for table in (_between(home, 'id="sec-h"', "</table>"), _between(index, "<table", "</table>")):
            rows = [_cells(r) for r in _between(table, "<tbody>", "</tbody>").split("<tr>")[1:]]
            assert rows[-1][:3] == [name, "1", f"{fmt_pct(tl.share, lang)} ({tl.not_sovereign} {of} {tl.decided})"
                                    ], rows[-1]
            assert f"<th scope=\"row\" class=\"txt\">{name}</th>" in table  # no link: no page of its own
            assert sum(int(r[1]) for r in rows) == len(rep.results)


def test_own_infrastructure_is_counted_in_the_provider_lists(built):
    """Exploratory test E (L2): the report ranks "own infrastructure" among
    the providers (domains running a service on their own name or network);
    the site's provider list, home page and providers.json left it out while
    listing "self-hosted on TransIP". It is counted there like the report
    does, without a page of its own."""
    from stekker.render.fmt import fmt_pct

    out, rep = built["out"], built["model"].report
    own = next(p for p in rep.providers_overall if p.key == "self")
    assert own.count >= 1
    for lang, name in (("en", "own infrastructure"), ("nl", "eigen infrastructuur")):
        home = _between((out / lang / "index.html").read_text("utf-8"), 'id="prov-h"', "</table>")
        index = _between((out / lang / "provider" / "index.html").read_text("utf-8"), "<table", "</table>")
        for table in (home, index):
            row = next(r for r in table.split("<tr>") if name in r)
            assert re.match(f'<th scope="row"( class="txt")?>{name}</th>', row), row  # no link: no page of its own
            assert _cells(row)[1:3] == [str(own.count), fmt_pct(own.share, lang)], row
            # in the report's order (by number of domains)
            names = [_cells(r)[0] for r in _between(table, "<tbody>", "</tbody>").split("<tr>")[1:]]
            want = [built["site"]._texts[lang].provider(p.key, p.name) for p in rep.providers_overall]
            assert names == want[:len(names)], (names, want)
    items = json.loads((out / "api" / "v1" / "providers.json").read_text("utf-8"))["items"]
    row = next(x for x in items if x["key"] == "self")
    assert row["own_infrastructure"] is True and row["domains"] == own.count and row["name"] == "own infrastructure"
    assert row["denominator"] == own.denominator and row["share"] == round(own.share, 6)
    assert not any(x["own_infrastructure"] for x in items if x["key"] != "self")
    assert len(items) == len(rep.providers_overall)
    # a document of its own (every id listed resolves: field trial publish 8), but no page
    assert (out / "api" / "v1" / "providers" / "self.json").is_file() and not (out / "en" / "provider" / "self").exists()


def test_home_csv_is_machine_readable(built):
    """Exploratory test E (L6): /data/home.csv, the headline table's download,
    held English text ("93%", "248 of 268 domains whose answer is known").
    It holds numbers: counts, the share as a number, the scan, its date and
    the definition's id (docs/PUBLISH.md)."""
    out, m = built["out"], built["model"]
    rep = m.report
    rows = list(csv.DictReader(io.StringIO((out / "data" / "home.csv").read_text("utf-8"))))
    assert list(rows[0]) == ["scan_id", "measured", "as_of", "kb_version", "definition", "finding", "not_sovereign",
                             "known", "share", "unknown", "error", "nxdomain", "total",
                             "organisations_not_sovereign", "organisations_known", "organisations_share"]
    assert [r["definition"] for r in rows] == [p.id for p in rep.policies]
    for r, p in zip(rows, rep.policies):
        tl, otl = rep.domains[p.id], rep.organisations[p.id]
        assert r["scan_id"] == str(m.scan["scan_id"]) and r["as_of"] == rep.as_of.isoformat()
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["measured"]), r["measured"]
        assert r["kb_version"] == str(rep.meta["kb_version"])
        assert r["finding"] == m.policies(built["site"]._texts["en"])[rep.policies.index(p)]["finding"]
        assert [int(r[k]) for k in ("not_sovereign", "known", "unknown", "error", "nxdomain", "total")] == [
            tl.not_sovereign, tl.decided, tl.counts["unknown"], tl.counts["error"], tl.counts["nxdomain"], tl.total]
        assert float(r["share"]) == pytest.approx(tl.share, abs=1e-6)
        assert [int(r["organisations_not_sovereign"]), int(r["organisations_known"])] == [otl.not_sovereign,
                                                                                          otl.decided]
        assert float(r["organisations_share"]) == pytest.approx(otl.share, abs=1e-6)
    text = (out / "data" / "home.csv").read_text("utf-8")
    assert "%" not in text and " of " not in text
    docs = (Path(__file__).resolve().parents[1] / "docs" / "PUBLISH.md").read_text("utf-8")
    documented = docs[docs.index("`/data/home.csv`"):]
    assert all(f"`{k}`" in documented for k in rows[0]), [k for k in rows[0] if f"`{k}`" not in documented]


def test_a_service_none_has_is_named_in_its_categorys_words(built):
    """Exploratory test E (L7): the sector page's mailbox table had a row "no
    address" (the word for an extra host without an address) where its
    legend says "no mail": a domain without a mailbox platform has no mail
    (no MX). The words are the category's (report/templates/strings.yaml)."""
    from stekker.publish.model import Text

    out = built["out"]
    for lang, word in (("en", "no mail (no MX)"), ("nl", "geen mail (geen MX)")):
        page = (out / lang / "sector" / "gemeente" / "index.html").read_text("utf-8")
        table = _between(page, 'id="mb-h"', "</table>")
        assert f"<em>{word}</em></th><td>1</td>" in table, table  # hostile2.nl: name servers only
        assert Text(lang)("host_absent") not in table
    assert Text("en").absent("web") == "no website (no address)"
    assert Text("nl").absent("dns") == "geen naamservers"
    assert Text("en").absent("host") == "no address"  # an extra host keeps its word
    # the organisation's and the map's rows use the same words
    m, t = built["model"], Text("en")
    assert m.org_provider("Gemeente Nergensland", "web", t) == ("absent", "no website (no address)")
    assert m.domain_provider("hostile2.nl", "mailbox", t) == ("absent", "no mail (no MX)")


# ---------------------------------------------------------------------------
# where the site is written (exploratory test explore-f M2, M3, M4)
# ---------------------------------------------------------------------------


def test_site_through_a_symlink_keeps_the_link_mode_and_empty_dirs(built, tmp_path):
    """`site -o current` where current -> releases/v1: the site is written to releases/v1 and the
    link stays (it became a real directory, leaving a hidden .current.old-* behind); the directory
    keeps its mode (it was reset to 0755) and an empty directory the publisher made stays."""
    site = built["site"]
    rel = tmp_path / "releases" / "v1"
    rel.parent.mkdir()
    write_site(site, rel)
    (tmp_path / "current").symlink_to("releases/v1")
    (rel / "uploads" / "2026").mkdir(parents=True)
    os.chmod(rel, 0o750)
    (rel / "stale.txt").write_text("x")
    stats = write_site(site, tmp_path / "current")
    assert (tmp_path / "current").is_symlink() and os.readlink(tmp_path / "current") == "releases/v1"
    assert (rel / MARKER).is_file() and (rel / "stale.txt").read_text() == "x"
    assert (rel / "uploads" / "2026").is_dir() and "uploads/2026/" in stats.kept
    assert os.stat(rel).st_mode & 0o777 == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "releases"]
    assert sorted(p.name for p in rel.parent.iterdir()) == ["v1"]  # nothing hidden left beside it


def test_a_regenerated_site_keeps_the_web_directorys_group(built, tmp_path):
    """Field trial (cron, finding 1): a web root of group www-data, mode 2750, read by the web
    server through its group: the regenerated site had the user's group (the setgid bit was
    copied, the group was not, and its files did not inherit it), so every page was a 403 - with
    exit 0. The new site now gets the directory's group and owner, and its files the group."""
    if os.geteuid() != 0:
        pytest.skip("needs root (to give the directory another group)")
    import grp

    gid = next((g.gr_gid for g in grp.getgrall() if g.gr_gid not in (0, os.getegid())), None)
    if gid is None:
        pytest.skip("no second group on this machine")
    www = tmp_path / "www"
    www.mkdir()
    os.chown(www, 65534, gid)
    os.chmod(www, 0o2750)
    write_site(built["site"], www)
    st = os.stat(www)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (65534, gid, 0o2750)
    for f in (www / "nl" / "index.html", www / "nl", www / MARKER):
        assert os.stat(f).st_gid == gid, f


def test_a_web_directory_in_a_directory_the_user_may_not_write_is_refused_first(built, tmp_path, monkeypatch):
    """Field trial (cron, finding 3): a web directory of the user's in a directory of root's: "cannot
    write the site: Permission denied", without a path, after the judging. Now refused first."""
    from stekker.outputs import OutputError
    from stekker.publish.site import check_out_dir

    www = tmp_path / "www"
    www.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if os.fspath(p) == os.fspath(tmp_path)
                        else real(p, mode, **k))
    with pytest.raises(OutputError, match=rf"beside it, in {re.escape(str(tmp_path))}, and swaps it in; this user "
                                          r"may not write in"):
        check_out_dir(www)


def test_a_web_directory_of_a_group_the_user_may_not_give_is_refused(built, tmp_path, monkeypatch):
    """... and when this user may not give the site that group (not a member), nothing is written
    and the message says why and what to do."""
    from stekker.outputs import OutputError

    www = tmp_path / "www"
    www.mkdir()
    other = os.stat(www).st_gid + 1
    real_stat = os.stat

    def stat(p, *a, **k):  # the directory as if of another group
        r = real_stat(p, *a, **k)
        if os.fspath(p) == os.fspath(www):
            return os.stat_result((r.st_mode, r.st_ino, r.st_dev, r.st_nlink, r.st_uid, other) + tuple(r)[6:])
        return r

    def chown(*_a, **_k):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "chown", chown)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(OutputError, match=r"belongs to group .*may not give the new site.*nothing was changed"):
        write_site(built["site"], www)
    monkeypatch.undo()
    assert list(www.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["www"]


def test_site_on_a_mount_point_is_refused_before_rendering(built, tmp_path, monkeypatch):
    """rename() cannot replace a mount point: it failed with "Device or resource busy" after
    rendering the whole site; now it is refused first, with what to do."""
    from stekker.outputs import OutputError
    from stekker.publish.site import check_out_dir

    mnt = tmp_path / "mnt"
    mnt.mkdir()
    real = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: os.fspath(p) == os.fspath(mnt) or real(p))
    with pytest.raises(OutputError, match="is a mount point.*give a directory in it"):
        check_out_dir(mnt)
    rendered = []
    monkeypatch.setattr(built["site"], "paths", lambda: rendered.append(1) or [])
    with pytest.raises(OutputError, match="mount point"):
        write_site(built["site"], mnt)
    assert not rendered and list(tmp_path.iterdir()) == [mnt]


def test_site_cleans_up_what_a_killed_run_left(built, tmp_path):
    """A run killed with SIGKILL leaves its hidden temporary directory (13 MB each); the next run
    removes those of processes that are gone, and nothing else."""
    import subprocess
    import sys as _sys

    from stekker.publish.site import TMP_MARKER, clean_stale

    p = subprocess.Popen([_sys.executable, "-c", "pass"])
    p.wait()
    dead, alive = p.pid, os.getpid()
    out = tmp_path / "s"
    made = {}
    for name, mark in ((f".s.tmp-{dead}-ab12", TMP_MARKER), (f".s.old-{dead}-cd34", MARKER),
                       (f".s.tmp-{alive}-ef56", TMP_MARKER), (f".s.tmp-{dead}-nomark", None),
                       (f".other.tmp-{dead}-gh78", TMP_MARKER)):
        d = tmp_path / name
        (d / "nl").mkdir(parents=True)
        if mark:
            (d / mark).write_text("x")
        made[name] = d
        hour_ago = time.time() - 7200
        os.utime(d, (hour_ago, hour_ago))
    recent = tmp_path / f".s.tmp-{dead}-mn90"  # written just now: perhaps a live run on another machine
    (recent / "nl").mkdir(parents=True)
    (recent / TMP_MARKER).write_text("x")
    out.mkdir()  # the site's place exists: a replaced one left beside it is removed
    assert sorted(clean_stale(out)) == [f".s.old-{dead}-cd34", f".s.tmp-{dead}-ab12"]
    write_site(built["site"], out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["s", f".s.tmp-{alive}-ef56", f".s.tmp-{dead}-nomark", f".other.tmp-{dead}-gh78", f".s.tmp-{dead}-mn90"])
    # a run killed between its two renames left the previous site hidden and none in its place: it is
    # put back, never removed with the publisher's files in it (review 28 M5)
    gone = tmp_path / "t"
    hidden = tmp_path / f".t.old-{dead}-op12"
    (hidden / "uploads").mkdir(parents=True)
    (hidden / MARKER).write_text("x")
    (hidden / "uploads" / "mine.pdf").write_text("the publisher's")
    os.utime(hidden, (time.time() - 7200, time.time() - 7200))
    assert clean_stale(gone) == [] and (gone / "uploads" / "mine.pdf").read_text() == "the publisher's"


def test_site_with_a_long_name(built, tmp_path):
    """A valid 250-byte directory name: the hidden temporary name must fit NAME_MAX too (L5)."""
    out = tmp_path / ("a" * 250)
    write_site(built["site"], out)
    assert (out / MARKER).is_file()


def test_pool_workers_die_with_the_parent_and_stop_quietly(tmp_path):
    """The site's renderers and the judging of earlier scans: a SIGKILLed parent leaves no worker
    (they outlived it and printed BrokenPipeError tracebacks), and the SIGTERM a pool ends its
    workers with gives no traceback under the CLI's SIGTERM handler (explore-f M4)."""
    import subprocess
    import sys as _sys
    import time as _time

    src = str(Path(__file__).resolve().parents[1] / "src")
    code = (
        "import os, signal, sys, time\n"
        "sys.path.insert(0, %r)\n"
        "from stekker.cli import _sigterm\n"
        "signal.signal(signal.SIGTERM, _sigterm)\n"
        "from stekker.publish import model as M\n"
        "class Slow(M._EarlierJob):\n"
        "    def run(self):\n"
        "        time.sleep(30)\n"
        "job = Slow(None, None, None, [1])\n"
        "job.start(); time.sleep(0.5)\n"
        "if sys.argv[1] == 'stop':\n"
        "    job.stop(); print('stopped', flush=True)\n"
        "else:\n"
        "    print(*[p.pid for p in job._pool._pool], flush=True); time.sleep(30)\n" % src)
    r = subprocess.run([_sys.executable, "-c", code, "stop"], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "stopped" and "Traceback" not in r.stderr, r.stderr
    p = subprocess.Popen([_sys.executable, "-c", code, "kill"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    pids = [int(x) for x in p.stdout.readline().split()]
    assert pids
    p.kill()
    p.wait()
    def running(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = _time.monotonic() + 5
    while _time.monotonic() < deadline and any(running(x) for x in pids):
        _time.sleep(0.05)
    assert not [x for x in pids if running(x)]
    assert "Traceback" not in p.stderr.read()


def test_cli_site_geo_and_out_given_wrong_are_messages(built, tmp_path):
    """--geo that does not exist was ignored (exit 0; L10); boundary files that are not UTF-8 or
    nested 100000 deep, and an --out name that is not UTF-8, were exit 4 (explore-f M12)."""
    from cli_util import cli

    db = str(built["db"])
    r = cli("site", "--db", db, "-o", str(tmp_path / "s1"), "--geo", str(tmp_path / "nonexist"), "-q")
    assert r.rc == 2 and "--geo" in r.err and "no such directory" in r.err, r.text
    from stekker.publish.geo import LIST_FILE, TOPO_FILE

    for i, (topo, listing) in enumerate(((b"\xff\xfe{}", b"[]"), (b"[" * 100_000, b"[]"), (b"{}", b"[]"))):
        g = tmp_path / f"geo{i}"
        g.mkdir()
        (g / TOPO_FILE).write_bytes(topo)
        (g / LIST_FILE).write_bytes(listing)
        r = cli("site", "--db", db, "-o", str(tmp_path / "s1"), "--geo", str(g), "-q")
        assert r.rc == 2 and "--geo" in r.err and "internal error" not in r.err, r.text
    r = cli("site", "--db", db, "-o", str(tmp_path / "s1"), "--geo", str(tmp_path / "geo0"), "-q")
    assert not (tmp_path / "s1").exists()
    r = cli("site", "--db", db, "-o", os.path.join(str(tmp_path), os.fsdecode(b"sd\xff")), "-q")
    assert r.rc == 2 and "not UTF-8" in r.err, r.text


def test_the_sites_provider_page_counts_a_verification_token_as_the_report_does():
    """Field trial F2 on the site: a provider's share counts the domains that run a service there
    (a verification token alone shows only an account), so "who depends on it" lists the same
    domains the share counts, not also those with only a token."""
    from test_report_support import FakeKB, dom, ev, svc

    from stekker.judge import load_policies
    from stekker.report import build

    def token(d):
        return svc("saas", "google", evidence=[ev(d, "TXT", "google-site-verification=x",
                                                   rule="google.txt:regex:^google-site-verification=")])

    kb = FakeKB()
    rep = build([dom("mail.nl", "A", "gemeente", {"mailbox": svc("mailbox", "google", evidence=[
                     ev("mail.nl", "MX", "1 smtp.google.com", rule="google.mx:suffix:smtp.google.com")])},
                     saas=[token("mail.nl")]),
                 dom("tok.nl", "B", "gemeente", {"dns": svc("dns", "kpn")}, saas=[token("tok.nl")])],
                kb, load_policies().select(None), "2026-01-01", meta={"scan_id": 7})
    m = Model.from_report(rep, kb)
    page = m.provider("google", Text("en"))
    assert (page["count"], page["dependents_total"]) == ("1", 1)
    # the API: the same count, the account apart, and its domain filter the same domains (review)
    row = next(r for r in m.api_provider_rows() if r["id"] == "google")
    assert (row["domains"], row["account_only"]) == (1, 1)
    assert [r["domain"] for r in m.api_domain_rows(provider="google")] == ["mail.nl"]
    assert [x["domain"] for x in page["dependents"]] == ["mail.nl"]
    assert "only an account" in Text("en")("share_line", share="50%", count=1, den=2)


def test_provider_service_shares_name_their_denominator(built):
    """Field trial (publish, finding 2): a provider's page said "52% … (780 of 1,489)", then a column
    "Share of domains" read Collaboration 100% (488/488): a share of the domains where that service was
    identified, not of all domains, and nothing said so.  The column is headed with its denominator, each
    cell says "n of d" with the market's own d (the report's market table), and a note tells it apart
    from the share above."""
    from stekker.render.fmt import fmt_int, fmt_pct

    rep = built["model"].report
    m = rep.markets["mailbox"]
    s = next(x for x in m.shares if x.key == "microsoft")
    assert m.denominator < rep.providers_denominator  # the two shares differ in what they count
    for lang, head, of, note in (
            ("en", "Share of the domains where this service was identified", "of", "counts only the domains where"),
            ("nl", "Aandeel van de domeinen waar deze dienst is herkend", "van", "alleen de domeinen waar die dienst is herkend")):
        page = built["site"].render(f"/{lang}/provider/microsoft/").body.decode("utf-8")
        table = _between(page, 'id="m-h"', "</table>")
        heads = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r'<th scope="col">(.*?)</th>', table)]
        assert head in heads and "Share of domains" not in heads and "Aandeel domeinen" not in heads, heads
        assert note in table
        mailbox = built["site"]._texts[lang].category("mailbox")
        row = next(_cells(r) for r in table.split("<tr>") if r.startswith(f'<th scope="row">{mailbox}<'))
        want = f"{fmt_pct(s.share, lang)} ({fmt_int(s.count, lang)} {of} {fmt_int(m.denominator, lang)})"
        assert row[1] == want, (row, want)


@pytest.fixture
def fake_serve(monkeypatch):
    """`stekker serve` without uvicorn: ({"app": the app the command built}, a free loopback port)."""
    import socket

    from stekker.cli import site as cli_site

    served: dict = {}

    class FakeServer:
        started, stopped_by = True, None

        def __init__(self, config):
            served["app"] = config.app

        def run(self):
            pass

    monkeypatch.setattr(cli_site, "_Server", FakeServer)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    return served, port


def test_serve_takes_publisher_and_licence_and_pages_show_no_options(built, fake_serve):
    """Field trial (publish, finding 3): `serve` had no --publisher/--licence (docs/PUBLISH.md lists them for
    both), so the served catalogue named neither, and /en/data/ told citizens "(stekker site --licence)": a
    command-line option on a public page.  serve takes both; the pages say only that no licence was stated,
    and the hint goes to the operator's terminal as a warning (site and serve)."""
    from starlette.testclient import TestClient

    from stekker.cli import site as cli_site

    served, port = fake_serve
    db = str(built["db"])
    res = _cli("serve", "--db", db, "--port", port, "--publisher", "Gemeente Voorbeeld",
               "--licence", "https://creativecommons.org/licenses/by/4.0/", "--contest-email", "f@example.org")
    assert res.exit_code == 0, res.output
    assert "--licence" not in res.output and "--publisher" not in res.output, res.output
    client = TestClient(served["app"])
    cat = client.get("/data/catalog.jsonld").json()
    assert cat["dct:publisher"]["foaf:name"] == "Gemeente Voorbeeld"
    assert all(d["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"
               for d in cat["dcat:dataset"][0]["dcat:distribution"])
    assert "Published by Gemeente Voorbeeld" in client.get("/en/data/").text
    assert _cli("serve", "--db", db, "--port", port, "--licence", "CC-BY").exit_code == 2
    # without them: the terminal is told which option states them; no public page names an option
    res = _cli("serve", "--db", db, "--port", port, "--contest-email", "f@example.org")
    assert res.exit_code == 0 and "warning: no --licence" in res.output and "warning: no --publisher" in res.output
    client = TestClient(served["app"])
    for lang, words in (("en", "has not stated a licence"), ("nl", "geen licentie voor deze gegevens opgegeven")):
        assert words in client.get(f"/{lang}/data/").text
    for page in _pages(built["out"]):
        text = page.read_text("utf-8")
        shown = re.sub(r"<[^>]+>", " ", text)  # what a reader sees
        assert not re.search(r"(?<![\w-])--[a-z]", shown), (page, re.findall(r".{40}--[a-z].{20}", shown))
    import yaml

    strings = yaml.safe_load((Path(cli_site.__file__).parents[1] / "publish" / "data" / "strings.yaml")
                             .read_text("utf-8"))["strings"]
    assert not [k for k, v in strings.items() if any(re.search(r"(?<![\w-])--[a-z]", x) for x in v.values())]


def test_a_domain_removed_from_the_input_is_named(tmp_path):
    """Field trial (publish, finding 4): /nl/changes/ said "verwijderd uit de invoer: 1" but named it
    nowhere but changes.json (its domain page is a 404), and the verdict table was an empty table
    without "none".  The removed (and added) domains are listed by name on the changes page, in the
    feed and in changes.csv; an empty change table says there is none."""
    from publish_support import store_with_two_scans

    _, st, _ = store_with_two_scans(tmp_path, old_only=("weggehaald.nl",))
    site = Site(Model.load(st, "latest"))
    for lang, head, head_added, word in (
            ("en", "Removed from the input", "Added to the input", "removed from the input"),
            ("nl", "Verwijderd uit de invoer", "Toegevoegd aan de invoer", "verwijderd uit de invoer")):
        page = site.render(f"/{lang}/changes/").body.decode("utf-8")
        removed = _between(page, f"<h2>{head} (1)</h2>", "</ul>")
        assert "<li>weggehaald.nl</li>" in removed  # named, and no link: it has no page
        added = _between(page, f"<h2>{head_added} (1)</h2>", "</ul>")
        assert f'href="../../{lang}/domain/orphan.nl/">orphan.nl</a>' in added  # the added one links to its page
        feed = ET.fromstring(site.render(f"/{lang}/changes.atom").body)
        ns = {"a": "http://www.w3.org/2005/Atom"}
        titles = [e.findtext("a:title", namespaces=ns) for e in feed.findall("a:entry", ns)]
        assert any(x.startswith(f"weggehaald.nl: {word}") for x in titles), titles
        assert any(x.startswith("orphan.nl: ") for x in titles), titles
    rows = list(csv.DictReader(io.StringIO(site.render("/data/changes.csv").body.decode("utf-8"))))
    assert {"kind": "removed_from_input", "domain": "weggehaald.nl"}.items() <= next(
        r for r in rows if r["domain"] == "weggehaald.nl").items()
    assert any(r["kind"] == "added_to_input" and r["domain"] == "orphan.nl" for r in rows)


def test_an_unfinished_scan_published_names_no_unmeasured_domain_removed(tmp_path):
    """Review of the field-trial fixes: `site` of an interrupted newest scan compared it with the last
    finished one without its input, so every domain it had not reached yet was "removed from the
    input" - named on the changes page, one feed entry each, in changes.csv. They are "not measured
    in scan N"; a domain truly gone from the input is still removed."""
    from publish_support import store_with_two_scans

    _, st, sid = store_with_two_scans(tmp_path, old_only=("weggehaald.nl", "nog-niet.nl"))
    measured = [t["domain"] for t in st.iter_targets(sid)]
    for d in measured:
        st.write_domain(sid, d, "ok", [])
    st.add_targets(sid, [{"domain": "nog-niet.nl", "organisation": "Gemeente Weg", "sector": "gemeente"}])
    st.finish_scan(sid, "interrupted")  # nog-niet.nl: in its input, not reached
    site = Site(Model.load(st, sid))
    for lang, head, gone, later in (
            ("en", "Removed from the input", "removed from the input",
             f"Not measured in scan {sid}, which did not finish: 1 of the domains of its input"),
            ("nl", "Verwijderd uit de invoer", "verwijderd uit de invoer",
             f"Niet gemeten in scan {sid}, die niet is afgemaakt: 1 van de domeinen uit de invoer")):
        page = site.render(f"/{lang}/changes/").body.decode("utf-8")
        assert "<li>weggehaald.nl</li>" in _between(page, f"<h2>{head} (1)</h2>", "</ul>")
        assert "nog-niet.nl" not in page and later in page
        feed = site.render(f"/{lang}/changes.atom").body.decode("utf-8")
        assert "nog-niet.nl" not in feed and f"weggehaald.nl: {gone}" in feed
    assert "nog-niet.nl" not in site.render("/data/changes.csv").body.decode("utf-8")


def test_an_empty_change_table_says_none(built):
    """Field trial (publish, finding 4): the "Gewijzigde oordelen" table rendered with an empty body."""
    m = dataclasses.replace(built["model"])
    m.comparison = dataclasses.replace(m.comparison, verdict_changes=[], changes=[])
    for lang, words in (("en", ("None: no domain in both scans got another verdict",
                                "None: no service of a domain in both scans changed")),
                        ("nl", ("Geen: geen enkel domein uit beide scans kreeg", "Geen: bij geen enkel domein"))):
        page = Site(m).render(f"/{lang}/changes/").body.decode("utf-8")
        assert all(w in page for w in words) and "<tbody></tbody>" not in page


def test_a_verdict_not_measured_names_the_failed_question(tmp_path):
    """Field trial (publish, finding 6): /en/domain/hostile-txt.nl/ (status ok) said "not measured (DNS
    error)" under four definitions with reason "–"; the cause, an SPF include whose TXT answer was
    malformed, was only at the foot of the page, as "malformed".  The verdict's reason names the failed
    question and why it failed in the page's words; the home page tells the column "not measured"
    (domains whose verdict a failed question left open) from the domains not measured at all."""
    import html
    from dataclasses import replace as _replace

    from test_report_support import dom, svc

    from stekker import kb as K
    from stekker.judge import load_policies
    from stekker.report import build

    include = "x" * 60 + ".example"
    bad = _replace(dom("kapotte-spf.nl", "Gemeente K", "gemeente",
                       {"mailbox": svc("mailbox", "kpn", name="KPN"), "dns": svc("dns", "kpn", name="KPN")}),
                   errors=[{"qname": include, "qtype": "TXT", "error_kind": "malformed", "purpose": "spf_include"}])
    kb = K.load()
    rep = build(records() + [bad], kb, load_policies().select(None), "2026-01-01",
                meta={"scan_id": 7, "started_at": "2026-01-01T00:00:00+00:00"})
    site = Site(Model.from_report(rep, kb), None)
    res = next(r for r in rep.results if r.domain == "kapotte-spf.nl")
    assert "error" in res.verdict.values()
    for lang, words, raw in (("en", f"DNS question {include} TXT failed: an answer that could not be read", "malformed"),
                             ("nl", f"DNS-vraag {include} TXT mislukte: een antwoord dat niet te lezen was",
                              "malformed")):
        page = site.render(f"/{lang}/domain/kapotte-spf.nl/").body.decode("utf-8")
        rows = _between(page, 'id="v-h"', "</table>").split("<tr>")[2:]
        errors = [r for r in rows if "v-error" in r]
        assert len(errors) == list(res.verdict.values()).count("error")
        assert all(words in r and "–" not in _cells(r)[2] for r in errors), errors
        assert raw not in _between(page, 'id="v-h"', "</table>")
        home = html.unescape(site.render(f"/{lang}/").body.decode("utf-8"))
        t = Text(lang)
        assert t("col_error") in home and t("status_error") in home and t("status_error") != t("col_error")
        assert t("figures_error_note", n=t.int(rep.status_counts.get("error", 0))) in home


def _judged_site(attrs: list, explanations: list | None = None, **model_kw) -> tuple[Site, Any]:
    """The fixture's records plus ``attrs``, judged: (the site, the report)."""
    from stekker import kb as K
    from stekker.judge import load_policies
    from stekker.report import build

    kb = K.load()
    rep = build(records() + attrs, kb, load_policies().select(None), "2026-01-01",
                meta={"scan_id": 7, "started_at": "2026-01-01T00:00:00+00:00"}, explanations=explanations)
    model = Model.from_report(rep, kb)
    for k, v in model_kw.items():
        setattr(model, k, v)
    return Site(model, None), rep


def test_pages_say_why_a_question_failed_in_words():
    """Field trial (publish, finding 10): Dutch pages showed "zone_unreachable", "servfail", "timeout",
    "malformed" (the failed questions, a service's note, the evidence table), a domain's status "ok",
    and the contest e-mail said "Antwoord berust op: kb".  Every error kind has words in both
    languages; the pages and the e-mail use them."""
    import html as _html
    from dataclasses import replace as _replace
    from urllib.parse import unquote

    from test_report_support import dom, ev, svc

    from stekker.attribute.model import Service
    from stekker.evidence import ErrorKind
    from stekker.report.render import Strings
    from stekker.text import Message

    for lang in ("en", "nl"):
        words = {k: Strings(lang).error_kind(k.value) for k in ErrorKind}
        assert all(w != k.value for k, w in words.items()), words
    failed_mx = Service(category="mail_inbound", status="error", note="DNS error on kapot.nl MX: servfail",
                        note_msgs=[Message("note_dns_error", "DNS error on kapot.nl MX: servfail",
                                           where="kapot.nl MX", kind="servfail")],
                        evidence=[_replace(ev("kapot.nl", "MX", "servfail"), rule="error")])
    bad = _replace(dom("kapot.nl", "Gemeente Kapot", "gemeente",
                       {"mail_inbound": failed_mx, "dns": _replace(svc("dns", "kpn", name="KPN"), basis="kb"),
                        "web": svc("web", "kpn", name="KPN")}),
                   errors=[{"qname": "kapot.nl", "qtype": "MX", "error_kind": "servfail", "purpose": "mx"},
                           {"qname": "www.kapot.nl", "qtype": "A", "error_kind": "zone_unreachable", "purpose": "web"},
                           {"qname": "x.kapot.nl", "qtype": "TXT", "error_kind": "timeout", "purpose": "spf_include"}])
    site, _ = _judged_site([bad], contest_email="f@example.org")
    for lang, status, basis in (("nl", "Status: gemeten", "Antwoord berust op: een regel uit de kennisbank"),
                                ("en", "Status: measured", "Answer rests on: a rule of the knowledge base")):
        page = _html.unescape(site.render(f"/{lang}/domain/kapot.nl/").body.decode("utf-8"))
        shown = re.sub(r"<[^>]+>", "", page.split('<main', 1)[1].split("</main>")[0])
        body = shown.split("mailto:")[0]  # the page's text; the e-mails are checked below
        for code in ("servfail", "zone_unreachable", "timeout", "Status: ok"):
            assert code not in body, (lang, code)
        assert status in shown
        assert Strings(lang).error_kind("servfail") in body and Strings(lang).error_kind("zone_unreachable") in body
        mails = [unquote(m) for m in re.findall(r'href="mailto:([^"]+)"', page)]
        assert any(basis in m for m in mails), mails
        assert not any(re.search(r"(rests on|berust op): (kb|network|likely|self)\b", m) for m in mails)


def test_an_expired_explanation_says_so_and_its_category_is_in_words(tmp_path):
    """Field trial (publish, finding 7): an explanation whose `expires:` had passed read "geldig tot
    2025-01-01" as if current; one without an end date read "geldig tot –"; its category was shown as
    the code "mailbox" on Dutch pages.  An expired one stays shown (never hidden) but says it expired;
    no end date, no "valid until"; the category in the page's words."""
    from stekker.judge import load_explanations

    exp = tmp_path / "exp.yaml"
    exp.write_text("""\
- domain: almere.nl
  category: mailbox
  text: "Old plan."
  by: CIO Almere
  date: 2024-06-01
  expires: 2025-01-01
- domain: almere.nl
  text: "Current plan."
  by: CIO Almere
  date: 2026-11-01
  expires: 2999-01-01
- domain: almere.nl
  text: "No end date."
  by: CIO Almere
  date: 2026-11-01
""", encoding="utf-8")
    site, _ = _judged_site([], explanations=load_explanations(str(exp)))
    for lang, expired, until, mailbox in (("nl", "verlopen: het gold tot 2025-01-01", "geldig tot 2999-01-01",
                                           "Mailboxplatform"),
                                          ("en", "expired: it was valid until 2025-01-01", "valid until 2999-01-01",
                                           "Mailbox platform")):
        page = site.render(f"/{lang}/domain/almere.nl/").body.decode("utf-8")
        section = _between(page, 'id="explain-h"', "</section>")
        quotes = section.split("<blockquote")[1:]
        assert len(quotes) == 3, section
        old = next(q for q in quotes if "Old plan." in q)
        assert old.startswith(' class="expired"') and expired in old and f"<strong>{mailbox}</strong>" in old
        current = next(q for q in quotes if "Current plan." in q)
        assert until in current and "expired" not in current
        plain = next(q for q in quotes if "No end date." in q)
        assert "–" not in _between(plain, '<p class="by">', "</p>") and "until" not in plain and "tot" not in plain
        assert ">mailbox<" not in section
        org = site.render(f"/{lang}/org/gemeente-almere/").body.decode("utf-8")
        assert expired in org


def test_every_provider_listed_has_its_document_and_a_guess_says_likely(built):
    """Field trial (publish, finding 8): /api/v1/providers.json listed `self` (own infrastructure) but
    providers/self.json was a 404, and the entries `google--likely`/`microsoft--likely` were named
    "Google"/"Microsoft": two entries named Google, the guess read as the fact.  Every listed id has
    its document (self.json lists the domains on their own infrastructure; the site writes it too),
    and a guess is named "likely Google" as the pages name it."""
    from dataclasses import replace as _replace

    from test_report_support import dom, svc

    guess = _replace(svc("mailbox", "google", name="Google"), basis="likely")
    site, rep = _judged_site([dom("gok.nl", "Gemeente Gok", "gemeente", {"mailbox": guess})])
    items = json.loads(site.render("/api/v1/providers.json").body)["items"]
    ids = [x["id"] for x in items]
    assert "self" in ids and any(i.endswith("likely") for i in ids), ids
    for x in items:
        doc = json.loads(site.render(f"/api/v1/providers/{x['id']}.json").body)
        assert doc["id"] == x["id"] and doc["name"] == x["name"]
        assert len(doc["dependents"]) == x["domains"], x
    likely = next(x for x in items if x["id"].endswith("likely") and x["key"].startswith("google"))
    assert likely["name"] == "likely Google", likely
    assert [x["name"] for x in items].count("Google") <= 1
    own = next(x for x in items if x["id"] == "self")
    assert own["own_infrastructure"] and own["name"] == "own infrastructure"
    # the static site writes the same document
    out = built["out"]
    listed = [x["id"] for x in json.loads((out / "api" / "v1" / "providers.json").read_text("utf-8"))["items"]]
    assert all((out / "api" / "v1" / "providers" / f"{i}.json").is_file() for i in listed), listed


def test_serve_says_it_is_loading_and_a_locked_database_is_one_line(built, tmp_path, monkeypatch, fake_serve):
    """Field trial (publish, finding 13): with the SQLite database locked by another process `serve`
    waited ~60 s without a word, then said "database is locked" (docs/CLI.md promises one line: wait
    and try again); and a large scan took ~15 s to load with no output before "serving".  It says
    that it waits for the lock, then what to do (exit 2); and that it is loading before it serves."""
    import sqlite3

    from stekker.store import engine

    _served, port = fake_serve
    db = tmp_path / "copy.db"
    src, dst = sqlite3.connect(built["db"]), sqlite3.connect(db)
    src.backup(dst)  # with what is still in the -wal file
    src.close()
    dst.close()
    res = _cli("serve", "--db", str(db), "--port", port)
    assert res.exit_code == 0, res.output
    out = res.output
    assert "loading scan 2 from" in out and out.index("loading scan 2") < out.index("serving scan 2"), out
    monkeypatch.setattr(engine, "SQLITE_BUSY_MS", 300)
    hold = sqlite3.connect(db, isolation_level=None)
    hold.execute("BEGIN EXCLUSIVE")
    try:
        res = _cli("serve", "--db", str(db), "--port", port)
    finally:
        hold.execute("ROLLBACK")
        hold.close()
    assert res.exit_code == 2, res.output
    assert "another process holds the database" in res.output and "waiting for it" in res.output
    assert "wait until it has finished and try again" in res.output and "Traceback" not in res.output
    assert "serving" not in res.output


def test_serve_redirects_another_spelling_of_a_domain_to_its_page():
    """Field trial (publish, finding 12): /nl/domain/münchen.de/ and /api/v1/domains/HOSTILE-TXT.NL.json
    were 404s.  serve redirects (308) a domain's page, API document and CSV asked for by its Unicode
    name or in capitals to the canonical URL (the A-label, lower case); a name the scan lacks, or no
    name at all, stays a 404."""
    from starlette.testclient import TestClient
    from test_report_support import dom, svc

    from stekker.publish.serve import create_app

    site, _ = _judged_site([dom("xn--mnchen-3ya.de", "Stadt München", None, {"web": svc("web", "kpn", name="KPN")})])
    client = TestClient(create_app(site), follow_redirects=False)
    for asked, want in (("/nl/domain/münchen.de/", "/nl/domain/xn--mnchen-3ya.de/"),
                        ("/en/domain/MÜNCHEN.DE", "/en/domain/xn--mnchen-3ya.de/"),
                        ("/nl/domain/ALMERE.NL/", "/nl/domain/almere.nl/"),
                        ("/api/v1/domains/Almere.NL.json", "/api/v1/domains/almere.nl.json"),
                        ("/api/v1/domains/münchen.de.json", "/api/v1/domains/xn--mnchen-3ya.de.json"),
                        ("/data/domain/ALMERE.nl.csv", "/data/domain/almere.nl.csv")):
        r = client.get(asked)
        assert r.status_code == 308 and r.headers["location"] == want, (asked, r.status_code, r.headers)
        assert client.get(want).status_code == 200, want
    for missing in ("/nl/domain/NERGENS.NL/", "/nl/domain/a..b/", "/api/v1/domains/x%2F..%2Fy.json",
                    "/nl/domain/almere.nl.evil/"):
        assert client.get(missing).status_code == 404, missing


def test_the_404_page_is_the_sites_own_and_each_line_keeps_to_one_language(client, built):
    """Field trial (publish, finding 11): serve's 404 was a bare page without the stylesheet, and the
    static /404.html paired "Alle domeinen" (/nl/domain/) with "All organisations" (/en/org/).  serve
    answers a missing page with the site's 404 page (styled, both languages); each line of links keeps
    to one language: start, organisations, domains."""
    r = client.get("/nl/nergens/")
    assert r.status_code == 404 and 'href="/static/site.css"' in r.text and "Niet gevonden" in r.text
    assert r.text == (built["out"] / "404.html").read_text("utf-8")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    items = re.findall(r"<li[^>]*>(.*?)</li>", r.text)
    assert len(items) == 2, items
    for item, lang, words in ((items[0], "nl", ["Naar de start (Nederlands)", "Alle organisaties", "Alle domeinen"]),
                              (items[1], "en", ["To the start (English)", "All organisations", "All domains"])):
        hrefs = re.findall(r'href="([^"]+)"', item)
        assert hrefs == [f"/{lang}/", f"/{lang}/org/", f"/{lang}/domain/"], item
        assert [re.sub(r"<[^>]+>", "", a) for a in re.findall(r"<a [^>]+>(.*?)</a>", item)] == words
    # other errors of a page are styled too
    r = client.post("/en/")
    assert r.status_code == 405 and 'href="/static/site.css"' in r.text


def test_feed_ids_name_the_site_and_links_have_a_base(built, tmp_path):
    """Field trial (publish, finding 15): the Atom feed's links were relative without xml:base and its
    ids (`tag:stekker,2026:change:2:0`) named no publisher: two publishers' feeds shared ids.  With
    --site-url the feed says its links against it (xml:base) and the ids are tag URIs of its host;
    without it, ids are UUIDs of the scan, the same each time the scan is published."""
    from urllib.parse import urljoin

    ns = {"a": "http://www.w3.org/2005/Atom"}
    base_attr = "{http://www.w3.org/XML/1998/namespace}base"

    def ids_of(site, lang="en"):
        feed = ET.fromstring(site.render(f"/{lang}/changes.atom").body)
        return feed, [feed.findtext("a:id", namespaces=ns)] + [e.findtext("a:id", namespaces=ns)
                                                               for e in feed.findall("a:entry", ns)]

    m = built["model"]
    feed, ids = ids_of(Site(m))
    assert base_attr not in feed.attrib
    assert all(i.startswith("urn:uuid:") for i in ids) and len(set(ids)) == len(ids), ids
    assert ids == ids_of(Site(m))[1]  # stable
    assert set(ids).isdisjoint(ids_of(Site(m), "nl")[1])
    other = dataclasses.replace(m, scan={**m.scan, "started_at": "2030-01-01T00:00:00+00:00"})
    assert set(ids).isdisjoint(ids_of(Site(other))[1])  # another scan (elsewhere): other ids
    # the same scan published by a newer stekker (another knowledge-base version): the same ids,
    # or every entry shows again in a reader (review of the field-trial fixes)
    upgraded = dataclasses.replace(m, scan={**m.scan, "kb_version": "2099-01-01-00000000"})
    assert ids_of(Site(upgraded))[1] == ids
    sited = dataclasses.replace(m, site_url="https://example.org/stekker/")
    feed, ids = ids_of(Site(sited))
    assert feed.attrib[base_attr] == "https://example.org/stekker/en/"
    assert all(i.startswith("tag:example.org,20") and ":/stekker/en/changes/2/" in i for i in ids), ids
    assert len(set(ids)) == len(ids)
    link = next(e.find("a:link", ns).get("href") for e in feed.findall("a:entry", ns))
    assert urljoin(feed.attrib[base_attr], link) == "https://example.org/stekker/en/domain/almere.nl/"
    # the option, checked
    db = str(built["db"])
    res = _cli("site", "--db", db, "--out", str(tmp_path / "s"), "-q", "--site-url", "https://example.org/x?y=1")
    assert res.exit_code == 2 and "--site-url" in res.output and not (tmp_path / "s").exists()
    assert _cli("site", "--db", db, "--out", str(tmp_path / "t"), "-q", "--site-url", "https://").exit_code == 2
    res = _cli("site", "--db", db, "--out", str(tmp_path / "u"), "-q", "--site-url", "https://example.org/stekker")
    assert res.exit_code == 0, res.output
    assert 'xml:base="https://example.org/stekker/nl/"' in (tmp_path / "u" / "nl" / "changes.atom").read_text("utf-8")
