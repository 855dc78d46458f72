"""Subscriptions through HTTP: saved queries validated with nothing written on bad input,
secrets shown once, who may see and change them, and the events they record, written in the
transaction of the change that caused them."""

import asyncio
import time

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.db import Database
from app.core.security import Scope
from app.models.catalog import HistoryAction
from app.models.subscriptions import Event, OutboxEntry, Subscription
from app.services import catalog as catalog_service
from app.services import deliveries
from app.services import technologies as technologies_service
from tests import builders
from tests.conftest import make_settings
from tests.subscriptions.conftest import Partners, events_of, subscribe

TECH = {
    "title": "高安全锂电池固态电解质",
    "summary": "硫化物固态电解质, 新能源汽车动力电池。",
    "field": "新能源",
    "trl": 7,
    "tags": ["电池"],
    "external_id": None,
}


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_subscription_shows_its_secret_once(
    client: AsyncClient, session: AsyncSession, partners: Partners
) -> None:
    created = await subscribe(
        client, partners.member, q="锂电池", filters={"field": ["新能源"], "trl": [6, 7, "8"]}
    )
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "active"
    assert created["filters"] == {"field": ["新能源"], "trl": [6, 7, "8"]}
    read = await client.get(f"/v1/subscriptions/{created['id']}", headers=partners.member.headers)
    assert read.status_code == 200
    assert "secret" not in read.json()
    listed = await client.get("/v1/subscriptions", headers=partners.member.headers)
    assert [s["id"] for s in listed.json()["items"]] == [created["id"]]
    assert "secret" not in listed.json()["items"][0]


@pytest.mark.parametrize(
    ("body", "code", "where"),
    [
        ({"filters": {"colour": ["red"]}}, "validation_error", ["body", "filters", "colour"]),
        ({"filters": {"trl": ["high"]}}, "validation_error", ["body", "filters", "trl"]),
        ({"filters": {"status": ["draft"]}}, "validation_error", ["body", "filters", "status"]),
        ({"q": "!!!"}, "empty_query", ["body", "q"]),
        ({"catalog": "deals"}, "validation_error", ["body", "catalog"]),
        ({"url": "ftp://example.com/hook"}, "webhook_target_refused", None),
        ({"url": "http://user:pw@example.com/hook"}, "webhook_target_refused", None),
    ],
)
async def test_bad_input_is_a_422_and_writes_nothing(
    client: AsyncClient,
    session: AsyncSession,
    partners: Partners,
    body: dict[str, object],
    code: str,
    where: list[str] | None,
) -> None:
    sent = {"name": "watch", "catalog": "technologies", **body}
    answer = await client.post("/v1/subscriptions", json=sent, headers=partners.member.headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code
    if where is not None:
        assert where in [error["loc"] for error in answer.json()["errors"]]
    assert await _count(session, Subscription) == 0


async def test_production_refuses_targets_inside_the_network(
    database_url: str, db: Database, partners: Partners
) -> None:
    from httpx import ASGITransport

    from app.main import create_app

    production = make_settings(database_url, env="production", webhook_worker=False)
    app = create_app(production, database=db)
    headers = partners.member.headers
    # the production app signs its own tokens with the same secret key
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        for url in (
            "http://example.com/hook",
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://localhost/hook",
        ):
            body = {"name": "w", "catalog": "technologies", "url": url}
            answer = await client.post("/v1/subscriptions", json=body, headers=headers)
            assert answer.status_code == 422, (url, answer.text)
            assert answer.json()["code"] == "webhook_target_refused", url


async def test_only_its_organization_sees_and_changes_it(
    client: AsyncClient, session: AsyncSession, partners: Partners
) -> None:
    created = await subscribe(client, partners.member)
    path = f"/v1/subscriptions/{created['id']}"
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "mine"}} if method == "PATCH" else {}
        answer = await client.request(method, path, headers=partners.other.headers, **kwargs)
        assert answer.status_code == 404, (method, answer.text)
    assert (await client.get("/v1/subscriptions", headers=partners.other.headers)).json()[
        "items"
    ] == []
    operator = await client.get(path, headers=partners.operator.headers)
    assert operator.status_code == 200
    assert (await client.get(path)).status_code == 401


