"""Builders of matchmaking tests: demands with their own text, listings with fields and
prices, service providers registered through the organizations service (which writes their
search text)."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings
from app.models.demands import Demand, DemandKind
from app.models.financial_products import FinancialProduct
from app.models.orgs import Organization, OrganizationKind
from app.models.talents import Talent
from app.models.technologies import Technology
from app.schemas.orgs import OrganizationCreate
from app.services import demands as demands_service
from app.services import financial_products as financial_products_service
from app.services import orgs as orgs_service
from app.services import talents as talents_service
from app.services import technologies as technologies_service
from tests import builders


async def buyer(session: AsyncSession, settings: Settings) -> builders.Actor:
    """A member of an enterprise (the kind that posts demands)."""
    enterprise = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    return await builders.actor(session, settings, organization=enterprise)


async def demand(
    session: AsyncSession,
    owner: Organization,
    *,
    title: str,
    description: str,
    kind: DemandKind = DemandKind.technology,
    field: str | None = None,
    budget_min: int | None = None,
    budget_max: int | None = None,
    budget_visible: bool = False,
    invited_only: bool = False,
    publish: bool = True,
) -> Demand:
    """A demand of ``owner``'s, opened by an operator (deadline in a day), committed."""
    values: dict[str, Any] = {
        "kind": kind,
        "title": title,
        "description": description,
        "field": field,
        "budget_min": budget_min,
        "budget_max": budget_max,
        "budget_visible": budget_visible,
        "deadline": utcnow() + timedelta(days=1),
        "reward": 100_000_00 if kind is DemandKind.challenge else None,
        "requirements": None,
        "attachments": [],
        "invited_only": invited_only,
        "tags": [],
        "external_id": None,
    }
    created = await demands_service.create_demand(
        session, principal=builders.principal(), values=values, owner_id=owner.id
    )
    if publish:
        await demands_service.publish_demand(
            session, principal=builders.principal(), demand_id=created.id, if_match=None
        )
    await session.commit()
    return created


async def technology(
    session: AsyncSession,
    owner: Organization,
    title: str,
    *,
    summary: str | None = None,
    field: str | None = None,
    trl: int = 6,
    price: tuple[int, int] | None = None,
) -> Technology:
    values: Mapping[str, Any] = {
        "title": title,
        "summary": summary,
        "field": field,
        "trl": trl,
        "price_min": price[0] if price else None,
        "price_max": price[1] if price else None,
        "tags": [],
        "external_id": None,
    }
    return await builders.published_item(session, technologies_service.SPEC, owner, values)


async def talent(
    session: AsyncSession, owner: Organization, name: str, *, expertise: str, field: str | None
) -> Talent:
    values = {"name": name, "expertise": expertise, "field": field, "tags": [], "external_id": None}
    return await builders.published_item(session, talents_service.SPEC, owner, values)


async def financial_product(
    session: AsyncSession, owner: Organization, name: str, *, amount: tuple[int, int], kind: str
) -> FinancialProduct:
    values = {
        "name": name,
        "kind": kind,
        "amount_min": amount[0],
        "amount_max": amount[1],
        "description": None,
        "tags": [],
        "external_id": None,
    }
    return await builders.published_item(session, financial_products_service.SPEC, owner, values)


async def registered(
    session: AsyncSession,
    name: str,
    kind: OrganizationKind,
    *,
    description: str | None = None,
) -> Organization:
    """An organization registered by an operator through the service, committed."""
    organization = await orgs_service.create_organization(
        session,
        principal=builders.principal(),
        data=OrganizationCreate(
            name=name, kind=kind, description=description, region="河南省郑州市高新区"
        ),
    )
    await session.commit()
    return organization
