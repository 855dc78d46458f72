"""Paying out one account from two API processes at once (PostgreSQL): each request asks for
the whole balance or more than half of it, so at most one of each round can be paid; the
account's lock in ``post_entry`` must make exactly one succeed and never take the balance
below zero."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.core.db import Database, create_engine
from app.models.ledger import EntryKind, JournalEntry
from app.models.payouts import Payout
from tests.conftest import TEST_SECRET, make_settings
from tests.deals.conftest import Market, build_market
from tests.servers import running_servers

ROUNDS = 6
REQUESTS_PER_ROUND = 4  # two per process
NET_FEN = 8_600_000  # a transfer of 100000.00 leaves its seller 86000.00
# the whole balance in odd rounds, more than half of it in even ones
ASKS = ("86000.00", "43000.01")


@pytest.fixture
async def database(migrated_fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(create_engine(migrated_fresh_database_url))
    try:
        yield db
    finally:
        await db.dispose()


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _settle_one(client: httpx.AsyncClient, url: str, market: Market) -> None:
    def sent(actor: Any) -> dict[str, str]:
        return {**actor.headers, "Idempotency-Key": str(uuid.uuid4())}

    body = {
        "technology_id": str(market.technology.id),
        "title": "并发付款",
        "category": "transfer",
        "gross_amount": "100000.00",
    }
    deal = await _ok(
        await client.post(f"{url}/v1/deals", json=body, headers=sent(market.buyer)), 201
    )
    await _ok(await client.post(f"{url}/v1/deals/{deal['id']}/fund", headers=sent(market.operator)))
    await _ok(await client.post(f"{url}/v1/deals/{deal['id']}/settle", headers=sent(market.buyer)))


async def _balance_fen(client: httpx.AsyncClient, url: str, market: Market) -> int:
    got = await _ok(
        await client.get(
            f"{url}/v1/organizations/{market.seller_org.id}/balance", headers=market.auditor.headers
        )
    )
    return int(got["balance"].replace(".", ""))


@pytest.mark.postgres_only
async def test_concurrent_payouts_of_one_account_never_overdraw_it(
    migrated_fresh_database_url: str, database: Database
) -> None:
    settings = make_settings(migrated_fresh_database_url)
    async with database.unit_of_work(write=True) as session:
        market = await build_market(session, settings)
    env = {
        "INNOSHARE_DATABASE_URL": migrated_fresh_database_url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "WARNING",
    }
    paid_fen = 0
    with running_servers(2, env) as urls:
        async with httpx.AsyncClient(timeout=60) as client:
            for number in range(ROUNDS):
                await _settle_one(client, urls[number % 2], market)
                before = await _balance_fen(client, urls[0], market)
                assert before == NET_FEN  # each round pays out what the last one left
                ask = ASKS[number % 2]
                body = {
                    "organization_id": str(market.seller_org.id),
                    "amount": ask,
                    "bank_reference": f"ICBC-{number}",
                }

                async def pay(server: int, body: dict[str, Any] = body) -> httpx.Response:
                    headers = {**market.operator.headers, "Idempotency-Key": str(uuid.uuid4())}
                    return await client.post(
                        f"{urls[server]}/v1/payouts", json=body, headers=headers
                    )

                answers = await asyncio.gather(*(pay(n % 2) for n in range(REQUESTS_PER_ROUND)))
                statuses = sorted(a.status_code for a in answers)
                assert statuses == [201] + [409] * (REQUESTS_PER_ROUND - 1), [
                    a.text for a in answers
                ]
                assert {a.json()["code"] for a in answers if a.status_code == 409} == {
                    "insufficient_funds"
                }
                asked_fen = int(ask.replace(".", ""))
                paid_fen += asked_fen
                after = await _balance_fen(client, urls[1], market)
                assert after == before - asked_fen >= 0
                # pay out the rest, so that every round starts from one deal's net
                if after:
                    rest = {**body, "amount": f"{after // 100}.{after % 100:02d}"}
                    headers = {**market.operator.headers, "Idempotency-Key": str(uuid.uuid4())}
                    rest_paid = await client.post(
                        f"{urls[0]}/v1/payouts", json=rest, headers=headers
                    )
                    await _ok(rest_paid, 201)
                    paid_fen += after
                assert await _balance_fen(client, urls[0], market) == 0
            verified = await _ok(
                await client.get(f"{urls[1]}/v1/ledger/verify", headers=market.auditor.headers)
            )
            assert verified["ok"] is True, verified
    assert paid_fen == ROUNDS * NET_FEN
    async with database.unit_of_work(write=False) as session:
        payouts = await session.scalar(select(func.count()).select_from(Payout))
        entries = await session.scalar(
            select(func.count()).where(JournalEntry.kind == EntryKind.payout)
        )
        total = await session.scalar(select(func.sum(Payout.amount_fen)))
    assert payouts == entries
    assert total == ROUNDS * NET_FEN
