"""bulk.insert_rows and copy_rows: many rows in a few statements, bound as the ORM binds them."""

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk
from app.models.catalog import CatalogHistory, HistoryAction
from tests.conftest import BACKEND


def _entries(count: int) -> list[dict[str, object]]:
    now = datetime(2026, 11, 24, 8, 30, 15, 123456, tzinfo=UTC)
    return [
        {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "catalog": "technologies",
            "item_id": uuid.uuid4(),
            "action": HistoryAction.create if n % 2 else HistoryAction.update,
            "actor_kind": "api_key",
            "actor_id": None if n % 3 else uuid.uuid4(),
            "source": "import",
            "version": n,
            "changes": {
                "title": [None, f"金刚石锯片 {n}"],
                "trl": [n % 9, 9],
                "tags": [["超硬"], []],
            },
        }
        for n in range(count)
    ]


async def _read_back(session: AsyncSession, ids: list[object]) -> list[dict[str, object]]:
    session.expunge_all()
    rows = (await session.scalars(select(CatalogHistory).where(CatalogHistory.id.in_(ids)))).all()
    by_id = {row.id: row for row in rows}
    return [
        {column: getattr(by_id[i], column) for column in _entries(1)[0]} for i in ids if i in by_id
    ]


async def test_rows_read_back_as_written(session: AsyncSession) -> None:
    entries = _entries(25)
    await bulk.insert_rows(session, CatalogHistory, entries)
    assert await _read_back(session, [e["id"] for e in entries]) == entries


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite splits by its parameter limit")
async def test_sqlite_splits_statements_at_the_parameter_limit(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = await session.connection()
    monkeypatch.setattr(connection.dialect, "insertmanyvalues_max_parameters", 50)  # 4 rows
    entries = _entries(11)
    await bulk.insert_rows(session, CatalogHistory, entries)
    assert await _read_back(session, [e["id"] for e in entries]) == entries


async def test_nothing_to_insert(session: AsyncSession) -> None:
    await bulk.insert_rows(session, CatalogHistory, [])


async def test_a_violated_constraint_is_an_integrity_error(session: AsyncSession) -> None:
    [entry] = _entries(1)
    with pytest.raises(IntegrityError):
        await bulk.insert_rows(session, CatalogHistory, [entry, {**entry, "version": 2}])


async def test_a_column_the_table_lacks_fails_before_any_sql(session: AsyncSession) -> None:
    """Statement text names columns through the table: a renamed one is a KeyError, not SQL."""
    [entry] = _entries(1)
    entry["acted_by"] = entry.pop("actor_id")
    with pytest.raises(KeyError, match="acted_by"):
        await bulk.insert_rows(session, CatalogHistory, [entry])
    assert await _read_back(session, [entry["id"]]) == []


async def test_a_load_in_chunks_reads_back_as_written_and_reports_each_chunk(
    session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """copy_rows: COPY on PostgreSQL, insert_rows' statements elsewhere; the same rows."""
    monkeypatch.setattr(bulk, "COPY_CHUNK", 10)
    entries = _entries(25)
    done: list[int] = []
    await bulk.copy_rows(session, CatalogHistory, entries, done.append)
    assert done == [10, 10, 5]
    assert await _read_back(session, [e["id"] for e in entries]) == entries
