"""Bodies a deal must never be made from: money in other scripts' digits, a key named twice,
a body that is not JSON in UTF-8, numbers and booleans JSON does not say. Each is a 4xx
problem with a stable code, and no deal is written."""

import json
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.deals import Deal
from tests.deals.conftest import Market, key


def _body(market: Market, gross: Any = "1000.00") -> dict[str, Any]:
    return {
        "technology_id": str(market.technology.id),
        "title": "盾构刀盘耐磨涂层技术转让",
        "category": "transfer",
        "gross_amount": gross,
    }


async def _deals(session: AsyncSession) -> int:
    await session.commit()  # a fresh look at what the requests committed
    return int(await session.scalar(select(func.count()).select_from(Deal)) or 0)


@pytest.mark.parametrize(
    "gross",
    ["１０００.００", "٣٠٠.٠٠", "𝟗𝟗.𝟗𝟗", "۱۲.۰۰", "1٠٠.00", 1000, 1000.0, True, "1e3", " 1000.00x"],
)
async def test_money_is_ascii_digits_in_a_string(
    client: AsyncClient, session: AsyncSession, market: Market, gross: Any
) -> None:
    answer = await client.post(
        "/v1/deals", json=_body(market, gross), headers={**market.buyer.headers, **key()}
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "validation_error"
    assert any(error["loc"] == ["body", "gross_amount"] for error in problem["errors"])
    assert await _deals(session) == 0


async def test_a_key_named_twice_is_refused(
    client: AsyncClient, session: AsyncSession, market: Market
) -> None:
    body = json.dumps(_body(market))[:-1] + ', "gross_amount": "900.00"}'
    assert body.count('"gross_amount"') == 2
    answer = await client.post(
        "/v1/deals",
        content=body.encode(),
        headers={**market.buyer.headers, **key(), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["loc"] == ["body", "gross_amount"]
    assert problem["errors"][0]["type"] == "duplicate_key"
    # nested objects too
    milestone = {"title": "样机交付与验收", "amount": "1000.00"}
    text = json.dumps({**_body(market), "milestones": [milestone]}, ensure_ascii=False)
    text = text.replace('"amount": "1000.00"', '"amount": "1.00", "amount": "1000.00"')
    answer = await client.post(
        "/v1/deals",
        content=text.encode(),
        headers={**market.buyer.headers, **key(), "Content-Type": "application/json"},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["type"] == "duplicate_key"
    assert await _deals(session) == 0


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
        "application/jsonx",
        "multipart/form-data; boundary=x",
    ],
)
async def test_a_body_that_is_not_json_in_utf8_is_415(
    client: AsyncClient, session: AsyncSession, market: Market, content_type: str | None
) -> None:
    headers = {**market.buyer.headers, **key()}
    if content_type:
        headers["Content-Type"] = content_type
    answer = await client.post(
        "/v1/deals", content=json.dumps(_body(market)).encode(), headers=headers
    )
    assert answer.status_code == 415, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "unsupported_media_type"
    assert await _deals(session) == 0


async def test_json_declared_utf8_but_encoded_otherwise_is_415(
    client: AsyncClient, session: AsyncSession, market: Market
) -> None:
    for encoding in ("utf-16", "utf-32", "latin-1"):
        body = json.dumps({**_body(market), "title": "Gerät"}, ensure_ascii=False)
        answer = await client.post(
            "/v1/deals",
            content=body.encode(encoding),
            headers={**market.buyer.headers, **key(), "Content-Type": "application/json"},
        )
        assert answer.status_code in (415, 422), (encoding, answer.text)
        assert answer.json()["code"] in ("unsupported_media_type", "validation_error")
    assert await _deals(session) == 0
    # the ordinary ways of saying UTF-8 JSON are accepted
    accepted = (
        "application/json",
        "application/json; charset=utf-8",
        'Application/JSON;charset="UTF-8"',
    )
    for content_type in accepted:
        answer = await client.post(
            "/v1/deals",
            content=json.dumps(_body(market)).encode(),
            headers={**market.buyer.headers, **key(), "Content-Type": content_type},
        )
        assert answer.status_code == 201, (content_type, answer.text)
