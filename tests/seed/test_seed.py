"""The demo dataset: exact published counts, determinism, valid codes and numbers, references
within an organization, search columns and indexes, atomic failure, and the CLI guard."""

import hashlib
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import anyio.to_thread
import asyncpg
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import search
from app.core.config import normalize_database_url
from app.core.db import Database, create_engine
from app.main import create_app
from app.models.catalog import CatalogStatus
from app.models.financial_products import FinancialProduct
from app.models.ip_assets import IPAsset
from app.models.orgs import Organization, OrganizationKind
from app.models.policies import Policy
from app.models.talents import Talent
from app.models.technologies import Technology
from app.services import financial_products as financial_products_service
from app.services import ip_assets as ip_assets_service
from app.services import policies as policies_service
from app.services import seed as seed_service
from app.services import talents as talents_service
from app.services import technologies as technologies_service
from app.services.catalog import CatalogSpec, search_columns
from app.services.orgs import is_valid_credit_code
from tests.conftest import TEST_DATABASE_URL, TEST_SECRET, _admin_dsn, make_settings, migrate

SMALL = seed_service.SCALES[seed_service.ScaleName.small]
SPECS: tuple[CatalogSpec[Any], ...] = (
    talents_service.SPEC,
    technologies_service.SPEC,
    policies_service.SPEC,
    ip_assets_service.SPEC,
    financial_products_service.SPEC,
)
INNOSHARE = str(Path(sys.executable).with_name("innoshare"))


async def _seed(url: str, **options: Any) -> seed_service.SeedReport:
    database = Database(create_engine(url))
    try:
        async with database.unit_of_work(write=True) as session:
            return await seed_service.seed_database(
                session, scale=options.pop("scale", SMALL), **options
            )
    finally:
        await database.dispose()


async def _read(url: str, model: type[Any]) -> list[Any]:
    database = Database(create_engine(url))
    try:
        async with database.unit_of_work(write=False) as session:
            return list((await session.scalars(select(model))).all())
    finally:
        await database.dispose()


async def _fingerprint(session: AsyncSession) -> str:
    """A digest of every organization and catalog row, all columns, in id order."""
    digest = hashlib.sha256()
    for model in (Organization, Talent, IPAsset, Technology, Policy, FinancialProduct):
        table = model.__table__
        rows = await session.execute(select(table).order_by(table.c.id))
        for row in rows:
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


class _RollBack(Exception):
    """Raised to leave a unit of work without committing it."""


@asynccontextmanager
async def _rolled_back(database: Database) -> AsyncIterator[AsyncSession]:
    """A write session whose work is rolled back at the end of the block."""
    try:
        async with database.unit_of_work(write=True) as session:
            yield session
            raise _RollBack
    except _RollBack:
        pass


@asynccontextmanager
async def _fresh_database(directory: Path) -> AsyncIterator[str]:
    """An empty database of the module's own (what ``fresh_database_url`` gives a test)."""
    if not TEST_DATABASE_URL:
        yield f"sqlite+aiosqlite:///{directory / 'seeded.db'}"
        return
    admin_dsn, base_name = _admin_dsn(normalize_database_url(TEST_DATABASE_URL))
    name = f"{base_name}_seeded_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield (
                make_url(normalize_database_url(TEST_DATABASE_URL))
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """One database seeded at the small scale, shared by the tests that only read it."""
    async with _fresh_database(tmp_path_factory.mktemp("seeded")) as url:
        await anyio.to_thread.run_sync(migrate, url)
        await _seed(url, random_seed=7, accounts=False)
        yield url


