"""A demand's workflow through the API: every path, every illegal transition (409
illegal_transition, nothing written), the deadline-derived closed status, extending, history."""

import uuid
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.security import Scope
from app.models.catalog import CatalogHistory
from app.models.demands import Demand
from tests import builders
from tests.demands.conftest import Cast, demand_body, posted


def problem(response: Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


async def history(session: AsyncSession, demand_id: str) -> list[CatalogHistory]:
    rows = await session.scalars(
        select(CatalogHistory)
        .where(CatalogHistory.item_id == uuid.UUID(demand_id))
        .order_by(CatalogHistory.created_at, CatalogHistory.id)
    )
    return list(rows)


async def act(
    client: AsyncClient,
    actor: builders.Actor,
    demand: dict[str, Any],
    action: str,
    body: Any = None,
) -> Response:
    return await client.post(
        f"/v1/demands/{demand['id']}/{action}", headers=actor.headers, json=body
    )


async def test_post_publish_and_read_back(client: AsyncClient, cast: Cast) -> None:
    created = await client.post("/v1/demands", headers=cast.owner.headers, json=demand_body())
    assert created.status_code == 201, created.text
    draft = created.json()
    assert created.headers["Location"] == f"/v1/demands/{draft['id']}"
    assert draft["status"] == "draft"
    assert draft["owner_id"] == str(cast.owner.organization.id)  # type: ignore[union-attr]
    assert (draft["budget_min"], draft["budget_max"], draft["currency"]) == (
        "300000.00",
        "800000.00",
        "CNY",
    )
    assert draft["attachments"] == [{"name": "技术要求", "url": "https://files.example.cn/req.pdf"}]
    assert draft["published_at"] is None

    opened = await act(client, cast.owner, draft, "publish")
    assert opened.status_code == 200, opened.text
    assert opened.json()["status"] == "open"
    assert opened.json()["published_at"] is not None
    assert opened.json()["version"] == draft["version"] + 1


async def test_every_kind_can_be_posted_and_a_challenge_states_its_reward(
    client: AsyncClient, cast: Cast
) -> None:
    for kind in ("technology", "financing", "talent", "service"):
        demand = await posted(client, cast.owner, kind=kind, publish=False)
        assert demand["kind"] == kind
    challenge = await posted(
        client,
        cast.owner,
        kind="challenge",
        reward="2000000.00",
        requirements="具备盾构装备研发经验",
        publish=False,
    )
    assert (challenge["reward"], challenge["requirements"]) == (
        "2000000.00",
        "具备盾构装备研发经验",
    )

    no_reward = await client.post(
        "/v1/demands", headers=cast.owner.headers, json=demand_body(kind="challenge")
    )
    problem(no_reward, 422, "invalid_item")
    assert no_reward.json()["errors"][0]["type"] == "reward_required"
    reward_elsewhere = await client.post(
        "/v1/demands", headers=cast.owner.headers, json=demand_body(reward="1.00")
    )
    problem(reward_elsewhere, 422, "validation_error")


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"deadline": "2020-01-01T00:00:00Z"}, "invalid_item"),
        ({"deadline": "2030-01-01T00:00:00"}, "validation_error"),  # no offset
        ({"budget_min": "9.00", "budget_max": "1.00"}, "validation_error"),
        ({"budget_max": 800000}, "validation_error"),  # money is never a number
        ({"kind": "lottery"}, "validation_error"),
        ({"attachments": [{"name": "x", "url": "ftp://example.cn/x"}]}, "validation_error"),
    ],
)
async def test_bad_demands_are_422_and_write_nothing(
    client: AsyncClient, session: AsyncSession, cast: Cast, overrides: dict[str, Any], code: str
) -> None:
    refused = await client.post(
        "/v1/demands", headers=cast.owner.headers, json=demand_body(**overrides)
    )
    problem(refused, 422, code)
    assert await session.scalar(select(func.count()).select_from(Demand)) == 0


