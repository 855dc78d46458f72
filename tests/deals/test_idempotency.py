"""Idempotency-Key on every money POST: replays, mismatches, missing and invalid keys, keys per
principal, failures that store nothing, and (PostgreSQL) a key whose first request is still
running."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.core.security import Role
from app.main import create_app
from app.models.deals import Deal
from app.models.idempotency import IdempotencyRecord
from app.models.ledger import JournalEntry
from app.services.idempotency import _lock_id
from tests import builders
from tests.conftest import make_settings
from tests.deals.conftest import Market, build_market, funded_deal, open_deal

KEY = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"


async def send(
    client: AsyncClient,
    path: str,
    actor: builders.Actor,
    body: Any = None,
    *,
    idempotency_key: str | bytes | None,
) -> Response:
    headers: dict[str, Any] = {**actor.headers}
    if idempotency_key is not None:
        headers[KEY] = idempotency_key
    if body is None:
        return await client.post(path, headers=headers)
    return await client.post(path, headers=headers, json=body)


def deal_body(market: Market, **changes: Any) -> dict[str, Any]:
    return {
        "technology_id": str(market.technology.id),
        "title": "盾构刀盘耐磨涂层技术转让",
        "category": "transfer",
        "gross_amount": "2000.00",
        **changes,
    }


async def count_entries(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(JournalEntry)) or 0)


async def count_deals(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Deal)) or 0)


async def stored_keys(session: AsyncSession, key: str) -> int:
    found = select(func.count()).select_from(IdempotencyRecord).where(IdempotencyRecord.key == key)
    return int(await session.scalar(found) or 0)


async def first_entry_of(session: AsyncSession, deal_id: str, kind: str) -> str:
    found = await session.scalar(
        select(JournalEntry.id).where(
            JournalEntry.deal_id == uuid.UUID(deal_id), JournalEntry.kind == kind
        )
    )
    assert found is not None
    return str(found)


def assert_replay_of(first: Response, again: Response) -> None:
    assert REPLAYED not in first.headers
    assert again.headers[REPLAYED] == "true"
    assert again.status_code == first.status_code
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"]


def assert_problem(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert REPLAYED not in response.headers


# --- both backends ---------------------------------------------------------------------------


async def test_a_replay_returns_the_first_response_and_writes_nothing(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    created = await send(
        client, "/v1/deals", market.buyer, deal_body(market), idempotency_key="create-1"
    )
    assert created.status_code == 201, created.text
    again = await send(
        client, "/v1/deals", market.buyer, deal_body(market), idempotency_key="create-1"
    )
    assert_replay_of(created, again)
    assert again.headers["location"] == created.headers["location"]
    assert await count_deals(session) == 1

    path = f"/v1/deals/{created.json()['id']}"
    funded = await send(client, f"{path}/fund", market.operator, idempotency_key="fund-1")
    assert funded.status_code == 200, funded.text
    assert await count_entries(session) == 1
    assert_replay_of(
        funded, await send(client, f"{path}/fund", market.operator, idempotency_key="fund-1")
    )
    assert await count_entries(session) == 1

    # no body and an empty one are the same settle request
    settled = await send(client, f"{path}/settle", market.buyer, idempotency_key="settle-1")
    assert settled.json()["status"] == "settled"
    again = await send(client, f"{path}/settle", market.buyer, {}, idempotency_key="settle-1")
    assert_replay_of(settled, again)
    assert await count_entries(session) == 2

    # a replay is the first response, not the deal as it is now
    late = await send(client, f"{path}/fund", market.operator, idempotency_key="fund-1")
    assert_replay_of(funded, late)
    assert late.json()["status"] == "funded"

    settlement = await first_entry_of(session, created.json()["id"], "settlement")
    reverse = f"/v1/ledger/entries/{settlement}/reverse"
    reason = {"reason": "验收未通过"}
    reversed_ = await send(client, reverse, market.operator, reason, idempotency_key="rev-1")
    assert reversed_.status_code == 201, reversed_.text
    assert_replay_of(
        reversed_, await send(client, reverse, market.operator, reason, idempotency_key="rev-1")
    )
    assert await count_entries(session) == 3
    current = await client.get(path, headers=market.buyer.headers)
    assert current.json()["status"] == "funded"

    refunded = await send(client, f"{path}/refund", market.operator, idempotency_key="refund-1")
    assert refunded.status_code == 200, refunded.text
    assert_replay_of(
        refunded, await send(client, f"{path}/refund", market.operator, idempotency_key="refund-1")
    )
    assert await count_entries(session) == 4

    opened = await open_deal(client, market)
    cancel = f"/v1/deals/{opened['id']}/cancel"
    cancelled = await send(client, cancel, market.seller, idempotency_key="cancel-1")
    assert cancelled.status_code == 200, cancelled.text
    assert_replay_of(
        cancelled, await send(client, cancel, market.seller, idempotency_key="cancel-1")
    )


async def test_the_same_key_for_another_request_is_422(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    created = await send(client, "/v1/deals", market.buyer, deal_body(market), idempotency_key="k1")
    assert created.status_code == 201
    for body in (
        deal_body(market, title="另一个合同"),
        deal_body(market, gross_amount="2000.01"),
        deal_body(market, milestones=[{"title": "一次交付", "amount": "2000.00"}]),
    ):
        refused = await send(client, "/v1/deals", market.buyer, body, idempotency_key="k1")
        assert_problem(refused, 422, "idempotency_key_reused")
    assert await count_deals(session) == 1

    milestones = [{"title": "一", "amount": "60000.00"}, {"title": "二", "amount": "40000.00"}]
    deal = await funded_deal(client, market, milestones=milestones)
    other = await open_deal(client, market)
    entries = await count_entries(session)
    settle = f"/v1/deals/{deal['id']}/settle"
    # the create's key on another path is another request
    refused = await send(client, settle, market.buyer, idempotency_key="k1")
    assert_problem(refused, 422, "idempotency_key_reused")

    first, second = (m["id"] for m in deal["milestones"])
    one = await send(client, settle, market.buyer, {"milestone_id": first}, idempotency_key="s1")
    assert one.status_code == 200, one.text
    for other_body in ({"milestone_id": second}, None):
        refused = await send(client, settle, market.buyer, other_body, idempotency_key="s1")
        assert_problem(refused, 422, "idempotency_key_reused")

    fund = await send(
        client, f"/v1/deals/{other['id']}/fund", market.operator, idempotency_key="pay"
    )
    assert fund.status_code == 200, fund.text
    refused = await send(
        client, f"/v1/deals/{deal['id']}/refund", market.operator, idempotency_key="pay"
    )
    assert_problem(refused, 422, "idempotency_key_reused")

    funding = await first_entry_of(session, other["id"], "funding")
    reverse = f"/v1/ledger/entries/{funding}/reverse"
    done = await send(client, reverse, market.operator, {"reason": "重复到账"}, idempotency_key="r")
    assert done.status_code == 201, done.text
    refused = await send(client, reverse, market.operator, {"reason": "别的"}, idempotency_key="r")
    assert_problem(refused, 422, "idempotency_key_reused")
    assert await count_entries(session) == entries + 3  # the settle, the fund, the reversal
    current = await client.get(settle.removesuffix("/settle"), headers=market.buyer.headers)
    assert [m["status"] for m in current.json()["milestones"]] == ["settled", "pending"]


async def test_the_same_key_for_another_path_is_422(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    first = await open_deal(client, market)
    second = await open_deal(client, market)
    funded = await send(
        client, f"/v1/deals/{first['id']}/fund", market.operator, idempotency_key="pay-1"
    )
    assert funded.status_code == 200
    refused = await send(
        client, f"/v1/deals/{second['id']}/fund", market.operator, idempotency_key="pay-1"
    )
    assert_problem(refused, 422, "idempotency_key_reused")
    assert await count_entries(session) == 1
    still = await client.get(f"/v1/deals/{second['id']}", headers=market.operator.headers)
    assert still.json()["status"] == "created"


async def money_posts(
    client: AsyncClient, market: Market, session: AsyncSession
) -> list[tuple[str, builders.Actor, dict[str, Any] | None]]:
    """Every money POST, each one that would succeed if it carried a key."""
    created = await open_deal(client, market)
    funded = await funded_deal(client, market)
    funding = await first_entry_of(session, funded["id"], "funding")
    return [
        ("/v1/deals", market.buyer, deal_body(market)),
        (f"/v1/deals/{created['id']}/fund", market.operator, None),
        (f"/v1/deals/{created['id']}/cancel", market.buyer, None),
        (f"/v1/deals/{funded['id']}/settle", market.buyer, None),
        (f"/v1/deals/{funded['id']}/refund", market.operator, None),
        (f"/v1/ledger/entries/{funding}/reverse", market.operator, {"reason": "测试"}),
    ]


async def test_every_money_post_requires_a_key(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    posts = await money_posts(client, market, session)
    deals, entries = await count_deals(session), await count_entries(session)
    for path, actor, body in posts:
        refused = await send(client, path, actor, body, idempotency_key=None)
        assert_problem(refused, 400, "idempotency_key_required")
        assert KEY in refused.json()["detail"]
    assert (await count_deals(session), await count_entries(session)) == (deals, entries)


@pytest.mark.parametrize(
    "bad_key",
    [
        pytest.param("k" * 256, id="256-chars"),
        pytest.param("k" * 300, id="300-chars"),
        pytest.param("two words", id="space"),
        pytest.param("", id="empty"),
        pytest.param("tab\tkey", id="tab"),
        pytest.param("钥匙".encode(), id="non-ascii"),
    ],
)
async def test_an_invalid_key_is_400(
    client: AsyncClient, market: Market, session: AsyncSession, bad_key: str | bytes
) -> None:
    posts = await money_posts(client, market, session)
    deals, entries = await count_deals(session), await count_entries(session)
    records = await session.scalar(select(func.count()).select_from(IdempotencyRecord))
    for path, actor, body in posts:
        refused = await send(client, path, actor, body, idempotency_key=bad_key)
        assert_problem(refused, 400, "idempotency_key_invalid")
    assert (await count_deals(session), await count_entries(session)) == (deals, entries)
    assert await session.scalar(select(func.count()).select_from(IdempotencyRecord)) == records


async def test_the_longest_key_is_accepted(client: AsyncClient, market: Market) -> None:
    longest = "~" + "K" * 253 + "!"
    made = await send(client, "/v1/deals", market.buyer, deal_body(market), idempotency_key=longest)
    assert made.status_code == 201, made.text
    again = await send(
        client, "/v1/deals", market.buyer, deal_body(market), idempotency_key=longest
    )
    assert_replay_of(made, again)


async def test_keys_belong_to_their_principal(
    client: AsyncClient, market: Market, session: AsyncSession, settings: Settings
) -> None:
    colleague = await builders.actor(session, settings, organization=market.buyer_org)
    body = deal_body(market)
    mine = await send(client, "/v1/deals", market.buyer, body, idempotency_key="shared")
    theirs = await send(client, "/v1/deals", colleague, body, idempotency_key="shared")
    for made in (mine, theirs):
        assert made.status_code == 201, made.text
        assert REPLAYED not in made.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert await count_deals(session) == 2

    # two operators funding two deals with one key: two fundings
    other_operator = await builders.actor(session, settings, role=Role.operator)
    for deal, operator in ((mine, market.operator), (theirs, other_operator)):
        funded = await send(
            client, f"/v1/deals/{deal.json()['id']}/fund", operator, idempotency_key="shared"
        )
        assert funded.status_code == 200, funded.text
        assert REPLAYED not in funded.headers
    assert await count_entries(session) == 2

    # nor can another principal read someone's stored response by guessing the key
    stranger_org = await builders.create_organization(session, kind=market.buyer_org.kind)
    stranger = await builders.actor(session, settings, organization=stranger_org)
    peek = await send(
        client, f"/v1/deals/{mine.json()['id']}/settle", stranger, idempotency_key="shared"
    )
    assert_problem(peek, 404, "not_found")


async def test_a_failed_request_stores_nothing_so_its_retry_runs(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    deal = await open_deal(client, market)
    settle = f"/v1/deals/{deal['id']}/settle"
    too_early = await send(client, settle, market.buyer, idempotency_key="accept-1")
    assert_problem(too_early, 409, "illegal_transition")
    assert await stored_keys(session, "accept-1") == 0
    unknown = await send(
        client, settle, market.buyer, {"milestone_id": str(uuid.uuid4())}, idempotency_key="m-1"
    )
    assert unknown.status_code == 409  # the deal is not funded yet: checked first
    forbidden = await send(
        client, f"/v1/deals/{deal['id']}/fund", market.buyer, idempotency_key="accept-1"
    )
    assert_problem(forbidden, 403, "forbidden_role")
    assert await stored_keys(session, "accept-1") == 0

    funded = await send(
        client, f"/v1/deals/{deal['id']}/fund", market.operator, idempotency_key="accept-1"
    )
    assert funded.status_code == 200, funded.text  # the operator's key: another principal's
    unknown = await send(
        client, settle, market.buyer, {"milestone_id": str(uuid.uuid4())}, idempotency_key="m-1"
    )
    assert_problem(unknown, 422, "unknown_milestone")
    assert await stored_keys(session, "m-1") == 0

    retried = await send(client, settle, market.buyer, idempotency_key="accept-1")
    assert retried.status_code == 200, retried.text
    assert REPLAYED not in retried.headers
    assert retried.json()["status"] == "settled"
    assert_replay_of(retried, await send(client, settle, market.buyer, idempotency_key="accept-1"))
    assert await count_entries(session) == 2


# --- PostgreSQL: a key still in flight --------------------------------------------------------


@pytest.fixture
async def live(migrated_fresh_database_url: str) -> AsyncIterator[tuple[Database, FastAPI, Market]]:
    """An app on a database of its own, where transactions really commit."""
    settings = make_settings(migrated_fresh_database_url)
    db = Database(create_engine(migrated_fresh_database_url))
    try:
        async with db.unit_of_work(write=True) as session:
            market = await build_market(session, settings)
        yield db, create_app(settings, database=db), market
    finally:
        await db.dispose()


async def _waiting_on_a_lock(db: Database) -> int:
    async with db.engine.connect() as watcher:
        waiting = await watcher.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        await watcher.rollback()
    return int(waiting or 0)


@pytest.mark.postgres_only
async def test_a_key_whose_first_request_is_running_is_409(
    live: tuple[Database, FastAPI, Market],
) -> None:
    db, app, market = live
    transport = ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        deal = await funded_deal(client, market)
        settle = f"/v1/deals/{deal['id']}/settle"
        async with db.engine.connect() as blocker:
            # Another transaction holds the deal: the first settle takes its key's lock and
            # then waits for the deal row, mid-flight.
            await blocker.execute(
                select(Deal.id).where(Deal.id == uuid.UUID(deal["id"])).with_for_update()
            )
            first = asyncio.create_task(
                send(client, settle, market.buyer, idempotency_key="slow-settle")
            )
            for _ in range(200):
                if await _waiting_on_a_lock(db):
                    break
                await asyncio.sleep(0.025)
            else:
                pytest.fail("the first settle never reached the deal's lock")
            assert not first.done()

            second = await send(client, settle, market.buyer, idempotency_key="slow-settle")
            assert_problem(second, 409, "idempotency_key_in_flight")
            assert not first.done()
            await blocker.rollback()

        done = await asyncio.wait_for(first, timeout=30)
        assert done.status_code == 200, done.text
        assert REPLAYED not in done.headers
        third = await send(client, settle, market.buyer, idempotency_key="slow-settle")
        assert_replay_of(done, third)

        # The same, with the key's own lock held by another transaction (as another API
        # process running that key holds it): in flight; free once that transaction ends.
        other = await open_deal(client, market)
        fund = f"/v1/deals/{other['id']}/fund"
        label = f"user:{market.operator.user.id}"  # type: ignore[union-attr]
        async with db.engine.connect() as holder:
            taken = await holder.scalar(
                select(func.pg_try_advisory_xact_lock(_lock_id(label, "fund-other")))
            )
            assert taken
            busy = await send(client, fund, market.operator, idempotency_key="fund-other")
            assert_problem(busy, 409, "idempotency_key_in_flight")
            unrelated = await send(client, fund, market.buyer, idempotency_key="fund-other")
            assert_problem(unrelated, 403, "forbidden_role")  # another principal: not in flight
            await holder.rollback()
        funded = await send(client, fund, market.operator, idempotency_key="fund-other")
        assert funded.status_code == 200, funded.text
        assert REPLAYED not in funded.headers

        async with db.unit_of_work(write=False) as session:
            assert await count_entries(session) == 3
