"""Days and times at the ends of the calendar: every date and date-time the API reads, in a
query or a body (found in the OpenAPI schema, so a new one is covered by itself), refuses
what lies outside FIRST_DAY..LAST_DAY, and numbers, with 422 ``validation_error`` naming it;
the ends themselves are answered, never with a 500."""

import json
import re
from collections.abc import Iterator
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role
from app.schemas.base import FIRST_DAY, LAST_DAY
from tests import builders

_EXTREMES = {
    "date": ["0001-01-01", "9999-12-31", "1899-12-31", "3000-01-01", "0.5", "20200501"],
    "date-time": [
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "0.5",
        "1588291200",
    ],
}
#: Numbers in a JSON body where a day or a time belongs (pydantic reads them as timestamps).
_NUMBERS = [0.5, 1588291200, 0]


def _formats(schema: dict[str, Any]) -> set[str]:
    found = {schema["format"]} if schema.get("format") in _EXTREMES else set()
    for option in schema.get("anyOf", []):
        found |= _formats(option)
    return found


def _query_dates(openapi: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    for kind in _formats(parameter["schema"]):
                        yield method, path, parameter["name"], kind


def _body_dates(
    openapi: dict[str, Any], schema: dict[str, Any], seen: frozenset[str] = frozenset()
) -> Iterator[tuple[list[str | int], str, Any]]:
    """(where in the body, its format, a body that has a value there: call with the value)."""
    components = openapi["components"]["schemas"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _body_dates(openapi, components[name], seen | {name})
        return
    for option in schema.get("anyOf", []):
        yield from _body_dates(openapi, option, seen)
    for kind in _formats(schema):
        yield [], kind, lambda value: value
    for name, child in schema.get("properties", {}).items():
        for where, kind, build in _body_dates(openapi, child, seen):
            yield [name, *where], kind, lambda value, n=name, b=build: {n: b(value)}
    if "items" in schema:
        for where, kind, build in _body_dates(openapi, schema["items"], seen):
            yield [0, *where], kind, lambda value, b=build: [b(value)]


def _fill(path: str) -> str:
    return re.sub(r"\{\w+\}", "7c9e6679-7425-40de-944b-e07fc1f90ae7", path)


async def test_every_date_parameter_is_bounded(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    member = await builders.actor(session, settings)  # of a university: imports are theirs
    callers = [{**caller.headers, "Idempotency-Key": "dates-1"} for caller in (admin, member)]

    async def send(method: str, path: str, **kwargs: Any) -> Any:
        for headers in callers:  # the first caller the route lets through to its input
            answer = await client.request(method.upper(), _fill(path), headers=headers, **kwargs)
            if answer.status_code not in (401, 403):
                break
        return answer

    openapi = client._transport.app.openapi()  # type: ignore[attr-defined]
    checked: set[str] = set()
    for method, path, name, kind in _query_dates(openapi):
        for value in _EXTREMES[kind]:
            answer = await send(method, path, params={name: value})
            assert answer.status_code == 422, (path, name, value, answer.text)
            problem = answer.json()
            assert problem["code"] == "validation_error"
            assert any(error["loc"][:2] == ["query", name] for error in problem["errors"]), (
                path,
                name,
                value,
                problem,
            )
            checked.add(f"{path}?{name}")
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            for where, kind, build in _body_dates(openapi, content["application/json"]["schema"]):
                for sent in [*_EXTREMES[kind], *_NUMBERS]:
                    answer = await send(method, path, json=build(sent))
                    assert answer.status_code == 422, (path, where, sent, answer.text)
                    problem = answer.json()
                    errors = problem.get("errors", [])
                    if problem["code"] == "import_rejected":  # an import checks item by item
                        (item,) = problem["results"]
                        errors = [
                            {"loc": ["body", *where]}
                            for e in item["errors"]
                            if e["loc"][-len(where) + 2 :] == where[2:]
                        ]
                    else:
                        assert problem["code"] == "validation_error", problem
                    assert any(
                        error["loc"][: len(where) + 1] == ["body", *where] for error in errors
                    ), (path, where, sent, json.dumps(problem, ensure_ascii=False))
                    checked.add(f"{method} {path} {where}")
    # the issue's examples and every kind of place are among them
    assert "/v1/stats/overview?as_of" in checked
    assert "/v1/ledger/totals?from" in checked
    assert "/v1/technologies?created_from" in checked
    assert "post /v1/demands ['deadline']" in checked
    assert "post /v1/imports/ip-assets ['items', 0, 'application_date']" in checked
    assert len(checked) >= 40


async def test_the_ends_of_the_calendar_are_answered(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    auditor = await builders.actor(session, settings, role=Role.auditor)
    first, last = FIRST_DAY.isoformat(), LAST_DAY.isoformat()
    for params in ({"as_of": last}, {"as_of": first}, {"as_of": f"{last}T23:59:59-23:59"}):
        answer = await client.get("/v1/stats/overview", params=params)
        assert answer.status_code == 200, (params, answer.text)
    for params in (
        {"from": first, "to": last},
        {"from": f"{first}T00:00:00+23:59", "to": f"{last}T23:59:59-23:59"},
    ):
        answer = await client.get("/v1/ledger/totals", params=params, headers=auditor.headers)
        assert answer.status_code == 200, (params, answer.text)
    answer = await client.get(
        "/v1/technologies", params={"created_from": f"{first}T00:00:00+23:59"}
    )
    assert answer.status_code == 200, answer.text
