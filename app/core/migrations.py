"""Alembic configuration for the CLI, the readiness probe and the tests.

The migration scripts ship inside the package (``app/migrations/``), so an installed wheel
migrates from wherever it runs; ``alembic.ini`` at the repository's root is for developers'
``alembic`` command and is not read here.
"""

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

#: The Alembic environment and its versions, found through the installed package, not the cwd.
SCRIPT_LOCATION = Path(__file__).resolve().parents[1] / "migrations"

#: Alembic's version table, not one of our models: test_readyz_when_migrated (tests/core/
#: test_ops.py) reads it through this statement on a migrated database.
CURRENT_REVISIONS = text("SELECT version_num FROM alembic_version")

#: The PostgreSQL advisory lock every migration holds ("innoshare migrate" as eight bytes).
MIGRATION_LOCK_KEY = int.from_bytes(b"innomigr", "big") & 0x7FFF_FFFF_FFFF_FFFF

logger = logging.getLogger(__name__)


def alembic_config(database_url: str | None = None) -> Config:
    """The project's Alembic config, pointed at ``database_url`` when given."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("path_separator", "os")
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


@lru_cache
def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the database's migration lock for the block, so that replicas migrating at once
    run one after another: the first upgrades, the others then find the schema at head.

    PostgreSQL: a session advisory lock on the migration's own connection (it outlives the
    upgrade's transactions and is released with the connection if the process dies). SQLite:
    an exclusive ``flock`` on ``<database>.migrate-lock`` beside the file; a wait on it has no
    time limit, where ``BEGIN EXCLUSIVE`` would give up after the busy timeout.
    """
    dialect = connection.dialect.name
    if dialect == "postgresql":
        with _postgres_lock(connection):
            yield
        return
    database = connection.engine.url.database
    if dialect != "sqlite" or database in (None, "", ":memory:"):
        yield
        return
    with _file_lock(Path(f"{database}.migrate-lock")):
        yield


@contextmanager
def _postgres_lock(connection: Connection) -> Iterator[None]:
    key = {"key": MIGRATION_LOCK_KEY}
    got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar_one()
    if not got:
        logger.info("waiting for another process's migration to finish")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
    connection.commit()  # the lock is the session's; the upgrade opens its own transactions
    try:
        yield
    finally:
        if connection.in_transaction():
            connection.rollback()  # a failed upgrade's transaction, already undone by Alembic
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)
        connection.commit()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("waiting for another process's migration to finish")
            fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
