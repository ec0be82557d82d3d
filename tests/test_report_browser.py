"""The HTML report in headless Chromium: screenshots, PDF, hostile DNS content.

Skips cleanly when Chromium is not installed. Screenshots are kept under the
test's tmp dir (printed with -s) for a human look.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from test_report_support import HOSTILE_ORG, FakeKB, ev, sample

from stekker.judge import load_policies
from stekker.report import build
from stekker.report.render import find_chromium, render_html, render_org_html, run_chromium, write_pdf

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium() is None, reason="headless Chromium not installed (apt-get install chromium)"),
]

NOW = dt.datetime(2026, 1, 11, 12, 0, tzinfo=dt.timezone.utc)
CANARY_SCRIPT = "<script>document.body.setAttribute('data-pwned','script')</script>"
CANARY_IMG = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">"
CANARY_SVG = "<svg onload=\"document.body.setAttribute('data-pwned','svg')\"></svg>"
META = {"scan_id": 7, "kb_version": "fake-kb-1", "started_at": 1767261600.0, "label": "lab"}


@pytest.fixture(scope="module")
def rep():
    recs = sample()
    hostile = next(r for r in recs if r.domain == "hostile.nl")
    for v in (CANARY_SCRIPT, CANARY_IMG, CANARY_SVG):
        hostile.services["dns"].evidence.append(ev("hostile.nl", "TXT", v))
    return build(recs, FakeKB(), load_policies().select(None), "2026-01-01", meta=META)


def _dump_dom(path) -> str:
    proc = run_chromium(["--dump-dom", "--virtual-time-budget=2000"], path.as_uri(), timeout=90)
    dom = proc.stdout.decode("utf-8", "replace")
    assert "<html" in dom, proc.stderr.decode("utf-8", "replace")[-500:]
    return dom


def _screenshot(html_path, png_path, height=2400) -> None:
    run_chromium([f"--screenshot={png_path}", f"--window-size=1200,{height}", "--hide-scrollbars"],
                 html_path.as_uri(), timeout=90)
    assert png_path.exists(), "Chromium wrote no screenshot"
    data = png_path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a real, non-blank page


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_report_renders_and_screenshot(rep, tmp_path, lang):
    html = tmp_path / f"report-{lang}.html"
    html.write_text(render_html(rep, lang, now=NOW), encoding="utf-8")
    png = tmp_path / f"report-{lang}.png"
    _screenshot(html, png)
    print(f"screenshot: {png}")
    dom = _dump_dom(html)
    assert f'<html lang="{lang}">' in dom
    assert "<svg" in dom and "<rect" in dom  # charts rendered inline


def test_hostile_txt_stays_inert(rep, tmp_path):
    html = tmp_path / "hostile.html"
    html.write_text(render_org_html(rep, HOSTILE_ORG, "en", now=NOW), encoding="utf-8")
    _screenshot(html, tmp_path / "hostile.png", height=1600)
    print(f"screenshot: {tmp_path / 'hostile.png'}")
    dom = _dump_dom(html)
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert "data-pwned" not in body  # no script, handler or svg onload ran
    assert "<script" not in dom.lower()
    assert not re.search(r"<img\b", dom, re.I)  # no element was injected
    assert not re.search(r"<svg[^>]*onload", dom, re.I)
    assert "<i>X</i>" not in dom  # the organisation name's markup is text, too
    # the hostile values are shown, as text
    assert "&lt;script&gt;document.body.setAttribute('data-pwned','script')&lt;/script&gt;" in dom
    assert "&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','img')\"&gt;" in dom
    assert "Stichting &lt;i&gt;X&lt;/i&gt; &amp; Co" in dom


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_pdf(rep, tmp_path, lang):
    pdf = write_pdf(render_html(rep, lang, now=NOW), tmp_path / f"report-{lang}.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000


def test_organisation_pdf(rep, tmp_path):
    pdf = write_pdf(render_org_html(rep, "Gemeente A", "nl", now=NOW), tmp_path / "org.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_cli_pdf_and_missing_chromium(tmp_path, monkeypatch):
    from stekker.report.render import RenderError

    monkeypatch.setenv("STEKKER_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(RenderError, match="PDF needs headless Chromium"):
        write_pdf("<!doctype html><title>x</title>", tmp_path / "x.pdf")


def test_cli_writes_pdf_of_report_and_organisation(tmp_path):
    from test_report import _real_records, _store_with_scan
    from typer.testing import CliRunner

    from stekker.cli import _register, app

    _register()
    _store_with_scan(tmp_path, _real_records())
    db = str(tmp_path / "s.db")
    for args, name in (([], "r.pdf"), (["--organisation", "Gemeente A", "--lang", "nl"], "o.pdf")):
        res = CliRunner().invoke(app, ["report", "--db", db, "-q", "--pdf", str(tmp_path / name), *args])
        assert res.exit_code == 0, res.output
        assert (tmp_path / name).read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_summary_screenshot_states_the_finding(tmp_path, lang):
    """Issue 13: the summary as a reader sees it (headline figures with their
    finding, quote sentences, NOS comparison), screenshotted in both languages.
    STEKKER_SCREENSHOT_DIR keeps the PNGs for a human look."""
    import os
    import shutil

    from test_report_figures import META as FMETA
    from test_report_figures import PHRASES, nearly_all

    r = build(nearly_all(orgs=True), FakeKB(), load_policies().select(None), None, meta=FMETA)
    html = tmp_path / f"summary-{lang}.html"
    html.write_text(render_html(r, lang, now=NOW), encoding="utf-8")
    png = tmp_path / f"summary-{lang}.png"
    _screenshot(html, png, height=2200)
    keep = os.environ.get("STEKKER_SCREENSHOT_DIR")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(png, os.path.join(keep, png.name))
    print(f"screenshot: {png}")
    dom = _dump_dom(html)
    text = " ".join(re.sub(r"<[^>]+>", " ", dom).split())
    for phrase in PHRASES[lang].values():
        assert phrase in text
    assert ("99.9% depend on at least one US-controlled service" if lang == "en"
            else "99,9% afhankelijk van minstens één dienst onder Amerikaanse zeggenschap") in text
    assert ("Compared with the NOS study" if lang == "en" else "Vergeleken met het NOS-onderzoek") in text
    pdf = write_pdf(html.read_text(encoding="utf-8"), tmp_path / f"summary-{lang}.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
