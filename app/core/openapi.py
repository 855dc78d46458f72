"""The OpenAPI document front-end teams build from, and its self-hosted docs pages."""

from collections.abc import Callable
from functools import cache, partial
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from app.core.errors import PROBLEM_MEDIA_TYPE

#: Swagger UI and ReDoc bundles shipped inside a PyPI package: no CDN at run time.
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_URL = "/docs-assets"
#: ReDoc's side menu always shows Redocly's logo from its CDN (no option turns it off): the
#: bundle is served with that address replaced by an empty inline image (`redoc_bundle`).
REDOC_LOGO_URL = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
REDOC_LOGO_INLINE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"
#: The browser may fetch nothing but this origin: the platform runs on networks where another
#: host would hang or leak, and a page that tries anyway logs the refusal as an error.
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ]
)

#: Each tag's description, in the order the docs list them.
TAG_DESCRIPTIONS = {
    "auth": "Sign in, rotate tokens, and see who you are.",
    "users": "People's accounts and roles (admins and operators).",
    "api-keys": "Keys for partner programs, scoped to one organization.",
    "organizations": "Universities, institutes, enterprises, banks, …",
    "talents": "Experts and researchers (人才).",
    "technologies": "Research results offered for transfer (技术成果).",
    "policies": "Support policies, national to district (政策).",
    "ip-assets": "Patents, trademarks, copyrights (知识产权).",
    "financial-products": "Loans, credit, equity, guarantees (金融产品).",
    "demands": "Enterprises' posted needs and challenges (需求, 揭榜挂帅).",
    "proposals": "Providers' sealed answers to demands, and the award.",
    "questions": "Clarifications asked while a demand is open, answered for all.",
    "invitations": "Organizations invited to a demand.",
    "deals": "Contracts paid through escrow.",
    "ledger": "The double-entry ledger, for auditors and operators.",
    "search": "One query across every catalog.",
    "imports": "Partners' bulk upserts by their own ids.",
    "stats": "The platform's headline figures.",
    "operations": "Health, readiness and metrics.",
}
TAGS = [{"name": name, "description": text} for name, text in TAG_DESCRIPTIONS.items()]

DESCRIPTION = """
InnoShare is the API of a regional innovation-resource exchange (协同创新资源开放共享平台):
catalogs of talents, technologies, policies, IP and financial products; enterprise demands
and proposals; deals paid through escrow and recorded in a double-entry ledger.

* Authenticate with `Authorization: Bearer <token>`: an access token from
  `POST /v1/auth/token`, or an API key (`isk_…`).
* Every error is `application/problem+json` with a stable `code`.
* Lists are cursor-paginated: pass `next_cursor` back as `cursor`.
* Money is a decimal string in CNY, never a float.
"""


#: The bearer scheme's name in the document, and the name the optional-credential dependency
#: declares (app/routers/deps.py), rewritten here as "anonymous, or HTTPBearer".
BEARER = "HTTPBearer"
OPTIONAL_BEARER = "HTTPBearer (optional)"

_MALFORMED_CREDENTIALS = {
    "description": "Unauthorized: credentials were sent but are malformed, unknown or expired"
    " (anonymous calls are allowed; send no Authorization header).",
    "content": {
        PROBLEM_MEDIA_TYPE: {
            "schema": {"$ref": "#/components/schemas/Problem"},
            "example": {
                "type": "urn:innoshare:problem:invalid_authorization",
                "title": "Unauthorized",
                "status": 401,
                "detail": "Send credentials as 'Authorization: Bearer <token>'.",
                "code": "invalid_authorization",
            },
        }
    },
}


