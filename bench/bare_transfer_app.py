"""The stack's own ceiling for bench_settle: the raw transfer served over HTTP by bare FastAPI.

``POST /transfers`` runs bench/raw_transfer.py's ``random`` transaction (two accounts
locked in order, two postings, two balance updates) on an asyncpg pool and answers a small
JSON body. No middleware, authentication, idempotency, ORM or response model: what uvicorn,
FastAPI and asyncpg cost per money request on this machine before the application does
anything of its own. bench_settle sends two of these per settlement, as its clients send
fund and settle, so (pairs per second ÷ raw transfers per second) is the highest ratio any
FastAPI application doing at least one transfer per request could reach here.

Served as ``uvicorn bare_transfer_app:create_app --factory --app-dir bench`` with
``BENCH_RAW_DSN`` (a database prepared by raw_transfer.prepare), ``BENCH_RAW_ACCOUNTS`` and
``BENCH_RAW_POOL`` (connections, one per client) in the environment.
"""

import os
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Response
from raw_transfer import transfer

DSN_ENV = "BENCH_RAW_DSN"
ACCOUNTS_ENV = "BENCH_RAW_ACCOUNTS"
POOL_ENV = "BENCH_RAW_POOL"


def create_app() -> FastAPI:
    dsn = os.environ[DSN_ENV]
    accounts = int(os.environ[ACCOUNTS_ENV])
    pool_size = int(os.environ[POOL_ENV])
    rng = random.Random()
    pools: list[asyncpg.Pool] = []

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        pools.append(await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size))
        yield
        await pools[0].close()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/transfers")
    async def post_transfer() -> Response:
        debit, credit = rng.sample(range(1, accounts + 1), 2)
        amount = rng.randint(100, 100_000_000)
        async with pools[0].acquire() as connection:
            await transfer(connection, debit, credit, amount)
        return Response(
            content=b'{"status":"posted","amount":"%d.%02d"}' % divmod(amount, 100),
            media_type="application/json",
        )

    return app
