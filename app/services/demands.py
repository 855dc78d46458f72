"""Demands: an enterprise's posted need, a catalog item with its own workflow.

draft → open → closed → awarded | unsuccessful, or cancelled from draft or open. ``closed``
is never stored: an open demand whose deadline has passed reads as closed, in Python
(:func:`read_status`, ``Demand.current_status``) and in lists and search (the workflow's
``derived`` status), on every replica at once, with no job. Lists, search, facets and
history are the catalog mechanism's (:data:`SPEC`); who sees what is
:func:`visible_condition` / :func:`may_see`.

Who sees a demand: its owner, staff (admins, operators) and auditors always; anyone else
only once it has been opened (``published_at``), while it is not hidden by an operator, and,
when it is invited-only, only invited organizations. Its budget shows to others only when
``budget_visible``.
"""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.calendar import utcnow
from app.core.db import locking
from app.core.errors import FieldError, Forbidden, IllegalTransition, NotFound, ValidationFailed
from app.core.pagination import Page
from app.core.security import Principal, Role, Scope
from app.models.catalog import CatalogHistory, HistoryAction
from app.models.demands import (
    Demand,
    DemandInvitation,
    DemandKind,
    DemandStatus,
    Proposal,
    ProposalStatus,
)
from app.models.orgs import OrganizationKind
from app.services import catalog
from app.services.catalog import CatalogPage, CatalogQuery, Redacted, Workflow

#: What others do not see of a demand whose budget is not visible.
BUDGET_FIELDS = frozenset({"budget_min", "budget_max"})


def sees_everything(principal: Principal | None) -> bool:
    """Staff and auditors read every demand, proposal and question."""
    return principal is not None and (principal.is_staff or principal.role is Role.auditor)


def _closed(now: datetime) -> filters.Filter:
    """An open demand whose deadline has passed reads as closed."""
    return filters.Range("deadline", high=now)


#: Opened (published) and not hidden by an operator.
_OPENED = filters.all_of(filters.Range("published_at"), filters.Not(filters.Range("hidden_at")))

WORKFLOW = Workflow(
    listed=(DemandStatus.open,),
    editable=frozenset({DemandStatus.draft}),
    public=_OPENED,
    is_public=lambda demand: demand.published_at is not None and demand.hidden_at is None,
    frozen_code="demand_not_editable",
    derived={DemandStatus.closed: (DemandStatus.open, _closed)},
)

INVITED = "invited_organization_ids"
"""The search index's list of a demand's invited organizations."""


def visible_condition(principal: Principal | None) -> filters.Filter:
    """The demands ``principal`` may see (lists and search)."""
    if sees_everything(principal):
        return filters.Everything()
    public = filters.OneOf("invited_only", (False,))
    if principal is None or principal.organization_id is None:
        return filters.all_of(_OPENED, public)
    org = principal.organization_id

    def invitation(model: Any) -> ColumnElement[bool]:
        invited = select(DemandInvitation.demand_id).where(DemandInvitation.organization_id == org)
        condition: ColumnElement[bool] = model.id.in_(invited)
        return condition

    invited = filters.Related(sql=invitation, indexed=filters.Has(INVITED, str(org)))
    return filters.any_of(
        filters.OneOf("owner_id", (org,)),
        filters.all_of(_OPENED, filters.any_of(public, invited)),
    )


async def invited_organizations(
    session: AsyncSession, demand_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, dict[str, list[str]]]:
    """Each demand's invited organizations, as the search index holds them."""
    rows = await session.execute(
        select(DemandInvitation.demand_id, DemandInvitation.organization_id).where(
            DemandInvitation.demand_id.in_(list(demand_ids))
        )
    )
    found: dict[uuid.UUID, dict[str, list[str]]] = {}
    for demand_id, org in rows.all():
        found.setdefault(demand_id, {INVITED: []})[INVITED].append(str(org))
    return found


