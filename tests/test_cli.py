"""The innoshare command against a database of its own, as an operator would run it."""

import subprocess
from datetime import UTC, datetime

from httpx import ASGITransport, AsyncClient
from sqlalchemy import update

from app.core.db import Database, create_engine
from app.core.filters import Everything
from app.core.search import index_text, parse_query
from app.main import create_app
from app.models.orgs import OrganizationKind
from app.models.technologies import Technology
from app.services import technologies as technologies_service
from app.services.catalog import CatalogIndexes
from app.services.catalog_registry import INDEXED
from tests import builders
from tests.cli.runner import innoshare
from tests.conftest import make_settings


def _innoshare(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """This checkout's command (not whichever ``innoshare`` the virtualenv installed)."""
    return innoshare(url, *args)


async def test_migrate_create_user_and_api_key(fresh_database_url: str) -> None:
    assert _innoshare(fresh_database_url, "migrate").returncode == 0

    created = _innoshare(
        fresh_database_url,
        "create-user",
        "--email",
        "Admin@Zone.gov.cn",
        "--password",
        builders.PASSWORD,
        "--role",
        "admin",
    )
    assert created.returncode == 0, created.stderr
    assert "created admin admin@zone.gov.cn" in created.stdout

    again = _innoshare(
        fresh_database_url,
        "create-user",
        "--email",
        "admin@zone.gov.cn",
        "--password",
        builders.PASSWORD,
        "--role",
        "admin",
    )
    assert again.returncode == 1
    assert "exists" in again.stderr

    database = Database(create_engine(fresh_database_url))
    try:
        async with database.unit_of_work(write=True) as session:
            organization = await builders.create_organization(session)
        issued = _innoshare(
            fresh_database_url,
            "create-api-key",
            "--org",
            str(organization.id),
            "--name",
            "sync",
            "--scopes",
            "catalog:write,demands:write",
        )
        assert issued.returncode == 0, issued.stderr
        key = issued.stdout.strip()
        assert key.startswith("isk_")

        unknown_scope = _innoshare(
            fresh_database_url,
            "create-api-key",
            "--org",
            str(organization.id),
            "--name",
            "x",
            "--scopes",
            "root",
        )
        assert unknown_scope.returncode == 1

        app = create_app(make_settings(fresh_database_url), database=database)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            me = await client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
            assert me.status_code == 200
            assert me.json()["organization_id"] == str(organization.id)
            assert me.json()["scopes"] == ["catalog:write", "demands:write"]
            token = await client.post(
                "/v1/auth/token",
                data={"username": "admin@zone.gov.cn", "password": builders.PASSWORD},
            )
            assert token.status_code == 200
    finally:
        await database.dispose()

    assert _innoshare(fresh_database_url, "prune").returncode == 0


def test_short_passwords_are_refused(fresh_database_url: str) -> None:
    result = _innoshare(
        fresh_database_url,
        "create-user",
        "--email",
        "a@b.cn",
        "--password",
        "short",
        "--role",
        "admin",
    )
    assert result.returncode == 1
    assert "12 characters" in result.stderr


async def test_reindex_has_every_server_rebuild_its_search_index(fresh_database_url: str) -> None:
    assert _innoshare(fresh_database_url, "migrate").returncode == 0
    database = Database(create_engine(fresh_database_url))
    index = CatalogIndexes(database, INDEXED)
    spec = technologies_service.SPEC
    try:
        async with database.unit_of_work(write=True) as session:
            owner = await builders.create_organization(session, kind=OrganizationKind.university)
            item = await builders.published_technology(session, owner, title="盾构机刀盘", trl=5)

        async def found(word: str) -> int:
            (snapshot,) = await index.snapshots([spec])
            return snapshot.count(snapshot.query(Everything(), parse_query(word)))

        assert (await found("盾构"), await found("掘进")) == (1, 0)
        # A row changed behind the API's back and dated long ago (a restore from a backup):
        # no generation was raised and its time is before what the index has read.
        async with database.unit_of_work(write=True) as session:
            await session.execute(
                update(Technology)
                .where(Technology.id == item.id)
                .values(
                    search_title=index_text("隧道掘进机"),
                    updated_at=datetime(2001, 1, 1, tzinfo=UTC),
                )
            )
        assert await found("掘进") == 0

        result = _innoshare(fresh_database_url, "reindex")
        assert result.returncode == 0, result.stderr
        assert "rebuild 1" in result.stdout
        assert (await found("盾构"), await found("掘进")) == (0, 1)
    finally:
        await database.dispose()