async def test_an_api_key_needs_the_subscriptions_scope(
    client: AsyncClient, session: AsyncSession, partners: Partners
) -> None:
    without = await builders.api_key_actor(session, organization=partners.org)
    body = {"name": "w", "catalog": "technologies"}
    refused = await client.post("/v1/subscriptions", json=body, headers=without.headers)
    assert refused.status_code == 403
    assert refused.json()["code"] == "missing_scope"
    assert (await client.get("/v1/events", headers=without.headers)).status_code == 403
    with_scope = await builders.api_key_actor(
        session, organization=partners.org, scopes=[Scope.subscriptions_write]
    )
    accepted = await client.post("/v1/subscriptions", json=body, headers=with_scope.headers)
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["organization_id"] == str(partners.org.id)


async def test_publishing_a_matching_item_records_an_event(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners
) -> None:
    battery = await subscribe(client, partners.member, q="固态电解质", filters={"trl": [7, 8]})
    low_trl = await subscribe(client, partners.member, q="固态电解质", filters={"trl": [3]})
    other_words = await subscribe(client, partners.member, q="盾构刀盘")
    by_field = await subscribe(client, partners.member, filters={"field": ["新能源"]})
    tagged = await subscribe(client, partners.member, filters={"tags": ["电池"]})
    owner = partners.enterprise.organization
    assert owner is not None
    draft = await builders.published_item(session, technologies_service.SPEC, owner, TECH)
    for subscription in (battery, by_field, tagged):
        (event,) = await events_of(db, session, subscription["id"])
        assert event.type == "technology.published"
        assert event.data["item"]["id"] == str(draft.id)
        assert event.data["item"]["title"] == TECH["title"]
        assert event.organization_id == partners.org.id
    for subscription in (low_trl, other_words):
        assert await events_of(db, session, subscription["id"]) == []


