"""The ledger defends itself: append-only tables, hash chains that expose edits made behind the
API's back, accounts that never go negative, and entries reversed at most once."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.calendar import utcnow
from app.models.ledger import EntryKind, JournalEntry, LedgerChain, Posting
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import posting as ledger_posting
from app.services.ledger.accounts import BANK, ESCROW, FEE_REVENUE
from app.services.ledger.entries import EntryFacts
from app.services.ledger.posting import InsufficientFunds
from tests.conftest import BACKEND
from tests.deals.conftest import Market, funded_deal, post

APPEND_ONLY_STATEMENTS = [
    "UPDATE postings SET amount_fen = amount_fen + 1",
    "UPDATE postings SET account_id = account_id",
    "DELETE FROM postings",
    "UPDATE journal_entries SET memo = 'edited'",
    "UPDATE journal_entries SET hash = hash",
    "DELETE FROM journal_entries",
]


def fen(text_amount: str) -> int:
    negative = text_amount.startswith("-")
    whole, cents = text_amount.lstrip("-").split(".")
    value = int(whole) * 100 + int(cents)
    return -value if negative else value


async def settled_deal(client: AsyncClient, market: Market, **kwargs: Any) -> dict[str, Any]:
    deal = await funded_deal(client, market, **kwargs)
    settled = await post(client, f"/v1/deals/{deal['id']}/settle", market.buyer)
    assert settled.status_code == 200, settled.text
    return dict(settled.json())


async def entry_of(session: AsyncSession, deal_id: str, kind: EntryKind) -> uuid.UUID:
    found = (
        await session.scalars(
            select(JournalEntry.id)
            .where(JournalEntry.deal_id == uuid.UUID(deal_id), JournalEntry.kind == kind)
            .order_by(JournalEntry.occurred_at)
        )
    ).all()
    assert len(found) == 1, found
    return found[0]


async def verify(client: AsyncClient, market: Market) -> dict[str, Any]:
    verified = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
    assert verified.status_code == 200, verified.text
    return dict(verified.json())


async def balances(client: AsyncClient, market: Market) -> dict[str, int]:
    listed = await client.get("/v1/ledger/accounts", headers=market.auditor.headers)
    assert listed.status_code == 200, listed.text
    return {a["code"]: fen(a["balance"]) for a in listed.json()["items"]}


async def count_entries(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(JournalEntry)) or 0)


async def allow_tampering(connection: AsyncConnection, table: str, operation: str) -> None:
    """Switch the append-only trigger off inside the test's transaction (rolled back with it):
    what someone with the database's credentials could do."""
    if BACKEND == "postgresql":
        await connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only"))
    else:
        await connection.execute(text(f"DROP TRIGGER {table}_no_{operation}"))


async def two_settled_deals(
    client: AsyncClient, market: Market, session: AsyncSession
) -> uuid.UUID:
    """Four entries; the one to tamper with is the second deal's settlement (not the first)."""
    await settled_deal(client, market, gross="100000.00")
    second = await settled_deal(client, market, gross="2500.00", category="consulting")
    clean = await verify(client, market)
    assert (clean["ok"], clean["entries_checked"]) == (True, 4), clean
    return await entry_of(session, second["id"], EntryKind.settlement)


# --- append-only -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        *APPEND_ONLY_STATEMENTS,
        *(
            pytest.param(f"TRUNCATE {table} CASCADE", marks=pytest.mark.postgres_only)
            for table in ("journal_entries", "postings")
        ),
    ],
)
async def test_sql_cannot_change_or_remove_ledger_rows(
    client: AsyncClient, market: Market, connection: AsyncConnection, statement: str
) -> None:
    await settled_deal(client, market)
    with pytest.raises(DBAPIError, match="append-only"):
        async with connection.begin_nested():
            await connection.execute(text(statement))
    verified = await verify(client, market)
    assert verified["ok"] is True
    assert verified["entries_checked"] == 2


# --- tampering behind the API's back ----------------------------------------------------------


