"""/v1/imports: partners push their listings in batches, keyed by their own ids."""

from fastapi import APIRouter

from app.core.errors import problem_responses
from app.routers.deps import CurrentPrincipal, SessionDep
from app.schemas.catalog import ImportMode, ImportResponse
from app.schemas.ip_assets import IPAssetImportItem, IPAssetImportRequest
from app.schemas.talents import TalentImportItem, TalentImportRequest
from app.schemas.technologies import TechnologyImportItem, TechnologyImportRequest
from app.services import catalog as catalog_service
from app.services import ip_assets as ip_assets_service
from app.services import talents as talents_service
from app.services import technologies as technologies_service

router = APIRouter(prefix="/v1/imports", tags=["imports"])

_RESPONSES = problem_responses(400, 401, 403, 409, 413, 422)
_DOC = (
    " Items are matched by external_id within your organization: new ones are created,"
    " changed ones updated, identical ones left alone (no write, no history, same ETag)."
    " In atomic mode one bad item rejects the batch (422 `import_rejected`, with every"
    " item's result) and nothing is written."
)


@router.post(
    "/technologies",
    response_model=ImportResponse,
    responses=_RESPONSES,
    description="Create or update up to 1,000 technologies of your organization." + _DOC,
)
async def import_technologies(
    body: TechnologyImportRequest, session: SessionDep, principal: CurrentPrincipal
) -> catalog_service.ImportOutcome:
    return await catalog_service.import_items(
        session,
        technologies_service.SPEC,
        principal=principal,
        item_schema=TechnologyImportItem,
        raw_items=body.items,
        atomic=body.mode is ImportMode.atomic,
    )


@router.post(
    "/talents",
    response_model=ImportResponse,
    responses=_RESPONSES,
    description="Create or update up to 1,000 talents of your organization." + _DOC,
)
async def import_talents(
    body: TalentImportRequest, session: SessionDep, principal: CurrentPrincipal
) -> catalog_service.ImportOutcome:
    return await catalog_service.import_items(
        session,
        talents_service.SPEC,
        principal=principal,
        item_schema=TalentImportItem,
        raw_items=body.items,
        atomic=body.mode is ImportMode.atomic,
    )


@router.post(
    "/ip-assets",
    response_model=ImportResponse,
    responses=_RESPONSES,
    description="Create or update up to 1,000 IP assets of your organization." + _DOC,
)
async def import_ip_assets(
    body: IPAssetImportRequest, session: SessionDep, principal: CurrentPrincipal
) -> catalog_service.ImportOutcome:
    return await catalog_service.import_items(
        session,
        ip_assets_service.SPEC,
        principal=principal,
        item_schema=IPAssetImportItem,
        raw_items=body.items,
        atomic=body.mode is ImportMode.atomic,
    )
