"""technology contracts: the fifth category (license, 技术许可) on deals and journal entries, and
the deals' registration records (技术合同认定登记)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 18:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOUR = ("development", "transfer", "consulting", "service")
FIVE = ("development", "transfer", "license", "consulting", "service")
#: The tables whose ``category`` is a contract category (a CHECK-constrained VARCHAR(16)).
CATEGORY_TABLES = ("deals", "journal_entries")

SUB_KINDS = (
    "entrusted_development",
    "cooperative_development",
    "patent_transfer",
    "patent_application_transfer",
    "technical_secret_transfer",
    "patent_license",
    "technical_secret_license",
    "feasibility_study",
    "technology_forecast",
    "technical_survey",
    "analysis_report",
    "technical_training",
    "technical_intermediary",
)


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


def _categories(allowed: Sequence[str]) -> None:
    """``category IN (allowed)`` on deals and journal entries. PostgreSQL swaps the CHECK in
    place (row triggers do not fire on ALTER TABLE); SQLite copies each table (batch mode, with
    foreign keys off: migrations/env.py), keeping its indexes; the journal's triggers are made
    again on the copy."""
    values = ", ".join(f"'{value}'" for value in allowed)
    sqlite = _sqlite()
    if sqlite:
        _journal_triggers(create=False)
    for table in CATEGORY_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_contract_category"), type_="check")
            batch_op.create_check_constraint("contract_category", f"category IN ({values})")
    if sqlite:
        _journal_triggers(create=True)


def upgrade() -> None:
    _categories(FIVE)
    op.create_table(
        "deal_registrations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("contract_number", sa.String(length=50), nullable=False),
        sa.Column(
            "sub_kind",
            sa.Enum(
                *SUB_KINDS,
                name="contract_sub_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("non_technical_fen", sa.BigInteger(), nullable=False),
        sa.Column("registration_number", sa.String(length=50), nullable=True),
        sa.Column("registered_on", sa.Date(), nullable=True),
        sa.Column("filed_by", sa.String(length=80), nullable=False),
        sa.Column("registered_by", sa.String(length=80), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "non_technical_fen >= 0", name=op.f("ck_deal_registrations_non_technical_not_negative")
        ),
        sa.CheckConstraint(
            "(registration_number IS NULL) = (registered_on IS NULL)",
            name=op.f("ck_deal_registrations_granted_whole"),
        ),
        sa.CheckConstraint(
            "registered_on IS NULL OR registered_on >= signed_on",
            name=op.f("ck_deal_registrations_registered_after_signing"),
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_deal_registrations_deal_id_deals"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_registrations")),
        sa.UniqueConstraint("deal_id", name=op.f("uq_deal_registrations_deal_id")),
        sa.UniqueConstraint(
            "registration_number", name=op.f("uq_deal_registrations_registration_number")
        ),
    )
    with op.batch_alter_table("deal_registrations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deal_registrations_registered_on", ["registered_on", "id"], unique=False
        )


def downgrade() -> None:
    # A license deal (and its entries, which are never deleted) cannot go back to four kinds:
    # refuse, rather than fail halfway through the copy or drop the ledger's facts.
    used = op.get_bind().exec_driver_sql(
        "SELECT (SELECT count(*) FROM deals WHERE category = 'license')"
        " + (SELECT count(*) FROM journal_entries WHERE category = 'license')"
    )
    if used.scalar_one():
        raise RuntimeError(
            "license deals exist: the database cannot go below revision 0013 without losing them"
        )
    with op.batch_alter_table("deal_registrations", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_registrations_registered_on")
    op.drop_table("deal_registrations")
    _categories(FOUR)
