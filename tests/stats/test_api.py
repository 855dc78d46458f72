"""/v1/stats/overview: the platform's headline figures, computed from the data, as of a time."""

from datetime import UTC, date, datetime, timedelta

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, create_engine
from app.core.security import ROLE_SCOPES, Principal, PrincipalKind, Role
from app.main import create_app
from app.models.catalog import HistoryAction
from app.models.orgs import OrganizationKind
from app.services import catalog as catalog_service
from app.services import seed as seed_service
from app.services import technologies as technologies_service
from app.services.stats import moment
from tests import builders
from tests.conftest import make_settings

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
    assert (await client.get("/v1/stats/overview", params={"as_of": "yesterday"})).status_code == 422


async def test_published_items_count_as_of_a_time(
    client: AsyncClient, session: AsyncSession
) -> None:
    before = (await client.get("/v1/stats/overview")).json()
    owner = await builders.create_organization(session, kind=OrganizationKind.university)
    staff = Principal(
        kind=PrincipalKind.user, id=owner.id, role=Role.operator, organization_id=None,
        scopes=ROLE_SCOPES[Role.operator],
    )
    values = {"title": "统计测试", "trl": 3, "tags": [], "external_id": None}
    draft = await catalog_service.create_item(
        session, technologies_service.SPEC, principal=staff, values=values, owner_id=owner.id
    )
    shown = await catalog_service.create_item(
        session, technologies_service.SPEC, principal=staff, values=values, owner_id=owner.id
    )
    gone = await catalog_service.create_item(
        session, technologies_service.SPEC, principal=staff, values=values, owner_id=owner.id
    )
    for item in (shown, gone):
        await catalog_service.transition_item(
            session, technologies_service.SPEC, principal=staff, item_id=item.id,
            action=HistoryAction.publish,
        )
    await catalog_service.transition_item(
        session, technologies_service.SPEC, principal=staff, item_id=gone.id,
        action=HistoryAction.withdraw,
    )
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
    assert end.astimezone(UTC) == datetime(2020, 5, 31, 15, 59, 59, 999999, tzinfo=UTC)
    assert moment(date(2020, 5, 31), "UTC") == datetime(
        2020, 5, 31, 23, 59, 59, 999999, tzinfo=UTC
    )
    exact = datetime(2020, 1, 1, tzinfo=UTC)
    assert moment(exact, "Asia/Shanghai") is exact
    assert abs(moment(None, "UTC") - datetime.now(UTC)) < timedelta(minutes=1)


@pytest.fixture
async def small_seed(migrated_fresh_database_url: str) -> str:
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with database.unit_of_work(write=True) as session:
            await seed_service.seed_database(
                session, scale=seed_service.SCALES[seed_service.ScaleName.small],
                random_seed=7, accounts=False,
            )
    finally:
        await database.dispose()
    return migrated_fresh_database_url


async def test_overview_reproduces_the_seeded_figures(small_seed: str) -> None:
    scale = seed_service.SCALES[seed_service.ScaleName.small]
    database = Database(create_engine(small_seed))
    try:
        app = create_app(make_settings(small_seed), database=database)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            figures = (await client.get("/v1/stats/overview")).json()
            end_of_may = (
                await client.get("/v1/stats/overview", params={"as_of": "2020-05-31"})
            ).json()
    finally:
        await database.dispose()
    expected = {
        "talents": scale.talents,
        "technologies": scale.technologies,
        "policies": scale.policies,
        "ip_assets": scale.ip_assets,
        "financial_institutions": scale.financial_institutions,
        "universities_and_institutes": scale.universities + scale.research_institutes,
    }
    assert {name: figures[name] for name in FIELDS} == expected
    # the figures are the platform's as of the end of May 2020
    assert {name: end_of_may[name] for name in FIELDS} == expected