async def test_small_scale_has_exactly_its_published_counts(seeded: str) -> None:
    expected = {
        Talent: SMALL.talents,
        Technology: SMALL.technologies,
        Policy: SMALL.policies,
        IPAsset: SMALL.ip_assets,
    }
    for model, count in expected.items():
        items = await _read(seeded, model)
        published = [i for i in items if i.status is CatalogStatus.published]
        assert len(published) == count, model
        assert len(items) - count == SMALL.unpublished(count)
        assert all(i.version == 1 and i.owner_id for i in items)
        assert all(seed_service.LAUNCH <= i.created_at <= seed_service.AS_OF for i in items)
        assert all(i.published_at == i.created_at for i in published)

    organizations = await _read(seeded, Organization)
    kinds: dict[OrganizationKind, int] = {}
    for organization in organizations:
        kinds[organization.kind] = kinds.get(organization.kind, 0) + 1
    assert kinds[OrganizationKind.university] == SMALL.universities
    assert kinds[OrganizationKind.research_institute] == SMALL.research_institutes
    assert kinds[OrganizationKind.financial_institution] == SMALL.financial_institutions
    assert kinds[OrganizationKind.enterprise] == SMALL.enterprises
    assert kinds[OrganizationKind.government] == 1
    names = {o.name for o in organizations}
    assert {"郑州大学", "河南工业大学", "郑州轻工业大学", "盾构及掘进技术国家重点实验室"} <= names
    assert all("河南" in (o.region or "") for o in organizations)

    products = await _read(seeded, FinancialProduct)
    per_institution: dict[Any, int] = {}
    for product in products:
        per_institution[product.owner_id] = per_institution.get(product.owner_id, 0) + 1
    institutions = {o.id for o in organizations if o.kind is OrganizationKind.financial_institution}
    assert set(per_institution) == institutions
    assert all(1 <= n <= 4 for n in per_institution.values())

    zone = next(o for o in organizations if o.kind is OrganizationKind.government)
    assert {p.owner_id for p in await _read(seeded, Policy)} == {zone.id}


async def test_the_same_random_seed_writes_the_same_rows(
    migrated_fresh_database_url: str,
) -> None:
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        fingerprints = []
        # Each run in a transaction rolled back afterwards: an empty database every time. The
        # second run writes the policies in a worker process, as the full scale does.
        for random_seed, workers in ((2019, 0), (2019, 1), (2020, 0)):
            async with _rolled_back(database) as session:
                await seed_service.seed_database(
                    session, scale=SMALL, random_seed=random_seed, workers=workers
                )
                fingerprints.append(await _fingerprint(session))
    finally:
        await database.dispose()
    assert fingerprints[0] == fingerprints[1]
    assert fingerprints[0] != fingerprints[2]


async def test_credit_codes_and_ip_numbers_are_valid(seeded: str) -> None:
    organizations = await _read(seeded, Organization)
    codes = [o.credit_code for o in organizations]
    assert all(code is not None and is_valid_credit_code(code) for code in codes)
    assert len(set(codes)) == len(codes)
    for organization in organizations:
        assert organization.credit_code is not None
        # The organization-code part (GB 11714) carries its own check character too.
        part = organization.credit_code[8:17]
        assert seed_service.organization_code(part[:8]) == part
        prefix = organization.credit_code[:2]
        if organization.kind in (OrganizationKind.university, OrganizationKind.research_institute):
            assert prefix == "12"
        elif organization.kind in (
            OrganizationKind.enterprise,
            OrganizationKind.financial_institution,
        ):
            assert prefix == "91"

    assets = await _read(seeded, IPAsset)
    names = {o.id: o.name for o in organizations}
    for asset in assets:
        assert ip_assets_service.number_problem(asset.kind, asset.number) is None, asset.number
        assert asset.holder == names[asset.owner_id]
        dates = [d for d in (asset.application_date, asset.grant_date) if d is not None]
        assert dates == sorted(dates)
        assert asset.application_date <= asset.created_at.date()
    assert len({(a.kind, a.number) for a in assets}) == len(assets)

    policies = await _read(seeded, Policy)
    numbers = [p.document_number for p in policies if p.document_number]
    assert len(set(numbers)) == len(numbers)
    for policy in policies:
        assert policy.issue_date <= policy.created_at.date()
        assert policy.effective_date is not None
        assert policy.issue_date <= policy.effective_date
        assert policy.expiry_date is None or policy.effective_date <= policy.expiry_date
        assert 100 <= len(policy.full_text or "") <= 600
        if policy.issue_date < date(2020, 1, 20):  # nothing about COVID-19 before it broke out
            assert "疫情" not in f"{policy.title}{policy.full_text}"


