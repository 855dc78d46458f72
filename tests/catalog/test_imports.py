"""Partner imports: upserts by external_id, idempotent re-sends, atomic and continue modes,
and keys that can only ever touch their own organization's items."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role, Scope
from app.models.catalog import CatalogHistory
from app.models.technologies import Technology
from app.schemas.ip_assets import IPAssetImportItem
from app.schemas.talents import TalentImportItem
from app.schemas.technologies import TechnologyImportItem
from app.services import catalog as catalog_service
from app.services import ip_assets as ip_assets_service
from app.services import talents as talents_service
from app.services import technologies as technologies_service
from tests import builders
from tests.catalog.cases import patent_number

URL = "/v1/imports/technologies"


def _item(n: int, **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "external_id": f"ZZU-TECH-{n:06d}",
        "title": f"超硬材料磨具制备工艺 {n}",
        "summary": "金刚石砂轮, 陶瓷结合剂。",
        "field": "超硬材料",
        "trl": 1 + n % 9,
        "transfer_modes": ["license"],
        "price_min": "100000.00",
        "price_max": "300000.00",
        "status": "published",
    }
    item.update(overrides)
    return item


async def _rows(session: AsyncSession, owner_id: uuid.UUID) -> list[Technology]:
    session.expunge_all()
    stmt = (
        select(Technology).where(Technology.owner_id == owner_id).order_by(Technology.external_id)
    )
    return list((await session.scalars(stmt)).all())


async def _history(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(CatalogHistory)) or 0)


async def test_create_update_unchanged(client: AsyncClient, session: AsyncSession) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    items = [_item(n) for n in range(5)]

    first = await client.post(URL, json={"items": items}, headers=key.headers)
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["result"] for r in results] == ["created"] * 5
    assert [r["external_id"] for r in results] == [i["external_id"] for i in items]
    rows = await _rows(session, owner.id)
    assert len(rows) == 5
    assert all(r.status == "published" and r.published_at is not None for r in rows)
    assert {str(r.id) for r in rows} == {r["id"] for r in results}
    assert rows[0].price_min == 10_000_000  # fen
    public = await client.get(f"/v1/technologies/{results[0]['id']}")
    assert public.status_code == 200
    etag, updated_at = public.headers["etag"], public.json()["updated_at"]
    history_before = await _history(session)

    again = await client.post(URL, json={"items": items}, headers=key.headers)
    assert [r["result"] for r in again.json()["results"]] == ["unchanged"] * 5
    assert [r["id"] for r in again.json()["results"]] == [r["id"] for r in results]
    assert await _history(session) == history_before
    same = await client.get(f"/v1/technologies/{results[0]['id']}")
    assert same.headers["etag"] == etag
    assert same.json()["updated_at"] == updated_at

    items[0]["trl"] = 9
    items[1]["title"] = "超硬材料磨具制备工艺 改进版"
    changed = await client.post(URL, json={"items": items}, headers=key.headers)
    assert [r["result"] for r in changed.json()["results"]] == [
        "updated",
        "updated",
        "unchanged",
        "unchanged",
        "unchanged",
    ]
    assert await _history(session) == history_before + 2
    found = await client.get("/v1/technologies", params={"q": "改进版"})
    assert [t["id"] for t in found.json()["items"]] == [results[1]["id"]]
    updated = await client.get(f"/v1/technologies/{results[0]['id']}")
    assert updated.json()["trl"] == 9
    assert updated.headers["etag"] != etag
    entry = (
        await session.scalars(
            select(CatalogHistory)
            .where(CatalogHistory.item_id == uuid.UUID(results[0]["id"]))
            .order_by(CatalogHistory.version.desc())
        )
    ).first()
    assert entry is not None
    assert entry.source == "import"
    assert entry.changes == {"trl": [1, 9]}


async def test_atomic_mode_writes_nothing_when_one_item_is_bad(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    history_before = await _history(session)
    items = [_item(1), _item(2, trl=12), _item(3, price_min="9.00", price_max="1.00")]
    response = await client.post(URL, json={"items": items, "mode": "atomic"}, headers=key.headers)
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "import_rejected"
    assert [r["result"] for r in problem["results"]] == ["created", "error", "error"]
    assert problem["results"][1]["errors"][0]["loc"] == ["body", "items", 1, "trl"]
    assert await _rows(session, owner.id) == []
    assert await _history(session) == history_before


async def test_continue_mode_writes_the_good_items(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    items: list[Any] = [
        _item(1),
        _item(2, trl="nine"),
        _item(3, title="含\u0000字符"),
        "not an object",
        _item(1, title="重复"),
        _item(4, inventor_ids=[str(uuid.uuid4())]),
        _item(5, status="archived"),
    ]
    response = await client.post(
        URL, json={"items": items, "mode": "continue"}, headers=key.headers
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["created"] + ["error"] * 6
    types = [r["errors"][0]["type"] for r in results[1:]]
    assert types == [
        "int_type",  # strict: "nine" is not an integer, and neither would "9" be
        "nul_character",
        "model_attributes_type",
        "duplicate_in_batch",
        "unknown_reference",
        "enum",
    ]
    assert [r.external_id for r in await _rows(session, owner.id)] == ["ZZU-TECH-000001"]


async def test_status_changes_through_imports(client: AsyncClient, session: AsyncSession) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    await client.post(URL, json={"items": [_item(1, status="draft")]}, headers=key.headers)
    kept = await client.post(URL, json={"items": [_item(1, status=None)]}, headers=key.headers)
    assert kept.json()["results"][0]["result"] == "unchanged"  # no status: keep it
    published = await client.post(URL, json={"items": [_item(1)]}, headers=key.headers)
    assert published.json()["results"][0]["result"] == "updated"
    back = await client.post(URL, json={"items": [_item(1, status="draft")]}, headers=key.headers)
    assert back.status_code == 422
    assert back.json()["results"][0]["errors"][0]["type"] == "illegal_transition"
    gone = await client.post(
        URL, json={"items": [_item(1, status="withdrawn")]}, headers=key.headers
    )
    assert gone.json()["results"][0]["result"] == "updated"
    [row] = await _rows(session, owner.id)
    assert row.status == "withdrawn"
    assert row.withdrawn_at is not None


async def test_keys_only_ever_touch_their_own_organization(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    org_a = await builders.create_organization(session)
    org_b = await builders.create_organization(session)
    key_a = await builders.api_key_actor(session, organization=org_a)
    key_b = await builders.api_key_actor(session, organization=org_b)
    await client.post(URL, json={"items": [_item(1)]}, headers=key_a.headers)

    # B sends the same external_id: a separate item of B's; A's is untouched.
    hijack = await client.post(URL, json={"items": [_item(1, title="篡改")]}, headers=key_b.headers)
    assert hijack.json()["results"][0]["result"] == "created"
    [a_row] = await _rows(session, org_a.id)
    assert a_row.title == _item(1)["title"]
    [b_row] = await _rows(session, org_b.id)
    assert b_row.title == "篡改"

    without_scope = await builders.api_key_actor(
        session, organization=org_a, scopes=[Scope.deals_write]
    )
    denied = await client.post(URL, json={"items": [_item(2)]}, headers=without_scope.headers)
    assert denied.status_code == 403
    operator = await builders.actor(session, settings, role=Role.operator)
    no_org = await client.post(URL, json={"items": [_item(2)]}, headers=operator.headers)
    assert no_org.status_code == 403
    assert no_org.json()["code"] == "no_organization"
    assert (await client.post(URL, json={"items": [_item(2)]})).status_code == 401


async def test_batch_limits(client: AsyncClient, session: AsyncSession) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    too_many = [{"external_id": f"X{n}"} for n in range(1001)]
    response = await client.post(URL, json={"items": too_many}, headers=key.headers)
    assert response.status_code == 422
    assert (await client.post(URL, json={"items": []}, headers=key.headers)).status_code == 422
    assert (
        await client.post(URL, json={"items": [_item(1)], "mode": "maybe"}, headers=key.headers)
    ).status_code == 422


async def test_talents_and_ip_assets_import(client: AsyncClient, session: AsyncSession) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    talents = await client.post(
        "/v1/imports/talents",
        json={
            "items": [
                {"external_id": "T-1", "name": "李四", "title": "研究员", "status": "published"}
            ]
        },
        headers=key.headers,
    )
    assert talents.json()["results"][0]["result"] == "created"
    ip = await client.post(
        "/v1/imports/ip-assets",
        json={
            "mode": "continue",
            "items": [
                {
                    "external_id": "P-1",
                    "kind": "invention_patent",
                    "number": patent_number(serial=7),
                    "title": "一种磨具",
                    "legal_status": "granted",
                    "status": "published",
                },
                {
                    "external_id": "P-2",
                    "kind": "invention_patent",
                    "number": "2019101234567",
                    "title": "格式错误",
                    "legal_status": "granted",
                },
            ],
        },
        headers=key.headers,
    )
    assert [r["result"] for r in ip.json()["results"]] == ["created", "error"]
    assert ip.json()["results"][1]["errors"][0]["type"] == "invalid_ip_number"
    talent_id = talents.json()["results"][0]["id"]
    inventor = await client.post(
        URL, json={"items": [_item(9, inventor_ids=[talent_id])]}, headers=key.headers
    )
    assert inventor.json()["results"][0]["result"] == "created"


async def test_created_items_are_searchable_and_recorded(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    titles = ["盾构机刀盘磨损监测装置", "钠离子电池正极材料制备方法", "小麦抗病品种分子标记育种"]
    items = [
        _item(n, title=title, transfer_modes=["license", "equity"], tags=["成果", f"批{n}"])
        for n, title in enumerate(titles)
    ]
    response = await client.post(URL, json={"items": items}, headers=key.headers)
    ids = [r["id"] for r in response.json()["results"]]
    assert len(ids) == 3

    for title, item_id in zip(titles, ids, strict=True):
        found = await client.get("/v1/technologies", params={"q": title[2:8]})
        assert [t["id"] for t in found.json()["items"]] == [item_id], title
    tagged = await client.get("/v1/technologies", params={"q": "批2"})
    assert [t["id"] for t in tagged.json()["items"]] == [ids[2]]

    entries = (
        await session.scalars(
            select(CatalogHistory).where(CatalogHistory.item_id.in_([uuid.UUID(i) for i in ids]))
        )
    ).all()
    assert sorted((e.action, e.version, e.source) for e in entries) == [("create", 1, "import")] * 3
    entry = next(e for e in entries if e.item_id == uuid.UUID(ids[1]))
    assert entry.changes["title"] == [None, titles[1]]
    assert entry.changes["transfer_modes"] == [None, ["license", "equity"]]
    assert entry.changes["price_min"] == [None, 10_000_000]
    assert entry.changes["tags"] == [None, ["成果", "批1"]]
    assert entry.changes["external_id"] == [None, "ZZU-TECH-000001"]


async def test_one_batch_updates_items_in_different_ways(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    items = [_item(1), _item(2, title="旧标题金刚石"), _item(3, status="draft"), _item(4)]
    first = await client.post(URL, json={"items": items}, headers=key.headers)
    ids = [r["id"] for r in first.json()["results"]]
    before = {row.external_id: row for row in await _rows(session, owner.id)}
    history_before = await _history(session)

    items[0] = {**items[0], "trl": 9}  # a plain field
    items[1] = {**items[1], "title": "新标题氮化硼"}  # a searched field
    items[2] = {**items[2], "status": "published"}  # the status only
    response = await client.post(URL, json={"items": [*items, _item(5)]}, headers=key.headers)
    results = response.json()["results"]
    assert [r["result"] for r in results] == [
        "updated",
        "updated",
        "updated",
        "unchanged",
        "created",
    ]
    assert [r["id"] for r in results[:4]] == ids
    rows = {row.external_id: row for row in await _rows(session, owner.id)}
    one, two, three, four = (rows[f"ZZU-TECH-00000{n}"] for n in range(1, 5))
    assert (one.trl, one.version, one.title) == (9, 2, items[0]["title"])
    assert one.updated_at > before[one.external_id].updated_at
    assert (two.title, two.version) == ("新标题氮化硼", 2)
    assert (three.status, three.version) == ("published", 2)
    assert before[three.external_id].published_at is None
    assert three.published_at is not None
    assert (four.version, four.updated_at) == (1, before[four.external_id].updated_at)
    assert await _history(session) == history_before + 4

    new = await client.get("/v1/technologies", params={"q": "氮化硼"})
    assert [t["id"] for t in new.json()["items"]] == [ids[1]]
    old = await client.get("/v1/technologies", params={"q": "旧标题"})
    assert old.json()["items"] == []
    entries = (
        await session.scalars(
            select(CatalogHistory).where(
                CatalogHistory.item_id.in_([one.id, two.id, three.id]),
                CatalogHistory.version == 2,
            )
        )
    ).all()
    assert sorted((e.changes for e in entries), key=str) == sorted(
        [
            {"trl": [2, 9]},
            {"title": ["旧标题金刚石", "新标题氮化硼"]},
            {"status": ["draft", "published"]},
        ],
        key=str,
    )


async def test_an_item_created_meanwhile_is_a_conflict(
    client: AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request creates the same external_id between this one's lookup and insert:
    the database's unique constraint stops it, and nothing of the batch is written."""
    owner = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=owner)
    await client.post(URL, json={"items": [_item(1)]}, headers=key.headers)
    history_before = await _history(session)

    async def nothing_found(*_args: object) -> dict[str, object]:
        return {}

    monkeypatch.setattr(catalog_service, "_existing_items", nothing_found)
    response = await client.post(URL, json={"items": [_item(2), _item(1)]}, headers=key.headers)
    assert response.status_code == 409
    assert response.json()["code"] == "import_conflict"
    assert [r.external_id for r in await _rows(session, owner.id)] == ["ZZU-TECH-000001"]
    assert await _history(session) == history_before


@pytest.mark.parametrize(
    ("item_schema", "spec"),
    [
        (TechnologyImportItem, technologies_service.SPEC),
        (TalentImportItem, talents_service.SPEC),
        (IPAssetImportItem, ip_assets_service.SPEC),
    ],
)
def test_imports_write_every_column(item_schema: type[BaseModel], spec: Any) -> None:
    """Imports insert rows as plain values (no ORM defaults): an import item carries every
    content column, and the import itself the others."""
    written_by_import = {
        "id",
        "owner_id",
        "status",
        "version",
        "created_at",
        "updated_at",
        "published_at",
        "withdrawn_at",
        "search_title",
        "search_body",
    }
    columns = {c.name for c in spec.model.__table__.columns if c.computed is None}
    assert columns - written_by_import == set(item_schema.model_fields) - {"status"}
    assert set(catalog_service._content_fields(spec)) == columns - written_by_import
