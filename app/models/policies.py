"""Policies: support measures of the state, the province, the city and the district."""

from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.catalog import LONG_TEXT, CatalogItem, catalog_table_args, str_enum


class PolicyLevel(StrEnum):
    national = "national"
    provincial = "provincial"
    municipal = "municipal"
    district = "district"


class Policy(CatalogItem):
    __tablename__ = "policies"
    __table_args__ = catalog_table_args(
        "policies",
        CheckConstraint(
            "effective_date IS NULL OR effective_date >= issue_date", name="effective_after_issue"
        ),
        CheckConstraint(
            "expiry_date IS NULL OR expiry_date >= COALESCE(effective_date, issue_date)",
            name="expiry_after_effective",
        ),
        # sort=issued pages through these (published, or one level) without sorting
        Index("ix_policies_status_issue_date", "status", "issue_date", "id"),
        Index("ix_policies_level_issue_date", "level", "issue_date", "id"),
    )

    title: Mapped[str] = mapped_column(String(300))
    issuing_authority: Mapped[str] = mapped_column(String(200))
    level: Mapped[PolicyLevel] = mapped_column(str_enum(PolicyLevel, "policy_level", 16))
    document_number: Mapped[str | None] = mapped_column(String(100))
    """文号, e.g. 郑政〔2020〕12号."""
    issue_date: Mapped[date] = mapped_column(Date)
    effective_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    category: Mapped[str | None] = mapped_column(String(50), index=True)
    full_text: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
