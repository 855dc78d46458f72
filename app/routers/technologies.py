"""/v1/technologies: research results offered for transfer."""

import uuid
from typing import Annotated

from fastapi import Query

from app.core.errors import problem_responses
from app.core.routing import PrefixRouter
from app.models.technologies import Technology, TransferMode
from app.routers.catalog import add_item_routes, catalog_query
from app.routers.deps import OptionalPrincipal, SessionDep
from app.schemas.base import MoneyIn
from app.schemas.technologies import (
    TechnologyCreate,
    TechnologyPage,
    TechnologyRead,
    TechnologyUpdate,
)
from app.services import catalog as catalog_service
from app.services import technologies as technologies_service

router = PrefixRouter(prefix="/v1/technologies", tags=["technologies"])


@router.get(
    "",
    response_model=TechnologyPage,
    responses=problem_responses(400, 401, 422),
)
async def list_technologies(
    session: SessionDep,
    principal: OptionalPrincipal,
    query: catalog_query(technologies_service.SPEC),  # type: ignore[valid-type]
    field: Annotated[list[str] | None, Query(max_length=50)] = None,
    trl_min: Annotated[int | None, Query(ge=1, le=9)] = None,
    trl_max: Annotated[int | None, Query(ge=1, le=9)] = None,
    price_min: Annotated[MoneyIn | None, Query(description="CNY, e.g. 100000.00")] = None,
    price_max: Annotated[MoneyIn | None, Query(description="CNY, e.g. 5000000.00")] = None,
    transfer_mode: Annotated[list[TransferMode] | None, Query()] = None,
    inventor_id: Annotated[uuid.UUID | None, Query()] = None,
) -> catalog_service.CatalogPage[Technology]:
    """Search and filter technologies; facets: field, trl, status, owner_id."""
    return await technologies_service.list_technologies(
        session,
        principal=principal,
        query=query,
        fields=field,
        trl_min=trl_min,
        trl_max=trl_max,
        price_min=price_min,
        price_max=price_max,
        transfer_modes=transfer_mode,
        inventor_id=inventor_id,
    )


add_item_routes(
    router,
    technologies_service.SPEC,
    read=TechnologyRead,
    create=TechnologyCreate,
    update=TechnologyUpdate,
)
