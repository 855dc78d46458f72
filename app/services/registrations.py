"""Technology-contract registration (技术合同认定登记): what a deal's parties file with the
technology-market office, the registration number the office grants, and the auditors' list
of registered contracts with their technical amounts (技术交易额) by kind.

The contract amount is the deal's gross; the technical amount is that less the non-technical
costs the parties state (equipment, materials), which can never exceed it. The parties (or
operators) file and correct the record until it is registered; operators record the number
the office granted, after which the record is frozen: the zone's reported totals are read from
it.
"""

import csv
import io
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.core.calendar import utcnow
from app.core.db import locking
from app.core.errors import (
    Conflict,
    IllegalTransition,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.security import Principal, Role, Scope
from app.models.deals import ContractCategory, ContractSubKind, Deal, DealRegistration, DealStatus
from app.schemas.base import fen_to_yuan
from app.services import deals as deals_service

#: The sub-kinds a category may be filed with, and whether one is required (技术合同认定规则).
SUB_KINDS: Mapping[ContractCategory, frozenset[ContractSubKind]] = {
    ContractCategory.development: frozenset(
        {ContractSubKind.entrusted_development, ContractSubKind.cooperative_development}
    ),
    ContractCategory.transfer: frozenset(
        {
            ContractSubKind.patent_transfer,
            ContractSubKind.patent_application_transfer,
            ContractSubKind.technical_secret_transfer,
        }
    ),
    ContractCategory.license: frozenset(
        {ContractSubKind.patent_license, ContractSubKind.technical_secret_license}
    ),
    ContractCategory.consulting: frozenset(
        {
            ContractSubKind.feasibility_study,
            ContractSubKind.technology_forecast,
            ContractSubKind.technical_survey,
            ContractSubKind.analysis_report,
        }
    ),
    ContractCategory.service: frozenset(
        {ContractSubKind.technical_training, ContractSubKind.technical_intermediary}
    ),
}
#: Development, transfer and license contracts are filed as one of their sub-kinds; a
#: consulting or service contract may name one or none (a general technical service).
SUB_KIND_REQUIRED = frozenset(
    {ContractCategory.development, ContractCategory.transfer, ContractCategory.license}
)
#: A contract is filed while it stands: not once it was called off or refunded.
FILABLE = (DealStatus.created, DealStatus.funded, DealStatus.settled)


@dataclass(frozen=True, slots=True)
class RegistrationInput:
    """What the parties file."""

    contract_number: str
    sub_kind: ContractSubKind | None
    signed_on: date
    non_technical_fen: int = 0


@dataclass(frozen=True, slots=True)
class Registration:
    """A deal's registration record with the deal's side of it (kind, parties, amount)."""

    deal_id: uuid.UUID
    category: ContractCategory
    buyer_id: uuid.UUID
    seller_id: uuid.UUID
    contract_number: str
    sub_kind: ContractSubKind | None
    signed_on: date
    contract_amount_fen: int
    non_technical_fen: int
    registration_number: str | None
    registered_on: date | None
    filed_by: str
    registered_by: str | None
    updated_at: datetime
    version: int

    @property
    def technical_fen(self) -> int:
        """技术交易额: the contract amount less its non-technical costs."""
        return self.contract_amount_fen - self.non_technical_fen

    @property
    def status(self) -> str:
        return "registered" if self.registration_number is not None else "filed"

    @classmethod
    def of(cls, record: DealRegistration, deal: Deal) -> "Registration":
        return cls(
            deal_id=deal.id,
            category=deal.category,
            buyer_id=deal.buyer_id,
            seller_id=deal.seller_id,
            contract_number=record.contract_number,
            sub_kind=record.sub_kind,
            signed_on=record.signed_on,
            contract_amount_fen=deal.gross_fen,
            non_technical_fen=record.non_technical_fen,
            registration_number=record.registration_number,
            registered_on=record.registered_on,
            filed_by=record.filed_by,
            registered_by=record.registered_by,
            updated_at=record.updated_at,
            version=record.version,
        )


@dataclass(frozen=True, slots=True)
class KindTotal:
    """The registered contracts of one kind (category) in a period, or of all (``None``)."""

    category: ContractCategory | None
    contracts: int
    contract_amount_fen: int
    non_technical_fen: int

    @property
    def technical_fen(self) -> int:
        return self.contract_amount_fen - self.non_technical_fen


@dataclass(frozen=True, slots=True)
class RegistrationListing:
    """One page of the period's registered contracts, and the whole period's totals."""

    start: date | None
    end: date | None
    items: list[Registration]
    next_cursor: str | None
    by_category: list[KindTotal]
    total: KindTotal


def today(zone: str) -> date:
    """The platform's calendar day now."""
    return utcnow().astimezone(ZoneInfo(zone)).date()


def etag_of(registration: Registration) -> str:
    return f'"{registration.version}"'


def _check_precondition(record: DealRegistration | None, if_match: str | None) -> None:
    """If-Match against the record's version; ``*`` needs a record, a tag a matching one."""
    if if_match is None:
        return
    if if_match.strip() == "*":
        if record is None:
            raise PreconditionFailed("No registration is filed for the deal yet.")
        return
    current = None if record is None else str(record.version)
    for candidate in if_match.split(","):
        tag = candidate.strip()
        if not tag.startswith("W/") and current is not None and tag.strip('"') == current:
            return
    raise PreconditionFailed(
        "The registration has changed"
        + (f" (it is at version {current})" if current else " (none is filed)")
        + "; fetch it again.",
        code="stale_etag",
    )


def _check_filing(deal: Deal, values: RegistrationInput, *, zone: str) -> None:
    allowed = SUB_KINDS[deal.category]
    if values.sub_kind is None and deal.category in SUB_KIND_REQUIRED:
        names = ", ".join(sorted(kind.value for kind in allowed))
        raise ValidationFailed(
            f"A {deal.category.value} contract is filed as one of: {names}.",
            code="sub_kind_required",
        )
    if values.sub_kind is not None and values.sub_kind not in allowed:
        raise ValidationFailed(
            f"{values.sub_kind.value} is not a kind of {deal.category.value} contract.",
            code="sub_kind_not_in_category",
        )
    if values.non_technical_fen > deal.gross_fen:
        raise ValidationFailed(
            "The non-technical costs cannot exceed the contract amount"
            f" ({fen_to_yuan(deal.gross_fen)} CNY).",
            code="non_technical_costs_above_amount",
        )
    if values.signed_on > today(zone):
        raise ValidationFailed(
            "A contract cannot be signed in the future.", code="signed_in_future"
        )


async def _locked_deal(session: AsyncSession, principal: Principal, deal_id: uuid.UUID) -> Deal:
    """The deal as its caller may see it (404 otherwise), its row locked: a deal's filings and
    grants run one at a time."""
    await deals_service.get_deal(session, principal, deal_id)
    stmt = locking(session, select(Deal).where(Deal.id == deal_id), of=Deal)
    return (await session.scalars(stmt)).one()


async def _record(session: AsyncSession, deal_id: uuid.UUID) -> DealRegistration | None:
    stmt = select(DealRegistration).where(DealRegistration.deal_id == deal_id)
    return (await session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()


async def get_registration(
    session: AsyncSession, *, principal: Principal, deal_id: uuid.UUID
) -> Registration:
    """A deal's registration record: its parties, staff and auditors."""
    deal = await deals_service.get_deal(session, principal, deal_id)
    record = await _record(session, deal_id)
    if record is None:
        raise NotFound(f"No registration is filed for deal {deal_id}.")
    return Registration.of(record, deal)


async def file_registration(
    session: AsyncSession,
    *,
    principal: Principal,
    deal_id: uuid.UUID,
    values: RegistrationInput,
    if_match: str | None,
    zone: str,
) -> Registration:
    """File or correct a deal's registration data (a party with deals:write, or operators);
    the same data again changes nothing. Frozen once registered."""
    principal.require_scope(Scope.deals_write)
    deal = await _locked_deal(session, principal, deal_id)
    record = await _record(session, deal_id)
    _check_precondition(record, if_match)
    if deal.status not in FILABLE:
        raise IllegalTransition(f"A {deal.status.value} deal's contract is not registered.")
    if record is not None and record.registration_number is not None:
        raise IllegalTransition(
            "The contract is registered: its filed data no longer changes.",
        )
    _check_filing(deal, values, zone=zone)
    if record is None:
        record = DealRegistration(deal_id=deal.id, filed_by=principal.label)
        session.add(record)
    changed = (
        record.contract_number,
        record.sub_kind,
        record.signed_on,
        record.non_technical_fen,
    ) != (values.contract_number, values.sub_kind, values.signed_on, values.non_technical_fen)
    if changed:
        record.contract_number, record.sub_kind = values.contract_number, values.sub_kind
        record.signed_on, record.non_technical_fen = values.signed_on, values.non_technical_fen
        record.filed_by = principal.label
        await session.flush()
    return Registration.of(record, deal)


async def grant_registration(
    session: AsyncSession,
    *,
    principal: Principal,
    deal_id: uuid.UUID,
    registration_number: str,
    registered_on: date,
    zone: str,
) -> Registration:
    """Record the number the technology-market office granted (operators); the same number
    and day again changes nothing, another is a conflict."""
    principal.require_role(Role.admin, Role.operator)
    deal = await _locked_deal(session, principal, deal_id)
    record = await _record(session, deal_id)
    if record is None:
        raise IllegalTransition("The contract's registration data has not been filed yet.")
    if record.registration_number is not None:
        if (record.registration_number, record.registered_on) == (
            registration_number,
            registered_on,
        ):
            return Registration.of(record, deal)
        raise IllegalTransition(
            f"The contract is already registered as {record.registration_number}."
        )
    if deal.status not in FILABLE:
        raise IllegalTransition(f"A {deal.status.value} deal's contract is not registered.")
    if registered_on < record.signed_on:
        raise ValidationFailed(
            "A contract is registered on or after the day it was signed"
            f" ({record.signed_on.isoformat()}).",
            code="registered_before_signing",
        )
    if registered_on > today(zone):
        raise ValidationFailed(
            "A registration cannot be dated in the future.", code="registered_in_future"
        )
    record.registration_number, record.registered_on = registration_number, registered_on
    record.registered_by = principal.label
    try:
        await session.flush()
    except IntegrityError as exc:  # the number is unique; the unit of work rolls back
        raise Conflict(
            f"Registration number {registration_number} is another contract's.",
            code="registration_number_taken",
        ) from exc
    return Registration.of(record, deal)


# --- the auditors' list ----------------------------------------------------------------------

OLDEST = KeysetOrder(
    "registrations:registered", (DealRegistration.registered_on, DealRegistration.id), False
)


def check_period(start: date | None, end: date | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValidationFailed("'to' must not be before 'from'.", code="empty_period")


def _registered_within(start: date | None, end: date | None) -> list[ColumnElement[bool]]:
    """Registered contracts whose registration day is in [start, end], days inclusive."""
    check_period(start, end)
    conditions: list[ColumnElement[bool]] = [DealRegistration.registration_number.is_not(None)]
    if start is not None:
        conditions.append(DealRegistration.registered_on >= start)
    if end is not None:
        conditions.append(DealRegistration.registered_on <= end)
    return conditions


def _registered(start: date | None, end: date | None) -> Select[DealRegistration]:
    return (
        select(DealRegistration)
        .where(*_registered_within(start, end))
        .options(joinedload(DealRegistration.deal).raiseload(Deal.milestones))
    )


async def _totals(
    session: AsyncSession, start: date | None, end: date | None
) -> tuple[list[KindTotal], KindTotal]:
    stmt = (
        select(
            Deal.category,
            func.count(),
            func.coalesce(func.sum(Deal.gross_fen), 0),
            func.coalesce(func.sum(DealRegistration.non_technical_fen), 0),
        )
        .select_from(DealRegistration)
        .join(Deal, Deal.id == DealRegistration.deal_id)
        .where(*_registered_within(start, end))
        .group_by(Deal.category)
    )
    found = {
        category: (int(count), int(gross), int(non_technical))
        for category, count, gross, non_technical in (await session.execute(stmt)).all()
    }
    by_category = [
        KindTotal(category, *found.get(category, (0, 0, 0))) for category in ContractCategory
    ]
    total = KindTotal(
        None,
        sum(t.contracts for t in by_category),
        sum(t.contract_amount_fen for t in by_category),
        sum(t.non_technical_fen for t in by_category),
    )
    return by_category, total


async def _page(
    session: AsyncSession, *, start: date | None, end: date | None, limit: int, cursor: str | None
) -> Page[Registration]:
    page: Page[DealRegistration] = await paginate(
        session, _registered(start, end), order=OLDEST, limit=limit, cursor=cursor
    )
    return Page(
        items=[Registration.of(record, record.deal) for record in page.items],
        next_cursor=page.next_cursor,
    )


async def list_registrations(
    session: AsyncSession,
    *,
    start: date | None,
    end: date | None,
    limit: int,
    cursor: str | None,
) -> RegistrationListing:
    """The contracts registered in [start, end] (days), oldest first, a page at a time, with
    the totals of the whole period by kind."""
    by_category, total = await _totals(session, start, end)
    page = await _page(session, start=start, end=end, limit=limit, cursor=cursor)
    return RegistrationListing(
        start=start,
        end=end,
        items=page.items,
        next_cursor=page.next_cursor,
        by_category=by_category,
        total=total,
    )


CSV_HEADER = [
    "row",
    "deal_id",
    "category",
    "sub_kind",
    "contract_number",
    "registration_number",
    "signed_on",
    "registered_on",
    "contracts",
    "contract_amount",
    "non_technical_costs",
    "technical_amount",
]
CSV_BATCH = 1000


async def registrations_csv(session: AsyncSession, *, start: date | None, end: date | None) -> str:
    """The period's registered contracts as CSV, one ``registration`` row each (oldest first),
    then one ``total`` row per kind and one for all (category empty). Amounts in CNY."""
    by_category, total = await _totals(session, start, end)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    cursor: str | None = None
    while True:
        page = await _page(session, start=start, end=end, limit=CSV_BATCH, cursor=cursor)
        for item in page.items:
            writer.writerow(
                [
                    "registration",
                    item.deal_id,
                    item.category.value,
                    item.sub_kind.value if item.sub_kind else "",
                    item.contract_number,
                    item.registration_number,
                    item.signed_on.isoformat(),
                    item.registered_on.isoformat() if item.registered_on else "",
                    1,
                    fen_to_yuan(item.contract_amount_fen),
                    fen_to_yuan(item.non_technical_fen),
                    fen_to_yuan(item.technical_fen),
                ]
            )
        session.expunge_all()
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    for kind in [*by_category, total]:
        writer.writerow(
            [
                "total",
                "",
                kind.category.value if kind.category else "",
                "",
                "",
                "",
                "",
                "",
                kind.contracts,
                fen_to_yuan(kind.contract_amount_fen),
                fen_to_yuan(kind.non_technical_fen),
                fen_to_yuan(kind.technical_fen),
            ]
        )
    return out.getvalue()
