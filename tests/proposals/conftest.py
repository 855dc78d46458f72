"""A tender to bid in: an enterprise that posts demands, two providers, a program of a third
organization holding demands:write, an operator and an auditor."""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role, Scope
from app.models.demands import Demand, DemandInvitation
from app.models.orgs import Organization, OrganizationKind
from tests import builders


@dataclass
class Tender:
    owner: builders.Actor
    provider_a: builders.Actor
    provider_b: builders.Actor
    outsider_key: builders.Actor
    """An API key of an organization that has not proposed, with demands:write."""
    operator: builders.Actor
    auditor: builders.Actor

    @property
    def owner_org(self) -> Organization:
        assert self.owner.organization is not None
        return self.owner.organization

    def org_of(self, actor: builders.Actor) -> Organization:
        assert actor.organization is not None
        return actor.organization


async def build_tender(session: AsyncSession, settings: Settings) -> Tender:
    """The cast, committed (also for tests on a database of their own)."""
    enterprise = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    university = await builders.create_organization(session, kind=OrganizationKind.university)
    institute = await builders.create_organization(
        session, kind=OrganizationKind.research_institute
    )
    outsider = await builders.create_organization(session, kind=OrganizationKind.service_provider)
    return Tender(
        owner=await builders.actor(session, settings, organization=enterprise),
        provider_a=await builders.actor(session, settings, organization=university),
        provider_b=await builders.actor(session, settings, organization=institute),
        outsider_key=await builders.api_key_actor(
            session, organization=outsider, scopes=[Scope.demands_write, Scope.deals_write]
        ),
        operator=await builders.actor(session, settings, role=Role.operator),
        auditor=await builders.actor(session, settings, role=Role.auditor),
    )


@pytest.fixture
async def tender(session: AsyncSession, settings: Settings) -> Tender:
    return await build_tender(session, settings)


@pytest.fixture
async def demand(session: AsyncSession, tender: Tender) -> Demand:
    """An open technology demand of the owner's, budget 100000.00–500000.00, hidden budget."""
    return await builders.open_demand(session, tender.owner_org)


async def invite(session: AsyncSession, demand: Demand, organization: Organization) -> None:
    session.add(
        DemandInvitation(demand_id=demand.id, organization_id=organization.id, invited_by="test")
    )
    await session.commit()


def proposal_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "price": "300000.00",
        "plan": "三个月完成传感器选型与现场部署, 第四个月上线数据平台。",
        "timeline_days": 120,
        "milestones": [
            {"title": "传感器选型与样机", "amount": "100000.00"},
            {"title": "现场部署与验收", "amount": "200000.00"},
        ],
    }
    body.update(overrides)
    return body


def path(demand: Demand | uuid.UUID | str, *rest: object) -> str:
    demand_id = demand.id if isinstance(demand, Demand) else demand
    return "/".join([f"/v1/demands/{demand_id}/proposals", *(str(part) for part in rest)])


async def submit(
    client: AsyncClient, demand: Demand, actor: builders.Actor, **overrides: Any
) -> Response:
    return await client.post(path(demand), headers=actor.headers, json=proposal_body(**overrides))


async def submitted(
    client: AsyncClient, demand: Demand, actor: builders.Actor, **overrides: Any
) -> dict[str, Any]:
    """A proposal of ``actor``'s organization, submitted through the API."""
    response = await submit(client, demand, actor, **overrides)
    assert response.status_code == 201, response.text
    return dict(response.json())


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def award(
    client: AsyncClient,
    demand: Demand,
    proposal_id: str,
    actor: builders.Actor,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    sent = {**actor.headers, **(headers if headers is not None else key())}
    target = path(demand, proposal_id, "award")
    if body is None:
        return await client.post(target, headers=sent)
    return await client.post(target, headers=sent, json=body)
