"""/v1/policies: national to district support policies, curated by operators."""

from typing import Annotated

from fastapi import Query

from app.core.errors import problem_responses
from app.core.routing import PrefixRouter
from app.models.policies import Policy, PolicyLevel
from app.routers.catalog import add_item_routes, catalog_query
from app.routers.deps import OptionalPrincipal, SessionDep
from app.schemas.base import Day
from app.schemas.policies import PolicyCreate, PolicyPage, PolicyRead, PolicyUpdate
from app.services import catalog as catalog_service
from app.services import policies as policies_service

router = PrefixRouter(prefix="/v1/policies", tags=["policies"])

PolicyQueryDep = catalog_query(policies_service.SPEC)


@router.get("", response_model=PolicyPage, responses=problem_responses(400, 401, 422))
async def list_policies(
    session: SessionDep,
    principal: OptionalPrincipal,
    query: PolicyQueryDep,  # type: ignore[valid-type]
    level: Annotated[list[PolicyLevel] | None, Query()] = None,
    category: Annotated[list[str] | None, Query(max_length=50)] = None,
    issuing_authority: Annotated[list[str] | None, Query(max_length=200)] = None,
    issued_from: Annotated[Day | None, Query()] = None,
    issued_to: Annotated[Day | None, Query()] = None,
    in_force_on: Annotated[Day | None, Query(description="In force on this day.")] = None,
) -> catalog_service.CatalogPage[Policy]:
    """Search and filter policies; sort=issued orders by issue date; facets: level, category,
    issuing_authority, status, owner_id."""
    return await policies_service.list_policies(
        session,
        principal=principal,
        query=query,
        levels=level,
        categories=category,
        authorities=issuing_authority,
        issued_from=issued_from,
        issued_to=issued_to,
        in_force_on=in_force_on,
    )


add_item_routes(
    router, policies_service.SPEC, read=PolicyRead, create=PolicyCreate, update=PolicyUpdate
)
