"""Money leaving the platform's books: payouts of what an organization's payable account holds,
their return by the bank, the tax paid to the tax authority, and what an organization sees of
its own balance.

- a payout: the organization's payable → bank, one entry of kind ``payout``; never more than
  the balance: :func:`post_entry <app.services.ledger.posting.post_entry>` checks it under
  the account's lock (409 ``insufficient_funds``), so concurrent payouts cannot overdraw it;
- a returned payout: bank → payable, one ``reversal`` entry of the payout's (its
  ``reverses_id`` is unique: once), under the payout row's lock;
- a tax remittance: tax payable → bank, one entry of kind ``tax_remittance``, never more than
  the tax payable balance, with its receipt (完税凭证号) and the tax period it pays.

None of them is a settlement: they carry no volume, fee or tax, so the auditors' totals
(:func:`rollup.counts_in_totals <app.services.ledger.rollup.counts_in_totals>`) leave them out.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.db import locking
from app.core.errors import Conflict, Forbidden, IllegalTransition, NotFound
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.security import Principal, Role, Scope
from app.models.ledger import EntryKind, JournalEntry, LedgerAccount, LedgerBalance, Posting
from app.models.orgs import Organization
from app.models.payouts import Payout, PayoutStatus, TaxRemittance
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import posting as ledger_posting
from app.services.ledger.accounts import BANK, TAX_PAYABLE
from app.services.ledger.entries import EntryFacts

RECENT = 10


def _require_operator(principal: Principal) -> None:
    principal.require_role(Role.admin, Role.operator)


# What the entries say, shared with the demo (app/demo/payouts.py), which posts them at past
# times.


def payout_memo(organization_name: str, bank_reference: str) -> str:
    return f"付款 {organization_name} {bank_reference}"[:500]


def payout_postings(account: uuid.UUID, amount_fen: int) -> list[tuple[uuid.UUID, int]]:
    """The organization's payable gives, the bank receives."""
    return [(account, -amount_fen), (BANK, amount_fen)]


def return_memo(bank_reference: str, reason: str) -> str:
    return f"退回 {bank_reference}: {reason}"[:500]


def return_postings(account: uuid.UUID, amount_fen: int) -> list[tuple[uuid.UUID, int]]:
    return [(BANK, -amount_fen), (account, amount_fen)]


def remittance_memo(period: str, receipt_number: str) -> str:
    return f"缴税 {period} 完税凭证 {receipt_number}"[:500]


def remittance_postings(amount_fen: int) -> list[tuple[uuid.UUID, int]]:
    """Tax payable gives, the bank receives."""
    return [(TAX_PAYABLE, -amount_fen), (BANK, amount_fen)]


# --- payouts ---------------------------------------------------------------------------------


async def create_payout(
    session: AsyncSession,
    principal: Principal,
    *,
    organization_id: uuid.UUID,
    amount_fen: int,
    bank_reference: str,
) -> Payout:
    """Pay ``amount_fen`` of the organization's payable balance out to its bank (operators)."""
    _require_operator(principal)
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"No organization {organization_id}.")
    account = await ledger_accounts.organization_account(session, organization_id)
    facts = EntryFacts(
        kind=EntryKind.payout,
        created_by=principal.label,
        memo=payout_memo(organization.name, bank_reference),
    )
    # post_entry locks the payable account and refuses to take it below zero
    entry_id = await ledger_posting.post_entry(session, facts, payout_postings(account, amount_fen))
    payout = Payout(
        organization_id=organization_id,
        amount_fen=amount_fen,
        bank_reference=bank_reference,
        entry_id=entry_id,
        status=PayoutStatus.paid,
        created_by=principal.label,
    )
    session.add(payout)
    await session.flush()
    return payout


async def return_payout(
    session: AsyncSession, principal: Principal, payout_id: uuid.UUID, *, reason: str
) -> Payout:
    """The bank sent a payout back: reverse its entry (bank → payable), once (operators)."""
    _require_operator(principal)
    payout = (
        await session.scalars(locking(session, select(Payout).where(Payout.id == payout_id)))
    ).one_or_none()
    if payout is None:
        raise NotFound(f"No payout {payout_id}.")
    if payout.status is not PayoutStatus.paid:
        raise IllegalTransition(f"The payout was already returned at {payout.returned_at}.")
    account = await ledger_accounts.organization_account(session, payout.organization_id)
    facts = EntryFacts(
        kind=EntryKind.reversal,
        created_by=principal.label,
        reverses_id=payout.entry_id,
        memo=return_memo(payout.bank_reference, reason),
    )
    payout.return_entry_id = await ledger_posting.post_entry(
        session, facts, return_postings(account, payout.amount_fen)
    )
    payout.status = PayoutStatus.returned
    payout.returned_at = utcnow()
    payout.return_reason = reason
    payout.returned_by = principal.label
    await session.flush()
    return payout


def _reads_payouts(principal: Principal) -> bool:
    return principal.is_staff or principal.has_scope(Scope.ledger_read)


async def get_payout(session: AsyncSession, principal: Principal, payout_id: uuid.UUID) -> Payout:
    """One payout: staff and auditors, and the members of the organization paid."""
    payout = await session.get(Payout, payout_id)
    if payout is None or not (
        _reads_payouts(principal) or principal.organization_id == payout.organization_id
    ):
        raise NotFound(f"No payout {payout_id}.")
    return payout


PAYOUTS_NEWEST = KeysetOrder("payouts:newest", (Payout.created_at, Payout.id))


