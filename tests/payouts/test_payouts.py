"""Payouts and tax remittances through HTTP: limits, idempotency, a return reversed once,
balances after each step, ``tax_remitted`` in the auditors' totals, and a ledger that still
verifies and exports to a Beancount file ``bean-check`` accepts."""

import re
import uuid
from pathlib import Path
from typing import Any

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.ledger import EntryKind, JournalEntry
from app.models.payouts import Payout, TaxRemittance
from tests.deals.conftest import Market, funded_deal, key, post
from tests.ledger.test_audit import BEAN_CHECK, bean_check

# A transfer of 100000.00: fee 3% = 3000.00, tax 11% = 11000.00, the seller's net 86000.00.
# A consulting deal of 12345.67: fee 5% = 617.28 (617.2835), tax 13% = 1604.94 (1604.9371),
# net 12345.67 - 617.28 - 1604.94 = 10123.45.
NET_TRANSFER = "86000.00"
TAX_TRANSFER = "11000.00"


async def settled_deal(client: AsyncClient, market: Market, **kwargs: Any) -> dict[str, Any]:
    deal = await funded_deal(client, market, **kwargs)
    settled = await post(client, f"/v1/deals/{deal['id']}/settle", market.buyer)
    assert settled.status_code == 200, settled.text
    return dict(settled.json())


async def balance(client: AsyncClient, market: Market, org: uuid.UUID | None = None) -> str:
    org = org or market.seller_org.id
    got = await client.get(f"/v1/organizations/{org}/balance", headers=market.seller.headers)
    assert got.status_code == 200, got.text
    return str(got.json()["balance"])


async def pay_out(client: AsyncClient, market: Market, amount: str, **headers: str) -> Any:
    body = {
        "organization_id": str(market.seller_org.id),
        "amount": amount,
        "bank_reference": f"ICBC-{uuid.uuid4().hex[:8]}",
    }
    return await post(client, "/v1/payouts", market.operator, body, **headers)


async def verified(client: AsyncClient, market: Market) -> None:
    got = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
    assert got.status_code == 200, got.text
    assert got.json()["ok"] is True, got.json()


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_payout_takes_the_payable_balance_to_the_bank(
    client: AsyncClient, market: Market
) -> None:
    await settled_deal(client, market)
    assert await balance(client, market) == NET_TRANSFER
    paid = await pay_out(client, market, "60000.00")
    assert paid.status_code == 201, paid.text
    payout = paid.json()
    assert payout["status"] == "paid"
    assert payout["amount"] == "60000.00"
    assert paid.headers["Location"] == f"/v1/payouts/{payout['id']}"
    assert await balance(client, market) == "26000.00"
    entry = await client.get(
        "/v1/ledger/entries", params={"kind": "payout"}, headers=market.auditor.headers
    )
    assert [e["id"] for e in entry.json()["items"]] == [payout["entry_id"]]
    amounts = sorted(p["amount"] for p in entry.json()["items"][0]["postings"])
    assert amounts == ["-60000.00", "60000.00"]
    # the member sees it on the balance, and the payout itself
    seen = await client.get(
        f"/v1/organizations/{market.seller_org.id}/balance", headers=market.seller.headers
    )
    assert [p["id"] for p in seen.json()["recent_payouts"]] == [payout["id"]]
    assert [s["amount"] for s in seen.json()["recent_settlements"]] == [NET_TRANSFER]
    one = await client.get(f"/v1/payouts/{payout['id']}", headers=market.seller.headers)
    assert one.status_code == 200
    await verified(client, market)


