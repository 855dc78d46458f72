"""Proposals through the API: submit, revise, withdraw and submit again; the rules of their
content; one live proposal per organization; every illegal transition."""

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings
from app.core.security import Scope
from app.models.demands import Demand, DemandKind, Proposal, ProposalRevision, ProposalStatus
from app.services import demands as demands_service
from app.services.proposals import content_hash, proposal_content
from tests import builders
from tests.proposals.conftest import (
    Tender,
    invite,
    path,
    proposal_body,
    submit,
    submitted,
)


async def revisions(session: AsyncSession, proposal_id: str) -> list[ProposalRevision]:
    found = await session.scalars(
        select(ProposalRevision)
        .where(ProposalRevision.proposal_id == uuid.UUID(proposal_id))
        .order_by(ProposalRevision.revision)
    )
    return list(found.all())


async def test_submit_records_revision_one_and_its_hash(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    response = await submit(client, demand, tender.provider_a)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == path(demand, body["id"])
    assert body["status"] == "submitted"
    assert body["organization_id"] == str(tender.org_of(tender.provider_a).id)
    assert body["demand_id"] == str(demand.id)
    assert (body["price"], body["revision"], body["deal_id"]) == ("300000.00", 1, None)
    assert body["milestones"] == [
        {"title": "传感器选型与样机", "amount": "100000.00"},
        {"title": "现场部署与验收", "amount": "200000.00"},
    ]
    expected = proposal_content(
        price=30_000_000,
        timeline_days=120,
        plan=proposal_body()["plan"],
        milestones=[
            {"title": "传感器选型与样机", "amount": 10_000_000},
            {"title": "现场部署与验收", "amount": 20_000_000},
        ],
        solution=None,
    )
    assert body["content_hash"] == content_hash(expected)
    [first] = await revisions(session, body["id"])
    assert (first.revision, first.content, first.content_hash) == (
        1,
        expected,
        body["content_hash"],
    )
    assert first.created_by.startswith("user:")

    mine = await client.get(path(demand, body["id"]), headers=tender.provider_a.headers)
    assert mine.status_code == 200
    assert mine.json() == body


async def test_revise_writes_a_new_revision_and_an_unchanged_body_writes_nothing(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    first = await submitted(client, demand, tender.provider_a)
    target = path(demand, first["id"])
    revised = await client.patch(
        target,
        headers=tender.provider_a.headers,
        json={
            "price": "250000.00",
            "milestones": [
                {"title": "样机", "amount": "50000.00"},
                {"title": "验收", "amount": "200000.00"},
            ],
        },
    )
    assert revised.status_code == 200, revised.text
    body = revised.json()
    assert (body["revision"], body["price"], body["plan"]) == (2, "250000.00", first["plan"])
    assert body["content_hash"] != first["content_hash"]
    assert body["submitted_at"] > first["submitted_at"]

    # the same again, and an empty body: no new revision, nothing changes
    for unchanged in ({"price": "250000.00"}, {}):
        again = await client.patch(target, headers=tender.provider_a.headers, json=unchanged)
        assert again.status_code == 200, again.text
        assert again.json() == body
    kept = await revisions(session, first["id"])
    assert [(r.revision, r.content_hash) for r in kept] == [
        (1, first["content_hash"]),
        (2, body["content_hash"]),
    ]
    assert kept[1].content["price"] == 25_000_000

    # dropping the milestones is a revision too; null for a required field is refused
    dropped = await client.patch(target, headers=tender.provider_a.headers, json={"milestones": []})
    assert (dropped.json()["revision"], dropped.json()["milestones"]) == (3, [])
    null = await client.patch(target, headers=tender.provider_a.headers, json={"price": None})
    assert null.status_code == 422


async def test_withdraw_then_submit_again(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    first = await submitted(client, demand, tender.provider_a)
    withdrawn = await client.post(
        path(demand, first["id"], "withdraw"), headers=tender.provider_a.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["withdrawn_at"] is not None

    for illegal in (
        client.post(path(demand, first["id"], "withdraw"), headers=tender.provider_a.headers),
        client.patch(
            path(demand, first["id"]), headers=tender.provider_a.headers, json={"timeline_days": 9}
        ),
    ):
        refused = await illegal
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "illegal_transition"

    second = await submitted(client, demand, tender.provider_a, price="280000.00", milestones=[])
    assert second["id"] != first["id"]
    assert second["revision"] == 1
    statuses = await session.scalars(
        select(Proposal.status).where(Proposal.demand_id == demand.id).order_by(Proposal.created_at)
    )
    assert list(statuses) == [ProposalStatus.withdrawn, ProposalStatus.submitted]


async def test_one_live_proposal_per_organization(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    tender: Tender,
    demand: Demand,
) -> None:
    await submitted(client, demand, tender.provider_a)
    again = await submit(client, demand, tender.provider_a, price="200000.00")
    assert again.status_code == 409
    assert again.json()["code"] == "proposal_exists"
    # another member or a program of the same organization: the same organization's proposal
    colleague = await builders.actor(
        session, settings, organization=tender.org_of(tender.provider_a)
    )
    program = await builders.api_key_actor(
        session, organization=tender.org_of(tender.provider_a), scopes=[Scope.demands_write]
    )
    for other in (colleague, program):
        refused = await submit(client, demand, other)
        assert (refused.status_code, refused.json()["code"]) == (409, "proposal_exists")
    # another organization proposes freely
    await submitted(client, demand, tender.provider_b)


async def test_the_database_refuses_a_second_live_proposal(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    first = await submitted(client, demand, tender.provider_a)
    now = utcnow()
    # read before a failed commit expires every loaded object
    demand_id, organization_id = demand.id, tender.org_of(tender.provider_a).id

    def row(status: ProposalStatus) -> Proposal:
        return Proposal(
            demand_id=demand_id,
            organization_id=organization_id,
            status=status,
            price=100,
            timeline_days=1,
            content_hash=first["content_hash"],
            submitted_at=now,
            created_by="test",
            plan="直接写入",
        )

    # a withdrawn one beside the live one is fine: the index is partial
    session.add(row(ProposalStatus.withdrawn))
    await session.commit()
    for live in (ProposalStatus.submitted, ProposalStatus.awarded):
        session.add(row(live))
        with pytest.raises(IntegrityError):
            await session.commit()
        await session.rollback()
    count = await session.scalar(
        select(func.count()).select_from(Proposal).where(Proposal.demand_id == demand_id)
    )
    assert count == 2


async def test_after_the_deadline_nothing_changes(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    mine = await submitted(client, demand, tender.provider_a)
    await builders.pass_deadline(session, demand)
    attempts = {
        "submit": await submit(client, demand, tender.provider_b),
        "revise": await client.patch(
            path(demand, mine["id"]), headers=tender.provider_a.headers, json={"plan": "晚了"}
        ),
        "withdraw": await client.post(
            path(demand, mine["id"], "withdraw"), headers=tender.provider_a.headers
        ),
    }
    for action, refused in attempts.items():
        assert refused.status_code == 409, (action, refused.text)
        assert refused.json()["code"] == "illegal_transition", action
    still = await client.get(path(demand, mine["id"]), headers=tender.provider_a.headers)
    assert still.json() == mine


async def test_only_the_proposer_revises_or_withdraws(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    theirs = await submitted(client, demand, tender.provider_a)
    target = path(demand, theirs["id"])
    # those who cannot read it find nothing there
    for stranger in (tender.provider_b, tender.outsider_key, tender.owner):
        revise = await client.patch(target, headers=stranger.headers, json={"plan": "改"})
        withdraw = await client.post(f"{target}/withdraw", headers=stranger.headers)
        assert (revise.status_code, withdraw.status_code) == (404, 404), stranger
    # those who may read it may still not change it
    for reader in (tender.operator, tender.auditor):
        revise = await client.patch(target, headers=reader.headers, json={"plan": "改"})
        withdraw = await client.post(f"{target}/withdraw", headers=reader.headers)
        assert (revise.status_code, withdraw.status_code) == (403, 403), reader
    await builders.pass_deadline(session, demand)
    owner_revise = await client.patch(target, headers=tender.owner.headers, json={"plan": "改"})
    assert (owner_revise.status_code, owner_revise.json()["code"]) == (403, "not_proposer")
    unchanged = await client.get(target, headers=tender.provider_a.headers)
    assert unchanged.json() == theirs


async def test_price_at_most_the_budget_cap(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    above = await submit(client, demand, tender.provider_a, price="500000.01", milestones=[])
    assert above.status_code == 422
    assert above.json()["code"] == "price_above_budget"
    assert above.json()["errors"][0]["loc"] == ["body", "price"]
    assert "500000" not in above.json()["detail"]  # the budget is not visible: not told
    at_cap = await submitted(client, demand, tender.provider_a, price="500000.00", milestones=[])
    revise = await client.patch(
        path(demand, at_cap["id"]), headers=tender.provider_a.headers, json={"price": "600000.00"}
    )
    assert (revise.status_code, revise.json()["code"]) == (422, "price_above_budget")
    # no cap, no limit
    open_ended = await builders.open_demand(session, tender.owner_org, budget_max=None)
    await submitted(client, open_ended, tender.provider_a, price="9000000.00", milestones=[])


async def test_milestones_add_up_to_the_price(
    client: AsyncClient, tender: Tender, demand: Demand
) -> None:
    short = await submit(
        client, demand, tender.provider_a, milestones=[{"title": "一", "amount": "299999.99"}]
    )
    assert short.status_code == 422
    assert short.json()["code"] == "milestones_do_not_add_up"
    tiny = await submit(
        client,
        demand,
        tender.provider_a,
        price="300000.00",
        milestones=[{"title": "一", "amount": "0.99"}, {"title": "二", "amount": "299999.01"}],
    )
    assert tiny.status_code == 422
    many = [{"title": str(n), "amount": "1.00"} for n in range(51)]
    too_many = await submit(client, demand, tender.provider_a, price="51.00", milestones=many)
    assert too_many.status_code == 422
    mine = await submitted(client, demand, tender.provider_a)
    # a new price that the kept milestones no longer add up to
    revise = await client.patch(
        path(demand, mine["id"]), headers=tender.provider_a.headers, json={"price": "310000.00"}
    )
    assert (revise.status_code, revise.json()["code"]) == (422, "milestones_do_not_add_up")


async def test_a_challenge_needs_a_solution_and_only_a_challenge_takes_one(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    challenge = await builders.open_demand(session, tender.owner_org, kind=DemandKind.challenge)
    missing = await submit(client, challenge, tender.provider_a)
    assert (missing.status_code, missing.json()["code"]) == (422, "solution_required")
    solution = "激光熔覆+在线声发射监测"
    solved = await submitted(client, challenge, tender.provider_a, solution=solution)
    assert solved["solution"] == solution
    cleared = await client.patch(
        path(challenge, solved["id"]), headers=tender.provider_a.headers, json={"solution": None}
    )
    assert (cleared.status_code, cleared.json()["code"]) == (422, "solution_required")

    stray = await submit(client, demand, tender.provider_a, solution="不需要")
    assert (stray.status_code, stray.json()["code"]) == (422, "solution_not_allowed")


async def test_who_may_propose(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    own = await submit(client, demand, tender.owner)
    assert (own.status_code, own.json()["code"]) == (403, "own_demand")
    for reader in (tender.auditor, tender.operator):
        refused = await submit(client, demand, reader)
        assert refused.status_code == 403, reader
    catalog_only = await builders.api_key_actor(
        session, organization=tender.org_of(tender.provider_b), scopes=[Scope.catalog_write]
    )
    assert (await submit(client, demand, catalog_only)).json()["code"] == "missing_scope"
    anonymous = await client.post(path(demand), json=proposal_body())
    assert anonymous.status_code == 401
    # a key of another organization with demands:write proposes like a member
    by_key = await submit(client, demand, tender.outsider_key)
    assert by_key.status_code == 201, by_key.text
    assert by_key.json()["created_at"]


async def test_drafts_and_uninvited_demands_take_no_proposals(
    client: AsyncClient, session: AsyncSession, tender: Tender
) -> None:
    draft = await builders.open_demand(session, tender.owner_org, publish=False)
    assert (await submit(client, draft, tender.provider_a)).status_code == 404
    closed_circle = await builders.open_demand(session, tender.owner_org, invited_only=True)
    assert (await submit(client, closed_circle, tender.provider_a)).status_code == 404
    await invite(session, closed_circle, tender.org_of(tender.provider_a))
    await submitted(client, closed_circle, tender.provider_a)
    assert (await submit(client, closed_circle, tender.provider_b)).status_code == 404
    unknown = await client.post(
        path(uuid.uuid4()), headers=tender.provider_a.headers, json=proposal_body()
    )
    assert unknown.status_code == 404


async def test_a_cancelled_demand_closes_its_proposals(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    mine = await submitted(client, demand, tender.provider_a)
    await demands_service.cancel_demand(
        session,
        principal=builders.principal(),
        demand_id=demand.id,
        reason="预算取消",
        if_match=None,
    )
    await session.commit()
    now = await client.get(path(demand, mine["id"]), headers=tender.provider_a.headers)
    assert now.json()["status"] == "unsuccessful"
    refused = await submit(client, demand, tender.provider_b)
    assert (refused.status_code, refused.json()["code"]) == (409, "illegal_transition")
    # the bids of a cancelled demand stay sealed to its owner
    seen = await client.get(path(demand), headers=tender.owner.headers)
    assert (seen.json()["items"], seen.json()["sealed"], seen.json()["total"]) == ([], True, 0)
    one = await client.get(path(demand, mine["id"]), headers=tender.owner.headers)
    assert one.status_code == 404
