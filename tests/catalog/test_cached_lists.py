"""Anonymous lists and searches come from the response cache, and are never staler than the
last change made through the API: every write raises the catalog's generation."""

import uuid
from typing import Any

from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.core.security import Role
from app.main import create_app
from app.models.catalog import CatalogGeneration
from app.models.orgs import OrganizationKind
from tests import builders
from tests.conftest import make_settings


def _cache_count(result: str) -> float:
    value = REGISTRY.get_sample_value("innoshare_response_cache_total", {"result": result})
    return value or 0.0


async def _generation(session: AsyncSession, catalog: str) -> int:
    stmt = select(CatalogGeneration.generation).where(CatalogGeneration.catalog == catalog)
    return int(await session.scalar(stmt) or 0)


def _titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


async def _member_with_item(
    client: AsyncClient,
    session: AsyncSession | None,
    settings: Settings,
    title: str,
    member: builders.Actor | None = None,
) -> tuple[builders.Actor, dict[str, Any]]:
    if member is None:
        assert session is not None
        member = await builders.actor(session, settings)
    created = await client.post(
        "/v1/technologies", json={"title": title, "trl": 5}, headers=member.headers
    )
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/v1/technologies/{created.json()['id']}/publish", headers=member.headers
    )
    assert published.status_code == 200, published.text
    return member, published.json()


