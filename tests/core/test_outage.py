"""A database outage answers 503 database_unavailable with Retry-After, logs once per interval,
and leaves money requests' Idempotency-Keys retryable (issue 17)."""

import asyncio
import errno
import json
import logging
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import anyio.to_thread
import asyncpg
import httpx
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.core import db as db_module
from app.core.db import Database, create_engine
from app.core.errors import OutageLog, connection_lost, is_database_outage
from app.core.security import Role, create_access_token
from app.main import create_app
from tests.clusters import ClusterUnavailable, own_cluster
from tests.conftest import TEST_SECRET, make_settings, migrate
from tests.deals.conftest import build_market
from tests.servers import free_port, running_servers

PROBLEM = "application/problem+json"


def _wrapped(orig: BaseException, kind: type[DBAPIError] = DBAPIError, **kw: Any) -> DBAPIError:
    return kind("SELECT 1", (), orig, **kw)  # type: ignore[arg-type]


class _Adapted(Exception):
    """What SQLAlchemy's asyncpg adapter raises, with the driver's error as its cause."""


def _adapted(driver_error: BaseException) -> DBAPIError:
    adapted = _Adapted(str(driver_error))
    adapted.__cause__ = driver_error
    return _wrapped(adapted)


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), True),
        (OSError(errno.EHOSTUNREACH, "No route to host"), True),
        (TimeoutError(), True),
        (_wrapped(_Adapted("connection was closed"), connection_invalidated=True), True),
        (
            _adapted(asyncpg.exceptions.CannotConnectNowError("the database system is starting")),
            True,
        ),
        (_adapted(asyncpg.exceptions.TooManyConnectionsError("too many clients")), True),
        (_adapted(asyncpg.exceptions.AdminShutdownError("terminating connection")), True),
        (_adapted(asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation")), True),
        (
            asyncpg.exceptions.InterfaceError(
                "cannot call Connection.fetch(): connection is closed"
            ),
            True,
        ),
        (PoolTimeout("QueuePool limit of size 10 overflow 0 reached"), True),
        (_wrapped(sqlite3.OperationalError("database is locked"), OperationalError), None),
        # Bugs and refusals stay what they are.
        (_adapted(asyncpg.exceptions.UndefinedColumnError("column x does not exist")), False),
        (_wrapped(_Adapted("syntax error"), ProgrammingError), False),
        (_adapted(asyncpg.exceptions.UniqueViolationError("duplicate key")), False),
        (_wrapped(sqlite3.IntegrityError("UNIQUE constraint failed"), IntegrityError), False),
        (_wrapped(sqlite3.OperationalError("no such table: deals"), OperationalError), False),
        (asyncpg.exceptions.InterfaceError("another operation is in progress"), False),
        (asyncpg.exceptions.InternalClientError("cannot switch to state 12"), False),
        (FileNotFoundError(errno.ENOENT, "export.csv"), False),
        (ValueError("bad"), False),
    ],
)
def test_connection_failures_are_outages_and_bugs_are_not(
    error: BaseException, outage: bool | None
) -> None:
    if outage is None:  # sqlite3 names the code itself (Python 3.11+)
        orig = error.orig if isinstance(error, DBAPIError) else error
        orig.sqlite_errorname = "SQLITE_BUSY"  # type: ignore[union-attr]
        outage = True
    assert is_database_outage(error) is outage


def test_a_driver_error_on_a_connection_that_closed_under_it_is_an_outage() -> None:
    """asyncpg's InternalClientError alone is a 500 (a bug); raised as the connection closed
    (the fast read path and driver SQL check), it is reported as the connection lost."""
    raced = asyncpg.exceptions.InternalClientError("cannot switch to state 12")
    lost = connection_lost(raced)
    assert is_database_outage(lost)
    assert "InternalClientError" in str(lost)


def test_an_error_raised_from_an_outage_is_one() -> None:
    error = RuntimeError("while reading the deal")
    error.__cause__ = ConnectionResetError(errno.ECONNRESET, "reset")
    assert is_database_outage(error)


def test_the_outage_log_writes_one_line_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    outages = OutageLog(logging.getLogger("innoshare.test_outage"), interval=60)
    with caplog.at_level(logging.WARNING, logger="innoshare.test_outage"):
        for _ in range(1000):
            outages.failed(ConnectionRefusedError("refused"), where="GET /v1/deals")
        assert outages.active
        outages.recovered()
        outages.recovered()  # nothing more to say
    lines = [r for r in caplog.records if r.name == "innoshare.test_outage"]
    assert len(lines) == 2, [r.getMessage() for r in lines]
    assert "database unavailable" in lines[0].getMessage()
    assert lines[0].exc_info is None
    assert "1000 failures" in lines[1].getMessage()
    assert not outages.active


