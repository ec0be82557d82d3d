"""The shared rendering toolkit (stekker.render): one CSP, one Jinja
environment, the NL/EN formatters with their two percent roundings, and
Chromium's errors."""

from __future__ import annotations

from decimal import Decimal

import jinja2
import pytest

from stekker import render
from stekker.render import fmt_int, fmt_money, fmt_num, fmt_pct


def test_environment_autoescapes_and_refuses_undefined():
    env = render.environment(jinja2.DictLoader({"a.txt": "{{ x }}", "b.html": "{{ y }}"}))
    assert env.get_template("a.txt").render(x="<b>") == "&lt;b&gt;"  # every extension, not only .html
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("b.html").render()


def test_one_policy_allows_no_script_and_only_the_hashed_style():
    css = "body{color:red}"
    pol = render.csp(render.style_hash(css))
    assert "default-src 'none'" in pol and "script-src 'none'" in pol and "object-src 'none'" in pol
    assert "unsafe-inline" not in pol and f"style-src 'sha256-{render.style_hash(css)}'" in pol


@pytest.mark.parametrize("x,lang,share,half_up", [
    (0.4288, "nl", "43%", "42,9%"),
    (0.5, "en", "50%", "50%"),
    (0.0004, "en", "<0.1%", "0%"),      # the report never says "none" unless exact
    (0.9996, "en", ">99.9%", "100%"),   # nor "all"
    (0.125, "en", "13%", "12.5%"),      # a tie rounds up in both (explore-e L1: float formatting gave 12%)
    (0.625, "en", "63%", "62.5%"),      # (and 62% for 5 of 8)
    (0.0125, "en", "1.3%", "1.3%"),     # would read 1%: one decimal, as 0.96% (1.0%) has (field trial F9)
    (1, "nl", "100%", "100%"),
])
def test_two_percent_roundings_kept_apart(x, lang, share, half_up):
    assert fmt_pct(x, lang) == share
    assert fmt_pct(Decimal(str(x)), lang, 1, rounding="half-up") == half_up


def test_other_formatters():
    assert fmt_int(13058, "nl") == "13.058" and fmt_int(13058, "en") == "13,058" and fmt_int(None, "en") == "–"
    assert fmt_money(Decimal("1234.5"), "nl") == "€ 1.235" and fmt_money(1234, "en", "usd") == "USD 1,234"
    assert fmt_num(1.255, "nl") in ("1,25", "1,26") and fmt_num(2, "en") == "2.00"
    assert fmt_pct(None, "en", missing="unknown") == "unknown"
    with pytest.raises(ValueError):
        fmt_pct(0.5, "en", rounding="banker")


def test_missing_chromium_is_a_readable_error(monkeypatch, tmp_path):
    monkeypatch.setenv("STEKKER_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert render.find_chromium() is None
    with pytest.raises(render.RenderError, match="PDF needs headless Chromium"):
        render.write_pdf("<title>x</title>", tmp_path / "x.pdf")
    with pytest.raises(render.RenderError, match="screenshot needs headless Chromium"):
        render.screenshot(tmp_path / "x.html", tmp_path / "x.png")
    assert not (tmp_path / "x.pdf").exists()


def test_a_figure_has_the_precision_of_the_figure_it_reads_as():
    """Field trial F9: "99% (1,759/1,777)" beside "99.0% (1,760/1,777)" in one row: the decimal near
    the ends was chosen by the raw value (98.99% < 99 none, 99.04% one). It is chosen by the figure as
    shown: every share that reads as the same whole percentage has the same precision."""
    assert fmt_pct(1759 / 1777, "en") == fmt_pct(1760 / 1777, "en") == "99.0%"
    assert fmt_pct(0.0096, "nl") == fmt_pct(0.0104, "nl") == "1,0%"
    by_whole: dict[int, set[int]] = {}  # whole percentage (half up) -> decimals shown
    for n in range(1, 2000):
        s = fmt_pct(n / 2000, "en").lstrip("<>").rstrip("%")
        whole = int((Decimal(n) / 20).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        by_whole.setdefault(whole, set()).add(len(s.split(".")[1]) if "." in s else 0)
    assert all(len(v) == 1 for v in by_whole.values()), by_whole
    assert by_whole[99] == by_whole[1] == {1} and by_whole[98] == by_whole[2] == {0}
