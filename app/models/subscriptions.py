"""Subscriptions (an organization's saved query and where to tell it), the outbox (each
change of an item, written in the transaction of the change), the events the worker makes of
it (one per subscription the item matches: what is delivered and what the feed shows), and
every delivery attempt of those events."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.calendar import utcnow
from app.models.base import Base, Entity
from app.models.catalog import str_enum


class SubscriptionStatus(StrEnum):
    """active → disabled (the receiver answered 410, or failed for days; the organization
    re-enables it) ; either → deleted (kept for its events and deliveries)."""

    active = "active"
    disabled = "disabled"
    deleted = "deleted"


class Subscription(Entity):
    """A saved query of one catalog (or of demands) and, optionally, a webhook target. Every
    item that comes to match it is recorded as an :class:`Event` for its organization."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        Index("ix_subscriptions_organization", "organization_id", "created_at", "id"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), sort_order=-10
    )
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, "subscription_status", 16),
        default=SubscriptionStatus.active,
        sort_order=-10,
    )
    name: Mapped[str] = mapped_column(String(200))
    catalog: Mapped[str] = mapped_column(String(32))
    """technologies, talents, policies, ip_assets, financial_products or demands."""
    q: Mapped[str | None] = mapped_column(String(200))
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Typed filters: facet column → accepted values, and ``tags`` (all of them)."""
    url: Mapped[str | None] = mapped_column(String(2000))
    """The webhook target; None: the events feed only."""
    secret: Mapped[str] = mapped_column(String(100))
    """The signing secret (``whsec_…``), shown to the organization once."""
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    """The secret before the last rotation, still signing until ``previous_secret_expires_at``."""
    previous_secret_expires_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(80))
    failing_since: Mapped[datetime | None]
    """The first failed attempt since the last success (None while deliveries succeed)."""
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a delivery now: the current one, and the previous one while
        its rotation's grace lasts."""
        expires = self.previous_secret_expires_at
        if self.previous_secret and expires is not None and expires > now:
            return [self.secret, self.previous_secret]
        return [self.secret]


class DeliveryState(StrEnum):
    """pending (due at ``next_attempt_at``) → delivered | failed (attempts exhausted, or the
    endpoint gone); ``feed``: the subscription has no webhook target."""

    pending = "pending"
    delivered = "delivered"
    failed = "failed"
    feed = "feed"


class Event(Base):
    """One event for one subscription, made from an :class:`OutboxEntry`: what a worker
    delivers, and a line of the organization's events feed.

    ``tx`` orders the feed: on PostgreSQL the writing transaction's id, so that a reader shows
    only events of transactions older than every one still running (an event numbered lower
    but committed later is never skipped); on SQLite, whose writers run one at a time, 0.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_feed", "organization_id", "tx", "seq"),
        Index("ix_events_due", "state", "next_attempt_at"),
        Index("ix_events_subscription", "subscription_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(unique=True, default=uuid.uuid4)
    """The ``webhook-id`` receivers dedupe on (``msg_`` and this, as hex)."""
    tx: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="RESTRICT")
    )
    type: Mapped[str] = mapped_column(String(64))
    """``technology.published``, ``demand.opened``, ``talent.updated``, …"""
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState, "delivery_state", 16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    """A worker holds the event until then; another takes it over afterwards."""
    lease_token: Mapped[uuid.UUID | None]
    delivered_at: Mapped[datetime | None]


class OutboxEntry(Base):
    """An item published (a demand opened) or changed while published, written in the
    transaction of the change, so that a change rolled back leaves none. The delivery worker
    matches the item against the saved queries, makes an :class:`Event` for each subscription
    it matches and deletes the entry: a write costs one small row, however many subscriptions
    there are and however many its item matches."""

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    catalog: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[uuid.UUID]
    change: Mapped[str] = mapped_column(String(16))
    """published or updated."""


class DeliveryAttempt(Base):
    """One POST of an event to its subscription's target, as the delivery log shows it."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_subscription", "subscription_id", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    subscription_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="RESTRICT")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"))
    attempt: Mapped[int] = mapped_column(Integer)
    """1 for the first attempt of the event, and so on (a manual redelivery continues it)."""
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    ok: Mapped[bool]
    error: Mapped[str | None] = mapped_column(String(500))
    answer: Mapped[str | None] = mapped_column(Text)
    """The start of the receiver's answer (a few kilobytes at most)."""
