"""The settlement ledger: accounts, append-only journal entries and their postings.

A posting's amount is what the account receives (positive) or gives (negative), in integer
fen; the postings of an entry sum to zero. An account's balance is the sum of its postings,
kept in ``ledger_balances`` in one row per chain (shard), so that concurrent entries on
different chains never wait for each other on the platform's shared accounts.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.calendar import utcnow
from app.models.base import Base
from app.models.catalog import str_enum
from app.models.deals import ContractCategory

#: Journal entries are hash-chained in this many independent chains; an entry takes a chain
#: that no running transaction holds. Balances are sharded by chain too.
LEDGER_CHAINS = 16
GENESIS_HASH = "0" * 64


class AccountKind(StrEnum):
    bank = "bank"  # the outside world: buyers' payments come from it, refunds go back to it
    escrow = "escrow"
    fee_revenue = "fee_revenue"
    tax_payable = "tax_payable"
    organization = "organization"  # what the platform owes an organization (seller net)


class EntryKind(StrEnum):
    funding = "funding"
    settlement = "settlement"
    refund = "refund"
    reversal = "reversal"
    payout = "payout"  # an organization's payable → bank (app/services/payouts.py)
    tax_remittance = "tax_remittance"  # tax payable → bank, the tax paid to the authority


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'organization') = (organization_id IS NOT NULL)", name="organization_owner"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    """Stable ASCII name: ``bank``, ``escrow``, ``fee_revenue``, ``tax_payable``, ``org-<id>``."""
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, "account_kind", 16))
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), unique=True
    )
    may_go_negative: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerBalance(Base):
    """One shard of an account's balance; the balance is the sum over its shards."""

    __tablename__ = "ledger_balances"

    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    balance_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerChain(Base):
    """The head of one hash chain: its last sequence number and hash."""

    __tablename__ = "ledger_chains"

    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)


#: Settlement entries and reversals of settlements (a reversal carries the negated volume of
#: what it undoes; entries of any other kind carry none): what the auditors' totals read.
SETTLEMENTS_PREDICATE = "kind = 'settlement' OR (kind = 'reversal' AND volume_fen <> 0)"


class JournalEntry(Base):
    """Never updated or deleted (a trigger refuses both). The deal's facts at the time of the
    entry (category, buyer, seller, released volume, fee, tax) are part of what is hashed, so
    auditors' totals are read from the entries alone."""

    __tablename__ = "journal_entries"
    __table_args__ = (
        UniqueConstraint("chain", "seq"),
        Index("ix_journal_entries_occurred_at", "occurred_at", "id"),
        Index("ix_journal_entries_deal_id", "deal_id", "occurred_at"),
        Index("ix_journal_entries_kind_occurred_at", "kind", "occurred_at"),
        # The auditors' totals (app.services.ledger.totals): the settlements and reversals of
        # settlements by time, with every column the totals read, so PostgreSQL answers from
        # the index alone (an index-only scan). The predicate is the totals' filter word for
        # word, with constants (the planner only uses a partial index for a query whose
        # WHERE it can prove implies the predicate). SQLite gets the partial index only.
        Index(
            "ix_journal_entries_settlements",
            "occurred_at",
            postgresql_include=[
                "deal_id",
                "buyer_id",
                "seller_id",
                "category",
                "volume_fen",
                "fee_fen",
                "tax_fen",
            ],
            postgresql_where=text(SETTLEMENTS_PREDICATE),
            sqlite_where=text(SETTLEMENTS_PREDICATE),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    chain: Mapped[int] = mapped_column(SmallInteger)
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, "entry_kind", 16))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    deal_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("deals.id", ondelete="RESTRICT"))
    milestone_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deal_milestones.id", ondelete="RESTRICT")
    )
    reverses_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="RESTRICT"), unique=True
    )
    """The entry this one undoes; unique, so an entry is reversed at most once."""
    category: Mapped[ContractCategory | None] = mapped_column(
        str_enum(ContractCategory, "contract_category", 16)
    )
    buyer_id: Mapped[uuid.UUID | None] = mapped_column()
    seller_id: Mapped[uuid.UUID | None] = mapped_column()
    volume_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    """Gross released to the seller by a settlement (negative in its reversal), else 0."""
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by: Mapped[str] = mapped_column(String(80))
    memo: Mapped[str] = mapped_column(String(500), default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    postings: Mapped[list["Posting"]] = relationship(
        order_by="Posting.line", lazy="selectin", viewonly=True
    )


class Posting(Base):
    __tablename__ = "postings"
    __table_args__ = (
        CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        Index("ix_postings_account_id_entry_id", "account_id", "entry_id"),
    )

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="RESTRICT"), primary_key=True
    )
    line: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    account_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ledger_accounts.id", ondelete="RESTRICT")
    )
    amount_fen: Mapped[int] = mapped_column(BigInteger)


