"""Many rows into one table in a few statements, on the session's own transaction.

``session.execute(insert(model), rows)`` is an executemany: one statement execution per row.
For a partner import of 1,000 items that cost, besides the ORM's per-row bookkeeping:

- on PostgreSQL, 1,000 Bind/Execute round trips of the prepared INSERT, each with its own
  executor start-up: one ``INSERT … SELECT * FROM unnest($1::uuid[], $2::…[], …)`` takes one
  array per column instead and measured about a quarter less PostgreSQL CPU;
- on SQLite, a statement per row also means a statement savepoint per row, and FTS5 flushes
  its pending terms to disk at every savepoint: the AFTER INSERT trigger feeding the FTS5
  table wrote (and later merged) one tiny segment per row. One multi-row ``VALUES`` statement
  lets FTS5 write the batch as one segment: about three times faster (bench/README.md).

Values are bound as each column's type binds them (its bind processor), so rows hold the
same Python values an ORM insert takes, and the statements go through SQLAlchemy's
``exec_driver_sql``: its transaction, statement timing and ``IntegrityError`` stay the same.
The statement names its columns through the table (``table.c``), so a key the table lacks
raises ``KeyError`` before anything is sent.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_rows(
    session: AsyncSession, model: type[Any], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (mappings with the same keys: column names) into ``model``'s table."""
    if not rows:
        return
    table = model.__table__
    assert isinstance(table, Table)
    connection = await session.connection()
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
        process = table.c[name].type.bind_processor(dialect)
        # NULL stays SQL NULL (a JSON column's processor would make it JSON 'null').
        bound.append(
            values if process is None else [None if v is None else process(v) for v in values]
        )
    return bound
