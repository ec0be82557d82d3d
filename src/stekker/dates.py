"""Reading dates and times: the one place where stekker turns "as of"
dates, scan start times and data-set timestamps into ``date`` /
``datetime`` values.  A shared leaf: no stage knowledge."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

__all__ = ["as_date", "as_datetime", "scan_day"]


def as_date(d: _dt.date | str | float | None) -> _dt.date:
    """A date from a date, a datetime, epoch seconds (the UTC day), an ISO
    string (its first 10 characters) or None (today).  Raises ValueError on
    text that is not a date."""
    if d is None:
        return _dt.date.today()
    if isinstance(d, _dt.datetime):
        return d.date()
    if isinstance(d, _dt.date):
        return d
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        return _dt.datetime.fromtimestamp(float(d), _dt.timezone.utc).date()
    return _dt.date.fromisoformat(str(d)[:10])


def scan_day(meta: Mapping[str, Any]) -> _dt.date | None:
    """The day a scan ran: its ``started_at`` (else ``finished_at``: epoch
    seconds, a datetime or ISO text) as a date; None when neither reads as one."""
    for k in ("started_at", "finished_at"):
        v = meta.get(k)
        if v or isinstance(v, (int, float)):  # epoch 0 is a time, "" is not
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
