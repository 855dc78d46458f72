"""/v1/stats/overview: the platform's headline figures, computed from the data, as of a time."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import moment
from app.core.config import DEFAULT_TAX_RATE_BP
from app.core.db import Database, create_engine
from app.core.security import Role
from app.demo.load import SeedReport, seed_database
from app.demo.plan import SCALES, SHANGHAI, ScaleName
from app.main import create_app
from app.models.catalog import HistoryAction
from app.models.deals import Deal
from app.models.ledger import EntryKind, JournalEntry
from app.models.orgs import OrganizationKind
from app.services import catalog as catalog_service
from app.services import deals as deals_service
from app.services import technologies as technologies_service
from app.services.deals import share
from tests import builders
from tests.conftest import make_settings

SMALL = SCALES[ScaleName.small]
MICROSECOND = timedelta(microseconds=1)
FIELDS = (
    "talents",
    "technologies",
    "policies",
    "ip_assets",
    "financial_institutions",
    "universities_and_institutes",
)


async def test_money_fields_are_decimal_strings_until_deals_exist(client: AsyncClient) -> None:
    body = (await client.get("/v1/stats/overview")).json()
    assert body["transaction_volume"] == "0.00"
    assert body["tax_total"] == "0.00"
    assert body["currency"] == "CNY"
    assert body["enterprises_served"] == 0
    assert (
        await client.get("/v1/stats/overview", params={"as_of": "yesterday"})
    ).status_code == 422


async def test_published_items_count_as_of_a_time(
    client: AsyncClient, session: AsyncSession
) -> None:
    before = (await client.get("/v1/stats/overview")).json()
    owner = await builders.create_organization(session, kind=OrganizationKind.university)
    values = {"title": "统计测试", "trl": 3, "tags": [], "external_id": None}
    draft = await catalog_service.create_item(
        session,
        technologies_service.SPEC,
        principal=builders.principal(),
        values=values,
        owner_id=owner.id,
    )
    shown = await builders.published_technology(session, owner, title="统计测试", trl=3)
    gone = await builders.published_technology(session, owner, title="统计测试", trl=3)
    await builders.change_status(session, technologies_service.SPEC, gone, HistoryAction.withdraw)
    # publish and withdraw at known instants
    shown.published_at = datetime(2020, 3, 1, tzinfo=UTC)
    gone.published_at = datetime(2020, 1, 1, tzinfo=UTC)
    gone.withdrawn_at = datetime(2020, 4, 1, tzinfo=UTC)
    await session.commit()
    assert draft.published_at is None

    now = (await client.get("/v1/stats/overview")).json()
    assert now["technologies"] == before["technologies"] + 1  # the draft and the withdrawn don't
    assert now["universities_and_institutes"] == before["universities_and_institutes"] + 1

    february = (await client.get("/v1/stats/overview", params={"as_of": "2020-02-01"})).json()
    march = (await client.get("/v1/stats/overview", params={"as_of": "2020-03-15"})).json()
    may = (await client.get("/v1/stats/overview", params={"as_of": "2020-05-31"})).json()
    base = (await client.get("/v1/stats/overview", params={"as_of": "2019-12-31"})).json()
    assert february["technologies"] - base["technologies"] == 1  # `gone` was published
    assert march["technologies"] - base["technologies"] == 2  # both
    assert may["technologies"] - base["technologies"] == 1  # `gone` withdrawn in April
    # the organization was registered now, so it does not count in 2020
    assert may["universities_and_institutes"] == base["universities_and_institutes"]


def test_a_day_means_its_end_in_the_platform_time_zone() -> None:
    end = moment(date(2020, 5, 31), "Asia/Shanghai")
    assert end == datetime(2020, 5, 31, 15, 59, 59, 999999, tzinfo=UTC)
    assert end.utcoffset() == timedelta(0)  # always UTC
    assert moment(date(2020, 5, 31), "UTC") == datetime(2020, 5, 31, 23, 59, 59, 999999, tzinfo=UTC)
    exact = datetime(2020, 1, 1, 8, tzinfo=timezone(timedelta(hours=8)))
    assert moment(exact, "Asia/Shanghai") == exact
    assert moment(exact, "Asia/Shanghai").tzinfo is UTC
    assert abs(moment(None, "UTC") - datetime.now(UTC)) < timedelta(minutes=1)


@dataclass
class SeededDatabase:
    database: Database
    client: AsyncClient
    auditor: dict[str, str]
    report: SeedReport

    async def overview(self, as_of: str) -> dict[str, Any]:
        response = await self.client.get("/v1/stats/overview", params={"as_of": as_of})
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest.fixture
async def small_seed(migrated_fresh_database_url: str) -> AsyncIterator[SeededDatabase]:
    """A small seed, an auditor to read its ledger, and the app on it."""
    database = Database(create_engine(migrated_fresh_database_url))
    settings = make_settings(migrated_fresh_database_url)
    try:
        async with database.unit_of_work(write=True) as session:
            report = await seed_database(session, scale=SMALL, random_seed=7, accounts=False)
        async with database.write_sessionmaker() as session:
            auditor = await builders.create_user(session, role=Role.auditor)
        app = create_app(settings, database=database)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            yield SeededDatabase(database, client, builders.bearer_for(auditor, settings), report)
    finally:
        await database.dispose()


async def test_overview_reproduces_the_seeded_figures(small_seed: SeededDatabase) -> None:
    figures = (await small_seed.client.get("/v1/stats/overview")).json()
    end_of_may = await small_seed.overview("2020-05-31")
    expected = {
        "talents": SMALL.talents,
        "technologies": SMALL.technologies,
        "policies": SMALL.policies,
        "ip_assets": SMALL.ip_assets,
        "financial_institutions": SMALL.financial_institutions,
        "universities_and_institutes": SMALL.universities + SMALL.research_institutes,
    }
    assert {name: figures[name] for name in FIELDS} == expected
    # the figures are the platform's as of the end of May 2020
    assert {name: end_of_may[name] for name in FIELDS} == expected


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


async def test_overview_shows_the_seeded_deals_as_of_a_time(small_seed: SeededDatabase) -> None:
    async with small_seed.database.unit_of_work(write=False) as session:
        deals = (await session.scalars(select(Deal))).all()
        settlements = (
            await session.scalars(
                select(JournalEntry)
                .where(JournalEntry.kind == EntryKind.settlement)
                .order_by(JournalEntry.occurred_at)
            )
        ).all()
        # of settlements (the seed's returned payouts are reversals too, without volume)
        reversals = await session.scalar(
            select(func.count()).where(
                JournalEntry.kind == EntryKind.reversal, JournalEntry.volume_fen != 0
            )
        )
    assert settlements
    assert reversals == 0

    # The plan's figures: gross released per category, taxed at the default rates.
    planned = SMALL.deals.released_yuan
    volume = sum(planned.values()) * 100
    tax = sum(share(yuan * 100, DEFAULT_TAX_RATE_BP[c.value]) for c, yuan in planned.items())
    # The deals table agrees, and so do the settlement entries.
    assert sum(d.released_fen for d in deals) == volume
    assert sum(d.tax_fen for d in deals) == tax
    assert sum(e.volume_fen for e in settlements) == volume
    assert sum(e.tax_fen for e in settlements) == tax
    buyers = {d.buyer_id for d in deals if d.released_fen}
    assert len(buyers) == SMALL.enterprises
    report = small_seed.report.deals
    assert (report.transaction_volume_fen, report.tax_total_fen) == (volume, tax)
    assert report.enterprises_served == SMALL.enterprises

    for as_of in ("2020-05-31", "2026-01-01"):
        figures = await small_seed.overview(as_of)
        assert figures["transaction_volume"] == _yuan(volume) == "961700.00"
        assert figures["tax_total"] == _yuan(tax) == "112193.00"
        assert figures["tax_remitted"] == _yuan(small_seed.report.payouts.remitted_fen)
        assert figures["enterprises_served"] == SMALL.enterprises
        assert figures["currency"] == "CNY"

    # Before the first settlement: nothing; from its instant: it alone (and its buyer).
    first = settlements[0]
    day_before = first.occurred_at.astimezone(SHANGHAI).date() - timedelta(days=1)
    for as_of in ("2019-09-20", day_before.isoformat(), _iso(first.occurred_at - MICROSECOND)):
        figures = await small_seed.overview(as_of)
        assert figures["transaction_volume"] == "0.00", as_of
        assert figures["tax_total"] == "0.00"
        assert figures["enterprises_served"] == 0
    at_first = await small_seed.overview(_iso(first.occurred_at))
    same_instant = [e for e in settlements if e.occurred_at == first.occurred_at]
    assert at_first["transaction_volume"] == _yuan(sum(e.volume_fen for e in same_instant))
    assert at_first["tax_total"] == _yuan(sum(e.tax_fen for e in same_instant))
    assert at_first["enterprises_served"] == 1

    # Any day in between: the entries up to its end (Shanghai), as the auditors' totals say.
    for day in (date(2019, 12, 31), date(2020, 2, 29), date(2020, 4, 15)):
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=SHANGHAI)
        until = [e for e in settlements if e.occurred_at < end]
        figures = await small_seed.overview(day.isoformat())
        assert figures["transaction_volume"] == _yuan(sum(e.volume_fen for e in until))
        assert figures["tax_total"] == _yuan(sum(e.tax_fen for e in until))
        assert figures["enterprises_served"] == len({e.buyer_id for e in until})
        totals = await small_seed.client.get(
            "/v1/ledger/totals", params={"to": day.isoformat()}, headers=small_seed.auditor
        )
        assert totals.status_code == 200, totals.text
        (row,) = totals.json()["groups"]
        assert row["transaction_volume"] == figures["transaction_volume"]
        assert row["tax_total"] == figures["tax_total"]
        assert row["enterprises_served"] == figures["enterprises_served"]

    verified = await small_seed.client.get("/v1/ledger/verify", headers=small_seed.auditor)
    assert verified.status_code == 200, verified.text
    assert verified.json()["ok"] is True
    paid_out = small_seed.report.payouts
    assert verified.json()["entries_checked"] == report.entries + paid_out.entries

    # A settlement reversed now takes its amounts back from now on, not from 2020.
    reversed_ = settlements[-1]
    operator = builders.principal()
    async with small_seed.database.unit_of_work(write=True) as session:
        await deals_service.reverse_entry(
            session, operator, reversed_.id, reason="合同金额录入错误"
        )
    net: dict[uuid.UUID, int] = {}
    for entry in settlements:
        if entry.id != reversed_.id:
            assert entry.buyer_id is not None
            net[entry.buyer_id] = net.get(entry.buyer_id, 0) + entry.volume_fen
    now = (await small_seed.client.get("/v1/stats/overview")).json()
    assert now["transaction_volume"] == _yuan(volume - reversed_.volume_fen)
    assert now["tax_total"] == _yuan(tax - reversed_.tax_fen)
    assert now["enterprises_served"] == len([b for b, fen in net.items() if fen > 0])
    assert (await small_seed.overview("2020-05-31"))["transaction_volume"] == _yuan(volume)


def _iso(moment_: datetime) -> str:
    return moment_.astimezone(UTC).isoformat()


async def test_as_of_midnight_is_an_instant_not_a_day(client: AsyncClient) -> None:
    """2020-05-31T00:00:00Z is that instant; 2020-05-31 is the whole day (Shanghai)."""
    instant = await client.get("/v1/stats/overview", params={"as_of": "2020-05-31T00:00:00Z"})
    day = await client.get("/v1/stats/overview", params={"as_of": "2020-05-31"})
    assert datetime.fromisoformat(instant.json()["as_of"]) == datetime(2020, 5, 31, tzinfo=UTC)
    assert datetime.fromisoformat(day.json()["as_of"]) == datetime(
        2020, 5, 31, 15, 59, 59, 999_999, tzinfo=UTC
    )
    naive = await client.get("/v1/stats/overview", params={"as_of": "2020-05-31T08:00:00"})
    assert naive.status_code == 422


async def test_as_of_is_echoed_in_utc_whatever_was_asked(client: AsyncClient) -> None:
    """One format for the instant the figures are of: UTC with ``Z`` (as every time the API
    answers), whether the request named a day (its last microsecond, Shanghai), a time with
    any offset, or nothing (now)."""
    asked = {
        "2020-05-31": "2020-05-31T15:59:59.999999Z",
        "2020-05-31T23:30:00+08:00": "2020-05-31T15:30:00Z",
        "2020-05-31T15:30:00Z": "2020-05-31T15:30:00Z",
        "2020-05-31T10:30:00-05:00": "2020-05-31T15:30:00Z",
    }
    for as_of, echoed in asked.items():
        got = await client.get("/v1/stats/overview", params={"as_of": as_of})
        assert got.status_code == 200, got.text
        assert got.json()["as_of"] == echoed, as_of
    now = (await client.get("/v1/stats/overview")).json()["as_of"]
    assert now.endswith("Z"), now
