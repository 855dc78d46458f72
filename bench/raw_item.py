"""The floor bench_item compares against: a bare FastAPI endpoint doing the same primary-key
lookup with raw asyncpg (a pool, one prepared statement, the row as JSON).

Served as ``uvicorn raw_item:create_app --factory --app-dir bench`` with
``BENCH_DATABASE_DSN`` (a plain postgresql:// DSN).
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, HTTPException, Request

QUERY = "SELECT * FROM technologies WHERE id = $1 AND status = 'published'"


def _jsonable(row: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key in ("search_title", "search_body", "search_vector", "title_vector"):
            continue
        out[key] = value
    return out


def create_app() -> FastAPI:
    dsn = os.environ["BENCH_DATABASE_DSN"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=10, max_size=10)
        yield
        await app.state.pool.close()

    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.get("/v1/technologies/{item_id}")
    async def get_technology(item_id: uuid.UUID, request: Request) -> dict[str, Any]:
        row = await request.app.state.pool.fetchrow(QUERY, item_id)
        if row is None:
            raise HTTPException(404)
        return _jsonable(row)

    return app
