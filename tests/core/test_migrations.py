"""Alembic is the only way the schema changes: it runs up and down, and matches the models."""

import anyio.to_thread
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.core.db import create_engine
from app.core.migrations import head_revisions
from app.models import Base
from tests.conftest import downgrade, migrate


async def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names) - {"alembic_version"}


async def _all_tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(fresh_database_url: str) -> None:
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    assert await _tables(fresh_database_url) == set(Base.metadata.tables)
    await anyio.to_thread.run_sync(downgrade, fresh_database_url)
    assert await _all_tables(fresh_database_url) <= {"alembic_version"}
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    assert await _tables(fresh_database_url) == set(Base.metadata.tables)


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True},
    )
    return list(compare_metadata(context, Base.metadata))


async def test_models_and_migrations_agree(migrated_fresh_database_url: str) -> None:
    engine = create_engine(migrated_fresh_database_url)
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(_differences)
            version = set(
                (
                    await connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                ).scalars()
            )
    finally:
        await engine.dispose()
    assert differences == []
    assert version == set(head_revisions())


def test_one_head() -> None:
    assert len(head_revisions()) == 1
