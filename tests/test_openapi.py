"""The OpenAPI document is the product front-end teams build from: complete and honest."""

import json
import os
import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from httpx import AsyncClient, Response
from openapi_spec_validator import validate
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.errors import _HTTP_CODES, PROBLEM_CODES, AppError
from app.core.security import Role
from app.routers.money import IdempotentRequest
from tests import builders
from tests.catalog.cases import case_named

METHODS = {"get", "post", "put", "patch", "delete"}


async def _schema(client: AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


async def test_every_operation_has_a_unique_id_a_tag_and_a_summary(client: AsyncClient) -> None:
    schema = await _schema(client)
    operations = _operations(schema)
    assert len(operations) >= 15
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(ids) == len(set(ids)), ids
    for path, method, operation in operations:
        assert operation.get("tags"), (path, method)
        assert operation.get("description") or operation.get("summary"), (path, method)
        assert operation["operationId"].isidentifier(), operation["operationId"]


async def test_every_success_has_a_model_and_an_example(client: AsyncClient) -> None:
    schema = await _schema(client)
    for path, method, operation in _operations(schema):
        successes = {code: r for code, r in operation["responses"].items() if code.startswith("2")}
        assert successes, (path, method)
        for code, response in successes.items():
            if code == "204":
                assert "content" not in response, (path, method)
                continue
            assert response["content"], (path, method)
            for media_type, content in response["content"].items():
                assert "schema" in content, (path, method)
                if media_type == "application/json":
                    model = _resolve(schema, content["schema"])
                    properties = model.get("properties", {})
                    if "items" in properties and "next_cursor" in properties:
                        model = _resolve(schema, properties["items"]["items"])
                    assert model.get("examples"), (path, method, model.get("title"))
                else:
                    assert content.get("example"), (path, method, media_type)


async def test_request_bodies_have_examples(client: AsyncClient) -> None:
    schema = await _schema(client)
    for path, method, operation in _operations(schema):
        body = operation.get("requestBody")
        if not body:
            continue
        for media_type, content in body["content"].items():
            if media_type == "application/json":
                assert _resolve(schema, content["schema"]).get("examples"), (path, method)


async def test_errors_are_documented_as_problem_documents(client: AsyncClient) -> None:
    schema = await _schema(client)
    assert "Problem" in schema["components"]["schemas"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    documented = 0
    for path, method, operation in _operations(schema):
        for code, response in operation["responses"].items():
            if code[0] in "45":
                documented += 1
                assert list(response["content"]) == ["application/problem+json"], (
                    path,
                    method,
                    code,
                )
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }
        has_input = operation.get("parameters") or operation.get("requestBody")
        if has_input:
            assert "422" in operation["responses"], (path, method)
    assert documented > 30


async def test_protected_operations_declare_bearer_auth(client: AsyncClient) -> None:
    schema = await _schema(client)
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    create = schema["paths"]["/v1/organizations"]["post"]
    assert {"HTTPBearer": []} in create["security"]
    assert "401" in create["responses"]


async def test_money_is_never_a_float(client: AsyncClient) -> None:
    """No numeric schema may be a float: money is integer fen inside, a decimal string outside.
    The one float is a search hit's relevance ``score``, which is never money."""
    schema = await _schema(client)

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            assert node.get("type") != "number" or where.endswith(".properties.score"), where
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(schema["components"]["schemas"], "components")


# --- the contract's stability: operation ids and validity ------------------------------------

OPERATION_IDS = Path(__file__).with_name("openapi_operation_ids.json")
UPDATE_HINT = (
    "Operation ids are the method names of every generated client: a change breaks them. If the"
    " change is deliberate, rewrite the snapshot with"
    " `UPDATE_OPENAPI_SNAPSHOT=1 pytest tests/test_openapi.py -k operation_ids`"
    " and commit it with the change."
)


def _operation_ids(schema: dict[str, Any]) -> dict[str, str]:
    return {
        f"{method.upper()} {path}": operation["operationId"]
        for path, method, operation in sorted(_operations(schema))
    }


async def test_operation_ids_match_the_committed_snapshot(client: AsyncClient) -> None:
    current = _operation_ids(await _schema(client))
    if os.environ.get("UPDATE_OPENAPI_SNAPSHOT"):
        OPERATION_IDS.write_text(json.dumps(current, indent=2, ensure_ascii=False) + "\n")
    committed = json.loads(OPERATION_IDS.read_text())
    changed = {
        key: (committed.get(key), current.get(key))
        for key in committed.keys() | current.keys()
        if committed.get(key) != current.get(key)
    }
    assert not changed, f"(snapshot, now) differ: {changed}. {UPDATE_HINT}"


async def test_the_schema_is_valid_openapi(client: AsyncClient) -> None:
    schema = await _schema(client)
    assert schema["openapi"].startswith("3.1")
    validate(schema)  # raises OpenAPIValidationError with the path of the first fault


def _money_operations(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route whose endpoint takes a MoneyRequest, found in its
    dependency tree. (A missing key is still a 400 at run time: tests/deals/test_idempotency.py
    and others.)"""

    def takes_money(dependant: Dependant) -> bool:
        return any(
            sub.call is IdempotentRequest or takes_money(sub) for sub in dependant.dependencies
        )

    return [
        (method.lower(), str(route.original_route.path_format))
        for route in iter_route_contexts(app.routes)
        if isinstance(route.original_route, APIRoute)
        and route.include_in_schema
        and takes_money(route.dependant)
        for method in route.methods or ()
    ]


async def test_every_money_request_requires_an_idempotency_key(
    app: FastAPI, client: AsyncClient
) -> None:
    schema = await _schema(client)
    money = _money_operations(app)
    assert len(money) >= 8, money
    for method, path in money:
        operation = schema["paths"][path][method]
        headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
        assert headers["Idempotency-Key"]["required"] is True, (method, path)
        assert "400" in operation["responses"], (method, path)


async def test_every_page_schema_is_named_x_page(client: AsyncClient) -> None:
    schemas = (await _schema(client))["components"]["schemas"]
    pages = [  # a page's next_cursor is null on the last page (an event feed's never is)
        name
        for name, model in schemas.items()
        if "items" in model.get("properties", {})
        and {"type": "null"} in model["properties"].get("next_cursor", {}).get("anyOf", [])
    ]
    assert len(pages) >= 20, pages
    for name in pages:
        assert re.fullmatch(r"[A-Z][A-Za-z]*Page", name), name
        assert schemas[name].get("title", name) == name, name
    assert "DealPage" in pages
    assert not [name for name in schemas if name.startswith("Page")]


async def test_the_sign_in_form_is_documented_as_a_form(client: AsyncClient) -> None:
    """A generated client must send the OAuth2 password form form-encoded, never as JSON."""
    schema = await _schema(client)
    body = schema["paths"]["/v1/auth/token"]["post"]["requestBody"]
    assert body["required"] is True
    assert list(body["content"]) == ["application/x-www-form-urlencoded"]
    form = body["content"]["application/x-www-form-urlencoded"]
    model = _resolve(schema, form["schema"])
    assert set(model["properties"]) == {"username", "password", "grant_type"}
    assert set(model["required"]) == {"username", "password"}
    assert set(form["example"]) == {"grant_type", "username", "password"}
    assert not [name for name in schema["components"]["schemas"] if name.startswith("Body_")]


def _declared_headers(schema: dict[str, Any], method: str, path: str, status: int) -> set[str]:
    response = schema["paths"][path][method]["responses"][str(status)]
    return {name.lower() for name in response.get("headers", {})}


async def test_headers_sent_by_rule_are_declared(client: AsyncClient) -> None:
    schema = await _schema(client)
    for name in ("X-Request-ID", "ETag", "Location", "Idempotent-Replayed", "Retry-After"):
        assert name in schema["components"]["headers"], name
    for path, method, operation in _operations(schema):
        money = any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            assert "X-Request-ID" in headers, (method, path, status)
            if status == "429":
                assert "Retry-After" in headers, (method, path)
            if money and status.startswith("2"):
                assert "Idempotent-Replayed" in headers, (method, path)
            if method == "get" and status == "200" and "application/json" in response["content"]:
                assert "ETag" in headers, (method, path)
    assert "429" in schema["paths"]["/v1/auth/token"]["post"]["responses"]


async def test_headers_a_route_sets_are_declared(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Every ETag, Location and Idempotent-Replayed a real flow receives is in the schema for
    that operation and status."""
    schema = await _schema(client)
    case = case_named("technologies")
    owner = await builders.create_organization(session, kind=case.owner_kind)
    member = await builders.actor(session, settings, organization=owner)
    sent = ("etag", "location", "idempotent-replayed", "x-request-id")

    def check(method: str, path: str, response: Response) -> None:
        received = {name for name in sent if name in response.headers}
        declared = _declared_headers(schema, method, path, response.status_code)
        assert received <= declared, (method, path, response.status_code, received - declared)

    created = await client.post(case.path, json=case.body, headers=member.headers)
    assert created.status_code == 201, created.text
    assert {"location", "etag"} <= set(created.headers)
    check("post", case.path, created)
    url = created.headers["location"]
    item = f"{case.path}/{{item_id}}"
    for method, path, call in [
        ("patch", item, client.patch(url, json=case.change, headers=member.headers)),
        ("post", f"{item}/publish", client.post(f"{url}/publish", headers=member.headers)),
        ("get", item, client.get(url)),
    ]:
        response = await call
        assert response.status_code == 200, response.text
        assert "etag" in response.headers
        check(method, path, response)


# --- enumerations are enums ------------------------------------------------------------------

APP = Path(__file__).parents[1] / "app"
#: ``code = "…"``, ``code="…"`` and ``frozen_code="…"`` (a code given to a service's workflow).
RAISED_CODE = re.compile(r"\b\w*code\s*=\s*\"([a-z][a-z0-9_]*)\"")


def _codes_in_source() -> set[str]:
    """Every code literal in the served app (the demo generator and the CLI answer no HTTP)."""
    codes: set[str] = set()
    for source in APP.rglob("*.py"):
        if source.relative_to(APP).parts[0] in ("demo", "cli.py"):
            continue
        codes |= set(RAISED_CODE.findall(source.read_text(encoding="utf-8")))
    return codes


def _subclasses(cls: type) -> set[type]:
    return {cls, *(c for sub in cls.__subclasses__() for c in _subclasses(sub))}


async def test_every_problem_code_the_server_sends_is_in_the_enum(client: AsyncClient) -> None:
    schema = await _schema(client)
    enum = set(schema["components"]["schemas"]["Problem"]["properties"]["code"]["enum"])
    assert enum == PROBLEM_CODES
    raised = _codes_in_source()
    assert len(raised) > 80, raised
    assert not raised - enum, f"add {sorted(raised - enum)} to PROBLEM_CODES in app/core/errors.py"
    served_errors = [c for c in _subclasses(AppError) if not c.__module__.startswith("app.demo")]
    assert not {c.code for c in served_errors} - enum
    assert set(_HTTP_CODES.values()) <= enum
    for path, method, operation in _operations(schema):
        for status, response in operation["responses"].items():
            problem = response.get("content", {}).get("application/problem+json", {})
            example = problem.get("example")
            if example:
                assert example["code"] in enum, (method, path, status)


async def test_sort_is_an_enum_on_every_list_that_takes_it(client: AsyncClient) -> None:
    schema = await _schema(client)
    sorted_lists = {}
    for path, _, operation in _operations(schema):
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "sort":
                [choices] = [s["enum"] for s in parameter["schema"]["anyOf"] if "enum" in s]
                sorted_lists[path] = set(choices)
    for path in ("/v1/technologies", "/v1/talents", "/v1/ip-assets", "/v1/financial-products"):
        assert sorted_lists[path] == {"relevance", "newest", "oldest"}, path
    assert sorted_lists["/v1/demands"] == {"relevance", "newest", "oldest"}
    assert sorted_lists["/v1/policies"] == {"relevance", "newest", "oldest", "issued"}


async def test_every_returned_status_is_an_enum(client: AsyncClient) -> None:
    """A ``status`` (or ``…_status``) property is an enum (or a const), never a free string."""
    schema = await _schema(client)
    checked = 0
    for name, model in schema["components"]["schemas"].items():
        for field, prop in model.get("properties", {}).items():
            if field != "status" and not field.endswith("_status"):
                continue
            if name == "Problem":  # the HTTP status, an integer
                continue
            options = prop.get("anyOf", [prop])
            for option in options:
                resolved = _resolve(schema, option)
                assert (
                    resolved.get("type") == "null" or "enum" in resolved or "const" in resolved
                ), (
                    name,
                    field,
                )
            checked += 1
    assert checked >= 15, checked


# --- conditional GETs (304) ------------------------------------------------------------------


async def test_every_get_that_can_answer_304_declares_it(client: AsyncClient) -> None:
    """The conditional-GET middleware answers 304 on every GET 200 but a streamed one: each of
    them declares the 304 (with its ETag) in the one rule of app/core/openapi.py."""
    schema = await _schema(client)
    gets = [(path, op) for path, method, op in _operations(schema) if method == "get"]
    streamed = [path for path, op in gets if op.get("x-streamed")]
    assert streamed == ["/v1/ledger/export"]
    for path, operation in gets:
        responses = operation["responses"]
        if path in streamed:
            assert "304" not in responses, path
            assert "ETag" not in responses["200"]["headers"], path
            continue
        assert "304" in responses, path
        assert "content" not in responses["304"], path  # a 304 has no body
        assert {"ETag", "X-Request-ID"} <= set(responses["304"]["headers"]), path
        assert "ETag" in responses["200"]["headers"], path
        assert list(responses) == sorted(responses), path  # 304 between successes and errors


async def test_real_conditional_gets_answer_304_where_declared(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """Every GET that needs no path parameter, asked again with the ETag it answered, gets a
    bodiless 304 exactly when its schema says it can; a streamed export gets neither."""
    schema = await _schema(client)
    admin = await builders.actor(session, settings, role=Role.admin)
    auditor = await builders.actor(session, settings, role=Role.auditor)
    checked = []
    for path, method, operation in _operations(schema):
        if method != "get" or "{" in path:
            continue
        headers = auditor.headers if path.startswith("/v1/ledger") else admin.headers
        first = await client.get(path, headers=headers)
        if first.status_code != 200:
            continue
        declared = "304" in operation["responses"]
        etag = first.headers.get("etag")
        assert (etag is not None) == declared, (path, etag)
        if etag is None:
            continue
        again = await client.get(path, headers={**headers, "If-None-Match": etag})
        if again.status_code == 200:  # a figure of "now" moved on: a new version
            assert again.headers["etag"] != etag, path
            continue
        assert again.status_code == 304, (path, again.status_code)
        assert again.content == b"", path
        assert again.headers["etag"] == etag, path
        checked.append(path)
    assert len(checked) >= 15, checked
    as_of = {"as_of": "2020-05-31"}
    first = await client.get("/v1/stats/overview", params=as_of)
    again = await client.get(
        "/v1/stats/overview", params=as_of, headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    export = await client.get(
        "/v1/ledger/export", params={"format": "csv"}, headers=auditor.headers
    )
    assert export.status_code == 200
    assert "etag" not in export.headers


# --- the client guide names real codes -------------------------------------------------------

API_CONVENTIONS = Path(__file__).parents[1] / "docs" / "api-conventions.md"
ERROR_ROW = re.compile(r"^\| (\d{3}) \| (.*) \|$")


def test_every_code_the_client_guide_lists_is_one_the_server_sends() -> None:
    """docs/api-conventions.md's table of error codes names only codes in PROBLEM_CODES (what
    a field of the problem is called, in "(with `…`)", is not a code)."""
    listed: dict[str, str] = {}
    for line in API_CONVENTIONS.read_text(encoding="utf-8").splitlines():
        row = ERROR_ROW.match(line)
        if row:
            codes = re.sub(r"\(with [^)]*\)", "", row.group(2))
            listed |= dict.fromkeys(re.findall(r"`([a-z][a-z0-9_]*)`", codes), row.group(1))
    assert len(listed) > 60, listed
    assert not listed.keys() - PROBLEM_CODES, {c: listed[c] for c in listed.keys() - PROBLEM_CODES}


async def test_response_fields_with_defaults_are_required(client: AsyncClient) -> None:
    """The server sends every field of a response shape, defaults too: generated clients
    must not type ``currency`` or a page's ``total`` as possibly missing."""
    schema = await _schema(client)
    pending = [
        content["schema"]
        for _, _, operation in _operations(schema)
        for status, response in operation["responses"].items()
        if status.startswith("2")
        for content in response.get("content", {}).values()
    ]
    shapes: set[str] = set()
    while pending:  # every shape a success response contains, nested ones too
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref and ref.rsplit("/", 1)[-1] not in shapes:
                shapes.add(ref.rsplit("/", 1)[-1])
                pending.append(schema["components"]["schemas"][ref.rsplit("/", 1)[-1]])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    assert {"TokenResponse", "TechnologyPage", "TechnologyRead", "DealRead"} <= shapes
    for name in shapes:
        model = schema["components"]["schemas"][name]
        for field, prop in model.get("properties", {}).items():
            if "default" in prop:
                assert field in model.get("required", []), (name, field)
