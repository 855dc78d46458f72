"""Policies, curated by the platform's operators."""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.errors import FieldError
from app.core.pagination import KeysetOrder
from app.core.security import Principal
from app.models.policies import Policy, PolicyLevel
from app.services import catalog
from app.services.catalog import CatalogPage, CatalogQuery


def date_order_errors(values: Mapping[str, Any], *names: str) -> list[FieldError]:
    """Each present date of ``names`` is on or after the present ones before it."""
    errors, latest = [], None
    for name in names:
        value = values.get(name)
        if value is None:
            continue
        if latest is not None and value < latest[1]:
            errors.append(
                FieldError(
                    loc=["body", name], message=f"{name} is before {latest[0]}", type="date_order"
                )
            )
        latest = (name, value)
    return errors


async def check_policies(
    session: AsyncSession, principal: Principal, items: Sequence[Mapping[str, Any]]
) -> list[list[FieldError]]:
    return [
        date_order_errors(item, "issue_date", "effective_date", "expiry_date") for item in items
    ]


SPEC = catalog.CatalogSpec(
    name="policies",
    noun="policy",
    model=Policy,
    fields=(
        "title",
        "issuing_authority",
        "level",
        "document_number",
        "issue_date",
        "effective_date",
        "expiry_date",
        "category",
        "full_text",
    ),
    title_fields=("title", "document_number"),
    body_fields=("issuing_authority", "category", "full_text"),
    facets=("level", "category", "issuing_authority", "status", "owner_id"),
    sorts={"issued": KeysetOrder("policies:issued", (Policy.issue_date, Policy.id))},
    staff_only=True,
    list_omits=("full_text",),
    snippet_fields=("full_text", "issuing_authority"),
    check=check_policies,
)


async def list_policies(
    session: AsyncSession,
    *,
    principal: Principal | None,
    query: CatalogQuery,
    levels: list[PolicyLevel] | None = None,
    categories: list[str] | None = None,
    authorities: list[str] | None = None,
    issued_from: date | None = None,
    issued_to: date | None = None,
    in_force_on: date | None = None,
) -> CatalogPage[Policy]:
    """Policies by level, category, authority, issue date, and whether in force on a day."""
    in_force = None
    if in_force_on is not None:
        in_force = filters.all_of(
            filters.Range("effective_date", high=in_force_on, or_null=True),
            filters.Range("issue_date", high=in_force_on),
            filters.Range("expiry_date", low=in_force_on, or_null=True),
        )
    query.filter = filters.all_of(
        filters.one_of("level", levels),
        filters.one_of("category", categories),
        filters.one_of("issuing_authority", authorities),
        filters.at_least("issue_date", issued_from),
        filters.at_most("issue_date", issued_to),
        in_force,
    )
    return await catalog.search_items(session, SPEC, principal=principal, query=query)
