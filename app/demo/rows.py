"""How the demo's rows go in: loaded in chunks by :func:`app.core.bulk.copy_rows` (COPY on
PostgreSQL), and progress reported to whoever asked for it. (The search index is each
server's, built from the rows when it starts: app/core/search_index.py.)"""

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk
from app.models.catalog import CatalogItem
from app.models.demands import Demand
from app.services import catalog_registry

CATALOGS: tuple[type[CatalogItem], ...] = tuple(
    spec.model for spec in catalog_registry.CATALOGS.values()
)
SEARCHABLE: tuple[type[CatalogItem], ...] = (*CATALOGS, Demand)
"""Every searchable table the seed fills: the catalogs and the demands."""

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


async def insert_catalog_rows(
    session: AsyncSession,
    model: type[CatalogItem],
    rows: Sequence[dict[str, Any]],
    progress: Progress,
    description: str,
) -> None:
    advance = progress.task(description, len(rows))
    await bulk.copy_rows(session, model, rows, advance)
