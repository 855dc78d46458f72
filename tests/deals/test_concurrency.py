"""Settling and refunding under fire (PostgreSQL): 200 concurrent settle/refund requests over
50 funded deals through two API processes on one database, with idempotency keys sent to both
processes at once, clients that give up early, and random retries. Every deal must end settled
or refunded exactly once, the books must balance and the ledger must verify."""

import asyncio
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.main import create_app
from app.models.deals import Deal, DealStatus
from app.models.ledger import LEDGER_CHAINS, EntryKind, JournalEntry, LedgerChain
from app.services.deals import share
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import posting as ledger_posting
from app.services.ledger.entries import EntryFacts
from tests.conftest import TEST_SECRET, make_settings
from tests.deals.conftest import Market, build_market, funded_deal, post
from tests.servers import running_servers

DEALS = 50
MILESTONE_DEALS = 10  # of the 50: settled as two milestones at once, or refunded whole
REQUESTS = 200
DUPLICATES = 40  # of the 200: the same request (principal, key, body) sent to the other process
IMPATIENT = 0.15  # share of requests whose client gives up at once and sends it again
RETRIED = 0.3  # share of requests sent again after their answer came back
GROSS_FEN = 1_234_567


@dataclass(frozen=True, slots=True)
class Request:
    deal_id: str
    action: str  # settle | refund
    actor: str  # operator | buyer (refunds are the operator's)
    key: str
    server: int
    impatient: bool


@dataclass
class Outcome:
    request: Request
    responses: list[httpx.Response]
    final: httpx.Response
    timeouts: int = 0


@pytest.fixture
async def database(migrated_fresh_database_url: str) -> AsyncIterator[Database]:
    db = Database(create_engine(migrated_fresh_database_url))
    try:
        yield db
    finally:
        await db.dispose()


@dataclass(frozen=True)
class FreshMarket:
    """A market committed in a database of the test's own, for real concurrent writers."""

    settings: Settings
    market: Market
    database: Database

    @property
    def url(self) -> str:
        return self.settings.database_url

    def client(self) -> httpx.AsyncClient:
        """A client of the app in this process, on this database."""
        transport = httpx.ASGITransport(app=create_app(self.settings, database=self.database))
        return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def fresh(migrated_fresh_database_url: str, database: Database) -> FreshMarket:
    settings = make_settings(migrated_fresh_database_url)
    async with database.unit_of_work(write=True) as session:
        market = await build_market(session, settings)
    return FreshMarket(settings, market, database)


def _fen(text: str) -> int:
    negative = text.startswith("-")
    whole, cents = text.lstrip("-").split(".")
    value = int(whole) * 100 + int(cents)
    return -value if negative else value


async def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def _open_funded_deals(
    client: httpx.AsyncClient, urls: list[str], market: Market
) -> list[dict[str, Any]]:
    async def one(number: int) -> dict[str, Any]:
        url = urls[number % len(urls)]
        body: dict[str, Any] = {
            "technology_id": str(market.technology.id),
            "title": f"并发结算 {number}",
            "category": ("transfer", "consulting", "service", "development")[number % 4],
            "gross_amount": f"{GROSS_FEN // 100}.{GROSS_FEN % 100:02d}",
        }
        if number < MILESTONE_DEALS:
            body["milestones"] = [
                {"title": "一", "amount": "4567.89"},
                {"title": "二", "amount": f"{(GROSS_FEN - 456_789) / 100:.2f}"},
            ]
        headers = {**market.buyer.headers, "Idempotency-Key": str(uuid.uuid4())}
        deal = await _ok(await client.post(f"{url}/v1/deals", json=body, headers=headers), 201)
        headers = {**market.operator.headers, "Idempotency-Key": str(uuid.uuid4())}
        return await _ok(await client.post(f"{url}/v1/deals/{deal['id']}/fund", headers=headers))

    return list(await asyncio.gather(*(one(n) for n in range(DEALS))))


