"""A marketplace cast for demands: an operator, an auditor, an enterprise that posts needs,
two providers (a university and a service firm) and a second enterprise."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings
from app.core.security import Role
from app.models.orgs import OrganizationKind
from tests import builders


@dataclass
class Cast:
    operator: builders.Actor
    auditor: builders.Actor
    owner: builders.Actor
    provider: builders.Actor
    other_provider: builders.Actor
    other_enterprise: builders.Actor


@pytest.fixture
async def cast(session: AsyncSession, settings: Settings) -> Cast:
    async def member(kind: OrganizationKind) -> builders.Actor:
        org = await builders.create_organization(session, kind=kind)
        return await builders.actor(session, settings, organization=org)

    return Cast(
        operator=await builders.actor(session, settings, role=Role.operator),
        auditor=await builders.actor(session, settings, role=Role.auditor),
        owner=await member(OrganizationKind.enterprise),
        provider=await member(OrganizationKind.university),
        other_provider=await member(OrganizationKind.service_provider),
        other_enterprise=await member(OrganizationKind.enterprise),
    )


def demand_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "technology",
        "title": "盾构刀盘磨损在线监测方案征集",
        "description": "需要一套可在施工现场部署的刀盘磨损在线监测方案。",
        "field": "盾构装备",
        "budget_min": "300000.00",
        "budget_max": "800000.00",
        "budget_visible": False,
        "deadline": (utcnow() + timedelta(hours=2)).isoformat(),
        "attachments": [{"name": "技术要求", "url": "https://files.example.cn/req.pdf"}],
        "tags": ["盾构"],
    }
    body.update(overrides)
    return body


async def posted(
    client: AsyncClient, actor: builders.Actor, *, publish: bool = True, **overrides: Any
) -> dict[str, Any]:
    """A demand posted (and published) through the API by ``actor``."""
    created = await client.post("/v1/demands", headers=actor.headers, json=demand_body(**overrides))
    assert created.status_code == 201, created.text
    demand = dict(created.json())
    if publish:
        opened = await client.post(f"/v1/demands/{demand['id']}/publish", headers=actor.headers)
        assert opened.status_code == 200, opened.text
        demand = dict(opened.json())
    return demand
