"""Deals through the API: every lifecycle path, illegal transitions, rounding, milestones,
who may do what, and the ledger entries each step writes."""

from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role
from app.models.orgs import OrganizationKind
from app.services.deals import share
from tests import builders
from tests.deals.conftest import Market, funded_deal, key, open_deal, post


def fen(text: str) -> int:
    whole, cents = text.split(".")
    return int(whole) * 100 + (int(cents) if not whole.startswith("-") else -int(cents))


async def balances(client: AsyncClient, market: Market) -> dict[str, int]:
    listed = await client.get("/v1/ledger/accounts", headers=market.auditor.headers)
    assert listed.status_code == 200, listed.text
    return {a["code"]: fen(a["balance"]) for a in listed.json()["items"]}


async def entries(client: AsyncClient, market: Market, deal_id: str) -> list[dict[str, Any]]:
    found = await client.get(
        "/v1/ledger/entries", params={"deal_id": deal_id}, headers=market.auditor.headers
    )
    assert found.status_code == 200, found.text
    return list(found.json()["items"])


async def test_fund_then_settle_whole_splits_fee_and_tax(
    client: AsyncClient, market: Market
) -> None:
    deal = await open_deal(client, market, gross="100000.00", category="transfer")
    assert deal["status"] == "created"
    assert (deal["fee_rate_bp"], deal["tax_rate_bp"]) == (300, 1100)
    assert deal["seller_id"] == str(market.seller_org.id)
    assert deal["buyer_id"] == str(market.buyer_org.id)

    funded = await post(client, f"/v1/deals/{deal['id']}/fund", market.operator)
    assert funded.json()["status"] == "funded"
    assert funded.json()["escrow_amount"] == "100000.00"
    assert (await balances(client, market))["escrow"] == 10_000_000

    settled = await post(client, f"/v1/deals/{deal['id']}/settle", market.buyer)
    assert settled.status_code == 200, settled.text
    body = settled.json()
    assert body["status"] == "settled"
    assert (body["escrow_amount"], body["released_amount"]) == ("0.00", "100000.00")
    assert (body["fee_amount"], body["tax_amount"]) == ("3000.00", "11000.00")

    held = await balances(client, market)
    assert held["escrow"] == 0
    assert held["fee_revenue"] == 300_000
    assert held["tax_payable"] == 1_100_000
    assert held[f"org-{market.seller_org.id}"] == 8_600_000
    assert held["bank"] == -10_000_000
    assert sum(held.values()) == 0

    kinds = [e["kind"] for e in await entries(client, market, deal["id"])]
    assert kinds == ["funding", "settlement"]
    verified = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
    assert verified.json() == {
        "ok": True,
        "entries_checked": 2,
        "first_bad_entry": None,
        "problems": [],
    }


async def test_milestones_round_to_the_whole_deals_fee_and_tax(
    client: AsyncClient, market: Market
) -> None:
    # 1000.01 split in three: per-milestone rounding would drift; cumulative rounding doesn't
    milestones = [
        {"title": "资料交付", "amount": "333.33"},
        {"title": "样机", "amount": "333.34"},
        {"title": "验收", "amount": "333.34"},
    ]
    deal = await funded_deal(
        client, market, gross="1000.01", category="consulting", milestones=milestones
    )
    ids = [m["id"] for m in deal["milestones"]]
    fees, taxes = [], []
    for number, milestone_id in enumerate(ids, start=1):
        settled = await post(
            client, f"/v1/deals/{deal['id']}/settle", market.buyer, {"milestone_id": milestone_id}
        )
        assert settled.status_code == 200, settled.text
        body = settled.json()
        assert body["status"] == ("settled" if number == 3 else "funded")
        assert [m["status"] for m in body["milestones"]] == ["settled"] * number + ["pending"] * (
            3 - number
        )
    found = await entries(client, market, deal["id"])
    settlements = [e for e in found if e["kind"] == "settlement"]
    assert len(settlements) == 3
    for entry in settlements:
        fees.append(fen(entry["fee"]))
        taxes.append(fen(entry["tax"]))
        assert sum(fen(p["amount"]) for p in entry["postings"]) == 0
    assert sum(fees) == share(100_001, 500) == 5_000  # 50.0005 → 50.00
    assert sum(taxes) == share(100_001, 1300) == 13_000  # 130.0013 → 130.00
    assert [fen(e["volume"]) for e in settlements] == [33_333, 33_334, 33_334]
    # the first milestone alone: 333.33 × 5% = 16.6665 → 16.67 (half up)
    assert fees[0] == 1_667
    assert body["fee_amount"] == "50.00"

    again = await post(
        client, f"/v1/deals/{deal['id']}/settle", market.buyer, {"milestone_id": ids[0]}
    )
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"


