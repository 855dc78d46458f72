"""Every benchmark in bench/, one after another, then bench/results.md (what `make bench` runs).

    .venv/bin/python bench/run_all.py [--only NAME ...]

Without BENCH_DATABASE_URL, each benchmark that can runs on a fresh SQLite database, and the
PostgreSQL-only ones (bench_item, bench_settle, bench_totals) are skipped, said so. With
BENCH_DATABASE_URL=postgresql://user@host:port/NAME, every benchmark runs on PostgreSQL
instead, each in a database of its own, NAME_<benchmark>, created empty before it and
dropped after it (several need an empty database, and the ledger cannot be emptied); only
NAME_bench_search is kept, seeded once at the seed scale, as var/bench/search.db is. The
settings below keep a whole run within about 20 minutes on a 2-core machine (most of it on
PostgreSQL: the seed-scale search database and the ledger of 1,000,000 postings). A
benchmark that fails does not stop the others; each one's exit status and seconds go to
bench/results/run.json, which the report shows, and run_all exits 1 when any failed.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from bench_results import merge_results, run_header

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RUN_FILE = BENCH_DIR / "results" / "run.json"
DATABASE = "{database}"  # replaced by the benchmark's own database URL
POSTGRES = "{postgres}"  # the same, as --postgres URL for the quality benchmarks


@dataclass(frozen=True)
class Benchmark:
    name: str
    sqlite: list[str] | None  # the arguments on SQLite; None: PostgreSQL only
    postgresql: list[str]
    keep_database: bool = False  # seeded once at the seed scale and reused, as on SQLite


BENCHMARKS = [
    Benchmark("bench_get", [], ["--database-url", DATABASE]),
    Benchmark("bench_item", None, ["--database-url", DATABASE]),
    Benchmark(
        "bench_search",
        ["--response-cache", "off", "--duration", "15"],
        ["--database-url", DATABASE, "--response-cache", "off", "--duration", "15"],
        keep_database=True,
    ),
    Benchmark("relevance", [], ["--no-sqlite", "--postgres", POSTGRES]),
    Benchmark("matching", [], ["--no-sqlite", "--postgres", POSTGRES]),
    Benchmark(
        "bench_subscriptions", ["--rounds", "3"], ["--database-url", DATABASE, "--rounds", "3"]
    ),
    Benchmark("bench_import", [], ["--database-url", DATABASE]),
    Benchmark(
        "bench_settle",
        None,
        ["--database-url", DATABASE, "--no-pgbench", "--deals-per-client", "300"],
    ),
    Benchmark("bench_totals", None, ["--database-url", DATABASE, "--no-verify"]),
    Benchmark("bench_mixed", [], ["--database-url", DATABASE]),
]


async def _admin(server_url: str, database: str, *, drop: bool, create: bool) -> None:
    connection = await asyncpg.connect(server_url)
    try:
        if drop:
            await connection.execute(f'DROP DATABASE IF EXISTS "{database}"')
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if create and not exists:
            await connection.execute(f'CREATE DATABASE "{database}"')
    finally:
        await connection.close()


def scratch_database(base_url: str, name: str, *, drop: bool, create: bool) -> str:
    """Drop and/or create the database ``<base>_<name>`` beside ``base_url``'s; its URL."""
    server, _, base = base_url.rpartition("/")
    database = f"{base}_{name}"
    plain = server.replace("postgresql+asyncpg://", "postgresql://")
    asyncio.run(_admin(f"{plain}/postgres", database, drop=drop, create=create))
    return f"{server}/{database}"


def run_one(benchmark: Benchmark, base_url: str | None) -> dict[str, object]:
    if base_url is None and benchmark.sqlite is None:
        print(f"== {benchmark.name}: PostgreSQL only, skipped (set BENCH_DATABASE_URL)")
        return {"status": "skipped: PostgreSQL only"}
    arguments = benchmark.sqlite if base_url is None else benchmark.postgresql
    assert arguments is not None
    url = None
    if base_url is not None:
        url = scratch_database(
            base_url, benchmark.name, drop=not benchmark.keep_database, create=True
        )
        arguments = [a.replace(DATABASE, url).replace(POSTGRES, url) for a in arguments]
    command = [sys.executable, str(BENCH_DIR / f"{benchmark.name}.py"), *arguments]
    print(f"== {benchmark.name}: {' '.join(command[1:])}", flush=True)
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=PROJECT_ROOT, check=False)
    finally:
        if base_url is not None and not benchmark.keep_database:
            scratch_database(base_url, benchmark.name, drop=True, create=False)
    seconds = round(time.monotonic() - started, 1)
    print(f"== {benchmark.name}: exit {done.returncode} after {seconds} s", flush=True)
    return {
        "status": "ok" if done.returncode == 0 else f"exit {done.returncode}",
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run these benchmarks only")
    options = parser.parse_args()
    base_url = os.environ.get("BENCH_DATABASE_URL") or None
    if base_url is not None and not base_url.startswith("postgresql"):
        parser.error("BENCH_DATABASE_URL must be a postgresql:// URL")
    chosen = [b for b in BENCHMARKS if not options.only or b.name in options.only]
    started = time.monotonic()
    statuses = {benchmark.name: run_one(benchmark, base_url) for benchmark in chosen}
    merge_results(
        RUN_FILE,
        "postgresql" if base_url else "sqlite",
        {
            **run_header(load_average=True),
            "seconds": round(time.monotonic() - started, 1),
            "benchmarks": statuses,
        },
    )
    subprocess.run([sys.executable, str(BENCH_DIR / "report.py")], cwd=PROJECT_ROOT, check=True)
    failed = [name for name, status in statuses.items() if str(status["status"]).startswith("exit")]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
