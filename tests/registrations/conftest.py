"""The deals' market (tests/deals/conftest.py) and helpers to file and grant registrations."""

from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests import builders
from tests.deals.conftest import Market, build_market, open_deal, post


@pytest.fixture
async def market(session: AsyncSession, settings: Settings) -> Market:
    return await build_market(session, settings)


def filing(**changes: Any) -> dict[str, Any]:
    """A transfer contract's filing, with ``changes``."""
    return {
        "contract_number": "4101002020000123",
        "sub_kind": "patent_transfer",
        "signed_on": "2024-03-02",
        "non_technical_costs": "0.00",
        **changes,
    }


async def file(
    client: AsyncClient, actor: builders.Actor, deal_id: str, body: dict[str, Any], **headers: str
) -> Response:
    return await client.put(
        f"/v1/deals/{deal_id}/registration", json=body, headers={**actor.headers, **headers}
    )


async def grant(
    client: AsyncClient,
    actor: builders.Actor,
    deal_id: str,
    number: str,
    registered_on: str = "2024-03-20",
) -> Response:
    return await client.post(
        f"/v1/deals/{deal_id}/registration/grant",
        json={"registration_number": number, "registered_on": registered_on},
        headers=actor.headers,
    )


async def registered_deal(
    client: AsyncClient,
    market: Market,
    *,
    category: str,
    gross: str,
    non_technical: str,
    sub_kind: str | None,
    number: str,
    registered_on: str,
    signed_on: str = "2024-01-05",
) -> dict[str, Any]:
    """A deal opened, filed and registered; its registration record."""
    deal = await open_deal(client, market, category=category, gross=gross)
    body = filing(
        sub_kind=sub_kind,
        signed_on=signed_on,
        non_technical_costs=non_technical,
        contract_number=f"C{number}",
    )
    filed = await file(client, market.seller, deal["id"], body)
    assert filed.status_code == 200, filed.text
    granted = await grant(client, market.operator, deal["id"], number, registered_on)
    assert granted.status_code == 200, granted.text
    return dict(granted.json())


__all__ = ["Market", "filing", "open_deal", "post", "registered_deal"]
