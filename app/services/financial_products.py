"""Financial products of the zone's financial institutions."""

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.errors import FieldError
from app.core.security import Principal
from app.models.financial_products import FinancialProduct, FinancialProductKind
from app.models.orgs import OrganizationKind
from app.services import catalog
from app.services.catalog import CatalogPage, CatalogQuery

_RANGES = (
    ("amount_min", "amount_max"),
    ("rate_min_bp", "rate_max_bp"),
    ("term_min_months", "term_max_months"),
)


async def check_financial_products(
    session: AsyncSession, principal: Principal, items: Sequence[Mapping[str, Any]]
) -> list[list[FieldError]]:
    results = []
    for item in items:
        errors = [
            FieldError(loc=["body", low], message=f"{low} is above {high}", type="range_order")
            for low, high in _RANGES
            if item.get(low) is not None and item.get(high) is not None and item[low] > item[high]
        ]
        results.append(errors)
    return results


SPEC = catalog.CatalogSpec(
    name="financial_products",
    noun="financial product",
    model=FinancialProduct,
    fields=(
        "name",
        "kind",
        "amount_min",
        "amount_max",
        "rate_min_bp",
        "rate_max_bp",
        "term_min_months",
        "term_max_months",
        "eligibility",
        "description",
    ),
    title_fields=("name",),
    body_fields=("eligibility", "description"),
    facets=("kind", "status", "owner_id"),
    owner_kinds=frozenset({OrganizationKind.financial_institution}),
    check=check_financial_products,
)


async def list_financial_products(
    session: AsyncSession,
    *,
    principal: Principal | None,
    query: CatalogQuery,
    kinds: list[FinancialProductKind] | None = None,
    amount_min: int | None = None,
    amount_max: int | None = None,
    max_rate_bp: int | None = None,
    term_months: int | None = None,
) -> CatalogPage[FinancialProduct]:
    """Products by kind, amount (overlapping the range), rate ceiling and term."""
    query.filter = filters.all_of(
        filters.one_of("kind", kinds),
        filters.overlapping("amount_min", "amount_max", amount_min, amount_max),
        filters.at_most("rate_min_bp", max_rate_bp),
        filters.overlapping("term_min_months", "term_max_months", term_months, term_months),
    )
    return await catalog.search_items(session, SPEC, principal=principal, query=query)
