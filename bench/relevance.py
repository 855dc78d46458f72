"""Search relevance: nDCG@10 of the judged query set (tests/search/judged.py), through the API.

    .venv/bin/python bench/relevance.py [--postgres URL] [--no-sqlite] [--label before]

The figures in bench/results/relevance.json ("before": today's ranking, title matches first,
then newest) came from this, wt_relevance being an empty scratch database:

    .venv/bin/python bench/relevance.py --label before \
        --postgres postgresql://postgres@127.0.0.1:5432/wt_relevance

Seeds the demo dataset the judgments were written against (judged.SCALE, random seed 2019)
into a fresh SQLite file in a temporary directory and, with --postgres, into the PostgreSQL
database given, which must be an empty scratch database: it is migrated, seeded, measured and
downgraded to empty again where the migrations allow it (not once the seed has written
payouts, which migration 0014 refuses to drop: then it says so, and the database is to be
dropped; `make bench` gives it a database of its own and drops it). Then it sends every
judged query in-process, as a visitor, as the tests do (httpx ASGITransport on
app.main.create_app: ``GET /v1/<catalog>?q=…&limit=10``), and prints nDCG@10 per catalog
and overall, with the 10 worst queries and what they returned.
tests/search/test_relevance.py holds the same figures above a floor.

The figures are merged into bench/results/relevance.json under ``<label>:<backend>``, so the
ranking before a change and after it can both be kept (``--label before``, ``--label
after``). Relevance depends on the data and the ranking only, not on the machine. Exit
status: 0 when measured; 1 when a judged item no longer names exactly one item (the demo
generator changed: the judgments need the same change), after printing the figures; 2 when
the run could not be set up.
"""

import argparse
import asyncio
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command as alembic_command
from bench_results import merge_results, run_header
from httpx import ASGITransport, AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.core.config import Settings, normalize_database_url
from app.core.db import Database, create_engine
from app.core.migrations import alembic_config
from app.main import create_app
from tests.search import judged

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "relevance.json"


class SetupError(Exception):
    """The run could not be set up (exit status 2)."""


def _alembic(url: str, action: Callable[..., None], revision: str) -> None:
    config = alembic_config(url)
    config.attributes["configure_logging"] = False
    action(config, revision)


async def _require_empty(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                    " AND tablename <> 'alembic_version'"  # what a downgrade to base leaves
                )
            )
    except (OSError, DBAPIError) as error:
        raise SetupError(f"cannot reach {make_url(url)!r}: {error}") from error
    finally:
        await engine.dispose()
    if tables:
        raise SetupError(
            f"{make_url(url).database} has {tables} tables: give an empty scratch database"
            " (it is migrated, seeded and emptied again)"
        )


@asynccontextmanager
async def seeded(url: str) -> AsyncIterator[float]:
    """The database at ``url`` migrated and seeded as judged for the block (the seconds the
    seed took); on PostgreSQL downgraded to empty again afterwards."""
    postgresql = url.startswith("postgresql")
    if postgresql:
        await _require_empty(url)
    await asyncio.to_thread(_alembic, url, alembic_command.upgrade, "head")
    try:
        yield await judged.seed_judged_dataset(url)
    finally:
        if postgresql:
            try:
                await asyncio.to_thread(_alembic, url, alembic_command.downgrade, "base")
            except RuntimeError as error:  # the seed writes payouts, which 0014 will not drop
                print(
                    f"{make_url(url).database} is left seeded ({error}): drop it before the"
                    " next run",
                    file=sys.stderr,
                )


@asynccontextmanager
async def served(url: str) -> AsyncIterator[AsyncClient]:
    """The app on the database at ``url``, in this process, and a client to it (both quality
    benchmarks measure through it)."""
    settings = Settings.model_validate(
        {
            "env": "test",
            "database_url": url,
            "secret_key": "bench-quality-secret-key-long-enough-0123456789",
            "log_level": "WARNING",
        }
    )
    database = Database(create_engine(url))
    app = create_app(settings, database=database)
    try:
        transport = ASGITransport(app=app)
        async with AsyncClient(transport=transport, base_url="http://bench") as client:
            yield client
    finally:
        await database.dispose()


async def measure(url: str) -> tuple[list[judged.Score], list[str], float]:
    """Scores, unresolved judged names, and the seconds the seed took, on one backend."""
    async with seeded(url) as seconds, served(url) as client:
        problems = await judged.unresolved(client)
        scores = await judged.score_queries(client)
    return scores, problems, seconds


def entry(label: str, scores: list[judged.Score], seconds: float) -> dict[str, Any]:
    figures = judged.figures(scores)
    return {
        **run_header(),
        "ranking": label,
        "scale": judged.SCALE.name,
        "random_seed": judged.RANDOM_SEED,
        "seed_seconds": round(seconds, 2),
        "queries": len(scores),
        "queries_per_catalog": figures.queries,
        "ndcg_at_10": {
            "overall": round(figures.overall, 4),
            "catalogs": {name: round(value, 4) for name, value in figures.catalogs.items()},
        },
        "per_query": {score.query.label: round(score.ndcg, 4) for score in scores},
    }


async def run_backends(
    description: str,
    name: str,
    results_file: Path,
    measure: Callable[[str], Awaitable[tuple[Any, list[str], float]]],
    report: Callable[[Any], str],
    entry: Callable[[str, Any, float], dict[str, Any]],
) -> int:
    """The command line both quality benchmarks share (this one and bench/matching.py): seed
    and measure on SQLite and, with --postgres, on PostgreSQL; print each report and merge
    each entry under ``label:backend`` into ``results_file``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--postgres", metavar="URL", help="an empty scratch PostgreSQL database")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite run")
    parser.add_argument("--label", default="current", help="the ranking measured: before, after…")
    options = parser.parse_args()

    targets: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as directory:
        if not options.no_sqlite:
            targets.append(("sqlite", f"sqlite+aiosqlite:///{directory}/{name}.db"))
        if options.postgres:
            targets.append(("postgresql", normalize_database_url(options.postgres)))
        if not targets:
            parser.error("nothing to measure: --no-sqlite without --postgres")
        status = 0
        for backend, url in targets:
            try:
                measured, problems, seconds = await measure(url)
            except SetupError as error:
                print(f"{backend}: {error}", file=sys.stderr)
                return 2
            print(f"== {backend} (seeded in {seconds:.1f} s)")
            print(report(measured))
            for problem in problems:
                print(f"unresolved: {problem}", file=sys.stderr)
                status = 1
            merge_results(
                results_file, f"{options.label}:{backend}", entry(options.label, measured, seconds)
            )
    return status


async def main() -> int:
    return await run_backends(
        __doc__.splitlines()[0], "relevance", RESULTS_FILE, measure, judged.report, entry
    )


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
