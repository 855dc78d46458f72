"""Reviews: the buyer and the seller of a settled deal rate each other once
(/v1/deals/{deal_id}/reviews); an organization's shown reviews are public
(/v1/organizations/{organization_id}/reviews); authors edit theirs until they show and
operators hide abusive ones (/v1/reviews/{review_id})."""

import uuid

from fastapi import status

from app.core.errors import problem_responses
from app.core.pagination import DEFAULT_LIMIT, Page
from app.core.routing import PrefixRouter
from app.routers.deps import CurrentPrincipal, Cursor, Limit, OptionalPrincipal, SessionDep
from app.schemas.reviews import ReviewCreate, ReviewHide, ReviewPage, ReviewRead, ReviewUpdate
from app.services import reviews as reviews_service
from app.services.reviews import ReviewView

deal_reviews_router = PrefixRouter(prefix="/v1/deals/{deal_id}/reviews", tags=["reviews"])
organization_reviews_router = PrefixRouter(
    prefix="/v1/organizations/{organization_id}/reviews", tags=["reviews"]
)
router = PrefixRouter(prefix="/v1/reviews", tags=["reviews"])


@deal_reviews_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReviewRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def write_review(
    deal_id: uuid.UUID, body: ReviewCreate, session: SessionDep, principal: CurrentPrincipal
) -> ReviewView:
    """Review the other side of a settled deal, once (its buyer or seller; scope deals:write);
    it shows when both sides have written or 14 days after settlement."""
    return await reviews_service.write_review(
        session, principal=principal, deal_id=deal_id, rating=body.rating, text=body.text
    )


@deal_reviews_router.get("", response_model=ReviewPage, responses=problem_responses(401, 404, 422))
async def list_deal_reviews(
    deal_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Page[ReviewView]:
    """A deal's reviews: your own side's, and the other side's once it shows (parties; staff
    and auditors read all)."""
    return await reviews_service.list_deal_reviews(session, principal=principal, deal_id=deal_id)


@organization_reviews_router.get(
    "", response_model=ReviewPage, responses=problem_responses(400, 404, 422)
)
async def list_organization_reviews(
    organization_id: uuid.UUID,
    session: SessionDep,
    principal: OptionalPrincipal,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[ReviewView]:
    """The reviews an organization received that show and are not hidden, newest first."""
    return await reviews_service.list_organization_reviews(
        session, principal=principal, organization_id=organization_id, limit=limit, cursor=cursor
    )


@router.patch(
    "/{review_id}",
    response_model=ReviewRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def update_review(
    review_id: uuid.UUID,
    body: ReviewUpdate,  # type: ignore[valid-type]
    session: SessionDep,
    principal: CurrentPrincipal,
) -> ReviewView:
    """Edit your organization's review while it does not show yet (scope deals:write)."""
    return await reviews_service.update_review(
        session,
        principal=principal,
        review_id=review_id,
        changes=body.model_dump(exclude_unset=True),  # type: ignore[attr-defined]
    )


@router.post(
    "/{review_id}/hide",
    response_model=ReviewRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def hide_review(
    review_id: uuid.UUID, body: ReviewHide, session: SessionDep, principal: CurrentPrincipal
) -> ReviewView:
    """Hide an abusive review from lists and ratings, saying why (operators; kept in
    history)."""
    return await reviews_service.hide_review(
        session, principal=principal, review_id=review_id, reason=body.reason
    )


@router.post(
    "/{review_id}/unhide",
    response_model=ReviewRead,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def unhide_review(
    review_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> ReviewView:
    """Show a hidden review again (operators; kept in history)."""
    return await reviews_service.unhide_review(session, principal=principal, review_id=review_id)
