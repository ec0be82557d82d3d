"""The audit report in headless Chromium: a screenshot of the example report
(PNG written and non-trivial), a PDF, and a hostile product name that stays
text (no script runs, no element injected)."""

from __future__ import annotations

import html as _html
import struct

import pytest

from stekker.audit import catalog as C
from stekker.audit.loader import load
from stekker.audit.report import chromium, find_chromium, html_to_pdf, render_html, run_audit, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="headless chromium not installed"),
]

from test_audit import HOSTILE, _hostile_inventory, test_kb  # noqa: E402


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    return w, h, len(data)


@pytest.fixture(scope="module")
def example_html(tmp_path_factory):
    d = tmp_path_factory.mktemp("audit_browser")
    a = run_audit(load(C.DATA_DIR / "inventory_example.yaml"), test_kb(), "2026-11-25")
    out = {}
    for lang in ("nl", "en"):
        p = d / f"report-{lang}.html"
        p.write_text(render_html(a, lang), encoding="utf-8")
        out[lang] = p
    return out


def test_screenshot_of_the_example_report(example_html, tmp_path):
    png = screenshot(example_html["nl"], tmp_path / "report-nl.png", size="1200,1800")
    w, h, n = _png_size(png)
    assert (w, h) == (1200, 1800)
    assert n > 50_000  # a rendered page with text and tables, not a blank image


def test_dom_has_styles_applied_and_no_scripts(example_html):
    p = chromium(["--dump-dom", example_html["en"].as_uri()], timeout=90)
    dom = p.stdout.decode("utf-8", errors="replace")
    assert "<h1>Who can pull the plug on us?</h1>" in dom
    assert "<script" not in dom.lower()
    assert "Start here" in dom


def test_pdf_is_written(example_html, tmp_path):
    pdf = html_to_pdf(example_html["nl"], tmp_path / "rapport.pdf")
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and len(data) > 20_000
    assert data.count(b"/Type /Page") >= 3 or data.count(b"/Type/Page") >= 3


def test_hostile_product_name_stays_inert(tmp_path):
    a = run_audit(_hostile_inventory(), test_kb(), "2026-01-01")
    page = tmp_path / "hostile.html"
    page.write_text(render_html(a, "en"), encoding="utf-8")
    p = chromium(["--dump-dom", page.as_uri()], timeout=90)
    dom = p.stdout.decode("utf-8", errors="replace")
    # the name is text in the DOM, escaped again on serialisation, and no element was created
    assert _html.escape(HOSTILE, quote=False) in dom
    assert "<script>alert" not in dom and "<img src=\"x\"" not in dom and "onerror=\"alert" not in dom
    assert "<title>Who can pull the plug on us?" in dom  # the title was not rewritten by a script
    png = screenshot(page, tmp_path / "hostile.png", size="1000,1400")
    assert _png_size(png)[2] > 20_000


def test_a_long_unbroken_name_does_not_push_figures_off_the_page(tmp_path):
    """Exploratory test H7 (2026-12-06): one 150-character item name without spaces (a pasted
    portal URL) made every table wider than the page; the PDF lost 21 of 30 amounts. Table cells
    now wrap anywhere: at the printed page's width nothing sticks out and every amount is inside."""
    playwright = pytest.importorskip("playwright.sync_api")
    from stekker.audit.loader import load_text

    long = "https://portal.example.com/" + "x" * 150
    inv = load_text("it_budget: 20000\nitems:\n"
                    f"  - {{name: '{long}', category: email, product: Microsoft 365, annual_cost: 2400000, users: 12,"
                    " criticality: high, stops: [e-mail]}\n"
                    "  - {name: Boekhouding, category: accounting, product: Exact Online, annual_cost: 1200}\n", "x.yaml")
    page_file = tmp_path / "long.html"
    for lang in ("nl", "en"):
        page_file.write_text(render_html(run_audit(inv, test_kb(), "2026-01-01"), lang), encoding="utf-8")
        with playwright.sync_playwright() as p:
            b = p.chromium.launch(executable_path=find_chromium(), args=["--no-sandbox"])
            try:
                page = b.new_page(viewport={"width": 700, "height": 1000})  # A4 minus margins, about 700 px
                page.emulate_media(media="print")
                page.goto(page_file.as_uri())
                width = page.evaluate("document.documentElement.scrollWidth")
                outside = page.evaluate("""() => [...document.querySelectorAll('td.num')]
                    .filter(td => td.getBoundingClientRect().right > window.innerWidth + 1)
                    .map(td => td.textContent)""")
            finally:
                b.close()
        assert width <= 700, (lang, width)
        assert outside == [], (lang, outside[:5])
