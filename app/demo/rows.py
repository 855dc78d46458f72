"""How the demo's rows go in: bulk inserts in chunks (COPY on PostgreSQL), each catalog's search
index built once after its rows, and progress reported to whoever asked for it."""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import search
from app.models.catalog import CatalogItem
from app.services import catalog_registry

INSERT_CHUNK = 2000
CATALOGS: tuple[type[CatalogItem], ...] = tuple(
    spec.model for spec in catalog_registry.CATALOGS.values()
)

ProgressCallback = Callable[[str, int, int], None]
"""Told ``(task, total, done)`` as the seed goes: first with ``done`` 0 when a task starts,
then with each step's count (the CLI draws one progress bar a task)."""


class Progress:
    """The seed's tasks, each reported to the callback, or to nobody."""

    def __init__(self, report: ProgressCallback | None = None) -> None:
        self._report = report
        self._started: set[str] = set()

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """The advance function of the task so described (started on first use)."""
        report = self._report
        if report is None:
            return lambda _done: None
        if description not in self._started:
            self._started.add(description)
            report(description, total, 0)
        return lambda done: report(description, total, done)


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def insert_rows(
    session: AsyncSession,
    model: type[Any],
    rows: Sequence[dict[str, Any]],
    advance: Callable[[int], None],
) -> None:
    """Bulk inserts in chunks, in the order given: Core executemany, or with asyncpg a binary
    COPY on the session's own connection (same transaction) of the values each column's type
    would bind for an INSERT (COPY costs PostgreSQL and Python a fraction of an INSERT)."""
    if not rows:
        return
    table = _table(model)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not hasattr(driver, "copy_records_to_table"):  # not asyncpg
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            await session.execute(insert(table), list(chunk))
            advance(len(chunk))
        return
    columns = list(rows[0])
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        records = [
            tuple(
                value if process is None or value is None else process(value)
                for value, process in zip((row[name] for name in columns), processors, strict=True)
            )
            for row in chunk
        ]
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
        advance(len(chunk))


@asynccontextmanager
async def search_index_built_after(
    session: AsyncSession, model: type[CatalogItem], progress: Progress
) -> AsyncIterator[None]:
    """The catalog's full-text index built once, after the block's rows are in (see
    :func:`app.core.search.suspend_search_index`), as a step of the "search index" task."""
    async with search.suspend_search_index(session, model.__tablename__):
        yield
        advance = progress.task("search index", len(CATALOGS))
    advance(1)


async def insert_catalog_rows(
    session: AsyncSession,
    model: type[CatalogItem],
    rows: Sequence[dict[str, Any]],
    progress: Progress,
    description: str,
) -> None:
    advance = progress.task(description, len(rows))
    async with search_index_built_after(session, model, progress):
        await insert_rows(session, model, rows, advance)
