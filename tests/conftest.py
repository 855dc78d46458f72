"""Test fixtures: the database migrated once per session, and emptied after each test.

SQLite (a real file) by default; PostgreSQL when ``TEST_DATABASE_URL`` is set. The app runs
as in production, its reads included (``app/core/reads.py``: pooled connections of their
own, and on SQLite a private ``sqlite3`` reader), so a test's writes are real commits: the
builders commit, and the ``client`` commits the test's ``session`` and ``connection`` before
each request. Isolation comes after the test instead of from a rolled-back transaction: on
SQLite each test has its own copy of the migrated template file; on PostgreSQL every table is
emptied and the migrations' rows put back (:class:`PostgresReset`). Tests that need a
database the others never touch (several processes, migrations) take ``fresh_database_url``.
"""

import os
import shutil
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

import anyio.to_thread
import asyncpg
import pytest
from alembic import command as alembic_command
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Request
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.core import webhooks
from app.core.config import Settings, normalize_database_url
from app.core.db import Database, create_engine, run_after_commit
from app.core.migrations import alembic_config
from app.main import create_app
from tests.receivers import Receiver

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
BACKEND = "postgresql" if TEST_DATABASE_URL else "sqlite"
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def pytest_report_header() -> str:
    return f"database backend: {BACKEND}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip = pytest.mark.skip(reason="PostgreSQL-only behaviour; set TEST_DATABASE_URL")
    for item in items:
        if BACKEND != "postgresql" and item.get_closest_marker("postgres_only"):
            item.add_marker(skip)


def migrate(database_url: str, revision: str = "head") -> None:
    config = alembic_config(database_url)
    config.attributes["configure_logging"] = False
    alembic_command.upgrade(config, revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    config = alembic_config(database_url)
    config.attributes["configure_logging"] = False
    alembic_command.downgrade(config, revision)


def _plain_dsn(url: str | URL) -> str:
    """``url`` as asyncpg takes it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_dsn(url: str) -> tuple[str, str]:
    """A plain DSN to the server's maintenance database, and the test database's name."""
    parsed = make_url(url)
    return _plain_dsn(parsed.set(database="postgres")), parsed.database or "test"


@pytest.fixture(scope="session")
async def template_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The migrated database every test starts from (migrated once per session)."""
    if TEST_DATABASE_URL:
        url = normalize_database_url(TEST_DATABASE_URL)
    else:
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'template.db'}"
    # Start from nothing: a previous run may have left tables behind on PostgreSQL.
    await anyio.to_thread.run_sync(downgrade, url)
    await anyio.to_thread.run_sync(migrate, url)
    if not TEST_DATABASE_URL:
        # Everything into the main file, which each test copies.
        with closing(sqlite3.connect(make_url(url).database or "")) as template:
            template.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return url


class PostgresReset:
    """Empties the test database after a test and puts back what the migrations wrote.

    A DELETE of every table, as a replica session (``session_replication_role``) so that no
    trigger fires: neither the ledger's append-only triggers, which refuse it to everyone
    else, nor the foreign keys' checks (the order does not matter). ``TRUNCATE`` measured
    350–600 ms a test here (new files for every table and index, synced); deleting a test's
    few rows about 10 ms. Then the migrations' own rows (ledger chains and platform
    accounts, the totals' state, the catalogs' generations) as they were just after
    migrating, and any trigger a test switched off (tests/deals/test_tamper.py) on again.
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._delete = ""
        self._rows: dict[str, tuple[list[str], list[asyncpg.Record]]] = {}

    async def start(self) -> None:
        self._connection = connection = await asyncpg.connect(self._dsn)
        # A test that leaves a transaction open fails its teardown instead of hanging it.
        await connection.execute("SET lock_timeout = '10s'")
        tables = [
            row["tablename"]
            for row in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version' ORDER BY tablename"
            )
        ]
        self._delete = "; ".join(f"DELETE FROM {table}" for table in tables)
        for table in tables:
            records = await connection.fetch(f"SELECT * FROM {table}")
            if records:
                self._rows[table] = (list(records[0].keys()), records)

    async def reset(self) -> None:
        connection = self._connection
        assert connection is not None
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.execute(self._delete)
            for table, (columns, records) in self._rows.items():
                await connection.copy_records_to_table(table, records=records, columns=columns)
            switched_off = await connection.fetch(
                "SELECT tgrelid::regclass::text AS tablename, tgname FROM pg_trigger"
                " WHERE tgenabled = 'D' AND NOT tgisinternal"
            )
            for trigger in switched_off:
                await connection.execute(
                    f'ALTER TABLE {trigger["tablename"]} ENABLE TRIGGER "{trigger["tgname"]}"'
                )

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


@pytest.fixture(scope="session")
async def postgres(template_url: str) -> AsyncIterator[tuple[AsyncEngine, PostgresReset] | None]:
    """PostgreSQL's engine for all tests (the pool outlives them) and its reset; None on
    SQLite, where each test gets a copy of the template file."""
    if not TEST_DATABASE_URL:
        yield None
        return
    reset = PostgresReset(_plain_dsn(template_url))
    await reset.start()
    engine = create_engine(template_url)
    try:
        yield engine, reset
    finally:
        await engine.dispose()
        await reset.close()


@pytest.fixture
def database_url(template_url: str, tmp_path: Path) -> str:
    """This test's database: on SQLite a copy of the migrated template, on PostgreSQL the
    test database, emptied after the test."""
    if TEST_DATABASE_URL:
        return template_url
    copy = tmp_path / "test.db"
    shutil.copyfile(make_url(template_url).database or "", copy)
    return f"sqlite+aiosqlite:///{copy}"


@pytest.fixture
async def engine(
    database_url: str, postgres: tuple[AsyncEngine, PostgresReset] | None
) -> AsyncIterator[AsyncEngine]:
    """The engine of this test's database. What the test committed is gone afterwards."""
    if postgres is None:
        engine = create_engine(database_url)
        try:
            yield engine
        finally:
            await engine.dispose()
        return
    shared, reset = postgres
    try:
        yield shared
    finally:
        await reset.reset()


