"""Sealed proposals: a provider reads its own, the owner their count until the deadline and
all of them after, staff and auditors everything; nobody else anything."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.demands import Demand
from tests import builders
from tests.proposals.conftest import Tender, award, path, submitted


async def listed(client: AsyncClient, demand: Demand, actor: builders.Actor, **params: Any) -> Any:
    response = await client.get(path(demand), headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["items"]]


async def test_sealed_until_the_deadline(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a = await submitted(client, demand, tender.provider_a)
    b = await submitted(client, demand, tender.provider_b, price="200000.00", milestones=[])

    # providers: their own only, by list and by id
    mine = await listed(client, demand, tender.provider_a)
    assert (ids(mine), mine["sealed"], mine["total"]) == ([a["id"]], True, None)
    assert ids(await listed(client, demand, tender.provider_b)) == [b["id"]]
    peek = await client.get(path(demand, b["id"]), headers=tender.provider_a.headers)
    assert peek.status_code == 404
    assert "plan" not in peek.text

    # the owner: the count, nothing else
    before = await listed(client, demand, tender.owner)
    assert (before["items"], before["sealed"], before["total"]) == ([], True, 2)
    for proposal in (a, b):
        early = await client.get(path(demand, proposal["id"]), headers=tender.owner.headers)
        assert early.status_code == 404

    # staff and auditors: everything, at any time
    for reader in (tender.operator, tender.auditor):
        seen = await listed(client, demand, reader)
        assert (ids(seen), seen["sealed"], seen["total"]) == ([a["id"], b["id"]], False, 2)
        one = await client.get(path(demand, b["id"]), headers=reader.headers)
        assert one.json() == b

    await builders.pass_deadline(session, demand)
    after = await listed(client, demand, tender.owner)
    assert (ids(after), after["sealed"], after["total"]) == ([a["id"], b["id"]], False, 2)
    assert after["items"][1] == b
    one = await client.get(path(demand, a["id"]), headers=tender.owner.headers)
    assert one.json() == a
    # still sealed between providers after the deadline
    assert ids(await listed(client, demand, tender.provider_a)) == [a["id"]]
    assert (
        await client.get(path(demand, a["id"]), headers=tender.provider_b.headers)
    ).status_code == 404


async def test_the_count_is_of_live_proposals_and_the_filter_works(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a = await submitted(client, demand, tender.provider_a)
    withdrawn = await client.post(
        path(demand, a["id"], "withdraw"), headers=tender.provider_a.headers
    )
    assert withdrawn.status_code == 200
    again = await submitted(client, demand, tender.provider_a, price="100.00", milestones=[])
    await submitted(client, demand, tender.provider_b)
    assert (await listed(client, demand, tender.owner))["total"] == 2
    await builders.pass_deadline(session, demand)
    everything = await listed(client, demand, tender.owner)
    assert len(everything["items"]) == 3
    only_withdrawn = await listed(client, demand, tender.owner, status="withdrawn")
    assert ids(only_withdrawn) == [a["id"]]
    own_submitted = await listed(client, demand, tender.provider_a, status="submitted")
    assert ids(own_submitted) == [again["id"]]


async def test_pages_walk_with_a_cursor(
    client: AsyncClient, tender: Tender, demand: Demand, session: AsyncSession
) -> None:
    made = [
        (await submitted(client, demand, provider))["id"]
        for provider in (tender.provider_a, tender.provider_b, tender.outsider_key)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = await listed(client, demand, tender.auditor, **params)
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    bad = await client.get(path(demand), headers=tender.auditor.headers, params={"cursor": "x"})
    assert bad.status_code == 400


async def test_anonymous_callers_and_other_organizations_see_and_do_nothing(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a = await submitted(client, demand, tender.provider_a)
    for anonymous in (
        await client.get(path(demand)),
        await client.get(path(demand, a["id"])),
        await client.get(path(demand, "audit")),
    ):
        assert anonymous.status_code == 401

    outsider = tender.outsider_key
    page = await listed(client, demand, outsider)
    assert (page["items"], page["sealed"], page["total"]) == ([], True, None)
    assert (await client.get(path(demand, a["id"]), headers=outsider.headers)).status_code == 404
    revise = await client.patch(path(demand, a["id"]), headers=outsider.headers, json={"plan": "x"})
    assert revise.status_code == 404
    withdraw = await client.post(path(demand, a["id"], "withdraw"), headers=outsider.headers)
    assert withdraw.status_code == 404
    audit = await client.get(path(demand, "audit"), headers=outsider.headers)
    assert audit.status_code == 403
    await builders.pass_deadline(session, demand)
    page = await listed(client, demand, outsider)
    assert page["items"] == []
    awarded = await award(client, demand, a["id"], outsider)
    assert (awarded.status_code, awarded.json()["code"]) == (403, "not_owner")
    unchanged = await client.get(path(demand, a["id"]), headers=tender.provider_a.headers)
    assert unchanged.json() == a


async def test_proposals_of_a_demand_one_cannot_see_do_not_exist(
    client: AsyncClient, session: AsyncSession, tender: Tender
) -> None:
    circle = await builders.open_demand(session, tender.owner_org, invited_only=True)
    draft = await builders.open_demand(session, tender.owner_org, publish=False)
    for hidden in (circle, draft):
        for target in (path(hidden), path(hidden, uuid.uuid4()), path(hidden, "audit")):
            response = await client.get(target, headers=tender.provider_a.headers)
            assert response.status_code == 404, target
    # the owner may list (nothing yet); a proposal of another demand is not found through this one
    other = await builders.open_demand(session, tender.owner_org)
    theirs = await submitted(client, other, tender.provider_a)
    wrong = await client.get(path(circle, theirs["id"]), headers=tender.operator.headers)
    assert wrong.status_code == 404