async def test_only_enterprises_post_and_only_with_the_scope(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    by_university = await client.post(
        "/v1/demands", headers=cast.provider.headers, json=demand_body()
    )
    problem(by_university, 422, "wrong_owner_kind")
    anonymous = await client.post("/v1/demands", json=demand_body())
    assert anonymous.status_code == 401
    org = cast.owner.organization
    assert org is not None
    catalog_key = await builders.api_key_actor(session, organization=org)  # catalog:write only
    problem(
        await client.post("/v1/demands", headers=catalog_key.headers, json=demand_body()),
        403,
        "missing_scope",
    )
    demand_key = await builders.api_key_actor(
        session, organization=org, scopes=[Scope.demands_write]
    )
    by_key = await client.post("/v1/demands", headers=demand_key.headers, json=demand_body())
    assert by_key.status_code == 201, by_key.text
    assert by_key.json()["owner_id"] == str(org.id)


async def test_a_draft_changes_and_an_open_demand_does_not(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    draft = await posted(client, cast.owner, publish=False)
    path = f"/v1/demands/{draft['id']}"
    changed = await client.patch(
        path, headers=cast.owner.headers, json={"title": "盾构刀盘磨损监测与换刀决策"}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "盾构刀盘磨损监测与换刀决策"
    stale = await client.patch(
        path,
        headers={**cast.owner.headers, "If-Match": f'"{draft["version"]}"'},
        json={"field": "智能装备"},
    )
    problem(stale, 412, "stale_etag")
    not_mine = await client.patch(path, headers=cast.other_enterprise.headers, json={"field": "x"})
    problem(not_mine, 404, "not_found")  # a draft does not exist for others

    opened = await act(client, cast.owner, draft, "publish")
    assert opened.status_code == 200
    frozen = await client.patch(path, headers=cast.owner.headers, json={"title": "改个标题"})
    problem(frozen, 409, "demand_not_editable")
    await session.rollback()
    assert (await session.get(Demand, uuid.UUID(draft["id"]))).title == "盾构刀盘磨损监测与换刀决策"  # type: ignore[union-attr]


async def test_publishing_needs_a_deadline_still_ahead(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    draft = await posted(
        client, cast.owner, publish=False, deadline=(utcnow() + timedelta(seconds=30)).isoformat()
    )
    demand = await session.get(Demand, uuid.UUID(draft["id"]))
    assert demand is not None
    await builders.pass_deadline(session, demand)
    problem(await act(client, cast.owner, draft, "publish"), 422, "deadline_passed")
    assert (await client.get(f"/v1/demands/{draft['id']}", headers=cast.owner.headers)).json()[
        "status"
    ] == "draft"  # a draft is never derived closed


async def test_the_deadline_closes_a_demand_with_no_job(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    opened = await posted(client, cast.owner)
    path = f"/v1/demands/{opened['id']}"
    first = await client.get(path)
    assert first.json()["status"] == "open"
    demand = await session.get(Demand, uuid.UUID(opened["id"]))
    assert demand is not None
    await builders.pass_deadline(session, demand)

    later = await client.get(path)
    assert later.json()["status"] == "closed"
    assert later.json()["version"] == first.json()["version"]  # nothing was written
    assert later.headers["ETag"] != first.headers["ETag"]  # yet a cached copy is not reused
    revalidated = await client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 200
    assert demand.status.value == "open"  # what is stored: closed is derived

    # lists and filters read the same status
    listed = await client.get("/v1/demands", params={"status": "closed"})
    assert [d["id"] for d in listed.json()["items"]] == [opened["id"]]
    assert (await client.get("/v1/demands")).json()["items"] == []  # default: open ones
    faceted = await client.get(
        "/v1/demands", params={"status": ["open", "closed"], "facets": "status"}
    )
    assert faceted.json()["facets"]["status"] == [{"value": "closed", "count": 1}]


async def test_extend_only_later_and_only_while_open(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    opened = await posted(client, cast.owner)
    deadline = opened["deadline"]
    earlier = (utcnow() + timedelta(minutes=5)).isoformat()
    later = (utcnow() + timedelta(days=3)).isoformat()
    problem(
        await act(client, cast.owner, opened, "extend", {"deadline": earlier}),
        422,
        "deadline_not_later",
    )
    problem(
        await act(client, cast.other_enterprise, opened, "extend", {"deadline": later}),
        403,
        "not_owner",
    )
    extended = await act(client, cast.owner, opened, "extend", {"deadline": later})
    assert extended.status_code == 200, extended.text
    assert extended.json()["deadline"] != deadline

    entries = (
        await client.get(f"/v1/demands/{opened['id']}/history", headers=cast.owner.headers)
    ).json()["items"]
    assert [e["action"] for e in entries] == ["create", "publish", "extend"]
    old, new = entries[-1]["changes"]["deadline"]
    assert old.startswith(deadline[:19])
    assert new > old

    demand = await session.get(Demand, uuid.UUID(opened["id"]))
    assert demand is not None
    await builders.pass_deadline(session, demand)
    problem(
        await act(
            client,
            cast.owner,
            opened,
            "extend",
            {"deadline": (utcnow() + timedelta(days=9)).isoformat()},
        ),
        409,
        "illegal_transition",
    )


async def test_cancel_from_draft_or_open_with_a_reason(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    draft = await posted(client, cast.owner, publish=False)
    problem(await act(client, cast.owner, draft, "cancel", {}), 422, "validation_error")
    cancelled = await act(client, cast.owner, draft, "cancel", {"reason": "预算调整"})
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["cancel_reason"]) == (
        "cancelled",
        "预算调整",
    )
    # a draft that never opened stays private once cancelled
    assert (await client.get(f"/v1/demands/{draft['id']}")).status_code == 404

    opened = await posted(client, cast.owner)
    assert (
        await act(client, cast.owner, opened, "cancel", {"reason": "已内部解决"})
    ).status_code == 200
    public = await client.get(f"/v1/demands/{opened['id']}")
    assert public.json()["status"] == "cancelled"

    for action, body in (
        ("cancel", {"reason": "again"}),
        ("publish", None),
        ("extend", {"deadline": (utcnow() + timedelta(days=9)).isoformat()}),
        ("close-unsuccessful", None),
    ):
        before = await session.scalar(select(func.count()).select_from(CatalogHistory))
        problem(await act(client, cast.owner, opened, action, body), 409, "illegal_transition")
        assert await session.scalar(select(func.count()).select_from(CatalogHistory)) == before


async def test_close_unsuccessful_only_once_closed(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    opened = await posted(client, cast.owner)
    problem(await act(client, cast.owner, opened, "close-unsuccessful"), 409, "illegal_transition")
    demand = await session.get(Demand, uuid.UUID(opened["id"]))
    assert demand is not None
    await builders.pass_deadline(session, demand)
    problem(
        await act(client, cast.owner, opened, "cancel", {"reason": "too late"}),
        409,
        "illegal_transition",
    )
    problem(await act(client, cast.provider, opened, "close-unsuccessful"), 403, "not_owner")
    ended = await act(client, cast.owner, opened, "close-unsuccessful", {"reason": "无合适方案"})
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "unsuccessful"
    assert ended.json()["decided_at"] is not None
    problem(await act(client, cast.owner, opened, "close-unsuccessful"), 409, "illegal_transition")
    actions = [e.action.value for e in await history(session, opened["id"])]
    assert actions == ["create", "publish", "close_unsuccessful"]


async def test_operators_hide_and_unhide_with_a_reason_in_history(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    opened = await posted(client, cast.owner)
    path = f"/v1/demands/{opened['id']}"
    problem(await act(client, cast.owner, opened, "hide", {"reason": "x"}), 403, "forbidden_role")
    hidden = await act(
        client, cast.operator, opened, "hide", {"reason": "含联系方式, 违反发布规则"}
    )
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["hidden_reason"] == "含联系方式, 违反发布规则"
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=cast.provider.headers)).status_code == 404
    assert (await client.get(path, headers=cast.owner.headers)).status_code == 200
    assert (await client.get(path, headers=cast.auditor.headers)).status_code == 200
    assert (await client.get("/v1/demands")).json()["items"] == []
    problem(
        await act(client, cast.operator, opened, "hide", {"reason": "again"}),
        409,
        "illegal_transition",
    )

    shown = await act(client, cast.operator, opened, "unhide")
    assert shown.status_code == 200, shown.text
    assert (await client.get(path)).status_code == 200
    entries = await history(session, opened["id"])
    assert [e.action.value for e in entries][-2:] == ["hide", "unhide"]
    assert entries[-2].changes["hidden_reason"] == [None, "含联系方式, 违反发布规则"]
