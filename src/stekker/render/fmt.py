"""Numbers, percentages, money and dates in Dutch (``nl``) and English
(``en``): ``13.058`` / ``13,058``, ``42,9%`` / ``42.9%``, ``5 december
2026`` / ``5 December 2026``.

Two percent roundings exist on purpose, chosen by ``fmt_pct(rounding=...)``:

* ``"share"`` (the scan report, the default): half up to ``digits``
  decimals (5/8 is 63%), with one decimal near the ends (where the figure
  would read 1% or less, 99% or more: 98.99% and 99.04% both 99.0%), and a share that
  would round to 0% or 100% without being exactly that is shown as
  ``<0.1%`` / ``>99.9%``: the report never says "none" or "all" unless exact.
* ``"half-up"`` (the audit): decimal ROUND_HALF_UP to ``digits`` decimals, a
  whole number without decimals (``50%``, ``42.9%``): the audit's inputs are
  prices and counts a user typed, shown as a spreadsheet would.
"""

from __future__ import annotations

import datetime as _dt
from decimal import ROUND_HALF_UP, Decimal

from stekker.i18n import _, dutch_marks

MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
           "oktober", "november", "december"],
}

MISSING = "–"


def _nl_marks(s: str, lang: str) -> str:
    """``1,234.5`` -> ``1.234,5`` in Dutch."""
    return dutch_marks(s) if lang == "nl" else s


def fmt_int(n: int | float | None, lang: str) -> str:
    """``13,058`` / ``13.058``."""
    if n is None:
        return MISSING
    s = f"{n:,.0f}" if isinstance(n, int) or float(n).is_integer() else f"{n:,.1f}"
    return _nl_marks(s, lang)


def fmt_num(x: float, lang: str, digits: int = 2) -> str:
    """A plain decimal number, no grouping: ``1.25`` / ``1,25``."""
    return _nl_marks(f"{x:.{digits}f}", lang)


def _pct_share(x: float, digits: int) -> str:
    if x >= 1:
        return "100" if x == 1 else f"{x * 100:.{digits}f}"
    if x <= 0:
        return "0"
    pct = Decimal(repr(float(x))) * 100  # the shortest decimal that is this float: 5/8 -> 62.5 exactly
    # one decimal more near the ends, chosen by the figure as it would be shown, not by the raw value:
    # 1,759/1,777 (98.99%) and 1,760/1,777 (99.04%) both read 99.0%, never "99%" beside "99.0%"
    # (field trial F9); the same at the low end (0.96% and 1.04% both 1.0%)
    shown = pct.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    d = max(digits, 1) if (shown <= 1 or shown >= 99) else digits
    # half up, as a reader (and the audit, and a spreadsheet) rounds: 5/8 is 63%, not 62% (float
    # formatting rounds a tie to the even digit)
    s = str(pct.quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP))
    if float(s) >= 100:
        s = ">" + f"{100 - 10 ** -max(d, 1):.{max(d, 1)}f}"
    elif float(s) <= 0:
        s = "<" + f"{10 ** -max(d, 1):.{max(d, 1)}f}"
    return s


def _pct_half_up(x: Decimal | float, digits: int) -> str:
    v = (Decimal(str(x)) * 100).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    if v == v.to_integral():
        v = v.quantize(Decimal(1))
    return str(v)


def fmt_pct(x: Decimal | float | None, lang: str, digits: int = 0, *, rounding: str = "share",
            missing: str = MISSING) -> str:
    """A share (0..1) as a percentage; ``rounding`` is ``"share"`` (the
    report: never "100%" or "0%" unless exact; 0.2%, 99.9%, <0.1%, >99.9%)
    or ``"half-up"`` (the audit); see the module text.  ``missing`` is shown
    for None."""
    if x is None:
        return missing
    if rounding == "share":
        s = _pct_share(x, digits)
    elif rounding == "half-up":
        s = _pct_half_up(x, digits)
    else:
        raise ValueError(_("unknown percent rounding {rounding!r}").format(rounding=rounding))
    if lang == "nl":
        s = s.replace(".", ",")
    return s + "%"


def fmt_money(x: Decimal | int | None, lang: str, currency: str = "EUR", *, missing: str = MISSING) -> str:
    """Whole currency units, rounded half up: ``€ 1.235`` / ``€1,235``;
    other currencies by code: ``USD 1.235`` / ``USD 1,235``."""
    if x is None:
        return missing
    q = Decimal(x).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    s = f"{int(q):,}"
    sym = "€" if currency.upper() == "EUR" else currency.upper() + " "
    if lang == "nl":
        return f"{sym} {s.replace(',', '.')}" if sym == "€" else f"{sym}{s.replace(',', '.')}"
    return f"{sym}{s}"


def fmt_day(d: _dt.date | None, lang: str) -> str:
    """``5 December 2026`` / ``5 december 2026``."""
    if d is None:
        return MISSING
    return f"{d.day} {MONTHS.get(lang, MONTHS['en'])[d.month - 1]} {d.year}"


def fmt_datetime(d: _dt.datetime | None, lang: str) -> str:
    """``2026-12-05 14:30 UTC``, or ``2026-12-05`` at midnight (both languages)."""
    if d is None:
        return MISSING
    return d.strftime("%Y-%m-%d %H:%M UTC") if d.hour or d.minute else d.strftime("%Y-%m-%d")
