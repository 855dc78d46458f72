"""journal entries: covering partial index of settlements for the auditors' totals

On PostgreSQL ``(occurred_at) INCLUDE (deal_id, buyer_id, seller_id, category, volume_fen,
fee_fen, tax_fen)`` over the settlements and reversals of settlements, so
``GET /v1/ledger/totals`` reads an index-only scan instead of the whole table; on SQLite the
partial index on ``occurred_at`` alone (SQLite has no INCLUDE).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 01:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: As app.models.ledger.SETTLEMENTS_PREDICATE at this revision (a migration does not import
#: the models, which move on).
SETTLEMENTS_PREDICATE = "kind = 'settlement' OR (kind = 'reversal' AND volume_fen <> 0)"
INCLUDED = ["deal_id", "buyer_id", "seller_id", "category", "volume_fen", "fee_fen", "tax_fen"]


def upgrade() -> None:
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journal_entries_settlements",
            ["occurred_at"],
            unique=False,
            postgresql_include=INCLUDED,
            postgresql_where=sa.text(SETTLEMENTS_PREDICATE),
            sqlite_where=sa.text(SETTLEMENTS_PREDICATE),
        )


def downgrade() -> None:
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_journal_entries_settlements")