async def list_payouts(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID | None,
    status: PayoutStatus | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[Payout]:
    """Payouts, newest first, paid in [start, end) (the router admits operators and
    auditors)."""
    stmt = select(Payout)
    if organization_id is not None:
        stmt = stmt.where(Payout.organization_id == organization_id)
    if status is not None:
        stmt = stmt.where(Payout.status == status)
    if start is not None:
        stmt = stmt.where(Payout.created_at >= start)
    if end is not None:
        stmt = stmt.where(Payout.created_at < end)
    return await paginate(session, stmt, order=PAYOUTS_NEWEST, limit=limit, cursor=cursor)


# --- an organization's balance ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Settlement:
    """Net money a settlement (or its reversal) put into the payable account."""

    entry_id: uuid.UUID
    deal_id: uuid.UUID | None
    kind: EntryKind
    occurred_at: datetime
    amount_fen: int


@dataclass(frozen=True, slots=True)
class OrganizationBalance:
    organization_id: uuid.UUID
    balance_fen: int
    recent_settlements: list[Settlement]
    recent_payouts: list[Payout]


async def organization_balance(
    session: AsyncSession, principal: Principal, organization_id: uuid.UUID
) -> OrganizationBalance:
    """What the platform owes an organization now, with its latest settlements and payouts:
    the organization's members, staff and auditors."""
    if not (_reads_payouts(principal) or principal.organization_id == organization_id):
        raise Forbidden("Only the organization's members, staff and auditors see its balance.")
    if await session.get(Organization, organization_id) is None:
        raise NotFound(f"No organization {organization_id}.")
    account = await ledger_accounts.organization_account(session, organization_id)
    settled = (
        await session.execute(
            select(
                JournalEntry.id,
                JournalEntry.deal_id,
                JournalEntry.kind,
                JournalEntry.occurred_at,
                Posting.amount_fen,
            )
            .join(Posting, Posting.entry_id == JournalEntry.id)
            .where(
                Posting.account_id == account,
                JournalEntry.deal_id.is_not(None),  # settlements and their reversals
            )
            .order_by(JournalEntry.occurred_at.desc(), JournalEntry.id.desc())
            .limit(RECENT)
        )
    ).all()
    payouts = (
        await session.scalars(
            PAYOUTS_NEWEST.apply(
                select(Payout).where(Payout.organization_id == organization_id), None
            ).limit(RECENT)
        )
    ).all()
    return OrganizationBalance(
        organization_id=organization_id,
        balance_fen=await ledger_accounts.balance(session, account),
        recent_settlements=[Settlement(*row) for row in settled],
        recent_payouts=list(payouts),
    )


@dataclass(frozen=True, slots=True)
class PlannedPayout:
    organization_id: uuid.UUID
    organization_name: str
    balance_fen: int


async def plan_payouts(session: AsyncSession, *, min_amount_fen: int) -> list[PlannedPayout]:
    """Organizations whose payable balance is at least ``min_amount_fen``, largest first:
    what is due, for the operator's bank file."""
    held = func.sum(LedgerBalance.balance_fen)
    rows = (
        await session.execute(
            select(Organization.id, Organization.name, held)
            .join(LedgerAccount, LedgerAccount.organization_id == Organization.id)
            .join(LedgerBalance, LedgerBalance.account_id == LedgerAccount.id)
            .group_by(Organization.id, Organization.name)
            .having(held >= max(min_amount_fen, 1))
            .order_by(held.desc(), Organization.id)
        )
    ).all()
    return [PlannedPayout(org_id, name, int(fen)) for org_id, name, fen in rows]


# --- tax remittance --------------------------------------------------------------------------


class ReceiptNumberTaken(Conflict):
    code = "receipt_number_taken"


async def create_tax_remittance(
    session: AsyncSession,
    principal: Principal,
    *,
    amount_fen: int,
    receipt_number: str,
    period: str,
) -> TaxRemittance:
    """Record tax paid to the tax authority: tax payable → bank, never more than the tax
    payable balance (operators)."""
    _require_operator(principal)
    taken = select(TaxRemittance.id).where(TaxRemittance.receipt_number == receipt_number)
    if await session.scalar(taken) is not None:
        raise ReceiptNumberTaken(f"The receipt {receipt_number} is already recorded.")
    facts = EntryFacts(
        kind=EntryKind.tax_remittance,
        created_by=principal.label,
        memo=remittance_memo(period, receipt_number),
    )
    entry_id = await ledger_posting.post_entry(session, facts, remittance_postings(amount_fen))
    remittance = TaxRemittance(
        amount_fen=amount_fen,
        receipt_number=receipt_number,
        period=period,
        entry_id=entry_id,
        created_by=principal.label,
    )
    try:
        async with session.begin_nested():
            session.add(remittance)
    except IntegrityError as error:  # the same receipt recorded meanwhile
        raise ReceiptNumberTaken(f"The receipt {receipt_number} is already recorded.") from error
    return remittance


REMITTANCES_NEWEST = KeysetOrder(
    "tax_remittances:newest", (TaxRemittance.created_at, TaxRemittance.id)
)


async def list_tax_remittances(
    session: AsyncSession,
    *,
    period: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    cursor: str | None,
) -> Page[TaxRemittance]:
    """Tax remittances, newest first, recorded in [start, end) (operators and auditors)."""
    stmt = select(TaxRemittance)
    if period is not None:
        stmt = stmt.where(TaxRemittance.period == period)
    if start is not None:
        stmt = stmt.where(TaxRemittance.created_at >= start)
    if end is not None:
        stmt = stmt.where(TaxRemittance.created_at < end)
    return await paginate(session, stmt, order=REMITTANCES_NEWEST, limit=limit, cursor=cursor)
