"""Matches: catalog items for a demand, open demands for a provider."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from app.core.errors import problem_responses
from app.routers.deps import CurrentPrincipal, OptionalPrincipal, SearchIndexDep, SessionDep
from app.schemas.matching import DemandMatchesRead, MatchedDemandsRead
from app.services import matching as matching_service
from app.services.matching import MatchType

router = APIRouter(prefix="/v1", tags=["matching"])

MatchLimit = Annotated[int, Query(ge=1, le=50, description="How many matches, 1–50.")]


@router.get(
    "/demands/{demand_id}/matches",
    response_model=DemandMatchesRead,
    responses=problem_responses(404, 422),
)
async def list_demand_matches(
    demand_id: uuid.UUID,
    session: SessionDep,
    index: SearchIndexDep,
    principal: OptionalPrincipal,
    types: Annotated[
        list[MatchType] | None,
        Query(description="Kinds of items among those that fit the demand (default all)."),
    ] = None,
    limit: MatchLimit = 20,
) -> matching_service.DemandMatches:
    """The published items that best fit a demand, best first, each with its reasons."""
    return await matching_service.match_demand(
        session, index=index, principal=principal, demand_id=demand_id, types=types, limit=limit
    )


@router.get(
    "/organizations/{organization_id}/matched-demands",
    response_model=MatchedDemandsRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def list_matched_demands(
    organization_id: uuid.UUID,
    session: SessionDep,
    index: SearchIndexDep,
    principal: CurrentPrincipal,
    limit: MatchLimit = 20,
) -> matching_service.MatchedDemands:
    """The open demands that best fit an organization's listings (its members, operators)."""
    return await matching_service.match_provider(
        session, index=index, principal=principal, organization_id=organization_id, limit=limit
    )
