"""Technologies: research results offered for transfer."""

from enum import StrEnum

from sqlalchemy import JSON, BigInteger, CheckConstraint, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.catalog import LONG_TEXT, CatalogItem, catalog_table_args


class TransferMode(StrEnum):
    assignment = "assignment"
    license = "license"
    equity = "equity"
    joint_development = "joint_development"


class Technology(CatalogItem):
    __tablename__ = "technologies"
    __table_args__ = catalog_table_args(
        "technologies",
        CheckConstraint("trl BETWEEN 1 AND 9", name="trl_range"),
        CheckConstraint("price_min IS NULL OR price_min >= 0", name="price_min_positive"),
        CheckConstraint(
            "price_min IS NULL OR price_max IS NULL OR price_min <= price_max", name="price_order"
        ),
    )

    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
    field: Mapped[str | None] = mapped_column(String(50), index=True)
    trl: Mapped[int] = mapped_column(SmallInteger)
    """Technology readiness level, 1 (principles observed) to 9 (proven in operation)."""
    transfer_modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    price_min: Mapped[int | None] = mapped_column(BigInteger)
    """Asking price, lower bound, in fen (1/100 CNY)."""
    price_max: Mapped[int | None] = mapped_column(BigInteger)
    """Asking price, upper bound, in fen (1/100 CNY)."""
    inventor_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Ids of the talents who invented it."""
    ip_asset_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
