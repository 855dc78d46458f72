"""Two API processes award two different proposals of one demand at the same moment
(PostgreSQL): exactly one award wins, the other gets 409, one deal opens, and its money flows
through a ledger that verifies."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.db import Database, create_engine
from app.core.security import Role
from app.models.deals import Deal
from app.models.demands import Demand, DemandStatus, Proposal, ProposalStatus
from app.services import proposals as proposals_service
from tests import builders
from tests.conftest import TEST_SECRET, make_settings
from tests.proposals.conftest import Tender, build_tender
from tests.servers import running_servers

DEMANDS = 6


@pytest.fixture
async def database(migrated_fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(create_engine(migrated_fresh_database_url))
    try:
        yield db
    finally:
        await db.dispose()


async def _bid(db: Database, demand: Demand, actor: builders.Actor, price_fen: int) -> uuid.UUID:
    assert actor.organization is not None
    bidder = builders.principal(Role.member, organization_id=actor.organization.id)
    async with db.unit_of_work(write=True) as session:
        proposal = await proposals_service.submit_proposal(
            session,
            principal=bidder,
            demand_id=demand.id,
            values=proposals_service.ProposalInput(
                price_fen=price_fen, timeline_days=90, plan="并发授标"
            ),
        )
        return proposal.id


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.postgres_only
async def test_two_processes_awarding_one_demand_open_one_deal(
    migrated_fresh_database_url: str, database: Database
) -> None:
    url = migrated_fresh_database_url
    settings = make_settings(url)
    async with database.unit_of_work(write=True) as session:
        tender: Tender = await build_tender(session, settings)
        demands = [await builders.open_demand(session, tender.owner_org) for _ in range(DEMANDS)]
    bids = [
        (
            await _bid(database, demand, tender.provider_a, 30_000_000),
            await _bid(database, demand, tender.provider_b, 20_000_000),
        )
        for demand in demands
    ]
    async with database.unit_of_work(write=True) as session:
        for demand in demands:
            here = await session.get(Demand, demand.id)
            assert here is not None
            await builders.pass_deadline(session, here)

    env = {
        "INNOSHARE_DATABASE_URL": url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "WARNING",
    }
    with running_servers(2, env) as urls:
        async with httpx.AsyncClient(timeout=60) as client:

            def award(server: int, demand: Demand, proposal_id: uuid.UUID) -> Any:
                headers = {**tender.owner.headers, "Idempotency-Key": str(uuid.uuid4())}
                target = f"{urls[server]}/v1/demands/{demand.id}/proposals/{proposal_id}/award"
                return client.post(target, headers=headers)

            # every demand's two awards at once, one to each process
            answers = await asyncio.gather(
                *(
                    award(server, demand, proposal_id)
                    for demand, pair in zip(demands, bids, strict=True)
                    for server, proposal_id in enumerate(pair)
                )
            )
            winners: dict[uuid.UUID, dict[str, Any]] = {}
            for number, demand in enumerate(demands):
                pair = answers[2 * number : 2 * number + 2]
                assert sorted(r.status_code for r in pair) == [200, 409], [r.text for r in pair]
                [refused] = [r for r in pair if r.status_code == 409]
                assert refused.json()["code"] == "illegal_transition"
                [won] = [r for r in pair if r.status_code == 200]
                winners[demand.id] = won.json()

            # each deal's money through escrow and the ledger, on either process
            for number, proposal in enumerate(winners.values()):
                base = urls[number % 2]
                deal_id = proposal["deal_id"]
                operator = {**tender.operator.headers, "Idempotency-Key": str(uuid.uuid4())}
                await _ok(await client.post(f"{base}/v1/deals/{deal_id}/fund", headers=operator))
                buyer = {**tender.owner.headers, "Idempotency-Key": str(uuid.uuid4())}
                settled = await _ok(
                    await client.post(f"{base}/v1/deals/{deal_id}/settle", headers=buyer)
                )
                assert settled["status"] == "settled"
            verified = await _ok(
                await client.get(f"{urls[1]}/v1/ledger/verify", headers=tender.auditor.headers)
            )
    assert verified["ok"] is True, verified["problems"]
    assert verified["entries_checked"] == 2 * DEMANDS

    async with database.unit_of_work(write=False) as session:
        deals = {d.demand_id: d for d in (await session.scalars(select(Deal))).all()}
        proposals = (await session.scalars(select(Proposal))).all()
        statuses = dict((await session.execute(select(Demand.id, Demand.status))).all())
    assert sorted(deals, key=str) == sorted(winners, key=str), "one deal per demand"
    for demand in demands:
        won = winners[demand.id]
        deal = deals[demand.id]
        assert statuses[demand.id] is DemandStatus.awarded
        assert str(deal.id) == won["deal_id"]
        assert deal.gross_fen == {"300000.00": 30_000_000, "200000.00": 20_000_000}[won["price"]]
        assert str(deal.seller_id) == won["organization_id"]
        mine = {p.id: p for p in proposals if p.demand_id == demand.id}
        assert sorted(p.status for p in mine.values()) == sorted(
            [ProposalStatus.awarded, ProposalStatus.unsuccessful]
        )
        assert mine[uuid.UUID(won["id"])].deal_id == deal.id
