"""Invitations: /v1/demands/{demand_id}/invitations (the owner invites organizations to
propose) and /v1/organizations/{organization_id}/invitations (what an organization received)."""

import uuid

from fastapi import status

from app.core.errors import problem_responses
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.models.demands import DemandInvitation
from app.routers.deps import CurrentPrincipal, Cursor, Limit, SessionDep
from app.schemas.invitations import (
    InvitationCreate,
    InvitationPage,
    InvitationRead,
    ReceivedInvitationPage,
)
from app.services import invitations as invitations_service
from app.services.invitations import ReceivedInvitation

router = PrefixRouter(tags=["invitations"])


@router.post(
    "/v1/demands/{demand_id}/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def invite_organization(
    demand_id: uuid.UUID,
    body: InvitationCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> DemandInvitation:
    """Invite an organization to a draft or open demand (the owner): it then sees an
    invited-only demand and may propose."""
    return await invitations_service.invite_organization(
        session, principal=principal, demand_id=demand_id, organization_id=body.organization_id
    )


@router.get(
    "/v1/demands/{demand_id}/invitations",
    response_model=InvitationPage,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_demand_invitations(
    demand_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DemandInvitation]:
    """The organizations invited to a demand, newest first (its owner, staff and auditors)."""
    return await invitations_service.list_demand_invitations(
        session, principal=principal, demand_id=demand_id, limit=limit, cursor=cursor
    )


@router.get(
    "/v1/organizations/{organization_id}/invitations",
    response_model=ReceivedInvitationPage,
    responses=problem_responses(400, 401, 403, 404, 422),
)
async def list_organization_invitations(
    organization_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ReceivedInvitation]:
    """The invitations an organization received to opened demands, newest first, with each
    demand's status as read now (its members and keys, staff and auditors)."""
    return await invitations_service.list_organization_invitations(
        session, principal=principal, organization_id=organization_id, limit=limit, cursor=cursor
    )
