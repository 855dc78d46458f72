"""Alembic environment: async, URL from settings (or the caller), types compared."""

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from app.core.config import get_settings, normalize_database_url
from app.core.db import create_engine
from app.core.migrations import migration_lock
from app.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    url = config.attributes.get("database_url") or get_settings().database_url
    return normalize_database_url(url)


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def _sqlite_foreign_keys(connection: Connection, *, on: bool) -> None:
    """Switch SQLite's foreign keys, on the driver's connection: the pragma does nothing
    inside a transaction, and SQLAlchemy would begin one for any statement of its own."""
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
    cursor.close()


def _run(connection: Connection) -> None:
    with migration_lock(connection):
        _run_locked(connection)


def _run_locked(connection: Connection) -> None:
    _configure(connection)
    # Batch mode rebuilds a SQLite table as a copy and drops the original; with rows in the
    # tables that refer to it (journal entries to deals) SQLite refuses the drop, and a
    # deferred check would still count the dropped rows. So SQLite migrates with its foreign
    # keys off, as its documentation prescribes for schema changes, and checks them all after.
    sqlite = connection.dialect.name == "sqlite" and not connection.in_transaction()
    if sqlite:
        _sqlite_foreign_keys(connection, on=False)
    try:
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            connection.commit()
            if broken:
                raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")
    finally:
        if sqlite:
            _sqlite_foreign_keys(connection, on=True)


async def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:  # a caller (the tests) lends its own connection
        _run(connection)
        return
    engine = create_engine(_database_url())
    try:
        async with engine.connect() as async_connection:
            await async_connection.run_sync(_run)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
