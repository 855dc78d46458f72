"""A settled deal's cast: the buying enterprise, the selling university, staff, an outsider."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.models.deals import Deal
from app.models.orgs import OrganizationKind
from app.models.reviews import Review
from tests import builders
from tests.deals.conftest import Market, build_market, funded_deal, open_deal, post


@dataclass
class Cast:
    market: Market
    outsider: builders.Actor

    @property
    def buyer(self) -> builders.Actor:
        return self.market.buyer

    @property
    def seller(self) -> builders.Actor:
        return self.market.seller

    @property
    def operator(self) -> builders.Actor:
        return self.market.operator

    @property
    def auditor(self) -> builders.Actor:
        return self.market.auditor


@pytest.fixture
async def cast(session: AsyncSession, settings: Settings) -> Cast:
    other = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    return Cast(
        market=await build_market(session, settings),
        outsider=await builders.actor(session, settings, organization=other),
    )


async def settled_deal(client: AsyncClient, cast: Cast, **kwargs: Any) -> dict[str, Any]:
    deal = await funded_deal(client, cast.market, **kwargs)
    settled = await post(client, f"/v1/deals/{deal['id']}/settle", cast.operator)
    assert settled.status_code == 200, settled.text
    assert settled.json()["status"] == "settled"
    return dict(settled.json())


async def created_deal(client: AsyncClient, cast: Cast) -> dict[str, Any]:
    return await open_deal(client, cast.market)


async def review(
    client: AsyncClient,
    deal_id: str,
    actor: builders.Actor,
    rating: int = 5,
    text: str = "合作顺利",
) -> Response:
    return await client.post(
        f"/v1/deals/{deal_id}/reviews", headers=actor.headers, json={"rating": rating, "text": text}
    )


async def written(
    client: AsyncClient,
    deal_id: str,
    actor: builders.Actor,
    rating: int = 5,
    text: str = "合作顺利",
) -> dict[str, Any]:
    answer = await review(client, deal_id, actor, rating, text)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def settled_days_ago(session: AsyncSession, deal_id: str, days: float) -> None:
    """Move the deal's settlement ``days`` back (a time machine for tests). Committed."""
    deal = await session.get(Deal, uuid.UUID(deal_id), populate_existing=True)
    assert deal is not None
    assert deal.closed_at is not None
    await session.execute(
        update(Deal)
        .where(Deal.id == deal.id)
        .values(closed_at=deal.closed_at - timedelta(days=days))
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def review_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Review)) or 0)
