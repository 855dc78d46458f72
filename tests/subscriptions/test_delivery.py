"""Delivering events as Standard Webhooks: to a real receiver on 127.0.0.1 that verifies each
one with the specification's own library; retries, 410, redirects, days of failure, secret
rotation, redelivery and the SSRF guard at delivery time."""

import json
import uuid
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from app.core.calendar import utcnow
from app.core.db import Database
from app.core.webhooks import Sender
from app.models.subscriptions import Event, Subscription
from app.services import deliveries
from app.services import technologies as technologies_service
from tests import builders
from tests.receivers import Receiver
from tests.subscriptions.conftest import Partners, events_of, subscribe

TECH = {
    "title": "高安全锂电池固态电解质",
    "field": "新能源",
    "trl": 7,
    "tags": [],
    "external_id": None,
}


async def _publish(session: AsyncSession, partners: Partners, title: str = TECH["title"]) -> Any:
    owner = partners.enterprise.organization
    assert owner is not None
    spec = technologies_service.SPEC
    return await builders.published_item(session, spec, owner, {**TECH, "title": title})


async def _deliver(db: Database, *, production: bool = False) -> int:
    while await deliveries.expand_outbox(db):
        pass
    sender = Sender(production=production, timeout=5)
    try:
        return await deliveries.deliver_due(db, sender)
    finally:
        await sender.close()


async def _watching(
    client: AsyncClient, partners: Partners, receiver: Receiver, path: str
) -> dict[str, Any]:
    created = await subscribe(client, partners.member, q="电解质", url=receiver.url(path))
    receiver.secret = created["secret"]
    return created


