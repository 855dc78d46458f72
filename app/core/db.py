"""Engine, session factory, declarative base and the per-request unit of work."""

import logging
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from asyncpg import PostgresError  # type: ignore[import-untyped]
from sqlalchemy import bindparam, event, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import greenlet_spawn

from app.core.calendar import register_sqlite_calendar
from app.core.errors import AppError

SQLITE_BUSY_TIMEOUT_MS = 10_000

logger = logging.getLogger(__name__)

#: Seconds the current request has spent in database calls (a one-item list the request's
#: middleware sets; None outside requests). Reported in the Server-Timing header.
database_time: ContextVar[list[float] | None] = ContextVar("database_time", default=None)


def add_database_time(seconds: float) -> None:
    spent = database_time.get()
    if spent is not None:
        spent[0] += seconds


def _time_statements(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _started(
        conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any
    ) -> None:
        conn.info["innoshare.started"] = time.perf_counter()

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _finished(
        conn: Any, cursor: Any, statement: Any, params: Any, context: Any, many: Any
    ) -> None:
        started = conn.info.pop("innoshare.started", None)
        if started is not None:
            add_database_time(time.perf_counter() - started)


def _prepare_sqlite(engine: AsyncEngine) -> None:
    """WAL, enforced foreign keys, a busy timeout, and transactions SQLAlchemy controls.

    pysqlite's own implicit BEGIN breaks SAVEPOINT and cannot say BEGIN IMMEDIATE, so it is
    switched off and BEGIN is emitted here; a connection may ask for IMMEDIATE (take the write
    lock up front) through the ``sqlite_begin`` execution option.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        register_sqlite_calendar(dbapi_connection)  # PostgreSQL has time zones in SQL

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # each statement its own transaction, as asked
        connection.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    url: URL = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        _prepare_sqlite(engine)
        _time_statements(engine)
        return engine
    # A fixed pool, no overflow: connections beyond the pool would be opened and closed per
    # request under load (a TCP, TLS and auth handshake each: measured as the main cost of a
    # request at 32 concurrent clients), so requests wait for a pooled connection instead.
    # No pool_pre_ping: it costs a round trip (three, with its transaction) on every
    # checkout; a connection the server dropped fails one request and is then discarded,
    # and pool_recycle retires connections before idle timeouts on the way can cut them.
    # Plan every statement for its own parameters: a cached generic plan cannot know how
    # common a search term is, and picked a full GIN bitmap scan for 科技 (seconds) where the
    # newest-first index walk takes milliseconds. No JIT: its compile time dwarfs these
    # queries.
    server_settings = {"plan_cache_mode": "force_custom_plan", "jit": "off"}
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_recycle=1800,
        connect_args={"server_settings": server_settings},
    )
    _time_statements(engine)
    return engine


class RowReader:
    """One primary-key lookup of chosen columns, outside any unit of work.

    The hot single-item reads run this instead of an ORM query: on PostgreSQL it sends a
    prepared statement straight through a pooled asyncpg connection
    (:meth:`Database.driver_connection`), skipping SQLAlchemy's connection, execution and
    result machinery, which cost several times the query itself (bench/README.md). Elsewhere
    it is an ordinary Core query on :meth:`Database.read_connection`.
    """

    def __init__(self, table: Any, columns: Sequence[str]) -> None:
        self.columns = tuple(columns)
        self._select = select(*(table.c[name] for name in self.columns)).where(
            table.c.id == bindparam("id")
        )
        self._postgresql_sql = f"SELECT {', '.join(self.columns)} FROM {table.name} WHERE id = $1"

    async def fetch(self, db: "Database", key: uuid.UUID) -> dict[str, Any] | None:
        if db.is_postgresql:
            async with db.driver_connection() as driver:
                started = time.perf_counter()
                record = await driver.fetchrow(self._postgresql_sql, key)
                add_database_time(time.perf_counter() - started)
            return dict(record.items()) if record is not None else None
        async with db.read_connection() as connection:
            row = (await connection.execute(self._select, {"id": key})).mappings().first()
        return dict(row) if row is not None else None


class Database:
    """The engine and session factory of one process."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Writers on SQLite take the database lock at BEGIN (IMMEDIATE), so that two queue on
        # the busy timeout instead of one failing when it upgrades a read lock. Reads need no
        # transaction: BEGIN and COMMIT would be two more round trips. Both are set on the
        # engine, so nothing connects before the first query.
        writes = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        options: dict[str, Any] = {"expire_on_commit": False, "autoflush": False}
        self.write_sessionmaker = async_sessionmaker(writes, **options)
        self.read_sessionmaker = async_sessionmaker(reads, **options)
        self._reads = reads
        self._sqlite_reader: sqlite3.Connection | None = None

    def read_connection(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A pooled connection for one read outside any unit of work (no transaction)."""
        return self._reads.connect()

    @asynccontextmanager
    async def driver_connection(self) -> AsyncIterator[Any]:
        """A pooled connection's own driver (asyncpg) connection, outside any transaction.

        Checked out of the pool directly: an :class:`AsyncConnection` would cost three
        greenlet switches, a task and its isolation-level bookkeeping per checkout, more
        than the primary-key lookup it serves. An error the server reports for a statement
        leaves the connection usable; after any other (the connection lost or killed, the
        protocol out of step, the read cancelled half way) it is discarded, not pooled.
        """
        pooled = await self.engine.raw_connection()
        driver = pooled.driver_connection
        try:
            yield driver
        except BaseException as error:
            if driver is None or driver.is_closed() or not isinstance(error, PostgresError):
                pooled.invalidate(error if isinstance(error, Exception) else None)
            raise
        finally:
            # Returning it may have to roll back, which awaits: in a greenlet, as SQLAlchemy's.
            await greenlet_spawn(pooled.close)

    async def fetch_rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of one small parameterless query, outside any unit of work, by the
        cheapest path each backend has: per-request bookkeeping (the response cache's
        generations) must cost less than the work it saves.

        PostgreSQL: a pooled asyncpg connection (:meth:`driver_connection`). SQLite: a plain
        ``sqlite3`` connection of this process, read-only, queried in the event loop's own
        thread: a few rows from the page cache take microseconds, where handing the query to
        aiosqlite's thread and back through SQLAlchemy took over a millisecond of CPU. A WAL
        reader takes no lock a writer holds, and a short busy timeout bounds the rare wait (a
        checkpoint); an in-memory database has no second connection, so it takes the pool's.
        """
        started = time.perf_counter()
        try:
            if self.is_postgresql:
                async with self.driver_connection() as driver:
                    return [tuple(record) for record in await driver.fetch(sql)]
            path = self.engine.url.database
            if not path or path == ":memory:" or path.startswith("file:"):
                async with self.read_connection() as connection:
                    return [tuple(row) for row in await connection.exec_driver_sql(sql)]
            if self._sqlite_reader is None:
                self._sqlite_reader = sqlite3.connect(
                    f"{Path(path).resolve().as_uri()}?mode=ro",
                    uri=True,
                    timeout=0.05,
                    check_same_thread=False,
                    isolation_level=None,
                )
            return self._sqlite_reader.execute(sql).fetchall()
        finally:
            add_database_time(time.perf_counter() - started)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @asynccontextmanager
    async def unit_of_work(self, *, write: bool) -> AsyncIterator[AsyncSession]:
        """One transaction: committed when the block ends, rolled back when it raises; then
        what :func:`after_commit` asked for, each in a short transaction of its own.

        An :class:`AppError` with ``keep_writes`` is committed before it propagates: it is
        the record of a failure (a counted failed login, a revoked token family).
        """
        sessionmaker = self.write_sessionmaker if write else self.read_sessionmaker
        async with sessionmaker() as session:
            try:
                try:
                    yield session
                except AppError as error:
                    if error.keep_writes:
                        await session.commit()
                    raise
                else:
                    if session.in_transaction():  # a session never used has nothing to commit
                        await session.commit()
            except BaseException:
                # Also after a failed COMMIT: SQLite keeps that transaction open otherwise.
                await session.rollback()
                session.info.pop(_AFTER_COMMIT, None)
                raise
            await run_after_commit(session)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        if self._sqlite_reader is not None:
            self._sqlite_reader.close()
            self._sqlite_reader = None
        await self.engine.dispose()


_AFTER_COMMIT = "innoshare.after_commit"
AfterCommit = Callable[[AsyncSession], Awaitable[None]]


def after_commit(session: AsyncSession, action: AfterCommit) -> None:
    """Run ``action(session)`` once the session's transaction has committed, in a transaction
    of its own (once per session, however often it is asked for).

    For work that must follow a commit but must not hold locks for the length of the
    transaction that asked for it: raising a cache generation, say. Whoever commits the
    session runs it (:meth:`Database.unit_of_work`, or :func:`run_after_commit`).
    """
    actions: list[AfterCommit] = session.info.setdefault(_AFTER_COMMIT, [])
    if action not in actions:
        actions.append(action)


async def run_after_commit(session: AsyncSession) -> None:
    """The actions :func:`after_commit` queued, each committed. One that fails is logged and
    rolled back, not raised: the transaction before it has committed, and the caller must
    learn that it did (an action is housekeeping whose loss the system tolerates)."""
    for action in session.info.pop(_AFTER_COMMIT, ()):
        try:
            await action(session)
            await session.commit()
        except Exception:
            logger.exception("after-commit action %s failed", getattr(action, "__name__", action))
            await session.rollback()
