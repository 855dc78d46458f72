"""/v1/ledger: what auditors read (role auditor or scope ledger:read; read-only), and the
reversal of an entry (operators)."""

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query
from fastapi.responses import StreamingResponse

from app.core.calendar import day_end, day_start, moment
from app.core.errors import problem_responses
from app.core.openapi import STREAMED
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.core.security import Principal, Scope
from app.models.ledger import EntryKind, JournalEntry
from app.routers.deps import (
    Cursor,
    DatabaseDep,
    Limit,
    RequireScope,
    SessionDep,
    SettingsDep,
)
from app.routers.money import MoneyRequest
from app.schemas.base import DayOrTime
from app.schemas.deals import EntryReverse
from app.schemas.ledger import AccountList, AccountRead, EntryPage, EntryRead, Totals, Verification
from app.services import deals as deals_service
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import entries as ledger_entries
from app.services.ledger import export as ledger_export
from app.services.ledger import totals as ledger_totals
from app.services.ledger import verify as ledger_verify

router = PrefixRouter(prefix="/v1/ledger", tags=["ledger"])

Auditor = Annotated[Principal, Depends(RequireScope(Scope.ledger_read))]
READ_ERRORS = problem_responses(400, 401, 403, 422)


FromQuery = Annotated[
    DayOrTime | None,
    Query(alias="from", description="A time, or a day (from its start, platform time zone)."),
]
ToQuery = Annotated[
    DayOrTime | None,
    Query(alias="to", description="A time (exclusive), or a day (through its end)."),
]


def _account(item: ledger_accounts.AccountBalance) -> AccountRead:
    return AccountRead.model_validate(
        {
            "id": item.account.id,
            "code": item.account.code,
            "kind": item.account.kind,
            "organization_id": item.account.organization_id,
            "may_go_negative": item.account.may_go_negative,
            "balance": item.balance_fen,
            "as_of": item.as_of,
        }
    )


@router.get("/accounts", response_model=AccountList, responses=READ_ERRORS)
async def list_ledger_accounts(session: SessionDep, _: Auditor) -> AccountList:
    """Every ledger account with its current balance."""
    return AccountList(items=[_account(a) for a in await ledger_accounts.list_accounts(session)])


@router.get(
    "/accounts/{account_id}",
    response_model=AccountRead,
    responses=problem_responses(401, 403, 404, 422),
)
async def get_ledger_account(
    account_id: uuid.UUID,
    session: SessionDep,
    settings: SettingsDep,
    _: Auditor,
    as_of: Annotated[
        DayOrTime | None,
        Query(description="Balance at this time, or at the end of this day; default now."),
    ] = None,
) -> AccountRead:
    """One account and its balance, now or at any past time."""
    at = moment(as_of, settings.timezone) if as_of is not None else None
    return _account(await ledger_accounts.account_balance(session, account_id, as_of=at))


@router.get("/entries", response_model=EntryPage, responses=READ_ERRORS)
async def list_ledger_entries(
    session: SessionDep,
    settings: SettingsDep,
    _: Auditor,
    deal_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
    kind: EntryKind | None = None,
    start: FromQuery = None,
    end: ToQuery = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[JournalEntry]:
    """Journal entries with their postings, in the order they happened."""
    return await ledger_entries.list_entries(
        session,
        deal_id=deal_id,
        account_id=account_id,
        kind=kind,
        start=day_start(start, settings.timezone),
        end=day_end(end, settings.timezone),
        limit=limit,
        cursor=cursor,
    )


@router.get("/totals", response_model=Totals, responses=READ_ERRORS)
async def get_ledger_totals(
    session: SessionDep,
    settings: SettingsDep,
    _: Auditor,
    start: FromQuery = None,
    end: ToQuery = None,
    group_by: ledger_totals.GroupBy = ledger_totals.GroupBy.none,
) -> Totals:
    """Settled volume, tax accrued, fee, deals settled and enterprises served, per calendar
    period (platform time zone), category, seller or buyer, and the tax remitted in the
    period; read from the entries."""
    report = await ledger_totals.totals_report(
        session,
        start=day_start(start, settings.timezone),
        end=day_end(end, settings.timezone),
        group_by=group_by,
        zone=settings.timezone,
    )
    return Totals.model_validate(
        {
            "group_by": group_by.value,
            "timezone": settings.timezone,
            "groups": report.groups,
            "tax_remitted": report.tax_remitted_fen,
        }
    )


@router.get(
    "/export",
    response_class=StreamingResponse,
    openapi_extra=STREAMED,
    responses={
        200: {
            "description": "The entries of the period, streamed. Both formats carry the same"
            " postings with the same days (platform time zone), accounts and signs: the"
            " platform's books, debit positive, credit negative (docs/api-conventions.md).",
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": "\ufeff" + ",".join(ledger_export.CSV_HEADER) + "\n",
                },
                "text/plain": {
                    "schema": {"type": "string"},
                    "example": '2020-04-20 * "settlement" "结算 盾构刀盘耐磨涂层技术转让"\n',
                },
            },
        },
        **READ_ERRORS,
    },
)
async def export_ledger(
    db: DatabaseDep,
    settings: SettingsDep,
    _: Auditor,
    export_format: Annotated[
        Literal["csv", "beancount"],
        Query(
            alias="format",
            description="csv (one row per posting, text/csv) or beancount (text/plain).",
        ),
    ] = "csv",
    start: FromQuery = None,
    end: ToQuery = None,
    bom: Annotated[
        bool,
        Query(
            description="CSV only: start with the UTF-8 byte order mark, so that Excel (which"
            " reads a CSV without one in the desktop's code page, GBK on Chinese Windows) shows"
            " Chinese names right. Programs that do not skip a BOM: bom=false.",
        ),
    ] = True,
) -> StreamingResponse:
    """The ledger as CSV (one row per posting) or as a Beancount file with balance
    assertions at the end of the period (``bean-check`` accepts it)."""
    zone = settings.timezone
    first, last = day_start(start, zone), day_end(end, zone)
    ledger_entries.check_period(first, last)  # an empty period is a 422 before anything streams
    chunks = ledger_export.export(db, export_format, start=first, end=last, zone=zone, bom=bom)

    name = "ledger.csv" if export_format == "csv" else "ledger.beancount"
    media = "text/csv; charset=utf-8" if export_format == "csv" else "text/plain; charset=utf-8"
    return StreamingResponse(
        chunks,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/verify", response_model=Verification, responses=READ_ERRORS)
async def verify_ledger(session: SessionDep, _: Auditor) -> ledger_verify.Verification:
    """Recompute every hash chain, every entry's zero sum and every balance."""
    return await ledger_verify.verify(session)


@router.post(
    "/entries/{entry_id}/reverse",
    status_code=201,
    response_model=EntryRead,
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
async def reverse_ledger_entry(
    entry_id: uuid.UUID, body: EntryReverse, money: MoneyRequest
) -> EntryRead:
    """Undo an entry with one opposite entry (at most one per entry) and put its deal back
    where it was (operators)."""
    return await money.run(
        EntryRead,
        lambda session: deals_service.reverse_entry(
            session, money.principal, entry_id, reason=body.reason
        ),
        payload=body.model_dump(mode="json"),
    )
