"""The floor bench_settle compares against: a raw double-entry transfer per transaction.

    .venv/bin/python bench/raw_transfer.py --dsn postgresql://… [--concurrency 32]
        [--duration 10] [--warmup 1] [--accounts 10000] [--mode random|hot|sharded]
        [--client asyncpg|pgbench]

One transfer is one transaction on one connection, one round trip per statement, no ORM and
no HTTP: what a hand-written ledger costs PostgreSQL (fsync and all) on this machine.

- ``random`` (the floor): BEGIN; lock the two accounts' rows in a fixed order
  (``SELECT … ORDER BY id FOR UPDATE``); insert the two postings; update the two balances;
  COMMIT. The accounts are picked at random among ``--accounts`` rows, so two transfers
  seldom meet on a row.
- ``hot``: the same, but every transfer credits one account (a platform fee account kept
  as one row): each transaction waits for the previous one to commit. This is what a design
  that locks one shared fee row per settlement is bounded by.
- ``sharded``: every transfer credits the same fee account too, but the way the app's
  ledger does it: take a free hash-chain head (``FOR UPDATE SKIP LOCKED`` among 16), insert
  the two postings, advance the head, and add to the two accounts' balance shards of that
  chain (``INSERT … ON CONFLICT DO UPDATE``). Compared with ``hot`` it shows whether the
  sharding keeps a shared account from serializing transactions, at rates far above what
  the app itself reaches.

``--client asyncpg`` (default) runs CONCURRENCY asyncpg connections in this one process
(uvloop when installed); ``--client pgbench`` runs the ``random`` or ``hot`` transaction as a
pgbench script (C, ``-j 2`` threads) for reference. The tables (``bench_raw_*``) are created
in the given database and dropped again at the end. Prints one JSON object: transfers,
errors, duration_s, transfers_per_s, p50_ms, p99_ms.
"""

import argparse
import asyncio
import json
import math
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg

ACCOUNTS_TABLE = "bench_raw_accounts"
POSTINGS_TABLE = "bench_raw_postings"
CHAINS_TABLE = "bench_raw_chains"
SHARDS_TABLE = "bench_raw_balance_shards"
HOT_ACCOUNT = 0  # the shared "fee" account of --mode hot and sharded
CHAINS = 16  # as app.models.ledger.LEDGER_CHAINS
MODES = ("random", "hot", "sharded")

SETUP = f"""
DROP TABLE IF EXISTS {POSTINGS_TABLE}, {SHARDS_TABLE}, {CHAINS_TABLE}, {ACCOUNTS_TABLE};
CREATE TABLE {ACCOUNTS_TABLE} (
    id bigint PRIMARY KEY,
    balance_fen bigint NOT NULL DEFAULT 0
);
CREATE TABLE {POSTINGS_TABLE} (
    transfer_id uuid NOT NULL,
    line smallint NOT NULL,
    account_id bigint NOT NULL REFERENCES {ACCOUNTS_TABLE} (id),
    amount_fen bigint NOT NULL CHECK (amount_fen <> 0),
    posted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (transfer_id, line)
);
CREATE INDEX ON {POSTINGS_TABLE} (account_id, transfer_id);
CREATE TABLE {CHAINS_TABLE} (chain smallint PRIMARY KEY, last_seq bigint NOT NULL DEFAULT 0);
INSERT INTO {CHAINS_TABLE} (chain) SELECT generate_series(0, {CHAINS - 1});
CREATE TABLE {SHARDS_TABLE} (
    account_id bigint NOT NULL REFERENCES {ACCOUNTS_TABLE} (id),
    shard smallint NOT NULL,
    balance_fen bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, shard)
);
"""
TEARDOWN = (
    f"DROP TABLE IF EXISTS {POSTINGS_TABLE}, {SHARDS_TABLE}, {CHAINS_TABLE}, {ACCOUNTS_TABLE};"
)

