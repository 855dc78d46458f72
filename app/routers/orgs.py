"""/v1/organizations: the organizations taking part, public to read."""

import uuid
from typing import Annotated

from fastapi import Query, Response, status

from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.models.orgs import Organization, OrganizationKind
from app.routers.deps import CurrentPrincipal, Cursor, Limit, SessionDep
from app.schemas.orgs import (
    OrganizationCreate,
    OrganizationPage,
    OrganizationProfileRead,
    OrganizationRead,
    OrganizationUpdate,
)
from app.services import orgs as orgs_service

router = PrefixRouter(prefix="/v1/organizations", tags=["organizations"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationRead,
    responses={**problem_responses(401, 403, 409, 422), **sends_headers(201, "Location")},
)
async def create_organization(
    body: OrganizationCreate, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> Organization:
    """Register an organization (admins and operators)."""
    organization = await orgs_service.create_organization(session, principal=principal, data=body)
    response.headers["Location"] = f"/v1/organizations/{organization.id}"
    return organization


@router.get(
    "",
    response_model=OrganizationPage,
    responses=problem_responses(400, 422),
)
async def list_organizations(
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(
            min_length=1, max_length=100, description="Substring of name, region or credit code."
        ),
    ] = None,
    kind: Annotated[list[OrganizationKind] | None, Query(description="One or more kinds.")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Organization]:
    """List organizations, newest first, filtered by text and kind."""
    return await orgs_service.list_organizations(
        session, q=q, kinds=kind, limit=limit, cursor=cursor
    )


@router.get(
    "/{organization_id}",
    response_model=OrganizationProfileRead,
    responses=problem_responses(404, 422),
)
async def get_organization(
    organization_id: uuid.UUID, session: SessionDep
) -> orgs_service.OrganizationProfile:
    """Get one organization, with its rating over the reviews it received."""
    return await orgs_service.get_organization_profile(session, organization_id=organization_id)


@router.patch(
    "/{organization_id}",
    response_model=OrganizationRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_organization(
    organization_id: uuid.UUID,
    body: OrganizationUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Organization:
    """Change an organization's profile (staff; members for their own, except kind and code)."""
    return await orgs_service.update_organization(
        session, principal=principal, organization_id=organization_id, data=body
    )
