"""/v1/talents: experts and researchers; contact details for signed-in callers only."""

from typing import Annotated

from fastapi import Query

from app.core.errors import problem_responses
from app.core.routing import PrefixRouter
from app.models.talents import Talent
from app.routers.catalog import add_item_routes, catalog_query
from app.routers.deps import OptionalPrincipal, SessionDep
from app.schemas.talents import TalentCreate, TalentPage, TalentRead, TalentUpdate
from app.services import catalog as catalog_service
from app.services import talents as talents_service

router = PrefixRouter(prefix="/v1/talents", tags=["talents"])


@router.get("", response_model=TalentPage, responses=problem_responses(400, 401, 422))
async def list_talents(
    session: SessionDep,
    principal: OptionalPrincipal,
    query: catalog_query(talents_service.SPEC),  # type: ignore[valid-type]
    field: Annotated[list[str] | None, Query(max_length=50)] = None,
    title: Annotated[list[str] | None, Query(max_length=100, description="职称")] = None,
    research_field: Annotated[str | None, Query(max_length=50)] = None,
) -> catalog_service.CatalogPage[Talent]:
    """Search and filter talents; facets: field, title, status, owner_id."""
    return await talents_service.list_talents(
        session,
        principal=principal,
        query=query,
        fields=field,
        titles=title,
        research_field=research_field,
    )


add_item_routes(
    router, talents_service.SPEC, read=TalentRead, create=TalentCreate, update=TalentUpdate
)
