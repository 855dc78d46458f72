"""The OpenAPI schema walked for the inputs of a kind: tests that send every date, integer or
boolean the API reads a value it must refuse, so a new parameter or field is covered by itself."""

import re
from collections.abc import Callable, Iterator
from typing import Any

Matcher = Callable[[dict[str, Any]], str | None]
"""What kind of input a (sub)schema is, or None for one not looked for."""

PLACEHOLDER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


def fill_path(path: str) -> str:
    """A path's parameters filled in with an id (the input is refused before it is looked up)."""
    return re.sub(r"\{\w+\}", PLACEHOLDER_ID, path)


def kinds_of(schema: dict[str, Any], match: Matcher) -> set[str]:
    found = {kind} if (kind := match(schema)) is not None else set()
    for option in schema.get("anyOf", []):
        found |= kinds_of(option, match)
    return found


def query_inputs(openapi: dict[str, Any], match: Matcher) -> Iterator[tuple[str, str, str, str]]:
    """(method, path, parameter, kind) of every query parameter of a kind."""
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    for kind in kinds_of(parameter["schema"], match):
                        yield method, path, parameter["name"], kind


def body_inputs(
    openapi: dict[str, Any], match: Matcher
) -> Iterator[tuple[str, str, list[str | int], str, Callable[[Any], Any]]]:
    """(method, path, where in the body, kind, a body holding a value there) of every JSON
    body field of a kind, nested ones too."""
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = content["application/json"]["schema"]
                for where, kind, build in _fields(openapi, schema, match, frozenset()):
                    yield method, path, where, kind, build


def _fields(
    openapi: dict[str, Any], schema: dict[str, Any], match: Matcher, seen: frozenset[str]
) -> Iterator[tuple[list[str | int], str, Callable[[Any], Any]]]:
    components = openapi["components"]["schemas"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            yield from _fields(openapi, components[name], match, seen | {name})
        return
    for option in schema.get("anyOf", []):
        yield from _fields(openapi, option, match, seen)
    if (kind := match(schema)) is not None:
        yield [], kind, lambda value: value
    for name, child in schema.get("properties", {}).items():
        for where, kind, build in _fields(openapi, child, match, seen):
            yield [name, *where], kind, _in_object(name, build)
    if "items" in schema:
        for where, kind, build in _fields(openapi, schema["items"], match, seen):
            yield [0, *where], kind, _in_list(build)


def _in_object(name: str, build: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: {name: build(value)}


def _in_list(build: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: [build(value)]


async def send_as_first_allowed(
    client: Any, callers: list[dict[str, str]], method: str, path: str, **kwargs: Any
) -> Any:
    """The answer to the first caller the route lets through to its input (an operator for
    most, an organization's member for imports)."""
    for headers in callers:
        answer = await client.request(method.upper(), fill_path(path), headers=headers, **kwargs)
        if answer.status_code not in (401, 403):
            break
    return answer


def field_errors(problem: dict[str, Any], where: list[str | int]) -> list[dict[str, Any]]:
    """The field errors of a 422 at ``where`` in the body; an import's are per item."""
    if problem["code"] != "import_rejected":
        assert problem["code"] == "validation_error", problem
        return [e for e in problem["errors"] if e["loc"][: len(where) + 1] == ["body", *where]]
    (item,) = problem["results"]
    inner = where[2:]  # ["items", 0, field…]: an item's own errors name the field
    return [e for e in item["errors"] if e["loc"][-len(inner) :] == inner]
