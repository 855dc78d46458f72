"""/v1/demands/{demand_id}/questions: clarifications asked while a demand is open, answered
by its owner for every bidder, hidden by operators. Askers stay anonymous."""

import uuid

from fastapi import status

from app.core.errors import problem_responses
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.routers.deps import CurrentPrincipal, Cursor, Limit, OptionalPrincipal, SessionDep
from app.schemas.questions import (
    QuestionAnswer,
    QuestionCreate,
    QuestionHide,
    QuestionPage,
    QuestionRead,
)
from app.services import questions as questions_service
from app.services.questions import QuestionView

router = PrefixRouter(prefix="/v1/demands/{demand_id}/questions", tags=["questions"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QuestionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def ask_question(
    demand_id: uuid.UUID, body: QuestionCreate, session: SessionDep, principal: CurrentPrincipal
) -> QuestionView:
    """Ask the owner about an open demand (scope demands:write; any organization but the
    owner's). The owner and other providers never learn who asked."""
    return await questions_service.ask_question(
        session, principal=principal, demand_id=demand_id, text=body.text
    )


@router.get("", response_model=QuestionPage, responses=problem_responses(400, 401, 404, 422))
async def list_questions(
    demand_id: uuid.UUID,
    session: SessionDep,
    principal: OptionalPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[QuestionView]:
    """A demand's questions, oldest first: the answered ones, and the caller's own unanswered
    ones (the owner: every one; staff and auditors: hidden ones too, with their askers)."""
    return await questions_service.list_questions(
        session, principal=principal, demand_id=demand_id, limit=limit, cursor=cursor
    )


@router.post(
    "/{question_id}/answer",
    response_model=QuestionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def answer_question(
    demand_id: uuid.UUID,
    question_id: uuid.UUID,
    body: QuestionAnswer,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> QuestionView:
    """Answer a question once, for everyone who sees the demand (the owner; while the demand
    is open or closed)."""
    return await questions_service.answer_question(
        session, principal=principal, demand_id=demand_id, question_id=question_id, text=body.text
    )


@router.post(
    "/{question_id}/hide",
    response_model=QuestionRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def hide_question(
    demand_id: uuid.UUID,
    question_id: uuid.UUID,
    body: QuestionHide,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> QuestionView:
    """Hide a question from everyone but staff and auditors, saying why (operators); recorded
    in the demand's history."""
    return await questions_service.hide_question(
        session,
        principal=principal,
        demand_id=demand_id,
        question_id=question_id,
        reason=body.reason,
    )
