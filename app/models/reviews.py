"""Reviews: after a settled deal, its buyer and its seller rate each other once."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Entity
from app.models.catalog import str_enum


class ReviewSide(StrEnum):
    """The side of the deal that wrote the review (it reviews the other side)."""

    buyer = "buyer"
    seller = "seller"


class Review(Entity):
    """One side's review of the other after the deal settled. Whether it shows is never
    stored: it shows once the other side's review exists or 14 days after the deal settled
    (``app/services/reviews.py``), like a demand's closed status."""

    __tablename__ = "reviews"
    __table_args__ = (
        # One review per side of a deal, enforced by the database.
        UniqueConstraint("deal_id", "side"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        CheckConstraint("reviewer_id <> reviewee_id", name="not_own_review"),
        Index("ix_reviews_reviewee", "reviewee_id", "created_at", "id"),
    )

    deal_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deals.id", ondelete="RESTRICT"), sort_order=-10
    )
    side: Mapped[ReviewSide] = mapped_column(
        str_enum(ReviewSide, "review_side", 16), sort_order=-10
    )
    reviewer_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True, sort_order=-10
    )
    """The organization that wrote it (the deal's buyer or seller)."""
    reviewee_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), sort_order=-10
    )
    """The organization it rates: the other side of the deal."""
    rating: Mapped[int] = mapped_column(Integer, sort_order=-10)
    """1 to 5 stars."""
    written_by: Mapped[str] = mapped_column(String(80), sort_order=-10)
    """The principal that wrote it: ``user:<id>`` or ``api_key:<id>``."""
    version: Mapped[int] = mapped_column(default=1, sort_order=-10)
    """Raised by every edit and moderation; the version the history records."""
    hidden_at: Mapped[datetime | None] = mapped_column(sort_order=-10)
    """Hidden by an operator (abuse): then shown to staff, auditors and its author only."""
    hidden_reason: Mapped[str | None] = mapped_column(String(500), sort_order=-10)
    text: Mapped[str] = mapped_column(Text)
