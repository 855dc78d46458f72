"""The totals kept as entries are written (``ledger_totals``, kept by ``posting.post_entry``)
answer exactly what the entries say, for every grouping and every period they can answer;
the rest is read from the entries. A change of time zone falls back to the entries until the
totals are rebuilt (``innoshare rebuild-totals``), migration 0006 fills them from the entries
already written, and verify finds kept totals that disagree with the entries.

The ledger below is written through the deal services with the clock set on and around the
calendar's edges in Shanghai (UTC+8: 2020-03-31T16:00Z is the first instant of April).
"""

import os
import random
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.models.deals import ContractCategory, Deal, DealStatus, MilestoneStatus
from app.models.ledger import (
    EntryKind,
    JournalEntry,
    LedgerTotal,
    LedgerTotalsState,
    TotalsDimension,
    TotalsPeriod,
)
from app.models.orgs import OrganizationKind
from app.services import deals as deals_service
from app.services.ledger import rollup as ledger_rollup
from app.services.ledger import totals as ledger_totals
from app.services.ledger import verify as ledger_verify
from app.services.ledger.totals import GroupBy, TotalsRow
from tests import builders
from tests.conftest import TEST_SECRET, downgrade, migrate
from tests.deals.conftest import Clock, Market, fixed_clock

INNOSHARE = str(Path(sys.executable).with_name("innoshare"))
SHANGHAI = ZoneInfo("Asia/Shanghai")
MICROSECOND = timedelta(microseconds=1)


def fen(money: str) -> int:
    whole, cents = money.lstrip("-").split(".")
    value = int(whole) * 100 + int(cents)
    return -value if money.startswith("-") else value


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return fixed_clock(monkeypatch, datetime(2019, 11, 1, tzinfo=UTC))


def local(year: int, month: int, day: int = 1) -> datetime:
    """Midnight in Shanghai, as the router makes a day given as ``from``."""
    return datetime(year, month, day, tzinfo=SHANGHAI)