@pytest.fixture
def own_writes() -> list[Callable[[], Awaitable[None]]]:
    """What commits the test's own writes (``session``, ``connection``); the ``client``
    runs it before each request, so the app sees them as a previous request's."""
    return []


@pytest.fixture
async def connection(
    engine: AsyncEngine, own_writes: list[Callable[[], Awaitable[None]]]
) -> AsyncIterator[AsyncConnection]:
    """The test's own connection, for SQL behind the app's back; committed before each
    request the ``client`` sends, rolled back at the end."""
    async with engine.connect() as connection:

        async def commit() -> None:
            if connection.in_transaction():
                await connection.commit()

        own_writes.append(commit)
        yield connection


@pytest.fixture
def db(engine: AsyncEngine) -> Iterator[Database]:
    """The app's database, as production builds it: its reads and its units of work see what
    the test committed."""
    database = Database(engine)
    yield database
    database.reads.close()


@pytest.fixture
async def session(
    connection: AsyncConnection, own_writes: list[Callable[[], Awaitable[None]]]
) -> AsyncIterator[AsyncSession]:
    """A session for service tests and builders, on the test's connection: its commits are
    real (builders commit what they build), and it is committed before each request."""
    async with async_sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False
    )() as session:

        async def commit() -> None:
            if session.in_transaction():
                await session.commit()
            await run_after_commit(session)  # the catalogs' generations, as a request raises them

        own_writes.insert(0, commit)  # before the connection's own
        yield session


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET,
        "log_level": "WARNING",
        "cors_origins": ["https://web.innoshare.test"],
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings, db: Database) -> FastAPI:
    return create_app(settings, database=db)


@pytest.fixture
async def client(
    app: FastAPI, own_writes: list[Callable[[], Awaitable[None]]]
) -> AsyncIterator[AsyncClient]:
    async def commit_own_writes(_: Request) -> None:
        for commit in own_writes:
            await commit()

    transport = ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with AsyncClient(
        transport=transport,
        base_url="http://testserver",
        event_hooks={"request": [commit_own_writes]},
    ) as client:
        yield client


@asynccontextmanager
async def fresh_database(directory: Path, label: str = "fresh") -> AsyncIterator[str]:
    """A new, empty database (not migrated) for the block; dropped when it ends."""
    if not TEST_DATABASE_URL:
        yield f"sqlite+aiosqlite:///{directory / f'{label}.db'}"
        return
    admin_dsn, base_name = _admin_dsn(normalize_database_url(TEST_DATABASE_URL))
    name = f"{base_name}_{label}_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await run(f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(normalize_database_url(TEST_DATABASE_URL))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        await run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def fresh_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A new, empty database of this test's own (not migrated); dropped afterwards."""
    async with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
async def migrated_fresh_database_url(fresh_database_url: str) -> str:
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    return fresh_database_url


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 (tests/receivers.py), stopped after the test."""
    server = Receiver(webhooks.new_secret()).start()
    try:
        yield server
    finally:
        server.stop()
