"""Delivering the subscriptions' events: the worker that makes them from the outbox and sends
them as Standard Webhooks, the delivery log, manual redelivery, and the events feed for those
who poll instead.

**From the outbox to events.** A change writes one outbox entry in its own transaction
(app/services/subscriptions.py); the worker matches the entry's item against every saved
query, writes an event per subscription matched and deletes the entry, in one transaction
(:func:`expand_outbox`). Matching is the worker's cost, not the writer's.

**The events table is the queue.** A worker claims due events with a lease (``lease_until``,
``lease_token``; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, one writer at a time on SQLite),
so several workers, in processes or replicas, never send one attempt at the same time. It
sends outside any transaction, then records the attempt and the event's next state, provided
it still holds the lease. A worker killed mid-delivery holds its lease until it runs out;
another worker then sends the event again: delivery is at least once, and receivers dedupe on
``webhook-id``.

**Retries** follow the schedule of the Standard Webhooks reference implementation (Svix),
stretched to about three days: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 20 h after
each failure, ten attempts in all. A 410 disables the subscription at once; a subscription
whose every attempt has failed for DISABLE_AFTER is disabled, with the reason its
organization reads on it.
"""

import asyncio
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, and_, delete, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk, webhooks
from app.core.calendar import utcnow
from app.core.db import Database, locking
from app.core.errors import Conflict, Forbidden, NotFound, database_outages, is_database_outage
from app.core.pagination import (
    CursorSlot,
    KeysetOrder,
    Page,
    decode_cursor,
    encode_cursor,
    paginate,
)
from app.core.security import Principal, Scope
from app.models.subscriptions import (
    DeliveryAttempt,
    DeliveryState,
    Event,
    OutboxEntry,
    Subscription,
    SubscriptionStatus,
)
from app.services import subscriptions as subscriptions_service

logger = logging.getLogger(__name__)

#: The wait before each retry (the first attempt is immediate): about three days in all.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=20),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
#: A subscription whose attempts have all failed for this long is disabled.
DISABLE_AFTER = timedelta(days=5)


def message_id(event_id: uuid.UUID) -> str:
    """The ``webhook-id`` of an event: the same on every attempt, for receivers to dedupe."""
    return f"msg_{event_id.hex}"


