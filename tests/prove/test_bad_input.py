"""Bad input, everywhere: a corpus of hostile values sent to every operation that takes a
body or parameters, generated from the OpenAPI schema (a new operation or field is covered
the day it is added).

Each bad request must be answered with a 4xx ``application/problem+json`` document and must
write nothing: the row counts of every table are the same after it as before. Free text is
the exception: SQL and script strings are data, and where an operation accepts them they are
stored verbatim (the response shows them unchanged). Extreme dates (0001-01-01,
9999-12-31) may be accepted or refused, but never break the server.

Each request is the schema's own example (``tests/prove/world.py`` makes its ids real) with
one thing spoiled, sent by a caller the security matrix says may call the operation, so the
answer is about the input and not about who sent it.
"""

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests.prove.operations import Operation, all_operations, replaced, resolve_ref, walk
from tests.prove.test_security_matrix import MATRIX, Caller, parse
from tests.prove.world import build_world, row_counts

#: The most fields of one kind spoiled per operation (the first ones in the example).
FIELDS_PER_KIND = int(os.environ.get("PROVE_FIELDS_PER_KIND", "2"))

SQL = "'); DROP TABLE users; --"
SCRIPT = '<script>alert("x")</script>'
NON_ASCII_MONEY = ["１０００.００", "٣٠٠.٠٠"]  # fullwidth, Arabic-Indic
NON_ASCII_INTEGER = "１２"
EXTREME_DATES = {
    "date": ["0001-01-01", "9999-12-31"],
    "date-time": ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"],
}


@dataclass(frozen=True)
class Bad:
    """One spoiled request and what it must get."""

    what: str
    json_body: Any = None
    raw_body: bytes | None = None
    content_type: str | None = None
    query: str | None = None
    path: str | None = None
    headers: dict[str, str] | None = None
    verbatim: tuple[tuple[Any, ...], str] | None = None
    """(field path, value): free text that, when accepted, must come back unchanged."""
    may_accept: bool = False
    """Extreme dates: a 2xx is fine too."""


# --- the schema's view of a field ---------------------------------------------------------


def field_schema(document: dict[str, Any], schema: dict[str, Any], path: tuple[Any, ...]) -> Any:
    """The schema of the value at ``path`` in a body of ``schema`` (None when unknown)."""
    schema = non_null(document, schema)
    for step in path:
        if isinstance(step, int):
            schema = non_null(document, schema.get("items", {}))
        else:
            properties = schema.get("properties", {})
            if step not in properties:
                return None
            schema = non_null(document, properties[step])
    return schema


def non_null(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    schema = resolve_ref(document, schema)
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [resolve_ref(document, s) for s in schema[key] if s.get("type") != "null"]
            if len(options) == 1:
                return options[0]
    return schema


def kind_of(schema: dict[str, Any] | None) -> str | None:
    """``money``, ``integer``, ``date``, ``date-time``, ``text`` (free text), or None."""
    if not schema:
        return None
    if schema.get("type") == "integer":
        return "integer"
    if schema.get("type") != "string" or "enum" in schema or "const" in schema:
        return None
    if schema.get("format") in ("date", "date-time"):
        return str(schema["format"])
    pattern = schema.get("pattern", "")
    if pattern.startswith("^\\d{1,13}"):
        return "money"
    if "format" in schema or pattern:
        return None
    return "text"


def fields_by_kind(
    document: dict[str, Any], schema: dict[str, Any], body: Any
) -> dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]]:
    found: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
    for path, value in walk(body):
        if not path or isinstance(value, dict | list):
            continue
        field = field_schema(document, schema, path)
        kind = kind_of(field)
        if kind and len(found.setdefault(kind, [])) < FIELDS_PER_KIND:
            found[kind].append((path, field))
    return found


