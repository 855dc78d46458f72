"""Deals: a contract between a buyer enterprise and a seller organization, paid through escrow."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Entity
from app.models.catalog import str_enum


class ContractCategory(StrEnum):
    """The four kinds of Chinese technology contracts (技术合同)."""

    development = "development"  # 技术开发
    transfer = "transfer"  # 技术转让
    consulting = "consulting"  # 技术咨询
    service = "service"  # 技术服务


class DealStatus(StrEnum):
    created = "created"
    funded = "funded"
    settled = "settled"
    cancelled = "cancelled"
    refunded = "refunded"


class MilestoneStatus(StrEnum):
    pending = "pending"
    settled = "settled"
    refunded = "refunded"


class Deal(Entity):
    """Amounts are integer fen. While funded, ``escrow_fen`` is what escrow holds for this deal:
    gross = escrow + released + refunded. Fee and tax are cumulative over the releases."""

    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("gross_fen > 0", name="gross_positive"),
        CheckConstraint("escrow_fen >= 0", name="escrow_not_negative"),
        CheckConstraint("released_fen >= 0 AND refunded_fen >= 0", name="moved_not_negative"),
        CheckConstraint(
            "escrow_fen + released_fen + refunded_fen <= gross_fen", name="within_gross"
        ),
        CheckConstraint("fee_rate_bp BETWEEN 0 AND 10000", name="fee_rate_range"),
        CheckConstraint("tax_rate_bp BETWEEN 0 AND 10000", name="tax_rate_range"),
        CheckConstraint("fee_rate_bp + tax_rate_bp <= 10000", name="rates_within_gross"),
        CheckConstraint("buyer_id <> seller_id", name="buyer_is_not_seller"),
        Index("ix_deals_buyer_id_created_at", "buyer_id", "created_at", "id"),
        Index("ix_deals_seller_id_created_at", "seller_id", "created_at", "id"),
        Index("ix_deals_created_at", "created_at", "id"),
    )

    buyer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), sort_order=-10
    )
    seller_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), sort_order=-10
    )
    technology_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("technologies.id", ondelete="RESTRICT"), index=True, sort_order=-10
    )
    demand_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("demands.id", ondelete="RESTRICT"), unique=True, sort_order=-10
    )
    """The demand whose award opened the deal: unique, so an award opens one deal only."""
    status: Mapped[DealStatus] = mapped_column(
        str_enum(DealStatus, "deal_status", 16), default=DealStatus.created, sort_order=-10
    )
    category: Mapped[ContractCategory] = mapped_column(
        str_enum(ContractCategory, "contract_category", 16), sort_order=-10
    )
    gross_fen: Mapped[int] = mapped_column(BigInteger, sort_order=-10)
    fee_rate_bp: Mapped[int] = mapped_column(Integer, sort_order=-10)
    tax_rate_bp: Mapped[int] = mapped_column(Integer, sort_order=-10)
    escrow_fen: Mapped[int] = mapped_column(BigInteger, default=0, sort_order=-10)
    released_fen: Mapped[int] = mapped_column(BigInteger, default=0, sort_order=-10)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0, sort_order=-10)
    fee_fen: Mapped[int] = mapped_column(BigInteger, default=0, sort_order=-10)
    tax_fen: Mapped[int] = mapped_column(BigInteger, default=0, sort_order=-10)
    created_by: Mapped[str] = mapped_column(String(80), sort_order=-10)
    """The principal that created the deal: ``user:<id>`` or ``api_key:<id>``."""
    funded_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    closed_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    """When the deal reached settled, cancelled or refunded."""
    version: Mapped[int] = mapped_column(default=1, sort_order=-10)
    title: Mapped[str] = mapped_column(String(200))
    terms: Mapped[str | None] = mapped_column(Text)

    milestones: Mapped[list["DealMilestone"]] = relationship(
        order_by="DealMilestone.position", lazy="selectin", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class DealMilestone(Entity):
    __tablename__ = "deal_milestones"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    deal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deals.id", ondelete="RESTRICT"), index=True, sort_order=-10
    )
    position: Mapped[int] = mapped_column(Integer, sort_order=-10)
    amount_fen: Mapped[int] = mapped_column(BigInteger, sort_order=-10)
    status: Mapped[MilestoneStatus] = mapped_column(
        str_enum(MilestoneStatus, "milestone_status", 16),
        default=MilestoneStatus.pending,
        sort_order=-10,
    )
    settled_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    title: Mapped[str] = mapped_column(String(200))
