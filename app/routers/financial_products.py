"""/v1/financial-products: loans, sci-tech credit, equity, guarantees and insurance."""

from typing import Annotated

from fastapi import Query

from app.core.errors import problem_responses
from app.core.routing import PrefixRouter
from app.models.financial_products import FinancialProduct, FinancialProductKind
from app.routers.catalog import add_item_routes, catalog_query
from app.routers.deps import OptionalPrincipal, SessionDep
from app.schemas.base import MoneyIn
from app.schemas.financial_products import (
    FinancialProductCreate,
    FinancialProductPage,
    FinancialProductRead,
    FinancialProductUpdate,
)
from app.services import catalog as catalog_service
from app.services import financial_products as financial_products_service

router = PrefixRouter(prefix="/v1/financial-products", tags=["financial-products"])


@router.get(
    "",
    response_model=FinancialProductPage,
    responses=problem_responses(400, 401, 422),
)
async def list_financial_products(
    session: SessionDep,
    principal: OptionalPrincipal,
    query: catalog_query(financial_products_service.SPEC),  # type: ignore[valid-type]
    kind: Annotated[list[FinancialProductKind] | None, Query()] = None,
    amount_min: Annotated[MoneyIn | None, Query(description="CNY, e.g. 500000.00")] = None,
    amount_max: Annotated[MoneyIn | None, Query(description="CNY")] = None,
    max_rate_bp: Annotated[
        int | None, Query(ge=0, le=100_000, description="Rates from at most this.")
    ] = None,
    term_months: Annotated[int | None, Query(ge=1, le=600)] = None,
) -> catalog_service.CatalogPage[FinancialProduct]:
    """Search and filter financial products; facets: kind, status, owner_id."""
    return await financial_products_service.list_financial_products(
        session,
        principal=principal,
        query=query,
        kinds=kind,
        amount_min=amount_min,
        amount_max=amount_max,
        max_rate_bp=max_rate_bp,
        term_months=term_months,
    )


add_item_routes(
    router,
    financial_products_service.SPEC,
    read=FinancialProductRead,
    create=FinancialProductCreate,
    update=FinancialProductUpdate,
)
