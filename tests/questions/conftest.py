"""A demand and its cast: the owning enterprise, two prospective providers, an operator and
an auditor."""

from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role
from app.models.demands import Demand
from app.models.orgs import Organization, OrganizationKind
from tests import builders


@dataclass
class Stage:
    owner: builders.Actor
    provider: builders.Actor
    rival: builders.Actor
    operator: builders.Actor
    auditor: builders.Actor
    demand: Demand

    @property
    def owner_org(self) -> Organization:
        assert self.owner.organization is not None
        return self.owner.organization

    @property
    def provider_org(self) -> Organization:
        assert self.provider.organization is not None
        return self.provider.organization

    @property
    def rival_org(self) -> Organization:
        assert self.rival.organization is not None
        return self.rival.organization


@pytest.fixture
async def stage(session: AsyncSession, settings: Settings) -> Stage:
    """An open public demand of an enterprise's; a university and an institute that may
    propose; staff. Committed."""
    enterprise = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    university = await builders.create_organization(session, kind=OrganizationKind.university)
    institute = await builders.create_organization(
        session, kind=OrganizationKind.research_institute
    )
    return Stage(
        owner=await builders.actor(session, settings, organization=enterprise),
        provider=await builders.actor(session, settings, organization=university),
        rival=await builders.actor(session, settings, organization=institute),
        operator=await builders.actor(session, settings, role=Role.operator),
        auditor=await builders.actor(session, settings, role=Role.auditor),
        demand=await builders.open_demand(session, enterprise),
    )


def questions_path(demand: Demand | str) -> str:
    demand_id = demand if isinstance(demand, str) else demand.id
    return f"/v1/demands/{demand_id}/questions"


async def ask(
    client: AsyncClient, demand: Demand, who: builders.Actor, text: str = "是否需要现场安装?"
) -> Response:
    return await client.post(questions_path(demand), headers=who.headers, json={"text": text})


async def asked(
    client: AsyncClient, demand: Demand, who: builders.Actor, text: str = "是否需要现场安装?"
) -> dict[str, Any]:
    response = await ask(client, demand, who, text)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def listed(
    client: AsyncClient, demand: Demand, who: builders.Actor | None, **params: Any
) -> list[dict[str, Any]]:
    headers = who.headers if who is not None else {}
    response = await client.get(questions_path(demand), headers=headers, params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def answer(
    client: AsyncClient, demand: Demand, question_id: str, who: builders.Actor, text: str = "需要"
) -> Response:
    return await client.post(
        f"{questions_path(demand)}/{question_id}/answer", headers=who.headers, json={"text": text}
    )


async def hide(
    client: AsyncClient,
    demand: Demand,
    question_id: str,
    who: builders.Actor,
    reason: str = "含联系方式",
) -> Response:
    return await client.post(
        f"{questions_path(demand)}/{question_id}/hide", headers=who.headers, json={"reason": reason}
    )


async def invite(
    client: AsyncClient, demand: Demand, who: builders.Actor, organization: Organization | str
) -> Response:
    organization_id = organization if isinstance(organization, str) else str(organization.id)
    return await client.post(
        f"/v1/demands/{demand.id}/invitations",
        headers=who.headers,
        json={"organization_id": organization_id},
    )
