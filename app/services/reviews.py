"""Reviews: after a deal has settled through escrow, its buyer and its seller may each review
the other once (a rating of 1 to 5 and a text).

A review is sealed until it *shows*: once the other side's review exists, or 14 days after
the deal settled, whichever comes first. Until then only its author's organization, staff and
auditors read it, and its author may still edit it; once it shows it is final (409
``review_locked``). Whether it shows is derived from the clock and the other review at every
read, never stored (like a demand's ``closed``), so no job has to run at the 14th day.

Operators hide an abusive review with a reason (and unhide it); a hidden review leaves the
public lists and the organization's rating, and every write — written, edited, hidden,
unhidden — is a row of ``catalog_history`` (catalog ``reviews``), as demands record theirs.

Every write locks the deal's row first, so one side's edit and the other side's review are
serialized: an edit can never pass its "not yet shown" check while the other review that
would show it is being written.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.calendar import utcnow
from app.core.db import locking
from app.core.errors import Conflict, Forbidden, IllegalTransition, NotFound
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.security import Principal, Role, Scope
from app.models.catalog import CatalogHistory, HistoryAction
from app.models.deals import Deal, DealStatus
from app.models.orgs import Organization
from app.models.reviews import Review, ReviewSide
from app.services import deals as deals_service

#: A review shows at the latest this long after its deal settled.
SHOW_AFTER = timedelta(days=14)
#: The name of reviews' rows in ``catalog_history``.
HISTORY_NAME = "reviews"

NEWEST_FIRST = KeysetOrder("reviews:newest", (Review.created_at, Review.id))


@dataclass(frozen=True, slots=True)
class Rating:
    """An organization's rating over the shown, not hidden reviews it received."""

    count: int
    average_tenths: int | None
    """The mean rating in tenths of a star, rounded half up (43 = 4.3); None without reviews."""


@dataclass(frozen=True, slots=True)
class ReviewView:
    """A review as one caller may read it."""

    id: uuid.UUID
    deal_id: uuid.UUID
    side: ReviewSide
    reviewer_id: uuid.UUID
    reviewee_id: uuid.UUID
    rating: int
    text: str
    created_at: datetime
    updated_at: datetime
    shown: bool
    shows_at: datetime
    """When it showed, or the latest moment it will show (the other side may make it sooner)."""
    hidden: bool
    hidden_reason: str | None
    """Staff, auditors and the author's organization only."""


def sees_everything(principal: Principal | None) -> bool:
    """Staff and auditors read every review, sealed and hidden ones included."""
    return principal is not None and (principal.is_staff or principal.role is Role.auditor)


def _other(side: ReviewSide) -> ReviewSide:
    return ReviewSide.seller if side is ReviewSide.buyer else ReviewSide.buyer


def shows_at(
    written_at: datetime, settled_at: datetime, other_written_at: datetime | None
) -> datetime:
    """When a review written at ``written_at`` shows: once both sides have written, or 14 days
    after settlement, whichever is first (a review written later shows at once)."""
    deadline = settled_at + SHOW_AFTER
    both = deadline if other_written_at is None else min(deadline, other_written_at)
    return max(written_at, both)


def _shown_sql(now: datetime) -> ColumnElement[bool]:
    """Whether a review (joined to its ``Deal``) shows at ``now``, as SQL."""
    other = aliased(Review)
    other_written = exists().where(other.deal_id == Review.deal_id, other.side != Review.side)
    return or_(Deal.closed_at <= now - SHOW_AFTER, other_written)


def _present(
    review: Review, *, show_time: datetime, now: datetime, principal: Principal | None
) -> ReviewView:
    author = principal is not None and principal.organization_id == review.reviewer_id
    return ReviewView(
        id=review.id,
        deal_id=review.deal_id,
        side=review.side,
        reviewer_id=review.reviewer_id,
        reviewee_id=review.reviewee_id,
        rating=review.rating,
        text=review.text,
        created_at=review.created_at,
        updated_at=review.updated_at,
        shown=show_time <= now,
        shows_at=show_time,
        hidden=review.hidden_at is not None,
        hidden_reason=review.hidden_reason if author or sees_everything(principal) else None,
    )


def _readable(view: ReviewView, principal: Principal | None) -> bool:
    """Staff and auditors read every review; its author's organization its own; everyone else
    a shown one that no operator hid."""
    if sees_everything(principal):
        return True
    if principal is not None and principal.organization_id == view.reviewer_id:
        return True
    return view.shown and not view.hidden


def _history(
    review: Review, action: HistoryAction, principal: Principal | None, changes: Mapping[str, Any]
) -> CatalogHistory:
    return CatalogHistory(
        catalog=HISTORY_NAME,
        item_id=review.id,
        action=action,
        actor_kind=principal.kind.value if principal else "system",
        actor_id=principal.id if principal else None,
        source="api" if principal else "seed",
        version=review.version,
        changes=dict(changes),
    )


