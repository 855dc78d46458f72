"""/v1/payouts and /v1/tax-remittances: money leaving the platform's books (operators; every
POST takes an ``Idempotency-Key``), read by operators and auditors; and
/v1/organizations/{id}/balance, what an organization's members see of theirs."""

import uuid
from typing import Annotated

from fastapi import Depends, Query, status

from app.core.calendar import day_end, day_start
from app.core.errors import problem_responses
from app.core.openapi import sends_headers
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.core.security import Principal, Scope
from app.models.payouts import Payout, PayoutStatus, TaxRemittance
from app.routers.deps import CurrentPrincipal, Cursor, Limit, RequireScope, SessionDep, SettingsDep
from app.routers.ledger import FromQuery, ToQuery
from app.routers.money import MoneyRequest
from app.schemas.payouts import (
    PERIOD_PATTERN,
    OrganizationBalanceRead,
    PayoutCreate,
    PayoutPage,
    PayoutRead,
    PayoutReturn,
    TaxRemittanceCreate,
    TaxRemittancePage,
    TaxRemittanceRead,
)
from app.services import payouts as payouts_service

router = PrefixRouter(prefix="/v1/payouts", tags=["payouts"])
tax_router = PrefixRouter(prefix="/v1/tax-remittances", tags=["payouts"])
balance_router = PrefixRouter(prefix="/v1/organizations", tags=["payouts"])

Reader = Annotated[Principal, Depends(RequireScope(Scope.ledger_read))]
MONEY_ERRORS = problem_responses(400, 401, 403, 404, 409, 422)
LIST_ERRORS = problem_responses(400, 401, 403, 422)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PayoutRead,
    responses={**MONEY_ERRORS, **sends_headers(201, "Location")},
)
async def create_payout(body: PayoutCreate, money: MoneyRequest) -> PayoutRead:
    """Pay out part or all of an organization's payable balance to its bank (operators)."""
    payout = await money.run(
        PayoutRead,
        lambda session: payouts_service.create_payout(
            session,
            money.principal,
            organization_id=body.organization_id,
            amount_fen=body.amount,
            bank_reference=body.bank_reference,
        ),
        payload=body.model_dump(mode="json"),
    )
    money.response.headers["Location"] = f"{router.prefix}/{payout.id}"
    return payout


@router.post("/{payout_id}/return", response_model=PayoutRead, responses=MONEY_ERRORS)
async def return_payout(
    payout_id: uuid.UUID, body: PayoutReturn, money: MoneyRequest
) -> PayoutRead:
    """Record that the bank returned a payout: reverses its entry, once (operators)."""
    return await money.run(
        PayoutRead,
        lambda session: payouts_service.return_payout(
            session, money.principal, payout_id, reason=body.reason
        ),
        payload=body.model_dump(mode="json"),
    )


@router.get("", response_model=PayoutPage, responses=LIST_ERRORS)
async def list_payouts(
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    organization_id: uuid.UUID | None = None,
    payout_status: Annotated[PayoutStatus | None, Query(alias="status")] = None,
    start: FromQuery = None,
    end: ToQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[Payout]:
    """Payouts, newest first (operators and auditors)."""
    return await payouts_service.list_payouts(
        session,
        organization_id=organization_id,
        status=payout_status,
        start=day_start(start, settings.timezone),
        end=day_end(end, settings.timezone),
        limit=limit,
        cursor=cursor,
    )


@router.get("/{payout_id}", response_model=PayoutRead, responses=problem_responses(401, 404, 422))
async def get_payout(
    payout_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Payout:
    """One payout (staff, auditors, and the members of the organization paid)."""
    return await payouts_service.get_payout(session, principal, payout_id)


@balance_router.get(
    "/{organization_id}/balance",
    response_model=OrganizationBalanceRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_organization_balance(
    organization_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> payouts_service.OrganizationBalance:
    """What the platform owes an organization, with its latest settlements and payouts."""
    return await payouts_service.organization_balance(session, principal, organization_id)


@tax_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaxRemittanceRead,
    responses=MONEY_ERRORS,
)
async def create_tax_remittance(
    body: TaxRemittanceCreate, money: MoneyRequest
) -> TaxRemittanceRead:
    """Record tax paid to the tax authority, with its receipt number (operators)."""
    return await money.run(
        TaxRemittanceRead,
        lambda session: payouts_service.create_tax_remittance(
            session,
            money.principal,
            amount_fen=body.amount,
            receipt_number=body.receipt_number,
            period=body.period,
        ),
        payload=body.model_dump(mode="json"),
    )


@tax_router.get("", response_model=TaxRemittancePage, responses=LIST_ERRORS)
async def list_tax_remittances(
    session: SessionDep,
    settings: SettingsDep,
    _: Reader,
    period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
    start: FromQuery = None,
    end: ToQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[TaxRemittance]:
    """Tax remittances, newest first (operators and auditors)."""
    return await payouts_service.list_tax_remittances(
        session,
        period=period,
        start=day_start(start, settings.timezone),
        end=day_end(end, settings.timezone),
        limit=limit,
        cursor=cursor,
    )