async def test_an_unreachable_database_answers_503_not_500() -> None:
    """Nothing listens where the database should be: every route that needs it answers 503
    problem+json with Retry-After; liveness still answers, readiness says why not."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/innoshare"
    database = Database(create_engine(url, pool_size=2))
    app = create_app(make_settings(url, webhook_worker=False), database=database)
    token = create_access_token(
        user_id=uuid.uuid4(), role=Role.operator, signing_key=TEST_SECRET, ttl_seconds=600
    )
    headers = {"Authorization": f"Bearer {token}"}  # whose user cannot be read now
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            for method, path, extra in [
                ("GET", "/v1/organizations", {}),
                ("GET", "/v1/technologies", {}),  # the response cache reads generations first
                ("GET", f"/v1/deals/{uuid.uuid4()}", headers),
                ("POST", f"/v1/deals/{uuid.uuid4()}/fund", {**headers, "Idempotency-Key": "k1"}),
            ]:
                answer = await client.request(method, path, headers=extra)
                assert answer.status_code == 503, (path, answer.text)
                assert answer.headers["content-type"] == PROBLEM
                assert int(answer.headers["retry-after"]) >= 1
                assert answer.json()["code"] == "database_unavailable"
                assert answer.headers["x-request-id"] == answer.json()["request_id"]
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["code"] == "database_unavailable"
    finally:
        await database.dispose()


async def test_sqlite_locked_past_the_busy_timeout_answers_503(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that holds SQLite's lock longer than the busy timeout (a backup, a long
    import) makes the others wait and then answer 503: busy, not broken."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.db'}"
    await anyio.to_thread.run_sync(migrate, url)
    monkeypatch.setattr(db_module, "SQLITE_BUSY_TIMEOUT_MS", 100)
    database = Database(create_engine(url))
    app = create_app(make_settings(url, webhook_worker=False), database=database)
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            answer = await client.post(
                "/v1/auth/token", data={"username": "a@b.test", "password": "x" * 12}
            )
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "database_unavailable"
        assert "retry-after" in answer.headers
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        await database.dispose()


# --- a real PostgreSQL, stopped and started under a real server --------------------------------


def _log_lines(path: Path) -> list[dict[str, Any]]:
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            lines.append({"level": "RAW", "message": raw})
    return lines


async def _until_ok(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    started = time.monotonic()
    while time.monotonic() - started < 30:
        try:
            if (await client.get(url, headers=headers)).status_code == 200:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within 30 s of PostgreSQL starting")


@pytest.mark.postgres_only
async def test_postgresql_stopped_and_started_under_a_running_server(tmp_path: Path) -> None:
    try:
        with own_cluster("outage") as cluster:
            await _outage_drill(cluster, tmp_path)
    except ClusterUnavailable as reason:
        pytest.skip(f"needs a PostgreSQL cluster of its own to stop: {reason}")


async def _outage_drill(cluster: Any, tmp_path: Path) -> None:
    url = await cluster.create_database("innoshare")
    await anyio.to_thread.run_sync(migrate, url)
    settings = make_settings(url)
    database = Database(create_engine(url, pool_size=2))
    try:
        async with database.unit_of_work(write=True) as session:
            market = await build_market(session, settings)
    finally:
        await database.dispose()
    env = {
        "INNOSHARE_DATABASE_URL": url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "WARNING",
        "INNOSHARE_WEBHOOK_WORKER": "true",
        "INNOSHARE_WEBHOOK_POLL_SECONDS": "0.2",
    }
    log = tmp_path / "server.log"
    operator = market.operator.headers
    with running_servers(1, env, log=log) as [base]:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            opened = await client.post(
                "/v1/deals",
                headers={**market.buyer.headers, "Idempotency-Key": str(uuid.uuid4())},
                json={
                    "technology_id": str(market.technology.id),
                    "title": "盾构刀盘耐磨涂层技术转让",
                    "category": "transfer",
                    "gross_amount": "100000.00",
                },
            )
            assert opened.status_code == 201, opened.text
            deal = f"/v1/deals/{opened.json()['id']}"
            fund_key = {**operator, "Idempotency-Key": f"fund-{uuid.uuid4()}"}

            await anyio.to_thread.run_sync(cluster.stop)
            answers: list[httpx.Response] = []
            for _ in range(60):  # a few seconds of an outage, every kind of request
                answers.append(await client.get(deal, headers=operator))
                answers.append(await client.get("/v1/technologies"))
                answers.append(await client.post(f"{deal}/fund", headers=fund_key))
            for answer in answers:
                assert answer.status_code == 503, answer.text
                assert answer.headers["content-type"] == PROBLEM
                assert answer.json()["code"] == "database_unavailable"
                assert int(answer.headers["retry-after"]) >= 1
            assert (await client.get("/healthz")).status_code == 200
            assert (await client.get("/readyz")).status_code == 503

            await anyio.to_thread.run_sync(cluster.start)
            recovered_in = await _until_ok(client, deal, operator)
            assert recovered_in < 10

            # The key that met the outage was never used: it runs now, once.
            funded = await client.post(f"{deal}/fund", headers=fund_key)
            assert funded.status_code == 200, funded.text
            assert "idempotent-replayed" not in funded.headers
            again = await client.post(f"{deal}/fund", headers=fund_key)
            assert again.status_code == 200, again.text
            assert again.headers["idempotent-replayed"] == "true"
            assert again.json() == funded.json()
            assert funded.json()["status"] == "funded"
            verified = await client.get("/v1/ledger/verify", headers=market.auditor.headers)
            assert verified.status_code == 200, verified.text
            assert verified.json()["ok"] is True
            entries = (
                await client.get("/v1/ledger/entries", headers=market.auditor.headers)
            ).json()
            assert len(entries["items"]) == 1, "funded once"

    lines = _log_lines(log)
    outage_lines = [line for line in lines if "database unavailable" in line.get("message", "")]
    assert 1 <= len(outage_lines) <= 5, outage_lines
    assert any("reachable again" in line.get("message", "") for line in lines)
    assert not [line for line in lines if line.get("level") in ("ERROR", "CRITICAL")], lines
    assert not [line for line in lines if "exc_info" in line or "Traceback" in str(line)], lines
    assert len(lines) < 30, lines
