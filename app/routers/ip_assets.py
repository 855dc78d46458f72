"""/v1/ip-assets: patents, trademarks, copyrights and software copyrights."""

from typing import Annotated

from fastapi import Query

from app.core.errors import problem_responses
from app.core.routing import PrefixRouter
from app.models.ip_assets import IPAsset, IPKind, LegalStatus
from app.routers.catalog import add_item_routes, catalog_query
from app.routers.deps import OptionalPrincipal, SessionDep
from app.schemas.base import Day
from app.schemas.ip_assets import IPAssetCreate, IPAssetPage, IPAssetRead, IPAssetUpdate
from app.services import catalog as catalog_service
from app.services import ip_assets as ip_assets_service

router = PrefixRouter(prefix="/v1/ip-assets", tags=["ip-assets"])


@router.get("", response_model=IPAssetPage, responses=problem_responses(400, 401, 422))
async def list_ip_assets(
    session: SessionDep,
    principal: OptionalPrincipal,
    query: catalog_query(ip_assets_service.SPEC),  # type: ignore[valid-type]
    kind: Annotated[list[IPKind] | None, Query()] = None,
    legal_status: Annotated[list[LegalStatus] | None, Query()] = None,
    field: Annotated[list[str] | None, Query(max_length=50)] = None,
    available_for_transfer: Annotated[bool | None, Query()] = None,
    available_for_license: Annotated[bool | None, Query()] = None,
    applied_from: Annotated[Day | None, Query()] = None,
    applied_to: Annotated[Day | None, Query()] = None,
) -> catalog_service.CatalogPage[IPAsset]:
    """Search and filter IP assets; facets: kind, legal_status, field, status, owner_id."""
    return await ip_assets_service.list_ip_assets(
        session,
        principal=principal,
        query=query,
        kinds=kind,
        legal_statuses=legal_status,
        fields=field,
        available_for_transfer=available_for_transfer,
        available_for_license=available_for_license,
        applied_from=applied_from,
        applied_to=applied_to,
    )


add_item_routes(
    router, ip_assets_service.SPEC, read=IPAssetRead, create=IPAssetCreate, update=IPAssetUpdate
)
