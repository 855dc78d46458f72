"""Liveness and readiness of this process and its database."""

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import AppError
from app.core.migrations import CURRENT_REVISIONS, head_revisions


class NotReady(AppError):
    status = 503
    code = "not_ready"
    title = "Service Unavailable"


@dataclass(frozen=True, slots=True)
class Readiness:
    status: str
    database: str
    migrations: str


async def check_readiness(session: AsyncSession) -> Readiness:
    """Ready when the database answers and its schema is at the newest migration."""
    try:
        await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        raise NotReady("The database is not reachable.", code="database_unavailable") from exc
    try:
        rows = (await session.execute(CURRENT_REVISIONS)).scalars()
        current = frozenset(rows.all())
    except SQLAlchemyError:
        current = frozenset()
    heads = head_revisions()
    if current != heads:
        raise NotReady(
            f"The database schema is at {sorted(current) or 'nothing'}, the code expects"
            f" {sorted(heads)}; run 'innoshare migrate'.",
            code="migrations_pending",
        )
    return Readiness(status="ready", database="ok", migrations=",".join(sorted(current)))