def _plan(deal_ids: list[str], rng: random.Random) -> list[Request]:
    """Every deal at least once, then random ones; some sent to both processes."""
    originals: list[Request] = []
    for number in range(REQUESTS - DUPLICATES):
        deal_id = deal_ids[number] if number < len(deal_ids) else rng.choice(deal_ids)
        action = rng.choice(("settle", "refund"))
        actor = "operator" if action == "refund" or rng.random() < 0.5 else "buyer"
        originals.append(
            Request(
                deal_id=deal_id,
                action=action,
                actor=actor,
                key=str(uuid.uuid4()),
                server=number % 2,
                impatient=rng.random() < IMPATIENT,
            )
        )
    rng.shuffle(originals)
    doubled = set(rng.sample(range(len(originals)), DUPLICATES))
    planned: list[Request] = []
    for number, request in enumerate(originals):
        planned.append(request)
        if number in doubled:  # sent right after it, so the two often meet in flight
            twin = replace(request, server=1 - request.server, impatient=rng.random() < IMPATIENT)
            planned.append(twin)
    return planned


async def _send_until_answered(
    client: httpx.AsyncClient,
    urls: list[str],
    market: Market,
    request: Request,
    rng: random.Random,
    outcome_responses: list[httpx.Response],
    *,
    impatient: bool,
) -> tuple[httpx.Response, int]:
    """Send until the answer is not 'in flight'; an impatient client gives up on its first try
    (the request may still run) and sends it again."""
    actor = market.operator if request.actor == "operator" else market.buyer
    headers = {**actor.headers, "Idempotency-Key": request.key}
    path = f"{urls[request.server]}/v1/deals/{request.deal_id}/{request.action}"
    timeouts = 0
    for attempt in range(400):
        timeout = rng.uniform(0.001, 0.02) if impatient and attempt == 0 else 60.0
        try:
            response = await client.post(path, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            timeouts += 1
            continue
        except httpx.TransportError:
            # The answer was lost on the way another way: an impatient client's abandoned
            # request leaves its connection closing, and the pool may hand it out once more
            # (seen as a ReadError under load in CI). A client with a key just sends again;
            # a server that died would refuse every attempt, and the loop below gives up.
            await asyncio.sleep(rng.uniform(0.005, 0.05))
            continue
        outcome_responses.append(response)
        if response.status_code == 409 and response.json()["code"] == "idempotency_key_in_flight":
            await asyncio.sleep(rng.uniform(0.005, 0.05))
            continue
        return response, timeouts
    raise AssertionError(f"{request} stayed in flight")


async def _run(
    client: httpx.AsyncClient,
    urls: list[str],
    market: Market,
    request: Request,
    rng: random.Random,
) -> Outcome:
    responses: list[httpx.Response] = []
    final, timeouts = await _send_until_answered(
        client, urls, market, request, rng, responses, impatient=request.impatient
    )
    if rng.random() < RETRIED:  # the answer got lost on the way: send it again
        await asyncio.sleep(rng.uniform(0, 0.05))
        again, more = await _send_until_answered(
            client, urls, market, request, rng, responses, impatient=False
        )
        timeouts += more
        if final.status_code == 200:
            assert again.status_code == 200, again.text
            assert again.headers.get("idempotent-replayed") == "true"
            assert again.content == final.content
        else:  # a refusal stored nothing: the retry ran again, and the deal is closed anyway
            assert (again.status_code, again.json()["code"]) == (409, "illegal_transition")
    return Outcome(request, responses, final, timeouts)


def _answer(response: httpx.Response) -> tuple[int, bytes | str]:
    """What a client learns: the body of a success, the code of a refusal."""
    if response.status_code == 200:
        return 200, response.content
    return response.status_code, str(response.json()["code"])


async def _verify_until(
    client: httpx.AsyncClient, urls: list[str], market: Market, done: asyncio.Event
) -> list[dict[str, Any]]:
    """An auditor verifying the ledger again and again while it is being written."""
    answers: list[dict[str, Any]] = []
    while not done.is_set():
        url = urls[len(answers) % len(urls)]
        verified = await client.get(f"{url}/v1/ledger/verify", headers=market.auditor.headers)
        answers.append(await _ok(verified))
        await asyncio.sleep(0.2)
    return answers


async def _entries_by_deal(session: AsyncSession) -> dict[uuid.UUID, list[JournalEntry]]:
    found: dict[uuid.UUID, list[JournalEntry]] = defaultdict(list)
    for entry in (
        await session.scalars(select(JournalEntry).order_by(JournalEntry.occurred_at))
    ).all():
        assert entry.deal_id is not None
        found[entry.deal_id].append(entry)
    return found


@pytest.mark.postgres_only
async def test_concurrent_settles_and_refunds_move_each_deal_once(
    fresh: FreshMarket,
) -> None:
    market, database = fresh.market, fresh.database
    env = {
        "INNOSHARE_DATABASE_URL": fresh.url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "WARNING",
    }
    rng = random.Random(20261125)
    limits = httpx.Limits(max_connections=REQUESTS + 50, max_keepalive_connections=50)
    with running_servers(2, env) as urls:
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            deals = await _open_funded_deals(client, urls, market)
            deal_ids = [d["id"] for d in deals]
            planned = _plan(deal_ids, rng)
            storm_over = asyncio.Event()
            auditing = asyncio.create_task(_verify_until(client, urls, market, storm_over))
            outcomes = await asyncio.gather(
                *(_run(client, urls, market, request, rng) for request in planned)
            )
            storm_over.set()
            verified_during = await auditing

            auditor = market.auditor.headers
            accounts = await _ok(await client.get(f"{urls[0]}/v1/ledger/accounts", headers=auditor))
            verified = await _ok(await client.get(f"{urls[1]}/v1/ledger/verify", headers=auditor))

    # No 5xx, no other refusal than "already closed" or "still in flight".
    every = [r for o in outcomes for r in o.responses]
    assert len(every) >= REQUESTS
    statuses = Counter(
        (r.status_code, r.json().get("code") if r.status_code != 200 else None) for r in every
    )
    assert set(statuses) <= {
        (200, None),
        (409, "illegal_transition"),
        (409, "idempotency_key_in_flight"),
    }, statuses

    # One request per key ran; every answer to a key is that one's.
    by_key: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_key[outcome.request.key].append(outcome)
    ran: dict[str, Request] = {}
    for key, twins in by_key.items():
        finals = {_answer(o.final) for o in twins}
        assert len(finals) == 1, (key, finals)
        fresh = [
            r
            for o in twins
            for r in o.responses
            if r.status_code == 200 and "idempotent-replayed" not in r.headers
        ]
        assert len(fresh) <= 1, key
        if twins[0].final.status_code == 200:
            body = twins[0].final.json()
            request = twins[0].request
            assert body["id"] == request.deal_id
            assert body["status"] == {"settle": "settled", "refund": "refunded"}[request.action]
            assert request.deal_id not in ran, "a deal was closed twice"
            ran[request.deal_id] = request
    assert sorted(ran) == sorted(deal_ids), "every deal is closed by exactly one request"
    assert any(o.timeouts for o in outcomes), "no client gave up early: the plan is too gentle"
    assert any(len(twins) > 1 for twins in by_key.values())

    # The database: each deal closed once, as its winning request said.
    milestone_deals = {d["id"] for d in deals if d["milestones"]}
    async with database.unit_of_work(write=False) as session:
        closed = {str(d.id): d for d in (await session.scalars(select(Deal))).all()}
        entries = await _entries_by_deal(session)
    expected = {"fee_revenue": 0, "tax_payable": 0, "bank": 0, "escrow": 0}
    seller_net = 0
    for deal_id, request in ran.items():
        deal = closed[deal_id]
        kinds = [e.kind for e in entries[deal.id]]
        assert deal.escrow_fen == 0
        if request.action == "settle":
            assert deal.status is DealStatus.settled
            settlements = 2 if deal_id in milestone_deals else 1
            assert kinds == [EntryKind.funding] + [EntryKind.settlement] * settlements, kinds
            assert deal.released_fen == GROSS_FEN
            assert deal.fee_fen == share(GROSS_FEN, deal.fee_rate_bp)
            assert deal.tax_fen == share(GROSS_FEN, deal.tax_rate_bp)
            assert sum(e.volume_fen for e in entries[deal.id]) == GROSS_FEN
            expected["bank"] -= GROSS_FEN
            expected["fee_revenue"] += deal.fee_fen
            expected["tax_payable"] += deal.tax_fen
            seller_net += GROSS_FEN - deal.fee_fen - deal.tax_fen
        else:
            assert deal.status is DealStatus.refunded
            assert kinds == [EntryKind.funding, EntryKind.refund], kinds
            assert deal.refunded_fen == GROSS_FEN
    assert len(closed) == DEALS

    # The books: balanced, nothing negative that may not be, as the deals say.
    balances = {a["code"]: _fen(a["balance"]) for a in accounts["items"]}
    assert sum(balances.values()) == 0
    for account in accounts["items"]:
        if not account["may_go_negative"]:
            assert _fen(account["balance"]) >= 0, account
    assert {code: balances[code] for code in expected} == expected
    assert balances[f"org-{market.seller_org.id}"] == seller_net
    assert verified["ok"] is True, verified["problems"]
    # verifying a ledger that is being written sees it as of an instant: never a false alarm
    assert verified_during, "the auditor never got an answer during the storm"
    assert [v["problems"] for v in verified_during if not v["ok"]] == []
    assert verified["entries_checked"] == sum(len(e) for e in entries.values())


async def _lock_waiters(engine: AsyncEngine) -> list[int]:
    """Backends of this database waiting for a lock."""
    async with engine.connect() as watcher:
        found = await watcher.scalars(
            text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return list(found.all())


@pytest.mark.postgres_only
async def test_a_reversal_holding_the_platform_accounts_does_not_hold_up_settlements(
    fresh: FreshMarket,
) -> None:
    """A reversal locks the accounts it takes money from (the seller's, fee, tax) and then waits
    for a chain when all are busy; settlements post to those same accounts meanwhile (their
    foreign-key checks must not queue behind that lock, or the chains' holders deadlock)."""
    market, database = fresh.market, fresh.database
    blockers_engine = create_engine(fresh.url, pool_size=LEDGER_CHAINS + 2)
    blockers: dict[int, AsyncConnection] = {}
    try:
        async with fresh.client() as client:
            first = await funded_deal(client, market)
            assert (await post(client, f"/v1/deals/{first['id']}/settle", market.buyer)).is_success
            second = await funded_deal(client, market)
            async with database.unit_of_work(write=False) as session:
                settlement = await session.scalar(
                    select(JournalEntry.id).where(JournalEntry.kind == EntryKind.settlement)
                )

            for chain in range(LEDGER_CHAINS):  # every chain busy, each in its own transaction
                blocker = await blockers_engine.connect()
                await blocker.execute(
                    select(LedgerChain.chain).where(LedgerChain.chain == chain).with_for_update()
                )
                pid = await blocker.scalar(select(func.pg_backend_pid()))
                assert pid is not None
                blockers[pid] = blocker
            reversal = asyncio.create_task(
                post(
                    client,
                    f"/v1/ledger/entries/{settlement}/reverse",
                    market.operator,
                    {"reason": "验收未通过"},
                )
            )
            for _ in range(400):
                waiting = await _lock_waiters(blockers_engine)
                if waiting:
                    break
                await asyncio.sleep(0.025)
            else:
                pytest.fail("the reversal never waited for a chain")
            async with blockers_engine.connect() as watcher:
                holders = await watcher.scalar(select(func.pg_blocking_pids(waiting[0])))
            assert holders is not None
            [holder] = holders
            for pid in list(blockers):  # free every chain but the one the reversal waits for
                if pid != holder:
                    await blockers.pop(pid).close()

            settle = asyncio.create_task(
                post(client, f"/v1/deals/{second['id']}/settle", market.buyer)
            )
            finished, _ = await asyncio.wait({settle}, timeout=15)
            stuck = settle not in finished
            await blockers.pop(holder).close()
            assert not stuck, "the settlement waited for the reversal's account locks"
            settled = await settle
            assert settled.status_code == 200, settled.text
            reversed_ = await asyncio.wait_for(reversal, timeout=30)
            assert reversed_.status_code == 201, reversed_.text

            verified = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
            assert verified.json()["ok"] is True, verified.json()
            assert verified.json()["entries_checked"] == 5
    finally:
        for blocker in blockers.values():
            await blocker.close()
        await blockers_engine.dispose()


@pytest.mark.postgres_only
async def test_concurrent_reversals_of_one_entry_write_one(
    fresh: FreshMarket,
) -> None:
    market, database = fresh.market, fresh.database
    async with fresh.client() as client:
        deal = await funded_deal(client, market)
        assert (await post(client, f"/v1/deals/{deal['id']}/settle", market.buyer)).is_success
        async with database.unit_of_work(write=False) as session:
            settlement = await session.scalar(
                select(JournalEntry.id).where(JournalEntry.kind == EntryKind.settlement)
            )
        path = f"/v1/ledger/entries/{settlement}/reverse"
        answers = await asyncio.gather(
            *(post(client, path, market.operator, {"reason": f"第{n}次"}) for n in range(8)),
            post(client, f"/v1/deals/{deal['id']}/refund", market.operator),
        )
        reversals, refund = answers[:-1], answers[-1]
        assert sorted(r.status_code for r in reversals) == [201] + [409] * 7
        assert {r.json()["code"] for r in reversals if r.status_code == 409} == {"already_reversed"}
        # the refund ran before the reversal (409: the deal was settled) or after it (200)
        assert refund.status_code in (200, 409), refund.text
        verified = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
        assert verified.json()["ok"] is True
        assert verified.json()["entries_checked"] == 3 + (refund.status_code == 200)


@pytest.mark.postgres_only
async def test_concurrent_reversals_of_an_entry_without_a_deal_write_one(
    fresh: FreshMarket,
) -> None:
    """No deal lock serializes these, and reversing a payout takes money from no account that
    must stay positive: only the entry's own row lock keeps the second reversal from failing
    on the one-reversal-per-entry index (a 500)."""
    market, bank = fresh.market, ledger_accounts.BANK
    async with fresh.database.unit_of_work(write=True) as session:
        seller = await ledger_accounts.organization_account(session, market.seller_org.id)
        # the API has no deposits or payouts yet: the ledger service's own entries
        deposit = EntryFacts(kind=EntryKind.funding, created_by="test:deposit", memo="预付款")
        await ledger_posting.post_entry(session, deposit, [(bank, -50_000), (seller, 50_000)])
        payout = EntryFacts(kind=EntryKind.refund, created_by="test:payout", memo="付款给卖方")
        entry_id = await ledger_posting.post_entry(
            session, payout, [(seller, -50_000), (bank, 50_000)]
        )
    async with fresh.client() as client:
        path = f"/v1/ledger/entries/{entry_id}/reverse"
        answers = await asyncio.gather(
            *(post(client, path, market.operator, {"reason": f"第{n}次"}) for n in range(8))
        )
        assert sorted(r.status_code for r in answers) == [201] + [409] * 7, [
            r.text for r in answers if r.status_code not in (201, 409)
        ]
        assert {r.json()["code"] for r in answers if r.status_code == 409} == {"already_reversed"}
        verified = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
        assert verified.json()["ok"] is True
        assert verified.json()["entries_checked"] == 3
        balances = await client.get("/v1/ledger/accounts", headers=market.auditor.headers)
        held = {a["id"]: a["balance"] for a in balances.json()["items"]}
        assert held[str(seller)] == "500.00"  # paid out once, the payout taken back once
