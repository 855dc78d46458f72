"""/v1/imports: partners push their listings in batches, keyed by their own ids."""

from typing import Any

from fastapi import APIRouter

from app.core.errors import problem_responses
from app.routers.deps import CurrentPrincipal, SessionDep
from app.schemas.catalog import ImportMode, ImportRequest, ImportResponse
from app.schemas.ip_assets import IPAssetImportItem, IPAssetImportRequest
from app.schemas.talents import TalentImportItem, TalentImportRequest
from app.schemas.technologies import TechnologyImportItem, TechnologyImportRequest
from app.services import catalog as catalog_service
from app.services import ip_assets as ip_assets_service
from app.services import talents as talents_service
from app.services import technologies as technologies_service
from app.services.catalog import CatalogSpec

router = APIRouter(prefix="/v1/imports", tags=["imports"])

_DOC = (
    " Items are matched by external_id within your organization: new ones are created,"
    " changed ones updated, identical ones left alone (no write, no history, same ETag)."
    " In atomic mode one bad item rejects the batch (422 `import_rejected`, with every"
    " item's result) and nothing is written."
)


def add_import_route(
    spec: CatalogSpec[Any], *, plural: str, request: type[ImportRequest[Any]], item: type[Any]
) -> None:
    """POST /v1/imports/<catalog>: one catalog's batch upsert, operation id ``import_<name>``."""

    async def import_items(
        body: request,  # type: ignore[valid-type]
        session: SessionDep,
        principal: CurrentPrincipal,
    ) -> catalog_service.ImportOutcome:
        return await catalog_service.import_items(
            session,
            spec,
            principal=principal,
            item_schema=item,
            raw_items=body.items,  # type: ignore[attr-defined]
            atomic=body.mode is ImportMode.atomic,  # type: ignore[attr-defined]
        )

    router.add_api_route(
        "/" + spec.name.replace("_", "-"),
        import_items,
        methods=["POST"],
        response_model=ImportResponse,
        responses=problem_responses(400, 401, 403, 409, 413, 422),
        name=f"import_{spec.name}",
        description=f"Create or update up to 1,000 {plural} of your organization." + _DOC,
    )


for _spec, _plural, _request, _item in (
    (technologies_service.SPEC, "technologies", TechnologyImportRequest, TechnologyImportItem),
    (talents_service.SPEC, "talents", TalentImportRequest, TalentImportItem),
    (ip_assets_service.SPEC, "IP assets", IPAssetImportRequest, IPAssetImportItem),
):
    add_import_route(_spec, plural=_plural, request=_request, item=_item)