LOCK = f"SELECT id FROM {ACCOUNTS_TABLE} WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE"
POST = f"INSERT INTO {POSTINGS_TABLE} (transfer_id, line, account_id, amount_fen) VALUES ($1, $2, $3, $4)"  # noqa: E501
CREDIT = f"UPDATE {ACCOUNTS_TABLE} SET balance_fen = balance_fen + $2 WHERE id = $1"
FREE_CHAIN = f"SELECT chain FROM {CHAINS_TABLE} ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED"
ANY_CHAIN = f"SELECT chain FROM {CHAINS_TABLE} WHERE chain = $1 FOR UPDATE"
ADVANCE = f"UPDATE {CHAINS_TABLE} SET last_seq = last_seq + 1 WHERE chain = $1"
ADD_TO_SHARD = (
    f"INSERT INTO {SHARDS_TABLE} (account_id, shard, balance_fen) VALUES ($1, $2, $3)"
    " ON CONFLICT (account_id, shard) DO UPDATE"
    f" SET balance_fen = {SHARDS_TABLE}.balance_fen + excluded.balance_fen"
)

PGBENCH_SCRIPT = f"""\\set a random(1, :accounts)
\\set b random(1, :accounts - 1)
\\set b case when :b >= :a then :b + 1 else :b end
\\if :hot
\\set b {HOT_ACCOUNT}
\\endif
\\set amount random(100, 100000000)
BEGIN;
SELECT id FROM {ACCOUNTS_TABLE} WHERE id IN (:a, :b) ORDER BY id FOR UPDATE;
INSERT INTO {POSTINGS_TABLE} (transfer_id, line, account_id, amount_fen)
  VALUES (md5(:client_id::text || ' ' || :a || ' ' || random())::uuid, 1, :a, -:amount);
INSERT INTO {POSTINGS_TABLE} (transfer_id, line, account_id, amount_fen)
  VALUES (md5(:client_id::text || ' ' || :b || ' ' || random())::uuid, 2, :b, :amount);
UPDATE {ACCOUNTS_TABLE} SET balance_fen = balance_fen - :amount WHERE id = :a;
UPDATE {ACCOUNTS_TABLE} SET balance_fen = balance_fen + :amount WHERE id = :b;
END;
"""


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def percentile_ms(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted seconds, in milliseconds (0 when there are none)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1] * 1000


async def prepare(dsn: str, accounts: int) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(SETUP)
        await connection.execute(
            f"INSERT INTO {ACCOUNTS_TABLE} (id) SELECT generate_series(0, $1::bigint)", accounts
        )
        await connection.execute(f"ANALYZE {ACCOUNTS_TABLE}")
    finally:
        await connection.close()


async def teardown(dsn: str) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(TEARDOWN)
    finally:
        await connection.close()


async def transfer(connection: asyncpg.Connection, debit: int, credit: int, amount: int) -> None:
    transfer_id = uuid.uuid4()
    async with connection.transaction():
        await connection.fetch(LOCK, sorted((debit, credit)))
        await connection.execute(POST, transfer_id, 1, debit, -amount)
        await connection.execute(POST, transfer_id, 2, credit, amount)
        await connection.execute(CREDIT, debit, -amount)
        await connection.execute(CREDIT, credit, amount)


async def sharded_transfer(
    connection: asyncpg.Connection, debit: int, credit: int, amount: int, rng: random.Random
) -> None:
    """The app's ledger protocol (app/services/ledger/posting.py), minus Python and the ORM."""
    transfer_id = uuid.uuid4()
    async with connection.transaction():
        chain = await connection.fetchval(FREE_CHAIN)
        if chain is None:  # every chain busy: queue on one, as the app does
            chain = await connection.fetchval(ANY_CHAIN, rng.randrange(CHAINS))
        await connection.execute(POST, transfer_id, 1, debit, -amount)
        await connection.execute(POST, transfer_id, 2, credit, amount)
        await connection.execute(ADVANCE, chain)
        for account, value in sorted(((debit, -amount), (credit, amount))):
            await connection.execute(ADD_TO_SHARD, account, chain, value)


async def client(
    dsn: str, accounts: int, mode: str, start: float, stop: float, stats: Stats
) -> None:
    rng = random.Random()
    connection = await asyncpg.connect(dsn)
    try:
        while (began := time.perf_counter()) < stop:
            debit = rng.randint(1, accounts)
            credit = rng.randint(1, accounts) if mode == "random" else HOT_ACCOUNT
            if credit == debit:
                continue
            amount = rng.randint(100, 100_000_000)
            try:
                if mode == "sharded":
                    await sharded_transfer(connection, debit, credit, amount, rng)
                else:
                    await transfer(connection, debit, credit, amount)
            except asyncpg.PostgresError as error:
                stats.errors.append(f"{type(error).__name__}: {error}")
                continue
            if began >= start:  # transfers begun during the warm-up are not counted
                stats.latencies.append(time.perf_counter() - began)
    finally:
        await connection.close()