async def _locked_deal(session: AsyncSession, deal_id: uuid.UUID) -> Deal:
    stmt = locking(session, select(Deal).where(Deal.id == deal_id))
    deal = (await session.scalars(stmt)).one_or_none()
    if deal is None:
        raise NotFound(f"No deal {deal_id}.")
    return deal


async def _reviews_of_deal(session: AsyncSession, deal_id: uuid.UUID) -> list[Review]:
    stmt = select(Review).where(Review.deal_id == deal_id).execution_options(populate_existing=True)
    return list((await session.scalars(stmt)).all())


def _show_time(review: Review, deal: Deal, reviews: Sequence[Review]) -> datetime:
    assert deal.closed_at is not None  # only settled deals have reviews
    other = next((r for r in reviews if r.side is _other(review.side)), None)
    return shows_at(
        review.created_at, deal.closed_at, other.created_at if other is not None else None
    )


def _require_settled(deal: Deal) -> datetime:
    """The time ``deal`` settled through escrow; 409 ``deal_not_settled`` otherwise."""
    if deal.status is not DealStatus.settled or deal.funded_at is None or deal.closed_at is None:
        raise Conflict(
            f"Deal {deal.id} is {deal.status.value}: reviews are written once a deal has been"
            " paid through escrow and settled.",
            code="deal_not_settled",
        )
    return deal.closed_at


def _side_of(principal: Principal, deal: Deal) -> ReviewSide:
    """The caller's side of the deal; 403 ``not_a_party`` for anyone else (staff included)."""
    if principal.organization_id is not None and principal.organization_id == deal.buyer_id:
        return ReviewSide.buyer
    if principal.organization_id is not None and principal.organization_id == deal.seller_id:
        return ReviewSide.seller
    raise Forbidden("Only the deal's buyer and seller review each other.", code="not_a_party")


async def write_review(
    session: AsyncSession, *, principal: Principal, deal_id: uuid.UUID, rating: int, text: str
) -> ReviewView:
    """The caller's side reviews the other side of a settled deal, once."""
    await deals_service.get_deal(session, principal, deal_id)  # 404 unless a party or staff
    principal.require_scope(Scope.deals_write)
    deal = await _locked_deal(session, deal_id)
    side = _side_of(principal, deal)
    _require_settled(deal)
    reviews = await _reviews_of_deal(session, deal.id)
    if any(r.side is side for r in reviews):
        raise _review_exists(side)
    review = Review(
        id=uuid.uuid4(),
        deal_id=deal.id,
        side=side,
        reviewer_id=deal.buyer_id if side is ReviewSide.buyer else deal.seller_id,
        reviewee_id=deal.seller_id if side is ReviewSide.buyer else deal.buyer_id,
        rating=rating,
        text=text,
        written_by=principal.label,
        version=1,
    )
    session.add(review)
    try:
        await session.flush()
    except IntegrityError as exc:  # uq_reviews_deal_id_side: a concurrent review won
        raise _review_exists(side) from exc
    session.add(
        _history(
            review,
            HistoryAction.create,
            principal,
            {"side": [None, side.value], "rating": [None, rating], "text": [None, text]},
        )
    )
    await session.flush()
    reviews.append(review)
    return _present(
        review, show_time=_show_time(review, deal, reviews), now=utcnow(), principal=principal
    )


def _review_exists(side: ReviewSide) -> Conflict:
    return Conflict(
        f"The {side.value} has already reviewed this deal; a review is written once"
        " (edit it while it does not show yet).",
        code="review_exists",
    )


async def list_deal_reviews(
    session: AsyncSession, *, principal: Principal, deal_id: uuid.UUID
) -> Page[ReviewView]:
    """A deal's reviews as the caller may read them (its parties, staff and auditors)."""
    deal = await deals_service.get_deal(session, principal, deal_id)
    reviews = sorted(await _reviews_of_deal(session, deal.id), key=lambda r: r.created_at)
    now = utcnow()
    views = [
        _present(r, show_time=_show_time(r, deal, reviews), now=now, principal=principal)
        for r in reviews
    ]
    return Page(items=[v for v in views if _readable(v, principal)], next_cursor=None)


async def _review_for_change(
    session: AsyncSession, principal: Principal, review_id: uuid.UUID
) -> tuple[Review, Deal, list[Review]]:
    """The review, its deal locked and both of the deal's reviews read afresh; 404 when the
    caller may not read it."""
    review = await session.get(Review, review_id)
    if review is None:
        raise NotFound(f"No review {review_id}.")
    deal = await _locked_deal(session, review.deal_id)
    reviews = await _reviews_of_deal(session, deal.id)
    review = next(r for r in reviews if r.id == review_id)
    view = _present(
        review, show_time=_show_time(review, deal, reviews), now=utcnow(), principal=principal
    )
    if not _readable(view, principal):
        raise NotFound(f"No review {review_id}.")
    return review, deal, reviews