def month_starts() -> list[datetime]:
    return [local(2019 + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(12, 12 + 16)]


def edge_instants() -> list[datetime]:
    """Instants on every month's edge (the last microsecond of a month, the first of the next,
    half an hour in), from December 2019 to March 2021."""
    found = []
    for start in month_starts():
        found += [start - MICROSECOND, start, start + timedelta(minutes=30)]
    return sorted(found)


@dataclass
class Ledger:
    deals: int
    settlements: int
    reversals: int
    refunds: int


async def write_ledger(session: AsyncSession, clock: Clock, *, seed: int = 2020) -> Ledger:
    """Deals of 4 buyers with 3 sellers in every category, 0–3 milestones, settled on and
    around month edges; some settlements reversed (in the same month or later, some settled
    again afterwards), some deals refunded after a first release."""
    rng = random.Random(seed)
    operator = builders.principal()
    sellers = [
        await builders.create_organization(session, kind=OrganizationKind.university)
        for _ in range(3)
    ]
    technologies = [await builders.published_technology(session, s) for s in sellers]
    buyers = [
        await builders.create_organization(session, kind=OrganizationKind.enterprise)
        for _ in range(4)
    ]
    moments = edge_instants()
    book = Ledger(0, 0, 0, 0)

    def later(after: datetime) -> datetime:
        # mostly an edge instant soon after, sometimes the very next microsecond
        options = [m for m in moments if after < m <= after + timedelta(days=70)]
        if not options or rng.random() < 0.15:
            return after + MICROSECOND
        return rng.choice(options[:6])

    for number in range(28):
        parts = rng.choice([0, 0, 1, 2, 3])
        amounts = [rng.randrange(100_00, 300_000_00) for _ in range(max(parts, 1))]
        deal = await deals_service.create_deal(
            session,
            operator,
            deals_service.DealInput(
                technology_id=technologies[number % 3].id,
                title=f"技术合同{number}",
                # not license: a ledger with license deals cannot go below migration 0013
                category=rng.choice([c for c in ContractCategory if c != "license"]),
                gross_fen=sum(amounts),
                buyer_id=buyers[rng.randrange(4)].id,
                milestones=[
                    deals_service.MilestoneInput(title=f"第{n}期", amount_fen=a)
                    for n, a in enumerate(amounts, start=1)
                ]
                if parts
                else (),
            ),
            fee_rate_bp={c.value: 300 + 50 * n for n, c in enumerate(ContractCategory)},
            tax_rate_bp={c.value: 1100 + 100 * n for n, c in enumerate(ContractCategory)},
        )
        book.deals += 1
        clock.now = rng.choice(moments[:-12])
        await deals_service.fund_deal(session, operator, deal.id)
        while True:
            clock.now = later(clock.now)
            fresh = await session.get(Deal, deal.id)
            assert fresh is not None
            if fresh.status is not DealStatus.funded:
                break
            pending = [m for m in fresh.milestones if m.status is MilestoneStatus.pending]
            if book.settlements and rng.random() < 0.1:
                await deals_service.refund_deal(session, operator, deal.id)
                book.refunds += 1
                break
            milestone = rng.choice(pending).id if pending and rng.random() < 0.7 else None
            await deals_service.settle_deal(session, operator, deal.id, milestone_id=milestone)
            book.settlements += 1
            if rng.random() < 0.3:
                # undo the newest settlement: in the same instant's month, or later
                clock.now = later(clock.now) if rng.random() < 0.6 else clock.now + MICROSECOND
                newest = await session.scalar(
                    select(JournalEntry.id)
                    .where(
                        JournalEntry.deal_id == deal.id, JournalEntry.kind == EntryKind.settlement
                    )
                    .order_by(JournalEntry.occurred_at.desc(), JournalEntry.seq.desc())
                    .limit(1)
                )
                assert newest is not None
                already = await session.scalar(
                    select(JournalEntry.id).where(JournalEntry.reverses_id == newest)
                )
                if already is None:
                    await deals_service.reverse_entry(session, operator, newest, reason="冲销")
                    book.reversals += 1
                    if rng.random() < 0.5:
                        break  # left funded, its settlement undone
    await session.commit()
    return book


def periods(zone: str) -> list[tuple[datetime | None, datetime | None]]:
    """Whole buckets of ``zone`` (the kept totals answer), spans of them, and arbitrary
    instants."""

    def local(year: int, month: int, day: int = 1) -> datetime:
        return datetime(year, month, day, tzinfo=ZoneInfo(zone))

    starts = [local(2019 + (m - 1) // 12, (m - 1) % 12 + 1) for m in range(12, 12 + 16)]
    found: list[tuple[datetime | None, datetime | None]] = [(None, None)]
    found += list(zip(starts, starts[1:], strict=False))  # months
    found += [  # quarters
        (local(2019, 10), local(2020, 1)),
        (local(2020, 1), local(2020, 4)),
        (local(2020, 4), local(2020, 7)),
        (local(2020, 7), local(2020, 10)),
        (local(2020, 10), local(2021, 1)),
        (local(2021, 1), local(2021, 4)),
    ]
    found += [(local(2019, 1), local(2020, 1)), (local(2020, 1), local(2021, 1))]  # years
    found += [(local(2021, 1), local(2022, 1))]
    found += [
        (local(2020, 2), local(2020, 5)),  # three months, not a quarter
        (local(2020, 4), None),
        (None, local(2020, 7)),
        (local(2020, 1), local(2020, 7)),  # two quarters
        (local(2020, 3, 31), local(2020, 4, 2)),  # days
        (local(2020, 3, 31) + timedelta(hours=16, minutes=30), local(2020, 7)),
        (None, local(2021, 1) - MICROSECOND),
        (datetime(2020, 3, 31, 16, tzinfo=UTC), datetime(2020, 6, 30, 16, tzinfo=UTC)),  # Q2
        (datetime(2020, 4, 1, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC)),  # Q2 in UTC
    ]
    return found


async def compare_all(session: AsyncSession, zone: str) -> int:
    """Every grouping over every period: what the kept totals answer equals what the entries
    say. Returns how many of the cases the kept totals answered."""
    answered = 0
    for group_by in GroupBy:
        for start, end in periods(zone):
            period: dict[str, Any] = {
                "start": start,
                "end": end,
                "group_by": group_by,
                "zone": zone,
            }
            expected = await ledger_totals.totals_from_entries(session, **period)
            kept = await ledger_totals.totals_from_kept(session, **period)
            if kept is not None:
                answered += 1
                assert kept == expected, (group_by, start, end)
            assert await ledger_totals.totals(session, **period) == expected
    return answered


async def test_kept_totals_equal_the_entries_for_every_grouping_and_period(
    session: AsyncSession, clock: Clock
) -> None:
    book = await write_ledger(session, clock)
    assert book.settlements > 30
    assert book.reversals > 5
    assert book.refunds > 0
    assert await compare_all(session, "Asia/Shanghai") >= 150
    verified = await ledger_verify.verify(session)
    assert verified.ok, verified.problems

    async def kept(
        start: datetime | None, end: datetime | None, group_by: GroupBy
    ) -> list[TotalsRow] | None:
        return await ledger_totals.totals_from_kept(
            session, start=start, end=end, group_by=group_by, zone="Asia/Shanghai"
        )

    # which requests the kept totals answer, and which they leave to the entries
    q2 = (local(2020, 4), local(2020, 7))
    for group_by in GroupBy:
        assert await kept(None, None, group_by) is not None, group_by
        assert await kept(*q2, group_by) is not None, group_by
    for group_by in (GroupBy.none, GroupBy.quarter, GroupBy.year, GroupBy.seller):
        assert await kept(local(2020, 2), local(2020, 5), group_by) is None, group_by
    assert await kept(local(2020, 2), local(2020, 5), GroupBy.month) is not None
    (year,) = await kept(*q2, GroupBy.year) or []
    assert year.group == "2020"
    assert await kept(local(2020, 1), local(2020, 7), GroupBy.none) is None
    assert await kept(local(2020, 1), local(2020, 7), GroupBy.quarter) is not None
    assert await kept(None, local(2021, 1) - MICROSECOND, GroupBy.year) is None
    # the months of a quarter add up to it (amounts; counts are distinct, they need not)
    (quarter,) = await ledger_totals.totals(
        session, start=q2[0], end=q2[1], group_by=GroupBy.none, zone="Asia/Shanghai"
    )
    months = await ledger_totals.totals(
        session, start=q2[0], end=q2[1], group_by=GroupBy.month, zone="Asia/Shanghai"
    )
    assert [m.group for m in months] == ["2020-04", "2020-05", "2020-06"]
    assert sum(m.transaction_volume_fen for m in months) == quarter.transaction_volume_fen
    assert quarter.deals_settled > 0


async def test_a_quarter_given_by_days_is_read_from_the_kept_totals(
    client: AsyncClient,
    market: Market,
    session: AsyncSession,
    clock: Clock,
) -> None:
    """``from=2020-04-01&to=2020-06-30`` is the second quarter: one fen added to its kept row
    behind the API's back shows in the answer (and verify finds it)."""
    await write_ledger(session, clock)
    headers = market.auditor.headers

    async def groups(**params: str) -> list[dict[str, Any]]:
        got = await client.get("/v1/ledger/totals", params=params, headers=headers)
        assert got.status_code == 200, got.text
        return list(got.json()["groups"])

    quarter = {"from": "2020-04-01", "to": "2020-06-30", "group_by": "category"}
    odd = {"from": "2020-04-02", "to": "2020-06-30", "group_by": "category"}
    first = (await groups(**quarter))[0]
    odd_before = await groups(**odd)
    group_rows = (
        LedgerTotal.period_kind == TotalsPeriod.quarter,
        LedgerTotal.period == "2020-Q2",
        LedgerTotal.dimension == TotalsDimension.category,
        LedgerTotal.group_key == first["group"],
    )
    shard = await session.scalar(select(func.min(LedgerTotal.shard)).where(*group_rows))
    await session.execute(
        update(LedgerTotal)
        .where(*group_rows, LedgerTotal.shard == shard)
        .values(volume_fen=LedgerTotal.volume_fen + 1)
        .execution_options(synchronize_session=False)
    )
    changed = (await groups(**quarter))[0]
    assert changed["group"] == first["group"]
    assert fen(changed["transaction_volume"]) == fen(first["transaction_volume"]) + 1
    assert changed["fee_total"] == first["fee_total"]
    # a period that is not a whole bucket is read from the entries: unchanged
    assert await groups(**odd) == odd_before
    verified = await client.get("/v1/ledger/verify", headers=headers)
    body = verified.json()
    assert body["ok"] is False
    assert body["first_bad_entry"] is None  # the entries are fine; the kept totals are not
    assert any("quarter/category" in p and "2020-Q2" in p for p in body["problems"])


async def test_another_time_zone_reads_the_entries_until_the_totals_are_rebuilt(
    session: AsyncSession, clock: Clock, settings: Settings
) -> None:
    await write_ledger(session, clock)
    everything: dict[str, Any] = {"start": None, "end": None, "group_by": GroupBy.month}
    assert await ledger_totals.totals_from_kept(session, **everything, zone="UTC") is None
    in_utc = await ledger_totals.totals(session, **everything, zone="UTC")
    in_shanghai = await ledger_totals.totals(session, **everything, zone="Asia/Shanghai")
    assert in_utc != in_shanghai  # entries on month edges move

    rebuilt = await ledger_rollup.rebuild_totals(session, zone="UTC")
    assert rebuilt.zone == "UTC"
    assert rebuilt.totals_rows > 0
    assert rebuilt.deal_rows > 0
    assert rebuilt.buyer_rows > 0
    assert await session.scalar(select(LedgerTotalsState.zone)) == "UTC"
    assert await ledger_totals.totals_from_kept(session, **everything, zone="UTC") == in_utc
    assert await ledger_totals.totals_from_kept(session, **everything, zone="Asia/Shanghai") is None
    assert await ledger_totals.totals(session, **everything, zone="Asia/Shanghai") == in_shanghai
    assert await compare_all(session, "UTC") >= 150
    # entries written after the rebuild go into UTC buckets
    await write_ledger(session, clock, seed=7)
    assert await compare_all(session, "UTC") >= 150
    verified = await ledger_verify.verify(session)
    assert verified.ok, verified.problems


async def test_entries_are_not_kept_in_totals_when_the_totals_are_not_kept(
    session: AsyncSession, clock: Clock
) -> None:
    await session.execute(text("DELETE FROM ledger_totals_state"))
    await write_ledger(session, clock)
    assert await session.scalar(select(func.count()).select_from(LedgerTotal)) == 0
    everything: dict[str, Any] = {
        "start": None,
        "end": None,
        "group_by": GroupBy.none,
        "zone": "Asia/Shanghai",
    }
    assert await ledger_totals.totals_from_kept(session, **everything) is None
    (row,) = await ledger_totals.totals(session, **everything)
    assert row.transaction_volume_fen > 0
    assert (await ledger_verify.verify(session)).ok


# --- a database of its own: the migration's backfill and the CLI's rebuild --------------------


async def _write_committed_ledger(url: str, clock: Clock) -> None:
    database = Database(create_engine(url))
    try:
        async with database.unit_of_work(write=True) as session:
            await write_ledger(session, clock)
    finally:
        await database.dispose()


async def _check(url: str, zone: str | None) -> tuple[int, bool, list[str]]:
    """(kept answers, verify ok, problems) of the database at ``url``; the kept totals are
    compared with the entries in ``zone`` unless it is None."""
    database = Database(create_engine(url))
    try:
        async with database.unit_of_work(write=False) as session:
            answered = await compare_all(session, zone) if zone else 0
            verified = await ledger_verify.verify(session)
    finally:
        await database.dispose()
    return answered, verified.ok, verified.problems


async def test_migration_0006_fills_the_totals_from_the_entries(
    fresh_database_url: str, clock: Clock
) -> None:
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    await _write_committed_ledger(fresh_database_url, clock)
    await anyio.to_thread.run_sync(downgrade, fresh_database_url, "0005")
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    answered, ok, problems = await _check(fresh_database_url, "Asia/Shanghai")
    assert answered >= 150
    assert ok, problems


def _innoshare(url: str, *args: str, zone: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "INNOSHARE_DATABASE_URL": url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_TIMEZONE": zone,
    }
    return subprocess.run([INNOSHARE, *args], env=env, capture_output=True, text=True, timeout=120)


async def test_rebuild_totals_command(fresh_database_url: str, clock: Clock) -> None:
    await anyio.to_thread.run_sync(migrate, fresh_database_url)
    await _write_committed_ledger(fresh_database_url, clock)
    # the kept totals lost (or the entries loaded behind post_entry's back): verify says so
    database = Database(create_engine(fresh_database_url))
    try:
        async with database.unit_of_work(write=True) as session:
            await session.execute(text("DELETE FROM ledger_totals WHERE period_kind = 'month'"))
    finally:
        await database.dispose()
    _, ok, problems = await _check(fresh_database_url, None)
    assert not ok
    assert any("totals by month/none" in p for p in problems), problems

    done = _innoshare(fresh_database_url, "rebuild-totals", zone="America/New_York")
    assert done.returncode == 0, done.stderr
    assert "rebuilt the ledger totals in America/New_York" in done.stdout
    answered, ok, problems = await _check(fresh_database_url, "America/New_York")
    assert answered >= 150
    assert ok, problems
