"""The rendering toolkit shared by every output that people read (the
report, the audit, the web layer): one Jinja environment with autoescape
and one Content-Security-Policy (:mod:`~stekker.render.html`), Dutch and
English number, percent and date formatting (:mod:`~stekker.render.fmt`),
and PDF/screenshots through headless Chromium with one set of flags and
errors (:mod:`~stekker.render.pdf`).  No stage knowledge."""

from __future__ import annotations

from stekker.render.fmt import MONTHS, fmt_datetime, fmt_day, fmt_int, fmt_money, fmt_num, fmt_pct
from stekker.render.html import csp, environment, style_hash
from stekker.render.pdf import RenderError, find_chromium, html_to_pdf, run_chromium, screenshot, write_pdf

__all__ = [
    "MONTHS", "fmt_datetime", "fmt_day", "fmt_int", "fmt_money", "fmt_num", "fmt_pct",
    "csp", "environment", "style_hash",
    "RenderError", "find_chromium", "html_to_pdf", "run_chromium", "screenshot", "write_pdf",
]
