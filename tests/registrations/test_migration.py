"""Migration 0013 on a database with deals and journal entries: the category CHECK of both
tables widened and narrowed again by copying the tables on SQLite (foreign keys off, then
checked), in place on PostgreSQL; no row lost, the ledger still append-only and verified."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.main import create_app
from tests.conftest import downgrade, make_settings, migrate
from tests.deals.conftest import Market, build_market, post
from tests.registrations.conftest import file, filing, grant


@asynccontextmanager
async def _api(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Database]]:
    database = Database(create_engine(settings.database_url))
    transport = httpx.ASGITransport(app=create_app(settings, database=database))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, database
    finally:
        await database.dispose()


async def _settled_deal(client: httpx.AsyncClient, market: Market, category: str) -> str:
    body = {
        "technology_id": str(market.technology.id),
        "title": "迁移测试合同",
        "category": category,
        "gross_amount": "100000.00",
    }
    created = await post(client, "/v1/deals", market.buyer, body)
    assert created.status_code == 201, created.text
    deal_id = str(created.json()["id"])
    for action, actor in (("fund", market.operator), ("settle", market.buyer)):
        done = await post(client, f"/v1/deals/{deal_id}/{action}", actor)
        assert done.status_code == 200, done.text
    return deal_id


async def _counts(database: Database) -> tuple[int, int, int]:
    async with database.unit_of_work(write=False) as session:
        row = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM deals), (SELECT count(*) FROM journal_entries),"
                    " (SELECT count(*) FROM postings)"
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def test_down_and_up_again_with_deals_and_entries(fresh_database_url: str) -> None:
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    settings = make_settings(fresh_database_url)
    async with _api(settings) as (client, database):
        async with database.unit_of_work(write=True) as session:
            market = await build_market(session, settings)
        deal_id = await _settled_deal(client, market, "transfer")
        assert (await file(client, market.buyer, deal_id, filing())).status_code == 200
        assert (
            await grant(client, market.operator, deal_id, "2024410100000001")
        ).status_code == 200
        before = await _counts(database)

    await anyio.to_thread.run_sync(downgrade, fresh_database_url, "0012")
    async with _api(settings) as (client, database):
        assert await _counts(database) == before
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.unit_of_work(write=True) as session:
                await session.execute(text("UPDATE journal_entries SET memo = 'changed'"))
        with pytest.raises(DBAPIError, match="contract_category"):  # four kinds only, again
            async with database.unit_of_work(write=True) as session:
                await session.execute(text("UPDATE deals SET category = 'license'"))

    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    async with _api(settings) as (client, database):
        assert await _counts(database) == before
        license_deal = await _settled_deal(client, market, "license")
        verified = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
        assert verified.json()["ok"] is True, verified.text
        read = await client.get(f"/v1/deals/{deal_id}/registration", headers=market.buyer.headers)
        assert read.status_code == 404  # the records went with the table on the way down
        assert license_deal

    # a license deal cannot be narrowed away: the downgrade refuses and changes nothing
    with pytest.raises(RuntimeError, match="license deals exist"):
        await anyio.to_thread.run_sync(downgrade, fresh_database_url, "0012")
    async with _api(settings) as (client, database):
        fetched = await client.get(f"/v1/deals/{license_deal}", headers=market.buyer.headers)
        assert fetched.json()["category"] == "license"
        listed = await client.get("/v1/ledger/registrations", headers=market.auditor.headers)
        assert listed.status_code == 200