async def test_settling_without_a_milestone_releases_every_pending_one(
    client: AsyncClient, market: Market
) -> None:
    milestones = [{"title": "一", "amount": "60.00"}, {"title": "二", "amount": "40.00"}]
    deal = await funded_deal(client, market, gross="100.00", milestones=milestones)
    settled = await post(client, f"/v1/deals/{deal['id']}/settle", market.operator)
    assert settled.json()["status"] == "settled"
    volumes = [e["volume"] for e in await entries(client, market, deal["id"])]
    assert volumes == ["0.00", "60.00", "40.00"]


async def test_refund_returns_what_escrow_still_holds(client: AsyncClient, market: Market) -> None:
    milestones = [{"title": "一", "amount": "300.00"}, {"title": "二", "amount": "700.00"}]
    deal = await funded_deal(client, market, gross="1000.00", milestones=milestones)
    first = deal["milestones"][0]["id"]
    await post(client, f"/v1/deals/{deal['id']}/settle", market.buyer, {"milestone_id": first})
    refunded = await post(client, f"/v1/deals/{deal['id']}/refund", market.operator)
    assert refunded.status_code == 200, refunded.text
    body = refunded.json()
    assert body["status"] == "refunded"
    assert (body["released_amount"], body["refunded_amount"]) == ("300.00", "700.00")
    assert [m["status"] for m in body["milestones"]] == ["settled", "refunded"]
    held = await balances(client, market)
    assert held["escrow"] == 0
    assert held["bank"] == -30_000  # 1000 in, 700 back
    kinds = [e["kind"] for e in await entries(client, market, deal["id"])]
    assert kinds == ["funding", "settlement", "refund"]


async def test_cancel_only_before_funding(client: AsyncClient, market: Market) -> None:
    deal = await open_deal(client, market)
    cancelled = await post(client, f"/v1/deals/{deal['id']}/cancel", market.seller)
    assert cancelled.json()["status"] == "cancelled"
    assert await entries(client, market, deal["id"]) == []  # no money moved
    for action, actor in (("fund", market.operator), ("settle", market.buyer)):
        refused = await post(client, f"/v1/deals/{deal['id']}/{action}", actor)
        assert refused.status_code == 409, action
        assert refused.json()["code"] == "illegal_transition"


async def test_illegal_transitions_are_409_and_write_nothing(
    client: AsyncClient, market: Market
) -> None:
    deal = await open_deal(client, market)
    for action, actor in (
        ("settle", market.buyer),
        ("refund", market.operator),
    ):
        refused = await post(client, f"/v1/deals/{deal['id']}/{action}", actor)
        assert refused.status_code == 409, (action, refused.text)
    await post(client, f"/v1/deals/{deal['id']}/fund", market.operator)
    for action, actor in (("fund", market.operator), ("cancel", market.buyer)):
        refused = await post(client, f"/v1/deals/{deal['id']}/{action}", actor)
        assert refused.status_code == 409, (action, refused.text)
    await post(client, f"/v1/deals/{deal['id']}/settle", market.buyer)
    for action, actor in (("settle", market.buyer), ("refund", market.operator)):
        refused = await post(client, f"/v1/deals/{deal['id']}/{action}", actor)
        assert refused.status_code == 409, (action, refused.text)
    assert [e["kind"] for e in await entries(client, market, deal["id"])] == [
        "funding",
        "settlement",
    ]


