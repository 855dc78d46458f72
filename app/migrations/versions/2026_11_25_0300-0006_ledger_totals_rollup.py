"""ledger totals kept as entries are written, backfilled from the journal

``ledger_totals`` (per calendar bucket, grouping and chain shard: volume, fee, tax and the
changes to the deal and buyer counts), ``ledger_totals_deals`` (a deal's net volume per
bucket), ``ledger_totals_buyers`` (a buyer's settled deals per bucket and group) and
``ledger_totals_state`` (the time zone of the buckets). Derived data, not the ledger: these
rows are updated and may be rebuilt (``innoshare rebuild-totals``); the journal stays
append-only. The upgrade fills them from the entries already written, in the configured time
zone (``INNOSHARE_TIMEZONE``), on shard 0.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 03:00:00.000000+00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

import app.models.base
from app.core.config import get_settings

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: As at this revision (a migration does not import the models, which move on).
SETTLEMENTS_PREDICATE = "kind = 'settlement' OR (kind = 'reversal' AND volume_fen <> 0)"
PERIODS = ("month", "quarter", "year", "all")
DIMENSIONS = ("none", "category", "seller", "buyer")
PG_PATTERNS = {"month": "YYYY-MM", "quarter": 'YYYY-"Q"Q', "year": "YYYY"}

entries = sa.table(
    "journal_entries",
    sa.column("occurred_at", app.models.base.UTCDateTime()),
    sa.column("kind", sa.String()),
    sa.column("category", sa.String()),
    sa.column("deal_id", sa.Uuid()),
    sa.column("buyer_id", sa.Uuid()),
    sa.column("seller_id", sa.Uuid()),
    sa.column("volume_fen", sa.BigInteger()),
    sa.column("fee_fen", sa.BigInteger()),
    sa.column("tax_fen", sa.BigInteger()),
)


def upgrade() -> None:
    op.create_table(
        "ledger_totals",
        sa.Column(
            "period_kind",
            sa.Enum(
                "month",
                "quarter",
                "year",
                "all",
                name="totals_period",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column(
            "dimension",
            sa.Enum(
                "none",
                "category",
                "seller",
                "buyer",
                name="totals_dimension",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("group_key", sa.String(length=32), nullable=False),
        sa.Column("shard", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("volume_fen", sa.BigInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("tax_fen", sa.BigInteger(), nullable=False),
        sa.Column("deals_settled", sa.Integer(), nullable=False),
        sa.Column("enterprises_served", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_kind",
            "dimension",
            "period",
            "group_key",
            "shard",
            name=op.f("pk_ledger_totals"),
        ),
    )
    op.create_table(
        "ledger_totals_buyers",
        sa.Column(
            "period_kind",
            sa.Enum(
                "month",
                "quarter",
                "year",
                "all",
                name="totals_period",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column(
            "dimension",
            sa.Enum(
                "none",
                "category",
                "seller",
                "buyer",
                name="totals_dimension",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("group_key", sa.String(length=32), nullable=False),
        sa.Column("buyer_id", sa.Uuid(), nullable=False),
        sa.Column("deals", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_kind",
            "period",
            "dimension",
            "group_key",
            "buyer_id",
            name=op.f("pk_ledger_totals_buyers"),
        ),
    )
    op.create_table(
        "ledger_totals_deals",
        sa.Column(
            "period_kind",
            sa.Enum(
                "month",
                "quarter",
                "year",
                "all",
                name="totals_period",
                native_enum=False,
                create_constraint=True,
                length=8,
            ),
            nullable=False,
        ),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("volume_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period_kind", "period", "deal_id", name=op.f("pk_ledger_totals_deals")
        ),
    )
    op.create_table(
        "ledger_totals_state",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("rebuilt_at", app.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_ledger_totals_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_totals_state")),
    )
    _backfill(get_settings().timezone)


def _period(dialect: str, kind: str, zone: str) -> Any:
    if kind == "all":
        return sa.literal("", sa.String)
    if dialect == "postgresql":
        local = sa.func.timezone(zone, entries.c.occurred_at)
        return sa.func.to_char(local, PG_PATTERNS[kind], type_=sa.String)
    # innoshare_period(): registered on every SQLite connection by app.core.db
    return sa.func.innoshare_period(entries.c.occurred_at, zone, kind, type_=sa.String)


def _group(dialect: str, dimension: str) -> Any:
    if dimension == "none":
        return sa.literal("", sa.String)
    if dimension == "category":
        return sa.func.coalesce(sa.cast(entries.c.category, sa.String), "")
    party = entries.c.seller_id if dimension == "seller" else entries.c.buyer_id
    if dialect == "postgresql":
        return sa.func.coalesce(sa.func.replace(sa.cast(party, sa.String), "-", ""), "")
    return sa.func.coalesce(sa.cast(party, sa.String), "")


def _backfill(zone: str) -> None:
    """As app.services.ledger.rebuild_totals at this revision."""
    bind = op.get_bind()
    dialect = bind.dialect.name
    totals = sa.table(
        "ledger_totals",
        *(
            sa.column(name)
            for name in (
                "period_kind",
                "dimension",
                "shard",
                "period",
                "group_key",
                "volume_fen",
                "fee_fen",
                "tax_fen",
                "deals_settled",
                "enterprises_served",
            )
        ),
    )
    deals = sa.table(
        "ledger_totals_deals",
        *(sa.column(n) for n in ("period_kind", "period", "deal_id", "volume_fen")),
    )
    buyers = sa.table(
        "ledger_totals_buyers",
        *(
            sa.column(n)
            for n in ("period_kind", "dimension", "period", "group_key", "buyer_id", "deals")
        ),
    )
    for kind in PERIODS:
        for dimension in DIMENSIONS:
            settled = (
                sa.select(
                    _period(dialect, kind, zone).label("period"),
                    _group(dialect, dimension).label("group_key"),
                    entries.c.deal_id,
                    entries.c.buyer_id,
                    entries.c.volume_fen,
                    entries.c.fee_fen,
                    entries.c.tax_fen,
                )
                .where(sa.text(SETTLEMENTS_PREDICATE))
                .subquery("entries")
            )
            per_deal = (
                sa.select(
                    settled.c.period,
                    settled.c.group_key,
                    settled.c.deal_id,
                    settled.c.buyer_id,
                    sa.func.sum(settled.c.volume_fen).label("volume"),
                    sa.func.sum(settled.c.fee_fen).label("fee"),
                    sa.func.sum(settled.c.tax_fen).label("tax"),
                )
                .group_by(
                    settled.c.period, settled.c.group_key, settled.c.deal_id, settled.c.buyer_id
                )
                .subquery("per_deal")
            )
            released = per_deal.c.volume > 0
            per_buyer = (
                sa.select(
                    per_deal.c.period,
                    per_deal.c.group_key,
                    per_deal.c.buyer_id,
                    sa.func.sum(per_deal.c.volume).label("volume"),
                    sa.func.sum(per_deal.c.fee).label("fee"),
                    sa.func.sum(per_deal.c.tax).label("tax"),
                    sa.func.count(sa.case((released, per_deal.c.deal_id))).label("deals"),
                )
                .group_by(per_deal.c.period, per_deal.c.group_key, per_deal.c.buyer_id)
                .subquery("per_buyer")
            )
            constants = [sa.literal(kind, sa.String), sa.literal(dimension, sa.String)]
            if dimension == "none":
                op.execute(
                    deals.insert().from_select(
                        ["period_kind", "period", "deal_id", "volume_fen"],
                        sa.select(
                            constants[0],
                            settled.c.period,
                            settled.c.deal_id,
                            sa.func.sum(settled.c.volume_fen),
                        )
                        .where(settled.c.deal_id.is_not(None))
                        .group_by(settled.c.period, settled.c.deal_id)
                        .having(sa.func.sum(settled.c.volume_fen) != 0),
                    )
                )
            op.execute(
                buyers.insert().from_select(
                    ["period_kind", "dimension", "period", "group_key", "buyer_id", "deals"],
                    sa.select(
                        *constants,
                        per_buyer.c.period,
                        per_buyer.c.group_key,
                        per_buyer.c.buyer_id,
                        per_buyer.c.deals,
                    ).where(per_buyer.c.deals > 0, per_buyer.c.buyer_id.is_not(None)),
                )
            )
            op.execute(
                totals.insert().from_select(
                    [
                        "period_kind",
                        "dimension",
                        "shard",
                        "period",
                        "group_key",
                        "volume_fen",
                        "fee_fen",
                        "tax_fen",
                        "deals_settled",
                        "enterprises_served",
                    ],
                    sa.select(
                        *constants,
                        sa.literal(0, sa.SmallInteger),
                        per_buyer.c.period,
                        per_buyer.c.group_key,
                        sa.func.sum(per_buyer.c.volume),
                        sa.func.sum(per_buyer.c.fee),
                        sa.func.sum(per_buyer.c.tax),
                        sa.func.sum(per_buyer.c.deals),
                        sa.func.count(sa.case((per_buyer.c.deals > 0, per_buyer.c.buyer_id))),
                    ).group_by(per_buyer.c.period, per_buyer.c.group_key),
                )
            )
    state = sa.table(
        "ledger_totals_state",
        sa.column("id", sa.SmallInteger()),
        sa.column("zone", sa.String()),
        sa.column("rebuilt_at", app.models.base.UTCDateTime()),
    )
    op.execute(state.insert().values(id=1, zone=zone, rebuilt_at=datetime.now(UTC)))


def downgrade() -> None:
    op.drop_table("ledger_totals_state")
    op.drop_table("ledger_totals_deals")
    op.drop_table("ledger_totals_buyers")
    op.drop_table("ledger_totals")
