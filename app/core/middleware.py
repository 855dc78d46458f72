"""ASGI middleware: request context (id, access log, metrics, last-resort 500 or, for a
database outage, 503), input guards
(body size, NUL bytes in the URL) and conditional GETs (ETag / 304)."""

import hashlib
import json
import logging
import re
import time
from random import getrandbits
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import (
    FieldError,
    RefusedWhileReading,
    UnsupportedMediaType,
    ValidationFailed,
    database_outages,
    is_database_outage,
    outage_response,
    problem_response,
)
from app.core.logging import request_id_var
from app.core.metrics import database_time, observe_request

access_logger = logging.getLogger("innoshare.access")
error_logger = logging.getLogger("innoshare.errors")

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header (``name`` in lower case, as servers pass them)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _new_request_id() -> str:
    # 128 random bits as 32 hex digits, like uuid4().hex without its system call per request
    # (the random module is seeded from the OS, again in every forked worker).
    return f"{getrandbits(128):032x}"


_CONTEXT_HEADERS = (b"x-request-id", b"server-timing")


class RequestContextMiddleware:
    """Outermost layer: names the request, logs and measures it, and turns any unhandled
    exception into a problem document carrying the request id (never a trace)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        supplied = _header(scope, b"x-request-id")
        if supplied is not None and _VALID_REQUEST_ID.match(supplied):
            request_id = supplied
        else:
            request_id = _new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        spent_in_database = [0.0]
        database_token = database_time.set(spent_in_database)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                # Time spent in the app until the response starts (RFC-less but widely read:
                # browsers' devtools and the benchmarks use it).
                elapsed_ms = (time.perf_counter() - started) * 1000
                database_ms = spent_in_database[0] * 1000
                timing = f"app;dur={elapsed_ms:.2f}, db;dur={database_ms:.2f}"
                message["headers"] = [
                    *(
                        item
                        for item in message.get("headers", ())
                        if item[0] not in _CONTEXT_HEADERS
                    ),
                    (b"x-request-id", request_id.encode("latin-1")),
                    (b"server-timing", timing.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if is_database_outage(error):  # raised outside the routes (a middleware's read)
                status = 503
                if not response_started:
                    where = f"{scope['method']} {scope['path']}"
                    response = outage_response(error, where=where, request_id=request_id)
                    response.headers[REQUEST_ID_HEADER] = request_id
                    await response(scope, receive, send)
                else:
                    database_outages.failed(error, where=scope["path"])
                return
            error_logger.exception("unhandled error on %s %s", scope["method"], scope["path"])
            status = 500
            if not response_started:
                response = problem_response(
                    status=500,
                    code="internal_error",
                    detail="An unexpected error occurred; quote the request id when reporting it.",
                    request_id=request_id,
                    headers={REQUEST_ID_HEADER: request_id},
                )
                await response(scope, receive, send)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            observe_request(method=scope["method"], route=route, status=status, seconds=elapsed)
            if access_logger.isEnabledFor(logging.INFO):
                access_logger.info(
                    "%s %s %s",
                    scope["method"],
                    route,
                    status,
                    extra={
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "duration_ms": round(elapsed * 1000, 2),
                    },
                )
            request_id_var.reset(token)
            database_time.reset(database_token)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS handling, with a refused preflight rendered as a problem document."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        detail = bytes(response.body).decode() or "CORS preflight refused."
        return problem_response(
            status=response.status_code,
            code="cors_rejected",
            detail=f"{detail}.",
            headers={
                k: v
                for k, v in response.headers.items()
                if k.lower() != "content-length" and k.lower() != "content-type"
            },
        )


#: The longest URL (path and query) served: a list's filters, q and cursor (at most 1,000
#: characters) fit many times over; the server bounds the whole request head above it.
MAX_URL_BYTES = 8 * 1024


def _unreadable_url(raw_url: bytes, path: str) -> tuple[str, FieldError] | None:
    """Why the URL's text cannot be taken as text, if it cannot: a NUL character (PostgreSQL
    text cannot hold one), or bytes that are not UTF-8 once percent-decoded (``%FF``, or a
    lone surrogate ``%ED%A0%80``), which would otherwise be read as U+FFFD and searched for."""
    if b"\x00" in raw_url or b"%00" in raw_url or "\x00" in path:
        return "The URL contains a NUL character.", FieldError(
            loc=["url"], message="NUL characters are not allowed", type="nul_character"
        )
    try:
        unquote_to_bytes(raw_url).decode("utf-8")
    except UnicodeDecodeError:
        return "The URL is not UTF-8 once percent-decoded.", FieldError(
            loc=["url"], message="percent-encoded bytes must be UTF-8", type="invalid_utf8"
        )
    return None


class InputGuardMiddleware:
    """Reject what no endpoint may receive, before any endpoint runs: URLs over MAX_URL_BYTES
    (414), bodies over the limit (413) and a path or query that is not text (422: a NUL, or
    bytes that are not UTF-8); and, once the route is known, a body not of the media type its
    route reads (415: JSON is ``application/json`` in UTF-8, the sign-in form its form type)
    and a JSON object naming a key twice (422: a parser keeps the last, a person reading the
    body sees the first)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = scope.get("state", {}).get("request_id")
        raw_url = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if len(raw_url) > MAX_URL_BYTES:
            response = problem_response(
                status=414,
                code="uri_too_long",
                detail=f"The URL is longer than {MAX_URL_BYTES} bytes.",
                request_id=request_id,
            )
            await response(scope, receive, send)
            return
        unreadable = _unreadable_url(raw_url, scope["path"])
        if unreadable is not None:
            detail, error = unreadable
            response = problem_response(
                status=422,
                code="validation_error",
                detail=detail,
                errors=[error],
                request_id=request_id,
            )
            await response(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if (
            declared is not None
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > self.max_body_bytes
        ):
            await self._too_large(scope, receive, send, request_id)
            return

        received = 0
        limit = self.max_body_bytes
        sent_body = (declared is not None and declared != "0") or (
            _header(scope, b"transfer-encoding") is not None
        )
        checked = not sent_body  # the body's media type, against its route's
        json_chunks: list[bytes] | None = None

        def check_media_type() -> None:
            nonlocal checked, json_chunks
            checked = True
            if _route_media_type(scope) == JSON_MEDIA_TYPE:
                json_chunks = []

        async def receive_limited() -> Message:
            nonlocal received, json_chunks
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                received += len(chunk)
                if received > limit:
                    # An HTTPException passes FastAPI's body parsing unchanged.
                    raise StarletteHTTPException(413, detail=_too_large_detail(limit))
                if not checked:  # the endpoint reads its body: the route is known now
                    check_media_type()
                if json_chunks is not None:
                    json_chunks.append(chunk)
                    if not message.get("more_body", False):
                        body, json_chunks = b"".join(json_chunks), None
                        _refuse_duplicate_keys(body)
            return message

        if checked:
            await self.app(scope, receive_limited, send)
            return
        refused = False

        async def send_checked(message: Message) -> None:
            # A route that never read the body it was sent (Starlette reads a form only when
            # the body says it is one) answered without it: say what was wrong instead.
            nonlocal refused
            if refused:
                return
            if message["type"] == "http.response.start" and not checked:
                try:
                    check_media_type()
                except RefusedWhileReading as refusal:
                    refused = True
                    error = refusal.error
                    response = problem_response(
                        status=error.status,
                        code=error.code,
                        detail=error.detail,
                        request_id=request_id,
                    )
                    await response(scope, receive, send)
                    return
            await send(message)

        await self.app(scope, receive_limited, send_checked)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, request_id: Any) -> None:
        response = problem_response(
            status=413,
            code="content_too_large",
            detail=_too_large_detail(self.max_body_bytes),
            request_id=request_id,
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _too_large_detail(limit: int) -> str:
    return f"The request body is larger than {limit} bytes."


JSON_MEDIA_TYPE = "application/json"
_UTF8 = frozenset({"utf-8", "utf8"})


def _route_media_type(scope: Scope) -> str | None:
    """The media type the matched route reads its body as (its body parameter's: JSON, or the
    sign-in form), once the request's Content-Type is found to be that, in UTF-8; None for a
    route that reads no body."""
    body_field = getattr(scope.get("route"), "body_field", None)
    if body_field is None:
        return None
    expected = str(getattr(body_field.field_info, "media_type", JSON_MEDIA_TYPE))
    declared = _header(scope, b"content-type")
    media_type, _, parameters = (declared or "").partition(";")
    charsets = [
        value.strip().strip('"').lower()
        for name, _, value in (p.partition("=") for p in parameters.split(";"))
        if name.strip().lower() == "charset"
    ]
    if media_type.strip().lower() != expected or any(c not in _UTF8 for c in charsets):
        raise RefusedWhileReading(
            UnsupportedMediaType(
                f"This endpoint reads {expected} in UTF-8; the request's Content-Type is"
                f" {declared or 'missing'}."
            )
        )
    return expected


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refused when it names a key twice."""
    value = dict(pairs)
    if len(value) == len(pairs):
        return value
    names = [name for name, _ in pairs]
    twice = next(name for index, name in enumerate(names) if name in names[:index])
    raise RefusedWhileReading(
        ValidationFailed(
            f"The JSON body names {twice!r} more than once in one object.",
            errors=[FieldError(loc=["body", twice], message="duplicate key", type="duplicate_key")],
        )
    )


def _refuse_duplicate_keys(body: bytes) -> None:
    """Refuse a JSON body that is not UTF-8 (415) or has an object naming a key twice (422);
    anything else that does not parse is left to the endpoint's own JSON error."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RefusedWhileReading(
            UnsupportedMediaType("A JSON body must be encoded in UTF-8.")
        ) from None
    try:
        json.loads(text, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        return


class ConditionalGetMiddleware:
    """ETag on every successful GET, 304 Not Modified when If-None-Match matches, and HEAD
    answered as the GET it stands for, without the body (routes declare GET only).

    Routes that know their version set their own ETag: their response is answered at its
    start, passed through or turned into a 304, never held back. Otherwise a weak ETag is
    derived from the body (weak, because gzip may re-encode the bytes on the way out), which
    needs the whole body first. Streamed responses without an ETag pass through untouched.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            await self._head(scope, receive, send)
            return
        if_none_match = _header(scope, b"if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []
        passthrough = False
        answered = False

        async def conditional_send(message: Message) -> None:
            nonlocal start, passthrough, answered
            if passthrough:
                await send(message)
                return
            if answered:
                return  # the body of a response already answered with 304
            if message["type"] == "http.response.start":
                etag = _response_header(message, b"etag") if message["status"] == 200 else None
                if message["status"] == 200 and etag is None:
                    start = message  # held back until the body gives its ETag
                elif (
                    etag is not None
                    and if_none_match is not None
                    and etag_matches(if_none_match, etag)
                ):
                    answered = True
                    await _send_not_modified(message, send)
                else:
                    passthrough = True
                    await send(message)
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False) and len(chunks) == 1:
                # A stream: do not hold it back to hash it.
                passthrough = True
                await send(start)
                await send(message)
                return
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            etag = 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'
            start["headers"] = [*start.get("headers", ()), (b"etag", etag.encode("latin-1"))]
            if if_none_match is not None and etag_matches(if_none_match, etag):
                await _send_not_modified(start, send)
                return
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, conditional_send)

    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The server below still sees HEAD (it sends no body either); the app sees a GET.
        as_get = {**scope, "method": "GET"}

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": b""}
            await send(message)

        try:
            await self(as_get, receive, headers_only)
        finally:
            if "route" in as_get:  # for the access log and metrics
                scope["route"] = as_get["route"]


_ENTITY_HEADERS = frozenset({b"content-length", b"content-type", b"content-encoding"})


def _response_header(start: Message, name: bytes) -> str | None:
    for key, value in start.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


async def _send_not_modified(start: Message, send: Send) -> None:
    """A 304 carrying the response's headers except those describing its body."""
    headers = [
        (key.lower(), value)
        for key, value in start.get("headers", ())
        if key.lower() not in _ENTITY_HEADERS
    ]
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def etag_matches(header: str, etag: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2) of an If-None-Match list against one ETag."""
    if header.strip() == "*":
        return True
    return any(_opaque(candidate) == _opaque(etag) for candidate in header.split(","))
