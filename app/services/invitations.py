"""Invitations: the organizations a demand's owner asks to propose. For an invited-only
demand they are the only ones who see it (``demands.visible_condition``); an open public
demand may invite too. One invitation per organization per demand, held by the database."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.security import Principal
from app.models.demands import Demand, DemandInvitation, DemandKind, DemandStatus
from app.models.orgs import Organization
from app.services import demands as demands_service

NEWEST_FIRST = KeysetOrder("invitations:newest", (DemandInvitation.created_at, DemandInvitation.id))


@dataclass(frozen=True, slots=True)
class InvitedDemand:
    """What an invited organization reads of the demand it was invited to."""

    id: uuid.UUID
    title: str
    kind: DemandKind
    status: DemandStatus
    """As read now: closed once the deadline has passed."""
    deadline: datetime


@dataclass(frozen=True, slots=True)
class ReceivedInvitation:
    """An invitation as its organization lists it: with the demand it is for."""

    id: uuid.UUID
    demand_id: uuid.UUID
    organization_id: uuid.UUID
    created_at: datetime
    demand: InvitedDemand


def _invalid_organization(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        code=code,
        errors=[FieldError(loc=["body", "organization_id"], message=message, type=code)],
    )


def _already_invited(organization_id: uuid.UUID) -> Conflict:
    return Conflict(
        f"Organization {organization_id} is already invited to this demand.",
        code="already_invited",
    )


async def invite_organization(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    organization_id: uuid.UUID,
) -> DemandInvitation:
    """Invite an organization to a draft or open demand (its owner)."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    demands_service.require_owner(principal, demand)
    demands_service.require_status(demand, "invited to", DemandStatus.draft, DemandStatus.open)
    if organization_id == demand.owner_id:
        raise _invalid_organization("The owner cannot invite itself.", "self_invitation")
    if await session.get(Organization, organization_id) is None:
        raise _invalid_organization(
            f"Organization {organization_id} does not exist.", "unknown_organization"
        )
    taken = await session.scalar(
        select(DemandInvitation.id).where(
            DemandInvitation.demand_id == demand.id,
            DemandInvitation.organization_id == organization_id,
        )
    )
    if taken is not None:
        raise _already_invited(organization_id)
    invitation = DemandInvitation(
        demand_id=demand.id, organization_id=organization_id, invited_by=principal.label
    )
    session.add(invitation)
    try:
        await session.flush()
    except IntegrityError as exc:  # a concurrent invitation of the same organization won
        raise _already_invited(organization_id) from exc
    await demands_service.touch_for_index(session, demand.id)
    return invitation


async def list_demand_invitations(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[DemandInvitation]:
    """A demand's invitations, newest first (its owner, staff and auditors)."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    owner = demands_service.is_owner(principal, demand)
    if not (owner or demands_service.sees_everything(principal)):
        raise Forbidden("Only the demand's owner, staff and auditors see its invitations.")
    stmt = select(DemandInvitation).where(DemandInvitation.demand_id == demand.id)
    return await paginate(session, stmt, order=NEWEST_FIRST, limit=limit, cursor=cursor)


async def list_organization_invitations(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[ReceivedInvitation]:
    """The invitations an organization received, newest first, to demands that have been
    opened and are not hidden (its members and keys, staff and auditors)."""
    if await session.get(Organization, organization_id) is None:
        raise NotFound(f"Organization {organization_id} does not exist.")
    if not (
        demands_service.sees_everything(principal) or principal.organization_id == organization_id
    ):
        raise Forbidden("Only the organization itself, staff and auditors see its invitations.")
    stmt = (
        select(DemandInvitation)
        .join(Demand, Demand.id == DemandInvitation.demand_id)
        .where(
            DemandInvitation.organization_id == organization_id,
            Demand.published_at.is_not(None),
            Demand.hidden_at.is_(None),
        )
    )
    page = await paginate(session, stmt, order=NEWEST_FIRST, limit=limit, cursor=cursor)
    demand_ids = {invitation.demand_id for invitation in page.items}
    demands = (
        {
            demand.id: demand
            for demand in await session.scalars(select(Demand).where(Demand.id.in_(demand_ids)))
        }
        if demand_ids
        else {}
    )
    return Page(
        items=[_received(invitation, demands[invitation.demand_id]) for invitation in page.items],
        next_cursor=page.next_cursor,
    )


def _received(invitation: DemandInvitation, demand: Demand) -> ReceivedInvitation:
    return ReceivedInvitation(
        id=invitation.id,
        demand_id=invitation.demand_id,
        organization_id=invitation.organization_id,
        created_at=invitation.created_at,
        demand=InvitedDemand(
            id=demand.id,
            title=demand.title,
            kind=demand.kind,
            status=demand.current_status,
            deadline=demand.deadline,
        ),
    )
