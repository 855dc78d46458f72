"""/v1/deals: contracts paid through escrow. Every POST that moves money (or makes a deal)
takes an ``Idempotency-Key`` header and runs in a short transaction of its own."""

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Body, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import problem_responses
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.models.deals import Deal, DealStatus
from app.routers.deps import CurrentPrincipal, Cursor, DatabaseDep, Limit, SessionDep, SettingsDep
from app.routers.money import IdempotencyKey, idempotent
from app.schemas.deals import DealCreate, DealPage, DealRead, DealSettle
from app.services import deals as deals_service

router = PrefixRouter(prefix="/v1/deals", tags=["deals"])

MONEY_ERRORS = problem_responses(400, 401, 403, 404, 409, 422)


def _deal_work(
    work: Callable[[AsyncSession], Awaitable[Deal]], status_code: int = status.HTTP_200_OK
) -> Callable[[AsyncSession], Awaitable[tuple[int, Any]]]:
    async def run(session: AsyncSession) -> tuple[int, Any]:
        deal = await work(session)
        return status_code, DealRead.model_validate(deal).model_dump(mode="json")

    return run


def _deal_location(body: str) -> str:
    return f"/v1/deals/{json.loads(body)['id']}"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DealRead,
    responses=MONEY_ERRORS,
)
async def create_deal(
    body: DealCreate,
    request: Request,
    db: DatabaseDep,
    settings: SettingsDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> Response:
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
    return await idempotent(
        request,
        db,
        principal,
        idempotency_key,
        body.model_dump(mode="json"),
        _deal_work(
            lambda session: deals_service.create_deal(
                session,
                principal,
                values,
                fee_rate_bp=settings.deal_fee_rate_bp,
                tax_rate_bp=settings.deal_tax_rate_bp,
            ),
            status.HTTP_201_CREATED,
        ),
        location=_deal_location,
    )


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
async def fund_deal(
    deal_id: uuid.UUID,
    request: Request,
    db: DatabaseDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record that the buyer's payment arrived: the gross goes into escrow (operators)."""
    return await idempotent(
        request,
        db,
        principal,
        idempotency_key,
        None,
        _deal_work(lambda session: deals_service.fund_deal(session, principal, deal_id)),
    )


@router.post("/{deal_id}/settle", response_model=DealRead, responses=MONEY_ERRORS)
async def settle_deal(
    deal_id: uuid.UUID,
    request: Request,
    db: DatabaseDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
    body: Annotated[DealSettle, Body()] = DealSettle(),  # noqa: B008 (an empty body is allowed)
) -> Response:
    """Accept and pay the seller: one milestone, or everything escrow still holds for the deal
    (the buyer or an operator). Fee and tax are split out to the platform's accounts."""
    milestone_id = body.milestone_id
    return await idempotent(
        request,
        db,
        principal,
        idempotency_key,
        {"milestone_id": str(milestone_id) if milestone_id else None},
        _deal_work(
            lambda session: deals_service.settle_deal(
                session, principal, deal_id, milestone_id=milestone_id
            )
        ),
    )


@router.post("/{deal_id}/refund", response_model=DealRead, responses=MONEY_ERRORS)
async def refund_deal(
    deal_id: uuid.UUID,
    request: Request,
    db: DatabaseDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Return to the buyer whatever escrow still holds for the deal (operators)."""
    return await idempotent(
        request,
        db,
        principal,
        idempotency_key,
        None,
        _deal_work(lambda session: deals_service.refund_deal(session, principal, deal_id)),
    )


@router.post("/{deal_id}/cancel", response_model=DealRead, responses=MONEY_ERRORS)
async def cancel_deal(
    deal_id: uuid.UUID,
    request: Request,
    db: DatabaseDep,
    principal: CurrentPrincipal,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Call off a deal that has not been funded (either party or an operator)."""
    return await idempotent(
        request,
        db,
        principal,
        idempotency_key,
        None,
        _deal_work(lambda session: deals_service.cancel_deal(session, principal, deal_id)),
    )
