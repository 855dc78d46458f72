"""Calendar periods in a time zone: labels, starts, and the same labels from the database."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import (
    next_period_start,
    period_key_sql,
    period_label,
    period_label_sql,
    period_of_key,
    period_start,
)
from app.models.base import UTCDateTime

SHANGHAI = ZoneInfo("Asia/Shanghai")
# the first instant of April in Shanghai (UTC+8), and the last one of March
APRIL = datetime(2020, 3, 31, 16, 0, tzinfo=UTC)
MARCH = datetime(2020, 3, 31, 15, 59, 59, 999_999, tzinfo=UTC)


def test_labels_follow_the_zone_calendar() -> None:
    zone = "Asia/Shanghai"
    assert [period_label(APRIL, unit, zone) for unit in ("month", "quarter", "year")] == [
        "2020-04",
        "2020-Q2",
        "2020",
    ]
    assert [period_label(MARCH, unit, zone) for unit in ("month", "quarter", "year")] == [
        "2020-03",
        "2020-Q1",
        "2020",
    ]
    assert period_label(MARCH, "month", "UTC") == "2020-03"
    with pytest.raises(ValueError, match="calendar unit"):
        period_label(APRIL, "week", zone)


def test_period_starts_are_local_midnights() -> None:
    zone = "Asia/Shanghai"
    may = datetime(2020, 5, 17, 9, 30, tzinfo=SHANGHAI)
    assert period_start(may, "month", zone) == datetime(2020, 5, 1, tzinfo=SHANGHAI)
    assert period_start(may, "quarter", zone) == datetime(2020, 4, 1, tzinfo=SHANGHAI)
    assert period_start(may, "year", zone) == datetime(2020, 1, 1, tzinfo=SHANGHAI)
    assert period_start(APRIL, "quarter", zone) == APRIL
    q4 = datetime(2020, 10, 1, tzinfo=SHANGHAI)
    assert next_period_start(q4, "quarter", zone) == datetime(2021, 1, 1, tzinfo=SHANGHAI)
    assert next_period_start(q4, "month", zone) == datetime(2020, 11, 1, tzinfo=SHANGHAI)
    assert next_period_start(q4, "year", zone) == datetime(2021, 10, 1, tzinfo=SHANGHAI)


async def test_the_database_labels_periods_as_python_does(session: AsyncSession) -> None:
    dialect = session.get_bind().dialect.name
    for when in (APRIL, MARCH):
        stamp = literal(when, UTCDateTime())
        for unit in ("month", "quarter", "year"):
            expected = period_label(when, unit, "Asia/Shanghai")
            label = period_label_sql(dialect, stamp, unit, "Asia/Shanghai")
            key = period_key_sql(dialect, stamp, unit, "Asia/Shanghai")
            found, keyed = (await session.execute(select(label, key))).one()
            assert found == expected
            assert period_of_key(keyed, unit, "Asia/Shanghai") == expected
