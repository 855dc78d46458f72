"""Financial products offered to the zone's enterprises by financial institutions."""

from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.catalog import LONG_TEXT, CatalogItem, catalog_table_args, str_enum


class FinancialProductKind(StrEnum):
    loan = "loan"
    sci_tech_credit = "sci_tech_credit"
    equity = "equity"
    guarantee = "guarantee"
    insurance = "insurance"


class FinancialProduct(CatalogItem):
    __tablename__ = "financial_products"
    __table_args__ = catalog_table_args(
        "financial_products",
        CheckConstraint(
            "amount_min IS NULL OR amount_max IS NULL OR amount_min <= amount_max",
            name="amount_order",
        ),
        CheckConstraint(
            "rate_min_bp IS NULL OR rate_max_bp IS NULL OR rate_min_bp <= rate_max_bp",
            name="rate_order",
        ),
        CheckConstraint(
            "term_min_months IS NULL OR term_max_months IS NULL"
            " OR term_min_months <= term_max_months",
            name="term_order",
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[FinancialProductKind] = mapped_column(
        str_enum(FinancialProductKind, "financial_product_kind", 32), index=True
    )
    amount_min: Mapped[int | None] = mapped_column(BigInteger)
    """Smallest amount, in fen."""
    amount_max: Mapped[int | None] = mapped_column(BigInteger)
    """Largest amount, in fen."""
    rate_min_bp: Mapped[int | None] = mapped_column(Integer)
    """Lowest annual rate (or premium rate), in basis points: 385 = 3.85 %."""
    rate_max_bp: Mapped[int | None] = mapped_column(Integer)
    term_min_months: Mapped[int | None] = mapped_column(Integer)
    term_max_months: Mapped[int | None] = mapped_column(Integer)
    eligibility: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
    description: Mapped[str | None] = mapped_column(Text, sort_order=LONG_TEXT)
