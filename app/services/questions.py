"""Clarification questions on a demand: asked by prospective providers while it is open,
answered once by its owner for every bidder, hidden by operators.

Who reads which question: everyone who may see the demand reads the answered ones; the asking
organization also its own unanswered ones; the owner every one (to answer it); a hidden one
only staff and auditors. The asker is recorded but shown only to staff and auditors: to
everyone else, the owner included, a question is anonymous (``asked_by_you`` tells the asker
its own).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.db import locking
from app.core.errors import Forbidden, IllegalTransition, NotFound
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.security import Principal, Role, Scope
from app.models.catalog import HistoryAction
from app.models.demands import Demand, DemandQuestion, DemandStatus
from app.services import catalog
from app.services import demands as demands_service

OLDEST_FIRST = KeysetOrder(
    "questions:oldest", (DemandQuestion.created_at, DemandQuestion.id), descending=False
)


@dataclass(frozen=True, slots=True)
class QuestionView:
    """A question as one caller may read it."""

    id: uuid.UUID
    demand_id: uuid.UUID
    text: str
    answer: str | None
    answered_at: datetime | None
    created_at: datetime
    asked_by_you: bool
    asker_organization_id: uuid.UUID | None
    """Staff and auditors only: None for everyone else."""
    hidden: bool
    hidden_reason: str | None
    """Staff and auditors only."""


def present(question: DemandQuestion, principal: Principal | None) -> QuestionView:
    """``question`` as ``principal`` may read it: the asker only for staff and auditors."""
    staff = demands_service.sees_everything(principal)
    org = principal.organization_id if principal is not None else None
    return QuestionView(
        id=question.id,
        demand_id=question.demand_id,
        text=question.text,
        answer=question.answer,
        answered_at=question.answered_at,
        created_at=question.created_at,
        asked_by_you=org is not None and org == question.asker_organization_id,
        asker_organization_id=question.asker_organization_id if staff else None,
        hidden=question.hidden_at is not None,
        hidden_reason=question.hidden_reason if staff else None,
    )


async def _question(
    session: AsyncSession, demand: Demand, question_id: uuid.UUID, principal: Principal
) -> DemandQuestion:
    """The question of ``demand``, its row locked (PostgreSQL; SQLite serializes writers) and
    read afresh; 404 when it is not the demand's, or hidden from the caller."""
    stmt = locking(
        session,
        select(DemandQuestion).where(
            DemandQuestion.id == question_id, DemandQuestion.demand_id == demand.id
        ),
    )
    question = (await session.scalars(stmt)).one_or_none()
    hidden_from_caller = (
        question is not None
        and question.hidden_at is not None
        and not demands_service.sees_everything(principal)
    )
    if question is None or hidden_from_caller:
        raise NotFound(f"No question {question_id} on demand {demand.id}.")
    return question


async def ask_question(
    session: AsyncSession, *, principal: Principal, demand_id: uuid.UUID, text: str
) -> QuestionView:
    """A question from an organization other than the owner, while the demand is open."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    principal.require_scope(Scope.demands_write)
    if principal.organization_id is None:
        raise Forbidden(
            "Questions are asked for a provider organization; sign in as one of its members.",
            code="organization_required",
        )
    if demands_service.is_owner(principal, demand):
        raise Forbidden("The owner does not ask about its own demand.", code="own_demand")
    if demand.current_status is DemandStatus.closed:
        raise IllegalTransition(
            f"No questions after the deadline: the demand closed at {demand.deadline.isoformat()}."
        )
    demands_service.require_status(demand, "asked about", DemandStatus.open)
    question = DemandQuestion(
        demand_id=demand.id,
        asker_organization_id=principal.organization_id,
        asked_by=principal.label,
        text=text,
    )
    session.add(question)
    await session.flush()
    return present(question, principal)


async def list_questions(
    session: AsyncSession,
    *,
    principal: Principal | None,
    demand_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[QuestionView]:
    """The questions the caller may read, oldest first."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    stmt = select(DemandQuestion).where(DemandQuestion.demand_id == demand.id)
    if not demands_service.sees_everything(principal):
        stmt = stmt.where(DemandQuestion.hidden_at.is_(None))
        if not demands_service.is_owner(principal, demand):
            answered = DemandQuestion.answered_at.is_not(None)
            org = principal.organization_id if principal is not None else None
            if org is None:
                stmt = stmt.where(answered)
            else:
                stmt = stmt.where(or_(answered, DemandQuestion.asker_organization_id == org))
    page = await paginate(session, stmt, order=OLDEST_FIRST, limit=limit, cursor=cursor)
    return Page(items=[present(q, principal) for q in page.items], next_cursor=page.next_cursor)


async def answer_question(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    question_id: uuid.UUID,
    text: str,
) -> QuestionView:
    """The owner's answer, once, for every bidder: while the demand is open or closed."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    demands_service.require_owner(principal, demand)
    demands_service.require_status(demand, "clarified", DemandStatus.open, DemandStatus.closed)
    question = await _question(session, demand, question_id, principal)
    if question.hidden_at is not None:
        raise IllegalTransition("A hidden question is not answered.")
    if question.answered_at is not None:
        raise IllegalTransition("The question is already answered; an answer is given once.")
    question.answer, question.answered_at, question.answered_by = text, utcnow(), principal.label
    await session.flush()
    return present(question, principal)


async def hide_question(
    session: AsyncSession,
    *,
    principal: Principal,
    demand_id: uuid.UUID,
    question_id: uuid.UUID,
    reason: str,
) -> QuestionView:
    """Hide a question from everyone but staff and auditors (operators), in the demand's
    history."""
    principal.require_role(Role.admin, Role.operator)
    demand = await demands_service.visible_demand(session, principal, demand_id)
    question = await _question(session, demand, question_id, principal)
    if question.hidden_at is not None:
        raise IllegalTransition("The question is already hidden.")
    question.hidden_at, question.hidden_reason = utcnow(), reason
    session.add(
        catalog.history_entry(
            demands_service.SPEC,
            demand,
            action=HistoryAction.hide,
            principal=principal,
            changes={"question_id": [None, str(question.id)], "hidden_reason": [None, reason]},
        )
    )
    await session.flush()
    return present(question, principal)