async def touch_for_index(session: AsyncSession, demand_id: uuid.UUID) -> None:
    """Mark a demand changed for the search index (it holds the demand's invited
    organizations), leaving its version, and so its ETag, as they are."""
    await session.execute(
        update(Demand)
        .where(Demand.id == demand_id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    catalog.note_changed(session, [SPEC.name])


async def is_invited(session: AsyncSession, demand_id: uuid.UUID, org: uuid.UUID | None) -> bool:
    if org is None:
        return False
    found = await session.scalar(
        select(DemandInvitation.id).where(
            DemandInvitation.demand_id == demand_id, DemandInvitation.organization_id == org
        )
    )
    return found is not None


async def may_see(session: AsyncSession, principal: Principal | None, demand: Demand) -> bool:
    """The test of :func:`visible_condition` for one loaded demand."""
    if sees_everything(principal) or is_owner(principal, demand):
        return True
    if not WORKFLOW.is_public(demand):
        return False
    if not demand.invited_only:
        return True
    return principal is not None and await is_invited(session, demand.id, principal.organization_id)


def is_owner(principal: Principal | None, demand: Demand) -> bool:
    return principal is not None and principal.organization_id == demand.owner_id


async def visible_demand(
    session: AsyncSession, principal: Principal | None, demand_id: uuid.UUID, *, lock: bool = False
) -> Demand:
    """The demand, if ``principal`` may see it (404 otherwise: an invisible demand does not
    exist for the caller). ``lock``: its row locked until the transaction ends (PostgreSQL;
    SQLite serializes writers), read afresh."""
    stmt = select(Demand).where(Demand.id == demand_id)
    if lock:
        stmt = locking(session, stmt)
    demand = (await session.scalars(stmt)).one_or_none()
    if demand is None or not await may_see(session, principal, demand):
        raise NotFound(f"No demand {demand_id}.")
    return demand


def require_owner(principal: Principal, demand: Demand) -> None:
    """Only the owning enterprise (or staff on its behalf) acts on its demand."""
    principal.require_scope(Scope.demands_write)
    if not principal.acts_for(demand.owner_id):
        raise Forbidden("Only the demand's owner (or an operator) acts on it.", code="not_owner")


def require_status(demand: Demand, action: str, *allowed: DemandStatus) -> DemandStatus:
    """The demand's status as read now, if ``action`` is allowed in it (409 otherwise)."""
    status = demand.current_status
    if status not in allowed:
        raise IllegalTransition(
            f"A {status.value} demand cannot be {action}"
            f" (only a {' or '.join(s.value for s in allowed)} one)."
        )
    return status


def present(demand: Demand, principal: Principal | None) -> Demand | Redacted:
    """The demand as ``principal`` may read it: the budget hidden from others unless it is
    visible."""
    if demand.budget_visible or sees_everything(principal) or is_owner(principal, demand):
        return demand
    return Redacted(demand, BUDGET_FIELDS)


def etag_of(demand: Demand | Redacted) -> str:
    """The demand's ETag: its version, ``c`` once it reads closed (the clock, not a write, made
    it so), ``p`` when its budget is withheld from the caller (see :func:`present`)."""
    closed = demand.status is DemandStatus.open and demand.current_status is DemandStatus.closed
    return catalog.etag_of(
        demand, variant="c" if closed else "", public=isinstance(demand, Redacted)
    )


# --- the catalog spec ---------------------------------------------------------------------


def _demand_errors(values: Mapping[str, Any], now: datetime) -> list[FieldError]:
    errors: list[FieldError] = []
    low, high = values.get("budget_min"), values.get("budget_max")
    if low is not None and high is not None and low > high:
        errors.append(
            FieldError(
                loc=["body", "budget_min"], message="budget_min is above budget_max",
                type="range_order",
            )
        )  # fmt: skip
    deadline = values.get("deadline")
    if deadline is not None and deadline <= now:
        errors.append(
            FieldError(loc=["body", "deadline"], message="the deadline has passed",
                       type="deadline_passed")
        )  # fmt: skip
    if values.get("kind") is DemandKind.challenge:
        if values.get("reward") is None:
            errors.append(
                FieldError(loc=["body", "reward"], message="a challenge states its reward",
                           type="reward_required")
            )  # fmt: skip
    elif values.get("reward") is not None or values.get("requirements") is not None:
        errors.append(
            FieldError(loc=["body", "reward"], type="challenge_only",
                       message="reward and requirements are for challenges only")
        )  # fmt: skip
    return errors


async def check_demands(
    session: AsyncSession, principal: Principal, items: Sequence[Mapping[str, Any]]
) -> list[list[FieldError]]:
    """Budget in order, deadline still ahead, a challenge's reward stated."""
    now = utcnow()
    return [_demand_errors(item, now) for item in items]


SPEC = catalog.CatalogSpec(
    name="demands",
    noun="demand",
    model=Demand,
    fields=(
        "kind",
        "title",
        "description",
        "field",
        "budget_min",
        "budget_max",
        "budget_visible",
        "deadline",
        "reward",
        "requirements",
        "attachments",
        "invited_only",
    ),
    title_fields=("title",),
    body_fields=("description", "field", "requirements"),
    facets=("kind", "field", "status", "owner_id"),
    owner_kinds=frozenset({OrganizationKind.enterprise}),
    check=check_demands,
    workflow=WORKFLOW,
    write_scope=Scope.demands_write,
    visibility=visible_condition,
    index_extras=(INVITED,),
    index_extras_loader=invited_organizations,
    rows_suffice=False,
)


# --- reading ------------------------------------------------------------------------------


async def get_demand(
    session: AsyncSession, *, principal: Principal | None, demand_id: uuid.UUID
) -> Demand | Redacted:
    demand = await visible_demand(session, principal, demand_id)
    return present(demand, principal)


async def list_demands(
    session: AsyncSession,
    *,
    principal: Principal | None,
    query: CatalogQuery,
    kinds: list[DemandKind] | None = None,
    fields: list[str] | None = None,
    budget_min: int | None = None,
    budget_max: int | None = None,
    deadline_from: datetime | None = None,
    deadline_to: datetime | None = None,
) -> CatalogPage[Demand]:
    """Demands by kind, field, budget (overlapping the range: only budgets the caller may
    see), and deadline; ``status`` as read now (closed once the deadline has passed)."""
    budget = filters.overlapping("budget_min", "budget_max", budget_min, budget_max)
    if budget is not None and not sees_everything(principal):
        org = principal.organization_id if principal is not None else None
        shown: filters.Filter = filters.OneOf("budget_visible", (True,))
        if org is not None:
            shown = filters.any_of(shown, filters.OneOf("owner_id", (org,)))
        budget = filters.all_of(shown, budget)
    query.filter = filters.all_of(
        filters.one_of("kind", kinds),
        filters.one_of("field", fields),
        budget,
        filters.at_least("deadline", deadline_from),
        filters.Range("deadline", high=deadline_to, high_exclusive=True)
        if deadline_to is not None
        else None,
    )
    page = await catalog.search_items(session, SPEC, principal=principal, query=query)
    page.items = [present(item, principal) for item in page.items]
    return page


# --- writing ------------------------------------------------------------------------------


async def create_demand(
    session: AsyncSession,
    *,
    principal: Principal,
    values: Mapping[str, Any],
    owner_id: uuid.UUID | None = None,
) -> Demand:
    """A new draft demand of the caller's enterprise (staff name the owner)."""
    return await catalog.create_item(
        session, SPEC, principal=principal, values=values, owner_id=owner_id
    )


async def update_demand(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    values: Mapping[str, Any],
    if_match: str | None,
) -> Demand:
    """Change a draft's fields (an opened demand changes only by extending its deadline)."""
    await visible_demand(session, principal, demand_id)
    return await catalog.update_item(
        session, SPEC, principal=principal, item_id=demand_id, values=values, if_match=if_match
    )


async def _change(
    session: AsyncSession,
    demand: Demand,
    principal: Principal,
    action: HistoryAction,
    changes: dict[str, Any],
) -> Demand:
    await catalog.record_change(
        session, SPEC, demand, principal=principal, action=action, changes=changes
    )
    return demand


async def _owned_for_change(
    session: AsyncSession,
    principal: Principal,
    demand_id: uuid.UUID,
    if_match: str | None,
    action: str,
    *allowed: DemandStatus,
) -> tuple[Demand, DemandStatus]:
    """The demand, locked, for its owner to change (``action``, as in "cannot be cancelled"),
    at the version ``if_match`` names, in one of the ``allowed`` statuses (the one it is in)."""
    demand = await visible_demand(session, principal, demand_id, lock=True)
    require_owner(principal, demand)
    catalog.check_precondition(SPEC, demand, if_match)
    return demand, require_status(demand, action, *allowed)


async def close_proposals(session: AsyncSession, demand: Demand, *, now: datetime) -> None:
    """Every submitted proposal of ``demand`` becomes unsuccessful: the demand was cancelled
    or closed with no award, or another proposal won."""
    await session.execute(
        update(Proposal)
        .where(Proposal.demand_id == demand.id, Proposal.status == ProposalStatus.submitted)
        .values(status=ProposalStatus.unsuccessful, decided_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def publish_demand(
    session: AsyncSession, *, principal: Principal, demand_id: uuid.UUID, if_match: str | None
) -> Demand:
    """Open a draft for proposals until its deadline (which must still be ahead)."""
    demand, _ = await _owned_for_change(
        session, principal, demand_id, if_match, "published", DemandStatus.draft
    )
    now = utcnow()
    if demand.deadline <= now:
        raise ValidationFailed(
            "The deadline has passed: move it before publishing.", code="deadline_passed"
        )
    demand.status, demand.published_at = DemandStatus.open, now
    return await _change(
        session, demand, principal, HistoryAction.publish, {"status": ["draft", "open"]}
    )


async def cancel_demand(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    reason: str,
    if_match: str | None,
) -> Demand:
    """Call off a draft or an open demand, saying why (its proposals become unsuccessful)."""
    demand, before = await _owned_for_change(
        session, principal, demand_id, if_match, "cancelled", DemandStatus.draft, DemandStatus.open
    )
    now = utcnow()
    demand.status, demand.cancelled_at, demand.cancel_reason = DemandStatus.cancelled, now, reason
    await close_proposals(session, demand, now=now)
    return await _change(
        session,
        demand,
        principal,
        HistoryAction.cancel,
        {"status": [before.value, "cancelled"], "cancel_reason": [None, reason]},
    )


async def extend_demand(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    deadline: datetime,
    if_match: str | None,
) -> Demand:
    """Move an open demand's deadline later (never earlier); history keeps the old one."""
    demand, _ = await _owned_for_change(
        session, principal, demand_id, if_match, "extended", DemandStatus.open
    )
    if deadline <= demand.deadline:
        raise ValidationFailed(
            "A deadline is only extended: send a later one.",
            code="deadline_not_later",
            errors=[
                FieldError(
                    loc=["body", "deadline"],
                    message=f"must be after {demand.deadline.isoformat()}",
                    type="deadline_not_later",
                )
            ],
        )
    before = demand.deadline
    demand.deadline = deadline
    return await _change(
        session,
        demand,
        principal,
        HistoryAction.extend,
        {"deadline": [before.isoformat(), deadline.isoformat()]},
    )


async def close_unsuccessful(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    reason: str | None,
    if_match: str | None,
) -> Demand:
    """End a closed demand with no award: every live proposal becomes unsuccessful."""
    demand, _ = await _owned_for_change(
        session, principal, demand_id, if_match, "closed as unsuccessful", DemandStatus.closed
    )
    now = utcnow()
    demand.status, demand.decided_at = DemandStatus.unsuccessful, now
    await close_proposals(session, demand, now=now)
    changes: dict[str, Any] = {"status": ["closed", "unsuccessful"]}
    if reason:
        changes["reason"] = [None, reason]
    return await _change(session, demand, principal, HistoryAction.close_unsuccessful, changes)


async def mark_awarded(
    session: AsyncSession, demand: Demand, *, principal: Principal, proposal_id: uuid.UUID
) -> None:
    """The demand (locked, read as closed) awarded to ``proposal_id``: the award's half that
    is the demand's (app/services/proposals.py does the rest, in the same transaction)."""
    require_status(demand, "awarded", DemandStatus.closed)
    demand.status, demand.decided_at = DemandStatus.awarded, utcnow()
    await _change(
        session,
        demand,
        principal,
        HistoryAction.award,
        {"status": ["closed", "awarded"], "proposal_id": [None, str(proposal_id)]},
    )


async def moderate_demand(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    hide: bool,
    reason: str | None,
) -> Demand:
    """Hide a demand from everyone but its owner and staff, or show it again (operators)."""
    principal.require_role(Role.admin, Role.operator)
    demand = await visible_demand(session, principal, demand_id, lock=True)
    if hide == (demand.hidden_at is not None):
        state = "hidden" if hide else "visible"
        raise IllegalTransition(f"The demand is already {state}.")
    before = demand.hidden_reason
    demand.hidden_at, demand.hidden_reason = (utcnow(), reason) if hide else (None, None)
    action = HistoryAction.hide if hide else HistoryAction.unhide
    return await _change(
        session, demand, principal, action, {"hidden_reason": [before, demand.hidden_reason]}
    )


async def list_demand_history(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[CatalogHistory]:
    """Changes to a demand, oldest first (its owner, staff and auditors)."""
    demand = await visible_demand(session, principal, demand_id)
    if not (sees_everything(principal) or is_owner(principal, demand)):
        raise Forbidden("Only the demand's owner, staff and auditors see its history.")
    return await catalog.history_page(session, SPEC, item_id=demand_id, limit=limit, cursor=cursor)
