"""Every PATCH body says which fields may be null, and means it: a field the schema declares
nullable accepts null and gets a defined value (cleared, or a list emptied); any other field
may be left out but null is a 422 ``null_not_allowed``. Walked over the OpenAPI document, so
a new PATCH operation is covered (or this test fails asking for a target)."""

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

import app.schemas as schemas_package
from app.core.config import Settings
from app.core.security import Role
from app.models.orgs import OrganizationKind
from tests import builders
from tests.catalog.cases import CASES
from tests.deals.conftest import build_market
from tests.demands.conftest import demand_body
from tests.proposals.conftest import build_tender, submitted
from tests.reviews.conftest import Cast, settled_deal, written


def _request_models() -> dict[str, type[BaseModel]]:
    """Every request shape of app/schemas by the name the OpenAPI document gives it."""
    found: dict[str, type[BaseModel]] = {}
    for module in pkgutil.iter_modules(schemas_package.__path__):
        namespace = vars(importlib.import_module(f"app.schemas.{module.name}"))
        for value in namespace.values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                found[value.__name__] = value
    return found


def _patch_operations(app: FastAPI) -> dict[str, tuple[str, type[BaseModel], dict[str, Any]]]:
    """operationId → (path, body model, body schema) of every PATCH operation."""
    document = app.openapi()
    schemas = document["components"]["schemas"]
    models = _request_models()
    found = {}
    for path, operations in document["paths"].items():
        operation = operations.get("patch")
        if operation is None:
            continue
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        name = body["$ref"].split("/")[-1]
        found[operation["operationId"]] = (path, models[name], schemas[name])
    return found


def _nullable(prop: dict[str, Any]) -> bool:
    options = prop.get("anyOf", [prop])
    return any(option.get("type") == "null" for option in options)


def test_update_schemas_accept_null_exactly_where_they_declare_it(app: FastAPI) -> None:
    operations = _patch_operations(app)
    assert len(operations) >= 11
    for operation_id, (_, model, schema) in operations.items():
        for name, prop in schema["properties"].items():
            if _nullable(prop):
                model.model_validate({name: None})
            else:
                assert "default" not in prop, (operation_id, name)
                with pytest.raises(ValidationError) as refused:
                    model.model_validate({name: None})
                assert refused.value.errors()[0]["type"] == "null_not_allowed"


@dataclass
class Target:
    url: str
    headers: dict[str, str]


Build = Callable[[AsyncClient, AsyncSession, Settings], Awaitable[Target]]


def _catalog_target(case_name: str) -> Build:
    case = next(c for c in CASES if c.name == case_name)

    async def build(client: AsyncClient, session: AsyncSession, settings: Settings) -> Target:
        owner = await builders.create_organization(session, kind=case.owner_kind)
        body = {**case.body, "tags": ["盾构"], "external_id": "N-1"}
        if case.staff_only:
            writer = await builders.actor(session, settings, role=Role.operator)
            body["owner_id"] = str(owner.id)
        else:
            writer = await builders.actor(session, settings, organization=owner)
        created = await client.post(case.path, json=body, headers=writer.headers)
        assert created.status_code == 201, created.text
        return Target(f"{case.path}/{created.json()['id']}", writer.headers)

    return build


async def _user(client: AsyncClient, session: AsyncSession, settings: Settings) -> Target:
    admin = await builders.actor(session, settings, role=Role.admin)
    org = await builders.create_organization(session)
    user = await builders.create_user(session, organization=org)
    return Target(f"/v1/users/{user.id}", admin.headers)


async def _organization(client: AsyncClient, session: AsyncSession, settings: Settings) -> Target:
    admin = await builders.actor(session, settings, role=Role.admin)
    org = await builders.create_organization(session)
    return Target(f"/v1/organizations/{org.id}", admin.headers)


async def _demand(client: AsyncClient, session: AsyncSession, settings: Settings) -> Target:
    org = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    member = await builders.actor(session, settings, organization=org)
    created = await client.post("/v1/demands", json=demand_body(), headers=member.headers)
    assert created.status_code == 201, created.text
    return Target(f"/v1/demands/{created.json()['id']}", member.headers)


async def _subscription(client: AsyncClient, session: AsyncSession, settings: Settings) -> Target:
    org = await builders.create_organization(session)
    member = await builders.actor(session, settings, organization=org)
    body = {"name": "watch", "catalog": "technologies", "q": "盾构"}
    created = await client.post("/v1/subscriptions", json=body, headers=member.headers)
    assert created.status_code == 201, created.text
    return Target(f"/v1/subscriptions/{created.json()['id']}", member.headers)


async def _proposal(client: AsyncClient, session: AsyncSession, settings: Settings) -> Target:
    tender = await build_tender(session, settings)
    demand = await builders.open_demand(session, tender.owner_org)
    proposal = await submitted(client, demand, tender.provider_a)
    url = f"/v1/demands/{demand.id}/proposals/{proposal['id']}"
    return Target(url, tender.provider_a.headers)


async def _review(client: AsyncClient, session: AsyncSession, settings: Settings) -> Target:
    other = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    cast = Cast(
        market=await build_market(session, settings),
        outsider=await builders.actor(session, settings, organization=other),
    )
    deal = await settled_deal(client, cast)
    review = await written(client, deal["id"], cast.buyer)
    return Target(f"/v1/reviews/{review['id']}", cast.buyer.headers)


TARGETS: dict[str, Build] = {
    "update_user": _user,
    "update_organization": _organization,
    "update_talent": _catalog_target("talents"),
    "update_technology": _catalog_target("technologies"),
    "update_policy": _catalog_target("policies"),
    "update_ip_asset": _catalog_target("ip_assets"),
    "update_financial_product": _catalog_target("financial_products"),
    "update_demand": _demand,
    "update_subscription": _subscription,
    "revise_proposal": _proposal,
    "update_review": _review,
}


def test_every_patch_operation_has_a_target(app: FastAPI) -> None:
    assert set(_patch_operations(app)) == set(TARGETS)


@pytest.mark.parametrize("operation_id", sorted(TARGETS))
async def test_null_in_every_field_of_a_patch(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    app: FastAPI,
    operation_id: str,
) -> None:
    """Null in a nullable field: 2xx, the field reads null or empty afterwards (or a
    documented 4xx, a rule of the domain); null in any other field: 422, nothing changed."""
    _, _, schema = _patch_operations(app)[operation_id]
    document = app.openapi()
    path = next(
        p
        for p, ops in document["paths"].items()
        if ops.get("patch", {}).get("operationId") == operation_id
    )
    documented = set(document["paths"][path]["patch"]["responses"])
    target = await TARGETS[operation_id](client, session, settings)
    for name, prop in schema["properties"].items():
        before = await client.get(target.url, headers=target.headers)
        response = await client.patch(target.url, json={name: None}, headers=target.headers)
        assert response.status_code < 500, (name, response.text)
        assert str(response.status_code) in documented, (name, response.status_code)
        if _nullable(prop):
            if response.is_success and name in response.json():
                assert response.json()[name] in (None, []), (name, response.json()[name])
            else:
                assert response.status_code in (403, 409, 422), (name, response.text)
                assert response.headers["content-type"] == "application/problem+json"
        else:
            assert response.status_code == 422, (name, response.text)
            assert response.json()["errors"][0]["type"] == "null_not_allowed", name
            if before.status_code == 200:
                after = await client.get(target.url, headers=target.headers)
                assert after.json() == before.json(), name
