"""The fifth kind of technology contract: a license (技术许可) deal, its own rates frozen, and
its tax split at settlement only while its tax-rate setting is not 0."""

from httpx import AsyncClient

from app.core.config import DEFAULT_FEE_RATE_BP, DEFAULT_TAX_RATE_BP, Settings
from app.services.ledger.accounts import TAX_PAYABLE
from tests.registrations.conftest import Market, open_deal, post


async def _settle(client: AsyncClient, market: Market, deal_id: str) -> dict[str, object]:
    funded = await post(client, f"/v1/deals/{deal_id}/fund", market.operator)
    assert funded.status_code == 200, funded.text
    settled = await post(client, f"/v1/deals/{deal_id}/settle", market.buyer)
    assert settled.status_code == 200, settled.text
    return dict(settled.json())


async def test_license_is_the_fifth_category_with_its_own_default_rates() -> None:
    assert DEFAULT_FEE_RATE_BP["license"] == 300
    assert DEFAULT_TAX_RATE_BP["license"] == 1100
    assert (
        set(DEFAULT_FEE_RATE_BP)
        == set(DEFAULT_TAX_RATE_BP)
        == {
            "development",
            "transfer",
            "license",
            "consulting",
            "service",
        }
    )


async def test_a_license_deal_freezes_its_rates_and_settles_with_tax(
    client: AsyncClient, market: Market, settings: Settings
) -> None:
    settings.deal_fee_rate_bp["license"] = 400
    settings.deal_tax_rate_bp["license"] = 900
    deal = await open_deal(client, market, category="license", gross="123456.78")
    assert (deal["category"], deal["fee_rate_bp"], deal["tax_rate_bp"]) == ("license", 400, 900)

    settings.deal_fee_rate_bp["license"] = 100  # later changes leave the deal's rates alone
    settings.deal_tax_rate_bp["license"] = 0
    settled = await _settle(client, market, deal["id"])
    # 12,345,678 fen × 4 % = 493,827.12 → 493,827; × 9 % = 1,111,111.02 → 1,111,111
    assert (settled["fee_rate_bp"], settled["tax_rate_bp"]) == (400, 900)
    assert (settled["fee_amount"], settled["tax_amount"]) == ("4938.27", "11111.11")

    entries = await client.get(
        "/v1/ledger/entries",
        params={"deal_id": deal["id"], "kind": "settlement"},
        headers=market.auditor.headers,
    )
    [entry] = entries.json()["items"]
    assert entry["category"] == "license"
    assert entry["tax"] == "11111.11"
    totals = await client.get(
        "/v1/ledger/totals", params={"group_by": "category"}, headers=market.auditor.headers
    )
    by_category = {group["group"]: group for group in totals.json()["groups"]}
    assert by_category["license"]["transaction_volume"] == "123456.78"
    assert by_category["license"]["tax_total"] == "11111.11"


async def test_a_license_tax_rate_of_zero_splits_no_tax_at_settlement(
    client: AsyncClient, market: Market, settings: Settings
) -> None:
    settings.deal_tax_rate_bp["license"] = 0
    deal = await open_deal(client, market, category="license", gross="50000.00")
    assert deal["tax_rate_bp"] == 0
    settled = await _settle(client, market, deal["id"])
    assert (settled["fee_amount"], settled["tax_amount"]) == ("1500.00", "0.00")

    entries = await client.get(
        "/v1/ledger/entries",
        params={"deal_id": deal["id"], "kind": "settlement"},
        headers=market.auditor.headers,
    )
    [entry] = entries.json()["items"]
    accounts = {posting["account_id"] for posting in entry["postings"]}
    assert str(TAX_PAYABLE) not in accounts
    assert len(entry["postings"]) == 3  # escrow, seller, fee: no tax line
    verified = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
    assert verified.json()["ok"] is True
