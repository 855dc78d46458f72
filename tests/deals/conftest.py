"""A market to trade in: an operator, an auditor, a buying enterprise and a selling
university with a published technology."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role
from app.models.orgs import Organization, OrganizationKind
from app.models.technologies import Technology
from app.services import deals as deals_service
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import posting as ledger_posting
from app.services.ledger import rollup as ledger_rollup
from tests import builders


class Clock:
    """The deal and ledger services' ``utcnow``, set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def fixed_clock(monkeypatch: pytest.MonkeyPatch, start: datetime) -> Clock:
    """Put the deal and ledger services on a clock the test moves."""
    clock = Clock(start)
    monkeypatch.setattr(deals_service, "utcnow", clock)
    for ledger_module in (ledger_accounts, ledger_posting, ledger_rollup):
        monkeypatch.setattr(ledger_module, "utcnow", clock)
    return clock


@dataclass
class Market:
    operator: builders.Actor
    auditor: builders.Actor
    buyer: builders.Actor
    seller: builders.Actor
    technology: Technology

    @property
    def buyer_org(self) -> Organization:
        assert self.buyer.organization is not None
        return self.buyer.organization

    @property
    def seller_org(self) -> Organization:
        assert self.seller.organization is not None
        return self.seller.organization


async def build_market(session: AsyncSession, settings: Settings) -> Market:
    """The cast, committed (also for tests on a database of their own)."""
    enterprise = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    university = await builders.create_organization(session, kind=OrganizationKind.university)
    return Market(
        operator=await builders.actor(session, settings, role=Role.operator),
        auditor=await builders.actor(session, settings, role=Role.auditor),
        buyer=await builders.actor(session, settings, organization=enterprise),
        seller=await builders.actor(session, settings, organization=university),
        technology=await builders.published_technology(session, university),
    )


@pytest.fixture
async def market(session: AsyncSession, settings: Settings) -> Market:
    return await build_market(session, settings)


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def post(
    client: AsyncClient, path: str, actor: builders.Actor, body: Any = None, **headers: str
) -> Response:
    sent = {**actor.headers, **(headers or key())}
    if body is None:
        return await client.post(path, headers=sent)
    return await client.post(path, headers=sent, json=body)


async def open_deal(
    client: AsyncClient,
    market: Market,
    *,
    gross: str = "100000.00",
    category: str = "transfer",
    milestones: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "technology_id": str(market.technology.id),
        "title": "盾构刀盘耐磨涂层技术转让",
        "category": category,
        "gross_amount": gross,
    }
    if milestones:
        body["milestones"] = milestones
    created = await post(client, "/v1/deals", market.buyer, body)
    assert created.status_code == 201, created.text
    return dict(created.json())


async def funded_deal(client: AsyncClient, market: Market, **kwargs: Any) -> dict[str, Any]:
    deal = await open_deal(client, market, **kwargs)
    funded = await post(client, f"/v1/deals/{deal['id']}/fund", market.operator)
    assert funded.status_code == 200, funded.text
    return dict(funded.json())
