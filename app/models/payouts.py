"""Money leaving the platform's books: payouts of an organization's payable balance to its
bank account, and the tax paid to the tax authority. Each is one journal entry (kinds
``payout`` and ``tax_remittance``); these rows say what the entry was for."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Entity
from app.models.catalog import str_enum


class PayoutStatus(StrEnum):
    paid = "paid"
    returned = "returned"  # the bank sent it back: reversed by ``return_entry_id``


class Payout(Entity):
    """One payout of an organization's payable balance (payable → bank)."""

    __tablename__ = "payouts"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint(
            "(status = 'returned') = (returned_at IS NOT NULL AND return_entry_id IS NOT NULL)",
            name="returned_whole",
        ),
        Index("ix_payouts_created_at", "created_at", "id"),
        Index("ix_payouts_organization_id", "organization_id", "created_at", "id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), sort_order=-10
    )
    amount_fen: Mapped[int] = mapped_column(BigInteger, sort_order=-10)
    """Integer fen, positive."""
    bank_reference: Mapped[str] = mapped_column(String(100), sort_order=-10)
    """The bank's reference of the transfer (on the operator's bank file)."""
    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="RESTRICT"), unique=True, sort_order=-10
    )
    status: Mapped[PayoutStatus] = mapped_column(
        str_enum(PayoutStatus, "payout_status", 16), default=PayoutStatus.paid, sort_order=-10
    )
    created_by: Mapped[str] = mapped_column(String(80), sort_order=-10)
    returned_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    return_reason: Mapped[str | None] = mapped_column(String(500), sort_order=-10)
    return_entry_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="RESTRICT"), unique=True, sort_order=-10
    )
    """The reversing entry (bank → payable), once the bank returned the payout."""
    returned_by: Mapped[str | None] = mapped_column(String(80), sort_order=-10)


class TaxRemittance(Entity):
    """Tax paid to the tax authority (tax payable → bank), with its receipt (完税凭证号)."""

    __tablename__ = "tax_remittances"
    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        Index("ix_tax_remittances_created_at", "created_at", "id"),
    )

    amount_fen: Mapped[int] = mapped_column(BigInteger, sort_order=-10)
    """Integer fen, positive."""
    receipt_number: Mapped[str] = mapped_column(String(64), unique=True, sort_order=-10)
    """完税凭证号: the tax authority's receipt; one remittance per receipt."""
    period: Mapped[str] = mapped_column(String(8), sort_order=-10)
    """The tax period it pays: ``2020-05``, ``2020-Q2`` or ``2020``."""
    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("journal_entries.id", ondelete="RESTRICT"), unique=True, sort_order=-10
    )
    created_by: Mapped[str] = mapped_column(String(80), sort_order=-10)
