"""Idempotent requests: the first response to a key is kept and replayed.

A money-moving request runs in its own short transaction that also stores its response
under (principal, Idempotency-Key), so the effect and the record commit together or not at
all. A retry with the same key and the same request gets the stored response; the same key
with a different request is refused (422); while the first request with a key is still
running, another one with that key is refused (409) on PostgreSQL, where a transaction-level
advisory lock on the key says so. On SQLite, writers are serialized (``BEGIN IMMEDIATE``):
the second request waits for the first to commit and then gets its stored response.

Only successful responses are kept: a request that fails changes nothing, so sending it again
runs it again. That holds for a database outage too (503 ``database_unavailable``): the lock
is the transaction's and the record commits with the effect, so a request the outage stopped
leaves its key unused; and if its commit reached the server before the connection was lost,
the retry finds the record and replays it. Deadlocks and serialization failures on PostgreSQL
are retried here, the whole transaction again, a few times with a growing random pause.
"""

import asyncio
import hashlib
import json
import random
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import delete
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.db import Database
from app.core.errors import BadRequest, Conflict, ValidationFailed
from app.core.sql import execute_sql, insert_sql, select_sql, table_of
from app.models.idempotency import IdempotencyRecord

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
#: SQLSTATEs worth running the transaction again for: serialization failure, deadlock.
RETRYABLE = frozenset({"40001", "40P01"})
ATTEMPTS = 5


ResultModel = TypeVar("ResultModel", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Outcome(Generic[ResultModel]):
    """What an idempotent request answers: its result, and whether that is the stored answer
    to an earlier request with the same key."""

    result: ResultModel
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
_RECORDS = table_of(IdempotencyRecord)
_FIND_RECORD = select_sql(
    _RECORDS,
    ("method", "path", "fingerprint", "status_code", "response_body"),
    where=("principal", "key"),
)
_INSERT_RECORD = insert_sql(
    _RECORDS,
    (
        "principal",
        "key",
        "method",
        "path",
        "fingerprint",
        "status_code",
        "response_body",
        "created_at",
    ),
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
    status_code: int,
    schema: type[ResultModel],
    work: Callable[[AsyncSession], Awaitable[object]],
) -> Outcome[ResultModel]:
    """Run ``work`` at most once per key and answer its result as ``schema``, or the stored
    first answer, read back into ``schema``.

    The result is made into ``schema`` inside the transaction, so the record stored with the
    effect is exactly what the first caller is answered."""
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
                    method_used, path_used, fingerprint_used, _, body = record
                    if fingerprint_used != request_fingerprint:
                        raise ValidationFailed(
                            f"This {HEADER} was used for a different request"
                            f" ({method_used} {path_used} or another body).",
                            code="idempotency_key_reused",
                        )
                    return Outcome(schema.model_validate_json(body), replayed=True)
                result = schema.model_validate(await work(session))
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
                        result.model_dump_json(),
                        utcnow(),
                    ),
                )
                return Outcome(result, replayed=False)
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
