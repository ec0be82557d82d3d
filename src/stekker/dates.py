"""Reading dates and times: the one place where stekker turns "as of"
dates, scan start times and data-set timestamps into ``date`` /
``datetime`` values.  A shared leaf: no stage knowledge."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from stekker.i18n import _

__all__ = ["EARLIEST_AS_OF", "as_date", "as_datetime", "as_of_out_of_range", "days_before", "scan_day",
           "years_before"]

EARLIEST_AS_OF = _dt.date(1900, 1, 1)  # no ownership record reaches further back


def as_of_out_of_range(day: _dt.date) -> str | None:
    """Why ``day`` cannot be an "as of" date - before :data:`EARLIEST_AS_OF`, or after today
    (ownership is known up to today; a later day would present today's owners as the future's) -
    or None. One rule for ``--as-of`` and an inventory's ``as_of:``."""
    today = _dt.date.today()
    if day < EARLIEST_AS_OF:
        return _("{day} is before {earliest}; the knowledge base's ownership records do not reach that far").format(
            day=day.isoformat(), earliest=EARLIEST_AS_OF.isoformat())
    if day > today:
        return _("{day} is in the future; ownership is known up to today ({today})").format(
            day=day.isoformat(), today=today.isoformat())
    return None


def years_before(day: _dt.date, years: int) -> _dt.date:
    """The same day ``years`` earlier; 29 February becomes 28 February in a year without it
    (every other day keeps its day of the month). Not before 1 January of year 1."""
    if day.year - years < 1:
        return _dt.date.min
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year without it
        return day.replace(year=day.year - years, day=28)


def days_before(day: _dt.date, days: int) -> _dt.date:
    """The day ``days`` days before ``day`` (after it for a negative count); not before 1 January of
    year 1 nor after 31 December 9999 (as :func:`years_before`): date arithmetic on a day a file
    gave never overflows."""
    try:
        return day - _dt.timedelta(days=days)
    except OverflowError:
        return _dt.date.min if days > 0 else _dt.date.max


def as_date(d: _dt.date | str | float | None) -> _dt.date:
    """A date from a date, a datetime, an ISO string (its first 10
    characters) or None (today).  Raises ValueError on text that is not a
    date and on numbers (epoch seconds are times: :func:`as_datetime`)."""
    if d is None:
        return _dt.date.today()
    if isinstance(d, _dt.datetime):
        return d.date()
    if isinstance(d, _dt.date):
        return d
    if isinstance(d, (int, float)):
        # a number is no date: 2024 or 20260101 read as epoch seconds would
        # silently become a day in 1970 (scan times go through as_datetime)
        raise ValueError(_("not a date: {value!r} (give YYYY-MM-DD)").format(value=d))
    return _dt.date.fromisoformat(str(d)[:10])


def scan_day(meta: Mapping[str, Any]) -> _dt.date | None:
    """The day a scan ran: its ``started_at`` (else ``finished_at``: epoch
    seconds, a datetime or ISO text) as a date; None when neither reads as one."""
    for k in ("started_at", "finished_at"):
        v = meta.get(k)
        if v or isinstance(v, (int, float)):  # epoch 0 is a time, "" is not
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return as_datetime(v).date()  # epoch seconds: the UTC day
            try:
                return as_date(v)
            except ValueError:
                pass
    return None


def as_datetime(value: Any) -> _dt.datetime | None:
    """A timezone-aware datetime (naive values are taken as UTC) from a
    datetime, epoch seconds or ISO text (``Z`` allowed); None for None,
    empty or unreadable text."""
    if value is None or value == "":
        return None
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(float(value), _dt.timezone.utc)
    try:
        d = _dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=_dt.timezone.utc)
