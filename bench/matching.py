"""Matching quality: precision@5 and recall@20 of the gold set (tests/matching/gold.py).

    .venv/bin/python bench/matching.py [--postgres URL] [--no-sqlite] [--label current]

Seeds the demo dataset the gold set was picked from (tests/search/judged.py's SCALE, random
seed 2019) into a fresh SQLite file in a temporary directory and, with --postgres, into the
PostgreSQL database given, which must be an empty scratch database: it is migrated, seeded,
measured and downgraded to empty again. Then it writes the gold demands, asks each one's
matches in-process as a visitor, as the tests do (httpx ASGITransport on
app.main.create_app: ``GET /v1/demands/{id}/matches?limit=20``), and prints precision@5 and
recall@20 with the worst demands and what they got. tests/matching/test_quality.py holds the
same figures above floors.

The figures are merged into bench/results/matching.json under ``<label>:<backend>``.
Quality depends on the data and the ranking only, not on the machine. Exit status: 0 when
measured; 1 when a pick no longer names exactly one listing (the demo generator changed);
2 when the run could not be set up.
"""

import asyncio
import sys
from pathlib import Path
from typing import Any

from bench_results import run_header
from relevance import run_backends, seeded, served

from tests.matching import gold
from tests.search import judged

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "matching.json"


async def measure(url: str) -> tuple[list[gold.Measured], list[str], float]:
    """The gold demands measured, unresolved picks, and the seconds the seed took."""
    async with seeded(url) as seconds:
        ids = await gold.write_gold_demands(url)
        async with served(url) as client:
            problems = await gold.unresolved(client)
            measured = await gold.measure_all(client, ids)
    return measured, problems, seconds


def entry(label: str, measured: list[gold.Measured], seconds: float) -> dict[str, Any]:
    figures = gold.figures(measured)
    return {
        **run_header(),
        "ranking": label,
        "scale": judged.SCALE.name,
        "random_seed": judged.RANDOM_SEED,
        "seed_seconds": round(seconds, 2),
        "demands": figures.demands,
        "precision_at_5": round(figures.precision_at_5, 4),
        "recall_at_20": round(figures.recall_at_20, 4),
        "per_demand": {
            m.gold.label: {
                "precision_at_5": round(m.precision, 4),
                "recall_at_20": round(m.recall, 4),
            }
            for m in measured
        },
    }


async def main() -> int:
    return await run_backends(
        __doc__.splitlines()[0], "matching", RESULTS_FILE, measure, gold.report, entry
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
