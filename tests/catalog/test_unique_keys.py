"""Every unique key of every catalog (its table's unique constraints), collided through each
way of writing: create, PATCH, import in atomic and continue mode, and two items of one batch.
Each answers a 4xx naming the key (never a 500) and writes nothing it refuses."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role
from app.models.catalog import CatalogHistory
from app.services.catalog import UniqueKey
from app.services.catalog_registry import CATALOGS
from tests import builders
from tests.catalog.cases import CASES, CatalogCase, patent_number

#: (case, key) for every unique key of every catalog.
KEYS = [(case, key) for case in CASES for key in CATALOGS[case.name].unique_keys]  # type: ignore[index]
KEY_IDS = [f"{case.name}-{'+'.join(key.fields)}" for case, key in KEYS]
IMPORTED = [(case, key) for case, key in KEYS if case.importable]
IMPORTED_IDS = [f"{case.name}-{'+'.join(key.fields)}" for case, key in IMPORTED]
#: An import finds the item to update by its external_id: only the other keys can collide
#: with a stored item (external_ids collide within a batch, the test after).
STORED = [(case, key) for case, key in IMPORTED if key.fields != ("external_id",)]
STORED_IDS = [f"{case.name}-{'+'.join(key.fields)}" for case, key in STORED]


def test_every_unique_constraint_has_a_key() -> None:
    """The specs' keys are the tables' unique constraints: none is left to the database."""
    assert {case.name for case, _ in KEYS} == {case.name for case in CASES}
    ip_keys = {key.fields: key.code for key in CATALOGS["ip_assets"].unique_keys}  # type: ignore[index]
    assert ip_keys == {("external_id",): "external_id_taken", ("kind", "number"): "ip_number_taken"}


def _body(case: CatalogCase, n: int) -> dict[str, Any]:
    """The case's body with unique values of its own (external_id, IP number) numbered n."""
    body = {**case.body, "external_id": f"UQ-{n}"}
    if case.name == "ip_assets":
        body["number"] = patent_number(serial=1000 + n)
    return body


def _key_values(key: UniqueKey, body: dict[str, Any]) -> dict[str, Any]:
    return {name: body[name] for name in key.fields}


async def _writer(
    session: AsyncSession, settings: Settings, case: CatalogCase
) -> tuple[Any, dict[str, str], dict[str, Any]]:
    owner = await builders.create_organization(session, kind=case.owner_kind)
    if case.staff_only:
        operator = await builders.actor(session, settings, role=Role.operator)
        return owner, operator.headers, {"owner_id": str(owner.id)}
    member = await builders.actor(session, settings, organization=owner)
    return owner, member.headers, {}


async def _history(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(CatalogHistory)) or 0)


@pytest.mark.parametrize(("case", "key"), KEYS, ids=KEY_IDS)
async def test_create_and_patch_onto_a_taken_key_are_409(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    case: CatalogCase,
    key: UniqueKey,
) -> None:
    _, headers, extra = await _writer(session, settings, case)
    first, second = _body(case, 1), _body(case, 2)
    created = await client.post(case.path, json={**first, **extra}, headers=headers)
    assert created.status_code == 201, created.text
    other = await client.post(case.path, json={**second, **extra}, headers=headers)
    assert other.status_code == 201, other.text
    item = other.json()

    clash = await client.post(
        case.path, json={**_body(case, 4), **_key_values(key, first), **extra}, headers=headers
    )
    assert clash.status_code == 409, clash.text
    assert clash.headers["content-type"] == "application/problem+json"
    assert clash.json()["code"] == key.code

    history = await _history(session)
    patch = await client.patch(
        f"{case.path}/{item['id']}", json=_key_values(key, first), headers=headers
    )
    assert patch.status_code == 409, patch.text
    assert patch.headers["content-type"] == "application/problem+json"
    assert patch.json()["code"] == key.code
    for name, value in _key_values(key, first).items():
        assert str(value) in patch.json()["detail"], name
    after = (await client.get(f"{case.path}/{item['id']}", headers=headers)).json()
    assert after["version"] == item["version"]
    assert _key_values(key, after) == _key_values(key, second)
    assert await _history(session) == history

    # Its own value again is no collision; nor is a free one.
    same = await client.patch(
        f"{case.path}/{item['id']}", json=_key_values(key, second), headers=headers
    )
    assert same.status_code == 200, same.text
    free = await client.patch(
        f"{case.path}/{item['id']}", json=_key_values(key, _body(case, 3)), headers=headers
    )
    assert free.status_code == 200, free.text


def _import_url(case: CatalogCase) -> str:
    return "/v1/imports/" + case.name.replace("_", "-")


async def _imported(case: CatalogCase, client: AsyncClient, session: AsyncSession) -> Any:
    """An organization's key, with one published item (UQ-1) already imported."""
    owner = await builders.create_organization(session, kind=case.owner_kind)
    key = await builders.api_key_actor(session, organization=owner)
    first = {**_body(case, 1), "status": "published"}
    response = await client.post(_import_url(case), json={"items": [first]}, headers=key.headers)
    assert response.status_code == 200, response.text
    return key


def _collider(case: CatalogCase, key: UniqueKey) -> dict[str, Any]:
    """A new item (its own external_id) taking item 1's values of ``key``; for the
    external_id key, a second item of the batch with item 1's external_id."""
    return {**_body(case, 2), **_key_values(key, _body(case, 1))}


