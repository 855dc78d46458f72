"""the search index moves out of the database: drop the tsvector columns and their GIN
indexes (PostgreSQL) and the FTS5 tables and their triggers (SQLite); index updated_at, which
each process's search index reads to keep in step (app/core/search_index.py)

search_title and search_body stay: they are the tokens the search index is fed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 07:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("talents", "technologies", "policies", "ip_assets", "financial_products", "demands")


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    for table in TABLES:
        if _postgresql():
            # Their GIN indexes go with the columns.
            op.execute(f"ALTER TABLE {table} DROP COLUMN search_vector, DROP COLUMN title_vector")
        else:
            for trigger in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{trigger}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        op.create_index(f"ix_{table}_updated_at", table, ["updated_at"])


def downgrade() -> None:
    """The database's own full-text indexes again, as migrations 0002 and 0008 made them,
    filled from the rows."""
    for table in TABLES:
        op.drop_index(f"ix_{table}_updated_at", table_name=table)
        if _postgresql():
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN title_vector tsvector GENERATED ALWAYS AS ("
                " to_tsvector('simple', search_title)) STORED"
            )
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
                " to_tsvector('simple', search_title || ' ' || search_body)) STORED"
            )
            op.execute(f"CREATE INDEX ix_{table}_title_vector ON {table} USING gin (title_vector)")
            op.execute(
                f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)"
            )
            continue
        fts = f"{table}_fts"
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(search_title, search_body,"
            f" content='{table}', content_rowid='rowid')"
        )
        insert = (
            f"INSERT INTO {fts}(rowid, search_title, search_body)"
            " VALUES (new.rowid, new.search_title, new.search_body);"
        )
        delete = (
            f"INSERT INTO {fts}({fts}, rowid, search_title, search_body)"
            " VALUES ('delete', old.rowid, old.search_title, old.search_body);"
        )
        op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END")
        op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END")
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF search_title, search_body ON {table}"
            f" BEGIN {delete} {insert} END"
        )
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