async def test_technologies_reference_their_own_organization(seeded: str) -> None:
    talents = {str(t.id): t for t in await _read(seeded, Talent)}
    assets = {str(a.id): a for a in await _read(seeded, IPAsset)}
    technologies = await _read(seeded, Technology)
    with_assets = 0
    for technology in technologies:
        assert 1 <= len(technology.inventor_ids) <= 3
        assert len(set(technology.inventor_ids)) == len(technology.inventor_ids)
        for inventor_id in technology.inventor_ids:
            inventor = talents[inventor_id]
            assert inventor.owner_id == technology.owner_id
            assert inventor.status is CatalogStatus.published
        assert len(technology.ip_asset_ids) <= 2
        for asset_id in technology.ip_asset_ids:
            assert assets[asset_id].owner_id == technology.owner_id
            assert assets[asset_id].status is CatalogStatus.published
        with_assets += bool(technology.ip_asset_ids)
        assert 1 <= technology.trl <= 9
        assert technology.transfer_modes
        if technology.price_min is not None:
            assert technology.price_max is not None
            assert 5 * seed_service.WAN_FEN <= technology.price_min <= technology.price_max
            assert technology.price_max <= 500 * seed_service.WAN_FEN
    assert with_assets > 0


def _searchable_text(spec: CatalogSpec[Any], row: Mapping[str, Any]) -> str:
    fields = (*spec.title_fields, *spec.body_fields, "tags")
    parts = []
    for name in fields:
        value = row[name]
        parts.append(" ".join(value) if isinstance(value, list) else str(value or ""))
    return " ".join(parts)


async def test_search_columns_and_index_find_what_the_app_finds(seeded: str) -> None:
    database = Database(create_engine(seeded))
    try:
        async with database.unit_of_work(write=False) as session:
            for spec in SPECS:
                # Whole rows (the ORM defers the search columns).
                table = spec.model.__table__
                items = list((await session.execute(select(table))).mappings().all())
                for item in items:
                    values = {name: item[name] for name in (*spec.fields, "tags")}
                    assert search_columns(spec, values) == {
                        "search_title": item["search_title"],
                        "search_body": item["search_body"],
                    }
                # The full-text index holds every row: it finds exactly the rows whose text
                # has the word (a common one and the zone's own field).
                for word in ("科技", "盾构"):
                    condition = await search.match_condition(
                        session, spec.model.__tablename__, search.parse_query(word)
                    )
                    found = await session.scalar(
                        select(func.count()).select_from(spec.model).where(condition)
                    )
                    expected = sum(word in _searchable_text(spec, item) for item in items)
                    assert found == expected, (spec.name, word)
            common_word = await search.match_condition(
                session, "policies", search.parse_query("科技")
            )
            rare_word = await search.match_condition(
                session, "policies", search.parse_query("盾构")
            )
            policies = await session.scalar(
                select(func.count()).select_from(Policy).where(common_word)
            )
            rare = await session.scalar(select(func.count()).select_from(Policy).where(rare_word))
            assert policies is not None
            assert rare is not None
            assert policies > SMALL.policies // 2  # common words in most policies…
            assert 0 < rare < SMALL.policies // 5  # …the zone's own fields in a few
    finally:
        await database.dispose()


async def _search_objects(session: AsyncSession) -> list[str]:
    if session.get_bind().dialect.name == "postgresql":
        sql = "SELECT indexdef FROM pg_indexes WHERE indexname LIKE '%search_vector' ORDER BY 1"
    else:
        sql = "SELECT sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    return list((await session.scalars(text(sql))).all())


