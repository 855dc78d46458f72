"""Domain errors and their RFC 9457 ``application/problem+json`` rendering."""

import errno
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from asyncpg import InterfaceError as DriverInterfaceError  # type: ignore[import-untyped]
from asyncpg import PostgresError
from asyncpg.exceptions import ConnectionDoesNotExistError  # type: ignore[import-untyped]
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, JsonValue
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

logger = logging.getLogger("innoshare.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_PREFIX = "urn:innoshare:problem:"


#: Every ``code`` a problem document can carry: the stable part of an error, for programs to
#: branch on (the ``Problem`` schema's enum). A new code is added here in the change that
#: first raises it; tests/test_openapi.py fails on a code raised in ``app/`` but missing here.
PROBLEM_CODES = frozenset(
    """
    account_disabled already_invited already_reversed api_key_expired api_key_rate_limited
    bad_entry bad_request batch_too_large buyer_not_enterprise buyer_required concurrent_update
    conflict content_too_large cors_rejected credit_code_taken database_unavailable
    deadline_not_later deadline_passed deal_not_settled deal_subject_required
    demand_not_editable email_taken empty_period empty_query entry_is_reversal
    entry_not_reversible expiry_in_past external_id_taken forbidden forbidden_field
    forbidden_role gross_is_not_the_price idempotency_key_in_flight idempotency_key_invalid
    idempotency_key_required idempotency_key_reused illegal_transition import_conflict
    import_rejected insufficient_funds internal_error invalid_api_key invalid_authorization
    invalid_credentials invalid_credit_code invalid_cursor invalid_item invalid_refresh_token
    invalid_token
    ip_number_taken item_withdrawn match_type_not_fitting member_without_org method_not_allowed
    migrations_pending milestones_do_not_add_up missing_scope no_organization no_webhook_target
    non_technical_costs_above_amount not_a_party not_acceptable not_author not_found not_member
    not_owner not_proposer not_ready not_your_org organization_required own_account own_demand
    owner_required precondition_failed price_above_budget proposal_exists proposals_sealed
    rate_limited receipt_number_taken refresh_token_expired refresh_token_reused
    registered_before_signing registered_in_future registration_number_taken relevance_without_q
    review_exists review_locked revision_limit_reached scope_not_grantable self_deal
    self_invitation signed_in_future solution_not_allowed solution_required staff_only
    stale_etag sub_kind_not_in_category sub_kind_required subscription_disabled token_expired
    too_many_sign_in_failures too_many_subscriptions unauthorized unbalanced_entry
    unknown_milestone unknown_organization unknown_technology unsupported_media_type
    validation_error webhook_target_refused wrong_owner_kind
    not_implemented request_header_fields_too_large uri_too_long
    """.split()
)


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Path of the offending input, e.g. ['body', 'name'].")
    message: str
    type: str = Field(description="Machine-readable kind of the failure, e.g. 'missing'.")


class Problem(BaseModel):
    """An RFC 9457 problem document; ``code`` is stable and meant for programs."""

    type: str = Field(examples=["urn:innoshare:problem:not_found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["Organization 0b7c… does not exist."])
    code: str = Field(
        examples=["not_found"],
        description="Stable, for programs to branch on; one of a fixed list (new ones come"
        " with new features: treat an unknown code by its status).",
        json_schema_extra={"enum": list[JsonValue](sorted(PROBLEM_CODES))},
    )
    request_id: str | None = None
    errors: list[FieldError] | None = None


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_MEDIA_TYPE


class AppError(Exception):
    """Base of every error a service raises; rendered as a problem document."""

    status: int = 400
    code: str = "bad_request"
    title: str = "Bad Request"
    #: Commit the unit of work before the error propagates (it records the failure itself).
    keep_writes: bool = False
    #: Extension members of the problem document (RFC 9457 §3.2), JSON-ready.
    extra: dict[str, Any] | None = None

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})


class BadRequest(AppError):
    status = 400
    code = "bad_request"
    title = "Bad Request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"

    def __init__(self, detail: str = "Authentication required.", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kwargs)


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    code = "not_found"
    title = "Not Found"


class Conflict(AppError):
    status = 409
    code = "conflict"
    title = "Conflict"


class IllegalTransition(Conflict):
    """A state change the object's status does not allow (a settled deal funded again, a
    withdrawn technology published, a closed demand extended): one code in every domain."""

    code = "illegal_transition"


class PreconditionFailed(AppError):
    status = 412
    code = "precondition_failed"
    title = "Precondition Failed"


class ContentTooLarge(AppError):
    status = 413
    code = "content_too_large"
    title = "Content Too Large"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"
    title = "Unprocessable Content"


class RefusedWhileReading(StarletteHTTPException):
    """An :class:`AppError` found by a guard while the endpoint reads its body (FastAPI's body
    parsing lets only HTTP exceptions through); rendered as that error."""

    def __init__(self, error: AppError) -> None:
        super().__init__(error.status, detail=error.detail)
        self.error = error


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    title = "Too Many Requests"

    def __init__(self, detail: str, *, retry_after: int, **kwargs: Any) -> None:
        self.retry_after = max(1, retry_after)
        kwargs.setdefault("headers", {"Retry-After": str(self.retry_after)})
        super().__init__(detail, **kwargs)


class DatabaseUnavailable(AppError):
    """The database cannot be reached (or, on SQLite, stayed locked past the busy timeout):
    an outage, not a bug. The request changed nothing that was acknowledged; retry it (a money
    request with the same Idempotency-Key) after ``Retry-After`` seconds."""

    status = 503
    code = "database_unavailable"
    title = "Service Unavailable"

    def __init__(
        self, detail: str = "The database is not reachable; retry shortly.", **kwargs: Any
    ) -> None:
        kwargs.setdefault("headers", {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)})
        super().__init__(detail, **kwargs)


