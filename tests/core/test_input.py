"""Numbers and booleans in JSON bodies are what JSON says they are: every integer, number and
boolean field the API reads (found in the OpenAPI schema) refuses ``5.0``, ``"5"``, ``"５"``,
``0`` for false and the like with 422 naming the field; query parameters, which are text,
still read ``?limit=5``."""

import json
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.middleware import MAX_URL_BYTES
from app.core.security import Role
from tests import builders
from tests.schema_walk import (
    body_inputs,
    field_errors,
    fill_path,
    query_inputs,
    send_as_first_allowed,
)

_COERCED: dict[str, list[Any]] = {
    "integer": [5.0, "5", "５", "٥", True, "5.0"],
    "boolean": [0, 1, "0", "1", "true", "false", "off", "yes"],
    "number": ["5", "5.0", True],
}


def _scalar_kind(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    return kind if kind in _COERCED and "format" not in schema else None


async def test_body_numbers_and_booleans_are_not_coerced(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    member = await builders.actor(session, settings)
    callers = [{**c.headers, "Idempotency-Key": "strict-1"} for c in (admin, member)]
    openapi = client._transport.app.openapi()  # type: ignore[attr-defined]
    checked: set[str] = set()
    for method, path, where, kind, build in body_inputs(openapi, _scalar_kind):
        for sent in _COERCED[kind]:
            answer = await send_as_first_allowed(client, callers, method, path, json=build(sent))
            assert answer.status_code == 422, (method, path, where, sent, answer.text)
            problem = answer.json()
            assert field_errors(problem, where), (
                path,
                where,
                sent,
                json.dumps(problem, ensure_ascii=False),
            )
        checked.add(f"{method} {path} {where}")
    assert "post /v1/technologies ['trl']" in checked
    assert "post /v1/demands ['budget_visible']" in checked
    assert len(checked) >= 15


async def test_query_integers_stay_text_but_ascii(client: AsyncClient) -> None:
    openapi = client._transport.app.openapi()  # type: ignore[attr-defined]
    limits = [q for q in query_inputs(openapi, _scalar_kind) if q[2] == "limit"]
    assert limits
    assert (await client.get("/v1/organizations", params={"limit": "5"})).status_code == 200
    for sent in ("５", "٥", "1e1", "true"):
        answer = await client.get("/v1/organizations", params={"limit": sent})
        assert answer.status_code == 422, (sent, answer.text)
        assert answer.json()["code"] == "validation_error"


async def test_head_answers_every_get_route_like_get_without_a_body(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    openapi = client._transport.app.openapi()  # type: ignore[attr-defined]
    paths = [path for path, operations in openapi["paths"].items() if "get" in operations]
    assert len(paths) > 30
    for path in paths:
        url = fill_path(path)
        got = await client.get(url, headers=admin.headers)
        head = await client.head(url, headers=admin.headers)
        assert head.status_code == got.status_code, (path, head.status_code, got.text[:200])
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path
    answer = await client.request("DELETE", "/healthz")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD"


async def test_an_over_long_url_is_414(client: AsyncClient) -> None:
    answer = await client.get("/v1/organizations", params={"q": "a" * (MAX_URL_BYTES + 1)})
    assert answer.status_code == 414
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "uri_too_long"
    fits = await client.get("/v1/organizations", params={"name": "a" * (MAX_URL_BYTES - 100)})
    assert fits.status_code != 414
