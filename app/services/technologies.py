"""Technologies: research results offered for transfer."""

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.errors import FieldError
from app.core.security import Principal
from app.models.catalog import CatalogItem, CatalogStatus
from app.models.ip_assets import IPAsset
from app.models.talents import Talent
from app.models.technologies import Technology, TransferMode
from app.services import catalog
from app.services.catalog import CatalogPage, CatalogQuery


async def visible_ids(
    session: AsyncSession, model: type[CatalogItem], principal: Principal, ids: set[str]
) -> set[str]:
    """Which of ``ids`` name items the principal may reference: published ones, or its own."""
    if not ids:
        return set()
    wanted = [uuid.UUID(i) for i in ids]
    stmt = select(model.id).where(model.id.in_(wanted))
    if not principal.is_staff:
        stmt = stmt.where(
            or_(
                model.status == CatalogStatus.published, model.owner_id == principal.organization_id
            )
        )
    return {str(i) for i in (await session.scalars(stmt)).all()}


def _price_errors(values: Mapping[str, Any]) -> list[FieldError]:
    low, high = values.get("price_min"), values.get("price_max")
    if low is not None and high is not None and low > high:
        return [
            FieldError(
                loc=["body", "price_min"],
                message="price_min is above price_max",
                type="range_order",
            )
        ]
    return []


async def check_technologies(
    session: AsyncSession, principal: Principal, items: Sequence[Mapping[str, Any]]
) -> list[list[FieldError]]:
    """Prices in order; inventors and IP assets exist and may be referenced by the caller."""
    inventors = {str(i) for item in items for i in item.get("inventor_ids") or []}
    assets = {str(i) for item in items for i in item.get("ip_asset_ids") or []}
    known_inventors = await visible_ids(session, Talent, principal, inventors)
    known_assets = await visible_ids(session, IPAsset, principal, assets)
    results = []
    for item in items:
        errors = _price_errors(item)
        for name, known in (("inventor_ids", known_inventors), ("ip_asset_ids", known_assets)):
            missing = [str(i) for i in item.get(name) or [] if str(i) not in known]
            if missing:
                errors.append(
                    FieldError(
                        loc=["body", name],
                        message=f"unknown ids: {', '.join(missing)}",
                        type="unknown_reference",
                    )
                )
        results.append(errors)
    return results


SPEC = catalog.CatalogSpec(
    name="technologies",
    noun="technology",
    model=Technology,
    fields=(
        "title",
        "summary",
        "field",
        "trl",
        "transfer_modes",
        "price_min",
        "price_max",
        "inventor_ids",
        "ip_asset_ids",
    ),
    title_fields=("title",),
    body_fields=("summary", "field"),
    facets=("field", "trl", "status", "owner_id"),
    check=check_technologies,
)


async def list_technologies(
    session: AsyncSession,
    *,
    principal: Principal | None,
    query: CatalogQuery,
    fields: list[str] | None = None,
    trl_min: int | None = None,
    trl_max: int | None = None,
    price_min: int | None = None,
    price_max: int | None = None,
    transfer_modes: list[TransferMode] | None = None,
    inventor_id: uuid.UUID | None = None,
) -> CatalogPage[Technology]:
    """Technologies by field, readiness, asking price (overlapping the range) and mode."""
    query.filter = filters.all_of(
        filters.one_of("field", fields),
        filters.at_least("trl", trl_min),
        filters.at_most("trl", trl_max),
        filters.overlapping("price_min", "price_max", price_min, price_max),
        filters.has_all("transfer_modes", [mode.value for mode in transfer_modes or []]),
        filters.has_all("inventor_ids", [str(inventor_id)] if inventor_id else None),
    )
    return await catalog.search_items(session, SPEC, principal=principal, query=query)
