"""Who sees which demand and which budget, and demands through the catalog mechanism: Chinese
full text, typed filters, facets and cursors."""

import uuid
from datetime import timedelta

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.security import Scope
from app.models.demands import DemandInvitation
from tests import builders
from tests.demands.conftest import Cast, posted


async def test_drafts_are_for_their_owner_staff_and_auditors(
    client: AsyncClient, cast: Cast
) -> None:
    draft = await posted(client, cast.owner, publish=False)
    path = f"/v1/demands/{draft['id']}"
    for actor in (cast.owner, cast.operator, cast.auditor):
        assert (await client.get(path, headers=actor.headers)).status_code == 200
    for headers in ({}, cast.provider.headers, cast.other_enterprise.headers):
        assert (await client.get(path, headers=headers)).status_code == 404
    mine = await client.get("/v1/demands", params={"status": "draft"}, headers=cast.owner.headers)
    assert [d["id"] for d in mine.json()["items"]] == [draft["id"]]
    theirs = await client.get(
        "/v1/demands", params={"status": "draft"}, headers=cast.provider.headers
    )
    assert theirs.json()["items"] == []
    assert (await client.get(f"{path}/history", headers=cast.provider.headers)).status_code == 404


async def test_the_budget_shows_only_when_visible(client: AsyncClient, cast: Cast) -> None:
    hidden = await posted(client, cast.owner, budget_visible=False)
    shown = await posted(client, cast.owner, budget_visible=True, title="超硬材料刀具涂层")
    for actor_headers, sees in (
        ({}, False),
        (cast.provider.headers, False),
        (cast.owner.headers, True),
        (cast.operator.headers, True),
        (cast.auditor.headers, True),
    ):
        one = (await client.get(f"/v1/demands/{hidden['id']}", headers=actor_headers)).json()
        assert (one["budget_max"] == "800000.00") is sees, actor_headers
        assert (one["budget_min"] is None) is not sees
        other = (await client.get(f"/v1/demands/{shown['id']}", headers=actor_headers)).json()
        assert other["budget_max"] == "800000.00"
        listed = (await client.get("/v1/demands", headers=actor_headers)).json()["items"]
        by_id = {d["id"]: d for d in listed}
        assert (by_id[hidden["id"]]["budget_max"] is not None) is sees

    # filtering by budget cannot reveal a hidden one
    found = await client.get("/v1/demands", params={"budget_min": "700000.00"})
    assert [d["id"] for d in found.json()["items"]] == [shown["id"]]
    owner_found = await client.get(
        "/v1/demands", params={"budget_min": "700000.00"}, headers=cast.owner.headers
    )
    assert {d["id"] for d in owner_found.json()["items"]} == {hidden["id"], shown["id"]}
    # the redacted copy and the full one are different representations
    public = await client.get(f"/v1/demands/{hidden['id']}")
    owned = await client.get(f"/v1/demands/{hidden['id']}", headers=cast.owner.headers)
    assert public.headers["ETag"] != owned.headers["ETag"]


async def test_invited_only_demands_are_for_invited_organizations(
    client: AsyncClient, session: AsyncSession, cast: Cast
) -> None:
    demand = await posted(client, cast.owner, invited_only=True)
    path = f"/v1/demands/{demand['id']}"
    assert cast.provider.organization is not None
    session.add(
        DemandInvitation(
            demand_id=uuid.UUID(demand["id"]),
            organization_id=cast.provider.organization.id,
            invited_by="test",
        )
    )
    await session.commit()
    assert (await client.get(path, headers=cast.provider.headers)).status_code == 200
    for headers in ({}, cast.other_provider.headers, cast.other_enterprise.headers):
        assert (await client.get(path, headers=headers)).status_code == 404
        listed = await client.get("/v1/demands", headers=headers)
        assert listed.json()["items"] == []
    invited_list = await client.get("/v1/demands", headers=cast.provider.headers)
    assert [d["id"] for d in invited_list.json()["items"]] == [demand["id"]]
    # a key of an uninvited organization can neither see nor act on it
    assert cast.other_provider.organization is not None
    key = await builders.api_key_actor(
        session, organization=cast.other_provider.organization, scopes=[Scope.demands_write]
    )
    assert (await client.get(path, headers=key.headers)).status_code == 404
    for action, body in (("cancel", {"reason": "x"}), ("publish", None)):
        acted = await client.post(f"{path}/{action}", headers=key.headers, json=body)
        assert acted.status_code == 404
    patched = await client.patch(path, headers=key.headers, json={"title": "x"})
    assert patched.status_code == 404


async def test_search_filters_facets_and_cursors(client: AsyncClient, cast: Cast) -> None:
    soon = (utcnow() + timedelta(hours=1)).isoformat()
    late = (utcnow() + timedelta(days=20)).isoformat()
    shield = await posted(client, cast.owner, title="盾构刀盘磨损在线监测", deadline=soon)
    loan = await posted(
        client,
        cast.owner,
        kind="financing",
        title="科技型中小企业流动资金贷款需求",
        field="新材料",
        description="用于超硬材料产线扩产的流动资金。",
        tags=["流动资金"],
        deadline=late,
        budget_visible=True,
    )
    challenge = await posted(
        client,
        cast.other_enterprise,
        kind="challenge",
        title="揭榜挂帅: 盾构主轴承国产化",
        reward="5000000.00",
        requirements="具备大型轴承研制能力",
        deadline=late,
    )

    by_text = await client.get("/v1/demands", params={"q": "盾构"})
    assert {d["id"] for d in by_text.json()["items"]} == {shield["id"], challenge["id"]}
    by_body = await client.get("/v1/demands", params={"q": "超硬材料"})
    assert [d["id"] for d in by_body.json()["items"]] == [loan["id"]]
    by_kind = await client.get("/v1/demands", params={"kind": "challenge"})
    assert [d["id"] for d in by_kind.json()["items"]] == [challenge["id"]]
    by_field = await client.get("/v1/demands", params={"field": "新材料"})
    assert [d["id"] for d in by_field.json()["items"]] == [loan["id"]]
    by_deadline = await client.get(
        "/v1/demands", params={"deadline_from": (utcnow() + timedelta(days=2)).isoformat()}
    )
    assert {d["id"] for d in by_deadline.json()["items"]} == {loan["id"], challenge["id"]}
    by_owner = await client.get(
        "/v1/demands",
        params={"owner_id": str(cast.other_enterprise.organization.id)},  # type: ignore[union-attr]
    )
    assert [d["id"] for d in by_owner.json()["items"]] == [challenge["id"]]

    faceted = await client.get("/v1/demands", params={"facets": "kind,field,status"})
    facets = faceted.json()["facets"]
    assert {f["value"]: f["count"] for f in facets["kind"]} == {
        "technology": 1,
        "financing": 1,
        "challenge": 1,
    }
    assert facets["status"] == [{"value": "open", "count": 3}]
    assert faceted.json()["facets_exact"] is True

    first = await client.get("/v1/demands", params={"limit": 2})
    assert len(first.json()["items"]) == 2
    second = await client.get(
        "/v1/demands", params={"limit": 2, "cursor": first.json()["next_cursor"]}
    )
    assert second.json()["next_cursor"] is None
    seen = [d["id"] for d in first.json()["items"] + second.json()["items"]]
    assert sorted(seen) == sorted([shield["id"], loan["id"], challenge["id"]])

    unknown_facet = await client.get("/v1/demands", params={"facets": "budget_max"})
    assert unknown_facet.status_code == 422
    bad_status = await client.get("/v1/demands", params={"status": "published"})
    assert bad_status.status_code == 422