#: What a 503 for an outage tells a client to wait: a PostgreSQL restart or fail-over takes
#: seconds, and an answer during the outage costs a refused connection, nothing more.
OUTAGE_RETRY_AFTER_SECONDS = 2

# SQLSTATEs that mean the server or the connection is gone, not that the statement is wrong:
# class 08 (connection exception), admin/crash shutdown and "cannot connect now" (starting up,
# shutting down, in recovery), too many connections.
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03", "53300"})
# A socket that could not reach the server (raw, from the driver's connect).
_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.EHOSTDOWN,
    }
)


def _is_outage_cause(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, (PoolTimeout, DisconnectionError)):
        return True  # no pooled connection came free in time: overloaded or stalled
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str) and (sqlstate.startswith("08") or sqlstate in _OUTAGE_SQLSTATES):
        return True
    if isinstance(error, DriverInterfaceError) and "connection is closed" in str(error):
        return True
    # SQLite: the database stayed locked for the whole busy timeout (a long writer, a backup).
    if getattr(error, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
        return True
    if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    return isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS


def is_database_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database cannot be reached now (refused, dropped, shutting
    down, starting up, out of connections, the pool exhausted, SQLite busy), rather than that
    the code or the request is wrong (a ProgrammingError, an IntegrityError: those stay 500 or
    their domain error). Looks through SQLAlchemy's wrapper and the exceptions it was raised
    from."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        cause = pending.pop()
        if id(cause) in seen:
            continue
        seen.add(id(cause))
        if _is_outage_cause(cause):
            return True
        orig = getattr(cause, "orig", None)  # SQLAlchemy's wrapper: the driver's error
        if isinstance(orig, BaseException):
            pending.append(orig)
        chained = cause.__cause__ or (None if cause.__suppress_context__ else cause.__context__)
        if chained is not None:
            pending.append(chained)
    return False


def connection_lost(error: Exception) -> Exception:
    """What to raise from ``error``, raised by a driver whose connection turned out closed:
    the connection lost (an outage). asyncpg reports a statement on a connection the server has
    just dropped as an ``InternalClientError`` ("cannot switch to state 12; another operation
    is in progress") when the close races the statement."""
    lost: Exception = ConnectionDoesNotExistError(
        f"the connection closed under the statement: {type(error).__name__}: {error}"
    )
    return lost


class OutageLog:
    """One warning per ``interval`` while the database is unreachable, with how many failures
    it stands for, and one line when it answers again: an outage is news once, not a
    traceback per request (30 s of one logged 3,219)."""

    def __init__(self, logger: logging.Logger, *, interval: float = 10.0) -> None:
        self.logger = logger
        self.interval = interval
        self._lock = threading.Lock()
        self._since: float | None = None  # the first failure of the current outage
        self._last_report = 0.0
        self._unreported = 0
        self._total = 0

    @property
    def active(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException, *, where: str) -> None:
        """Count a failure for the outage, logging it if the last line is ``interval`` old."""
        now = time.monotonic()
        with self._lock:
            if self._since is None:
                self._since = now
                self._last_report = -self.interval
                self._total = 0
            self._total += 1
            self._unreported += 1
            if now - self._last_report < self.interval:
                return
            suppressed, self._unreported = self._unreported - 1, 0
            self._last_report = now
            seconds = now - self._since
        self.logger.warning(
            "database unavailable (%s): %s: %s; %d more failures since the last line,"
            " %.0f s into the outage",
            where,
            type(error).__name__,
            _first_line(error),
            suppressed,
            seconds,
            extra={"outage_failures": self._total, "suppressed": suppressed},
        )

    def recovered(self) -> None:
        """The database answered: close the outage (a no-op outside one)."""
        if self._since is None:
            return
        with self._lock:
            if self._since is None:
                return
            seconds, total = time.monotonic() - self._since, self._total
            self._since, self._unreported = None, 0
        self.logger.warning(
            "database reachable again after %.1f s; %d failures during the outage",
            seconds,
            total,
        )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:200] if text else ""


#: The process's record of database outages (requests and the webhook worker alike).
database_outages = OutageLog(logger)


