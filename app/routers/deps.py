"""Typed dependencies every router declares: the unit of work, the database, settings and
principals. The one module that reads ``request.app.state``: handlers receive dependencies.

Which one a handler takes for the database:

- ``SessionDep``: the request's unit of work, committed before the response is sent. The
  default: every endpoint that reads or writes through a service taking a session.
- ``DatabaseDep``: the process's :class:`Database`, for services that open their own short
  transactions (the idempotent money requests, the ledger export's streamed pages).
- ``FastReadDep``: the database and the optional caller in one dependency, for reads on
  the fast read path (``app/core/reads.py``) that the busiest endpoints make outside any
  unit of work (a catalog item's GET): each dependency FastAPI resolves costs more than
  such a read's own Python.

A handler takes one of the three (two would hold two connections), plus principals and
settings as it needs.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security.base import SecurityBase
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import Unauthorized
from app.core.metrics import check_metrics_access
from app.core.openapi import BEARER, OPTIONAL_BEARER
from app.core.pagination import DEFAULT_LIMIT, MAX_LIMIT
from app.core.security import Principal, Scope
from app.services import auth as auth_service
from app.services.catalog import CatalogIndexes

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def get_settings(request: Request) -> Settings:
    return _settings(request)


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def metrics_reader(request: Request, settings: SettingsDep) -> None:
    """Let through only who may read /metrics (INNOSHARE_METRICS_TOKEN)."""
    check_metrics_access(settings, request.headers.get("authorization"))


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work, committed when the endpoint returns: before the response.

    Declared with ``scope="function"`` so the commit runs before FastAPI sends anything; a
    failed commit is an error response, never a 2xx.
    """
    async with _database(request).unit_of_work(write=request.method not in SAFE_METHODS) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_database(request: Request) -> Database:
    """The process's database: for work that opens its own transactions or uses the fast
    read path (``db.reads``)."""
    return _database(request)


DatabaseDep = Annotated[Database, Depends(get_database)]


async def get_search_index(request: Request) -> CatalogIndexes:
    """This process's search index of the catalogs (built at start-up, kept in step)."""
    indexes: CatalogIndexes = request.app.state.search_index
    return indexes


SearchIndexDep = Annotated[CatalogIndexes, Depends(get_search_index)]


_BEARER_MODEL = HTTPBearerModel(
    description="An access token from /v1/auth/token, or an API key (isk_…)."
)


class BearerPrincipal(SecurityBase):
    """The caller named by ``Authorization: Bearer …``, or None: the HTTPBearer scheme,
    declared optional (``security: [{}, {"HTTPBearer": []}]``, app/core/openapi.py).

    One dependency where FastAPI's own ``HTTPBearer`` would take three more (the scheme, the
    database, the settings), each of which costs more to resolve than an anonymous caller's
    whole check: every read of the API resolves it.
    """

    def __init__(self) -> None:
        self.model = _BEARER_MODEL
        self.scheme_name = OPTIONAL_BEARER

    async def __call__(self, request: Request) -> Principal | None:
        """The caller, or None when no credential is sent; a malformed one is a 401.

        Authentication happens before the endpoint's session connects, outside it (see
        ``auth.authenticate``): an API key's use is recorded whatever the request then does,
        and anonymous requests touch no database for it.
        """
        authorization = request.headers.get("authorization")
        if not authorization:
            return None
        scheme, _, bearer = authorization.partition(" ")
        bearer = bearer.strip()
        if scheme.lower() != "bearer" or not bearer:
            raise Unauthorized(
                "Send credentials as 'Authorization: Bearer <token>'.", code="invalid_authorization"
            )
        return await auth_service.authenticate(
            _database(request), bearer=bearer, settings=_settings(request)
        )


get_optional_principal = BearerPrincipal()

OptionalPrincipal = Annotated[Principal | None, Depends(get_optional_principal)]


class RequiredPrincipal(SecurityBase):
    """The caller, who must have sent credentials: the HTTPBearer scheme, declared required.
    Built on the optional one (resolved once per request, whichever an endpoint takes)."""

    def __init__(self) -> None:
        self.model = _BEARER_MODEL
        self.scheme_name = BEARER

    async def __call__(self, principal: OptionalPrincipal) -> Principal:
        if principal is None:
            raise Unauthorized()
        return principal


get_principal = RequiredPrincipal()

CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True, slots=True)
class FastRead:
    """What a read on the fast read path needs: the database and who reads (None when
    anonymous)."""

    db: Database
    principal: Principal | None


class BearerFastRead(BearerPrincipal):
    """The bearer principal and the database, resolved as one dependency."""

    async def __call__(self, request: Request) -> FastRead:  # type: ignore[override]
        return FastRead(_database(request), await super().__call__(request))


FastReadDep = Annotated[FastRead, Depends(BearerFastRead())]


class RequireScope:
    """``Depends(RequireScope(Scope.ledger_read))``: a principal holding that scope."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        principal.require_scope(self.scope)
        return principal


async def client_address(request: Request, settings: SettingsDep) -> str:
    """The caller's address; the first X-Forwarded-For hop only behind a trusted proxy."""
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first[:100]
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(client_address)]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1–{MAX_LIMIT}.")]
Cursor = Annotated[
    str | None,
    Query(max_length=1000, description="The next_cursor of the previous page."),
]
DEFAULT_PAGE_SIZE = DEFAULT_LIMIT
