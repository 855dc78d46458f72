"""Financial product shapes: amounts in CNY strings, rates in basis points."""

from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from app.models.financial_products import FinancialProductKind
from app.schemas.base import MoneyIn, MoneyOut, partial
from app.schemas.catalog import (
    ITEM_EXAMPLE,
    CatalogFields,
    CatalogItemRead,
    CatalogPage,
    LongText,
    create_shape,
)

BasisPoints = Annotated[int, Field(ge=0, le=100_000, description="Annual rate in basis points.")]
Months = Annotated[int, Field(ge=1, le=600)]

_EXAMPLE: dict[str, Any] = {
    "name": "科技贷 · 研发贷",
    "kind": "sci_tech_credit",
    "amount_min": "500000.00",
    "amount_max": "10000000.00",
    "rate_min_bp": 385,
    "rate_max_bp": 480,
    "term_min_months": 6,
    "term_max_months": 36,
    "eligibility": "高新区内注册的科技型中小企业, 上年度研发投入不低于 100 万元。",
    "description": "无需抵押, 以知识产权质押和信用为主。",
    "tags": ["信用贷", "知识产权质押"],
    "external_id": "ZZBANK-P-07",
}


class FinancialProductFields(CatalogFields):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: FinancialProductKind
    amount_min: MoneyIn | None = None
    amount_max: MoneyIn | None = None
    rate_min_bp: BasisPoints | None = None
    rate_max_bp: BasisPoints | None = None
    term_min_months: Months | None = None
    term_max_months: Months | None = None
    eligibility: LongText | None = None
    description: LongText | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        for low, high in (
            ("amount_min", "amount_max"),
            ("rate_min_bp", "rate_max_bp"),
            ("term_min_months", "term_max_months"),
        ):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{low} is above {high}")
        return self


FinancialProductCreate = create_shape(
    FinancialProductFields,
    "FinancialProductCreate",
    _EXAMPLE,
    owner="Staff only: the financial institution (default: yours).",
)


FinancialProductUpdate = partial(
    FinancialProductFields,
    "FinancialProductUpdate",
    "Only the fields sent change.",
    {"rate_min_bp": 365},
)


class FinancialProductRead(CatalogItemRead):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**ITEM_EXAMPLE, **_EXAMPLE, "currency": "CNY"}]}
    )

    name: str
    kind: FinancialProductKind
    amount_min: MoneyOut | None
    amount_max: MoneyOut | None
    currency: Literal["CNY"] = "CNY"
    rate_min_bp: int | None
    rate_max_bp: int | None
    term_min_months: int | None
    term_max_months: int | None
    eligibility: str | None
    description: str | None


class FinancialProductPage(CatalogPage[FinancialProductRead]):
    """One page of financial products, with facet counts when asked."""