async def test_who_may_do_what(
    client: AsyncClient, market: Market, session: AsyncSession, settings: Settings
) -> None:
    deal = await open_deal(client, market)
    path = f"/v1/deals/{deal['id']}"
    stranger_org = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    stranger = await builders.actor(session, settings, organization=stranger_org)

    # members do not record payments; auditors only read
    for actor in (market.buyer, market.seller, market.auditor):
        assert (await post(client, f"{path}/fund", actor)).status_code == 403
    assert (await client.get(path, headers=stranger.headers)).status_code == 404
    assert (await post(client, f"{path}/cancel", stranger)).status_code == 404
    for actor in (market.buyer, market.seller, market.operator, market.auditor):
        assert (await client.get(path, headers=actor.headers)).status_code == 200
    assert (await client.get(path)).status_code == 401

    await post(client, f"{path}/fund", market.operator)
    assert (await post(client, f"{path}/settle", market.seller)).status_code == 403
    assert (await post(client, f"{path}/settle", stranger)).status_code == 404
    assert (await post(client, f"{path}/refund", market.buyer)).status_code == 403

    mine = await client.get("/v1/deals", headers=stranger.headers)
    assert mine.json()["items"] == []
    theirs = await client.get("/v1/deals", headers=market.seller.headers)
    assert [d["id"] for d in theirs.json()["items"]] == [deal["id"]]

    # a university cannot buy, nor can anyone buy its own listing
    university_buys = await post(
        client,
        "/v1/deals",
        market.seller,
        {
            "technology_id": str(market.technology.id),
            "title": "x",
            "category": "service",
            "gross_amount": "10.00",
        },
    )
    assert university_buys.status_code == 422
    assert university_buys.json()["code"] == "buyer_not_enterprise"
    # ledger reads are for auditors and staff
    ledger = await client.get("/v1/ledger/accounts", headers=market.buyer.headers)
    assert ledger.status_code == 403


async def test_bad_deal_input_is_422(client: AsyncClient, market: Market) -> None:
    base = {
        "technology_id": str(market.technology.id),
        "title": "测试",
        "category": "development",
        "gross_amount": "100.00",
    }
    for change in (
        {"gross_amount": 100},
        {"gross_amount": "0.50"},
        {"gross_amount": "-1.00"},
        {"category": "gift"},
        {"milestones": [{"title": "a", "amount": "60.00"}, {"title": "b", "amount": "30.00"}]},
        {"technology_id": "00000000-0000-0000-0000-000000000000"},
    ):
        refused = await post(client, "/v1/deals", market.buyer, {**base, **change})
        assert refused.status_code == 422, (change, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    listed = await client.get("/v1/deals", headers=market.operator.headers)
    assert listed.json()["items"] == []


async def test_operator_opens_deals_for_a_named_buyer(client: AsyncClient, market: Market) -> None:
    body = {
        "technology_id": str(market.technology.id),
        "title": "代办",
        "category": "service",
        "gross_amount": "10.00",
    }
    missing = await post(client, "/v1/deals", market.operator, body)
    assert missing.json()["code"] == "buyer_required"
    made = await post(
        client, "/v1/deals", market.operator, {**body, "buyer_id": str(market.buyer_org.id)}
    )
    assert made.status_code == 201
    assert made.headers["location"] == f"/v1/deals/{made.json()['id']}"
    assert made.json()["created_at"]
    assert Role.operator  # the operator acts for the buyer


async def test_rates_come_from_settings_and_are_frozen(
    client: AsyncClient, market: Market, settings: Settings
) -> None:
    settings.deal_fee_rate_bp["service"] = 750
    deal = await open_deal(client, market, category="service")
    assert deal["fee_rate_bp"] == 750
    settings.deal_fee_rate_bp["service"] = 100
    fetched = await client.get(f"/v1/deals/{deal['id']}", headers=market.buyer.headers)
    assert fetched.json()["fee_rate_bp"] == 750
    assert key() != key()