async def run_asyncpg(options: argparse.Namespace) -> dict[str, Any]:
    await prepare(options.dsn, options.accounts)
    try:
        stats = Stats()
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        now = time.perf_counter()
        start, stop = now + options.warmup, now + options.warmup + options.duration
        await asyncio.gather(
            *(
                client(options.dsn, options.accounts, options.mode, start, stop, stats)
                for _ in range(options.concurrency)
            )
        )
        elapsed = time.perf_counter() - start
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        await teardown(options.dsn)
    ordered = sorted(stats.latencies)
    client_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
        cpu_before.ru_utime + cpu_before.ru_stime
    )
    return {
        "client": "asyncpg",
        "mode": options.mode,
        "concurrency": options.concurrency,
        "accounts": options.accounts,
        "transfers": len(ordered),
        "errors": len(stats.errors),
        "error_samples": sorted(set(stats.errors))[:5],
        "duration_s": round(elapsed, 3),
        "transfers_per_s": round(len(ordered) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": round(percentile_ms(ordered, 50), 3),
        "p99_ms": round(percentile_ms(ordered, 99), 3),
        "client_cpu_s": round(client_cpu, 2),
    }


def run_pgbench(options: argparse.Namespace) -> dict[str, Any]:
    """The same transaction through pgbench (C client): no Python on the client side."""
    if shutil.which("pgbench") is None:
        raise SystemExit("pgbench not found (apt-get install postgresql-client)")
    asyncio.run(prepare(options.dsn, options.accounts))
    try:
        with tempfile.TemporaryDirectory(prefix="raw-transfer-") as workdir:
            script = Path(workdir) / "transfer.sql"
            script.write_text(PGBENCH_SCRIPT)
            done = subprocess.run(
                [
                    "pgbench",
                    "--no-vacuum",
                    "--client",
                    str(options.concurrency),
                    "--jobs",
                    "2",
                    "--time",
                    str(options.duration),
                    "--define",
                    f"accounts={options.accounts}",
                    "--define",
                    f"hot={1 if options.mode == 'hot' else 0}",
                    "--file",
                    str(script),
                    "--report-per-command",
                    options.dsn,
                ],
                capture_output=True,
                text=True,
                timeout=options.duration + 120,
                check=False,
            )
    finally:
        asyncio.run(teardown(options.dsn))
    if done.returncode != 0:
        raise SystemExit(f"pgbench failed ({done.returncode}):\n{done.stderr[-2000:]}")
    out = done.stdout
    transactions = _number(r"number of transactions actually processed: (\d+)", out)
    failed = _number(r"number of failed transactions: (\d+)", out) or 0
    tps = _number(r"tps = ([\d.]+) \(without initial connection time\)", out)
    latency = _number(r"latency average = ([\d.]+) ms", out)
    return {
        "client": "pgbench",
        "mode": options.mode,
        "concurrency": options.concurrency,
        "accounts": options.accounts,
        "transfers": int(transactions or 0),
        "errors": int(failed),
        "duration_s": options.duration,
        "transfers_per_s": round(float(tps or 0.0), 1),
        "latency_avg_ms": float(latency or 0.0),
    }


def _number(pattern: str, text: str) -> float | None:
    found = re.search(pattern, text)
    return float(found.group(1)) if found else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="postgresql://… (a scratch database)")
    parser.add_argument("--concurrency", type=int, default=32, help="connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds not counted first")
    parser.add_argument("--accounts", type=int, default=10_000, help="accounts to pick from")
    parser.add_argument("--mode", choices=MODES, default="random", help="see the docstring")
    parser.add_argument("--client", choices=("asyncpg", "pgbench"), default="asyncpg")
    args = parser.parse_args(argv)
    if args.accounts < 2 or args.concurrency < 1 or args.duration < 1:
        parser.error("--accounts ≥ 2, --concurrency ≥ 1, --duration ≥ 1")
    if args.client == "pgbench" and args.mode == "sharded":
        parser.error("--mode sharded runs with --client asyncpg only")
    return args


def main() -> None:
    options = parse_args()
    if options.client == "pgbench":
        result = run_pgbench(options)
    else:
        try:
            import uvloop
        except ImportError:
            result = asyncio.run(run_asyncpg(options))
        else:
            result = uvloop.run(run_asyncpg(options))
    print(json.dumps(result, ensure_ascii=False))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
