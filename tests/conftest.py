"""Test fixtures: one migrated database per session, one rolled-back transaction per test.

SQLite (a real file) by default; PostgreSQL when ``TEST_DATABASE_URL`` is set. Each test runs
inside an outer transaction that is rolled back at its end; the app's sessions join it with
``join_transaction_mode="create_savepoint"``, so their commits only release savepoints
(SQLAlchemy's "Joining a Session into an External Transaction"). Tests that need real commits
or several processes take ``fresh_database_url`` instead: a database of their own.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
import asyncpg
import pytest
from alembic import command as alembic_command
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings, normalize_database_url
from app.core.db import Database, create_engine
from app.core.migrations import alembic_config
from app.main import create_app

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


def _admin_dsn(url: str) -> tuple[str, str]:
    """A plain DSN to the server's maintenance database, and the test database's name."""
    parsed = make_url(url)
    database = parsed.database or "test"
    admin = parsed.set(drivername="postgresql", database="postgres")
    return admin.render_as_string(hide_password=False), database


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    if TEST_DATABASE_URL:
        return normalize_database_url(TEST_DATABASE_URL)
    return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    # Start from nothing: a previous run may have left tables behind on PostgreSQL.
    await anyio.to_thread.run_sync(downgrade, database_url)
    await anyio.to_thread.run_sync(migrate, database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            if transaction.is_active:
                await transaction.rollback()


@pytest.fixture
def db(engine: AsyncEngine, connection: AsyncConnection) -> Database:
    """The app's database, with sessions joined to the test's outer transaction."""
    database = Database(engine)
    # Reads and writes alike join the test's transaction (so reads are not autocommit here).
    database.read_sessionmaker = database.write_sessionmaker = async_sessionmaker(
        bind=connection,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
        autoflush=False,
    )

    @asynccontextmanager
    async def read_connection() -> AsyncIterator[AsyncConnection]:
        yield connection

    @asynccontextmanager
    async def driver_connection() -> AsyncIterator[object]:
        raw = await connection.get_raw_connection()
        yield raw.driver_connection

    async def fetch_rows(sql: str) -> list[tuple[object, ...]]:
        return [tuple(row) for row in await connection.exec_driver_sql(sql)]

    database.read_connection = read_connection  # type: ignore[method-assign]
    database.fetch_rows = fetch_rows  # type: ignore[method-assign]
    database.driver_connection = driver_connection  # type: ignore[method-assign]
    return database


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session for service tests and builders, inside the test's transaction."""
    async with db.write_sessionmaker() as session:
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
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def fresh_database_url(tmp_path: Path) -> Iterator[str]:
    """A new, empty database of this test's own (not migrated); dropped afterwards."""
    if not TEST_DATABASE_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
        return
    admin_dsn, base_name = _admin_dsn(normalize_database_url(TEST_DATABASE_URL))
    name = f"{base_name}_fresh_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    anyio.run(run, f'CREATE DATABASE "{name}"')
    try:
        yield (
            make_url(normalize_database_url(TEST_DATABASE_URL))
            .set(database=name)
            .render_as_string(hide_password=False)
        )
    finally:
        anyio.run(run, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def migrated_fresh_database_url(fresh_database_url: str) -> str:
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    return fresh_database_url