def _declare_security(schema: dict[str, Any]) -> None:
    """Say which operations need credentials and which merely accept them.

    An operation that takes only the optional principal is declared
    ``security: [{}, {"HTTPBearer": []}]`` (anonymous, or a bearer), and documents the 401
    that credentials it cannot accept get; one that requires a principal keeps
    ``[{"HTTPBearer": []}]``. The optional scheme's own name leaves the document.
    """
    schemes = schema.get("components", {}).get("securitySchemes", {})
    optional_model = schemes.pop(OPTIONAL_BEARER, None)
    if optional_model is not None:
        schemes.setdefault(BEARER, optional_model)
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            names = {name for requirement in operation.get("security", []) for name in requirement}
            if BEARER in names:
                operation["security"] = [{BEARER: []}]
            elif OPTIONAL_BEARER in names:
                operation["security"] = [{}, {BEARER: []}]
                operation["responses"].setdefault("401", _MALFORMED_CREDENTIALS)


def operation_id(route: APIRoute) -> str:
    """The endpoint function's name: unique, stable, and readable in generated clients."""
    return route.name


def _problemize(schema: dict[str, Any]) -> None:
    """Document every error response with the problem media type and the Problem schema."""
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            # Any operation: the input guard refuses a URL over MAX_URL_BYTES (a schema-valid
            # query can be longer: lengths count characters, the bound counts bytes).
            operation["responses"].setdefault("414", {"description": "The URL is too long."})
            if "requestBody" in operation:
                # A body that is not even text (bad UTF-8) is refused before validation.
                operation["responses"].setdefault(
                    "400", {"description": "The body could not be parsed."}
                )
                # Refused by the input guard (app/core/middleware.py) before validation.
                operation["responses"].setdefault(
                    "415", {"description": "The body is not of this operation's media type."}
                )
            for status, response in operation.get("responses", {}).items():
                if status[:1] not in ("4", "5"):
                    continue
                content = response.setdefault("content", {})
                problem = content.setdefault(PROBLEM_MEDIA_TYPE, {})
                problem["schema"] = problem_ref
                content.pop("application/json", None)
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


#: Headers the schema declares required although the endpoint reads them as optional: the
#: server still answers a request without one with its own 400 problem (``code`` says which),
#: for clients that do not use the schema, while a typed client cannot compile the call.
REQUIRED_HEADERS = frozenset({"Idempotency-Key"})


