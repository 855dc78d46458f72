"""The innoshare command against a database of its own, as an operator would run it."""

import os
import subprocess
import sys
from pathlib import Path

from httpx import ASGITransport, AsyncClient
from sqlalchemy import select, text

from app.core.db import Database, create_engine
from app.core.search import match_condition, parse_query
from app.main import create_app
from app.models.orgs import OrganizationKind
from app.models.technologies import Technology
from tests import builders
from tests.conftest import TEST_SECRET, make_settings

INNOSHARE = str(Path(sys.executable).with_name("innoshare"))


def _innoshare(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INNOSHARE_DATABASE_URL": url, "INNOSHARE_SECRET_KEY": TEST_SECRET}
    return subprocess.run([INNOSHARE, *args], env=env, capture_output=True, text=True, timeout=120)


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


async def test_reindex_rebuilds_the_search_index(fresh_database_url: str) -> None:
    assert _innoshare(fresh_database_url, "migrate").returncode == 0
    database = Database(create_engine(fresh_database_url))
    try:
        async with database.unit_of_work(write=True) as session:
            owner = await builders.create_organization(session, kind=OrganizationKind.university)
            await builders.published_technology(session, owner, title="盾构机刀盘", trl=5)
        sqlite = database.engine.dialect.name == "sqlite"
        if sqlite:
            # What a VACUUM that renumbered rowids leaves behind: an index out of step.
            async with database.unit_of_work(write=True) as session:
                await session.execute(
                    text("INSERT INTO technologies_fts(technologies_fts) VALUES ('delete-all')")
                )

        async def found() -> int:
            async with database.unit_of_work(write=False) as session:
                condition = await match_condition(session, "technologies", parse_query("盾构"))
                return len((await session.execute(select(Technology.id).where(condition))).all())

        assert await found() == (0 if sqlite else 1)
        result = _innoshare(fresh_database_url, "reindex")
        assert result.returncode == 0, result.stderr
        assert "technologies" in result.stdout
        assert "demands" in result.stdout
        assert await found() == 1
    finally:
        await database.dispose()
