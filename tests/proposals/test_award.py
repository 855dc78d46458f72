"""The award: after the deadline the owner awards one proposal; the demand is awarded, the
other proposals unsuccessful, and exactly one deal opens, whose money then flows through
escrow and the ledger like any deal's."""

import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models.catalog import CatalogHistory, HistoryAction
from app.models.deals import Deal
from app.models.demands import Demand, DemandKind, DemandStatus
from app.services import demands as demands_service
from tests import builders
from tests.proposals.conftest import Tender, award, key, path, submitted

REPLAYED = "Idempotent-Replayed"


async def demand_status(session: AsyncSession, demand: Demand) -> DemandStatus:
    status = await session.scalar(select(Demand.status).where(Demand.id == demand.id))
    assert status is not None
    return status


async def deals_of(session: AsyncSession, demand: Demand) -> int:
    found = await session.scalar(
        select(func.count()).select_from(Deal).where(Deal.demand_id == demand.id)
    )
    return int(found or 0)


async def three_bids(
    client: AsyncClient, demand: Demand, tender: Tender
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A (with milestones), B (without), and the outsider's, withdrawn."""
    a = await submitted(client, demand, tender.provider_a)
    b = await submitted(client, demand, tender.provider_b, price="200000.00", milestones=[])
    c = await submitted(client, demand, tender.outsider_key, price="150000.00", milestones=[])
    withdrawn = await client.post(
        path(demand, c["id"], "withdraw"), headers=tender.outsider_key.headers
    )
    assert withdrawn.status_code == 200
    return a, b, withdrawn.json()


async def test_award_opens_exactly_one_deal(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a, b, c = await three_bids(client, demand, tender)
    await builders.pass_deadline(session, demand)
    sent = key()
    awarded = await award(client, demand, a["id"], tender.owner, headers=sent)
    assert awarded.status_code == 200, awarded.text
    body = awarded.json()
    assert body["status"] == "awarded"
    assert body["decided_at"] is not None
    assert body["deal_id"] is not None
    assert REPLAYED not in awarded.headers

    deal = (await client.get(f"/v1/deals/{body['deal_id']}", headers=tender.owner.headers)).json()
    assert deal["buyer_id"] == str(tender.owner_org.id)
    assert deal["seller_id"] == str(tender.org_of(tender.provider_a).id)
    assert (deal["demand_id"], deal["technology_id"]) == (str(demand.id), None)
    assert (deal["gross_amount"], deal["status"], deal["title"]) == (
        "300000.00",
        "created",
        demand.title,
    )
    assert deal["category"] == "development"  # a technology demand's default
    assert (deal["fee_rate_bp"], deal["tax_rate_bp"]) == (300, 1100)
    assert [(m["position"], m["title"], m["amount"]) for m in deal["milestones"]] == [
        (1, "传感器选型与样机", "100000.00"),
        (2, "现场部署与验收", "200000.00"),
    ]
    seller_view = await client.get(
        f"/v1/deals/{body['deal_id']}", headers=tender.provider_a.headers
    )
    assert seller_view.status_code == 200

    # the others: B unsuccessful, the withdrawn one stays withdrawn
    listed = await client.get(path(demand), headers=tender.owner.headers)
    statuses = {p["id"]: p["status"] for p in listed.json()["items"]}
    assert statuses == {a["id"]: "awarded", b["id"]: "unsuccessful", c["id"]: "withdrawn"}
    assert listed.json()["total"] == 1
    assert await demand_status(session, demand) is DemandStatus.awarded
    history = await session.scalars(
        select(CatalogHistory.changes).where(
            CatalogHistory.item_id == demand.id, CatalogHistory.action == HistoryAction.award
        )
    )
    assert [h["proposal_id"] for h in history] == [[None, a["id"]]]

    # a replay answers the same, and opens nothing more
    replay = await award(client, demand, a["id"], tender.owner, headers=sent)
    assert replay.status_code == 200
    assert replay.headers[REPLAYED] == "true"
    assert replay.json() == body
    # a second award, of any proposal: 409
    for proposal in (a, b, c):
        again = await award(client, demand, proposal["id"], tender.owner)
        assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    assert await deals_of(session, demand) == 1


async def test_the_awarded_deal_is_funded_and_settled_through_the_ledger(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a, _, _ = await three_bids(client, demand, tender)
    await builders.pass_deadline(session, demand)
    deal_id = (await award(client, demand, a["id"], tender.owner)).json()["deal_id"]
    funded = await client.post(
        f"/v1/deals/{deal_id}/fund", headers={**tender.operator.headers, **key()}
    )
    assert funded.status_code == 200, funded.text
    first_milestone = funded.json()["milestones"][0]["id"]
    for body in ({"milestone_id": first_milestone}, None):
        settled = await client.post(
            f"/v1/deals/{deal_id}/settle", headers={**tender.owner.headers, **key()}, json=body
        )
        assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "settled"
    assert (settled.json()["fee_amount"], settled.json()["tax_amount"]) == ("9000.00", "33000.00")

    entries = await client.get(
        "/v1/ledger/entries", params={"deal_id": deal_id}, headers=tender.auditor.headers
    )
    assert [e["kind"] for e in entries.json()["items"]] == ["funding", "settlement", "settlement"]
    verified = await client.get("/v1/ledger/verify", headers=tender.auditor.headers)
    assert verified.json() == {
        "ok": True,
        "entries_checked": 3,
        "first_bad_entry": None,
        "problems": [],
    }


async def test_no_award_before_the_deadline_or_of_a_proposal_not_submitted(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a, b, c = await three_bids(client, demand, tender)
    early = await award(client, demand, a["id"], tender.owner)
    assert (early.status_code, early.json()["code"]) == (409, "illegal_transition")
    await builders.pass_deadline(session, demand)
    withdrawn = await award(client, demand, c["id"], tender.owner)
    assert (withdrawn.status_code, withdrawn.json()["code"]) == (409, "illegal_transition")
    missing = await award(client, demand, str(uuid.uuid4()), tender.owner)
    assert missing.status_code == 404
    no_key = await award(client, demand, a["id"], tender.owner, headers={})
    assert (no_key.status_code, no_key.json()["code"]) == (400, "idempotency_key_required")
    assert await demand_status(session, demand) is DemandStatus.open  # reads closed
    assert await deals_of(session, demand) == 0
    # nobody but the owner awards (staff may, on its behalf)
    for other in (tender.provider_a, tender.provider_b, tender.auditor, tender.outsider_key):
        refused = await award(client, demand, a["id"], other)
        assert refused.status_code == 403, (other, refused.text)
    by_operator = await award(client, demand, b["id"], tender.operator)
    assert by_operator.status_code == 200, by_operator.text
    deal = await client.get(
        f"/v1/deals/{by_operator.json()['deal_id']}", headers=tender.owner.headers
    )
    assert deal.json()["buyer_id"] == str(tender.owner_org.id)
    assert deal.json()["milestones"] == []


async def test_a_cancelled_or_unsuccessful_demand_awards_nothing(
    client: AsyncClient, session: AsyncSession, tender: Tender, demand: Demand
) -> None:
    a = await submitted(client, demand, tender.provider_a)
    await builders.pass_deadline(session, demand)
    await demands_service.close_unsuccessful(
        session, principal=builders.principal(), demand_id=demand.id, reason=None, if_match=None
    )
    await session.commit()
    refused = await award(client, demand, a["id"], tender.owner)
    assert (refused.status_code, refused.json()["code"]) == (409, "illegal_transition")
    assert await deals_of(session, demand) == 0


async def test_the_category_follows_the_demand_kind_unless_named(
    client: AsyncClient, session: AsyncSession, settings: Settings, tender: Tender
) -> None:
    challenge = await builders.open_demand(session, tender.owner_org, kind=DemandKind.challenge)
    talent = await builders.open_demand(session, tender.owner_org, kind=DemandKind.talent)
    solved = await submitted(client, challenge, tender.provider_a, solution="激光熔覆")
    advice = await submitted(client, talent, tender.provider_b)
    for demand in (challenge, talent):
        await builders.pass_deadline(session, demand)
    by_default = await award(client, challenge, solved["id"], tender.owner)
    named = await award(client, talent, advice["id"], tender.owner, body={"category": "service"})
    for awarded, expected in ((by_default, "development"), (named, "service")):
        assert awarded.status_code == 200, awarded.text
        deal = await client.get(
            f"/v1/deals/{awarded.json()['deal_id']}", headers=tender.owner.headers
        )
        assert deal.json()["category"] == expected
        assert deal.json()["fee_rate_bp"] == settings.deal_fee_rate_bp[expected]
        assert deal.json()["tax_rate_bp"] == settings.deal_tax_rate_bp[expected]
    bad = await award(client, talent, advice["id"], tender.owner, body={"category": "gift"})
    assert bad.status_code == 422