# --- the corpus ------------------------------------------------------------------------------


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def body_corpus(
    document: dict[str, Any], operation: Operation, body: Any, max_body: int
) -> Iterator[Bad]:
    media = operation.body_media()
    assert media is not None
    content_type, schema = media
    if content_type != "application/json":
        yield Bad("a JSON body where a form is expected", json_body=body)
        return
    text_body = json.dumps(body, ensure_ascii=False)
    yield Bad(
        "wrong Content-Type: text/plain", raw_body=text_body.encode(), content_type="text/plain"
    )
    yield Bad(
        "wrong Content-Type: a form",
        raw_body=b"a=1",
        content_type="application/x-www-form-urlencoded",
    )
    yield Bad("a body that is not JSON", raw_body=b"{not json", content_type="application/json")
    yield Bad(
        "an oversized body",
        raw_body=b'{"x": "' + b"a" * (max_body + 1) + b'"}',
        content_type="application/json",
    )
    yield Bad("deep nesting", raw_body=nested(100_000).encode(), content_type="application/json")
    if isinstance(body, dict) and body:
        first, value = next(iter(body.items()))
        duplicate = json.dumps({first: value}, ensure_ascii=False)[:-1] + ", " + text_body[1:]
        yield Bad(
            f"a duplicate key ({first})",
            raw_body=duplicate.encode(),
            content_type="application/json",
        )
        yield Bad(
            f"deep nesting inside a field ({first})",
            raw_body=(text_body[:-1] + ', "zz_deep": ' + nested(50_000) + "}").encode(),
            content_type="application/json",
        )

    for kind, fields in fields_by_kind(document, schema, body).items():
        for path, field in fields:
            name = ".".join(map(str, path))

            def spoil(value: Any, path: tuple[Any, ...] = path) -> Any:
                return replaced(body, path, value)

            if kind == "text":
                yield Bad(f"NUL byte in {name}", json_body=spoil("a\x00b"))
                yield Bad(
                    f"lone surrogate in {name}",
                    raw_body=json.dumps(spoil("a\ud800b")).encode(),  # ensure_ascii: \ud800
                    content_type="application/json",
                )
                for payload in (SQL, SCRIPT):
                    if len(payload) <= field.get("maxLength", 10_000) and len(payload) >= field.get(
                        "minLength", 0
                    ):
                        yield Bad(
                            f"{payload!r} in {name}",
                            json_body=spoil(payload),
                            verbatim=(path, payload),
                        )
            if kind == "money":
                yield Bad(f"a float for money in {name}", json_body=spoil(1000.5))
                yield Bad(f"a huge amount in {name}", json_body=spoil("9" * 40))
                for digits in NON_ASCII_MONEY:
                    yield Bad(f"non-ASCII digits {digits!r} in {name}", json_body=spoil(digits))
            if kind == "integer":
                yield Bad(f"a huge integer in {name}", json_body=spoil(10**40))
                yield Bad(f"a float in {name}", json_body=spoil(1.5))
                yield Bad(
                    f"non-ASCII digits {NON_ASCII_INTEGER!r} in {name}",
                    json_body=spoil(NON_ASCII_INTEGER),
                )
            if kind in ("date", "date-time"):
                yield Bad(f"a number for a date in {name}", json_body=spoil(1_700_000_000))
                yield Bad(f"a numeric string for a date in {name}", json_body=spoil("1700000000"))
                for extreme in EXTREME_DATES[kind]:
                    yield Bad(f"{extreme} in {name}", json_body=spoil(extreme), may_accept=True)


