"""Search: a fixed relevance suite that must give the same answers on SQLite and PostgreSQL,
plus filters, facets, orders and cross-catalog hits."""

from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.orgs import OrganizationKind
from app.services import policies as policies_service
from app.services import technologies as technologies_service
from tests import builders

CORPUS = {
    "T1": {
        "title": "盾构机刀盘磨损在线监测装置",
        "summary": "用于隧道掘进的 TBM 刀具状态评估",
        "field": "盾构装备",
        "trl": 6,
        "transfer_modes": ["license"],
        "price_min": 50_000_000,
        "price_max": 80_000_000,
    },
    "T2": {
        "title": "超硬材料砂轮及其制备方法",
        "summary": "金刚石磨料, 用于盾构刀具修磨",
        "field": "超硬材料",
        "trl": 4,
        "transfer_modes": ["assignment"],
        "price_min": 10_000_000,
        "price_max": 20_000_000,
    },
    "T3": {
        "title": "集成电路封装用导热胶",
        "summary": "芯片封装, 5G 基站功放模块散热",
        "field": "集成电路",
        "trl": 7,
        "transfer_modes": ["license", "equity"],
        "price_min": None,
        "price_max": None,
    },
    "T4": {
        "title": "5G 基站天线振子的注塑工艺",
        "summary": "通信设备天线",
        "field": "电子信息",
        "trl": 8,
        "transfer_modes": ["joint_development"],
        "price_min": 30_000_000,
        "price_max": None,
    },
    "T5": {
        "title": "Grinding wheel for Diamond tools",
        "summary": "superhard abrasive 磨具",
        "field": "超硬材料",
        "trl": 5,
        "transfer_modes": [],
        "price_min": None,
        "price_max": 5_000_000,
    },
    "T6": {
        "title": "生物医药冷链监测系统",
        "summary": "疫苗运输温度监测",
        "field": "生物医药",
        "trl": 9,
        "transfer_modes": ["license"],
        "price_min": None,
        "price_max": None,
    },
    "T7": {
        "title": "盾构管片拼装机器人",
        "summary": "盾构隧道管片自动拼装",
        "field": "盾构装备",
        "trl": 5,
        "transfer_modes": ["license"],
        "price_min": 100_000_000,
        "price_max": 150_000_000,
    },
}

# query → ids in the order both backends must give (title matches above body matches, then
# more matches above fewer, ties newest first)
RELEVANCE_SUITE: list[tuple[str, list[str]]] = [
    ("盾构", ["T7", "T1", "T2"]),
    ("刀盘磨损", ["T1"]),
    ("磨损刀盘", []),
    ("5G 基站", ["T4", "T3"]),
    ("5g", ["T4", "T3"]),
    ("grinding", ["T5"]),
    ("GRINDING Wheel", ["T5"]),
    ("ＴＢＭ 刀盘", ["T1"]),
    ("金刚石", ["T2"]),
    ("冷链", ["T6"]),
    ("盾构 芯片", []),
    ("superhard 磨具", ["T5"]),
]


@pytest.fixture
async def corpus(session: AsyncSession) -> dict[str, str]:
    """The technologies above, published in order T1…T7, by one university."""
    owner = await builders.create_organization(session)
    ids = {}
    for key, values in CORPUS.items():
        item = await builders.published_item(
            session, technologies_service.SPEC, owner, {**values, "tags": [], "external_id": key}
        )
        ids[key] = str(item.id)
    return ids


def _keys(response: Any, ids: dict[str, str]) -> list[str]:
    assert response.status_code == 200, response.text
    by_id = {v: k for k, v in ids.items()}
    return [by_id.get(item["id"], "?") for item in response.json()["items"]]


@pytest.mark.parametrize(("q", "expected"), RELEVANCE_SUITE, ids=[q for q, _ in RELEVANCE_SUITE])
async def test_relevance_suite(
    client: AsyncClient, corpus: dict[str, str], q: str, expected: list[str]
) -> None:
    response = await client.get("/v1/technologies", params={"q": q})
    assert _keys(response, corpus) == expected


async def test_one_character_queries_find_results(
    client: AsyncClient, corpus: dict[str, str]
) -> None:
    # 盾 begins a bigram in T1, T2 and T7; 置 only ends T1's title (kept as a unigram).
    assert set(_keys(await client.get("/v1/technologies", params={"q": "盾"}), corpus)) == {
        "T1",
        "T2",
        "T7",
    }
    assert _keys(await client.get("/v1/technologies", params={"q": "置"}), corpus) == ["T1"]


async def test_relevance_pages_follow_the_same_order(
    client: AsyncClient, corpus: dict[str, str]
) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"q": "盾构", "limit": 1}
    while True:
        response = await client.get("/v1/technologies", params=params)
        seen += _keys(response, corpus)
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
        params["cursor"] = cursor
    assert seen == ["T7", "T1", "T2"]


async def test_other_orders_with_a_query(client: AsyncClient, corpus: dict[str, str]) -> None:
    newest = await client.get("/v1/technologies", params={"q": "盾构", "sort": "newest"})
    assert _keys(newest, corpus) == ["T7", "T2", "T1"]
    oldest = await client.get(
        "/v1/technologies", params={"q": "盾构", "sort": "oldest", "limit": 2}
    )
    assert _keys(oldest, corpus) == ["T1", "T2"]
    rest = await client.get(
        "/v1/technologies",
        params={"q": "盾构", "sort": "oldest", "limit": 2, "cursor": oldest.json()["next_cursor"]},
    )
    assert _keys(rest, corpus) == ["T7"]
    bad = await client.get("/v1/technologies", params={"q": "盾构", "sort": "price"})
    assert bad.status_code == 422


