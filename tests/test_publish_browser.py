"""The published site in headless Chromium (Playwright), as a person uses
it: home, an organisation, a provider, the map and the changes page in both
languages, screenshots, keyboard focus, no request leaves the site, and the
hostile canaries in DNS text and organisation names never fire.

Skips cleanly without Chromium or Playwright.  Screenshots are written to
the test's tmp dir and, when $STEKKER_SCREENS is set, copied there.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest
from publish_support import GEO_DIR, store_with_two_scans
from test_report_support import dom, svc

CHROMIUM = os.environ.get("STEKKER_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="headless Chromium not installed (apt-get install chromium)"),
]


@contextlib.contextmanager
def _served_site(d: Path, extra: tuple = (), **model_kw):
    """A site of the two-scan store (``extra``: more records) written under ``d`` and served on
    loopback by a plain static file server: its base URL."""
    from stekker.publish.model import Model
    from stekker.publish.pages import Site
    from stekker.publish.site import write_site

    _, st, _ = store_with_two_scans(d, extra=extra)
    out = d / "site"
    geo = model_kw.pop("geo", None)
    write_site(Site(Model.load(st, "latest", **model_kw), geo), out)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    handler.log_message = lambda *a, **k: None
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def site_url(tmp_path_factory):
    d = tmp_path_factory.mktemp("publish_browser")
    with _served_site(d, geo=GEO_DIR if GEO_DIR.is_dir() else None) as url:
        yield url, d


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


PAGES = [("home", "/{lang}/"), ("org", "/{lang}/org/gemeente-almere/"), ("provider", "/{lang}/provider/microsoft/"),
         ("map", "/{lang}/map/"), ("changes", "/{lang}/changes/"), ("hostile", "/{lang}/domain/hostile.nl/"),
         ("hostile-org", "/{lang}/sector/stichting/"), ("sectors", "/{lang}/sector/"),
         ("sector", "/{lang}/sector/gemeente/"), ("methods", "/{lang}/methods/")]


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("name,path", PAGES)
def test_page_in_chromium(site_url, browser, tmp_path, lang, name, path):
    base, _ = site_url
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    resp = page.goto(base + path.format(lang=lang))
    assert resp is not None and resp.status == 200
    assert page.evaluate("document.documentElement.lang") == lang
    assert page.locator("h1").count() == 1
    assert page.evaluate("document.body.getAttribute('data-pwned')") is None  # no canary fired
    assert page.locator("script").count() == 0
    assert all(u.startswith(base) for u in requests), requests  # nothing leaves the site
    assert not [e for e in errors if "Content Security Policy" in e], errors  # nothing was even attempted
    # the stylesheet applied (so CSP allowed it): the body font is not the browser default
    assert "system-ui" in page.evaluate("getComputedStyle(document.body).fontFamily")
    # keyboard: Tab reaches a link, and it shows a focus style
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.tagName") == "A"
    # the language switch leads to the same page in the other language
    other = "en" if lang == "nl" else "nl"
    href = page.locator(f"a[hreflang={other}]").first.get_attribute("href")
    png = tmp_path / f"{name}-{lang}.png"
    page.screenshot(path=str(png), full_page=True)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    keep = os.environ.get("STEKKER_SCREENS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
    print(f"screenshot: {png}")
    with page.expect_navigation():  # evaluated before the next page exists, lang is read from null (a flake)
        page.click(f"a[hreflang={other}]")
    page.wait_for_load_state("load")
    assert page.evaluate("document.documentElement.lang") == other, href
    assert page.evaluate("document.body.getAttribute('data-pwned')") is None
    page.close()


def test_map_has_municipalities_and_links(site_url, browser):
    if not GEO_DIR.is_dir():
        pytest.skip("../shared/data/geo not available")
    base, _ = site_url
    page = browser.new_page()
    page.goto(base + "/en/map/")
    assert page.locator("svg path").count() == 342
    assert page.locator("svg a").count() == 5
    fill = page.evaluate("getComputedStyle(document.querySelector('svg a path')).fill")
    assert fill not in ("", "rgb(0, 0, 0)")  # coloured by the stylesheet
    with page.expect_navigation():
        page.locator("svg a").first.click()
    assert "/en/domain/" in page.url  # a municipality matched by its domain links to that domain
    page.close()


@pytest.mark.parametrize("path", ["/en/", "/nl/org/gemeente-almere/", "/en/domain/hostile.nl/", "/nl/sector/",
                                  "/nl/sector/gemeente/"])
def test_pages_fit_a_phone_and_long_tokens_wrap(site_url, browser, path):
    """Exploratory test (2026-12-06): at 375 px wide tables made the page 704
    to 846 px wide, and the hostile SPF include made a domain page 2,696 px
    wide on a desktop. A wide table scrolls in its own box; long tokens wrap."""
    base, _ = site_url
    for width in (375, 1200):
        page = browser.new_page(viewport={"width": width, "height": 800})
        page.goto(base + path)
        over = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        page.close()
        assert over <= 2, (path, width, over)


def test_sector_columns_read_as_what_they_count(site_url, browser):
    """Exploratory test E (H1): as a reader sees it, a sector table's share
    columns say what the share counts, and the full finding is the header's
    tooltip (its abbr title)."""
    base, _ = site_url
    page = browser.new_page()
    for lang, col, finding in (("en", "Not EU-controlled", "depend on at least one service not controlled from"),
                               ("nl", "Niet EU-gecontroleerd", "afhankelijk van minstens één dienst die niet vanuit")):
        page.goto(base + f"/{lang}/sector/")
        heads = page.locator("thead th").all_inner_texts()
        assert col in heads and "EU-controlled" not in heads and "EU-gecontroleerd" not in heads, heads
        assert finding in page.locator("thead abbr").nth(heads.index(col) - 2).get_attribute("title")
        assert page.locator("caption").inner_text()
    page.close()


@pytest.fixture(scope="module")
def contest_site_url(tmp_path_factory):
    """The same site published with --contest-email."""
    with _served_site(tmp_path_factory.mktemp("publish_browser_contest"), contest_email="fouten@example.org") as url:
        yield url


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_each_label_has_its_own_contest_link(contest_site_url, browser, lang):
    """Exploratory test E (M3): the contest link sat at the bottom of the page only and named
    neither the service nor the provider.  Each service row has one, named for a screen reader by
    the row it contests, reached by keyboard; the page still fits a phone (the table scrolls in its
    own box) and nothing leaves the site."""
    for width in (375, 1200):
        page = browser.new_page(viewport={"width": width, "height": 800})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(contest_site_url + f"/{lang}/domain/almere.nl/")
        links = page.locator("#s-h ~ .tw td.contest a")
        assert links.count() == 4
        labels = [links.nth(i).get_attribute("aria-label") for i in range(4)]
        assert any("Microsoft" in x and "Mailbox" in x for x in labels), labels
        assert all(links.nth(i).get_attribute("href").startswith("mailto:fouten@example.org?subject=")
                   for i in range(4))
        over = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert over <= 2, (width, over)
        # keyboard: Tab reaches a row's contest link
        seen = set()
        for _ in range(80):
            page.keyboard.press("Tab")
            seen.add(page.evaluate("document.activeElement.getAttribute('aria-label') || ''"))
        assert set(labels) <= seen, (labels, seen)
        assert all(u.startswith(contest_site_url) for u in requests), requests
        page.close()


# every word of a table cell as the reader sees it: a piece of a word (split after a hyphen, slash or dash,
# where a line may break) whose letters lie on more than one line was broken inside: [piece, in free text,
# length of the whole word]
_BROKEN_TOKENS = r"""() => {
  const out = [];
  for (const cell of document.querySelectorAll('td, th')) {
    const free = !!cell.closest('.txt');
    const w = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = w.nextNode())) {
      const words = /\S+/g;
      let w0;
      while ((w0 = words.exec(n.data))) {
        const re = /[^\-\/\u2013]+[\-\/\u2013]*/g;
        let m;
        while ((m = re.exec(w0[0]))) {
          const r = document.createRange();
          r.setStart(n, w0.index + m.index);
          r.setEnd(n, w0.index + m.index + m[0].length);
          const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
          if (tops.size > 1) out.push([m[0], free, w0[0].length]);
        }
      }
    }
  }
  return out;
}"""


@pytest.mark.parametrize("lang", ["nl", "en"])
@pytest.mark.parametrize("path", ["/{lang}/", "/{lang}/domain/almere.nl/", "/{lang}/domain/hostile.nl/",
                                  "/{lang}/provider/microsoft/", "/{lang}/sector/", "/{lang}/sector/gemeente/",
                                  "/{lang}/changes/", "/{lang}/org/gemeente-almere/", "/{lang}/provider/"])
def test_a_phone_never_breaks_a_number_or_word(site_url, browser, lang, path):
    """Field trial (publish, finding 1): at 360 px `overflow-wrap: anywhere` on every cell squeezed the
    tables instead of letting them scroll: "96%" read "9/6%", "1.343 van 1.405" "1.34/3 van 1.40/5",
    column headings broke letter by letter.  No number, heading or verdict breaks inside; free text
    (a name, a reason, DNS text: class txt) wraps only a token longer than its column's 12em; a table
    too wide scrolls sideways in its own box and the page does not."""
    base, _ = site_url
    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(base + path.format(lang=lang))
    broken = page.evaluate(_BROKEN_TOKENS)
    assert not [tok for tok, free, word in broken if not free or word <= 16], broken
    # the headline figures: every share sits on one line, and its table scrolls
    if path == "/{lang}/":
        lines, scroll_w, client_w = page.evaluate("""() => {
          const lines = [...document.querySelectorAll('table.figures td.big')].map(c => {
            const r = document.createRange(); r.selectNodeContents(c);
            return new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top))).size; });
          const tw = document.querySelector('table.figures').closest('.tw');
          return [lines, tw.scrollWidth, tw.clientWidth]; }""")
        assert lines and set(lines) == {1}, lines
        assert scroll_w > client_w, (scroll_w, client_w)  # wider than the phone: it scrolls
    over = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert over <= 2, over
    page.close()


def test_a_domain_typed_in_unicode_leads_to_its_page_on_a_static_server(tmp_path, browser):
    """A reader types münchen.de; the page is at its DNS name xn--mnchen-3ya.de. `serve` answers
    the Unicode form with a 308 redirect; a static web server cannot, so the site writes a page
    there that leads on without a script (field trial publish 12's leftover)."""
    idn = dom("xn--mnchen-3ya.de", "Stadt München", "gemeente", {"dns": svc("dns", "kpn", name="KPN")})
    with _served_site(tmp_path, extra=(idn,)) as base:
        for lang in ("nl", "en"):
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(base + f"/{lang}/domain/münchen.de/")
            page.wait_for_url(f"**/{lang}/domain/xn--mnchen-3ya.de/")
            assert page.evaluate("document.documentElement.lang") == lang
            assert "Stadt München" in page.content()
            assert page.locator("script").count() == 0
            assert all(u.startswith(base) for u in requests), requests
            page.close()