def parameter_corpus(
    document: dict[str, Any], operation: Operation, path: str, body: Any
) -> Iterator[Bad]:
    parameters = (operation.schema or {}).get("parameters", [])
    for parameter in parameters:
        if parameter["in"] == "path":
            kind = "uuid"
            name = parameter["name"]
            real = path.split("/")
            template = operation.path.split("/")
            index = template.index("{" + name + "}")
            for value, what in (
                ("%00", "NUL"),
                ("%ED%A0%80", "a lone surrogate (UTF-8)"),
                ("%FF", "invalid UTF-8"),
                ("9" * 40, "a huge integer"),
                (quote("１２"), "non-ASCII digits"),
            ):
                spoilt = "/".join(value if i == index else part for i, part in enumerate(real))
                yield Bad(f"{what} as path parameter {name}", path=spoilt)
            continue
        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key":
            for value, what in (("k" * 256, "too long"), ("a key", "with a space")):
                yield Bad(
                    f"an Idempotency-Key {what}",
                    headers={"Idempotency-Key": value},
                    json_body=body,
                )
            continue
        if parameter["in"] != "query":
            continue
        name = parameter["name"]
        schema = non_null(document, parameter.get("schema", {}))
        kind = kind_of(schema) or schema.get("format") or schema.get("type")
        values: list[tuple[str, str, bool]] = [
            ("%00", "NUL", False),
            ("%ED%A0%80", "a lone surrogate (UTF-8)", False),
            ("%FF", "invalid UTF-8", False),
        ]
        if kind == "integer":
            values += [
                ("9" * 40, "a huge integer", False),
                (quote("１２"), "non-ASCII digits", False),
                ("1.5", "a float", False),
            ]
        if kind == "money":
            values += [("9" * 40, "a huge amount", False)]
            values += [(quote(v), f"non-ASCII digits {v!r}", False) for v in NON_ASCII_MONEY]
        if kind in ("date", "date-time"):
            values += [
                ("1700000000", "a number for a date", False),
                ("0.5", "a number for a date", False),
            ]
            values += [(quote(v), v, True) for v in EXTREME_DATES[kind]]
        if kind == "uuid":
            values += [("9" * 40, "a huge integer", False)]
        for value, what, may_accept in values:
            yield Bad(
                f"{what} in query parameter {name}", query=f"{name}={value}", may_accept=may_accept
            )


# --- sending and judging ---------------------------------------------------------------------

#: The class of a bad input, by the words that describe it (failures are grouped by class).
CLASSES = [
    ("duplicate key", "duplicate JSON keys"),
    ("non-ASCII digits", "non-ASCII digits"),
    ("for a date", "numbers for dates"),
    ("surrogate", "lone surrogates"),
    ("invalid UTF-8", "invalid UTF-8"),
    ("NUL", "NUL bytes"),
    ("huge", "huge numbers"),
    ("float", "floats"),
    ("Content-Type", "wrong content type"),
    ("Idempotency-Key", "bad Idempotency-Key"),
    ("form is expected", "wrong content type"),
    ("nesting", "deep nesting"),
    ("oversized", "oversized body"),
    ("not JSON", "not JSON"),
    ("DROP TABLE", "SQL and script strings"),
    ("script", "SQL and script strings"),
]


def class_of(what: str) -> str:
    return next((name for words, name in CLASSES if words in what), "extreme dates")


def caller_for(rows: dict[str, tuple[str, str, dict[str, str]]], operation: Operation) -> str:
    """The first of the callers the matrix lets through."""
    side, _, cells = rows[operation.operation_id]
    for name in ("admin", "operator", "ent", "uni", "key+", "anon"):
        if cells.get(name) == "ok":
            return name
    return "admin"


async def send(
    client: AsyncClient,
    operation: Operation,
    path: str,
    headers: dict[str, str],
    bad: Bad,
    body: Any,
) -> Response:
    sent = dict(headers)
    if operation.method != "GET":
        sent["Idempotency-Key"] = str(uuid.uuid4())
    sent.update(bad.headers or {})
    url = bad.path or path
    query = "&".join(
        [
            *(
                f"{k}={quote(v)}"
                for k, v in operation.required_query().items()
                if not (bad.query or "").startswith(k + "=")
            ),
            *([bad.query] if bad.query else []),
        ]
    )
    if query:
        url = f"{url}?{query}"
    if bad.raw_body is not None:
        sent["Content-Type"] = bad.content_type or "application/json"
        return await client.request(operation.method, url, headers=sent, content=bad.raw_body)
    if bad.json_body is not None:
        return await client.request(operation.method, url, headers=sent, json=bad.json_body)
    media = operation.body_media()
    if media is None:
        return await client.request(operation.method, url, headers=sent)
    if media[0] == "application/x-www-form-urlencoded":
        return await client.request(operation.method, url, headers=sent, data=body)
    return await client.request(operation.method, url, headers=sent, json=body)


