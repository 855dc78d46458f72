"""SQL sent straight to the driver, for the hot write paths, with text built from the models'
tables so that it cannot drift from them."""

import functools
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from asyncpg import PostgresError  # type: ignore[import-untyped]
from sqlalchemy import Table
from sqlalchemy.exc import DBAPIError, IntegrityError, MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import connection_lost, is_database_outage
from app.core.metrics import add_database_time

# The money path (ledger entries, idempotency records) runs a dozen small statements per
# request. Through SQLAlchemy's statement machinery each cost 0.1-0.2 ms of CPU (building or
# looking up the compiled form, binding, result processing; more through the ORM); sent
# straight to asyncpg, inside the transaction SQLAlchemy began, about 0.04 ms. The SQL is
# written once, for both backends, with PostgreSQL's numbered parameters ``$1``; SQLite gets
# the same text with ``?1`` (through ``exec_driver_sql``) and the values stored as
# SQLAlchemy's column types store them there.

_NUMBERED_PARAMETER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=256)
def _sqlite_sql(sql: str) -> str:
    return _NUMBERED_PARAMETER.sub(r"?\1", sql)


def _sqlite_value(value: Any) -> Any:
    """A value as SQLAlchemy's column types store it in SQLite (Uuid: 32 hex digits;
    UTCDateTime: naive UTC text; enums: their value)."""
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, Enum):
        return value.value
    return value


def _postgresql_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def for_driver(sql: str, params: Sequence[Any], *, sqlite: bool) -> tuple[str, tuple[Any, ...]]:
    """Portable SQL (``$1``-numbered parameters) and its values, as one backend's driver
    takes them."""
    if sqlite:
        return _sqlite_sql(sql), tuple(_sqlite_value(value) for value in params)
    return sql, tuple(_postgresql_value(value) for value in params)


class SQLRows:
    """The rows of one :func:`execute_sql` statement, as tuples."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Sequence[Sequence[Any]]) -> None:
        self._rows = [tuple(row) for row in rows]

    def all(self) -> list[tuple[Any, ...]]:
        return self._rows

    def first(self) -> tuple[Any, ...] | None:
        return self._rows[0] if self._rows else None

    def one(self) -> tuple[Any, ...]:
        if len(self._rows) != 1:
            raise (
                NoResultFound("expected one row")
                if not self._rows
                else MultipleResultsFound("expected one row")
            )
        return self._rows[0]

    def scalar_one(self) -> Any:
        return self.one()[0]


def _as_sqlalchemy_error(sql: str, params: Sequence[Any], error: PostgresError) -> DBAPIError:
    """What SQLAlchemy would have raised for the driver's error: callers catch
    ``IntegrityError`` and retry on a ``DBAPIError`` whose ``orig.sqlstate`` is a deadlock or
    serialization failure, whichever path sent the statement."""
    kind = IntegrityError if str(error.sqlstate or "").startswith("23") else DBAPIError
    return kind(sql, tuple(params), error)


async def execute_sql(session: AsyncSession, sql: str, params: Sequence[Any] = ()) -> SQLRows:
    """Run ``sql`` (``$1``-numbered parameters, portable SQL) in the session's transaction and
    return its rows.

    Values are passed as they are, but for UUIDs, datetimes and enums, which are converted as
    the models' types would. Rows come back as the driver gives them: on SQLite a UUID or a
    timestamp is text, so read only numbers and strings back this way.
    """
    connection = await session.connection()
    sql, values = for_driver(sql, params, sqlite=connection.dialect.name == "sqlite")
    if connection.dialect.name == "sqlite":
        result = await connection.exec_driver_sql(sql, values)
        return SQLRows(result.all() if result.returns_rows else ())
    driver = (await connection.get_raw_connection()).driver_connection
    if driver is None or not driver.is_in_transaction():
        # The transaction's first statement: through SQLAlchemy, which sends the BEGIN.
        result = await connection.exec_driver_sql(sql, values)
        return SQLRows(result.all() if result.returns_rows else ())
    started = time.perf_counter()
    try:
        return SQLRows(await driver.fetch(sql, *values))
    except PostgresError as error:
        if is_database_outage(error):  # the server is going away: never pool this again
            await connection.invalidate(error)
        raise _as_sqlalchemy_error(sql, values, error) from error
    except Exception as error:  # the connection lost or its protocol out of step (see reads)
        await connection.invalidate(error)
        if driver.is_closed() and not is_database_outage(error):
            raise connection_lost(error) from error
        raise
    finally:
        add_database_time(time.perf_counter() - started)


@functools.lru_cache(maxsize=256)
def values_list(rows: int, columns: int) -> str:
    """``($1, $2), ($3, $4)``: the VALUES of a multi-row statement, parameters numbered row
    by row."""
    return ", ".join(
        "(" + ", ".join(f"${row * columns + column + 1}" for column in range(columns)) + ")"
        for row in range(rows)
    )


# --- Statement text from the tables ---------------------------------------------------------
#
# Driver SQL names columns by hand; these build those names from the models' Table objects at
# import time, so a renamed or dropped column fails when the module loads (and so in every
# test run), never in a request.


def table_of(model: Any) -> Table:
    """A mapped class's ``Table`` (its ``__table__`` is typed as any FROM clause)."""
    table = model.__table__
    if not isinstance(table, Table):
        raise TypeError(f"{model!r} is not mapped to a table")
    return table


