"""Delivery workers as real processes: the one a server runs beside itself, several
``innoshare worker`` processes sharing the due events (PostgreSQL), and one killed with
SIGKILL mid-run, whose events another worker delivers."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, insert, select

from app.core import webhooks
from app.core.calendar import utcnow
from app.core.db import Database, create_engine
from app.models.orgs import Organization, OrganizationKind
from app.models.subscriptions import DeliveryAttempt, DeliveryState, Event, Subscription
from tests import builders
from tests.conftest import TEST_SECRET
from tests.receivers import Receiver
from tests.servers import PROJECT_ROOT, running_servers

EVENTS = 500
LIFETIME_SECONDS = 120
INNOSHARE = Path(sys.executable).parent / "innoshare"


def _env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        "INNOSHARE_DATABASE_URL": database_url,
        "INNOSHARE_ENV": "test",
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "WARNING",
        "INNOSHARE_WEBHOOK_POLL_SECONDS": "0.2",
        **extra,
    }


@contextmanager
def _workers(count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` worker processes, each in a process group of its own with the ``timeout``
    that bounds its life: a signal to the group reaches the worker itself."""
    processes = [
        subprocess.Popen(
            ["timeout", str(LIFETIME_SECONDS), str(INNOSHARE), "worker"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=5)


def _signal_group(process: subprocess.Popen[bytes], number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, number)


async def _due_events(database_url: str, receiver: Receiver) -> list[uuid.UUID]:
    """An organization subscribed with ``receiver`` as its target and EVENTS due events."""
    db = Database(create_engine(database_url))
    try:
        async with db.unit_of_work(write=True) as session:
            organization = Organization(name="接收测试单位", kind=OrganizationKind.university)
            session.add(organization)
            await session.flush()
            secret = webhooks.new_secret()
            subscription = Subscription(
                organization_id=organization.id,
                name="all",
                catalog="technologies",
                filters={},
                url=receiver.url("/ok"),
                secret=secret,
                created_by="test",
            )
            session.add(subscription)
            await session.flush()
            receiver.secret = secret
            now = utcnow()
            ids = [uuid.uuid4() for _ in range(EVENTS)]
            rows = [
                {
                    "id": event_id,
                    "tx": 0,
                    "created_at": now,
                    "organization_id": organization.id,
                    "subscription_id": subscription.id,
                    "type": "technology.published",
                    "data": {"n": n},
                    "state": DeliveryState.pending,
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for n, event_id in enumerate(ids)
            ]
            await session.execute(insert(Event), rows)
        return ids
    finally:
        await db.dispose()


async def _outcome(database_url: str) -> tuple[Counter[str], int]:
    db = Database(create_engine(database_url))
    try:
        async with db.unit_of_work(write=False) as session:
            states = Counter(
                str(state.value) for state in (await session.scalars(select(Event.state))).all()
            )
            attempts = int(
                await session.scalar(select(func.count()).select_from(DeliveryAttempt)) or 0
            )
            return states, attempts
    finally:
        await db.dispose()


def _ids_received(receiver: Receiver) -> Counter[str]:
    return Counter(headers["webhook-id"] for _, headers, _ in receiver.received)


async def _wait_for(condition: Callable[[], bool | Awaitable[bool]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while True:
        met = condition()
        if not isinstance(met, bool):
            met = await met
        if met:
            return
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


@pytest.fixture
def slow_receiver() -> Iterator[Receiver]:
    server = Receiver(webhooks.new_secret(), delay=0.01).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.postgres_only
async def test_two_workers_deliver_every_event_exactly_once(
    migrated_fresh_database_url: str, slow_receiver: Receiver
) -> None:
    ids = await _due_events(migrated_fresh_database_url, slow_receiver)
    with _workers(2, _env(migrated_fresh_database_url)):
        await _wait_for(lambda: len(slow_receiver.received) >= EVENTS, 90)
        await asyncio.sleep(0.5)  # anything sent twice would arrive now
    received = _ids_received(slow_receiver)
    assert set(received) == {f"msg_{event_id.hex}" for event_id in ids}
    assert max(received.values()) == 1
    assert len(slow_receiver.verified) == EVENTS
    states, attempts = await _outcome(migrated_fresh_database_url)
    assert states == Counter({"delivered": EVENTS})
    assert attempts == EVENTS


@pytest.mark.postgres_only
async def test_a_worker_killed_mid_run_loses_no_event(
    migrated_fresh_database_url: str,
) -> None:
    receiver = Receiver(webhooks.new_secret(), delay=0.02).start()
    try:
        ids = await _due_events(migrated_fresh_database_url, receiver)
        env = _env(migrated_fresh_database_url, INNOSHARE_WEBHOOK_LEASE_SECONDS="3")
        with _workers(1, env) as (first,):
            await _wait_for(lambda: len(receiver.received) >= 60, 60)
            _signal_group(first, signal.SIGKILL)  # the worker itself, mid-run
            first.wait(timeout=10)
        await asyncio.sleep(0.5)  # what it had sent before it died still arrives
        killed_at = len(receiver.received)
        assert killed_at < EVENTS
        await asyncio.sleep(1.5)
        assert len(receiver.received) == killed_at  # it is dead: nothing more arrives
        with _workers(1, env):
            await _wait_for(
                lambda: set(_ids_received(receiver)) >= {f"msg_{i.hex}" for i in ids}, 90
            )
            await _wait_for(lambda: _states_done(migrated_fresh_database_url), 30)
        received = _ids_received(receiver)
        twice = sum(count - 1 for count in received.values())
        assert twice <= 50  # at most the batch the killed worker held: at least once, not more
        states, _ = await _outcome(migrated_fresh_database_url)
        assert states == Counter({"delivered": EVENTS})
    finally:
        receiver.stop()


async def _states_done(database_url: str) -> bool:
    states, _ = await _outcome(database_url)
    return states == Counter({"delivered": EVENTS})


async def test_a_server_delivers_with_its_own_worker(migrated_fresh_database_url: str) -> None:
    """``make run`` needs no other process: the server's worker sends what it records."""
    receiver = Receiver(webhooks.new_secret()).start()
    try:
        env = _env(migrated_fresh_database_url)
        db = Database(create_engine(migrated_fresh_database_url))
        try:
            async with db.unit_of_work(write=True) as session:
                organization = Organization(name="订阅单位", kind=OrganizationKind.university)
                session.add(organization)
                await session.flush()
                user = await builders.create_user(session, organization=organization)
        finally:
            await db.dispose()
        with running_servers(1, env) as (url,):
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                token = await client.post(
                    "/v1/auth/token",
                    data={"username": user.email, "password": builders.PASSWORD},
                )
                assert token.status_code == 200, token.text
                headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
                created = await client.post(
                    "/v1/subscriptions",
                    json={"name": "w", "catalog": "technologies", "url": receiver.url("/ok")},
                    headers=headers,
                )
                assert created.status_code == 201, created.text
                receiver.secret = created.json()["secret"]
                item = await client.post(
                    "/v1/technologies", json={"title": "新型储能材料", "trl": 4}, headers=headers
                )
                assert item.status_code == 201, item.text
                published = await client.post(
                    f"/v1/technologies/{item.json()['id']}/publish", headers=headers
                )
                assert published.status_code == 200, published.text
                await _wait_for(lambda: len(receiver.verified) == 1, 20)
        assert receiver.verified[0]["data"]["item"]["title"] == "新型储能材料"
    finally:
        receiver.stop()