def problem_response(
    *,
    status: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: Iterable[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
    request_id: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_PREFIX + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if request_id:
        body["request_id"] = request_id
    if errors is not None:
        body["errors"] = [error.model_dump() for error in errors]
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


async def _handle_app_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, AppError)
    return problem_response(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=exc.headers,
        request_id=_request_id(request),
        extra=exc.extra,
    )


def _field_errors(raw: Sequence[Any]) -> list[FieldError]:
    errors = []
    for item in jsonable_encoder(raw):
        loc = [part if isinstance(part, int) else str(part) for part in item.get("loc", [])]
        errors.append(FieldError(loc=loc, message=item.get("msg", ""), type=item.get("type", "")))
    return errors


async def _handle_validation_error(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _field_errors(exc.errors())
    fields = ", ".join(".".join(str(p) for p in e.loc) for e in errors[:5])
    return problem_response(
        status=422,
        code="validation_error",
        title="Unprocessable Content",
        detail=f"The request is not valid: {fields}." if fields else "The request is not valid.",
        errors=errors,
        request_id=_request_id(request),
    )


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "content_too_large",
    414: "uri_too_long",
    415: "unsupported_media_type",
}


async def _handle_http_exception(request: Request, exc: Exception) -> ProblemResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, RefusedWhileReading):
        return await _handle_app_error(request, exc.error)
    status = exc.status_code
    code = _HTTP_CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_"))
    if status == 404:
        detail = f"No resource at {request.url.path}."
    elif status == 405:
        detail = f"{request.method} is not allowed on {request.url.path}."
        headers = {**(exc.headers or {}), "Allow": _allowed_methods(request)}
        return problem_response(
            status=405, code=code, detail=detail, headers=headers, request_id=_request_id(request)
        )
    else:
        detail = str(exc.detail) if exc.detail else HTTPStatus(status).description
    return problem_response(
        status=status,
        code=code,
        detail=detail,
        headers=exc.headers,
        request_id=_request_id(request),
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _allowed_methods(request: Request) -> str:
    """Every method some route accepts at this path (Starlette names only the first route's)."""
    allowed = []
    for method in _METHODS:
        probe = {
            "type": "http",
            "path": request.scope["path"],
            "root_path": request.scope.get("root_path", ""),
            "method": method,
        }
        if any(route.matches(probe)[0] is Match.FULL for route in request.app.routes):
            allowed.append(method)
    if "GET" in allowed and "HEAD" not in allowed:  # middleware answers HEAD as a GET
        allowed.insert(allowed.index("GET") + 1, "HEAD")
    return ", ".join(allowed)


def outage_response(error: BaseException, *, where: str, request_id: str | None) -> ProblemResponse:
    """The 503 for a request the database outage ``error`` failed, counted in the outage log."""
    database_outages.failed(error, where=where)
    unavailable = DatabaseUnavailable()
    return problem_response(
        status=unavailable.status,
        code=unavailable.code,
        title=unavailable.title,
        detail=unavailable.detail,
        headers=unavailable.headers,
        request_id=request_id,
    )


#: Where an outage can surface: SQLAlchemy's errors, the drivers' own (the fast read path
#: and driver SQL use them directly), and the socket's when a connection cannot be opened.
_DATABASE_ERRORS = (
    DBAPIError,
    PoolTimeout,
    DisconnectionError,
    PostgresError,
    DriverInterfaceError,
    sqlite3.Error,
    OSError,
)


async def _handle_database_error(request: Request, exc: Exception) -> ProblemResponse:
    if not is_database_outage(exc):
        raise exc  # a bug: the request context's last resort logs it and answers 500
    where = f"{request.method} {request.url.path}"
    return outage_response(exc, where=where, request_id=_request_id(request))


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _handle_app_error)
    for kind in _DATABASE_ERRORS:
        app.add_exception_handler(kind, _handle_database_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)


# --- OpenAPI documentation of errors -------------------------------------------------------

_EXAMPLE_CODES = {
    400: ("bad_request", "The request cannot be processed as sent."),
    401: ("unauthorized", "Authentication required."),
    403: ("forbidden", "This principal may not do that."),
    404: ("not_found", "Organization 5f0c6a4e-… does not exist."),
    409: ("conflict", "The resource changed or already exists."),
    412: ("precondition_failed", "If-Match does not match the current ETag."),
    413: ("content_too_large", "The request body is larger than 4194304 bytes."),
    422: ("validation_error", "The request is not valid: body.name."),
    429: ("rate_limited", "Too many failed sign-ins; retry later."),
    503: ("database_unavailable", "The database is not reachable."),
}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting problem documents for these statuses."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code, detail = _EXAMPLE_CODES[status]
        documented[status] = {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {
                PROBLEM_MEDIA_TYPE: {
                    "example": {
                        "type": PROBLEM_TYPE_PREFIX + code,
                        "title": HTTPStatus(status).phrase,
                        "status": status,
                        "detail": detail,
                        "code": code,
                    }
                }
            },
        }
    return documented