async def test_an_edited_posting_amount_is_found(
    client: AsyncClient, market: Market, session: AsyncSession, connection: AsyncConnection
) -> None:
    target = await two_settled_deals(client, market, session)
    seller = await ledger_accounts.organization_account(session, market.seller_org.id)
    await allow_tampering(connection, "postings", "update")
    # One fen moved from the platform's fee to the seller: the entry still sums to zero, so
    # only its hash (and the kept balances) can tell.
    for account, change in ((seller, 1), (FEE_REVENUE, -1)):
        await connection.execute(
            update(Posting)
            .where(Posting.entry_id == target, Posting.account_id == account)
            .values(amount_fen=Posting.amount_fen + change)
        )
    verified = await verify(client, market)
    assert verified["ok"] is False
    assert verified["first_bad_entry"] == str(target)
    assert any(str(target) in problem and "hash" in problem for problem in verified["problems"])
    assert verified["entries_checked"] == 4


async def test_an_edited_memo_is_found(
    client: AsyncClient, market: Market, session: AsyncSession, connection: AsyncConnection
) -> None:
    target = await two_settled_deals(client, market, session)
    await allow_tampering(connection, "journal_entries", "update")
    await connection.execute(
        update(JournalEntry).where(JournalEntry.id == target).values(memo="结算 (已核准)")
    )
    verified = await verify(client, market)
    assert verified["ok"] is False
    assert verified["first_bad_entry"] == str(target)
    assert len(verified["problems"]) == 1, verified["problems"]  # the amounts are untouched
    assert str(target) in verified["problems"][0]


async def test_deleted_postings_are_found(
    client: AsyncClient, market: Market, session: AsyncSession, connection: AsyncConnection
) -> None:
    target = await two_settled_deals(client, market, session)
    await allow_tampering(connection, "postings", "delete")
    await connection.execute(delete(Posting).where(Posting.entry_id == target))
    verified = await verify(client, market)
    assert verified["ok"] is False
    assert verified["first_bad_entry"] == str(target)
    assert any(str(target) in problem for problem in verified["problems"])


async def test_a_rewritten_chain_is_found(
    client: AsyncClient, market: Market, session: AsyncSession, connection: AsyncConnection
) -> None:
    """Deleting a whole entry (postings and all) breaks the chain of the entries after it."""
    target = await two_settled_deals(client, market, session)
    entry = await session.get(JournalEntry, target)
    assert entry is not None
    await allow_tampering(connection, "postings", "delete")
    await allow_tampering(connection, "journal_entries", "delete")
    await connection.execute(delete(Posting).where(Posting.entry_id == target))
    await connection.execute(delete(JournalEntry).where(JournalEntry.id == target))
    verified = await verify(client, market)
    assert verified["ok"] is False
    assert verified["entries_checked"] == 3


async def test_an_entry_slipped_in_behind_the_api_is_found(
    client: AsyncClient, market: Market, session: AsyncSession, connection: AsyncConnection
) -> None:
    """Inserting is allowed (the ledger is appended to), but only post_entry moves the chain's
    head with it: an entry past its head was not written by the ledger."""
    await two_settled_deals(client, market, session)
    head = (await connection.execute(select(LedgerChain).where(LedgerChain.chain == 0))).one()
    forged = uuid.uuid4()
    await connection.execute(
        insert(JournalEntry).values(
            id=forged,
            chain=0,
            seq=head.last_seq + 1,
            kind=EntryKind.funding,
            occurred_at=utcnow(),
            volume_fen=0,
            fee_fen=0,
            tax_fen=0,
            created_by="user:someone",
            memo="",
            prev_hash=head.last_hash,
            hash="f" * 64,
        )
    )
    await connection.execute(
        insert(Posting),
        [
            {"entry_id": forged, "line": 1, "account_id": BANK, "amount_fen": -100},
            {"entry_id": forged, "line": 2, "account_id": ESCROW, "amount_fen": 100},
        ],
    )
    verified = await verify(client, market)
    assert verified["ok"] is False
    assert verified["first_bad_entry"] == str(forged)
    assert any("past its chain's head" in problem for problem in verified["problems"])


# --- balances never go negative; reversals once ------------------------------------------------


