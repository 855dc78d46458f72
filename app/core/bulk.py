"""Many rows into one table in a few statements, on the session's own transaction: a partner
import's upserted items (:func:`insert_rows`), or the demo dataset's hundred thousand rows
(:func:`copy_rows`).

``session.execute(insert(model), rows)`` is an executemany: one statement execution per row.
For a partner import of 1,000 items that cost, besides the ORM's per-row bookkeeping:

- on PostgreSQL, 1,000 Bind/Execute round trips of the prepared INSERT, each with its own
  executor start-up: one ``INSERT … SELECT * FROM unnest($1::uuid[], $2::…[], …)`` takes one
  array per column instead and measured about a quarter less PostgreSQL CPU;
- on SQLite, a statement per row also means a statement savepoint per row, and FTS5 flushes
  its pending terms to disk at every savepoint: the AFTER INSERT trigger feeding the FTS5
  table wrote (and later merged) one tiny segment per row. One multi-row ``VALUES`` statement
  lets FTS5 write the batch as one segment: about three times faster (bench/README.md).

For a load of many thousand rows, PostgreSQL's binary ``COPY`` (asyncpg's
``copy_records_to_table``, on the session's connection, so in its transaction) costs
PostgreSQL and Python a fraction of even the unnest INSERT.

Values are bound as each column's type binds them (its bind processor), so rows hold the
same Python values an ORM insert takes, and the INSERTs go through SQLAlchemy's
``exec_driver_sql``: its transaction, statement timing and ``IntegrityError`` stay the same.
The statements name their columns through the table (``table.c``), so a key the table lacks
raises ``KeyError`` before anything is sent.
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.sql import table_of

COPY_CHUNK = 2000
"""Rows a :func:`copy_rows` statement takes: small enough to report progress as it goes."""


async def insert_rows(
    session: AsyncSession, model: type[Any], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (mappings with the same keys: column names) into ``model``'s table."""
    if rows:
        await _insert(await session.connection(), table_of(model), rows)


async def copy_rows(
    session: AsyncSession,
    model: type[Any],
    rows: Sequence[Mapping[str, Any]],
    advance: Callable[[int], None] = lambda _done: None,
) -> None:
    """Load ``rows`` (as for :func:`insert_rows`) into ``model``'s table in chunks, in the
    order given: each chunk a binary COPY with asyncpg, else as :func:`insert_rows` inserts
    them; ``advance`` is told each chunk's count."""
    if not rows:
        return
    table = table_of(model)
    connection = await session.connection()
    driver: Any = (await connection.get_raw_connection()).driver_connection
    columns = list(rows[0])
    names = [table.c[name].name for name in columns]
    for start in range(0, len(rows), COPY_CHUNK):
        chunk = rows[start : start + COPY_CHUNK]
        if hasattr(driver, "copy_records_to_table"):  # asyncpg
            values = _bound_columns(table, columns, chunk, connection.dialect)
            records = list(zip(*values, strict=True))
            await driver.copy_records_to_table(table.name, records=records, columns=names)
        else:
            await _insert(connection, table, chunk)
        advance(len(chunk))


async def _insert(
    connection: AsyncConnection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    dialect = connection.dialect
    if dialect.name not in ("postgresql", "sqlite"):
        await connection.execute(insert(table), list(rows))
        return
    columns = list(rows[0])
    head = _insert_into(table, columns, dialect)
    values = _bound_columns(table, columns, rows, dialect)
    if dialect.name == "postgresql":
        arrays = [
            f"${number}::{table.c[name].type.compile(dialect=dialect)}[]"
            for number, name in enumerate(columns, start=1)
        ]
        await connection.exec_driver_sql(
            f"{head} SELECT * FROM unnest({', '.join(arrays)})", tuple(values)
        )
        return
    bound_rows = list(zip(*values, strict=True))
    placeholder = "(" + ", ".join("?" * len(columns)) + ")"
    per_statement = max(1, dialect.insertmanyvalues_max_parameters // len(columns))
    for start in range(0, len(bound_rows), per_statement):
        chunk = bound_rows[start : start + per_statement]
        parameters = tuple(value for row in chunk for value in row)
        await connection.exec_driver_sql(
            f"{head} VALUES {', '.join([placeholder] * len(chunk))}", parameters
        )


def _insert_into(table: Table, columns: Sequence[str], dialect: Dialect) -> str:
    """``INSERT INTO t (a, b)``, the names taken from the table and quoted as it needs."""
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(table.c[name].name) for name in columns)
    return f"INSERT INTO {quote(table.name)} ({names})"


def _bound_columns(
    table: Table, columns: Sequence[str], rows: Sequence[Mapping[str, Any]], dialect: Dialect
) -> list[list[Any]]:
    """Each column's values, in row order, as the column's type binds them."""
    bound = []
    for name in columns:
        values = [row[name] for row in rows]
        # The dialect's own type binds: SQLite's DATETIME writes the microseconds even when
        # they are 0, as the ORM's statements do (the generic type's processor leaves that to
        # the driver, which drops them).
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        # NULL stays SQL NULL (a JSON column's processor would make it JSON 'null').
        bound.append(
            values if process is None else [None if v is None else process(v) for v in values]
        )
    return bound
