"""Crafted cursors on every list: a cursor is opaque to clients but anyone can decode and
re-encode one, so each of its values is checked against the ordering's column types. Every
route taking a ``cursor`` (found in the OpenAPI schema, so a new list is covered by itself)
answers a crafted one with 400 ``invalid_cursor``, never a 500 and never a silent page."""

import base64
import json
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import pagination
from app.core.config import Settings
from app.core.pagination import CursorSlot, decode_cursor, encode_cursor
from app.core.security import Role
from app.models.orgs import OrganizationKind
from tests import builders


def _raw_cursor(payload: Any) -> str:
    text = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


#: Values no slot of the kind may hold (JSON as decoded; the encoder's tags t/d/u).
_BAD_VALUES: dict[str, list[Any]] = {
    "datetime": [
        {"t": "2020-05-01T08:00:00"},  # naive
        {"d": "2020-05-01"},  # a date where a time belongs
        {"t": "2020-05-01"},  # a day written as a time: naive midnight
        {"t": "0001-01-01T00:00:00+23:59"},  # overflows when made UTC
        {"t": "9999-12-31T23:59:59-23:59"},
        {"t": 1588291200},
        {"t": "2020-05-01T08:00:00+00:00", "u": "0" * 32},
        "2020-05-01T08:00:00+00:00",
        1588291200,
        ["a", "b"],
    ],
    "date": [{"t": "2020-05-01T00:00:00+00:00"}, {"d": "2020-13-01"}, {"d": None}, 20200501],
    "uuid": [{"u": "not-hex"}, {"u": 5}, "b", 5, {"t": "2020-05-01T08:00:00+00:00"}],
    "int": [True, 1.5, "1", 2**63, -(2**63) - 1, 10**30, {"u": "0" * 32}],
    "str": [5, True, "\ud800", {"t": "2020-05-01T08:00:00+00:00"}],
}


def _crafted(name: str, slots: list[CursorSlot]) -> Iterator[str]:
    """Cursors of ordering ``name`` that its slots must refuse, one value wrong at a time."""
    good: dict[str, Any] = {
        "datetime": {"t": "2020-05-01T08:00:00+00:00"},
        "date": {"d": "2020-05-01"},
        "uuid": {"u": uuid.uuid4().hex},
        "int": 5 if slots[0].low is None or slots[0].low <= 5 else slots[0].low,
        "str": "a",
    }
    values = [good[slot.kind] for slot in slots]
    for position, slot in enumerate(slots):
        wrong = list(_BAD_VALUES[slot.kind])
        if not slot.nullable:
            wrong.append(None)
        if slot.kind == "int" and slot.high is not None and slot.high < 2**62:
            wrong += [slot.high + 1, (slot.low or 0) - 1]
        for bad in wrong:
            yield _raw_cursor([name, values[:position] + [bad] + values[position + 1 :]])
    yield _raw_cursor([name, values[:-1]])  # too short
    yield _raw_cursor([name, [*values, values[-1]]])  # too long
    yield _raw_cursor([name, None])
    yield _raw_cursor([name])
    yield _raw_cursor({"name": name})
    yield _raw_cursor(["another:order", values])


_STRUCTURAL = [
    "garbage",
    "!!!!",
    "e30",  # {}
    "x" * 1000,
    base64.urlsafe_b64encode(b"[" * 740).decode(),  # deeply nested
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    _raw_cursor(["organizations:newest", ["a", "b"]]),  # the example
]


@dataclass
class _Seen:
    name: str
    slots: list[CursorSlot]


@pytest.fixture
def seen_orderings(monkeypatch: pytest.MonkeyPatch) -> list[_Seen]:
    """Which ordering each request decoded its cursor for (the route's own, learnt by
    sending it one): the real decode_cursor runs, watched wherever it was imported."""
    seen: list[_Seen] = []

    def watched(cursor: str, order_name: str, slots: Any) -> list[Any]:
        seen.append(_Seen(order_name, list(slots)))
        return decode_cursor(cursor, order_name, slots)

    for module in list(sys.modules.values()):
        name = getattr(module, "__name__", "")
        if name.startswith("app.") and getattr(module, "decode_cursor", None) is decode_cursor:
            monkeypatch.setattr(module, "decode_cursor", watched)
    return seen


