"""/v1/deals: contracts paid through escrow. Every POST that moves money (or makes a deal)
takes an ``Idempotency-Key`` header and runs in a short transaction of its own."""

import uuid
from typing import Annotated

from fastapi import Body, Query, status

from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.models.deals import Deal, DealStatus
from app.routers.deps import CurrentPrincipal, Cursor, Limit, SessionDep, SettingsDep
from app.routers.money import MoneyRequest
from app.schemas.deals import DealCreate, DealPage, DealRead, DealSettle
from app.services import deals as deals_service

router = PrefixRouter(prefix="/v1/deals", tags=["deals"])

MONEY_ERRORS = problem_responses(400, 401, 403, 404, 409, 422)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DealRead,
    responses={**MONEY_ERRORS, **sends_headers(201, "Location")},
)
async def create_deal(body: DealCreate, money: MoneyRequest, settings: SettingsDep) -> DealRead:
    """Open a deal for a published technology (scope deals:write; the buyer's members or
    operators). Fee and tax rates come from the category's current defaults."""
    values = deals_service.DealInput(
        technology_id=body.technology_id,
        title=body.title,
        category=body.category,
        gross_fen=body.gross_amount,
        buyer_id=body.buyer_id,
        terms=body.terms,
        milestones=[
            deals_service.MilestoneInput(title=m.title, amount_fen=m.amount)
            for m in body.milestones
        ],
    )
    deal = await money.run(
        DealRead,
        lambda session: deals_service.create_deal(
            session,
            money.principal,
            values,
            fee_rate_bp=settings.deal_fee_rate_bp,
            tax_rate_bp=settings.deal_tax_rate_bp,
        ),
        payload=body.model_dump(mode="json"),
    )
    money.response.headers["Location"] = f"{router.prefix}/{deal.id}"
    return deal


@router.get("", response_model=DealPage, responses=problem_responses(400, 401, 422))
async def list_deals(
    session: SessionDep,
    principal: CurrentPrincipal,
    deal_status: Annotated[DealStatus | None, Query(alias="status")] = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Deal]:
    """Deals the caller takes part in (operators and auditors: all), newest first."""
    return await deals_service.list_deals(
        session, principal, status=deal_status, limit=limit, cursor=cursor
    )


@router.get("/{deal_id}", response_model=DealRead, responses=problem_responses(401, 404))
async def get_deal(deal_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal) -> Deal:
    """One deal, with its milestones and what it has moved so far."""
    return await deals_service.get_deal(session, principal, deal_id)


@router.post("/{deal_id}/fund", response_model=DealRead, responses=MONEY_ERRORS)
async def fund_deal(deal_id: uuid.UUID, money: MoneyRequest) -> DealRead:
    """Record that the buyer's payment arrived: the gross goes into escrow (operators)."""
    return await money.run(
        DealRead, lambda session: deals_service.fund_deal(session, money.principal, deal_id)
    )


@router.post("/{deal_id}/settle", response_model=DealRead, responses=MONEY_ERRORS)
async def settle_deal(
    deal_id: uuid.UUID,
    money: MoneyRequest,
    body: Annotated[DealSettle, Body()] = DealSettle(),  # noqa: B008 (an empty body is allowed)
) -> DealRead:
    """Accept and pay the seller: one milestone, or everything escrow still holds for the deal
    (the buyer or an operator). Fee and tax are split out to the platform's accounts."""
    milestone_id = body.milestone_id
    return await money.run(
        DealRead,
        lambda session: deals_service.settle_deal(
            session, money.principal, deal_id, milestone_id=milestone_id
        ),
        payload={"milestone_id": str(milestone_id) if milestone_id else None},
    )


@router.post("/{deal_id}/refund", response_model=DealRead, responses=MONEY_ERRORS)
async def refund_deal(deal_id: uuid.UUID, money: MoneyRequest) -> DealRead:
    """Return to the buyer whatever escrow still holds for the deal (operators)."""
    return await money.run(
        DealRead, lambda session: deals_service.refund_deal(session, money.principal, deal_id)
    )


@router.post("/{deal_id}/cancel", response_model=DealRead, responses=MONEY_ERRORS)
async def cancel_deal(deal_id: uuid.UUID, money: MoneyRequest) -> DealRead:
    """Call off a deal that has not been funded (either party or an operator)."""
    return await money.run(
        DealRead, lambda session: deals_service.cancel_deal(session, money.principal, deal_id)
    )
