"""Idempotent requests: the first response to a key is kept and replayed.

A money-moving request runs in its own short transaction that also stores its response
under (principal, Idempotency-Key), so the effect and the record commit together or not at
all. A retry with the same key and the same request gets the stored response; the same key
with a different request is refused (422); while the first request with a key is still
running, another one with that key is refused (409) on PostgreSQL, where a transaction-level
advisory lock on the key says so. On SQLite, writers are serialized (``BEGIN IMMEDIATE``):
the second request waits for the first to commit and then gets its stored response.

Only successful responses are kept: a request that fails changes nothing, so sending it again
runs it again. Deadlocks and serialization failures on PostgreSQL are retried here, the whole
transaction again, a few times with a growing random pause.
"""

import asyncio
import hashlib
import json
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.db import Database
from app.core.errors import BadRequest, Conflict, ValidationFailed
from app.core.sql import execute_sql, values_list
from app.models.idempotency import IdempotencyRecord

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
#: SQLSTATEs worth running the transaction again for: serialization failure, deadlock.
RETRYABLE = frozenset({"40001", "40P01"})
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: str
    replayed: bool


def checked_key(key: str | None) -> str:
    if key is None:
        raise BadRequest(
            f"This request moves money: send an {HEADER} header (a unique string you choose"
            " per operation, e.g. a UUID) so that it can be retried safely.",
            code="idempotency_key_required",
        )
    if not _KEY.match(key):
        raise BadRequest(
            f"The {HEADER} is 1 to 255 printable ASCII characters without spaces.",
            code="idempotency_key_invalid",
        )
    return key


def fingerprint(method: str, path: str, payload: Any) -> str:
    """What makes two requests the same: method, path and the parsed body."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method}\n{path}\n{canonical}".encode()).hexdigest()


def _lock_id(principal: str, key: str) -> int:
    digest = hashlib.sha256(f"{principal}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


# Driver-level statements (core.db.execute_sql): every money-moving request runs them.
# The engine plans every statement for its parameters (core.db.create_engine: searches need
# it); a money transaction's statements are key lookups and writes whose cached plans are
# right whatever the values, so it lets PostgreSQL reuse them (SET LOCAL, in the same round
# trip as the lock).
_TRY_LOCK = "SELECT pg_try_advisory_xact_lock($1), set_config('plan_cache_mode', 'auto', true)"
_FIND_RECORD = (
    "SELECT method, path, fingerprint, status_code, response_body FROM idempotency_records"
    " WHERE principal = $1 AND key = $2"
)
_INSERT_RECORD = (
    "INSERT INTO idempotency_records (principal, key, method, path, fingerprint, status_code,"
    f" response_body, created_at) VALUES {values_list(1, 8)}"
)


def _retryable(error: DBAPIError) -> bool:
    return getattr(error.orig, "sqlstate", None) in RETRYABLE


async def run_once(
    db: Database,
    *,
    principal: str,
    key: str,
    method: str,
    path: str,
    request_fingerprint: str,
    work: Callable[[AsyncSession], Awaitable[tuple[int, Any]]],
) -> StoredResponse:
    """Run ``work`` (which returns a status code and a JSON-ready body) at most once per key."""
    for attempt in range(ATTEMPTS):
        try:
            async with db.unit_of_work(write=True) as session:
                if not db.is_sqlite:
                    locked, _ = (
                        await execute_sql(session, _TRY_LOCK, (_lock_id(principal, key),))
                    ).one()
                    if not locked:
                        raise Conflict(
                            f"A request with this {HEADER} is still being processed;"
                            " retry it later to get its response.",
                            code="idempotency_key_in_flight",
                            headers={"Retry-After": "1"},
                        )
                record = (await execute_sql(session, _FIND_RECORD, (principal, key))).first()
                if record is not None:
                    method_used, path_used, fingerprint_used, status_code, body = record
                    if fingerprint_used != request_fingerprint:
                        raise ValidationFailed(
                            f"This {HEADER} was used for a different request"
                            f" ({method_used} {path_used} or another body).",
                            code="idempotency_key_reused",
                        )
                    return StoredResponse(status_code, body, True)
                status_code, payload = await work(session)
                body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
                await execute_sql(
                    session,
                    _INSERT_RECORD,
                    (
                        principal,
                        key,
                        method,
                        path[:300],
                        request_fingerprint,
                        status_code,
                        body,
                        utcnow(),
                    ),
                )
                return StoredResponse(status_code, body, False)
        except DBAPIError as error:
            if not _retryable(error) or attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(0, 0.01 * 2**attempt))
    raise AssertionError("unreachable")


#: Stored responses are kept this long (``innoshare prune``); a retry after that runs again.
RETENTION_DAYS = 7


async def prune(session: AsyncSession, *, before: datetime) -> int:
    """Delete records created before ``before``; returns how many went."""
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
