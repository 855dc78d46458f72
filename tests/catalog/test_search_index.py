"""The search index: exact totals and facets over every match, a committed write in the next
search on another process, and how the index keeps in step with the table."""

import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk, search_index
from app.core.calendar import utcnow
from app.core.config import Settings
from app.core.db import Database, create_engine, run_after_commit
from app.core.filters import Everything
from app.core.search import index_text, parse_query
from app.core.security import Role
from app.models.catalog import CatalogStatus
from app.models.orgs import OrganizationKind
from app.models.technologies import Technology
from app.services import catalog as catalog_service
from app.services import technologies as technologies_service
from app.services.catalog import CatalogIndexes, imported_row
from tests import builders
from tests.conftest import TEST_SECRET, make_settings
from tests.servers import running_servers

SPEC = technologies_service.SPEC
FIELDS = ("盾构装备", "超硬材料", "集成电路", "生物医药", "新能源", None)
WORDS = ("科技成果", "盾构", "刀盘", "芯片", "疫苗")
ITEMS = 1500  # more than the 1,000 newest matches facets used to be counted over


async def _load(session: AsyncSession, owners: list[uuid.UUID]) -> list[dict[str, Any]]:
    """ITEMS technologies with random fields, readiness, status and words, loaded in bulk."""
    rng = random.Random(13)
    now = utcnow()
    rows = []
    for n in range(ITEMS):
        words = rng.sample(WORDS, rng.randint(1, 3))
        values = {
            "title": f"{words[0]}装置{n}",
            "summary": "，".join(words[1:]) or None,
            "field": rng.choice(FIELDS),
            "trl": rng.randint(1, 9),
            "transfer_modes": rng.sample(["license", "assignment", "equity"], rng.randint(0, 2)),
            "price_min": None,
            "price_max": None,
            "inventor_ids": [],
            "ip_asset_ids": [],
            "tags": [],
            "external_id": f"bulk-{n}",
        }
        status = rng.choice([CatalogStatus.published] * 4 + [CatalogStatus.draft])
        rows.append(
            imported_row(
                SPEC,
                values,
                item_id=uuid.uuid4(),
                owner_id=rng.choice(owners),
                status=status,
                at=now - timedelta(minutes=n),
            )
        )
    await bulk.insert_rows(session, Technology, rows)
    catalog_service.note_changed(session, [SPEC.name])
    await session.commit()
    return rows


def _text(row: dict[str, Any]) -> str:
    return f"{row['title']} {row['summary'] or ''} {row['field'] or ''}"


def _counts(rows: list[dict[str, Any]], name: str) -> list[tuple[Any, int]]:
    values = Counter(row[name].value if hasattr(row[name], "value") else row[name] for row in rows)
    return sorted(values.items(), key=lambda pair: (-pair[1], str(pair[0])))


def _facets(response: Any, name: str) -> list[tuple[Any, int]]:
    return [(f["value"], f["count"]) for f in response.json()["facets"][name]]


