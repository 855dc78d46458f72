"""Matchmaking's own record: which provider was shown as a match on which demand, and when
first (the platform's matchmaking figures: matches shown, introductions)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class MatchImpression(Base):
    """A provider organization shown as a match on a demand: once per pair, the first time
    (through the demand's matches, as the owner of a listed item, or through the provider's
    matched demands)."""

    __tablename__ = "match_impressions"
    __table_args__ = (Index("ix_match_impressions_first_shown_at", "first_shown_at"),)

    demand_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("demands.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    first_shown_at: Mapped[datetime]