async def test_a_draft_tells_nobody_and_an_update_of_a_published_item_does(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners
) -> None:
    subscription = await subscribe(client, partners.member, q="钙钛矿")
    item = await client.post(
        "/v1/technologies",
        json={"title": "钙钛矿叠层光伏组件", "trl": 5},
        headers=partners.member.headers,
    )
    assert item.status_code == 201, item.text
    assert await events_of(db, session, subscription["id"]) == []
    path = f"/v1/technologies/{item.json()['id']}"
    published = await client.post(f"{path}/publish", headers=partners.member.headers)
    assert published.status_code == 200, published.text
    changed = await client.patch(
        path,
        json={"summary": "效率 30%"},
        headers={**partners.member.headers, "If-Match": published.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    types = [event.type for event in await events_of(db, session, subscription["id"])]
    assert types == ["technology.published", "technology.updated"]


async def test_a_rolled_back_change_records_no_event(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners
) -> None:
    subscription = await subscribe(client, partners.member, q="固态电解质")
    owner = partners.enterprise.organization
    assert owner is not None
    operator = builders.principal()
    spec = technologies_service.SPEC

    async def publish_then_fail() -> None:
        async with db.unit_of_work(write=True) as work:
            item = await catalog_service.create_item(
                work, spec, principal=operator, values=TECH, owner_id=owner.id
            )
            await catalog_service.transition_item(
                work, spec, principal=operator, item_id=item.id, action=HistoryAction.publish
            )
            await work.flush()
            assert await work.scalar(select(func.count()).select_from(OutboxEntry)) == 1
            raise RuntimeError("a failure after the publication")

    with pytest.raises(RuntimeError, match="after the publication"):
        await publish_then_fail()
    assert await _count(session, OutboxEntry) == 0
    assert await events_of(db, session, subscription["id"]) == []


async def test_imports_record_events_for_what_they_publish(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners
) -> None:
    subscription = await subscribe(client, partners.member, q="超硬材料")
    key = await builders.api_key_actor(session, organization=partners.org)
    items = [
        {
            "external_id": f"ZZU-{n}",
            "title": f"超硬材料磨具 {n}",
            "trl": 5,
            "field": "材料",
            "status": "published" if n % 2 else "draft",
        }
        for n in range(6)
    ]
    first = await client.post(
        "/v1/imports/technologies", json={"items": items}, headers=key.headers
    )
    assert first.status_code == 200, first.text
    events = await events_of(db, session, subscription["id"])
    assert sorted(e.data["item"]["title"] for e in events) == [
        "超硬材料磨具 1",
        "超硬材料磨具 3",
        "超硬材料磨具 5",
    ]
    assert {e.type for e in events} == {"technology.published"}
    items[0]["status"] = "published"
    items[1]["trl"] = 6
    again = await client.post(
        "/v1/imports/technologies", json={"items": items}, headers=key.headers
    )
    assert again.status_code == 200, again.text
    later = (await events_of(db, session, subscription["id"]))[3:]
    assert sorted((e.type, e.data["item"]["title"]) for e in later) == [
        ("technology.published", "超硬材料磨具 0"),
        ("technology.updated", "超硬材料磨具 1"),
    ]


async def test_a_demand_opening_tells_subscribers_it_is_shown_to(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners
) -> None:
    mine = await subscribe(
        client, partners.member, catalog="demands", q="刀盘", filters={"kind": ["technology"]}
    )
    theirs = await subscribe(client, partners.other, catalog="demands", q="刀盘")
    financing = await subscribe(
        client, partners.member, catalog="demands", filters={"kind": ["financing"]}
    )
    owner = partners.enterprise.organization
    assert owner is not None
    public = await builders.open_demand(session, owner)
    for subscription in (mine, theirs):
        (event,) = await events_of(db, session, subscription["id"])
        assert event.type == "demand.opened"
        assert event.data["item"]["id"] == str(public.id)
    assert await events_of(db, session, financing["id"]) == []
    draft = await builders.open_demand(session, owner, invited_only=True, publish=False)
    invite = await client.post(
        f"/v1/demands/{draft.id}/invitations",
        json={"organization_id": str(partners.org.id)},
        headers=partners.enterprise.headers,
    )
    assert invite.status_code == 201, invite.text
    from app.services import demands as demands_service

    await demands_service.publish_demand(
        session, principal=builders.principal(), demand_id=draft.id, if_match=None
    )
    await session.commit()
    assert [e.data["item"]["id"] for e in await events_of(db, session, mine["id"])][-1] == str(
        draft.id
    )
    assert len(await events_of(db, session, theirs["id"])) == 1  # not invited: not told


async def test_a_deleted_or_disabled_subscription_records_nothing(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners
) -> None:
    deleted = await subscribe(client, partners.member, q="固态电解质")
    paused = await subscribe(client, partners.member, q="固态电解质")
    headers = partners.member.headers
    assert (
        await client.delete(f"/v1/subscriptions/{deleted['id']}", headers=headers)
    ).status_code == 204
    off = await client.patch(
        f"/v1/subscriptions/{paused['id']}", json={"enabled": False}, headers=headers
    )
    assert off.json()["status"] == "disabled"
    assert off.json()["disabled_reason"].startswith("paused by")
    owner = partners.enterprise.organization
    assert owner is not None
    await builders.published_item(session, technologies_service.SPEC, owner, TECH)
    assert await events_of(db, session, deleted["id"]) == []
    assert await events_of(db, session, paused["id"]) == []
    assert (
        await client.get(f"/v1/subscriptions/{deleted['id']}", headers=headers)
    ).status_code == 404
    on = await client.patch(
        f"/v1/subscriptions/{paused['id']}", json={"enabled": True}, headers=headers
    )
    assert on.json()["status"] == "active"
    assert on.json()["disabled_reason"] is None
    await builders.published_item(
        session, technologies_service.SPEC, owner, {**TECH, "title": "固态电解质膜"}
    )
    assert len(await events_of(db, session, paused["id"])) == 1


async def _feed(client: AsyncClient, headers: dict[str, str], **params: object) -> Response:
    """The events feed, read again for a while until it shows something: on PostgreSQL it
    holds back events while any transaction older than them runs in the cluster (another
    database's tests included), as a polling partner would see."""
    deadline = time.monotonic() + 15
    while True:
        answer = await client.get("/v1/events", params=params, headers=headers)
        if answer.json().get("items") or time.monotonic() > deadline:
            return answer
        await asyncio.sleep(0.2)


async def test_the_events_feed_reads_in_order_from_a_cursor(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners
) -> None:
    await subscribe(client, partners.member, filters={"field": ["新能源"]})
    owner = partners.enterprise.organization
    assert owner is not None
    titles = [f"新能源技术 {n}" for n in range(5)]
    for title in titles:
        await builders.published_item(
            session, technologies_service.SPEC, owner, {**TECH, "title": title}
        )
    await deliveries.expand_outbox(db)  # as a worker does
    headers = partners.member.headers
    first = await _feed(client, headers, limit=3)
    assert first.status_code == 200, first.text
    second = await client.get(
        "/v1/events", params={"after": first.json()["next_cursor"]}, headers=headers
    )
    seen = [e["data"]["item"]["title"] for e in first.json()["items"] + second.json()["items"]]
    assert seen == titles
    assert second.json()["items"][0]["type"] == "technology.published"
    assert second.json()["items"][0]["state"] == "feed"
    empty = await client.get(
        "/v1/events", params={"after": second.json()["next_cursor"]}, headers=headers
    )
    assert empty.json()["items"] == []
    assert empty.json()["next_cursor"] == second.json()["next_cursor"]
    await builders.published_item(
        session, technologies_service.SPEC, owner, {**TECH, "title": "新能源技术 5"}
    )
    await deliveries.expand_outbox(db)
    more = await _feed(client, headers, after=empty.json()["next_cursor"])
    assert [e["data"]["item"]["title"] for e in more.json()["items"]] == ["新能源技术 5"]
    other = await client.get("/v1/events", headers=partners.other.headers)
    assert other.json()["items"] == []
    bad = await client.get("/v1/events", params={"after": "nonsense"}, headers=headers)
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_cursor"


async def test_many_subscriptions_each_get_exactly_their_matches(
    client: AsyncClient, session: AsyncSession, db: Database, partners: Partners
) -> None:
    """The keyed lookup finds what a scan of every saved query would, no more, no less."""
    from app.services import subscriptions as subscriptions_service

    words = ["锂电池", "固态", "电解质", "光伏", "刀盘", "涂层", "芯片", "传感器"]
    fields = ["新能源", "材料", "装备"]
    made: list[tuple[str, str | None, dict[str, list[object]]]] = []
    for n in range(40):
        q = words[n % len(words)] if n % 4 else None
        chosen: dict[str, list[object]] = {}
        if n % 3 == 0:
            chosen["field"] = [fields[n % len(fields)]]
        if n % 5 == 0:
            chosen["trl"] = [7]
        created = (
            await subscribe(client, partners.member, q=q, filters=chosen)
            if q
            else await subscribe(client, partners.member, filters=chosen)
        )
        made.append((created["id"], q, chosen))
    owner = partners.enterprise.organization
    assert owner is not None
    item = await builders.published_item(session, technologies_service.SPEC, owner, TECH)
    title, body = item.search_title.split(), item.search_body.split()

    def side_by_side(tokens: list[str], phrase: tuple[str, ...]) -> bool:
        width = len(phrase)
        return any(tuple(tokens[i : i + width]) == phrase for i in range(len(tokens)))

    expected = set()
    for subscription_id, q, chosen in made:  # every saved query, tested the slow way
        terms = subscriptions_service.compile_terms(q)
        condition = subscriptions_service.compile_filters(technologies_service.SPEC, chosen)
        text = all(side_by_side(title, t.tokens) or side_by_side(body, t.tokens) for t in terms)
        if text and filters.matches(condition, item):
            expected.add(subscription_id)
    await deliveries.expand_outbox(db)
    recorded = {str(e.subscription_id) for e in await session.scalars(select(Event))}
    assert recorded == expected
    assert 5 < len(expected) < 40


async def test_a_change_is_checked_as_a_new_subscription_is(
    client: AsyncClient, session: AsyncSession, partners: Partners
) -> None:
    created = await subscribe(client, partners.member, q="锂电池")
    path = f"/v1/subscriptions/{created['id']}"
    headers = partners.member.headers
    for body in ({"name": None}, {"filters": None}, {"filters": {"trl": ["x"]}}, {"q": "。"}):
        refused = await client.patch(path, json=body, headers=headers)
        assert refused.status_code == 422, (body, refused.text)
    changed = await client.patch(
        path, json={"q": "固态电池", "filters": {"trl": [7]}}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["q"] == "固态电池"
    assert changed.json()["filters"] == {"trl": [7]}
    assert changed.json()["name"] == "watch"