async def test_indexing_objects_are_back_and_index_new_rows(
    migrated_fresh_database_url: str,
) -> None:
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with database.unit_of_work(write=False) as session:
            before = await _search_objects(session)
        await _seed(migrated_fresh_database_url, accounts=False)
        async with _rolled_back(database) as session:
            assert await _search_objects(session) == before
            owner = await session.scalar(select(Organization.id).limit(1))
            values = {"name": "扎克伯格", "tags": []}
            await session.execute(
                insert(Talent),
                [
                    {
                        **values,
                        **search_columns(talents_service.SPEC, values),
                        "owner_id": owner,
                        "status": CatalogStatus.published,
                    }
                ],
            )
            condition = await search.match_condition(session, "talents", search.parse_query("伯格"))
            assert await session.scalar(select(func.count(Talent.id)).where(condition)) == 1
    finally:
        await database.dispose()


async def test_a_failed_seed_leaves_the_database_empty(
    migrated_fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(seed_service, "seed_financial_products", broken)
    with pytest.raises(RuntimeError, match="disk is full"):
        await _seed(migrated_fresh_database_url)
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with database.unit_of_work(write=False) as session:
            for model in (Organization, Talent, Policy):
                assert await session.scalar(select(func.count()).select_from(model)) == 0
            assert await _search_objects(session)
    finally:
        await database.dispose()
    monkeypatch.undo()
    report = await _seed(migrated_fresh_database_url)  # and the next seed works
    assert report.published["policies"] == SMALL.policies


async def test_seeding_twice_is_refused(seeded: str) -> None:
    with pytest.raises(seed_service.DatabaseNotEmpty):
        await _seed(seeded)
    assert len(await _read(seeded, Talent)) == SMALL.talents + SMALL.unpublished(SMALL.talents)


def _innoshare(url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INNOSHARE_DATABASE_URL": url, "INNOSHARE_SECRET_KEY": TEST_SECRET}
    return subprocess.run(
        [INNOSHARE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


async def test_cli_seeds_once_and_if_empty_does_nothing_after(
    fresh_database_url: str, tmp_path: Path
) -> None:
    assert _innoshare(fresh_database_url, tmp_path, "migrate").returncode == 0

    first = _innoshare(fresh_database_url, tmp_path, "seed", "--scale", "small", "--if-empty")
    assert first.returncode == 0, first.stderr
    assert "policies" in first.stdout
    assert "1,000" in first.stdout
    listing = tmp_path / "var" / "demo-accounts.txt"
    assert stat.S_IMODE(listing.stat().st_mode) == 0o600
    written = listing.read_text(encoding="utf-8")
    assert "admin@innoshare.example.org" in written
    keys = dict(
        line.split() for line in written.splitlines() if line.strip().startswith(("郑州", "河南"))
    )
    assert set(keys) == {"郑州大学", "河南工业大学", "郑州轻工业大学"}
    assert written.strip() in first.stdout

    again = _innoshare(fresh_database_url, tmp_path, "seed", "--scale", "small", "--if-empty")
    assert again.returncode == 0, again.stderr
    assert "nothing seeded" in again.stdout

    refused = _innoshare(fresh_database_url, tmp_path, "seed", "--scale", "small")
    assert refused.returncode == 1
    assert "already holds organizations" in refused.stderr

    assert len(await _read(fresh_database_url, Policy)) == SMALL.policies + SMALL.unpublished(
        SMALL.policies
    )
    database = Database(create_engine(fresh_database_url))
    try:
        app = create_app(make_settings(fresh_database_url), database=database)
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://t") as client:
            me = await client.get("/v1/me", headers={"Authorization": f"Bearer {keys['郑州大学']}"})
            assert me.status_code == 200
            assert me.json()["scopes"] == ["catalog:write"]
    finally:
        await database.dispose()