# --- the auditors' totals, kept as entries are written ----------------------------------------
#
# Derived data, not the ledger: unlike entries and postings these rows are updated (every
# settlement adds to them) and may be deleted and rebuilt from the entries at any time
# (``innoshare rebuild-totals``). ``GET /v1/ledger/verify`` recomputes them from the entries.


class TotalsPeriod(StrEnum):
    """Calendar buckets of the totals, in the time zone of ``ledger_totals_state``."""

    month = "month"  # 2020-05
    quarter = "quarter"  # 2020-Q2
    year = "year"  # 2020
    all = "all"  # every entry ever: period ''


class TotalsDimension(StrEnum):
    none = "none"  # group ''
    category = "category"  # the contract category
    seller = "seller"  # the seller's organization id, 32 hex digits
    buyer = "buyer"  # the buyer's organization id, 32 hex digits


class LedgerTotalsState(Base):
    """The one row that says the totals tables are kept, and in which time zone's calendar.

    No row: the totals are not kept (``post_entry`` writes none, totals are read from the
    entries)."""

    __tablename__ = "ledger_totals_state"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    zone: Mapped[str] = mapped_column(String(64))
    """IANA time zone of the month, quarter and year buckets."""
    rebuilt_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerTotal(Base):
    """One shard of a group's totals in one period: the sums of its settlement entries (and
    reversals of settlements) written on that chain, and the changes those entries made to the
    group's deal and buyer counts. A group's totals are the sums over its shards; a shard's
    counts alone mean nothing (a deal counted on one chain may be taken back on another)."""

    __tablename__ = "ledger_totals"

    period_kind: Mapped[TotalsPeriod] = mapped_column(
        str_enum(TotalsPeriod, "totals_period", 8), primary_key=True
    )
    dimension: Mapped[TotalsDimension] = mapped_column(
        str_enum(TotalsDimension, "totals_dimension", 8), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    """``2020-05``, ``2020-Q2``, ``2020``; ``''`` for all time. Sorts in time order."""
    group_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    """The chain of the entries summed here: no two running transactions write one row."""
    volume_fen: Mapped[int] = mapped_column(BigInteger)
    """Integer fen, like ``fee_fen`` and ``tax_fen``."""
    fee_fen: Mapped[int] = mapped_column(BigInteger)
    tax_fen: Mapped[int] = mapped_column(BigInteger)
    deals_settled: Mapped[int] = mapped_column(Integer)
    enterprises_served: Mapped[int] = mapped_column(Integer)


class LedgerTotalDeal(Base):
    """A deal's net volume released in one period: a deal counts as settled in the period
    while this is positive. Written under the deal's row lock, so never by two at once."""

    __tablename__ = "ledger_totals_deals"

    period_kind: Mapped[TotalsPeriod] = mapped_column(
        str_enum(TotalsPeriod, "totals_period", 8), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    deal_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    volume_fen: Mapped[int] = mapped_column(BigInteger)
    """Integer fen."""


class LedgerTotalBuyer(Base):
    """How many of a buyer's deals count as settled in a group and period: the buyer counts
    as an enterprise served there while this is positive."""

    __tablename__ = "ledger_totals_buyers"

    period_kind: Mapped[TotalsPeriod] = mapped_column(
        str_enum(TotalsPeriod, "totals_period", 8), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(8), primary_key=True)
    dimension: Mapped[TotalsDimension] = mapped_column(
        str_enum(TotalsDimension, "totals_dimension", 8), primary_key=True
    )
    group_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    buyer_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    deals: Mapped[int] = mapped_column(Integer)