def _cursor_routes(client: AsyncClient) -> list[tuple[str, bool]]:
    """Every GET with a ``cursor`` query parameter, and whether it also takes ``q``."""
    schema = client._transport.app.openapi()  # type: ignore[attr-defined]
    routes = []
    for path, operations in schema["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        names = {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}
        if "cursor" in names:
            routes.append((path, "q" in names))
    return routes


async def _world(client: AsyncClient, session: AsyncSession, settings: Settings) -> Any:
    """Something behind every path parameter, and callers who may read each list."""
    enterprise = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    member = await builders.actor(session, settings, organization=enterprise)
    admin = await builders.actor(session, settings, role=Role.admin)
    auditor = await builders.actor(session, settings, role=Role.auditor)
    demand = await builders.open_demand(session, enterprise)
    subscription = await client.post(
        "/v1/subscriptions",
        json={"name": "watch", "catalog": "technologies"},
        headers=member.headers,
    )
    assert subscription.status_code == 201, subscription.text
    await builders.published_technology(session, enterprise)  # something for q to find
    params = {
        "organization_id": str(enterprise.id),
        "demand_id": str(demand.id),
        "subscription_id": subscription.json()["id"],
    }
    callers: list[dict[str, str]] = [{}, admin.headers, member.headers, auditor.headers]
    return params, callers


async def _catalog_item(
    client: AsyncClient, session: AsyncSession, path: str, headers: dict[str, str]
) -> str:
    """An item of the catalog at ``path`` (its OpenAPI example, created by an operator for an
    organization of every kind until one may own it)."""
    schema = client._transport.app.openapi()  # type: ignore[attr-defined]
    create = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
    ref = create["schema"]["$ref"].rsplit("/", 1)[-1]
    example = dict(schema["components"]["schemas"][ref]["examples"][0])
    example.update({name: [] for name in example if name.endswith("_ids")})
    for kind in OrganizationKind:
        owner = await builders.create_organization(session, kind=kind)
        example.update(owner_id=str(owner.id), external_id=None)
        created = await client.post(path, json=example, headers=headers)
        if created.status_code == 201:
            return str(created.json()["id"])
    raise AssertionError(created.text)


async def test_every_list_refuses_crafted_cursors(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    seen_orderings: list[_Seen],
) -> None:
    params, callers = await _world(client, session, settings)
    routes = _cursor_routes(client)
    assert len(routes) >= 20  # the lists are found
    checked = 0
    for path, takes_q in routes:
        path_params = dict(params)
        if "{item_id}" in path:
            catalog = path.removesuffix("/{item_id}/history")
            path_params["item_id"] = await _catalog_item(client, session, catalog, callers[1])
        url = path.format(**path_params)
        variants: list[dict[str, str]] = [{}]
        if takes_q:
            variants.append({"q": "涂层"})  # a search pages by position in the hits
        for extra in variants:
            # The first caller whose request reaches the cursor: the route's own ordering.
            seen_orderings.clear()
            for headers in callers:
                probe = await client.get(url, params={**extra, "cursor": "e30"}, headers=headers)
                if seen_orderings:
                    break
            assert seen_orderings, f"{path} {extra}: no caller reached the cursor ({probe.text})"
            ordering = seen_orderings[0]
            assert probe.status_code == 400, (path, probe.text)
            for cursor in [*_STRUCTURAL, *_crafted(ordering.name, ordering.slots)]:
                answer = await client.get(url, params={**extra, "cursor": cursor}, headers=headers)
                assert answer.status_code == 400, (path, extra, cursor, answer.text)
                assert answer.headers["content-type"] == "application/problem+json"
                assert answer.json()["code"] == "invalid_cursor", (path, cursor)
                checked += 1
    assert checked > 500


def test_cursor_values_round_trip_through_their_slots() -> None:
    from datetime import UTC, date, datetime

    from app.services import orgs, registrations

    values = [datetime(2020, 5, 31, 12, 0, 0, 123456, tzinfo=UTC), uuid.uuid4()]
    slots = orgs.NEWEST_FIRST.slots
    assert decode_cursor(encode_cursor("o", values), "o", slots) == values
    day = [date(2020, 5, 31), uuid.uuid4()]
    assert decode_cursor(encode_cursor("r", day), "r", registrations.OLDEST.slots) == day
    with pytest.raises(pagination.InvalidCursor):
        decode_cursor(encode_cursor("o", day), "o", slots)
