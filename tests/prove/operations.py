"""Every route of the app, and a request for each that the schema itself says is well formed.

The tests that go over every operation (the security matrix, the bad-input corpus) take the
routes from ``app.routes`` and each request body from the example the schema documents for
it, so a new route or a new body is covered the day it is added.
"""

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import Mount, Route

from app.core.openapi import operation_id
from tests import builders

#: A value for each required query parameter the schema leaves without an example.
QUERY_VALUES = {"q": "盾构"}


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    schema: dict[str, Any] | None
    """The operation in the OpenAPI document; None for routes outside it (docs pages)."""

    @property
    def collection(self) -> str:
        """The path's first segment under /v1 (``technologies``, ``deals``…)."""
        parts = self.path.strip("/").split("/")
        return parts[1] if parts[0] == "v1" and len(parts) > 1 else parts[0]

    @property
    def path_parameters(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    def body_media(self) -> tuple[str, dict[str, Any]] | None:
        """The request body's content type and schema, if it takes one."""
        body = (self.schema or {}).get("requestBody")
        if not body:
            return None
        [(content_type, media)] = body["content"].items()
        return content_type, media.get("schema", {})

    def required_query(self) -> dict[str, str]:
        return {
            p["name"]: QUERY_VALUES[p["name"]]
            for p in (self.schema or {}).get("parameters", [])
            if p["in"] == "query" and p.get("required")
        }


def all_operations(app: FastAPI) -> list[Operation]:
    """Every route of ``app`` that answers requests (mounted static files aside), each method
    once, named by its operation id (a route outside the schema by its name)."""
    document = app.openapi()
    found: list[Operation] = []
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        if isinstance(original, Mount) or not isinstance(original, APIRoute | Route):
            continue
        for method in sorted(route.methods or ()):
            if method == "HEAD":
                continue  # HEAD is GET's; the GET row covers it
            path = original.path_format  # without convertors ({proposal_id:uuid}), as the schema
            schema = document["paths"].get(path, {}).get(method.lower())
            name = (
                schema["operationId"]
                if schema
                else operation_id(original)
                if isinstance(original, APIRoute)
                else original.name
            )
            found.append(Operation(name, method, path, schema))
    assert len({op.operation_id for op in found}) == len(found), "operation ids must be unique"
    return found


def resolve_ref(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def example_body(document: dict[str, Any], operation: Operation) -> Any:
    """The documented example of the operation's body (a deep copy), or ``{}``."""
    media = operation.body_media()
    if media is None:
        return None
    _, schema = media
    if "example" in schema:
        return copy.deepcopy(schema["example"])
    resolved = resolve_ref(document, schema)
    examples = resolved.get("examples") or []
    return copy.deepcopy(examples[0]) if examples else {}


def fresh_values(body: Any) -> Any:
    """``body`` with the values that must be unique made new (emails, credit codes, external
    ids), and ids of other objects left out where a list can be empty."""
    if isinstance(body, list):
        return [fresh_values(value) for value in body]
    if not isinstance(body, dict):
        return body
    out: dict[str, Any] = {}
    for name, value in body.items():
        if name.endswith("_ids") and isinstance(value, list):
            out[name] = []
        elif name == "email":
            out[name] = f"prove-{uuid.uuid4().hex[:10]}@innoshare.test"
        elif name == "credit_code":
            out[name] = builders.credit_code()
        elif name == "external_id" and value is not None:
            out[name] = f"PROVE-{uuid.uuid4().hex[:12]}"
        elif name == "url":
            continue  # a webhook target would be resolved on the network
        else:
            out[name] = fresh_values(value)
    return out


def walk(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, value) in a JSON document, the document itself first."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, (*path, index))


def replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``document`` with the value at ``path`` replaced."""
    if not path:
        return value
    out = copy.deepcopy(document)
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out