def column_list(table: Table, names: Iterable[str] | None = None) -> str:
    """``a, b, c``: the named columns of ``table`` (all of them, in table order, by default).

    A name the table does not have raises ``KeyError`` at once."""
    if names is None:
        return ", ".join(column.name for column in table.columns)
    return ", ".join(table.c[name].name for name in names)


def insert_sql(table: Table, names: Sequence[str], *, rows: int = 1) -> str:
    """``INSERT INTO t (a, b) VALUES ($1, $2), …`` for ``rows`` rows of the named columns."""
    return (
        f"INSERT INTO {table.name} ({column_list(table, names)})"
        f" VALUES {values_list(rows, len(names))}"
    )


def select_sql(
    table: Table, names: Sequence[str], *, where: Sequence[str] = (), among: int = 0
) -> str:
    """``SELECT a, b FROM t WHERE k1 = $1 AND k2 = $2``: the named columns, filtered by
    equality on the ``where`` columns in order; with ``among`` n, by one ``where`` column being
    one of n values (``k IN ($1, …, $n)``)."""
    sql = f"SELECT {column_list(table, names)} FROM {table.name}"
    if among:
        (name,) = where
        numbers = ", ".join(f"${number}" for number in range(1, among + 1))
        return f"{sql} WHERE {table.c[name].name} IN ({numbers})"
    if where:
        sql += " WHERE " + " AND ".join(
            f"{table.c[name].name} = ${number}" for number, name in enumerate(where, start=1)
        )
    return sql


def update_sql(table: Table, names: Sequence[str], *, where: Sequence[str]) -> str:
    """``UPDATE t SET a = $1, b = $2 WHERE k = $3``: the named columns set, then equality on
    the ``where`` columns, parameters in that order."""
    numbered = enumerate((*names, *where), start=1)
    terms = [f"{table.c[name].name} = ${number}" for number, name in numbered]
    return (
        f"UPDATE {table.name} SET {', '.join(terms[: len(names)])}"
        f" WHERE {' AND '.join(terms[len(names) :])}"
    )


def adding_upsert_sql(
    table: Table,
    key: Sequence[str],
    added: Sequence[str],
    *,
    rows: int = 1,
    returning: Sequence[str] = (),
) -> str:
    """``INSERT … VALUES (row), … ON CONFLICT (key) DO UPDATE SET c = t.c + excluded.c`` for
    the ``added`` columns: counters and sums, all the rows in one statement (one round trip),
    locked in the order given. Parameters: each row's key columns, then its added ones."""
    updates = ", ".join(
        f"{column} = {table.name}.{column} + excluded.{column}"
        for column in (table.c[name].name for name in added)
    )
    sql = (
        f"{insert_sql(table, (*key, *added), rows=rows)}"
        f" ON CONFLICT ({column_list(table, key)}) DO UPDATE SET {updates}"
    )
    return f"{sql} RETURNING {column_list(table, returning)}" if returning else sql


class RowsSQL:
    """A multi-row statement's text for any number of rows, each built once, on first use.

    The one-row text is built when this is made, so a column the table lacks fails there (at
    import time), not in the request that first writes that many rows."""

    __slots__ = ("_build", "_texts")

    def __init__(self, build: Callable[[int], str]) -> None:
        self._build = build
        self._texts = {1: build(1)}

    def __call__(self, rows: int) -> str:
        text = self._texts.get(rows)
        if text is None:
            text = self._texts[rows] = self._build(rows)
        return text