async def test_reversing_a_settlement_restores_the_deal_and_the_balances(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    deal = await funded_deal(client, market, gross="100000.00")
    before = await balances(client, market)
    settled = await post(client, f"/v1/deals/{deal['id']}/settle", market.buyer)
    assert settled.json()["status"] == "settled"
    settlement = await entry_of(session, deal["id"], EntryKind.settlement)

    reversed_ = await post(
        client,
        f"/v1/ledger/entries/{settlement}/reverse",
        market.operator,
        {"reason": "验收未通过"},
    )
    assert reversed_.status_code == 201, reversed_.text
    reversal = reversed_.json()
    assert reversal["kind"] == "reversal"
    assert reversal["reverses_id"] == str(settlement)
    after = await balances(client, market)
    assert {code: after.get(code, 0) for code in before | after} == {
        code: before.get(code, 0) for code in before | after
    }
    restored = (await client.get(f"/v1/deals/{deal['id']}", headers=market.buyer.headers)).json()
    assert restored["status"] == "funded"
    assert restored["closed_at"] is None
    assert (restored["escrow_amount"], restored["released_amount"]) == ("100000.00", "0.00")
    assert (restored["fee_amount"], restored["tax_amount"]) == ("0.00", "0.00")

    # the deal goes on from there: settled again, once
    again = await post(client, f"/v1/deals/{deal['id']}/settle", market.buyer)
    assert again.status_code == 200, again.text
    assert again.json() | {"version": None, "closed_at": None} == settled.json() | {
        "version": None,
        "closed_at": None,
    }
    assert (await verify(client, market))["ok"] is True


async def test_an_entry_is_reversed_once_and_a_reversal_never(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    deal = await settled_deal(client, market)
    settlement = await entry_of(session, deal["id"], EntryKind.settlement)
    path = f"/v1/ledger/entries/{settlement}/reverse"
    first = await post(client, path, market.operator, {"reason": "第一次"})
    assert first.status_code == 201, first.text
    entries = await count_entries(session)

    twice = await post(client, path, market.operator, {"reason": "第二次"})
    assert twice.status_code == 409, twice.text
    assert twice.json()["code"] == "already_reversed"
    undo_undo = await post(
        client, f"/v1/ledger/entries/{first.json()['id']}/reverse", market.operator, {"reason": "x"}
    )
    assert undo_undo.status_code == 409, undo_undo.text
    assert undo_undo.json()["code"] == "entry_is_reversal"
    assert await count_entries(session) == entries
    for actor in (market.buyer, market.auditor):
        assert (await post(client, path, actor, {"reason": "x"})).status_code == 403
    missing = await post(
        client, f"/v1/ledger/entries/{uuid.uuid4()}/reverse", market.operator, {"reason": "x"}
    )
    assert missing.status_code == 404


async def test_a_reversal_may_not_overdraw_the_sellers_payable(
    client: AsyncClient, market: Market, session: AsyncSession
) -> None:
    first = await settled_deal(client, market, gross="1000.00")
    second = await settled_deal(client, market, gross="3000.00")
    seller = await ledger_accounts.organization_account(session, market.seller_org.id)
    held = (await balances(client, market))[f"org-{market.seller_org.id}"]
    assert held == 86_000 + 258_000  # 86% of each gross (3% fee, 11% tax)

    # The platform pays the seller out (the API has no payout yet: the ledger service's own
    # entry). It may not pay out more than the payable holds…
    payout = EntryFacts(kind=EntryKind.refund, created_by="test:payout", memo="付款给卖方")
    with pytest.raises(InsufficientFunds):
        await ledger_posting.post_entry(session, payout, [(seller, -(held + 1)), (BANK, held + 1)])
    # …and after paying out all but what the first deal's settlement left, that settlement
    # can be reversed but the second one's, larger, cannot: the payable no longer covers it.
    await ledger_posting.post_entry(session, payout, [(seller, -258_000), (BANK, 258_000)])
    await session.commit()
    entries = await count_entries(session)

    big = await entry_of(session, second["id"], EntryKind.settlement)
    refused = await post(
        client, f"/v1/ledger/entries/{big}/reverse", market.operator, {"reason": "退回"}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "insufficient_funds"
    assert await count_entries(session) == entries
    unchanged = (await client.get(f"/v1/deals/{second['id']}", headers=market.buyer.headers)).json()
    assert unchanged["status"] == "settled"

    small = await entry_of(session, first["id"], EntryKind.settlement)
    done = await post(
        client, f"/v1/ledger/entries/{small}/reverse", market.operator, {"reason": "退回"}
    )
    assert done.status_code == 201, done.text
    after = await balances(client, market)
    assert after[f"org-{market.seller_org.id}"] == 0
    listed = await client.get("/v1/ledger/accounts", headers=market.auditor.headers)
    for account in listed.json()["items"]:
        if not account["may_go_negative"]:
            assert fen(account["balance"]) >= 0, account
    assert sum(after.values()) == 0
    assert (await verify(client, market))["ok"] is True
