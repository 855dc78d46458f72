"""Deals: a contract between a buyer enterprise and a seller organization, paid through escrow."""

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Entity
from app.models.catalog import str_enum


class ContractCategory(StrEnum):
    """The five kinds of Chinese technology contracts (技术合同, Civil Code art. 843)."""

    development = "development"  # 技术开发
    transfer = "transfer"  # 技术转让
    license = "license"  # 技术许可
    consulting = "consulting"  # 技术咨询
    service = "service"  # 技术服务


class ContractSubKind(StrEnum):
    """The kind within a category, as filed for registration (技术合同认定登记)."""

    entrusted_development = "entrusted_development"  # 委托开发
    cooperative_development = "cooperative_development"  # 合作开发
    patent_transfer = "patent_transfer"  # 专利权转让
    patent_application_transfer = "patent_application_transfer"  # 专利申请权转让
    technical_secret_transfer = "technical_secret_transfer"  # 技术秘密转让
    patent_license = "patent_license"  # 专利实施许可
    technical_secret_license = "technical_secret_license"  # 技术秘密许可
    feasibility_study = "feasibility_study"  # 可行性论证
    technology_forecast = "technology_forecast"  # 技术预测
    technical_survey = "technical_survey"  # 专题技术调查
    analysis_report = "analysis_report"  # 分析评价报告
    technical_training = "technical_training"  # 技术培训
    technical_intermediary = "technical_intermediary"  # 技术中介


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


class DealRegistration(Entity):
    """A deal's technology-contract registration (技术合同认定登记): what the parties file with
    the technology-market office, and the registration number once the office grants it.
    One per deal. The contract amount is the deal's gross; the technical amount (技术交易额)
    is that less ``non_technical_fen``."""

    __tablename__ = "deal_registrations"
    __table_args__ = (
        CheckConstraint("non_technical_fen >= 0", name="non_technical_not_negative"),
        CheckConstraint(
            "(registration_number IS NULL) = (registered_on IS NULL)", name="granted_whole"
        ),
        CheckConstraint(
            "registered_on IS NULL OR registered_on >= signed_on", name="registered_after_signing"
        ),
        Index("ix_deal_registrations_registered_on", "registered_on", "id"),
    )

    deal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deals.id", ondelete="RESTRICT"), unique=True, sort_order=-10
    )
    contract_number: Mapped[str] = mapped_column(String(50), sort_order=-10)
    """The parties' own number of the contract (合同编号)."""
    sub_kind: Mapped[ContractSubKind | None] = mapped_column(
        str_enum(ContractSubKind, "contract_sub_kind", 32), sort_order=-10
    )
    signed_on: Mapped[date] = mapped_column(sort_order=-10)
    non_technical_fen: Mapped[int] = mapped_column(BigInteger, default=0, sort_order=-10)
    """Non-technical costs in the contract amount (equipment, materials), fen."""
    registration_number: Mapped[str | None] = mapped_column(String(50), unique=True, sort_order=-10)
    """Granted by the technology-market office (登记号); unique."""
    registered_on: Mapped[date | None] = mapped_column(sort_order=-10)
    filed_by: Mapped[str] = mapped_column(String(80), sort_order=-10)
    """The principal that last changed the filed data: ``user:<id>`` or ``api_key:<id>``."""
    registered_by: Mapped[str | None] = mapped_column(String(80), sort_order=-10)
    version: Mapped[int] = mapped_column(default=1, sort_order=-10)

    deal: Mapped[Deal] = relationship(lazy="raise")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
