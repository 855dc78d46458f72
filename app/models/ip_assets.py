"""Intellectual property: patents, trademarks, copyrights, software copyrights."""

from datetime import date
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Date, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.catalog import LONG_TEXT, CatalogItem, catalog_table_args, str_enum


class IPKind(StrEnum):
    invention_patent = "invention_patent"
    utility_model = "utility_model"
    design_patent = "design_patent"
    trademark = "trademark"
    copyright = "copyright"
    software_copyright = "software_copyright"


class LegalStatus(StrEnum):
    pending = "pending"
    granted = "granted"
    registered = "registered"
    expired = "expired"
    invalidated = "invalidated"


class IPAsset(CatalogItem):
    __tablename__ = "ip_assets"
    __table_args__ = catalog_table_args(
        "ip_assets",
        UniqueConstraint("owner_id", "kind", "number", name="uq_ip_assets_owner_id_kind_number"),
        CheckConstraint(
            "grant_date IS NULL OR application_date IS NULL OR grant_date >= application_date",
            name="grant_after_application",
        ),
    )

    kind: Mapped[IPKind] = mapped_column(str_enum(IPKind, "ip_kind", 32), index=True)
    number: Mapped[str] = mapped_column(String(50))
    """Application or registration number in the format of its kind (validated)."""
    title: Mapped[str] = mapped_column(String(300))
    holder: Mapped[str | None] = mapped_column(String(200))
    """The right holder as registered (the listing organization may be an agent)."""
    legal_status: Mapped[LegalStatus] = mapped_column(
        str_enum(LegalStatus, "legal_status", 16), index=True
    )
    application_date: Mapped[date | None] = mapped_column(Date)
    grant_date: Mapped[date | None] = mapped_column(Date)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    field: Mapped[str | None] = mapped_column(String(50), index=True)
    summary: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
    available_for_transfer: Mapped[bool] = mapped_column(Boolean, default=False)
    available_for_license: Mapped[bool] = mapped_column(Boolean, default=False)
