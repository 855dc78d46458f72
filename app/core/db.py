"""Engine, session factories, the per-request unit of work and what runs after its commit.

The fast read path outside any unit of work is ``app/core/reads.py`` (``Database.reads``)."""

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.core.calendar import register_sqlite_calendar
from app.core.errors import AppError, database_outages
from app.core.metrics import add_database_time
from app.core.reads import Reads

SQLITE_BUSY_TIMEOUT_MS = 10_000
CONNECT_TIMEOUT_S = 10

logger = logging.getLogger(__name__)


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
    # A server that does not answer a connection attempt (a host gone from the network) fails
    # it after CONNECT_TIMEOUT_S, not asyncpg's 60 s: the request answers 503 (errors.py).
    server_settings = {"plan_cache_mode": "force_custom_plan", "jit": "off"}
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=30,
        pool_recycle=1800,
        connect_args={"server_settings": server_settings, "timeout": CONNECT_TIMEOUT_S},
    )
    _time_statements(engine)
    return engine


class Database:
    """One process's database: its engine, the unit of work, and the fast read path."""

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
        #: The fast read path: reads outside any unit of work (app/core/reads.py).
        self.reads = Reads(engine)

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
                        database_outages.recovered()  # a no-op unless an outage was on
            except BaseException:
                # Also after a failed COMMIT: SQLite keeps that transaction open otherwise.
                await session.rollback()
                session.info.pop(_AFTER_COMMIT, None)
                raise
            await run_after_commit(session)

    async def dispose(self) -> None:
        self.reads.close()
        await self.engine.dispose()


LockedSelect = TypeVar("LockedSelect", bound=Select[Any])


def locking(session: AsyncSession, stmt: LockedSelect, **for_update: Any) -> LockedSelect:
    """``stmt`` reading its rows afresh and locking them until the transaction ends: FOR
    UPDATE on PostgreSQL (``for_update``: its options, e.g. ``of=``); SQLite takes none, as
    its writing transactions begin IMMEDIATE and so run one at a time."""
    stmt = stmt.execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(**for_update)
    return stmt


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