async def update_review(
    session: AsyncSession,
    *,
    principal: Principal,
    review_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> ReviewView:
    """Edit the caller's own review while it does not show yet (``changes``: rating, text)."""
    review, deal, reviews = await _review_for_change(session, principal, review_id)
    principal.require_scope(Scope.deals_write)
    if principal.organization_id != review.reviewer_id:
        raise Forbidden("Only the organization that wrote a review edits it.", code="not_author")
    now = utcnow()
    show_time = _show_time(review, deal, reviews)
    if show_time <= now:
        raise Conflict(
            f"The review shows since {show_time.isoformat()}; a review that shows is final.",
            code="review_locked",
        )
    changed = {
        field: [getattr(review, field), value]
        for field, value in changes.items()
        if getattr(review, field) != value
    }
    if changed:
        for field, (_, value) in changed.items():
            setattr(review, field, value)
        review.version += 1
        session.add(_history(review, HistoryAction.update, principal, changed))
        await session.flush()
    return _present(review, show_time=show_time, now=now, principal=principal)


async def hide_review(
    session: AsyncSession, *, principal: Principal, review_id: uuid.UUID, reason: str
) -> ReviewView:
    """Hide an abusive review from everyone but staff, auditors and its author (operators)."""
    principal.require_role(Role.admin, Role.operator)
    review, deal, reviews = await _review_for_change(session, principal, review_id)
    if review.hidden_at is not None:
        raise IllegalTransition("The review is already hidden.")
    review.hidden_at, review.hidden_reason = utcnow(), reason
    review.version += 1
    session.add(_history(review, HistoryAction.hide, principal, {"hidden_reason": [None, reason]}))
    await session.flush()
    return _present(
        review, show_time=_show_time(review, deal, reviews), now=utcnow(), principal=principal
    )


async def unhide_review(
    session: AsyncSession, *, principal: Principal, review_id: uuid.UUID
) -> ReviewView:
    """Show a hidden review again (operators); the reason it was hidden stays in history."""
    principal.require_role(Role.admin, Role.operator)
    review, deal, reviews = await _review_for_change(session, principal, review_id)
    if review.hidden_at is None:
        raise IllegalTransition("The review is not hidden.")
    changes = {"hidden_reason": [review.hidden_reason, None]}
    review.hidden_at, review.hidden_reason = None, None
    review.version += 1
    session.add(_history(review, HistoryAction.unhide, principal, changes))
    await session.flush()
    return _present(
        review, show_time=_show_time(review, deal, reviews), now=utcnow(), principal=principal
    )


def _public(organization_id: uuid.UUID, now: datetime) -> ColumnElement[bool]:
    """Reviews ``organization_id`` received that show at ``now`` and no operator hid."""
    return and_(Review.reviewee_id == organization_id, Review.hidden_at.is_(None), _shown_sql(now))


async def _require_organization(session: AsyncSession, organization_id: uuid.UUID) -> None:
    if await session.get(Organization, organization_id) is None:
        raise NotFound(f"Organization {organization_id} does not exist.")


async def list_organization_reviews(
    session: AsyncSession,
    *,
    principal: Principal | None,
    organization_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[ReviewView]:
    """The reviews an organization received that show and are not hidden, newest first."""
    await _require_organization(session, organization_id)
    now = utcnow()
    stmt = select(Review).join(Deal, Deal.id == Review.deal_id).where(_public(organization_id, now))
    page = await paginate(session, stmt, order=NEWEST_FIRST, limit=limit, cursor=cursor)
    reviews: list[Review] = page.items
    deal_ids = {r.deal_id for r in reviews}
    settled: dict[uuid.UUID, datetime] = {
        deal_id: closed_at
        for deal_id, closed_at in (
            await session.execute(select(Deal.id, Deal.closed_at).where(Deal.id.in_(deal_ids)))
        ).all()
        if closed_at is not None  # every reviewed deal has settled
    }
    written = {
        (deal_id, side): at
        for deal_id, side, at in (
            await session.execute(
                select(Review.deal_id, Review.side, Review.created_at).where(
                    Review.deal_id.in_(deal_ids)
                )
            )
        ).all()
    }
    items = [
        _present(
            r,
            show_time=shows_at(
                r.created_at, settled[r.deal_id], written.get((r.deal_id, _other(r.side)))
            ),
            now=now,
            principal=principal,
        )
        for r in reviews
    ]
    return Page(items=items, next_cursor=page.next_cursor)


async def rating_of(session: AsyncSession, *, organization_id: uuid.UUID) -> Rating:
    """The count and mean of the shown, not hidden reviews ``organization_id`` received."""
    stmt = (
        select(func.count(Review.id), func.coalesce(func.sum(Review.rating), 0))
        .join(Deal, Deal.id == Review.deal_id)
        .where(_public(organization_id, utcnow()))
    )
    count, total = (await session.execute(stmt)).one()
    count, total = int(count), int(total)
    if count == 0:
        return Rating(count=0, average_tenths=None)
    # total / count in tenths, rounded half up, in integers
    return Rating(count=count, average_tenths=(total * 20 + count) // (2 * count))
