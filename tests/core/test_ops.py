"""Operations: health, readiness, metrics, request ids, gzip, ETags, CORS and the docs pages."""

import re

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.core.security import Role
from app.main import create_app
from app.models.orgs import OrganizationKind
from tests import builders
from tests.conftest import make_settings


async def test_healthz(client: AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_readyz_when_migrated(client: AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "ready"


async def _readyz_against(url: str) -> tuple[int, dict[str, object]]:
    database = Database(create_engine(url))
    try:
        app = create_app(make_settings(url), database=database)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            response = await client.get("/readyz")
        assert response.headers["content-type"].startswith("application/")
        return response.status_code, response.json()
    finally:
        await database.dispose()


async def test_readyz_is_503_before_migrations(fresh_database_url: str) -> None:
    status, body = await _readyz_against(fresh_database_url)
    assert status == 503
    assert body["code"] == "migrations_pending"


async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: object) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/nowhere"
    status, body = await _readyz_against(url)
    assert status == 503
    assert body["code"] == "database_unavailable"


async def test_metrics_count_requests_by_route_template(
    client: AsyncClient, session: AsyncSession
) -> None:
    organization = await builders.create_organization(session)
    await client.get(f"/v1/organizations/{organization.id}")
    await client.get("/v1/definitely-missing")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    series = (
        'innoshare_http_requests_total{method="GET",'
        'route="/v1/organizations/{organization_id}",status="200"}'
    )
    assert re.search(re.escape(series) + r" [1-9]", text)
    assert 'route="unmatched",status="404"' in text
    assert str(organization.id) not in text  # templates, not raw paths
    assert "innoshare_http_request_duration_seconds_bucket" in text


METRICS_TOKEN = "metrics-token-0123456789abcdef"


async def _metrics_status(
    database_url: str, db: Database, headers: dict[str, str], **settings: object
) -> tuple[int, str]:
    app = create_app(make_settings(database_url, **settings), database=db)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
        response = await client.get("/metrics", headers=headers)
    return response.status_code, response.headers.get("content-type", "")


@pytest.mark.parametrize(
    ("settings", "headers", "status"),
    [
        ({"env": "production"}, {}, 404),
        ({"env": "production"}, {"Authorization": f"Bearer {METRICS_TOKEN}"}, 404),
        ({"env": "production", "metrics_token": METRICS_TOKEN}, {}, 401),
        (
            {"env": "production", "metrics_token": METRICS_TOKEN},
            {"Authorization": f"Bearer {METRICS_TOKEN}x"},
            401,
        ),
        (
            {"env": "production", "metrics_token": METRICS_TOKEN},
            {"Authorization": f"Basic {METRICS_TOKEN}"},
            401,
        ),
        (
            {"env": "production", "metrics_token": METRICS_TOKEN},
            {"Authorization": f"Bearer {METRICS_TOKEN}"},
            200,
        ),
        ({"env": "test", "metrics_token": METRICS_TOKEN}, {}, 401),
        ({"env": "development"}, {}, 200),
    ],
    ids=[
        "production-no-token-configured",
        "production-a-token-not-configured",
        "token-missing",
        "token-wrong",
        "not-bearer",
        "token-right",
        "token-outside-production",
        "development-open",
    ],
)
async def test_metrics_need_the_token_and_are_off_in_production_without_one(
    database_url: str,
    db: Database,
    settings: dict[str, object],
    headers: dict[str, str],
    status: int,
) -> None:
    got, content_type = await _metrics_status(database_url, db, headers, **settings)
    assert got == status
    if status != 200:
        assert content_type == "application/problem+json"


async def test_server_timing_reports_app_and_database_time(
    client: AsyncClient, session: AsyncSession
) -> None:
    organization = await builders.create_organization(session)
    response = await client.get(f"/v1/organizations/{organization.id}")
    metrics = dict(
        part.strip().split(";dur=") for part in response.headers["server-timing"].split(",")
    )
    assert float(metrics["app"]) > 0
    assert 0 < float(metrics["db"]) <= float(metrics["app"])
    no_database = await client.get("/healthz")
    assert "db;dur=0.00" in no_database.headers["server-timing"]


async def test_request_id_is_echoed_or_generated(client: AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc-123.x"})
    assert echoed.headers["x-request-id"] == "abc-123.x"
    generated = await client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", generated.headers["x-request-id"])
    hostile = await client.get(
        "/healthz", headers={"X-Request-ID": "bad id\twith spaces" + "x" * 200}
    )
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["x-request-id"])


async def test_large_responses_are_gzipped(client: AsyncClient, session: AsyncSession) -> None:
    for i in range(15):
        await builders.create_organization(
            session, kind=OrganizationKind.enterprise, name=f"高新区企业{i}"
        )
    response = await client.get(
        "/v1/organizations",
        params={"kind": "enterprise", "limit": 50},
        headers={"Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["items"]) >= 15
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


async def test_etag_and_not_modified(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await builders.create_organization(session)
    url = f"/v1/organizations/{organization.id}"
    first = await client.get(url)
    etag = first.headers["etag"]
    assert etag
    again = await client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    listed = await client.get(url, headers={"If-None-Match": f'"other", {etag}'})
    assert listed.status_code == 304
    assert (await client.get(url, headers={"If-None-Match": "*"})).status_code == 304

    admin = await builders.actor(session, settings, role=Role.admin)
    changed = await client.patch(url, json={"description": "更新了"}, headers=admin.headers)
    assert changed.status_code == 200
    after = await client.get(url, headers={"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert after.json()["description"] == "更新了"


async def test_errors_carry_no_etag(client: AsyncClient) -> None:
    response = await client.get("/v1/organizations/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "etag" not in response.headers


async def test_cors_allows_configured_origins_only(client: AsyncClient) -> None:
    allowed = await client.options(
        "/v1/organizations",
        headers={
            "Origin": "https://web.innoshare.test",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://web.innoshare.test"
    refused = await client.options(
        "/v1/organizations",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["code"] == "cors_rejected"
    simple = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_use_only_local_assets(client: AsyncClient, page: str) -> None:
    response = await client.get(page)
    assert response.status_code == 200
    html = response.text
    references = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html) + re.findall(
        r"url:\s*['\"]([^'\"]+)", html
    )
    assert references, "the page should load its assets"
    for reference in references:
        assert not re.match(r"^(https?:)?//", reference), reference
        if reference.startswith("/docs-assets/"):
            asset = await client.get(reference)
            assert asset.status_code == 200, reference
            assert len(asset.content) > 1000
            assert b"cdn.redoc.ly" not in asset.content, reference  # its logo, made inline
    assert "cdn.jsdelivr.net" not in html
    assert "fonts.googleapis.com" not in html
    # and the browser is told to fetch nothing from anywhere else (ReDoc's bundle tries a logo)
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert "http" not in response.headers["content-security-policy"]
