"""stekker.dates: the one reader of "as of" dates and timestamps."""

from __future__ import annotations

import datetime as dt

import pytest

from stekker import kb
from stekker.dates import as_date, as_datetime

UTC = dt.timezone.utc


def test_as_date_forms():
    assert as_date("2026-03-04") == dt.date(2026, 3, 4)
    assert as_date("2026-03-04T23:59:00+05:00") == dt.date(2026, 3, 4)  # the written day, no conversion
    assert as_date(dt.datetime(2026, 3, 4, 12)) == dt.date(2026, 3, 4)
    assert as_date(dt.date(2026, 3, 4)) == dt.date(2026, 3, 4)
    assert as_date(0) == dt.date(1970, 1, 1) and as_date(86400.5) == dt.date(1970, 1, 2)  # epoch: the UTC day
    assert as_date(None) == dt.date.today()
    with pytest.raises(ValueError):
        as_date("yesterday")
    assert kb.as_date is as_date  # kb's name is the same function


def test_as_datetime_forms():
    assert as_datetime("2026-03-04T10:00:00Z") == dt.datetime(2026, 3, 4, 10, tzinfo=UTC)
    assert as_datetime("2026-03-04T10:00:00") == dt.datetime(2026, 3, 4, 10, tzinfo=UTC)  # naive = UTC
    assert as_datetime("2026-03-04") == dt.datetime(2026, 3, 4, tzinfo=UTC)
    assert as_datetime(0) == dt.datetime(1970, 1, 1, tzinfo=UTC)
    aware = dt.datetime(2026, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert as_datetime(aware) is aware
    for nothing in (None, "", "not a time", "2026-13-01"):
        assert as_datetime(nothing) is None


def test_scan_day():
    from stekker.dates import scan_day

    assert scan_day({"started_at": 86400.0}) == dt.date(1970, 1, 2)
    assert scan_day({"started_at": 0}) == dt.date(1970, 1, 1)  # epoch 0 is a time
    assert scan_day({"started_at": "", "finished_at": "2026-01-02T03:00:00"}) == dt.date(2026, 1, 2)
    assert scan_day({"started_at": "garbage"}) is None and scan_day({}) is None
