"""Policies, curated by the platform's operators."""

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession

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
    in_force = []
    if in_force_on is not None:
        in_force = [
            or_(Policy.effective_date.is_(None), Policy.effective_date <= in_force_on),
            Policy.issue_date <= in_force_on,
            or_(Policy.expiry_date.is_(None), Policy.expiry_date >= in_force_on),
        ]
    query.conditions = catalog.all_of(
        catalog.one_of(Policy.level, levels),
        catalog.one_of(Policy.category, categories),
        catalog.one_of(Policy.issuing_authority, authorities),
        catalog.at_least(Policy.issue_date, issued_from),
        catalog.at_most(Policy.issue_date, issued_to),
        in_force,
    )
    return await catalog.search_items(session, SPEC, principal=principal, query=query)
