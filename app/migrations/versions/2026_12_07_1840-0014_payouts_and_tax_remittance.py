"""payouts and tax remittance: the ``payouts`` and ``tax_remittances`` tables, and the journal's
two new entry kinds (``payout``, ``tax_remittance``)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 18:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOUR = ("funding", "settlement", "refund", "reversal")
SIX = (*FOUR, "payout", "tax_remittance")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _journal_triggers(create: bool) -> None:
    """SQLite's append-only triggers on journal_entries (migration 0003), which the batch copy
    of the table would drop with the original: dropped first, made again on the copy."""
    for operation in ("UPDATE", "DELETE"):
        name = f"journal_entries_no_{operation.lower()}"
        if not create:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            continue
        op.execute(
            f"CREATE TRIGGER {name} BEFORE {operation} ON journal_entries "
            f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: {operation} on "
            "journal_entries refused'); END"
        )


def _entry_kinds(allowed: Sequence[str]) -> None:
    """``kind IN (allowed)`` on journal entries, as migration 0013 widened ``category``:
    PostgreSQL swaps the CHECK in place; SQLite copies the table (batch mode, foreign keys off:
    migrations/env.py) and the journal's triggers are made again on the copy."""
    values = ", ".join(f"'{value}'" for value in allowed)
    sqlite = _sqlite()
    if sqlite:
        _journal_triggers(create=False)
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_journal_entries_entry_kind"), type_="check")
        batch_op.create_check_constraint("entry_kind", f"kind IN ({values})")
    if sqlite:
        _journal_triggers(create=True)


def upgrade() -> None:
    _entry_kinds(SIX)
    op.create_table(
        "payouts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("bank_reference", sa.String(length=100), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "paid",
                "returned",
                name="payout_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("returned_at", app.models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("return_reason", sa.String(length=500), nullable=True),
        sa.Column("return_entry_id", sa.Uuid(), nullable=True),
        sa.Column("returned_by", sa.String(length=80), nullable=True),
        sa.CheckConstraint(
            "(status = 'returned') = (returned_at IS NOT NULL AND return_entry_id IS NOT NULL)",
            name=op.f("ck_payouts_returned_whole"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payouts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_payouts_entry_id_journal_entries"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payouts_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["return_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_payouts_return_entry_id_journal_entries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_payouts_entry_id")),
        sa.UniqueConstraint("return_entry_id", name=op.f("uq_payouts_return_entry_id")),
    )
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.create_index("ix_payouts_created_at", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_payouts_organization_id", ["organization_id", "created_at", "id"], unique=False
        )

    op.create_table(
        "tax_remittances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("receipt_number", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_tax_remittances_amount_positive")),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_tax_remittances_entry_id_journal_entries"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_remittances")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_tax_remittances_entry_id")),
        sa.UniqueConstraint("receipt_number", name=op.f("uq_tax_remittances_receipt_number")),
    )
    with op.batch_alter_table("tax_remittances", schema=None) as batch_op:
        batch_op.create_index("ix_tax_remittances_created_at", ["created_at", "id"], unique=False)


def downgrade() -> None:
    # Payout and remittance entries are never deleted, so the ledger cannot go back to four
    # kinds: refuse, rather than fail halfway through the copy or drop the ledger's facts.
    used = op.get_bind().exec_driver_sql(
        "SELECT count(*) FROM journal_entries WHERE kind IN ('payout', 'tax_remittance')"
    )
    if used.scalar_one():
        raise RuntimeError(
            "payout or tax remittance entries exist: the database cannot go below revision 0014"
            " without losing them"
        )
    with op.batch_alter_table("tax_remittances", schema=None) as batch_op:
        batch_op.drop_index("ix_tax_remittances_created_at")

    op.drop_table("tax_remittances")
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index("ix_payouts_organization_id")
        batch_op.drop_index("ix_payouts_created_at")

    op.drop_table("payouts")
    _entry_kinds(FOUR)
