"""Talents: experts and researchers."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.security import Principal
from app.models.talents import Talent
from app.services import catalog
from app.services.catalog import CatalogPage, CatalogQuery

SPEC = catalog.CatalogSpec(
    name="talents",
    noun="talent",
    model=Talent,
    fields=(
        "name",
        "title",
        "affiliation",
        "field",
        "research_fields",
        "expertise",
        "achievements",
        "contact_email",
        "contact_phone",
    ),
    title_fields=("name",),
    body_fields=("title", "affiliation", "field", "research_fields", "expertise", "achievements"),
    facets=("field", "title", "status", "owner_id"),
    private_fields=frozenset({"contact_email", "contact_phone"}),
)


async def list_talents(
    session: AsyncSession,
    *,
    principal: Principal | None,
    query: CatalogQuery,
    fields: list[str] | None = None,
    titles: list[str] | None = None,
    research_field: str | None = None,
) -> CatalogPage[Talent]:
    """Talents by main field, professional title and research field."""
    query.filter = filters.all_of(
        filters.one_of("field", fields),
        filters.one_of("title", titles),
        filters.has_all("research_fields", [research_field] if research_field else None),
    )
    return await catalog.search_items(session, SPEC, principal=principal, query=query)
