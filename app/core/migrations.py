"""Alembic configuration for the CLI, the readiness probe and the tests."""

from functools import lru_cache
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"

#: Alembic's version table, not one of our models: test_readyz_when_migrated (tests/core/
#: test_ops.py) reads it through this statement on a migrated database.
CURRENT_REVISIONS = text("SELECT version_num FROM alembic_version")


def alembic_config(database_url: str | None = None) -> Config:
    """The project's Alembic config, pointed at ``database_url`` when given."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    if database_url is not None:
        config.attributes["database_url"] = database_url
    return config


@lru_cache
def head_revisions() -> frozenset[str]:
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())
