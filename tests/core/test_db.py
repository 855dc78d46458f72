"""The unit of work commits before the response; both backends behave alike."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from asyncpg.exceptions import InternalClientError
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import Database, after_commit, create_engine
from app.core.reads import RowReader
from app.core.security import Role
from app.core.sql import execute_sql
from app.main import create_app
from app.models.idempotency import IdempotencyRecord
from app.models.orgs import Organization
from app.services import technologies as technologies_service
from tests import builders
from tests.conftest import BACKEND, make_settings

SQLITE_TRAP = [
    "CREATE TABLE trap_target (id INTEGER PRIMARY KEY)",
    "CREATE TABLE commit_trap (target_id INTEGER REFERENCES trap_target (id)"
    " DEFERRABLE INITIALLY DEFERRED)",
    "CREATE TRIGGER organizations_commit_trap AFTER INSERT ON organizations"
    " BEGIN INSERT INTO commit_trap VALUES (42); END",
]
POSTGRES_TRAP = [
    "CREATE TABLE trap_target (id integer PRIMARY KEY)",
    "CREATE TABLE commit_trap (target_id integer REFERENCES trap_target (id)"
    " DEFERRABLE INITIALLY DEFERRED)",
    "CREATE FUNCTION commit_trap() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN INSERT INTO commit_trap VALUES (42); RETURN NEW; END $$",
    "CREATE TRIGGER organizations_commit_trap AFTER INSERT ON organizations"
    " FOR EACH ROW EXECUTE FUNCTION commit_trap()",
]


async def test_a_failing_commit_is_never_a_2xx(migrated_fresh_database_url: str) -> None:
    """A deferred foreign key makes COMMIT itself fail; the client must see an error."""
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        settings = make_settings(migrated_fresh_database_url)
        async with database.unit_of_work(write=True) as session:
            admin = await builders.create_user(session, role=Role.admin)
            for statement in SQLITE_TRAP if BACKEND == "sqlite" else POSTGRES_TRAP:
                await session.execute(text(statement))
        app = create_app(settings, database=database)
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/v1/organizations",
                json={"name": "提交失败测试", "kind": "enterprise"},
                headers=builders.bearer_for(admin, settings),
            )
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "internal_error"
        async with database.unit_of_work(write=False) as session:
            count = await session.scalar(select(func.count()).select_from(Organization))
        assert count == 0
    finally:
        await database.dispose()


async def test_an_error_rolls_back_what_the_request_wrote(migrated_fresh_database_url: str) -> None:
    database = Database(create_engine(migrated_fresh_database_url))

    async def write_then_fail() -> None:
        async with database.unit_of_work(write=True) as session:
            session.add(Organization(name="回滚", kind="enterprise"))
            await session.flush()
            raise RuntimeError("after the flush")

    try:
        with pytest.raises(RuntimeError):
            await write_then_fail()
        async with database.unit_of_work(write=False) as session:
            names = (await session.scalars(select(Organization.name))).all()
        assert "回滚" not in names
    finally:
        await database.dispose()


async def test_timestamps_come_back_aware_and_in_utc(session: AsyncSession) -> None:
    organization = await builders.create_organization(session)
    beijing = timezone(timedelta(hours=8))
    organization.updated_at = datetime(2020, 5, 31, 23, 30, tzinfo=beijing)
    await session.commit()
    session.expunge_all()
    reloaded = await session.get(Organization, organization.id)
    assert reloaded is not None
    assert reloaded.updated_at == datetime(2020, 5, 31, 15, 30, tzinfo=UTC)
    assert reloaded.updated_at.tzinfo is not None
    assert reloaded.created_at.tzinfo is not None
    assert reloaded.created_at <= datetime.now(UTC)


async def test_new_rows_share_one_creation_instant(session: AsyncSession) -> None:
    organization = await builders.create_organization(session)
    assert organization.created_at == organization.updated_at


async def test_naive_datetimes_are_refused(session: AsyncSession) -> None:
    organization = await builders.create_organization(session)
    organization.updated_at = datetime(2020, 1, 1)  # noqa: DTZ001 - the point of the test
    with pytest.raises(Exception, match="naive datetime"):
        await session.flush()


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite connection settings")
async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(session: AsyncSession) -> None:
    assert await session.scalar(text("PRAGMA foreign_keys")) == 1
    assert (await session.scalar(text("PRAGMA journal_mode"))).lower() == "wal"
    assert await session.scalar(text("PRAGMA busy_timeout")) >= 1000


@pytest.mark.postgres_only
async def test_row_reads_return_connections_and_discard_dead_ones(engine: AsyncEngine) -> None:
    """RowReader checks asyncpg connections out of the pool itself: each goes back after
    the read, and one the server closed fails a single read and is replaced."""
    database = Database(
        create_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    )
    reader = RowReader(Organization, ["id", "name"])
    pool = database.engine.sync_engine.pool
    try:
        assert await reader.fetch(database.reads, uuid.uuid4()) is None
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        async with database.reads.driver_connection() as driver:
            backend = driver.get_server_pid()
        async with engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        await asyncio.sleep(0.2)  # the pooled connection hears of it while idle
        dead = (asyncpg.PostgresError, asyncpg.InterfaceError, InternalClientError, OSError)
        with pytest.raises(dead):
            await reader.fetch(database.reads, uuid.uuid4())
        assert pool.checkedout() == 0  # type: ignore[attr-defined]
        assert await reader.fetch(database.reads, uuid.uuid4()) is None
        async with database.reads.driver_connection() as driver:
            assert driver.get_server_pid() != backend
        # An error of the statement itself keeps the connection.
        backends: list[int] = []

        async def divide_by_zero() -> None:
            async with database.reads.driver_connection() as driver:
                backends.append(driver.get_server_pid())
                await driver.fetchval("SELECT 1 / 0")

        with pytest.raises(asyncpg.DataError):
            await divide_by_zero()
        async with database.reads.driver_connection() as driver:
            assert driver.get_server_pid() == backends[0]
    finally:
        await database.dispose()


async def test_rows_by_id_on_the_fast_path_read_as_the_orm_reads_them(
    migrated_fresh_database_url: str,
) -> None:
    """RowReader.fetch_many (a search page's rows) gives every column the value the ORM gives:
    UUIDs, aware timestamps, JSON lists, enums, integers and nulls, on either driver."""
    database = Database(create_engine(migrated_fresh_database_url))
    spec = technologies_service.SPEC
    try:
        async with database.unit_of_work(write=True) as session:
            owner = await builders.create_organization(session, name="快读大学")
            items = [
                await builders.published_item(
                    session,
                    spec,
                    owner,
                    {
                        "title": f"盾构刀盘耐磨涂层 {n}",
                        "trl": 4 + n,
                        "tags": ["盾构", f"标签{n}"],
                        "transfer_modes": ["license"],
                        "price_min": 100_000 * n or None,
                        "external_id": None,
                    },
                )
                for n in range(3)
            ]
        wanted = [item.id for item in items] + [uuid.uuid4()]  # one that does not exist
        rows = await spec.list_reader.fetch_many(database.reads, wanted)
        assert len(rows) == 3
        async with database.unit_of_work(write=False) as session:
            for row in rows:
                item = await session.get(spec.model, row["id"])
                assert item is not None
                assert set(row) == set(spec.list_reader.columns)
                assert row == {name: getattr(item, name) for name in row}
                assert row["created_at"].tzinfo is not None
                assert row["tags"][0] == "盾构"
        assert await spec.list_reader.fetch_many(database.reads, []) == []
    finally:
        await database.dispose()


async def test_after_commit_actions_run_once_in_their_own_transaction(
    migrated_fresh_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Queued actions run after the commit; a failing one is logged and rolled back, and
    neither undoes the committed work nor reaches the caller; a rolled-back unit runs none."""
    database = Database(create_engine(migrated_fresh_database_url))
    ran: list[str] = []

    async def mark(session: AsyncSession) -> None:
        ran.append("mark")
        await session.execute(text("UPDATE catalog_generations SET generation = 7"))

    async def fail(session: AsyncSession) -> None:
        ran.append("fail")
        await session.execute(text("UPDATE catalog_generations SET generation = 99"))
        raise RuntimeError("boom")

    async def generations() -> set[int]:
        rows = await database.reads.fetch_rows("SELECT generation FROM catalog_generations")
        return {row[0] for row in rows}

    try:
        async with database.unit_of_work(write=True) as session:
            await builders.create_organization(session, name="提交后动作")
            after_commit(session, fail)
            after_commit(session, mark)
            after_commit(session, mark)  # once, however often asked
        assert ran == ["fail", "mark"]
        assert await generations() == {7}
        assert "after-commit action fail failed" in caplog.text
        async with database.unit_of_work(write=False) as session:
            names = await session.scalars(select(Organization.name))
            assert list(names) == ["提交后动作"]

        async def failing_request() -> None:
            async with database.unit_of_work(write=True) as session:
                after_commit(session, mark)
                raise RuntimeError("the request failed")

        with pytest.raises(RuntimeError, match="the request failed"):
            await failing_request()
        assert ran == ["fail", "mark"]
    finally:
        await database.dispose()


async def _record_sql(session: AsyncSession, key: str, created_at: datetime) -> None:
    await execute_sql(
        session,
        "INSERT INTO idempotency_records (principal, key, method, path, fingerprint,"
        " status_code, response_body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        ("user:sql", key, "POST", "/v1/x", "f" * 64, 201, "{}", created_at),
    )


async def test_driver_sql_runs_in_the_unit_of_work_from_its_first_statement(
    migrated_fresh_database_url: str,
) -> None:
    """execute_sql as a transaction's first statement (PostgreSQL: through SQLAlchemy, which
    begins it) and after it (straight on the driver): both commit and roll back with it."""
    database = Database(create_engine(migrated_fresh_database_url))
    when = datetime(2026, 11, 25, 3, 4, 5, 678901, tzinfo=UTC)

    async def write_then_fail() -> None:
        async with database.unit_of_work(write=True) as session:
            await _record_sql(session, "first", when)
            await _record_sql(session, "second", when)
            raise RuntimeError("after both")

    try:
        with pytest.raises(RuntimeError):
            await write_then_fail()
        async with database.unit_of_work(write=True) as session:
            await _record_sql(session, "kept", when)
        async with database.unit_of_work(write=False) as session:
            records = (await session.scalars(select(IdempotencyRecord))).all()
        # written as the ORM writes it: read back through the model's types, equal
        assert [(r.key, r.created_at, r.status_code) for r in records] == [("kept", when, 201)]
    finally:
        await database.dispose()


async def test_driver_sql_errors_are_sqlalchemys(session: AsyncSession) -> None:
    """A constraint broken through execute_sql raises what SQLAlchemy would (callers catch
    IntegrityError, and retry on the SQLSTATE of a DBAPIError's driver error)."""
    when = datetime(2026, 11, 25, tzinfo=UTC)
    await _record_sql(session, "twice", when)
    rows = await execute_sql(
        session,
        "SELECT key, status_code FROM idempotency_records WHERE principal = $1 AND key = $2",
        ("user:sql", "twice"),
    )
    assert rows.one() == ("twice", 201)
    with pytest.raises(IntegrityError) as raised:
        await _record_sql(session, "twice", when)
    if BACKEND == "postgresql":
        assert raised.value.orig.sqlstate == "23505"  # type: ignore[union-attr]


@pytest.mark.postgres_only
async def test_driver_sql_on_a_connection_the_server_closed_fails_one_request(
    engine: AsyncEngine,
) -> None:
    """A connection killed inside a money transaction fails that unit of work only: its
    connection is not pooled again, and the next one works on a fresh backend."""
    database = Database(
        create_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    )
    pid = "SELECT pg_backend_pid()"
    try:

        async def killed_half_way() -> int:
            async with database.unit_of_work(write=True) as session:
                (backend,) = (await execute_sql(session, pid)).one()  # begins the transaction
                async with engine.connect() as other:
                    await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
                await asyncio.sleep(0.2)
                await execute_sql(session, pid)  # straight on the driver: the backend is gone
            raise AssertionError("the second statement should have failed")

        with pytest.raises(Exception) as raised:  # noqa: PT011 (any error; not a hang or a 2xx)
            await killed_half_way()
        assert not isinstance(raised.value, AssertionError)
        assert database.engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with database.unit_of_work(write=True) as session:
            (first,) = (await execute_sql(session, pid)).one()
            (second,) = (await execute_sql(session, pid)).one()
        assert first == second
    finally:
        await database.dispose()