def shown(response: Response, path: tuple[Any, ...]) -> Any:
    if not response.content or "json" not in response.headers.get("content-type", ""):
        return None
    value: Any = response.json()
    for step in path:
        if isinstance(value, dict) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and step < len(value):
            value = value[step]
        else:
            return None
    return value


async def test_no_bad_input_is_accepted_or_written(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    world = await build_world(client, session, settings)
    document = app.openapi()
    rows = parse(MATRIX)
    callers = Caller(world)
    failures: list[tuple[str, str]] = []  # (class, what happened)
    accepted: list[str] = []
    sent = 0
    started = time.perf_counter()
    for operation in all_operations(app):
        if operation.schema is None:
            continue
        takes_input = operation.body_media() or any(
            p["in"] in ("path", "query") for p in operation.schema.get("parameters", [])
        )
        if not takes_input:
            continue
        side, scope, _ = rows[operation.operation_id]
        caller = caller_for(rows, operation)
        headers = await callers.headers(caller, side, scope)
        path = await world.path_of(client, operation, side)
        body = world.body_for(document, operation) if operation.body_media() else None
        corpus = list(parameter_corpus(document, operation, path, body))
        if operation.body_media():
            corpus += list(body_corpus(document, operation, body, settings.max_body_bytes))
        for bad in corpus:
            before = await row_counts(session)
            response = await send(client, operation, path, headers, bad, body)
            sent += 1
            after = await row_counts(session)
            label = (
                f"{operation.operation_id} ({operation.method} {operation.path}) "
                f"as {caller}, {bad.what}"
            )
            status = response.status_code
            if status >= 500:
                failures.append((class_of(bad.what), f"{label}: {status} {response.text[:300]}"))
                continue
            if status < 400:
                if bad.verbatim is not None:
                    field, value = bad.verbatim
                    echoed = shown(response, field)
                    if echoed is not None and echoed != value:
                        failures.append((class_of(bad.what), f"{label}: stored {echoed!r}"))
                    continue
                if bad.may_accept:
                    accepted.append(f"{label}: {status}")
                    continue
                failures.append((class_of(bad.what), f"{label}: accepted with {status}"))
                continue
            if not response.headers.get("content-type", "").startswith("application/problem+json"):
                failures.append(
                    (
                        class_of(bad.what),
                        f"{label}: {status} is not a problem document: "
                        f"{response.headers.get('content-type')} {response.text[:200]}",
                    )
                )
            written = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
            if written:
                failures.append((class_of(bad.what), f"{label}: {status} but wrote {written}"))
    elapsed = time.perf_counter() - started
    by_class: dict[str, list[str]] = {}
    for name, failure in failures:
        by_class.setdefault(name, []).append(failure)
    summary = "\n".join(
        f"== {name}: {len(found)}\n" + "\n".join(found) for name, found in sorted(by_class.items())
    )
    report = os.environ.get("PROVE_BAD_INPUT_REPORT")
    if report:
        Path(report).write_text(
            f"{sent} requests in {elapsed:.1f} s\n\n{summary}\n\n== extreme dates accepted\n"
            + "\n".join(accepted)
            + "\n"
        )
    assert sent > 500, sent
    assert not failures, f"{len(failures)} of {sent} bad requests mishandled:\n{summary}"
