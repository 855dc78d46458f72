"""Days and times at the ends of the calendar: every date and date-time the API reads, in a
query or a body (found in the OpenAPI schema, so a new one is covered by itself), refuses
what lies outside FIRST_DAY..LAST_DAY, and numbers, with 422 ``validation_error`` naming it;
the ends themselves are answered, never with a 500."""

import json
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role
from app.schemas.base import FIRST_DAY, LAST_DAY
from tests import builders
from tests.schema_walk import body_inputs, field_errors, query_inputs, send_as_first_allowed

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


def _date_kind(schema: dict[str, Any]) -> str | None:
    return schema["format"] if schema.get("format") in _EXTREMES else None


async def test_every_date_parameter_is_bounded(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    member = await builders.actor(session, settings)  # of a university: imports are theirs
    callers = [{**caller.headers, "Idempotency-Key": "dates-1"} for caller in (admin, member)]

    def send(method: str, path: str, **kwargs: Any) -> Any:
        return send_as_first_allowed(client, callers, method, path, **kwargs)

    openapi = client._transport.app.openapi()  # type: ignore[attr-defined]
    checked: set[str] = set()
    for method, path, name, kind in query_inputs(openapi, _date_kind):
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
    for method, path, where, kind, build in body_inputs(openapi, _date_kind):
        for sent in [*_EXTREMES[kind], *_NUMBERS]:
            answer = await send(method, path, json=build(sent))
            assert answer.status_code == 422, (path, where, sent, answer.text)
            problem = answer.json()
            assert field_errors(problem, where), (
                path,
                where,
                sent,
                json.dumps(problem, ensure_ascii=False),
            )
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
