"""/v1/demands: enterprises' posted needs, searched like the catalogs, with their workflow
(publish, cancel, extend, close-unsuccessful) and operators' moderation (hide, unhide)."""

import uuid
from typing import Annotated, Any

from fastapi import Body, Depends, Query, Response, status

from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.models.catalog import CatalogHistory
from app.models.demands import Demand, DemandKind, DemandStatus
from app.routers.catalog import IfMatch, query_parameters
from app.routers.deps import CurrentPrincipal, Cursor, Limit, OptionalPrincipal, SessionDep
from app.schemas.base import Moment, MoneyIn
from app.schemas.catalog import HistoryPage
from app.schemas.demands import (
    DemandCancel,
    DemandCloseUnsuccessful,
    DemandCreate,
    DemandExtend,
    DemandHide,
    DemandPage,
    DemandRead,
    DemandUpdate,
)
from app.services import catalog as catalog_service
from app.services import demands as demands_service
from app.services.catalog import CatalogQuery

router = PrefixRouter(prefix="/v1/demands", tags=["demands"])

DemandQueryDep = Annotated[
    CatalogQuery,
    Depends(
        query_parameters(
            DemandStatus,
            "Default open. Drafts show only to their owner; closed means the deadline has"
            " passed and proposals are under review.",
            facets=demands_service.SPEC.facets,
        )
    ),
]
WRITE_ERRORS = {**problem_responses(401, 403, 404, 409, 412, 422), **sends_headers(200, "ETag")}


def _with_etag(response: Response, demand: Any) -> Any:
    response.headers["ETag"] = demands_service.etag_of(demand)
    return demand


@router.get("", response_model=DemandPage, responses=problem_responses(400, 401, 422))
async def list_demands(
    session: SessionDep,
    principal: OptionalPrincipal,
    query: DemandQueryDep,
    kind: Annotated[list[DemandKind] | None, Query()] = None,
    field: Annotated[list[str] | None, Query(max_length=50)] = None,
    budget_min: Annotated[
        MoneyIn | None, Query(description="CNY; budgets overlapping the range (visible ones).")
    ] = None,
    budget_max: Annotated[MoneyIn | None, Query(description="CNY, e.g. 800000.00")] = None,
    deadline_from: Annotated[Moment | None, Query()] = None,
    deadline_to: Annotated[Moment | None, Query()] = None,
) -> catalog_service.CatalogPage[Demand]:
    """Search and filter demands (default: open ones); facets: kind, field, status, owner_id."""
    return await demands_service.list_demands(
        session,
        principal=principal,
        query=query,
        kinds=kind,
        fields=field,
        budget_min=budget_min,
        budget_max=budget_max,
        deadline_from=deadline_from,
        deadline_to=deadline_to,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DemandRead,
    responses={**problem_responses(401, 403, 409, 422), **sends_headers(201, "Location", "ETag")},
)
async def create_demand(
    body: DemandCreate, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> Any:
    """Post a demand as a draft, owned by your enterprise (scope demands:write)."""
    demand = await demands_service.create_demand(
        session,
        principal=principal,
        values=body.model_dump(exclude={"owner_id"}),
        owner_id=body.owner_id,
    )
    response.headers["Location"] = f"{router.prefix}/{demand.id}"
    return _with_etag(response, demand)


@router.get("/{demand_id}", response_model=DemandRead, responses=problem_responses(404, 422))
async def get_demand(
    demand_id: uuid.UUID, session: SessionDep, principal: OptionalPrincipal, response: Response
) -> Any:
    """One demand; drafts, hidden and invited-only ones only for those who may see them."""
    demand = await demands_service.get_demand(session, principal=principal, demand_id=demand_id)
    return _with_etag(response, demand)


@router.patch("/{demand_id}", response_model=DemandRead, responses=WRITE_ERRORS)
async def update_demand(
    demand_id: uuid.UUID,
    body: DemandUpdate,  # type: ignore[valid-type]
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    """Change a draft's fields; an unchanged value writes nothing."""
    demand = await demands_service.update_demand(
        session,
        principal=principal,
        demand_id=demand_id,
        values=body.model_dump(exclude_unset=True),  # type: ignore[attr-defined]
        if_match=if_match,
    )
    return _with_etag(response, demand)


@router.post("/{demand_id}/publish", response_model=DemandRead, responses=WRITE_ERRORS)
async def publish_demand(
    demand_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    """Open a draft for proposals until its deadline."""
    demand = await demands_service.publish_demand(
        session, principal=principal, demand_id=demand_id, if_match=if_match
    )
    return _with_etag(response, demand)


@router.post("/{demand_id}/cancel", response_model=DemandRead, responses=WRITE_ERRORS)
async def cancel_demand(
    demand_id: uuid.UUID,
    body: DemandCancel,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    """Call off a draft or open demand, with a reason; its proposals become unsuccessful."""
    demand = await demands_service.cancel_demand(
        session, principal=principal, demand_id=demand_id, reason=body.reason, if_match=if_match
    )
    return _with_etag(response, demand)


@router.post("/{demand_id}/extend", response_model=DemandRead, responses=WRITE_ERRORS)
async def extend_demand(
    demand_id: uuid.UUID,
    body: DemandExtend,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    """Move an open demand's deadline later (never earlier); the history keeps the old one."""
    demand = await demands_service.extend_demand(
        session,
        principal=principal,
        demand_id=demand_id,
        deadline=body.deadline,
        if_match=if_match,
    )
    return _with_etag(response, demand)


@router.post("/{demand_id}/close-unsuccessful", response_model=DemandRead, responses=WRITE_ERRORS)
async def close_demand_unsuccessful(
    demand_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
    body: Annotated[DemandCloseUnsuccessful, Body()] = DemandCloseUnsuccessful(),  # noqa: B008
    if_match: IfMatch = None,
) -> Any:
    """End a closed demand without an award; its proposals become unsuccessful."""
    demand = await demands_service.close_unsuccessful(
        session,
        principal=principal,
        demand_id=demand_id,
        reason=body.reason,
        if_match=if_match,
    )
    return _with_etag(response, demand)


@router.post("/{demand_id}/hide", response_model=DemandRead, responses=WRITE_ERRORS)
async def hide_demand(
    demand_id: uuid.UUID,
    body: DemandHide,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> Any:
    """Hide a demand from everyone but its owner, staff and auditors (operators), saying why."""
    demand = await demands_service.moderate_demand(
        session, principal=principal, demand_id=demand_id, hide=True, reason=body.reason
    )
    return _with_etag(response, demand)


@router.post("/{demand_id}/unhide", response_model=DemandRead, responses=WRITE_ERRORS)
async def unhide_demand(
    demand_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> Any:
    """Show a hidden demand again (operators)."""
    demand = await demands_service.moderate_demand(
        session, principal=principal, demand_id=demand_id, hide=False, reason=None
    )
    return _with_etag(response, demand)


@router.get(
    "/{demand_id}/history",
    response_model=HistoryPage,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_demand_history(
    demand_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[CatalogHistory]:
    """Who changed the demand, what and when (its owner, staff and auditors)."""
    return await demands_service.list_demand_history(
        session, principal=principal, demand_id=demand_id, limit=limit, cursor=cursor
    )