async def test_a_repeated_anonymous_search_is_served_from_the_cache(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    marker = uuid.uuid4().hex[:8]
    await _member_with_item(client, session, settings, f"缓存盾构 {marker}")
    params = {"q": f"盾构 {marker}", "facets": "field"}
    hits, misses = _cache_count("hit"), _cache_count("miss")
    first = await client.get("/v1/technologies", params=params)
    second = await client.get("/v1/technologies", params=params)
    assert (_cache_count("miss"), _cache_count("hit")) == (misses + 1, hits + 1)
    assert second.content == first.content
    assert second.headers["content-type"] == "application/json"
    assert second.headers["etag"] == first.headers["etag"]
    # A hit still gets the request's own id and timing, and a 304 on its ETag.
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    assert "server-timing" in second.headers
    again = await client.get(
        "/v1/technologies", params=params, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    # Another query string is another entry.
    other = await client.get("/v1/technologies", params={"q": f"盾构 {marker}"})
    assert other.status_code == 200
    assert _cache_count("miss") == misses + 2


async def test_changes_through_the_api_show_at_once(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    marker = uuid.uuid4().hex[:8]
    member, item = await _member_with_item(client, session, settings, f"耐磨涂层 {marker}")
    url = f"/v1/technologies/{item['id']}"
    search = {"q": marker}
    everywhere = {"q": marker, "types": "technologies"}
    assert _titles(await client.get("/v1/technologies", params=search)) == [item["title"]]
    before = (await client.get("/v1/search", params=everywhere)).json()["items"]
    assert [hit["item"]["title"] for hit in before] == [item["title"]]

    generation = await _generation(session, "technologies")
    renamed = await client.patch(
        url, json={"title": f"耐磨涂层新版 {marker}"}, headers=member.headers
    )
    assert renamed.status_code == 200
    assert await _generation(session, "technologies") == generation + 1
    assert _titles(await client.get("/v1/technologies", params=search)) == [
        f"耐磨涂层新版 {marker}"
    ]
    after = (await client.get("/v1/search", params=everywhere)).json()["items"]
    assert [hit["item"]["title"] for hit in after] == [f"耐磨涂层新版 {marker}"]

    withdrawn = await client.post(f"{url}/withdraw", headers=member.headers)
    assert withdrawn.status_code == 200
    assert _titles(await client.get("/v1/technologies", params=search)) == []
    assert (await client.get("/v1/search", params=everywhere)).json()["items"] == []
    # Other catalogs' generations did not move.
    assert await _generation(session, "policies") == 0


async def test_imports_raise_the_generation_only_when_they_write(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    marker = uuid.uuid4().hex[:8]
    item = {
        "external_id": f"CACHE-{marker}",
        "title": f"导入缓存测试 {marker}",
        "trl": 4,
        "status": "published",
    }
    search = {"q": marker}
    assert _titles(await client.get("/v1/technologies", params=search)) == []

    generation = await _generation(session, "technologies")
    sent = await client.post(
        "/v1/imports/technologies", json={"items": [item]}, headers=key.headers
    )
    assert sent.status_code == 200, sent.text
    assert await _generation(session, "technologies") == generation + 1
    assert _titles(await client.get("/v1/technologies", params=search)) == [item["title"]]

    # Unchanged: nothing written, the cached answer stays good.
    resent = await client.post(
        "/v1/imports/technologies", json={"items": [item]}, headers=key.headers
    )
    assert resent.json()["results"][0]["result"] == "unchanged"
    assert await _generation(session, "technologies") == generation + 1
    # Rejected atomically: nothing written, nothing raised.
    bad = {**item, "external_id": f"CACHE-BAD-{marker}", "trl": 12}
    rejected = await client.post(
        "/v1/imports/technologies",
        json={"items": [{**item, "title": f"改名 {marker}"}, bad], "mode": "atomic"},
        headers=key.headers,
    )
    assert rejected.status_code == 422
    assert await _generation(session, "technologies") == generation + 1
    assert _titles(await client.get("/v1/technologies", params=search)) == [item["title"]]


async def test_signed_in_callers_are_never_served_from_the_cache(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    marker = uuid.uuid4().hex[:8]
    member = await builders.actor(session, settings)
    draft = await client.post(
        "/v1/technologies", json={"title": f"草稿 {marker}", "trl": 3}, headers=member.headers
    )
    assert draft.status_code == 201
    params = {"q": marker, "status": ["draft", "published"]}
    anonymous = await client.get("/v1/technologies", params=params)
    assert _titles(anonymous) == []
    bypassed = _cache_count("bypass")
    own = await client.get("/v1/technologies", params=params, headers=member.headers)
    assert _titles(own) == [f"草稿 {marker}"]
    assert _cache_count("bypass") == bypassed + 1
    # And what they saw was not kept for the next anonymous caller.
    assert _titles(await client.get("/v1/technologies", params=params)) == []


async def test_errors_are_not_cached(client: AsyncClient) -> None:
    misses = _cache_count("miss")
    for _ in range(2):
        response = await client.get("/v1/technologies", params={"sort": "sideways"})
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
    assert _cache_count("miss") == misses + 2


async def test_a_change_through_another_process_shows_at_once(
    client: AsyncClient, session: AsyncSession, settings: Settings, db: Database
) -> None:
    """Two apps on one database (two workers or replicas): each has its own cache, and a
    write through one is seen by the other's next read."""
    marker = uuid.uuid4().hex[:8]
    other_app = create_app(settings, database=db)
    transport = ASGITransport(app=other_app, client=("203.0.113.8", 50000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as other:
        search = {"q": marker}
        assert _titles(await other.get("/v1/technologies", params=search)) == []
        assert _titles(await other.get("/v1/technologies", params=search)) == []  # cached
        _, item = await _member_with_item(client, session, settings, f"跨进程 {marker}")
        assert _titles(await other.get("/v1/technologies", params=search)) == [item["title"]]


async def test_policies_curated_by_operators_show_at_once(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    operator = await builders.actor(session, settings, role=Role.operator)
    zone = await builders.create_organization(session, kind=OrganizationKind.government)
    marker = uuid.uuid4().hex[:8]
    search = {"q": marker, "facets": "level"}
    empty = await client.get("/v1/policies", params=search)
    assert empty.json()["items"] == []
    body = {
        "title": f"研发费用加计扣除实施细则 {marker}",
        "issuing_authority": "郑州市科学技术局",
        "level": "municipal",
        "document_number": "郑科〔2020〕12号",
        "issue_date": "2020-03-01",
        "category": "税收优惠",
        "owner_id": str(zone.id),
    }
    created = await client.post("/v1/policies", json=body, headers=operator.headers)
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/v1/policies/{created.json()['id']}/publish", headers=operator.headers
    )
    assert published.status_code == 200
    found = await client.get("/v1/policies", params=search)
    assert _titles(found) == [body["title"]]
    assert found.json()["facets"]["level"] == [{"value": "municipal", "count": 1}]


async def test_the_cache_can_be_turned_off(db: Database, database_url: str) -> None:
    app = create_app(make_settings(database_url, response_cache_mb=0), database=db)
    transport = ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        counts = _cache_count("hit"), _cache_count("miss")
        for _ in range(2):
            assert (await client.get("/v1/policies", params={"q": "科技"})).status_code == 200
        assert (_cache_count("hit"), _cache_count("miss")) == counts


async def test_every_catalog_has_a_generation(session: AsyncSession) -> None:
    rows = (await session.execute(text("SELECT catalog FROM catalog_generations"))).scalars()
    assert sorted(rows) == [
        "demands",  # in the search index since issue 13; its row came with migration 0011
        "financial_products",
        "ip_assets",
        "organizations",  # service providers in the search index (matchmaking, migration 0010)
        "policies",
        "subscriptions",  # saved queries compiled again when it changes (migration 0011)
        "talents",
        "technologies",
    ]


async def test_committed_changes_show_at_once_on_a_real_database(
    migrated_fresh_database_url: str,
) -> None:
    """The production path end to end, outside the test transaction: real commits, and the
    generations read the way each backend reads them (on SQLite a second, read-only sqlite3
    connection)."""
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        settings = make_settings(migrated_fresh_database_url)
        async with database.unit_of_work(write=True) as session:
            member = await builders.actor(session, settings)
        marker = uuid.uuid4().hex[:8]
        search = {"q": marker}
        transport = ASGITransport(app=create_app(settings, database=database))
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            assert _titles(await client.get("/v1/technologies", params=search)) == []
            hits = _cache_count("hit")
            assert _titles(await client.get("/v1/technologies", params=search)) == []
            assert _cache_count("hit") == hits + 1
            assert await database.reads.fetch_rows(
                "SELECT generation FROM catalog_generations WHERE catalog = 'technologies'"
            ) == [(0,)]
            _, item = await _member_with_item(client, None, settings, f"真实提交 {marker}", member)
            assert await database.reads.fetch_rows(
                "SELECT generation FROM catalog_generations WHERE catalog = 'technologies'"
            ) == [(2,)]  # created, then published
            assert _titles(await client.get("/v1/technologies", params=search)) == [item["title"]]
    finally:
        await database.dispose()