async def test_totals_and_facets_count_every_match(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owners = [await builders.create_organization(session) for _ in range(3)]
    rows = await _load(session, [owner.id for owner in owners])
    operator = await builders.actor(session, settings, role=Role.operator)
    published = [row for row in rows if row["status"] is CatalogStatus.published]

    def has(*words: str) -> Callable[[dict[str, Any]], bool]:
        return lambda row: all(word in _text(row) for word in words)

    staff = operator.headers  # staff see every status they ask for
    cases: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool], dict[str, str]]] = [
        ({}, lambda row: True, {}),
        ({"q": "科技成果"}, has("科技成果"), {}),
        ({"q": "盾构 芯片"}, has("盾构", "芯片"), {}),
        ({"q": "刀盘", "trl_min": 5}, lambda row: has("刀盘")(row) and row["trl"] >= 5, {}),
        ({"field": ["盾构装备", "新能源"]}, lambda row: row["field"] in ("盾构装备", "新能源"), {}),
        ({"transfer_mode": "license"}, lambda row: "license" in row["transfer_modes"], {}),
        ({"q": "疫苗", "status": ["published", "draft"]}, has("疫苗"), staff),
    ]
    for params, wanted, headers in cases:
        seen = rows if headers else published
        expected = [row for row in seen if wanted(row)]
        response = await client.get(
            "/v1/technologies",
            params={**params, "facets": "field,trl,status,owner_id", "limit": 5},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(expected) > 50, params  # a set worth counting
        assert (body["total"], body["total_exact"], body["facets_exact"]) == (
            len(expected),
            True,
            True,
        ), params
        for name in ("field", "trl", "status"):
            assert _facets(response, name) == _counts(expected, name), (params, name)
        owner_counts = [(str(value), n) for value, n in _counts(expected, "owner_id")]
        assert sorted(_facets(response, "owner_id")) == sorted(owner_counts), params


async def test_a_demand_past_its_deadline_counts_as_closed(
    client: AsyncClient, session: AsyncSession
) -> None:
    enterprise = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    demands = [await builders.open_demand(session, enterprise) for _ in range(5)]
    for demand in demands[:2]:
        await builders.pass_deadline(session, demand)
    response = await client.get(
        "/v1/demands", params={"status": ["open", "closed"], "facets": "status"}
    )
    assert response.json()["total"] == 5
    assert _facets(response, "status") == [("open", 3), ("closed", 2)]
    closed = await client.get("/v1/demands", params={"status": "closed", "q": "刀盘磨损"})
    assert closed.status_code == 200, closed.text
    assert sorted(item["id"] for item in closed.json()["items"]) == sorted(
        str(demand.id) for demand in demands[:2]
    )
    assert closed.json()["total"] == 2


async def test_a_write_on_one_process_is_in_the_next_search_on_another(
    migrated_fresh_database_url: str,
) -> None:
    url = migrated_fresh_database_url
    settings = make_settings(url)
    database = Database(create_engine(url))
    try:
        async with database.unit_of_work(write=True) as session:
            university = await builders.create_organization(
                session, kind=OrganizationKind.university
            )
            member = await builders.actor(session, settings, organization=university)
        env = {
            "INNOSHARE_DATABASE_URL": url,
            "INNOSHARE_SECRET_KEY": TEST_SECRET,
            "INNOSHARE_ENV": "test",
            "INNOSHARE_RESPONSE_CACHE_MB": "0",
        }
        with running_servers(2, env) as (writer, reader):
            async with httpx.AsyncClient(timeout=10) as http:

                async def search(q: str) -> list[str]:
                    found = await http.get(f"{reader}/v1/technologies", params={"q": q})
                    assert found.status_code == 200, found.text
                    return [item["id"] for item in found.json()["items"]]

                assert await search("掘进机") == []  # the reader's index is built, and empty
                created = await http.post(
                    f"{writer}/v1/technologies",
                    json={"title": "隧道掘进机主轴承", "trl": 6, "summary": "盾构"},
                    headers=member.headers,
                )
                assert created.status_code == 201, created.text
                item = created.json()
                assert await search("掘进机") == []  # a draft: not public
                published = await http.post(
                    f"{writer}/v1/technologies/{item['id']}/publish", headers=member.headers
                )
                assert published.status_code == 200, published.text
                assert await search("掘进机") == [item["id"]]
                changed = await http.patch(
                    f"{writer}/v1/technologies/{item['id']}",
                    json={"title": "盾构机主轴承密封"},
                    headers={**member.headers, "If-Match": published.headers["ETag"]},
                )
                assert changed.status_code == 200, changed.text
                assert await search("掘进机") == []
                assert await search("主轴承密封") == [item["id"]]
                withdrawn = await http.post(
                    f"{writer}/v1/technologies/{item['id']}/withdraw", headers=member.headers
                )
                assert withdrawn.status_code == 200, withdrawn.text
                assert await search("主轴承密封") == []
    finally:
        await database.dispose()


# --- keeping in step: the index and the table, behind the API's back ----------------------


async def _technology(session: AsyncSession, title: str) -> Technology:
    owner = await builders.create_organization(session, kind=OrganizationKind.university)
    return await builders.published_technology(session, owner, title=title)


async def _found(index: CatalogIndexes, word: str) -> int:
    (snapshot,) = await index.snapshots([SPEC])
    return snapshot.count(snapshot.query(Everything(), parse_query(word)))


async def _retitle(session: AsyncSession, item: Technology, title: str, at: datetime) -> None:
    await session.execute(
        update(Technology)
        .where(Technology.id == item.id)
        .values(title=title, search_title=index_text(title), updated_at=at)
    )


async def test_a_change_committed_late_is_caught_within_the_overlap(
    db: Database, session: AsyncSession
) -> None:
    """A transaction that wrote a row earlier than another but committed later is still seen:
    the index reads again OVERLAP back from the newest change it has seen."""
    index = CatalogIndexes(db, [SPEC])
    late = await _technology(session, "盾构机刀盘")
    await _technology(session, "芯片封装")
    assert await _found(index, "刀盘") == 1
    await _retitle(session, late, "隧道掘进机", utcnow() - search_index.OVERLAP / 2)
    catalog_service.note_changed(session, [SPEC.name])
    await session.commit()
    await run_after_commit(session)
    assert (await _found(index, "刀盘"), await _found(index, "掘进")) == (0, 1)


async def test_what_the_overlap_misses_the_reconciliation_finds(
    db: Database, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = CatalogIndexes(db, [SPEC])
    old = await _technology(session, "盾构机刀盘")
    gone = await _technology(session, "芯片封装")
    assert (await _found(index, "刀盘"), await _found(index, "芯片")) == (1, 1)
    await _retitle(session, old, "隧道掘进机", datetime(2001, 1, 1, tzinfo=UTC))
    await session.execute(delete(Technology).where(Technology.id == gone.id))
    await session.commit()
    monkeypatch.setattr(search_index, "MAX_QUIET", 0.0)
    assert (await _found(index, "掘进"), await _found(index, "芯片")) == (0, 1)
    monkeypatch.setattr(search_index, "RECONCILE_EVERY", 0.0)
    assert (await _found(index, "掘进"), await _found(index, "芯片")) == (1, 0)
    assert await _found(index, "刀盘") == 0
