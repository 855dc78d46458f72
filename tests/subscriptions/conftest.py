"""A partner to tell: a university whose member manages subscriptions, an enterprise that
posts demands, another organization's member, and a receiver for their webhooks."""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database
from app.core.security import Role
from app.models.orgs import Organization, OrganizationKind
from app.models.subscriptions import Event
from app.services import deliveries
from tests import builders


@dataclass
class Partners:
    member: builders.Actor
    """A member of the subscribing university."""
    enterprise: builders.Actor
    other: builders.Actor
    """A member of another organization."""
    operator: builders.Actor

    @property
    def org(self) -> Organization:
        assert self.member.organization is not None
        return self.member.organization


@pytest.fixture
async def partners(session: AsyncSession, settings: Settings) -> Partners:
    university = await builders.create_organization(session, kind=OrganizationKind.university)
    enterprise = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    other = await builders.create_organization(session, kind=OrganizationKind.university)
    return Partners(
        member=await builders.actor(session, settings, organization=university),
        enterprise=await builders.actor(session, settings, organization=enterprise),
        other=await builders.actor(session, settings, organization=other),
        operator=await builders.actor(session, settings, role=Role.operator),
    )


async def subscribe(client: AsyncClient, actor: builders.Actor, **body: Any) -> dict[str, Any]:
    body = {"name": "watch", "catalog": "technologies", **body}
    created = await client.post("/v1/subscriptions", json=body, headers=actor.headers)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def events_of(db: Database, session: AsyncSession, subscription_id: str) -> list[Event]:
    """The subscription's events, once the outbox has been made events (as a worker does)."""
    while await deliveries.expand_outbox(db):
        pass
    session.expunge_all()
    found = await session.scalars(
        select(Event).where(Event.subscription_id == uuid.UUID(subscription_id)).order_by(Event.seq)
    )
    return list(found.all())