async def test_a_payout_above_the_balance_is_refused_and_writes_nothing(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    await settled_deal(client, market)
    entries_before = await count(session, JournalEntry)
    refused = await pay_out(client, market, "86000.01")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "insufficient_funds"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await count(session, JournalEntry) == entries_before
    assert await count(session, Payout) == 0
    assert await balance(client, market) == NET_TRANSFER
    # exactly the balance is fine, then nothing more
    assert (await pay_out(client, market, NET_TRANSFER)).status_code == 201
    assert await balance(client, market) == "0.00"
    again = await pay_out(client, market, "0.01")
    assert again.status_code == 409
    assert again.json()["code"] == "insufficient_funds"
    await verified(client, market)


async def test_a_payout_of_an_organization_without_money_or_not_by_an_operator(
    client: AsyncClient, market: Market
) -> None:
    empty = await pay_out(client, market, "1.00")
    assert empty.status_code == 409
    assert empty.json()["code"] == "insufficient_funds"
    body = {"organization_id": str(market.seller_org.id), "amount": "1.00", "bank_reference": "x"}
    assert (await post(client, "/v1/payouts", market.seller, body)).status_code == 403
    assert (await post(client, "/v1/payouts", market.auditor, body)).status_code == 403
    unknown = {**body, "organization_id": str(uuid.uuid4())}
    assert (await post(client, "/v1/payouts", market.operator, unknown)).status_code == 404
    for amount in ("0.00", 100, "-5.00"):
        bad = await post(client, "/v1/payouts", market.operator, {**body, "amount": amount})
        assert bad.status_code == 422, amount


async def test_a_payout_replayed_with_its_key_pays_once(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    await settled_deal(client, market)
    body = {
        "organization_id": str(market.seller_org.id),
        "amount": "50000.00",
        "bank_reference": "ICBC-REPLAY",
    }
    headers = key()
    original = await post(client, "/v1/payouts", market.operator, body, **headers)
    replayed = await post(client, "/v1/payouts", market.operator, body, **headers)
    assert original.status_code == replayed.status_code == 201
    assert "Idempotent-Replayed" not in original.headers
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == original.json()
    # paid once: 86000.00 - 50000.00 (twice would have been refused, not taken twice)
    assert await balance(client, market) == "36000.00"
    assert await count(session, Payout) == 1
    kinds = select(func.count()).where(JournalEntry.kind == EntryKind.payout)
    assert await session.scalar(kinds) == 1
    reused = await post(
        client, "/v1/payouts", market.operator, {**body, "amount": "1.00"}, **headers
    )
    assert reused.json()["code"] == "idempotency_key_reused"
    missing = await client.post("/v1/payouts", json=body, headers=market.operator.headers)
    assert missing.json()["code"] == "idempotency_key_required"
    assert await count(session, Payout) == 1


async def test_a_returned_payout_is_reversed_once(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    await settled_deal(client, market)
    payout = (await pay_out(client, market, "80000.00")).json()
    assert await balance(client, market) == "6000.00"
    path = f"/v1/payouts/{payout['id']}/return"
    returned = await post(client, path, market.operator, {"reason": "收款账户已销户"})
    assert returned.status_code == 200, returned.text
    assert returned.json()["status"] == "returned"
    assert returned.json()["return_reason"] == "收款账户已销户"
    reversal_id = returned.json()["return_entry_id"]
    reversal = await session.get(JournalEntry, uuid.UUID(reversal_id))
    assert reversal is not None
    assert reversal.kind is EntryKind.reversal
    assert str(reversal.reverses_id) == payout["entry_id"]
    assert await balance(client, market) == NET_TRANSFER
    again = await post(client, path, market.operator, {"reason": "再次退回"})
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"
    assert await balance(client, market) == NET_TRANSFER
    # the ledger's own reversal cannot undo a payout behind its record's back
    direct = await post(
        client, f"/v1/ledger/entries/{payout['entry_id']}/reverse", market.operator,
        {"reason": "绕过"},
    )  # fmt: skip
    assert direct.status_code == 409, direct.text
    assert direct.json()["code"] in ("entry_not_reversible", "already_reversed")
    assert (await post(client, path, market.seller, {"reason": "x"})).status_code == 403
    unknown = await post(
        client, f"/v1/payouts/{uuid.uuid4()}/return", market.operator, {"reason": "x"}
    )
    assert unknown.status_code == 404
    # the money can be paid out again, and the lists show each status
    assert (await pay_out(client, market, NET_TRANSFER)).status_code == 201
    assert await balance(client, market) == "0.00"
    listed = await client.get(
        "/v1/payouts", params={"status": "returned"}, headers=market.auditor.headers
    )
    assert [p["id"] for p in listed.json()["items"]] == [payout["id"]]
    every = await client.get(
        "/v1/payouts",
        params={"organization_id": str(market.seller_org.id), "limit": 1},
        headers=market.auditor.headers,
    )
    assert len(every.json()["items"]) == 1
    assert every.json()["next_cursor"] is not None
    assert (await client.get("/v1/payouts", headers=market.seller.headers)).status_code == 403
    await verified(client, market)


async def test_only_members_staff_and_auditors_see_a_balance(
    client: AsyncClient, market: Market
) -> None:
    await settled_deal(client, market)
    path = f"/v1/organizations/{market.seller_org.id}/balance"
    for actor in (market.seller, market.operator, market.auditor):
        got = await client.get(path, headers=actor.headers)
        assert got.status_code == 200
        assert got.json()["balance"] == NET_TRANSFER
    assert (await client.get(path, headers=market.buyer.headers)).status_code == 403
    buyer = await client.get(
        f"/v1/organizations/{market.buyer_org.id}/balance", headers=market.buyer.headers
    )
    assert buyer.json()["balance"] == "0.00"


async def remit(client: AsyncClient, market: Market, amount: str, receipt: str, period: str) -> Any:
    body = {"amount": amount, "receipt_number": receipt, "period": period}
    return await post(client, "/v1/tax-remittances", market.operator, body)


async def totals(client: AsyncClient, market: Market, **params: str) -> dict[str, Any]:
    got = await client.get("/v1/ledger/totals", params=params, headers=market.auditor.headers)
    assert got.status_code == 200, got.text
    return dict(got.json())


async def test_tax_remittance_is_limited_to_the_tax_payable_and_shows_in_totals(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    await settled_deal(client, market)  # tax 11000.00
    await settled_deal(client, market, gross="12345.67", category="consulting")  # tax 1604.94
    before = await totals(client, market)
    assert before["groups"][0]["tax_total"] == "12604.94"
    assert before["tax_remitted"] == "0.00"
    overview = (await client.get("/v1/stats/overview")).json()
    assert (overview["tax_total"], overview["tax_remitted"]) == ("12604.94", "0.00")
    assert before["groups"][0]["transaction_volume"] == "112345.67"

    too_much = await remit(client, market, "12604.95", "3320162006000001", "2020-Q2")
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "insufficient_funds"
    assert await count(session, TaxRemittance) == 0

    first = await remit(client, market, "11000.00", "3320162006000001", "2020-Q2")
    assert first.status_code == 201, first.text
    assert first.json()["receipt_number"] == "3320162006000001"
    dup = await remit(client, market, "1.00", "3320162006000001", "2020-Q2")
    assert dup.status_code == 409
    assert dup.json()["code"] == "receipt_number_taken"
    assert (await remit(client, market, "1.00", "R2", "2020-13")).status_code == 422
    body = {"amount": "1.00", "receipt_number": "R3", "period": "2020-05"}
    assert (await post(client, "/v1/tax-remittances", market.auditor, body)).status_code == 403
    second = await remit(client, market, "1604.94", "3320162006000002", "2020-05")
    assert second.status_code == 201
    assert (await remit(client, market, "0.01", "3320162006000003", "2020")).status_code == 409

    after = await totals(client, market)
    # accrued unchanged (remittances are not settlements), remitted 11000.00 + 1604.94
    assert after["groups"] == before["groups"]
    assert after["tax_remitted"] == "12604.94"
    by_category = await totals(client, market, group_by="category")
    assert by_category["tax_remitted"] == "12604.94"
    assert {g["group"]: g["tax_total"] for g in by_category["groups"]} == {
        "consulting": "1604.94",
        "transfer": "11000.00",
    }
    earlier = await totals(client, market, to="2000-01-01")
    assert earlier["tax_remitted"] == "0.00"
    accounts = await client.get("/v1/ledger/accounts", headers=market.auditor.headers)
    tax = next(a for a in accounts.json()["items"] if a["code"] == "tax_payable")
    assert tax["balance"] == "0.00"

    listed = await client.get("/v1/tax-remittances", headers=market.auditor.headers)
    assert [r["receipt_number"] for r in listed.json()["items"]] == [
        "3320162006000002",
        "3320162006000001",
    ]
    overview = (await client.get("/v1/stats/overview")).json()
    assert (overview["tax_total"], overview["tax_remitted"]) == ("12604.94", "12604.94")
    quarter = await client.get(
        "/v1/tax-remittances", params={"period": "2020-Q2"}, headers=market.auditor.headers
    )
    assert [r["amount"] for r in quarter.json()["items"]] == ["11000.00"]
    assert (
        await client.get("/v1/tax-remittances", headers=market.seller.headers)
    ).status_code == 403
    await verified(client, market)


async def test_the_beancount_export_with_payouts_and_remittances_passes_bean_check(
    client: AsyncClient, market: Market, tmp_path: Path
) -> None:
    assert BEAN_CHECK.exists()
    await settled_deal(client, market)
    payout = (await pay_out(client, market, "50000.00")).json()
    await post(client, f"/v1/payouts/{payout['id']}/return", market.operator, {"reason": "退回"})
    assert (await pay_out(client, market, "86000.00")).status_code == 201
    assert (
        await remit(client, market, "11000.00", "3320162006000009", "2020-06")
    ).status_code == 201
    got = await client.get(
        "/v1/ledger/export", params={"format": "beancount"}, headers=market.auditor.headers
    )
    assert got.status_code == 200
    text = got.text
    assert text.count('* "payout"') == 2
    assert text.count('* "tax_remittance"') == 1
    assert "完税凭证 3320162006000009" in text
    assert "退回" in text
    path = tmp_path / "payouts.beancount"
    path.write_text(text, encoding="utf-8")
    checked = bean_check(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr + text
    # the payable and tax accounts end empty, asserted in the file
    payable = f"Liabilities:Payable:Org-{market.seller_org.id.hex}"
    assert re.search(rf"balance {payable}\s+0\.00 CNY$", text, re.MULTILINE), text
    assert re.search(r"balance Liabilities:TaxPayable\s+0\.00 CNY$", text, re.MULTILINE), text
    await verified(client, market)
