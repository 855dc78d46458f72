"""Fixed-window counters held in the database, so every process and replica shares them."""

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.models.ratelimit import RateLimitBucket


@dataclass(frozen=True, slots=True)
class WindowCount:
    count: int
    retry_after: int
    """Seconds until the current window ends."""


def _window(now: datetime, window_seconds: int) -> tuple[int, int]:
    """The start (Unix seconds) of the window holding ``now``, and the seconds left in it."""
    epoch = now.timestamp()
    start = int(epoch // window_seconds) * window_seconds
    return start, max(1, math.ceil(start + window_seconds - epoch))


def _upsert(dialect_name: str, key: str, window_start: int) -> Any:
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    stmt = insert(RateLimitBucket).values(key=key, window_start=window_start, count=1)
    return stmt.on_conflict_do_update(
        index_elements=[RateLimitBucket.key, RateLimitBucket.window_start],
        set_={"count": RateLimitBucket.count + 1},
    ).returning(RateLimitBucket.count)


async def hit(
    session: AsyncSession, *, key: str, window_seconds: int, now: datetime
) -> WindowCount:
    """Count one event for ``key`` in the caller's transaction; atomic across processes."""
    start, retry_after = _window(now, window_seconds)
    dialect = session.get_bind().dialect.name
    count = (await session.execute(_upsert(dialect, key, start))).scalar_one()
    return WindowCount(count=count, retry_after=retry_after)


async def hit_now(
    session: AsyncSession, *, key: str, window_seconds: int, now: datetime
) -> WindowCount:
    """Count one event and make it visible to every process at once.

    A hot counter (one API key used by many concurrent requests) must not hold its row lock
    for a whole request, so on PostgreSQL the count commits in a transaction of its own.
    SQLite serializes writers anyway, and a second connection would wait on this request's
    own lock, so there the count joins the caller's transaction.
    """
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        return await hit(session, key=key, window_seconds=window_seconds, now=now)
    start, retry_after = _window(now, window_seconds)
    async with connection.engine.connect() as own:
        count = await _autocommit_upsert(own, key, start)
    return WindowCount(count=count, retry_after=retry_after)


async def _autocommit_upsert(connection: AsyncConnection, key: str, window_start: int) -> int:
    async with connection.begin():
        result = await connection.execute(_upsert(connection.dialect.name, key, window_start))
        return int(result.scalar_one())


async def forgive(session: AsyncSession, *, key: str, window_seconds: int, now: datetime) -> None:
    """Take back one event counted in the current window."""
    start, _ = _window(now, window_seconds)
    await session.execute(
        update(RateLimitBucket)
        .where(RateLimitBucket.key == key, RateLimitBucket.window_start == start)
        .where(RateLimitBucket.count > 0)
        .values(count=RateLimitBucket.count - 1)
    )


async def clear(session: AsyncSession, *, key: str) -> None:
    """Forget every window of ``key`` (a successful sign-in clears the account's failures)."""
    await session.execute(delete(RateLimitBucket).where(RateLimitBucket.key == key))


async def current(session: AsyncSession, *, key: str, window_seconds: int, now: datetime) -> int:
    start, _ = _window(now, window_seconds)
    stmt = select(RateLimitBucket.count).where(
        RateLimitBucket.key == key, RateLimitBucket.window_start == start
    )
    return int(await session.scalar(stmt) or 0)


async def prune(session: AsyncSession, *, before: datetime) -> int:
    """Delete windows that began before ``before``; returns how many rows went."""
    result = await session.execute(
        delete(RateLimitBucket).where(RateLimitBucket.window_start < int(before.timestamp()))
    )
    return int(getattr(result, "rowcount", 0) or 0)
