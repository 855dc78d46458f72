"""/v1/search: one query across the catalogs."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.errors import problem_responses
from app.routers.deps import OptionalPrincipal, SearchIndexDep, SessionDep
from app.schemas.search import SearchResults
from app.services import catalog as catalog_service
from app.services.catalog_registry import CatalogName, searchable

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.get("", response_model=SearchResults, responses=problem_responses(422))
async def search_catalogs(
    session: SessionDep,
    index: SearchIndexDep,
    principal: OptionalPrincipal,
    q: Annotated[str, Query(min_length=1, max_length=200, description="Chinese and English.")],
    types: Annotated[
        list[CatalogName] | None, Query(description="Catalogs to search (default all).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    highlight: Annotated[
        bool, Query(description="Give each hit a snippet around the matched terms.")
    ] = False,
) -> catalog_service.SearchResultsView:
    """Search talents, technologies, policies, IP and financial products at once, best first."""
    return await catalog_service.search_everywhere(
        session,
        searchable(types),
        index=index,
        principal=principal,
        q=q,
        limit=limit,
        highlight=highlight,
    )