def body_of(event: Any) -> bytes:
    """The JSON body as sent, byte for byte: ``{"type", "timestamp", "data"}``."""
    payload = {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


# --- the worker -----------------------------------------------------------------------------

#: The writing transaction's id on PostgreSQL (Event.tx; see list_events).
_CURRENT_TX = "pg_current_xact_id()::text::bigint"
#: The oldest transaction still running when the statement began (its snapshot's xmin).
_OLDEST_RUNNING_TX = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


async def expand_outbox(db: Database, *, batch: int = 500) -> int:
    """Make events of up to ``batch`` outbox entries (subscriptions.events_for: each item
    matched against the saved queries now) and delete the entries, in one transaction, so
    that each entry is made events once: several workers skip each other's entries on
    PostgreSQL, SQLite's writers run one at a time. The number of entries taken."""
    async with db.unit_of_work(write=True) as session:
        pending = select(OutboxEntry).order_by(OutboxEntry.seq).limit(batch)
        if db.is_postgresql:
            pending = pending.with_for_update(skip_locked=True)
        entries = list((await session.scalars(pending)).all())
        if not entries:
            return 0
        changes = [
            subscriptions_service.Change(e.catalog, e.item_id, e.change, e.created_at)
            for e in entries
        ]
        events = await subscriptions_service.events_for(session, changes)
        if events:
            tx = 0
            if db.is_postgresql:
                tx = int(await session.scalar(select(literal_column(_CURRENT_TX))) or 0)
            for event in events:
                event["tx"] = tx
            await bulk.insert_rows(session, Event, events)
        await session.execute(
            delete(OutboxEntry).where(OutboxEntry.seq.in_([entry.seq for entry in entries]))
        )
        return len(entries)


@dataclass(frozen=True, slots=True)
class Claimed:
    event: Event
    subscription: Subscription
    token: uuid.UUID


async def claim(db: Database, *, batch: int, lease: timedelta) -> list[Claimed]:
    """Take up to ``batch`` due events of active subscriptions for ``lease``."""
    now = utcnow()
    token = uuid.uuid4()
    active = select(Subscription.id).where(
        Subscription.status == SubscriptionStatus.active, Subscription.url.is_not(None)
    )
    due = (
        select(Event.seq)
        .where(
            Event.state == DeliveryState.pending,
            Event.next_attempt_at <= now,
            or_(Event.lease_until.is_(None), Event.lease_until < now),
            Event.subscription_id.in_(active),
        )
        .order_by(Event.next_attempt_at, Event.seq)
        .limit(batch)
    )
    async with db.unit_of_work(write=True) as session:
        if db.is_postgresql:
            due = due.with_for_update(skip_locked=True)
        taken = await session.execute(
            update(Event)
            .where(Event.seq.in_(due.scalar_subquery()))
            .values(lease_until=now + lease, lease_token=token)
            .returning(Event.seq)
        )
        seqs = list(taken.scalars().all())
        if not seqs:
            return []
        rows = await session.execute(
            select(Event, Subscription)
            .join(Subscription, Subscription.id == Event.subscription_id)
            .where(Event.seq.in_(seqs))
            .order_by(Event.seq)
        )
        return [Claimed(event, subscription, token) for event, subscription in rows.all()]


async def attempt(db: Database, sender: webhooks.Sender, claimed: Claimed) -> webhooks.Attempt:
    """Send one claimed event once, then record what came of it."""
    event, subscription = claimed.event, claimed.subscription
    started = utcnow()
    clock = time.perf_counter()
    body = body_of(event)
    headers = webhooks.signed_headers(
        subscription.signing_secrets(started), message_id(event.id), started, body
    )
    outcome = await sender.deliver(subscription.url or "", body, headers)
    duration_ms = round((time.perf_counter() - clock) * 1000)
    await _record(db, claimed, outcome, started, duration_ms)
    return outcome


async def _record(
    db: Database,
    claimed: Claimed,
    outcome: webhooks.Attempt,
    started: datetime,
    duration_ms: int,
) -> None:
    event = claimed.event
    number = event.attempts + 1
    now = utcnow()
    async with db.unit_of_work(write=True) as session:
        session.add(
            DeliveryAttempt(
                subscription_id=event.subscription_id,
                event_id=event.id,
                attempt=number,
                started_at=started,
                duration_ms=duration_ms,
                status_code=outcome.status,
                ok=outcome.ok,
                error=(outcome.error or "")[:500] or None,
                answer=outcome.answer.decode("utf-8", "replace") or None,
            )
        )
        values: dict[str, Any] = {"attempts": number, "lease_until": None, "lease_token": None}
        if outcome.ok:
            values.update(state=DeliveryState.delivered, delivered_at=now, next_attempt_at=None)
        elif outcome.gone or number >= MAX_ATTEMPTS:
            values.update(state=DeliveryState.failed, next_attempt_at=None)
        else:
            values.update(next_attempt_at=now + RETRY_DELAYS[number - 1])
        await session.execute(
            update(Event)
            .where(Event.seq == event.seq, Event.lease_token == claimed.token)
            .values(**values)
        )
        subscription = await session.scalar(
            locking(session, select(Subscription).where(Subscription.id == event.subscription_id))
        )
        if subscription is None or subscription.status is not SubscriptionStatus.active:
            return
        if outcome.ok:
            subscription.failing_since = None
        else:
            subscription.failing_since = subscription.failing_since or started
            if outcome.gone:
                reason = "the receiver answered 410 Gone: it asked for no more deliveries"
                subscriptions_service.disable(subscription, now, reason)
            elif now - subscription.failing_since >= DISABLE_AFTER:
                since = subscription.failing_since.isoformat(timespec="seconds")
                reason = f"every delivery has failed since {since}; the last: {outcome.error}"
                subscriptions_service.disable(subscription, now, reason)


async def deliver_due(
    db: Database,
    sender: webhooks.Sender,
    *,
    batch: int = 50,
    lease: timedelta = timedelta(seconds=60),
    concurrency: int = 10,
) -> int:
    """Claim one batch of due events and send them, ``concurrency`` at a time; how many were
    claimed."""
    claimed = await claim(db, batch=batch, lease=lease)
    gate = asyncio.Semaphore(concurrency)

    async def one(item: Claimed) -> None:
        async with gate:
            try:
                await attempt(db, sender, item)
            except Exception as error:  # the event stays leased and is retried once the lease ends
                if is_database_outage(error):
                    database_outages.failed(error, where="webhook worker")
                else:
                    logger.exception("recording the delivery of event %s failed", item.event.id)

    await asyncio.gather(*(one(item) for item in claimed))
    return len(claimed)


async def run_worker(
    db: Database,
    sender: webhooks.Sender,
    stop: asyncio.Event,
    *,
    poll_seconds: float = 1.0,
    lease: timedelta = timedelta(seconds=60),
    batch: int = 50,
    concurrency: int = 10,
) -> None:
    """Make outbox entries events and deliver due events until ``stop`` is set; look again
    every ``poll_seconds`` when there is nothing to do. A database that cannot be reached is
    waited for, not fatal: counted in the outage log (``errors.database_outages``), which
    writes one line per interval, not a traceback per poll."""
    while not stop.is_set():
        try:
            busy = await expand_outbox(db)
            busy += await deliver_due(db, sender, batch=batch, lease=lease, concurrency=concurrency)
        except Exception as error:
            if is_database_outage(error):
                database_outages.failed(error, where="webhook worker")
            else:
                logger.exception("the delivery worker failed; retrying")
            busy = 0
        if busy:
            continue
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass


# --- the delivery log and redelivery ---------------------------------------------------------

ATTEMPTS_NEWEST_FIRST = KeysetOrder("deliveries:newest", (DeliveryAttempt.seq,))


async def list_deliveries(
    session: AsyncSession,
    *,
    principal: Principal,
    subscription_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[DeliveryAttempt]:
    """Every attempt to deliver the subscription's events, newest first."""
    subscription = await subscriptions_service.get_subscription(
        session, principal=principal, subscription_id=subscription_id
    )
    stmt = select(DeliveryAttempt).where(DeliveryAttempt.subscription_id == subscription.id)
    return await paginate(session, stmt, order=ATTEMPTS_NEWEST_FIRST, limit=limit, cursor=cursor)


async def redeliver(
    session: AsyncSession, *, principal: Principal, subscription_id: uuid.UUID, event_id: uuid.UUID
) -> Event:
    """Send an event again now (delivered or failed alike); its attempts continue in the log."""
    subscription = await subscriptions_service.get_subscription(
        session, principal=principal, subscription_id=subscription_id
    )
    if subscription.url is None:
        raise Conflict(
            "The subscription has no webhook target; read its events from /v1/events.",
            code="no_webhook_target",
        )
    if subscription.status is not SubscriptionStatus.active:
        raise Conflict(
            "The subscription is disabled; enable it first (PATCH enabled: true).",
            code="subscription_disabled",
        )
    event = await session.scalar(
        locking(
            session,
            select(Event).where(Event.id == event_id, Event.subscription_id == subscription.id),
        )
    )
    if event is None:
        raise NotFound("No such event of this subscription.")
    event.state = DeliveryState.pending
    event.next_attempt_at = utcnow()
    event.lease_until = event.lease_token = None
    await session.flush()
    return event


# --- the events feed ------------------------------------------------------------------------

FEED_ORDER = "events:feed"


@dataclass(frozen=True, slots=True)
class Feed:
    items: list[Event]
    next_cursor: str
    """Where to read on from: given even when the page is empty, so a poller keeps its place."""


#: A feed position: the last event's ``tx`` (-1 before the first) and ``seq``.
FEED_SLOTS = (CursorSlot.of_column(Event.tx), CursorSlot.of_column(Event.seq))


def _feed_position(cursor: str | None) -> tuple[int, int]:
    if cursor is None:
        return (-1, 0)
    tx, seq = decode_cursor(cursor, FEED_ORDER, FEED_SLOTS)
    return tx, seq


async def list_events(
    session: AsyncSession, *, principal: Principal, after: str | None, limit: int
) -> Feed:
    """The caller's organization's events after the cursor, in the order they happened.

    On PostgreSQL only events of transactions older than every one still running are shown
    (``tx`` below the snapshot's xmin): an event numbered lower but committed later would
    otherwise be passed over by a reader already beyond it."""
    principal.require_scope(Scope.subscriptions_write)
    if principal.organization_id is None:
        raise Forbidden(
            "The events feed is an organization's; sign in as a member or use its API key.",
            code="organization_required",
        )
    tx, seq = _feed_position(after)
    stmt = (
        select(Event)
        .where(
            Event.organization_id == principal.organization_id,
            or_(Event.tx > tx, and_(Event.tx == tx, Event.seq > seq)),
        )
        .order_by(Event.tx, Event.seq)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.where(Event.tx < literal_column(_OLDEST_RUNNING_TX, BigInteger()))
    events = list((await session.scalars(stmt)).all())
    if events:
        tx, seq = events[-1].tx, events[-1].seq
    return Feed(items=events, next_cursor=encode_cursor(FEED_ORDER, [tx, seq]))


# --- retention ------------------------------------------------------------------------------

#: How long events and their delivery attempts are kept (the feed reads back this far).
RETENTION_DAYS = 90


async def prune(session: AsyncSession, *, before: datetime) -> int:
    """Delete the events made before ``before`` that are no longer due (delivered, failed or
    feed-only), with their delivery attempts; how many events went."""
    old = select(Event.id).where(Event.created_at < before, Event.state != DeliveryState.pending)
    await session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.event_id.in_(old)))
    result = await session.execute(
        delete(Event).where(Event.created_at < before, Event.state != DeliveryState.pending)
    )
    return int(getattr(result, "rowcount", 0) or 0)
