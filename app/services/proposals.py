"""Proposals: providers' sealed answers to demands, their revisions, and the award.

An organization other than the demand's owner submits one live proposal (submitted or
awarded: the partial unique index ``uq_proposals_live``) while the demand is open; it may
revise it (each revision's content and SHA-256 kept in ``ProposalRevision``) or withdraw it,
then submit again, until the deadline. **Sealed**: a provider reads only its own
organization's proposals; the demand's owner reads their count while the demand is open and
all of them once it reads closed; staff and auditors read everything. The audit recomputes
every revision's hash and checks it was recorded before the deadline.

After the deadline the owner awards one proposal: in one transaction the demand becomes
awarded, the proposal awarded, every other submitted one unsuccessful, and a deal opened
through the deals service (``deals.demand_id`` is unique: one deal per demand).

Every write takes the demand's row lock first (``visible_demand(lock=True)``): the writes to a
demand's proposals, its award and its cancellation queue on it, in that one order.
"""

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.db import locking
from app.core.errors import (
    Conflict,
    FieldError,
    Forbidden,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from app.core.pagination import KeysetOrder, paginate
from app.core.security import Principal, Scope
from app.models.deals import ContractCategory, Deal
from app.models.demands import (
    LIVE_PROPOSAL_STATUSES,
    Demand,
    DemandKind,
    DemandStatus,
    Proposal,
    ProposalRevision,
    ProposalStatus,
)
from app.services import deals as deals_service
from app.services import demands as demands_service
from app.services.deals import MilestoneInput

#: The contract category of a deal an award opens, unless the owner names another.
CATEGORY_BY_KIND: Mapping[DemandKind, ContractCategory] = {
    DemandKind.technology: ContractCategory.development,
    DemandKind.challenge: ContractCategory.development,
    DemandKind.talent: ContractCategory.consulting,
    DemandKind.service: ContractCategory.service,
    DemandKind.financing: ContractCategory.service,
}

#: Revisions a proposal may have (the first submission included): the audit lists them all.
MAX_REVISIONS = 100

#: Statuses in which the demand's owner reads its proposals (the deadline has passed). Not
#: cancelled: a demand is cancelled before its deadline, and its bids stay unopened (an owner
#: could otherwise cancel, read the bids and post the need again).
UNSEALED = frozenset({DemandStatus.closed, DemandStatus.awarded, DemandStatus.unsuccessful})

OLDEST = KeysetOrder("proposals:oldest", (Proposal.created_at, Proposal.id), descending=False)


def proposal_content(
    *,
    price: int,
    timeline_days: int,
    plan: str,
    milestones: Sequence[Mapping[str, Any]],
    solution: str | None,
) -> dict[str, Any]:
    """What a proposal says, as one revision records and hashes it (money in fen)."""
    return {
        "price": price,
        "timeline_days": timeline_days,
        "plan": plan,
        "milestones": [{"title": m["title"], "amount": m["amount"]} for m in milestones],
        "solution": solution,
    }


def content_hash(content: Mapping[str, Any]) -> str:
    """SHA-256 of the content's canonical JSON (sorted keys, no spaces, UTF-8): an auditor
    recomputes it from the revision's content to check it."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ProposalInput:
    """A proposal's content as a provider sends it (money in fen)."""

    price_fen: int
    timeline_days: int
    plan: str
    milestones: Sequence[MilestoneInput] = ()
    solution: str | None = None

    @classmethod
    def of(cls, proposal: Proposal) -> "ProposalInput":
        return cls(
            price_fen=proposal.price,
            timeline_days=proposal.timeline_days,
            plan=proposal.plan,
            milestones=tuple(
                MilestoneInput(title=m["title"], amount_fen=m["amount"])
                for m in proposal.milestones
            ),
            solution=proposal.solution,
        )

    def content(self) -> dict[str, Any]:
        return proposal_content(
            price=self.price_fen,
            timeline_days=self.timeline_days,
            plan=self.plan,
            milestones=[{"title": m.title, "amount": m.amount_fen} for m in self.milestones],
            solution=self.solution,
        )


@dataclass(slots=True)
class ProposalList:
    """One page of a demand's proposals as the caller may read them."""

    items: list[Proposal]
    next_cursor: str | None
    sealed: bool
    """Other organizations' proposals are withheld from this caller."""
    total: int | None
    """Live proposals (submitted or awarded), for the owner, staff and auditors."""


@dataclass(frozen=True, slots=True)
class AuditedRevision:
    revision: int
    content_hash: str
    recorded_at: datetime
    hash_ok: bool
    before_deadline: bool


@dataclass(frozen=True, slots=True)
class AuditedProposal:
    id: uuid.UUID
    organization_id: uuid.UUID
    status: ProposalStatus
    revision: int
    content_hash: str
    hash_ok: bool
    """The proposal's current content hashes to its stored hash, its last revision's."""
    revisions: list[AuditedRevision]

    @property
    def verified(self) -> bool:
        return self.hash_ok and all(r.hash_ok and r.before_deadline for r in self.revisions)


@dataclass(slots=True)
class ProposalAudit:
    demand_id: uuid.UUID
    deadline: datetime
    items: list[AuditedProposal]
    next_cursor: str | None
    verified: bool = field(init=False)

    def __post_init__(self) -> None:
        self.verified = all(item.verified for item in self.items)


# --- who reads what -------------------------------------------------------------------------


def _owner_reads_all(demand: Demand) -> bool:
    return demand.current_status in UNSEALED


def _reads_all(principal: Principal, demand: Demand) -> bool:
    """Whether ``principal`` reads every proposal of ``demand`` now."""
    if demands_service.sees_everything(principal):
        return True
    return demands_service.is_owner(principal, demand) and _owner_reads_all(demand)


def _may_read(principal: Principal, demand: Demand, proposal: Proposal) -> bool:
    return _reads_all(principal, demand) or (
        principal.organization_id is not None
        and principal.organization_id == proposal.organization_id
    )


async def _proposal_of(
    session: AsyncSession,
    principal: Principal,
    demand: Demand,
    proposal_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Proposal:
    """The demand's proposal, if ``principal`` may read it (404 otherwise: a sealed proposal
    does not exist for the caller)."""
    stmt = select(Proposal).where(Proposal.id == proposal_id, Proposal.demand_id == demand.id)
    if lock:
        stmt = locking(session, stmt)
    proposal = (await session.scalars(stmt)).one_or_none()
    if proposal is None or not _may_read(principal, demand, proposal):
        raise NotFound(f"No proposal {proposal_id} on this demand.")
    return proposal


# --- reading ----------------------------------------------------------------------------------


async def list_proposals(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    status: ProposalStatus | None,
    limit: int,
    cursor: str | None,
) -> ProposalList:
    """A demand's proposals, oldest first, as sealing lets the caller read them."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    counted = demands_service.sees_everything(principal) or demands_service.is_owner(
        principal, demand
    )
    total = None
    if counted:
        total = await session.scalar(
            select(func.count())
            .select_from(Proposal)
            .where(Proposal.demand_id == demand.id, Proposal.status.in_(LIVE_PROPOSAL_STATUSES))
        )
    reads_all = _reads_all(principal, demand)
    if not reads_all and principal.organization_id in (None, demand.owner_id):
        return ProposalList(items=[], next_cursor=None, sealed=True, total=total)
    stmt = select(Proposal).where(Proposal.demand_id == demand.id)
    if not reads_all:
        stmt = stmt.where(Proposal.organization_id == principal.organization_id)
    if status is not None:
        stmt = stmt.where(Proposal.status == status)
    page = await paginate(session, stmt, order=OLDEST, limit=limit, cursor=cursor)
    return ProposalList(
        items=page.items, next_cursor=page.next_cursor, sealed=not reads_all, total=total
    )


async def get_proposal(
    session: AsyncSession, *, principal: Principal, demand_id: uuid.UUID, proposal_id: uuid.UUID
) -> Proposal:
    """One proposal, if sealing lets the caller read it."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    return await _proposal_of(session, principal, demand, proposal_id)


async def audit_proposals(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> ProposalAudit:
    """A page of the demand's proposals with every revision's hash recomputed and its time
    checked against the deadline (the owner once closed, staff and auditors)."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    if not demands_service.sees_everything(principal):
        if not demands_service.is_owner(principal, demand):
            raise Forbidden(
                "Only the demand's owner, staff and auditors audit its proposals.",
                code="not_owner",
            )
        if not _owner_reads_all(demand):
            raise Forbidden("The proposals are sealed until the deadline.", code="proposals_sealed")
    stmt = select(Proposal).where(Proposal.demand_id == demand.id)
    page = await paginate(session, stmt, order=OLDEST, limit=limit, cursor=cursor)
    revisions: dict[uuid.UUID, list[ProposalRevision]] = {p.id: [] for p in page.items}
    if page.items:
        found = await session.scalars(
            select(ProposalRevision)
            .where(ProposalRevision.proposal_id.in_(revisions))
            .order_by(ProposalRevision.proposal_id, ProposalRevision.revision)
        )
        for revision in found:
            revisions[revision.proposal_id].append(revision)
    items = []
    for proposal in page.items:
        kept = revisions[proposal.id]
        current = content_hash(ProposalInput.of(proposal).content())
        items.append(
            AuditedProposal(
                id=proposal.id,
                organization_id=proposal.organization_id,
                status=proposal.status,
                revision=proposal.revision,
                content_hash=proposal.content_hash,
                hash_ok=(
                    current == proposal.content_hash
                    and bool(kept)
                    and kept[-1].revision == proposal.revision
                    and kept[-1].content_hash == proposal.content_hash
                ),
                revisions=[
                    AuditedRevision(
                        revision=r.revision,
                        content_hash=r.content_hash,
                        recorded_at=r.created_at,
                        hash_ok=content_hash(r.content) == r.content_hash,
                        before_deadline=r.created_at < demand.deadline,
                    )
                    for r in kept
                ],
            )
        )
    return ProposalAudit(
        demand_id=demand.id, deadline=demand.deadline, items=items, next_cursor=page.next_cursor
    )


# --- writing ----------------------------------------------------------------------------------


def _field_error(name: str, message: str, kind: str) -> list[FieldError]:
    return [FieldError(loc=["body", name], message=message, type=kind)]


def _check_content(demand: Demand, values: ProposalInput) -> None:
    """The rules a proposal's content keeps against its demand (422 with a stable code)."""
    if demand.budget_max is not None and values.price_fen > demand.budget_max:
        raise ValidationFailed(
            "The price is above the demand's budget cap.",
            code="price_above_budget",
            errors=_field_error("price", "above the budget cap", "price_above_budget"),
        )
    if values.milestones and sum(m.amount_fen for m in values.milestones) != values.price_fen:
        raise ValidationFailed(
            "The milestones' amounts must add up to the price.",
            code="milestones_do_not_add_up",
            errors=_field_error(
                "milestones", "amounts do not add up to the price", "milestones_do_not_add_up"
            ),
        )
    if demand.kind is DemandKind.challenge and not values.solution:
        raise ValidationFailed(
            "A challenge's proposal states its solution.",
            code="solution_required",
            errors=_field_error("solution", "required for a challenge", "solution_required"),
        )
    if demand.kind is not DemandKind.challenge and values.solution is not None:
        raise ValidationFailed(
            "Only a challenge's proposal states a solution.",
            code="solution_not_allowed",
            errors=_field_error("solution", "only for a challenge", "solution_not_allowed"),
        )


def _require_proposer(principal: Principal) -> uuid.UUID:
    principal.require_scope(Scope.demands_write)
    if principal.organization_id is None:
        raise Forbidden(
            "Proposals are made by an organization's members or keys.", code="not_your_org"
        )
    return principal.organization_id


def _record_revision(
    session: AsyncSession,
    proposal: Proposal,
    values: ProposalInput,
    *,
    principal: Principal,
    now: datetime,
) -> None:
    """The proposal says ``values`` from ``now``: its columns, hash and a revision row."""
    content = values.content()
    digest = content_hash(content)
    proposal.price, proposal.timeline_days = values.price_fen, values.timeline_days
    proposal.plan, proposal.solution = values.plan, values.solution
    proposal.milestones = content["milestones"]
    proposal.content_hash, proposal.submitted_at = digest, now
    session.add(
        ProposalRevision(
            proposal_id=proposal.id,
            revision=proposal.revision,
            content_hash=digest,
            content=content,
            created_by=principal.label,
            created_at=now,
            updated_at=now,
        )
    )


async def submit_proposal(
    session: AsyncSession, *, principal: Principal, demand_id: uuid.UUID, values: ProposalInput
) -> Proposal:
    """A provider's proposal to an open demand it may see (one live one per organization)."""
    demand = await demands_service.visible_demand(session, principal, demand_id, lock=True)
    org = _require_proposer(principal)
    if org == demand.owner_id:
        raise Forbidden("An organization does not propose to its own demand.", code="own_demand")
    # Taken before the status is read: a revision recorded at ``now`` is before the deadline.
    now = utcnow()
    demands_service.require_status(demand, "proposed to", DemandStatus.open)
    live = await session.scalar(
        select(Proposal.id).where(
            Proposal.demand_id == demand.id,
            Proposal.organization_id == org,
            Proposal.status.in_(LIVE_PROPOSAL_STATUSES),
        )
    )
    if live is not None:
        raise _proposal_exists(live)
    _check_content(demand, values)
    proposal = Proposal(
        id=uuid.uuid4(),
        demand_id=demand.id,
        organization_id=org,
        status=ProposalStatus.submitted,
        revision=1,
        created_by=principal.label,
        created_at=now,
        updated_at=now,
    )
    _record_revision(session, proposal, values, principal=principal, now=now)
    session.add(proposal)
    try:
        await session.flush()
    except IntegrityError as exc:  # uq_proposals_live: a concurrent submission won
        raise _proposal_exists(None) from exc
    return proposal


def _proposal_exists(existing: uuid.UUID | None) -> Conflict:
    which = f" ({existing})" if existing else ""
    return Conflict(
        f"Your organization already has a live proposal{which} on this demand:"
        " revise it, or withdraw it first.",
        code="proposal_exists",
    )


async def _own_submitted(
    session: AsyncSession,
    principal: Principal,
    demand_id: uuid.UUID,
    proposal_id: uuid.UUID,
    action: str,
) -> tuple[Demand, Proposal, datetime]:
    """The caller's own submitted proposal on an open demand, both locked, and the time the
    change happens (read before the demand's status, so it is before the deadline)."""
    demand = await demands_service.visible_demand(session, principal, demand_id, lock=True)
    proposal = await _proposal_of(session, principal, demand, proposal_id, lock=True)
    principal.require_scope(Scope.demands_write)
    if principal.organization_id != proposal.organization_id:
        raise Forbidden(
            f"Only the proposing organization may {action} its proposal.", code="not_proposer"
        )
    now = utcnow()
    demands_service.require_status(demand, f"have a proposal {action}d", DemandStatus.open)
    if proposal.status is not ProposalStatus.submitted:
        raise IllegalTransition(
            f"A {proposal.status.value} proposal cannot be {action}d (only a submitted one)."
        )
    return demand, proposal, now


async def revise_proposal(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    proposal_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> Proposal:
    """Change the fields sent (``ProposalInput``'s names): a new revision, unless nothing
    changes. Only the proposer, while the demand is open."""
    demand, proposal, now = await _own_submitted(
        session, principal, demand_id, proposal_id, "revise"
    )
    values = replace(ProposalInput.of(proposal), **changes)
    _check_content(demand, values)
    if content_hash(values.content()) == proposal.content_hash:
        return proposal
    if proposal.revision >= MAX_REVISIONS:
        raise Conflict(
            f"A proposal is revised at most {MAX_REVISIONS - 1} times: withdraw it and submit"
            " a new one.",
            code="revision_limit_reached",
        )
    proposal.revision += 1
    proposal.updated_at = now
    _record_revision(session, proposal, values, principal=principal, now=now)
    await session.flush()
    return proposal


async def withdraw_proposal(
    session: AsyncSession, *, principal: Principal, demand_id: uuid.UUID, proposal_id: uuid.UUID
) -> Proposal:
    """Take a submitted proposal back while the demand is open (a new one may follow)."""
    _, proposal, now = await _own_submitted(session, principal, demand_id, proposal_id, "withdraw")
    proposal.status, proposal.withdrawn_at, proposal.updated_at = (
        ProposalStatus.withdrawn,
        now,
        now,
    )
    await session.flush()
    return proposal


async def award_proposal(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    proposal_id: uuid.UUID,
    category: ContractCategory | None,
    fee_rate_bp: dict[str, int],
    tax_rate_bp: dict[str, int],
) -> Proposal:
    """Award a closed demand to one submitted proposal: the demand awarded, the others
    unsuccessful, and a deal opened (buyer the owner, seller the proposer, at the price)."""
    demand = await demands_service.visible_demand(session, principal, demand_id, lock=True)
    demands_service.require_owner(principal, demand)
    # Closed first: before the deadline the proposals are sealed, even from their awarder.
    demands_service.require_status(demand, "awarded", DemandStatus.closed)
    proposal = await _proposal_of(session, principal, demand, proposal_id, lock=True)
    if proposal.status is not ProposalStatus.submitted:
        raise IllegalTransition(
            f"A {proposal.status.value} proposal cannot be awarded (only a submitted one)."
        )
    await demands_service.mark_awarded(
        session, demand, principal=principal, proposal_id=proposal.id
    )
    now = utcnow()
    proposal.status, proposal.decided_at, proposal.updated_at = ProposalStatus.awarded, now, now
    await session.flush()  # the winner first: close_proposals marks whatever is still submitted
    await demands_service.close_proposals(session, demand, now=now)
    deal: Deal = await deals_service.create_deal(
        session,
        principal,
        deals_service.DealInput(
            demand_id=demand.id,
            title=demand.title,
            category=category or CATEGORY_BY_KIND[demand.kind],
            gross_fen=proposal.price,
            milestones=ProposalInput.of(proposal).milestones,
        ),
        fee_rate_bp=fee_rate_bp,
        tax_rate_bp=tax_rate_bp,
    )
    proposal.deal_id = deal.id
    await session.flush()
    return proposal