@pytest.mark.parametrize(("case", "key"), STORED, ids=STORED_IDS)
async def test_an_import_colliding_with_a_stored_item(
    client: AsyncClient, session: AsyncSession, case: CatalogCase, key: UniqueKey
) -> None:
    """atomic: 422 naming the item, nothing written; continue: the item reported, the
    valid ones written."""
    api_key = await _imported(case, client, session)
    history = await _history(session)
    valid = _body(case, 3)
    items = [valid, _collider(case, key)]

    atomic = await client.post(
        _import_url(case), json={"items": items, "mode": "atomic"}, headers=api_key.headers
    )
    assert atomic.status_code == 422, atomic.text
    problem = atomic.json()
    assert problem["code"] == "import_rejected"
    assert "item 1 (UQ-2)" in problem["detail"]
    assert [r["result"] for r in problem["results"]] == ["created", "error"]
    [error] = problem["results"][1]["errors"]
    assert error["type"] == key.code
    assert error["loc"] == ["body", "items", 1, key.fields[-1]]
    assert "UQ-1" in error["message"]
    assert await _history(session) == history

    carry_on = await client.post(
        _import_url(case), json={"items": items, "mode": "continue"}, headers=api_key.headers
    )
    assert carry_on.status_code == 200, carry_on.text
    results = carry_on.json()["results"]
    assert [r["result"] for r in results] == ["created", "error"]
    assert results[1]["errors"][0]["type"] == key.code
    written = await client.get(
        f"/v1/{case.path.split('/')[-1]}/{results[0]['id']}", headers=api_key.headers
    )
    assert written.status_code == 200

    # An item updated onto another's value is the same collision.
    update = {**_body(case, 3), **_key_values(key, _body(case, 1))}
    moved = await client.post(
        _import_url(case), json={"items": [update], "mode": "continue"}, headers=api_key.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["results"][0]["errors"][0]["type"] == key.code


@pytest.mark.parametrize(("case", "key"), IMPORTED, ids=IMPORTED_IDS)
async def test_two_items_of_one_batch_sharing_a_key(
    client: AsyncClient, session: AsyncSession, case: CatalogCase, key: UniqueKey
) -> None:
    """The later item is named as the duplicate of the earlier one (never blamed on a
    concurrent request); the earlier one is written in continue mode."""
    api_key = await _imported(case, client, session)
    history = await _history(session)
    earlier, valid = _body(case, 4), _body(case, 6)
    later = {**_body(case, 5), **_key_values(key, earlier)}
    items = [earlier, valid, later]

    atomic = await client.post(
        _import_url(case), json={"items": items, "mode": "atomic"}, headers=api_key.headers
    )
    assert atomic.status_code == 422, atomic.text
    problem = atomic.json()
    assert "concurrent" not in problem["detail"]
    assert "item 2" in problem["detail"]
    [error] = problem["results"][2]["errors"]
    assert error["type"] == "duplicate_in_batch"
    assert error["loc"] == ["body", "items", 2, key.fields[-1]]
    assert "item 0" in error["message"]
    assert await _history(session) == history

    carry_on = await client.post(
        _import_url(case), json={"items": items, "mode": "continue"}, headers=api_key.headers
    )
    assert carry_on.status_code == 200, carry_on.text
    assert [r["result"] for r in carry_on.json()["results"]] == ["created", "created", "error"]
    assert carry_on.json()["results"][2]["errors"][0]["type"] == "duplicate_in_batch"


async def test_a_key_taken_meanwhile_is_a_409_naming_the_key(
    client: AsyncClient, session: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another request takes the number between the check and the write: the constraint
    stops it and the answer is still the key's 409, never a 500."""
    from app.services import catalog as catalog_service

    case = next(c for c in CASES if c.name == "ip_assets")
    _, headers, _ = await _writer(session, settings, case)
    first = await client.post(case.path, json=_body(case, 1), headers=headers)
    second = await client.post(case.path, json=_body(case, 2), headers=headers)
    assert first.status_code == second.status_code == 201

    async def nothing_checked(*_args: object, **_kwargs: object) -> None:
        return None

    monkeypatch.setattr(catalog_service, "check_unique", nothing_checked)
    number = {"number": _body(case, 1)["number"]}
    patch = await client.patch(f"{case.path}/{second.json()['id']}", json=number, headers=headers)
    assert patch.status_code == 409, patch.text
    assert patch.json()["code"] == "ip_number_taken"
    again = await client.post(case.path, json={**_body(case, 3), **number}, headers=headers)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "ip_number_taken"
    assert uuid.UUID(second.json()["id"])


async def test_an_import_racing_for_a_number_is_a_409_and_writes_nothing(
    client: AsyncClient, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The number taken between the import's check and its write (new and updated items
    alike): the constraint stops the batch, 409 ``import_conflict``, never a 500."""
    from app.services import catalog as catalog_service

    case = next(c for c in CASES if c.name == "ip_assets")
    api_key = await _imported(case, client, session)
    second = await client.post(
        _import_url(case), json={"items": [_body(case, 2)]}, headers=api_key.headers
    )
    assert second.status_code == 200, second.text
    history = await _history(session)

    async def nothing_taken(*_args: object) -> dict[int, object]:
        return {}

    monkeypatch.setattr(catalog_service, "_taken_in_import", nothing_taken)
    number = {"number": _body(case, 1)["number"]}
    for item in ({**_body(case, 3), **number}, {**_body(case, 2), **number}):  # new, updated
        response = await client.post(
            _import_url(case), json={"items": [item], "mode": "continue"}, headers=api_key.headers
        )
        assert response.status_code == 409, response.text
        assert response.json()["code"] == "import_conflict"
        assert "kind and number" in response.json()["detail"]
    assert await _history(session) == history
