"""The document tells the truth about credentials: walked over every operation, an anonymous
call is a 401 exactly where ``security`` requires a bearer, and whatever a malformed or
unknown ``Authorization`` header gets is a documented response."""

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

ANONYMOUS: list[Any] = [{}, {"HTTPBearer": []}]
REQUIRED: list[Any] = [{"HTTPBearer": []}]
MALFORMED = (
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "Bearer   ",
    "token",
    "Bearer not.a.token",
    "Bearer isk_nope",
)


def _operations(app: FastAPI) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, operations in app.openapi()["paths"].items()
        for method, operation in operations.items()
    ]


def _url(path: str, operation: dict[str, Any]) -> str:
    """The path with every parameter filled in (a fresh UUID where one is expected), and
    the required query parameters."""
    query = []
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        value = str(uuid.uuid4()) if schema.get("format") == "uuid" else "x"
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", value)
        elif parameter["in"] == "query" and parameter.get("required"):
            query.append(f"{parameter['name']}={value}")
    return path + ("?" + "&".join(query) if query else "")


async def _call(
    client: AsyncClient, method: str, url: str, operation: dict[str, Any], headers: dict[str, str]
) -> Response:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        return await client.request(method, url, json={}, headers=headers)
    if "application/x-www-form-urlencoded" in content:
        return await client.request(method, url, data={"x": "y"}, headers=headers)
    return await client.request(method, url, headers=headers)


def test_security_is_declared_required_or_optional_on_every_operation(app: FastAPI) -> None:
    document = app.openapi()
    assert set(document["components"]["securitySchemes"]) == {"HTTPBearer"}
    optional = [
        (method, path)
        for method, path, operation in _operations(app)
        if operation.get("security") == ANONYMOUS
    ]
    assert ("GET", "/v1/technologies") in optional
    assert ("GET", "/v1/search") in optional
    for method, path, operation in _operations(app):
        assert operation.get("security") in (None, ANONYMOUS, REQUIRED), (method, path)
        if operation.get("security") is not None:
            assert "401" in operation["responses"], (method, path)


async def test_anonymous_calls_are_401_exactly_where_security_is_required(
    client: AsyncClient, app: FastAPI
) -> None:
    for method, path, operation in _operations(app):
        url = _url(path, operation)
        response = await _call(client, method, url, operation, {})
        assert response.status_code != 500, (method, path, response.text)
        required = operation.get("security") == REQUIRED
        assert (response.status_code == 401) is required, (method, path, response.status_code)
        if required:
            assert response.json()["code"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("authorization", MALFORMED)
async def test_what_bad_credentials_get_is_documented(
    client: AsyncClient, app: FastAPI, authorization: str
) -> None:
    for method, path, operation in _operations(app):
        url = _url(path, operation)
        response = await _call(client, method, url, operation, {"Authorization": authorization})
        status = str(response.status_code)
        assert status in operation["responses"], (method, path, authorization, status)
        if operation.get("security") is not None:
            assert response.status_code == 401, (method, path, authorization, status)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["code"] in {
                "invalid_authorization",
                "invalid_token",
                "invalid_api_key",
            }
