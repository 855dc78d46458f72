"""/v1/stats: the platform's headline figures."""

from typing import Annotated

from fastapi import Query

from app.core.errors import problem_responses
from app.core.routing import PrefixRouter
from app.routers.deps import SessionDep, SettingsDep
from app.schemas.base import DayOrTime
from app.schemas.stats import OverviewRead
from app.services import stats as stats_service

router = PrefixRouter(prefix="/v1/stats", tags=["stats"])


@router.get("/overview", response_model=OverviewRead, responses=problem_responses(422))
async def get_stats_overview(
    session: SessionDep,
    settings: SettingsDep,
    as_of: Annotated[
        DayOrTime | None,
        Query(description="A day (its end, platform time zone) or a time; default now."),
    ] = None,
) -> stats_service.Overview:
    """Counts of published catalog items, institutions, settled volume, tax and enterprises
    served, and of demands, proposals and deals from awards, as of a time."""
    return await stats_service.overview(session, as_of=as_of, zone=settings.timezone)
