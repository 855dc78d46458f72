"""The proposal audit: every revision's hash recomputed from its stored content, its time
checked against the deadline; tampering in the database shows."""

import uuid
from datetime import timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.demands import Demand, Proposal, ProposalRevision
from app.services.proposals import content_hash
from tests import builders
from tests.proposals.conftest import Tender, path, submitted


async def audited(client: AsyncClient, demand: Demand, actor: builders.Actor, **params: Any) -> Any:
    response = await client.get(path(demand, "audit"), headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def bids(client: AsyncClient, demand: Demand, tender: Tender) -> list[dict[str, Any]]:
    """A revised twice, B submitted once."""
    a = await submitted(client, demand, tender.provider_a)
    for plan in ("第二稿", "第三稿"):
        revised = await client.patch(
            path(demand, a["id"]), headers=tender.provider_a.headers, json={"plan": plan}
        )
        assert revised.status_code == 200, revised.text
        a = revised.json()
    b = await submitted(client, demand, tender.provider_b)
    return [a, b]


async def test_revisions_are_kept_and_verified(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a, b = await bids(client, demand, tender)
    await builders.pass_deadline(session, demand)
    report = await audited(client, demand, tender.owner)
    assert report["verified"] is True
    assert report["demand_id"] == str(demand.id)
    assert report["deadline"].startswith(demand.deadline.isoformat()[:19])
    assert [p["id"] for p in report["items"]] == [a["id"], b["id"]]
    first, second = report["items"]
    assert (first["revision"], first["content_hash"], first["hash_ok"]) == (
        3,
        a["content_hash"],
        True,
    )
    assert [r["revision"] for r in first["revisions"]] == [1, 2, 3]
    assert len({r["content_hash"] for r in first["revisions"]}) == 3
    assert first["revisions"][-1]["content_hash"] == a["content_hash"]
    assert all(r["hash_ok"] and r["before_deadline"] for r in first["revisions"])
    times = [r["recorded_at"] for r in first["revisions"]]
    assert times == sorted(times)
    assert [r["revision"] for r in second["revisions"]] == [1]

    # the hashes are the stored contents' own, as anyone can recompute them
    stored = list(await session.scalars(select(ProposalRevision)))
    assert len(stored) == 4
    for row in stored:
        assert content_hash(row.content) == row.content_hash


async def test_who_may_audit(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    await bids(client, demand, tender)
    sealed = await client.get(path(demand, "audit"), headers=tender.owner.headers)
    assert (sealed.status_code, sealed.json()["code"]) == (403, "proposals_sealed")
    for provider in (tender.provider_a, tender.provider_b):
        refused = await client.get(path(demand, "audit"), headers=provider.headers)
        assert refused.status_code == 403
    for reader in (tender.auditor, tender.operator):  # at any time
        assert (await audited(client, demand, reader))["verified"] is True
    await builders.pass_deadline(session, demand)
    assert (await audited(client, demand, tender.owner))["verified"] is True
    refused = await client.get(path(demand, "audit"), headers=tender.provider_a.headers)
    assert refused.status_code == 403


async def test_a_tampered_revision_fails_the_audit(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a, b = await bids(client, demand, tender)
    await builders.pass_deadline(session, demand)
    [revision_two] = await session.scalars(
        select(ProposalRevision).where(ProposalRevision.revision == 2)
    )
    forged = dict(revision_two.content)
    forged["price"] = 100  # a bid of 1.00 all along
    await session.execute(
        update(ProposalRevision)
        .where(ProposalRevision.id == revision_two.id)
        .values(content=forged)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    report = await audited(client, demand, tender.auditor)
    assert report["verified"] is False
    first, second = report["items"]
    assert [r["hash_ok"] for r in first["revisions"]] == [True, False, True]
    assert first["hash_ok"] is True  # the current content is intact
    assert all(r["hash_ok"] for r in second["revisions"])


async def test_a_changed_proposal_or_a_late_revision_fails_the_audit(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a, b = await bids(client, demand, tender)
    await builders.pass_deadline(session, demand)
    # the proposal's own price changed behind the revisions' back
    await session.execute(
        update(Proposal).where(Proposal.id == uuid.UUID(a["id"])).values(price=100)
    )
    # and B's revision recorded as if after the deadline
    late = demand.deadline + timedelta(seconds=1)
    await session.execute(
        update(ProposalRevision)
        .where(ProposalRevision.proposal_id == uuid.UUID(b["id"]))
        .values(created_at=late)
    )
    await session.commit()
    report = await audited(client, demand, tender.owner)
    assert report["verified"] is False
    first, second = report["items"]
    assert first["hash_ok"] is False
    assert all(r["hash_ok"] and r["before_deadline"] for r in first["revisions"])
    assert second["hash_ok"] is True
    assert [(r["hash_ok"], r["before_deadline"]) for r in second["revisions"]] == [(True, False)]


async def test_the_audit_pages_over_proposals(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a, b = await bids(client, demand, tender)
    first = await audited(client, demand, tender.auditor, limit=1)
    assert [p["id"] for p in first["items"]] == [a["id"]]
    assert len(first["items"][0]["revisions"]) == 3
    second = await audited(client, demand, tender.auditor, limit=1, cursor=first["next_cursor"])
    assert [p["id"] for p in second["items"]] == [b["id"]]
    assert second["next_cursor"] is None
    assert first["verified"] is True
    assert second["verified"] is True


async def test_the_audit_path_is_not_a_proposal(
    client: AsyncClient, tender: Tender, demand: Demand
) -> None:
    """A proposal id is a UUID in the path: PATCH …/proposals/audit is a 405 naming GET (not
    a 422 for a proposal called "audit"), and a malformed id is simply not found."""
    patched = await client.patch(
        path(demand, "audit"), headers=tender.provider_a.headers, json={"plan": "x"}
    )
    assert patched.status_code == 405, patched.text
    assert "GET" in patched.headers["allow"]
    missing = await client.get(path(demand, "not-a-uuid"), headers=tender.owner.headers)
    assert missing.status_code == 404, missing.text
    assert missing.headers["content-type"] == "application/problem+json"