def _require_headers(schema: dict[str, Any]) -> None:
    """Mark the REQUIRED_HEADERS parameters required wherever an operation takes them."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "header" and parameter["name"] in REQUIRED_HEADERS:
                    parameter["required"] = True
                    parameter["schema"].pop("anyOf", None)
                    parameter["schema"].pop("default", None)
                    parameter["schema"].update(type="string", pattern=r"^[!-~]{1,255}$")
                    # Sent without it (or malformed), the request is refused.
                    operation["responses"].setdefault(
                        "400", {"description": f"No valid {parameter['name']} header."}
                    )


# --- response headers ----------------------------------------------------------------------

#: Every response header the server sends on purpose, as ``components.headers``.
RESPONSE_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "This request's id (yours if you sent a valid X-Request-ID); quote it"
        " when reporting a problem. On every response.",
        "required": True,
        "schema": {"type": "string"},
    },
    "ETag": {
        "description": "The representation's version; send it back as If-Match (writes) or"
        " If-None-Match (GET, for a 304).",
        "schema": {"type": "string", "examples": ['"3"']},
    },
    "Location": {
        "description": "The URL path of the created resource.",
        "schema": {"type": "string", "examples": ["/v1/deals/5f0c6a4e-…"]},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the"
        " same Idempotency-Key and body (nothing was done again); absent otherwise.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
}


def _header_refs(*names: str) -> dict[str, dict[str, str]]:
    unknown = set(names) - RESPONSE_HEADERS.keys()
    assert not unknown, f"declare {unknown} in RESPONSE_HEADERS"
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def sends_headers(status: int, *names: str) -> dict[int | str, dict[str, Any]]:
    """A ``responses=`` entry: the route's ``status`` response carries these headers (one of
    RESPONSE_HEADERS each) that the route sets itself, e.g. ``sends_headers(201, "Location")``.
    The ones the server sends by rule are declared by :func:`_declare_headers`."""
    return {status: {"headers": _header_refs(*names)}}


#: The 304 of a conditional GET (``ConditionalGetMiddleware``): no body, the ETag again.
NOT_MODIFIED: dict[str, Any] = {
    "description": "Not Modified: If-None-Match names the current ETag; no body (keep the copy"
    " you have).",
}


def _status_order(item: tuple[str, Any]) -> str:
    return item[0] if item[0][:1].isdigit() else "9" + item[0]


#: ``openapi_extra=`` of a GET whose body streams: the conditional-GET middleware passes a
#: stream through untouched (it would have to hold the whole body to hash it), so such a GET
#: carries no derived ETag and never answers 304. The mark stays in the schema for clients.
STREAMED: dict[str, Any] = {"x-streamed": True}


def _declare_headers(schema: dict[str, Any]) -> None:
    """Declare the headers the server sends by rule: X-Request-ID on every response (the
    request-id middleware), Retry-After on every 429, Idempotent-Replayed on money requests'
    successes, and, from the conditional-GET middleware, ETag on every GET 200 that is not
    streamed and the 304 that such a GET answers to a matching If-None-Match."""
    schema.setdefault("components", {})["headers"] = RESPONSE_HEADERS
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.get("responses", {})
            conditional = method == "get" and not operation.get("x-streamed", False)
            if conditional and "200" in responses:
                # after the successes, before the errors, as a reader expects it
                operation["responses"] = responses = dict(
                    sorted({**responses, "304": dict(NOT_MODIFIED)}.items(), key=_status_order)
                )
            money = any(
                parameter["name"] == "Idempotency-Key"
                for parameter in operation.get("parameters", [])
            )
            for status, response in operation.get("responses", {}).items():
                headers = response.setdefault("headers", {})
                names = ["X-Request-ID"]
                if status == "429":
                    names.append("Retry-After")
                if status[:1] == "2" and money:
                    names.append("Idempotent-Replayed")
                if conditional and status in ("200", "304"):
                    names.append("ETag")
                for name, ref in _header_refs(*names).items():
                    headers.setdefault(name, ref)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=TAGS,
            )
            _require_headers(schema)
            _declare_security(schema)
            _problemize(schema)
            _declare_headers(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@cache
def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle, its one request to another host (the logo) made inline."""
    bundle = (DOCS_ASSETS / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOC_LOGO_URL, REDOC_LOGO_INLINE)


def install_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from local assets, so they render on networks without a CDN."""

    # Before the mount, which would otherwise answer every path under DOCS_ASSETS_URL.
    @app.get(f"{DOCS_ASSETS_URL}/redoc.js", include_in_schema=False)
    async def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript")

    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    def docs_page(
        request: Request, render: Callable[..., HTMLResponse], **assets: str
    ) -> HTMLResponse:
        """A docs page that loads the document and ``assets`` (files of DOCS_ASSETS) under the
        app's root path, and whose browser may fetch from nowhere else."""
        root = request.scope.get("root_path", "")
        page = render(
            openapi_url=root + openapi_url,
            **{name: f"{root}{DOCS_ASSETS_URL}/{file}" for name, file in assets.items()},
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        return docs_page(
            request,
            partial(
                get_swagger_ui_html,
                title=f"{app.title} — Swagger UI",
                # The default validator badge would fetch validator.swagger.io.
                swagger_ui_parameters={"validatorUrl": None},
            ),
            swagger_js_url="swagger-ui-bundle.js",
            swagger_css_url="swagger-ui.css",
            swagger_favicon_url="favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        return docs_page(
            request,
            partial(get_redoc_html, title=f"{app.title} — ReDoc", with_google_fonts=False),
            redoc_js_url="redoc.js",
            redoc_favicon_url="favicon.png",
        )