async def _log(client: AsyncClient, partners: Partners, subscription: dict[str, Any]) -> list[Any]:
    answer = await client.get(
        f"/v1/subscriptions/{subscription['id']}/deliveries", headers=partners.member.headers
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def _make_due(session: AsyncSession) -> None:
    await session.execute(update(Event).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    await session.commit()


async def test_an_event_reaches_the_receiver_signed_as_the_specification_says(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    subscription = await _watching(client, partners, receiver, "/ok")
    item = await _publish(session, partners)
    assert await _deliver(db) == 1
    (verified,) = receiver.verified
    assert verified["type"] == "technology.published"
    assert verified["data"]["item"]["id"] == str(item.id)
    assert set(verified) == {"type", "timestamp", "data"}
    (event,) = await events_of(db, session, subscription["id"])
    (_, headers, _) = receiver.received[0]
    assert headers["webhook-id"] == f"msg_{event.id.hex}"
    assert headers["webhook-signature"].startswith("v1,")
    assert event.state == "delivered"
    assert event.attempts == 1
    (logged,) = await _log(client, partners, subscription)
    assert logged["ok"] is True
    assert logged["status_code"] == 204
    assert logged["attempt"] == 1
    assert await _deliver(db) == 0  # nothing twice


async def test_a_failing_receiver_is_tried_again_on_the_schedule(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    receiver.fail_first = 2
    subscription = await _watching(client, partners, receiver, "/flaky")
    await _publish(session, partners)
    before = utcnow()
    assert await _deliver(db) == 1
    (event,) = await events_of(db, session, subscription["id"])
    assert event.state == "pending"
    assert event.attempts == 1
    assert event.next_attempt_at is not None
    wait = event.next_attempt_at - before
    assert timedelta(seconds=4) < wait < timedelta(seconds=7)  # the first retry: 5 s
    assert await _deliver(db) == 0  # not due yet
    failing = (
        await client.get(f"/v1/subscriptions/{subscription['id']}", headers=partners.member.headers)
    ).json()
    assert failing["failing_since"] is not None
    await _make_due(session)
    assert await _deliver(db) == 1
    (event,) = await events_of(db, session, subscription["id"])
    assert event.attempts == 2
    assert event.next_attempt_at is not None
    assert event.next_attempt_at - utcnow() > timedelta(minutes=4)  # the second retry: 5 min
    await _make_due(session)
    assert await _deliver(db) == 1
    (event,) = await events_of(db, session, subscription["id"])
    assert event.state == "delivered"
    assert event.attempts == 3
    assert [a["status_code"] for a in await _log(client, partners, subscription)] == [204, 500, 500]
    assert len(receiver.verified) == 1
    headers = [h["webhook-id"] for _, h, _ in receiver.received]
    assert len(set(headers)) == 1  # one id on every attempt, for receivers to dedupe
    healthy = (
        await client.get(f"/v1/subscriptions/{subscription['id']}", headers=partners.member.headers)
    ).json()
    assert healthy["failing_since"] is None


async def test_attempts_end_after_the_last_retry(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    subscription = await _watching(client, partners, receiver, "/fail")
    await _publish(session, partners)
    await deliveries.expand_outbox(db)
    await session.execute(update(Event).values(attempts=deliveries.MAX_ATTEMPTS - 1))
    await session.commit()
    assert await _deliver(db) == 1
    (event,) = await events_of(db, session, subscription["id"])
    assert event.state == "failed"
    assert event.next_attempt_at is None
    assert sum(d.total_seconds() for d in deliveries.RETRY_DELAYS) / 86_400 > 2.9


async def test_410_disables_the_subscription_and_says_why(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    subscription = await _watching(client, partners, receiver, "/gone")
    await _publish(session, partners)
    assert await _deliver(db) == 1
    read = (
        await client.get(f"/v1/subscriptions/{subscription['id']}", headers=partners.member.headers)
    ).json()
    assert read["status"] == "disabled"
    assert "410" in read["disabled_reason"]
    (event,) = await events_of(db, session, subscription["id"])
    assert event.state == "failed"
    await _publish(session, partners, "固态电解质膜")
    assert await _deliver(db) == 0  # a disabled subscription's events wait
    assert receiver.paths() == ["/gone"]
    redeliver = await client.post(
        f"/v1/subscriptions/{subscription['id']}/events/{event.id}/redeliver",
        headers=partners.member.headers,
    )
    assert redeliver.status_code == 409
    assert redeliver.json()["code"] == "subscription_disabled"


async def test_a_redirect_is_a_failure_and_is_not_followed(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    subscription = await _watching(client, partners, receiver, "/redirect")
    await _publish(session, partners)
    assert await _deliver(db) == 1
    assert receiver.paths() == ["/redirect"]
    (logged,) = await _log(client, partners, subscription)
    assert logged["ok"] is False
    assert logged["status_code"] == 302
    assert "redirect" in logged["error"]


async def test_an_endpoint_failing_for_days_is_disabled(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    subscription = await _watching(client, partners, receiver, "/fail")
    await _publish(session, partners)
    await session.execute(
        update(Subscription).values(
            failing_since=utcnow() - deliveries.DISABLE_AFTER - timedelta(hours=1)
        )
    )
    await session.commit()
    assert await _deliver(db) == 1
    read = (
        await client.get(f"/v1/subscriptions/{subscription['id']}", headers=partners.member.headers)
    ).json()
    assert read["status"] == "disabled"
    assert "every delivery has failed since" in read["disabled_reason"]
    assert "answered 503" in read["disabled_reason"]
    enabled = await client.patch(
        f"/v1/subscriptions/{subscription['id']}",
        json={"enabled": True},
        headers=partners.member.headers,
    )
    assert enabled.json()["status"] == "active"
    assert enabled.json()["failing_since"] is None


async def test_while_a_secret_rotates_both_secrets_verify(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    subscription = await _watching(client, partners, receiver, "/ok")
    old = subscription["secret"]
    rotated = await client.post(
        f"/v1/subscriptions/{subscription['id']}/rotate-secret", headers=partners.member.headers
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != old
    assert new.startswith("whsec_")
    assert rotated.json()["previous_secret_expires_at"] is not None
    await _publish(session, partners)
    assert await _deliver(db) == 1
    (_, headers, body) = receiver.received[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "technology.published"
    await session.execute(
        update(Subscription).values(previous_secret_expires_at=utcnow() - timedelta(seconds=1))
    )
    await session.commit()
    await _publish(session, partners, "固态电解质膜")
    assert await _deliver(db) == 1
    (_, later, _) = receiver.received[1]
    assert len(later["webhook-signature"].split(" ")) == 1


async def test_an_event_can_be_delivered_again_by_hand(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    subscription = await _watching(client, partners, receiver, "/ok")
    await _publish(session, partners)
    assert await _deliver(db) == 1
    (event,) = await events_of(db, session, subscription["id"])
    path = f"/v1/subscriptions/{subscription['id']}/events/{event.id}/redeliver"
    again = await client.post(path, headers=partners.member.headers)
    assert again.status_code == 202, again.text
    assert again.json()["state"] == "pending"
    assert await _deliver(db) == 1
    ids = [headers["webhook-id"] for _, headers, _ in receiver.received]
    assert ids == [f"msg_{event.id.hex}"] * 2
    assert [a["attempt"] for a in await _log(client, partners, subscription)] == [2, 1]
    unknown = f"/v1/subscriptions/{subscription['id']}/events/{uuid.uuid4()}/redeliver"
    assert (await client.post(unknown, headers=partners.member.headers)).status_code == 404
    other = await client.post(path, headers=partners.other.headers)
    assert other.status_code == 404
    feed_only = await subscribe(client, partners.member, q="电解质")
    (feed_event,) = await events_of(db, session, feed_only["id"]) or [None]
    assert feed_event is None  # published before it subscribed
    await _publish(session, partners, "固态电解质膜")
    (feed_event,) = await events_of(db, session, feed_only["id"])
    refused = await client.post(
        f"/v1/subscriptions/{feed_only['id']}/events/{feed_event.id}/redeliver",
        headers=partners.member.headers,
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "no_webhook_target"


async def test_production_delivery_refuses_an_address_inside_the_network(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    """A target saved where loopback was allowed (or a name that resolves there now) is
    refused when the production worker connects."""
    subscription = await _watching(client, partners, receiver, "/ok")
    await _publish(session, partners)
    assert await _deliver(db, production=True) == 1
    assert receiver.received == []
    (logged,) = await _log(client, partners, subscription)
    assert logged["ok"] is False
    assert logged["status_code"] is None
    assert logged["error"].startswith("refused")


async def test_claims_never_overlap_until_a_lease_runs_out(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners, receiver: Receiver
) -> None:
    await _watching(client, partners, receiver, "/ok")
    for n in range(6):
        await _publish(session, partners, f"电解质 {n}")
    await deliveries.expand_outbox(db)
    first = await deliveries.claim(db, batch=4, lease=timedelta(seconds=60))
    second = await deliveries.claim(db, batch=4, lease=timedelta(seconds=60))
    assert len(first) == 4
    assert len(second) == 2
    assert not {c.event.seq for c in first} & {c.event.seq for c in second}
    assert await deliveries.claim(db, batch=4, lease=timedelta(seconds=60)) == []
    await session.execute(update(Event).values(lease_until=utcnow() - timedelta(seconds=1)))
    await session.commit()
    again = await deliveries.claim(db, batch=10, lease=timedelta(seconds=60))
    assert len(again) == 6  # a lease that ran out: the events are someone else's to send
    stale = first[0]
    sender = Sender(production=False, timeout=5)
    try:
        await deliveries.attempt(db, sender, stale)
    finally:
        await sender.close()
    session.expunge_all()
    event = await session.scalar(select(Event).where(Event.seq == stale.event.seq))
    assert event is not None
    assert event.state == "pending"
    assert event.lease_token is not None
    body = json.loads(receiver.received[0][2])
    assert body["type"] == "technology.published"


async def test_prune_drops_old_events_that_are_no_longer_due(
    client: AsyncClient,
    session: AsyncSession,
    db: Database,
    partners: Partners,
    receiver: Receiver,
) -> None:
    subscription = await _watching(client, partners, receiver, "/ok")
    await _publish(session, partners)
    assert await _deliver(db) == 1
    await _publish(session, partners, "固态电解质膜")
    await deliveries.expand_outbox(db)  # a second event, still pending
    old = utcnow() - timedelta(days=deliveries.RETENTION_DAYS + 1)
    await session.execute(update(Event).values(created_at=old))
    await session.commit()
    pruned = await deliveries.prune(session, before=utcnow() - timedelta(days=90))
    await session.commit()
    assert pruned == 1
    (left,) = await events_of(db, session, subscription["id"])
    assert left.state == "pending"
    assert await _log(client, partners, subscription) == []


async def test_taking_the_target_away_leaves_waiting_events_to_the_feed(
    client: AsyncClient,
    session: AsyncSession,
    db: Database,
    partners: Partners,
    receiver: Receiver,
) -> None:
    subscription = await _watching(client, partners, receiver, "/fail")
    await _publish(session, partners)
    assert await _deliver(db) == 1  # failed once, waiting for its retry
    changed = await client.patch(
        f"/v1/subscriptions/{subscription['id']}",
        json={"url": None},
        headers=partners.member.headers,
    )
    assert changed.status_code == 200, changed.text
    (event,) = await events_of(db, session, subscription["id"])
    assert event.state == "feed"
    assert event.next_attempt_at is None
    await _make_due(session)
    assert await _deliver(db) == 0