async def test_filters_combine_with_text(client: AsyncClient, corpus: dict[str, str]) -> None:
    def get(**params: Any) -> Any:
        return client.get("/v1/technologies", params=params)

    assert _keys(await get(q="盾构", trl_min=6), corpus) == ["T1"]
    assert set(_keys(await get(field=["超硬材料", "生物医药"]), corpus)) == {"T2", "T5", "T6"}
    assert set(_keys(await get(transfer_mode="license"), corpus)) == {"T1", "T3", "T6", "T7"}
    # asking-price ranges that overlap 0.6–1.2 million yuan (open ends count as overlapping)
    overlapping = set(_keys(await get(price_min="600000.00", price_max="1200000.00"), corpus))
    assert overlapping == {"T1", "T3", "T4", "T6", "T7"}
    assert (await get(price_min="6e5")).status_code == 422  # money is a plain decimal
    assert (await get(price_min="1.234")).status_code == 422
    assert (await get(trl_min=0)).status_code == 422


async def test_facets_count_the_whole_filtered_set(
    client: AsyncClient, corpus: dict[str, str]
) -> None:
    response = await client.get(
        "/v1/technologies", params={"q": "盾构", "facets": "field,trl", "limit": 1}
    )
    facets = response.json()["facets"]
    assert facets["field"] == [{"value": "盾构装备", "count": 2}, {"value": "超硬材料", "count": 1}]
    assert sorted((f["value"], f["count"]) for f in facets["trl"]) == [(4, 1), (5, 1), (6, 1)]
    everything = await client.get("/v1/technologies", params={"facets": "field"})
    assert sum(f["count"] for f in everything.json()["facets"]["field"]) == 7
    assert (await client.get("/v1/technologies", params={"facets": "summary"})).status_code == 422
    assert "facets" not in (await client.get("/v1/technologies")).json() or (
        (await client.get("/v1/technologies")).json()["facets"] is None
    )


async def test_queries_with_nothing_to_search_are_422(client: AsyncClient) -> None:
    response = await client.get("/v1/technologies", params={"q": "，。！"})
    assert response.status_code == 422
    assert response.json()["code"] == "empty_query"


async def test_quotes_and_operators_are_just_text(
    client: AsyncClient, corpus: dict[str, str]
) -> None:
    for q in ['"盾构', "盾构' OR 1=1", "NEAR(盾构)", "盾构*", "-盾构", "a:b & | !"]:
        response = await client.get("/v1/technologies", params={"q": q})
        assert response.status_code in (200, 422), (q, response.text)


async def test_search_across_catalogs(
    client: AsyncClient, session: AsyncSession, corpus: dict[str, str]
) -> None:
    zone = await builders.create_organization(session, kind=OrganizationKind.government)
    policy = await builders.published_item(
        session,
        policies_service.SPEC,
        zone,
        {
            "title": "关于支持盾构装备产业发展的意见",
            "issuing_authority": "郑州市人民政府",
            "level": "municipal",
            "issue_date": date(2020, 4, 1),
            "document_number": "郑政〔2020〕9号",
            "effective_date": None,
            "expiry_date": None,
            "category": "产业发展",
            "full_text": None,
            "tags": [],
            "external_id": None,
        },
    )

    response = await client.get("/v1/search", params={"q": "盾构"})
    assert response.status_code == 200
    hits = response.json()["items"]
    assert {(h["type"], h["item"]["id"]) for h in hits} >= {
        ("policies", str(policy.id)),
        ("technologies", corpus["T1"]),
        ("technologies", corpus["T7"]),
    }
    only = await client.get("/v1/search", params={"q": "盾构", "types": "policies"})
    assert [h["type"] for h in only.json()["items"]] == ["policies"]
    assert only.json()["items"][0]["item"]["document_number"] == "郑政〔2020〕9号"
    assert (
        await client.get("/v1/search", params={"q": "盾构", "types": "deals"})
    ).status_code == 422
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)  # best first, across the catalogs


async def test_highlights_mark_the_matched_terms_in_the_body(
    client: AsyncClient, corpus: dict[str, str]
) -> None:
    response = await client.get("/v1/technologies", params={"q": "盾构", "highlight": "true"})
    highlights = response.json()["highlights"]
    # T2 matches in its summary; T1 and T7 in their titles and bodies (field 盾构装备)
    assert highlights[corpus["T2"]] == "金刚石磨料, 用于<mark>盾构</mark>刀具修磨"
    assert highlights[corpus["T7"]] == "<mark>盾构</mark>隧道管片自动拼装"
    assert set(highlights) == {corpus["T1"], corpus["T2"], corpus["T7"]}
    plain = await client.get("/v1/technologies", params={"q": "盾构"})
    assert plain.json()["highlights"] is None
    title_only = await client.get(
        "/v1/technologies", params={"q": "Grinding wheel", "highlight": "true"}
    )
    assert title_only.json()["highlights"] == {}  # matched in the title alone
    hits = await client.get("/v1/search", params={"q": "金刚石", "highlight": "true"})
    (hit,) = hits.json()["items"]
    assert hit["highlight"] == "<mark>金刚石</mark>磨料, 用于盾构刀具修磨"
    assert hit["score"] > 0
