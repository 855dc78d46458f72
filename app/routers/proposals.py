"""/v1/demands/{demand_id}/proposals: sealed proposals, their revisions and audit, and the
award that opens a deal (an idempotent money request, like opening a deal directly)."""

import uuid
from typing import Annotated

from fastapi import Body, Query, Response, status

from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT
from app.core.routing import PrefixRouter
from app.models.demands import Proposal, ProposalStatus
from app.routers.deps import CurrentPrincipal, Cursor, Limit, SessionDep, SettingsDep
from app.routers.money import MoneyRequest
from app.schemas.proposals import (
    ProposalAuditPage,
    ProposalAward,
    ProposalCreate,
    ProposalPage,
    ProposalRead,
    ProposalUpdate,
)
from app.services import deals as deals_service
from app.services import proposals as proposals_service

router = PrefixRouter(prefix="/v1/demands/{demand_id}/proposals", tags=["proposals"])


def _milestones(body: ProposalCreate | ProposalUpdate) -> tuple[deals_service.MilestoneInput, ...]:
    return tuple(
        deals_service.MilestoneInput(title=m.title, amount_fen=m.amount)
        for m in body.milestones or ()
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProposalRead,
    responses={**problem_responses(401, 403, 404, 409, 422), **sends_headers(201, "Location")},
)
async def submit_proposal(
    demand_id: uuid.UUID,
    body: ProposalCreate,
    session: SessionDep,
    principal: CurrentPrincipal,
    response: Response,
) -> Proposal:
    """Answer an open demand for your organization (scope demands:write): one live proposal
    per organization, sealed from the owner until the deadline."""
    values = proposals_service.ProposalInput(
        price_fen=body.price,
        timeline_days=body.timeline_days,
        plan=body.plan,
        milestones=_milestones(body),
        solution=body.solution,
    )
    proposal = await proposals_service.submit_proposal(
        session, principal=principal, demand_id=demand_id, values=values
    )
    response.headers["Location"] = f"/v1/demands/{demand_id}/proposals/{proposal.id}"
    return proposal


@router.get("", response_model=ProposalPage, responses=problem_responses(400, 401, 404, 422))
async def list_proposals(
    demand_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    proposal_status: Annotated[ProposalStatus | None, Query(alias="status")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> proposals_service.ProposalList:
    """A demand's proposals, oldest first: a provider reads its own; the owner reads their
    count until the deadline and all of them after; staff and auditors read all."""
    return await proposals_service.list_proposals(
        session,
        principal=principal,
        demand_id=demand_id,
        status=proposal_status,
        limit=limit,
        cursor=cursor,
    )


@router.get(
    "/audit", response_model=ProposalAuditPage, responses=problem_responses(400, 401, 403, 404, 422)
)
async def audit_proposals(
    demand_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> proposals_service.ProposalAudit:
    """Every proposal's revisions with their hashes recomputed and their times checked against
    the deadline (the owner once closed, staff and auditors)."""
    return await proposals_service.audit_proposals(
        session, principal=principal, demand_id=demand_id, limit=limit, cursor=cursor
    )


@router.get(
    "/{proposal_id:uuid}", response_model=ProposalRead, responses=problem_responses(401, 404, 422)
)
async def get_proposal(
    demand_id: uuid.UUID, proposal_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Proposal:
    """One proposal, if sealing lets the caller read it."""
    return await proposals_service.get_proposal(
        session, principal=principal, demand_id=demand_id, proposal_id=proposal_id
    )


@router.patch(
    "/{proposal_id:uuid}",
    response_model=ProposalRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def revise_proposal(
    demand_id: uuid.UUID,
    proposal_id: uuid.UUID,
    body: ProposalUpdate,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> Proposal:
    """Revise your organization's proposal while the demand is open: a new revision, its
    hash and time recorded (none when nothing changes)."""
    sent = body.model_fields_set
    changes: dict[str, object] = {
        name: getattr(body, name) for name in ("plan", "timeline_days", "solution") if name in sent
    }
    if "price" in sent:
        changes["price_fen"] = body.price
    if "milestones" in sent:
        changes["milestones"] = _milestones(body)
    return await proposals_service.revise_proposal(
        session,
        principal=principal,
        demand_id=demand_id,
        proposal_id=proposal_id,
        changes=changes,
    )


@router.post(
    "/{proposal_id:uuid}/withdraw",
    response_model=ProposalRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def withdraw_proposal(
    demand_id: uuid.UUID, proposal_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Proposal:
    """Withdraw your organization's proposal while the demand is open (a new one may follow)."""
    return await proposals_service.withdraw_proposal(
        session, principal=principal, demand_id=demand_id, proposal_id=proposal_id
    )


@router.post(
    "/{proposal_id:uuid}/award",
    response_model=ProposalRead,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def award_proposal(
    demand_id: uuid.UUID,
    proposal_id: uuid.UUID,
    money: MoneyRequest,
    settings: SettingsDep,
    body: Annotated[ProposalAward, Body()] = ProposalAward(),  # noqa: B008 (an empty body is allowed)
) -> ProposalRead:
    """Award a closed demand to one proposal (its owner; Idempotency-Key required): the others
    become unsuccessful and a deal opens, buyer the owner, seller the proposer, at its price."""
    category = body.category
    return await money.run(
        ProposalRead,
        lambda session: proposals_service.award_proposal(
            session,
            principal=money.principal,
            demand_id=demand_id,
            proposal_id=proposal_id,
            category=category,
            fee_rate_bp=settings.deal_fee_rate_bp,
            tax_rate_bp=settings.deal_tax_rate_bp,
        ),
        payload={"category": category.value if category else None},
    )
