"""Deals and the money they move: create, fund, settle (whole or by milestone), refund,
cancel, and reversing a ledger entry.

A deal is opened for a published technology (the buyer's request) or by a demand's award
(``app/services/proposals.py``, in the award's transaction: ``deals.demand_id`` is unique, so
one award opens one deal); from then on both are the same.

Every operation that moves money locks the deal row first, then writes one journal entry per
movement through :mod:`app.services.ledger`:

- funding: bank → escrow, the gross;
- settling a release R: escrow → seller (net), fee revenue (fee), tax payable (tax);
- refunding: escrow → bank, whatever escrow still holds for the deal.

Fee and tax are computed on what has been released so far, rounded half up to the fen, minus
what earlier releases already took: however a deal is split into milestones, its fee and tax
are those of its whole released amount, and the seller's net is the remainder. Nothing is
left over, so there is no rounding account.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from app.core.calendar import utcnow
from app.core.db import locking
from app.core.errors import Conflict, Forbidden, IllegalTransition, NotFound, ValidationFailed
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.security import Principal, Role, Scope
from app.models.catalog import CatalogStatus
from app.models.deals import ContractCategory, Deal, DealMilestone, DealStatus, MilestoneStatus
from app.models.demands import Demand, DemandStatus, Proposal, ProposalStatus
from app.models.ledger import EntryKind, JournalEntry, Posting
from app.models.orgs import Organization, OrganizationKind
from app.models.technologies import Technology
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import posting as ledger_posting
from app.services.ledger.accounts import BANK, ESCROW, FEE_REVENUE, TAX_PAYABLE
from app.services.ledger.entries import EntryFacts

BASIS_POINTS = 10_000


def share(amount_fen: int, rate_bp: int) -> int:
    """``amount × rate`` in fen, rounded half up (amounts are never negative here)."""
    return (amount_fen * rate_bp + BASIS_POINTS // 2) // BASIS_POINTS


@dataclass(frozen=True, slots=True)
class MilestoneInput:
    title: str
    amount_fen: int


@dataclass(frozen=True, slots=True)
class DealInput:
    """What a deal is made of: for a listed technology (``technology_id``: the seller is its
    owner) or for an awarded demand (``demand_id``: the buyer is the demand's owner, the
    seller the awarded proposal's organization). Exactly one of the two."""

    title: str
    category: ContractCategory
    gross_fen: int
    technology_id: uuid.UUID | None = None
    demand_id: uuid.UUID | None = None
    buyer_id: uuid.UUID | None = None
    terms: str | None = None
    milestones: Sequence[MilestoneInput] = ()


# --- reading ---------------------------------------------------------------------------------


def _sees_all(principal: Principal) -> bool:
    return principal.is_staff or principal.role is Role.auditor


def _visible(principal: Principal) -> ColumnElement[bool] | None:
    if _sees_all(principal):
        return None
    org = principal.organization_id
    return or_(Deal.buyer_id == org, Deal.seller_id == org)


async def get_deal(session: AsyncSession, principal: Principal, deal_id: uuid.UUID) -> Deal:
    deal = await session.get(Deal, deal_id)
    if deal is None or not (
        _sees_all(principal) or principal.organization_id in (deal.buyer_id, deal.seller_id)
    ):
        raise NotFound(f"No deal {deal_id}.")
    return deal


NEWEST = KeysetOrder("deals:newest", (Deal.created_at, Deal.id))


async def list_deals(
    session: AsyncSession,
    principal: Principal,
    *,
    status: DealStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[Deal]:
    stmt = select(Deal)
    visible = _visible(principal)
    if visible is not None:
        stmt = stmt.where(visible)
    if status is not None:
        stmt = stmt.where(Deal.status == status)
    return await paginate(session, stmt, order=NEWEST, limit=limit, cursor=cursor)


# --- writing ---------------------------------------------------------------------------------


async def _locked(session: AsyncSession, deal_id: uuid.UUID) -> Deal:
    """The deal, its row locked until the transaction ends (SQLite: writers are serialized)."""
    # one statement with its milestones (an outer join; only the deal's row is locked)
    stmt = locking(
        session, select(Deal).where(Deal.id == deal_id).options(joinedload(Deal.milestones)),
        of=Deal,
    )  # fmt: skip
    deal = (await session.scalars(stmt)).unique().one_or_none()
    if deal is None:
        raise NotFound(f"No deal {deal_id}.")
    return deal


def _require(status: DealStatus, action: str, *allowed: DealStatus) -> None:
    if status not in allowed:
        raise IllegalTransition(
            f"A {status.value} deal cannot be {action}"
            f" (only a {' or '.join(s.value for s in allowed)} one)."
        )


@dataclass(frozen=True, slots=True)
class Release:
    """One release of escrow to the seller, split."""

    amount_fen: int
    fee_fen: int
    tax_fen: int

    @property
    def net_fen(self) -> int:
        return self.amount_fen - self.fee_fen - self.tax_fen


@dataclass(frozen=True, slots=True)
class DealState:
    """What a deal's status, money and times are, and what funding, releasing, refunding and
    cancelling make of them: the state machine, without a session (the demo dataset replays
    it too). Each transition refuses a deal in the wrong status."""

    status: DealStatus = DealStatus.created
    escrow_fen: int = 0
    released_fen: int = 0
    refunded_fen: int = 0
    fee_fen: int = 0
    tax_fen: int = 0
    funded_at: datetime | None = None
    closed_at: datetime | None = None

    @classmethod
    def of(cls, deal: Deal) -> "DealState":
        return cls(
            status=deal.status,
            escrow_fen=deal.escrow_fen,
            released_fen=deal.released_fen,
            refunded_fen=deal.refunded_fen,
            fee_fen=deal.fee_fen,
            tax_fen=deal.tax_fen,
            funded_at=deal.funded_at,
            closed_at=deal.closed_at,
        )

    def apply_to(self, deal: Deal) -> None:
        deal.status, deal.escrow_fen = self.status, self.escrow_fen
        deal.released_fen, deal.refunded_fen = self.released_fen, self.refunded_fen
        deal.fee_fen, deal.tax_fen = self.fee_fen, self.tax_fen
        deal.funded_at, deal.closed_at = self.funded_at, self.closed_at

    def funded(self, gross_fen: int, *, at: datetime) -> "DealState":
        """The buyer's payment is in escrow."""
        _require(self.status, "funded", DealStatus.created)
        return replace(self, status=DealStatus.funded, escrow_fen=gross_fen, funded_at=at)

    def release(self, amount_fen: int, *, fee_rate_bp: int, tax_rate_bp: int) -> Release:
        """``amount_fen`` released now, split: the fee and tax of everything released so far,
        minus what earlier releases took (see the module's docstring)."""
        released = self.released_fen + amount_fen
        return Release(
            amount_fen=amount_fen,
            fee_fen=share(released, fee_rate_bp) - self.fee_fen,
            tax_fen=share(released, tax_rate_bp) - self.tax_fen,
        )

    def released(self, release: Release, *, at: datetime) -> "DealState":
        """A release has left escrow; the deal is settled when escrow holds nothing more."""
        _require(self.status, "settled", DealStatus.funded)
        escrow = self.escrow_fen - release.amount_fen
        return replace(
            self,
            status=DealStatus.settled if escrow == 0 else self.status,
            escrow_fen=escrow,
            released_fen=self.released_fen + release.amount_fen,
            fee_fen=self.fee_fen + release.fee_fen,
            tax_fen=self.tax_fen + release.tax_fen,
            closed_at=at if escrow == 0 else self.closed_at,
        )

    def refunded(self, *, at: datetime) -> "DealState":
        """Whatever escrow held has gone back to the buyer."""
        _require(self.status, "refunded", DealStatus.funded)
        return replace(
            self,
            status=DealStatus.refunded,
            escrow_fen=0,
            refunded_fen=self.refunded_fen + self.escrow_fen,
            closed_at=at,
        )

    def cancelled(self, *, at: datetime) -> "DealState":
        """Called off before anybody paid."""
        _require(self.status, "cancelled", DealStatus.created)
        return replace(self, status=DealStatus.cancelled, closed_at=at)

    def funding_reversed(self, gross_fen: int) -> "DealState":
        """The funding undone: created again, as long as nothing has left escrow."""
        if self.status is not DealStatus.funded or self.escrow_fen != gross_fen:
            raise IllegalTransition(
                "Only the funding of a deal that has released and refunded nothing is reversed;"
                " reverse its settlements and refund first."
            )
        return replace(self, status=DealStatus.created, escrow_fen=0, funded_at=None)

    def release_reversed(self, release: Release) -> "DealState":
        """A release undone: back in escrow, fee and tax with it; funded again."""
        if self.status not in (DealStatus.funded, DealStatus.settled):
            raise IllegalTransition(f"The deal is {self.status.value}: reverse its refund first.")
        return replace(
            self,
            status=DealStatus.funded,
            escrow_fen=self.escrow_fen + release.amount_fen,
            released_fen=self.released_fen - release.amount_fen,
            fee_fen=self.fee_fen - release.fee_fen,
            tax_fen=self.tax_fen - release.tax_fen,
            closed_at=None,
        )

    def refund_reversed(self) -> "DealState":
        """The refund undone: what went back to the buyer is in escrow again; funded again."""
        if self.status is not DealStatus.refunded:
            raise IllegalTransition("The deal is no longer refunded.")
        return replace(
            self,
            status=DealStatus.funded,
            escrow_fen=self.escrow_fen + self.refunded_fen,
            refunded_fen=0,
            closed_at=None,
        )


def new_deal_values(
    *,
    buyer_id: uuid.UUID,
    seller_id: uuid.UUID,
    technology_id: uuid.UUID | None,
    category: ContractCategory,
    title: str,
    terms: str | None,
    gross_fen: int,
    fee_rate_bp: Mapping[str, int],
    tax_rate_bp: Mapping[str, int],
    created_by: str,
    state: DealState = DealState(),  # noqa: B008 (frozen: one shared value is safe)
    demand_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """A deal's columns but its id, times and version: its parties and contract (a listed
    technology's, or an awarded demand's), the fee and tax rates of its category
    (``fee_rate_bp``, ``tax_rate_bp``: by category), and ``state``, a new deal's unless it is
    written up with its history (the demo dataset)."""
    return {
        "created_by": created_by,
        "buyer_id": buyer_id,
        "seller_id": seller_id,
        "technology_id": technology_id,
        "demand_id": demand_id,
        "category": category,
        "title": title,
        "terms": terms,
        "gross_fen": gross_fen,
        "fee_rate_bp": fee_rate_bp[category.value],
        "tax_rate_bp": tax_rate_bp[category.value],
        **asdict(state),
    }


async def _listing_parties(
    session: AsyncSession, principal: Principal, values: DealInput
) -> tuple[uuid.UUID, uuid.UUID]:
    """Buyer and seller of a deal for a published technology: the caller's enterprise (staff
    name it) buys from the listing's owner."""
    principal.require_scope(Scope.deals_write)
    technology = await session.get(Technology, values.technology_id)
    if technology is None or technology.status is not CatalogStatus.published:
        raise ValidationFailed(
            f"No published technology {values.technology_id} to contract for.",
            code="unknown_technology",
        )
    if principal.is_staff:
        if values.buyer_id is None:
            raise ValidationFailed("Name the buyer (buyer_id).", code="buyer_required")
        buyer_id = values.buyer_id
    else:
        if values.buyer_id not in (None, principal.organization_id):
            raise Forbidden("You can only buy for your own organization.", code="not_your_org")
        if principal.organization_id is None:
            raise Forbidden("Only a member of an enterprise can buy.", code="not_your_org")
        buyer_id = principal.organization_id
    buyer = await session.get(Organization, buyer_id)
    if buyer is None or buyer.kind is not OrganizationKind.enterprise:
        raise ValidationFailed("The buyer must be an enterprise.", code="buyer_not_enterprise")
    if buyer_id == technology.owner_id:
        raise ValidationFailed("An organization cannot buy its own listing.", code="self_deal")
    return buyer_id, technology.owner_id


async def _award_parties(
    session: AsyncSession, principal: Principal, values: DealInput
) -> tuple[uuid.UUID, uuid.UUID]:
    """Buyer and seller of the deal an award opens: the demand's owner buys from the awarded
    proposal's organization, at its price. The award (app/services/proposals.py) has marked
    both in this transaction; this only reads what it wrote, and refuses anything else."""
    demand = await session.get(Demand, values.demand_id)
    if demand is None or demand.status is not DemandStatus.awarded:
        raise IllegalTransition(f"The demand {values.demand_id} is not awarded.")
    principal.require_scope(Scope.demands_write)
    if not principal.acts_for(demand.owner_id):
        raise Forbidden("Only the demand's owner contracts for it.", code="not_owner")
    awarded = (
        await session.scalars(
            select(Proposal).where(
                Proposal.demand_id == demand.id, Proposal.status == ProposalStatus.awarded
            )
        )
    ).one_or_none()
    if awarded is None:
        raise IllegalTransition(f"The demand {demand.id} has no awarded proposal.")
    if awarded.price != values.gross_fen:
        raise ValidationFailed(
            "A deal from an award is for the awarded price.", code="gross_is_not_the_price"
        )
    already = await session.scalar(select(Deal.id).where(Deal.demand_id == demand.id))
    if already is not None:
        raise IllegalTransition(f"The demand's award already opened the deal {already}.")
    return demand.owner_id, awarded.organization_id


async def create_deal(
    session: AsyncSession,
    principal: Principal,
    values: DealInput,
    *,
    fee_rate_bp: dict[str, int],
    tax_rate_bp: dict[str, int],
) -> Deal:
    """A new deal, for a published technology or from an awarded demand (see DealInput)."""
    if (values.technology_id is None) == (values.demand_id is None):
        raise ValidationFailed(
            "A deal is for a technology or from a demand's award: one of the two.",
            code="deal_subject_required",
        )
    if values.demand_id is not None:
        buyer_id, seller_id = await _award_parties(session, principal, values)
    else:
        buyer_id, seller_id = await _listing_parties(session, principal, values)
    if values.milestones and sum(m.amount_fen for m in values.milestones) != values.gross_fen:
        raise ValidationFailed(
            "The milestones' amounts must add up to the gross amount.",
            code="milestones_do_not_add_up",
        )
    deal = Deal(
        **new_deal_values(
            buyer_id=buyer_id,
            seller_id=seller_id,
            technology_id=values.technology_id,
            demand_id=values.demand_id,
            category=values.category,
            title=values.title,
            terms=values.terms,
            gross_fen=values.gross_fen,
            fee_rate_bp=fee_rate_bp,
            tax_rate_bp=tax_rate_bp,
            created_by=principal.label,
        ),
        milestones=[
            DealMilestone(position=n, title=m.title, amount_fen=m.amount_fen)
            for n, m in enumerate(values.milestones, start=1)
        ],
    )
    session.add(deal)
    try:
        await session.flush()
    except IntegrityError as exc:
        if values.demand_id is None:
            raise
        # deals.demand_id is unique: a second deal for one award lost the race
        raise IllegalTransition("The demand's award has already opened its deal.") from exc
    return deal


def _facts(deal: Deal, kind: EntryKind, principal: Principal, **extra: object) -> EntryFacts:
    return EntryFacts(
        kind=kind,
        created_by=principal.label,
        deal_id=deal.id,
        category=deal.category,
        buyer_id=deal.buyer_id,
        seller_id=deal.seller_id,
        **extra,  # type: ignore[arg-type]
    )


async def _move_escrow(
    session: AsyncSession, principal: Principal, deal_id: uuid.UUID, kind: EntryKind
) -> Deal:
    """Money between the bank and escrow, as operators record it: the buyer's payment in
    (funding), or whatever escrow still holds back out to the buyer (refund)."""
    principal.require_role(Role.admin, Role.operator)
    deal = await _locked(session, deal_id)
    now = utcnow()
    before = DealState.of(deal)
    if kind is EntryKind.funding:
        after = before.funded(deal.gross_fen, at=now)
        memo, postings = funding_memo(deal.title), funding_postings(deal.gross_fen)
    else:
        after = before.refunded(at=now)
        memo, postings = refund_memo(deal.title), refund_postings(deal.escrow_fen)
    await ledger_posting.post_entry(
        session, _facts(deal, kind, principal, memo=memo), postings, occurred_at=now
    )
    after.apply_to(deal)
    return deal


async def fund_deal(session: AsyncSession, principal: Principal, deal_id: uuid.UUID) -> Deal:
    """The buyer's payment arrived (operators record it): the gross goes into escrow."""
    deal = await _move_escrow(session, principal, deal_id, EntryKind.funding)
    await session.flush()
    return deal


def funding_postings(gross_fen: int) -> list[tuple[uuid.UUID, int]]:
    return [(BANK, -gross_fen), (ESCROW, gross_fen)]


def settlement_postings(release: Release, seller_account: uuid.UUID) -> list[tuple[uuid.UUID, int]]:
    postings = [
        (ESCROW, -release.amount_fen),
        (seller_account, release.net_fen),
        (FEE_REVENUE, release.fee_fen),
        (TAX_PAYABLE, release.tax_fen),
    ]
    return [(account, value) for account, value in postings if value]


def refund_postings(amount_fen: int) -> list[tuple[uuid.UUID, int]]:
    return [(ESCROW, -amount_fen), (BANK, amount_fen)]


def funding_memo(title: str) -> str:
    return f"托管资金 {title}"[:500]


def settlement_memo(title: str, milestone_title: str | None) -> str:
    return (f"结算 {title}" + (f" · {milestone_title}" if milestone_title else ""))[:500]


def refund_memo(title: str) -> str:
    return f"退款 {title}"[:500]


async def _release(
    session: AsyncSession,
    principal: Principal,
    deal: Deal,
    amount: int,
    milestone: DealMilestone | None,
    now: datetime,
) -> None:
    before = DealState.of(deal)
    release = before.release(amount, fee_rate_bp=deal.fee_rate_bp, tax_rate_bp=deal.tax_rate_bp)
    released = before.released(release, at=now)
    seller_account = await ledger_accounts.organization_account(session, deal.seller_id)
    await ledger_posting.post_entry(
        session,
        _facts(
            deal,
            EntryKind.settlement,
            principal,
            milestone_id=milestone.id if milestone else None,
            volume_fen=amount,
            fee_fen=release.fee_fen,
            tax_fen=release.tax_fen,
            memo=settlement_memo(deal.title, milestone.title if milestone else None),
        ),
        settlement_postings(release, seller_account),
        occurred_at=now,
    )
    released.apply_to(deal)
    if milestone is not None:
        milestone.status, milestone.settled_at = MilestoneStatus.settled, now


async def settle_deal(
    session: AsyncSession,
    principal: Principal,
    deal_id: uuid.UUID,
    *,
    milestone_id: uuid.UUID | None,
) -> Deal:
    """Release escrow to the seller: one milestone, or everything still held."""
    deal = await _locked(session, deal_id)
    if not principal.is_staff:
        principal.require_scope(Scope.deals_write)
        if principal.organization_id != deal.buyer_id:
            if principal.organization_id == deal.seller_id or _sees_all(principal):
                raise Forbidden("Only the buyer (or an operator) accepts and settles.")
            raise NotFound(f"No deal {deal_id}.")
    _require(deal.status, "settled", DealStatus.funded)
    now = utcnow()
    pending = [m for m in deal.milestones if m.status is MilestoneStatus.pending]
    if milestone_id is not None:
        chosen = [m for m in deal.milestones if m.id == milestone_id]
        if not chosen:
            raise ValidationFailed(
                f"The deal has no milestone {milestone_id}.", code="unknown_milestone"
            )
        if chosen[0].status is not MilestoneStatus.pending:
            raise IllegalTransition(f"The milestone is already {chosen[0].status.value}.")
        await _release(session, principal, deal, chosen[0].amount_fen, chosen[0], now)
    elif pending:
        for number, milestone in enumerate(pending):
            # A microsecond apart: entries are listed by time, and these happened in order.
            now = now + timedelta(microseconds=1) if number else now
            await _release(session, principal, deal, milestone.amount_fen, milestone, now)
    else:
        await _release(session, principal, deal, deal.escrow_fen, None, now)
    await session.flush()
    return deal


async def refund_deal(session: AsyncSession, principal: Principal, deal_id: uuid.UUID) -> Deal:
    """Return whatever escrow still holds for the deal to the buyer (operators decide)."""
    deal = await _move_escrow(session, principal, deal_id, EntryKind.refund)
    for milestone in deal.milestones:
        if milestone.status is MilestoneStatus.pending:
            milestone.status = MilestoneStatus.refunded
    await session.flush()
    return deal


async def cancel_deal(session: AsyncSession, principal: Principal, deal_id: uuid.UUID) -> Deal:
    """Call off a deal nobody has paid for yet (either party or an operator)."""
    deal = await _locked(session, deal_id)
    if not principal.is_staff:
        principal.require_scope(Scope.deals_write)
        if principal.organization_id not in (deal.buyer_id, deal.seller_id):
            if _sees_all(principal):
                raise Forbidden("Auditors read; they do not cancel.")
            raise NotFound(f"No deal {deal_id}.")
    DealState.of(deal).cancelled(at=utcnow()).apply_to(deal)
    await session.flush()
    return deal


async def reverse_entry(
    session: AsyncSession, principal: Principal, entry_id: uuid.UUID, *, reason: str
) -> JournalEntry:
    """Undo a journal entry with one opposite entry, and put its deal back where it was;
    returns the reversing entry."""
    principal.require_role(Role.admin, Role.operator)
    # The entry's row lock serializes reversals of one entry, also of one that has no deal to
    # lock: the second finds the first's reversal instead of failing on the unique index.
    # FOR NO KEY UPDATE is a lock, not a write (the append-only triggers refuse UPDATE only),
    # and it leaves alone the foreign-key checks of entries that point at this one.
    original = await session.get(JournalEntry, entry_id, with_for_update={"key_share": True})
    if original is None:
        raise NotFound(f"No journal entry {entry_id}.")
    if original.kind is EntryKind.reversal:
        raise Conflict(
            "A reversal is not reversed; post the correction instead.", code="entry_is_reversal"
        )
    if original.kind in (EntryKind.payout, EntryKind.tax_remittance):
        # a payout is undone by its return (POST /v1/payouts/{id}/return), which keeps the
        # payout's own record in step; a remittance is not undone
        raise Conflict(
            f"A {original.kind.value} entry is not reversed here.", code="entry_not_reversible"
        )
    deal = await _locked(session, original.deal_id) if original.deal_id else None
    already = await session.scalar(
        select(JournalEntry.id).where(JournalEntry.reverses_id == entry_id)
    )
    if already is not None:
        raise Conflict(f"The entry is already reversed by {already}.", code="already_reversed")
    lines = (
        await session.execute(
            select(Posting.account_id, Posting.amount_fen)
            .where(Posting.entry_id == entry_id)
            .order_by(Posting.line)
        )
    ).all()
    if deal is not None:
        _undo_on_deal(deal, original)
    facts = EntryFacts(
        kind=EntryKind.reversal,
        created_by=principal.label,
        deal_id=original.deal_id,
        milestone_id=original.milestone_id,
        reverses_id=original.id,
        category=original.category,
        buyer_id=original.buyer_id,
        seller_id=original.seller_id,
        volume_fen=-original.volume_fen,
        fee_fen=-original.fee_fen,
        tax_fen=-original.tax_fen,
        memo=f"冲销 {original.memo}: {reason}"[:500],
    )
    reversal_id = await ledger_posting.post_entry(
        session, facts, [(account, -amount) for account, amount in lines]
    )
    await session.flush()
    reversal = await session.get(JournalEntry, reversal_id)
    assert reversal is not None
    return reversal


def _undo_on_deal(deal: Deal, original: JournalEntry) -> None:
    """The deal (and its milestones) as before the entry ``original``."""
    state = DealState.of(deal)
    if original.kind is EntryKind.funding:
        state.funding_reversed(deal.gross_fen).apply_to(deal)
    elif original.kind is EntryKind.settlement:
        release = Release(
            amount_fen=original.volume_fen, fee_fen=original.fee_fen, tax_fen=original.tax_fen
        )
        state.release_reversed(release).apply_to(deal)
        for milestone in deal.milestones:
            if milestone.id == original.milestone_id:
                milestone.status, milestone.settled_at = MilestoneStatus.pending, None
    elif original.kind is EntryKind.refund:
        state.refund_reversed().apply_to(deal)
        for milestone in deal.milestones:
            if milestone.status is MilestoneStatus.refunded:
                milestone.status = MilestoneStatus.pending
