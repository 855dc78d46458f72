"""Matching quality, measured (issue 14): the gold set (tests/matching/gold.py) through the
real HTTP API over the demo dataset, precision@5 and recall@20 held above floors.

The dataset is seeded once for the module in a database of its own (SQLite by default,
PostgreSQL with ``TEST_DATABASE_URL``), the gold demands written into it, and each demand's
matches asked for anonymously. Run with ``-s`` to see the figures; bench/matching.py prints
the same and records them in bench/results/matching.json.
"""

import uuid
from collections.abc import AsyncIterator

import anyio.to_thread
import pytest
from httpx import ASGITransport, AsyncClient

from app.core.db import Database, create_engine
from app.main import create_app
from tests.conftest import fresh_database, make_settings, migrate
from tests.matching import gold
from tests.search import judged

#: The floors, from the first honest measurement (2026-12-07, the ranking of
#: app/services/matching.py as first built, 58 gold demands): precision@5 0.885 and recall@20
#: 0.993, the same on SQLite and PostgreSQL (bench/results/matching.json). Each floor is that
#: figure less 0.03 (about two demands losing one pick from their first five).
PRECISION_FLOOR = 0.855
RECALL_FLOOR = 0.96


@pytest.fixture(scope="module")
async def seeded(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[AsyncClient, list[uuid.UUID]]]:
    async with fresh_database(tmp_path_factory.mktemp("matching"), "matching") as url:
        await anyio.to_thread.run_sync(migrate, url)
        await judged.seed_judged_dataset(url)
        ids = await gold.write_gold_demands(url)
        database = Database(create_engine(url))
        app = create_app(make_settings(url), database=database)
        try:
            async with AsyncClient(
                transport=ASGITransport(app=app), base_url="http://testserver"
            ) as client:
                yield client, ids
        finally:
            await database.dispose()


def test_the_gold_set_is_large_and_well_formed() -> None:
    assert len(gold.DEMANDS) >= 40
    assert len({d.title for d in gold.DEMANDS}) == len(gold.DEMANDS)
    kinds = {d.kind for d in gold.DEMANDS}
    assert len(kinds) == 5, kinds
    for demand in gold.DEMANDS:
        assert demand.picks, demand.label
        assert len(set(demand.picks)) == len(demand.picks), demand.label


async def test_gold_listings_exist(seeded: tuple[AsyncClient, list[uuid.UUID]]) -> None:
    """Every pick names exactly one listing: a change to the demo generator fails here
    instead of quietly lowering the figures."""
    client, _ = seeded
    assert await gold.unresolved(client) == []


async def test_precision_and_recall_stay_above_the_floors(
    seeded: tuple[AsyncClient, list[uuid.UUID]],
) -> None:
    client, ids = seeded
    measured = await gold.measure_all(client, ids)
    figures = gold.figures(measured)
    text = gold.report(measured)
    print(f"\n{text}")  # noqa: T201 (the figures are what this test is for; shown with -s)
    assert figures.precision_at_5 >= PRECISION_FLOOR, text
    assert figures.recall_at_20 >= RECALL_FLOOR, text
