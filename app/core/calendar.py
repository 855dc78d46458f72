"""Time: the current instant (always timezone-aware UTC), the days and instants a request
names, and the calendar periods an instant falls in, in a time zone's calendar: month
``2020-05``, quarter ``2020-Q2``, year ``2020``.

One convention everywhere: a day is a day of the platform's calendar (``INNOSHARE_TIMEZONE``,
Asia/Shanghai), from its local midnight to the next; an instant is an instant, whatever offset
it was written with; and every instant the API answers is in UTC (``…Z``).

The one definition of those periods, in Python and in SQL for each backend: PostgreSQL has time
zones in SQL, SQLite gets this module's Python as a function of every connection
(:func:`register_sqlite_calendar`), so both label an instant alike.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, ColumnExpressionArgument, DateTime, String, func


def utcnow() -> datetime:
    return datetime.now(UTC)


ONE_MICROSECOND = timedelta(microseconds=1)


def day_start(value: date | datetime | None, zone: str) -> datetime | None:
    """A period's ``from``, in UTC: the instant given, or the local midnight that starts the
    day."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(UTC) if value is not None else None
    return datetime.combine(value, time.min, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def day_end(value: date | datetime | None, zone: str) -> datetime | None:
    """A period's ``to`` (exclusive), in UTC: the instant given, or the local midnight after
    the day."""
    if value is None or isinstance(value, datetime):
        return value.astimezone(UTC) if value is not None else None
    return day_start(value + timedelta(days=1), zone)


def moment(as_of: date | datetime | None, zone: str) -> datetime:
    """An ``as_of``, in UTC: now, the instant given, or the last microsecond of the day given
    (so a day counts everything that happened on it, to 23:59:59.999999 local time)."""
    if as_of is None:
        return utcnow()
    if isinstance(as_of, datetime):
        return as_of.astimezone(UTC)
    end = day_end(as_of, zone)
    assert end is not None
    return end - ONE_MICROSECOND


#: Months in each calendar unit: the units a period can be.
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def period_label(when: datetime, unit: str, zone: str) -> str:
    """The month (``2020-05``), quarter (``2020-Q2``) or year (``2020``) that ``when`` falls
    in, in ``zone``'s calendar. Labels of one unit sort in time order."""
    local = when.astimezone(ZoneInfo(zone))
    if unit == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if unit == "quarter":
        return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    if unit == "year":
        return f"{local.year:04d}"
    raise ValueError(f"{unit!r} is not a calendar unit")


def period_start(when: datetime, unit: str, zone: str) -> datetime:
    """The start of the month, quarter or year that holds ``when``: local midnight of its first
    day in ``zone``."""
    tz = ZoneInfo(zone)
    local = when.astimezone(tz)
    months = _MONTHS[unit]
    return datetime(local.year, (local.month - 1) // months * months + 1, 1, tzinfo=tz)


def next_period_start(start: datetime, unit: str, zone: str) -> datetime:
    """The start of the period after the one that begins at ``start``."""
    tz = ZoneInfo(zone)
    local = start.astimezone(tz)
    year, month = divmod(local.month - 1 + _MONTHS[unit], 12)
    return datetime(local.year + year, month + 1, 1, tzinfo=tz)


# --- the same periods in SQL -----------------------------------------------------------------

_POSTGRESQL_FORMATS = {"month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}


def _sqlite_period(stored: str | None, zone: str, unit: str) -> str | None:
    """SQLite's ``innoshare_period(timestamp, zone, unit)``: :func:`period_label` of a stored
    timestamp (naive UTC text, as ``UTCDateTime`` stores it there)."""
    if stored is None:
        return None
    return period_label(datetime.fromisoformat(stored).replace(tzinfo=UTC), unit, zone)


def register_sqlite_calendar(dbapi_connection: Any) -> None:
    """Give a new SQLite connection the function :func:`period_label_sql` calls there."""
    dbapi_connection.create_function("innoshare_period", 3, _sqlite_period, deterministic=True)


def period_label_sql(
    dialect: str, timestamp: ColumnExpressionArgument[datetime], unit: str, zone: str
) -> ColumnElement[str]:
    """:func:`period_label` of a timestamp column, computed by the database."""
    if dialect == "postgresql":
        local = func.timezone(zone, timestamp)
        return func.to_char(local, _POSTGRESQL_FORMATS[unit], type_=String)
    return func.innoshare_period(timestamp, zone, unit, type_=String)


def period_key_sql(
    dialect: str, timestamp: ColumnExpressionArgument[datetime], unit: str, zone: str
) -> ColumnElement[Any]:
    """A timestamp column's period, in the form cheapest to group rows by: on PostgreSQL the
    period's start (``date_trunc`` in the zone), on SQLite its label. :func:`period_of_key`
    makes either the label, once per group."""
    if dialect == "postgresql":
        return func.date_trunc(unit, timestamp, zone, type_=DateTime(timezone=True))
    return period_label_sql(dialect, timestamp, unit, zone)


def period_of_key(key: datetime | str, unit: str, zone: str) -> str:
    """The label of a period from what :func:`period_key_sql` gave."""
    return key if isinstance(key, str) else period_label(key, unit, zone)
