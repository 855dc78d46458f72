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
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow
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
        # The auditors' totals (app.services.audit.totals): the settlements and reversals of
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
