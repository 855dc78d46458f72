"""Every error is an RFC 9457 problem document with a stable code; bad input never writes."""

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role
from app.models.orgs import Organization
from tests import builders

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: object, status: int, code: str) -> dict[str, object]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert PROBLEM_KEYS <= body.keys()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:innoshare:problem:{code}"
    assert "Traceback" not in response.text
    return dict(body)


async def _organizations(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)


async def test_unknown_route_is_404_problem(client: AsyncClient) -> None:
    body = assert_problem(await client.get("/v1/nothing-here"), 404, "not_found")
    assert body["request_id"]


async def test_wrong_method_is_405_problem_with_allow(client: AsyncClient) -> None:
    response = await client.delete("/v1/organizations")
    assert_problem(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_validation_error_lists_field_paths(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    response = await client.post(
        "/v1/organizations", json={"name": "", "kind": "nope"}, headers=admin.headers
    )
    body = assert_problem(response, 422, "validation_error")
    locs = {tuple(error["loc"]) for error in body["errors"]}  # type: ignore[union-attr]
    assert ("body", "name") in locs
    assert ("body", "kind") in locs


@pytest.mark.parametrize(
    ("content", "error_types"),
    [
        pytest.param(b'{"name": "x", ', None, id="malformed_json_is_422"),
        pytest.param(
            b'{"name": "bad \\ud800 text", "kind": "university"}',
            {"string_unicode", "invalid_unicode"},
            id="lone_surrogates_are_rejected",
        ),
    ],
)
async def test_unreadable_json_is_422(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    content: bytes,
    error_types: set[str] | None,
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    response = await client.post(
        "/v1/organizations",
        content=content,
        headers={**admin.headers, "content-type": "application/json"},
    )
    body = assert_problem(response, 422, "validation_error")
    if error_types is not None:
        assert body["errors"][0]["type"] in error_types  # type: ignore[index]


@pytest.mark.parametrize(
    "field_value",
    ["郑州\u0000大学", "\u0000"],
)
async def test_nul_bytes_in_json_are_rejected_and_nothing_is_written(
    client: AsyncClient, session: AsyncSession, settings: Settings, field_value: str
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    before = await _organizations(session)
    response = await client.post(
        "/v1/organizations",
        json={"name": field_value, "kind": "university"},
        headers=admin.headers,
    )
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["type"] == "nul_character"  # type: ignore[index]
    assert body["errors"][0]["loc"] == ["body", "name"]  # type: ignore[index]
    assert await _organizations(session) == before


async def test_nul_bytes_in_query_and_form_are_rejected(client: AsyncClient) -> None:
    assert_problem(await client.get("/v1/organizations?q=a%00b"), 422, "validation_error")
    form = await client.post(
        "/v1/auth/token", data={"username": "a\x00@example.com", "password": "whatever-password"}
    )
    assert_problem(form, 422, "validation_error")


async def test_urls_that_are_not_utf8_are_rejected(client: AsyncClient) -> None:
    """Bytes that are not UTF-8 (or a UTF-8-encoded lone surrogate) in a query or a path are
    refused, not read as U+FFFD and searched for."""
    for url in (
        "/v1/technologies?tag=%FF",
        "/v1/technologies?field=%ED%A0%80",
        "/v1/organizations?q=%C3",
        "/v1/policies/%FF",
    ):
        body = assert_problem(await client.get(url), 422, "validation_error")
        assert body["errors"][0]["type"] == "invalid_utf8", url  # type: ignore[index]
    fine = await client.get("/v1/technologies", params={"tag": "盾构", "field": "𝟗"})
    assert fine.status_code == 200, fine.text


async def test_body_over_the_limit_is_413(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    before = await _organizations(session)
    huge = "x" * (settings.max_body_bytes + 10)
    declared = await client.post(
        "/v1/organizations", json={"name": huge, "kind": "university"}, headers=admin.headers
    )
    assert_problem(declared, 413, "content_too_large")

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the body is streamed and counted as it arrives.
        yield b'{"kind": "university", "name": "'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"y" * 65536
        yield b'"}'

    streamed = await client.post(
        "/v1/organizations",
        content=chunks(),
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert "content-length" not in streamed.request.headers
    assert_problem(streamed, 413, "content_too_large")
    assert await _organizations(session) == before


async def test_unexpected_failure_is_500_problem_with_request_id(app: FastAPI) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.add_api_route("/v1/test-explode", explode, methods=["GET"])
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/v1/test-explode", headers={"X-Request-ID": "trace-me-42"})
    body = assert_problem(response, 500, "internal_error")
    assert body["request_id"] == "trace-me-42"
    assert response.headers["x-request-id"] == "trace-me-42"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text


async def test_auth_errors_are_problems(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    assert_problem(await client.get("/v1/me"), 401, "unauthorized")
    assert_problem(
        await client.get("/v1/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}),
        401,
        "invalid_authorization",
    )
    member = await builders.actor(session, settings)
    assert_problem(await client.get("/v1/users", headers=member.headers), 403, "forbidden")
