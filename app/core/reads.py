"""The fast read path: reads outside any unit of work, by the cheapest route each backend has.

A handler's unit of work (``SessionDep``) costs a session, a transaction and the ORM; the
busiest reads of the platform need none of that. They read here instead, on a connection of
their own that runs without a transaction, and see what is committed:

- :class:`RowReader`: one primary-key lookup of chosen columns (a catalog item's GET, an
  access token's user). On PostgreSQL a prepared statement straight on a pooled asyncpg
  connection; elsewhere an ordinary Core query. ``fetch_many``: the rows of several keys (a
  search page), through :meth:`Reads.fetch_rows`.
- :meth:`Reads.fetch_rows`: the rows of one small query (the response cache's generations,
  read on every anonymous list; :meth:`RowReader.fetch_many`, a search page's rows by id). On
  SQLite a private ``sqlite3`` connection of this process, queried in the event loop's own
  thread.

Both skip SQLAlchemy's connection, execution and result machinery, which cost several times
the query itself (bench/README.md). Anything that writes, or must read what its own
transaction wrote, uses the unit of work instead (``app/core/db.py``).
"""

import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from asyncpg import PostgresError  # type: ignore[import-untyped]
from sqlalchemy import Dialect, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

from app.core.errors import connection_lost, is_database_outage
from app.core.metrics import add_database_time
from app.core.sql import for_driver, select_sql, table_of


class Reads:
    """The fast read path of one process's database (``Database.reads``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        # Reads need no transaction: BEGIN and COMMIT would be two more round trips.
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.is_postgresql = engine.dialect.name == "postgresql"
        self._sqlite_reader: sqlite3.Connection | None = None

    def connection(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A pooled connection for reads outside any unit of work (no transaction)."""
        return self._engine.connect()

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """A pooled connection's own driver (asyncpg) connection, outside any transaction.

        Checked out of the pool directly: an :class:`AsyncConnection` would cost three
        greenlet switches, a task and its isolation-level bookkeeping per checkout, more
        than the primary-key lookup it serves. An error the server reports for a statement
        leaves the connection usable; after any other (the connection lost or killed, the
        protocol out of step, the read cancelled half way) it is discarded, not pooled; so is
        one whose server said it is going away (a shutdown's 57P01, errors.is_database_outage).
        A read the connection closed under is reported as such (asyncpg raises an
        InternalClientError, "cannot switch to state …", which was a 500 in outage drills).
        """
        pooled = await self._engine.raw_connection()
        driver = pooled.driver_connection
        try:
            yield driver
        except BaseException as error:
            if (
                driver is None
                or driver.is_closed()
                or not isinstance(error, PostgresError)
                or is_database_outage(error)
            ):
                pooled.invalidate(error if isinstance(error, Exception) else None)
            if (
                isinstance(error, Exception)
                and driver is not None
                and driver.is_closed()
                and not is_database_outage(error)
            ):
                raise connection_lost(error) from error
            raise
        finally:
            # Returning it may have to roll back, which awaits: in a greenlet, as SQLAlchemy's.
            await greenlet_spawn(pooled.close)

    async def fetch_rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one small query (portable SQL, ``$1``-numbered parameters), as the
        driver gives them: per-request bookkeeping (the response cache's generations) must
        cost less than the work it saves.

        PostgreSQL: a pooled asyncpg connection (:meth:`driver_connection`). SQLite: a plain
        ``sqlite3`` connection of this process, read-only, queried in the event loop's own
        thread: a few rows from the page cache take microseconds, where handing the query to
        aiosqlite's thread and back through SQLAlchemy took over a millisecond of CPU. A WAL
        reader takes no lock a writer holds, and a short busy timeout bounds the rare wait (a
        checkpoint); an in-memory database has no second connection, so it takes the pool's.
        """
        started = time.perf_counter()
        sql, values = for_driver(sql, params, sqlite=not self.is_postgresql)
        try:
            if self.is_postgresql:
                async with self.driver_connection() as driver:
                    return [tuple(record) for record in await driver.fetch(sql, *values)]
            path = self._engine.url.database
            if not path or path == ":memory:" or path.startswith("file:"):
                async with self.connection() as connection:
                    rows = await connection.exec_driver_sql(sql, values)
                    return [tuple(row) for row in rows]
            if self._sqlite_reader is None:
                self._sqlite_reader = sqlite3.connect(
                    f"{Path(path).resolve().as_uri()}?mode=ro",
                    uri=True,
                    timeout=0.05,
                    check_same_thread=False,
                    isolation_level=None,
                )
            return self._sqlite_reader.execute(sql, values).fetchall()
        finally:
            add_database_time(time.perf_counter() - started)

    @property
    def dialect(self) -> Dialect:
        return self._engine.dialect

    def close(self) -> None:
        """Close the private SQLite reader (the pool is the engine's to dispose of)."""
        if self._sqlite_reader is not None:
            self._sqlite_reader.close()
            self._sqlite_reader = None


class RowReader:
    """One primary-key lookup of chosen columns, on the fast read path.

    Built once, at import time, from the table: a renamed column fails when the module
    loads. PostgreSQL gets the statement as text for asyncpg (``SELECT … WHERE id = $1``),
    other backends the same query through SQLAlchemy Core.
    """

    def __init__(self, model: Any, columns: Sequence[str]) -> None:
        self._table = table = table_of(model)
        self.columns = tuple(columns)
        self._select = select(*(table.c[name] for name in self.columns)).where(
            table.c.id == bindparam("id")
        )
        self._postgresql_sql = select_sql(table, self.columns, where=("id",))
        self._processors: list[Callable[[Any], Any] | None] | None = None

    async def fetch(self, reads: Reads, key: uuid.UUID) -> dict[str, Any] | None:
        if reads.is_postgresql:
            async with reads.driver_connection() as driver:
                started = time.perf_counter()
                record = await driver.fetchrow(self._postgresql_sql, key)
                add_database_time(time.perf_counter() - started)
            return dict(record.items()) if record is not None else None
        async with reads.connection() as connection:
            row = (await connection.execute(self._select, {"id": key})).mappings().first()
        return dict(row) if row is not None else None

    async def fetch_many(self, reads: Reads, keys: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
        """The rows of ``keys`` (a page of search hits), in no particular order; a key with no
        row is left out. One ``IN`` query through :meth:`Reads.fetch_rows`: on SQLite the
        driver's values (text for UUIDs, timestamps, JSON) are converted by the columns' own
        types, as SQLAlchemy would; asyncpg's already are, as in :meth:`fetch`."""
        if not keys:
            return []
        sql = select_sql(self._table, self.columns, where=("id",), among=len(keys))
        rows = await reads.fetch_rows(sql, keys)
        if reads.is_postgresql:
            return [dict(zip(self.columns, row, strict=True)) for row in rows]
        processors = self._processors_for(reads.dialect)
        return [
            {
                name: value if process is None or value is None else process(value)
                for name, process, value in zip(self.columns, processors, row, strict=True)
            }
            for row in rows
        ]

    def _processors_for(self, dialect: Dialect) -> list[Callable[[Any], Any] | None]:
        if self._processors is None:
            self._processors = [
                self._table.c[name].type.dialect_impl(dialect).result_processor(dialect, None)
                for name in self.columns
            ]
        return self._processors
