"""The demo dataset: exact published counts, determinism, valid codes and numbers, references
within an organization, search columns and indexes, atomic failure, and the CLI guard."""

import hashlib
import os
import re
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
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import search
from app.core.config import DEFAULT_FEE_RATE_BP, DEFAULT_TAX_RATE_BP
from app.core.db import Database, create_engine
from app.core.filters import Everything
from app.demo import catalogs, load
from app.demo.accounts import accounts_file
from app.demo.catalogs import WAN_FEN
from app.demo.deals import SEED_ACTOR
from app.demo.organizations import organization_code
from app.demo.plan import AS_OF, LAUNCH, SCALES, SHANGHAI, ScaleName
from app.main import create_app
from app.models.catalog import CatalogHistory, CatalogStatus
from app.models.deals import ContractCategory, Deal, DealMilestone, DealStatus, MilestoneStatus
from app.models.demands import (
    Demand,
    DemandInvitation,
    DemandQuestion,
    Proposal,
    ProposalRevision,
)
from app.models.financial_products import FinancialProduct
from app.models.ip_assets import IPAsset
from app.models.ledger import EntryKind, JournalEntry, LedgerAccount, LedgerChain, Posting
from app.models.orgs import Organization, OrganizationKind
from app.models.payouts import Payout, PayoutStatus, TaxRemittance
from app.models.policies import Policy
from app.models.talents import Talent
from app.models.technologies import Technology
from app.services import demands as demands_service
from app.services import financial_products as financial_products_service
from app.services import ip_assets as ip_assets_service
from app.services import policies as policies_service
from app.services import talents as talents_service
from app.services import technologies as technologies_service
from app.services.catalog import CatalogIndexes, CatalogSpec, search_columns
from app.services.deals import share
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import posting as ledger_posting
from app.services.ledger import verify as ledger_verify
from app.services.orgs import is_valid_credit_code
from tests.conftest import TEST_SECRET, fresh_database, make_settings, migrate

SMALL = SCALES[ScaleName.small]
SPECS: tuple[CatalogSpec[Any], ...] = (
    talents_service.SPEC,
    technologies_service.SPEC,
    policies_service.SPEC,
    ip_assets_service.SPEC,
    financial_products_service.SPEC,
    demands_service.SPEC,
)
INNOSHARE = str(Path(sys.executable).with_name("innoshare"))


async def _seed(url: str, **options: Any) -> load.SeedReport:
    database = Database(create_engine(url))
    try:
        async with database.unit_of_work(write=True) as session:
            return await load.seed_database(session, scale=options.pop("scale", SMALL), **options)
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
    """A digest of every organization, catalog, demand (and its history, invitations,
    questions, proposals and revisions) and deal row, all columns, in id order, and of the
    journal entries but for what the ledger draws itself (ids, chains, hashes)."""
    digest = hashlib.sha256()
    models = (Organization, Talent, IPAsset, Technology, Policy, FinancialProduct, Demand)
    demand_rows = (CatalogHistory, DemandInvitation, DemandQuestion, Proposal, ProposalRevision)
    for model in (*models, *demand_rows, Deal, DealMilestone):
        table = model.__table__
        rows = await session.execute(select(table).order_by(table.c.id))
        for row in rows:
            digest.update(repr(tuple(row)).encode())
    entry = JournalEntry
    entries = await session.execute(
        select(
            entry.id,
            entry.occurred_at,
            entry.kind,
            entry.deal_id,
            entry.milestone_id,
            entry.category,
            entry.buyer_id,
            entry.seller_id,
            entry.volume_fen,
            entry.fee_fen,
            entry.tax_fen,
            entry.created_by,
            entry.memo,
        ).order_by(entry.occurred_at, entry.deal_id)
    )
    postings = await _postings(session)
    for entry_id, *facts in entries:
        digest.update(repr((facts, postings[entry_id])).encode())
    return digest.hexdigest()


async def _postings(session: AsyncSession) -> dict[uuid.UUID, list[tuple[str, int]]]:
    """Each entry's postings as (account code, amount), in line order."""
    rows = await session.execute(
        select(Posting.entry_id, LedgerAccount.code, Posting.amount_fen)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .order_by(Posting.entry_id, Posting.line)
    )
    found: dict[uuid.UUID, list[tuple[str, int]]] = {}
    for entry_id, code, amount in rows:
        found.setdefault(entry_id, []).append((code, amount))
    return found


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


@pytest.fixture(scope="module")
async def seeded(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """One database seeded at the small scale, shared by the tests that only read it."""
    async with fresh_database(tmp_path_factory.mktemp("seeded"), "seeded") as url:
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
        assert all(LAUNCH <= i.created_at <= AS_OF for i in items)
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
                await load.seed_database(
                    session, scale=SMALL, random_seed=random_seed, workers=workers
                )
                fingerprints.append(await _fingerprint(session))
    finally:
        await database.dispose()
    assert fingerprints[0] == fingerprints[1]
    assert fingerprints[0] != fingerprints[2]


async def test_progress_goes_to_the_callback_task_by_task(
    migrated_fresh_database_url: str,
) -> None:
    reports: list[tuple[str, int, int]] = []
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with _rolled_back(database) as session:
            report = await load.seed_database(
                session,
                scale=SMALL,
                accounts=False,
                progress=lambda task, total, done: reports.append((task, total, done)),
            )
    finally:
        await database.dispose()
    tasks = list(dict.fromkeys(task for task, _, _ in reports))
    assert tasks[:2] == ["organizations", "talents"]
    assert {
        "IP assets",
        "technologies",
        "policies",
        "financial products",
        "demands",
        "deals",
        "proposals",
    } < set(tasks)
    assert "accounts" not in tasks
    for task in tasks:
        mine = [(total, done) for name, total, done in reports if name == task]
        assert mine[0][1] == 0  # a task starts before its first step…
        assert sum(done for _, done in mine) == mine[0][0]  # …and ends at its total
    assert ("policies", report.published["policies"] + report.unpublished["policies"], 0) in (
        reports
    )


async def test_credit_codes_and_ip_numbers_are_valid(seeded: str) -> None:
    organizations = await _read(seeded, Organization)
    codes = [o.credit_code for o in organizations]
    assert all(code is not None and is_valid_credit_code(code) for code in codes)
    assert len(set(codes)) == len(codes)
    for organization in organizations:
        assert organization.credit_code is not None
        # The organization-code part (GB 11714) carries its own check character too.
        part = organization.credit_code[8:17]
        assert organization_code(part[:8]) == part
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
            assert 5 * WAN_FEN <= technology.price_min <= technology.price_max
            assert technology.price_max <= 500 * WAN_FEN
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
        # The search index, built from the seeded rows, finds exactly the rows whose text has
        # the word (a common one and the zone's own field).
        index = CatalogIndexes(database, SPECS)
        snapshots = await index.snapshots(SPECS)
        counts: dict[tuple[str, str], int] = {}
        for spec, snapshot in zip(SPECS, snapshots, strict=True):
            async with database.unit_of_work(write=False) as session:
                items = list((await session.execute(select(spec.model.__table__))).mappings())
            for word in ("科技", "盾构"):
                found = snapshot.count(snapshot.query(Everything(), search.parse_query(word)))
                expected = sum(word in _searchable_text(spec, item) for item in items)
                assert found == expected, (spec.name, word)
                counts[spec.name, word] = found
        assert counts["policies", "科技"] > SMALL.policies // 2  # common words in most policies…
        assert 0 < counts["policies", "盾构"] < SMALL.policies // 5  # …the zone's own in a few
    finally:
        await database.dispose()


async def test_a_failed_seed_leaves_the_database_empty(
    migrated_fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(catalogs, "seed_financial_products", broken)
    with pytest.raises(RuntimeError, match="disk is full"):
        await _seed(migrated_fresh_database_url)
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with database.unit_of_work(write=False) as session:
            for model in (Organization, Talent, Policy):
                assert await session.scalar(select(func.count()).select_from(model)) == 0
    finally:
        await database.dispose()
    monkeypatch.undo()
    report = await _seed(migrated_fresh_database_url)  # and the next seed works
    assert report.published["policies"] == SMALL.policies


async def test_a_seed_failing_in_the_ledger_leaves_it_untouched(
    migrated_fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_post_entry = ledger_posting.post_entry
    posted = 0

    async def failing(*args: Any, **kwargs: Any) -> uuid.UUID:
        nonlocal posted
        posted += 1
        if posted > 5:
            raise RuntimeError("the connection dropped")
        return await real_post_entry(*args, **kwargs)

    monkeypatch.setattr(ledger_posting, "post_entry", failing)
    with pytest.raises(RuntimeError, match="connection dropped"):
        await _seed(migrated_fresh_database_url)
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with database.unit_of_work(write=False) as session:
            for model in (Organization, Deal, DealMilestone, JournalEntry, Posting):
                assert await session.scalar(select(func.count()).select_from(model)) == 0
            heads = (await session.scalars(select(LedgerChain))).all()
            assert heads
            assert all(h.last_seq == 0 for h in heads)
            assert (
                await session.scalar(
                    select(func.count()).where(LedgerAccount.organization_id.is_not(None))
                )
                == 0
            )
            assert (await ledger_verify.verify(session)).ok
    finally:
        await database.dispose()


async def test_seeding_twice_is_refused(seeded: str) -> None:
    with pytest.raises(load.DatabaseNotEmpty):
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
    assert "settled volume" in first.stdout
    assert "961700.00 CNY" in first.stdout
    listing = tmp_path / accounts_file(fresh_database_url)  # var/demo-accounts/…, per database
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


async def test_deals_follow_the_plan_and_the_ledger_verifies(seeded: str) -> None:
    deals = await _read(seeded, Deal)
    plan = SMALL.deals
    by_status = dict.fromkeys(DealStatus, 0)
    for deal in deals:
        by_status[deal.status] += 1
    assert by_status == {
        DealStatus.settled: plan.settled,
        DealStatus.funded: plan.funded,
        DealStatus.created: plan.open,
        DealStatus.cancelled: plan.cancelled,
        DealStatus.refunded: plan.refunded,
    }
    # every kind but license (issue 15), which the demo's plan leaves out
    settled_kinds = {d.category for d in deals if d.status is DealStatus.settled}
    assert settled_kinds == set(ContractCategory) - {ContractCategory.license}

    organizations = {o.id: o for o in await _read(seeded, Organization)}
    technologies = {t.id: t for t in await _read(seeded, Technology)}
    enterprises = {i for i, o in organizations.items() if o.kind is OrganizationKind.enterprise}
    assert {d.buyer_id for d in deals if d.status is DealStatus.settled} == enterprises
    for deal in deals:
        assert deal.buyer_id in enterprises
        assert deal.seller_id != deal.buyer_id
        # A listing's deal, or an award's (tests/demo/test_demands.py checks those).
        assert (deal.technology_id is None) == (deal.demand_id is not None)
        if deal.technology_id is not None:
            technology = technologies[deal.technology_id]
            assert technology.status is CatalogStatus.published
            assert technology.published_at is not None
            assert technology.published_at < deal.created_at
            assert deal.seller_id == technology.owner_id
        assert 2_000_000 <= deal.gross_fen <= 80_000_000
        assert deal.gross_fen % 10_000 == 0  # whole hundreds of yuan
        assert (deal.fee_rate_bp, deal.tax_rate_bp) == (
            DEFAULT_FEE_RATE_BP[deal.category.value],
            DEFAULT_TAX_RATE_BP[deal.category.value],
        )
        assert deal.fee_fen == share(deal.released_fen, deal.fee_rate_bp)
        assert deal.tax_fen == share(deal.released_fen, deal.tax_rate_bp)
        assert deal.escrow_fen + deal.released_fen + deal.refunded_fen == (
            0 if deal.status in (DealStatus.created, DealStatus.cancelled) else deal.gross_fen
        )
        times = [deal.created_at, deal.funded_at, deal.closed_at]
        known = [t for t in times if t is not None]
        assert known == sorted(known)
        assert all(LAUNCH <= t <= AS_OF for t in known)
        local = deal.created_at.astimezone(SHANGHAI)
        assert local.weekday() < 5
        assert 9 <= local.hour < 18
        if deal.milestones:
            assert sum(m.amount_fen for m in deal.milestones) == deal.gross_fen
            settled = [m for m in deal.milestones if m.status is MilestoneStatus.settled]
            assert sum(m.amount_fen for m in settled) == deal.released_fen
        if deal.status is DealStatus.settled:
            assert deal.released_fen == deal.gross_fen
            assert all(m.status is MilestoneStatus.settled for m in deal.milestones)

    # The entries tell the same: per deal, what went into escrow, out to the seller, back.
    database = Database(create_engine(seeded))
    try:
        async with database.unit_of_work(write=False) as session:
            entries = (await session.scalars(select(JournalEntry))).all()
            verification = await ledger_verify.verify(session)
            escrow = await ledger_accounts.balance(session, ledger_accounts.ESCROW)
            tax = await ledger_accounts.balance(session, ledger_accounts.TAX_PAYABLE)
            fee = await ledger_accounts.balance(session, ledger_accounts.FEE_REVENUE)
    finally:
        await database.dispose()
    assert verification.ok, verification.problems
    assert verification.entries_checked == len(entries)
    for deal in deals:
        mine = [e for e in entries if e.deal_id == deal.id]
        assert all(e.created_by == SEED_ACTOR for e in mine)
        assert all(e.occurred_at <= AS_OF for e in mine)
        kinds = sorted(e.kind for e in mine)
        releases = [e for e in mine if e.kind is EntryKind.settlement]
        assert sum(e.volume_fen for e in releases) == deal.released_fen
        assert sum(e.tax_fen for e in releases) == deal.tax_fen
        assert sum(e.fee_fen for e in releases) == deal.fee_fen
        funded = deal.status not in (DealStatus.created, DealStatus.cancelled)
        assert kinds.count(EntryKind.funding) == int(funded)
        assert kinds.count(EntryKind.refund) == int(deal.status is DealStatus.refunded)
        if deal.funded_at is not None:
            assert min(e.occurred_at for e in mine) == deal.funded_at
    assert escrow == sum(d.escrow_fen for d in deals)
    assert fee == sum(d.fee_fen for d in deals)

    # Payouts and remittances (issue 15): the books close on both.
    payouts = await _read(seeded, Payout)
    remittances = await _read(seeded, TaxRemittance)
    remitted = sum(r.amount_fen for r in remittances)
    assert tax == sum(d.tax_fen for d in deals) - remitted >= 0
    assert remittances
    assert all(re.fullmatch(r"20(19|20)-\d\d", r.period) for r in remittances)
    assert len({r.receipt_number for r in remittances}) == len(remittances)
    remitted_entries = [e for e in entries if e.kind is EntryKind.tax_remittance]
    assert sorted(e.id for e in remitted_entries) == sorted(r.entry_id for r in remittances)
    paid = [p for p in payouts if p.status is PayoutStatus.paid]
    assert payouts
    assert all(p.amount_fen >= 100_000 for p in payouts)
    by_entry = {e.id: e for e in entries}
    for payout in payouts:
        assert by_entry[payout.entry_id].kind is EntryKind.payout
        assert by_entry[payout.entry_id].occurred_at == payout.created_at <= AS_OF
        if payout.status is PayoutStatus.returned:
            assert payout.return_entry_id is not None
            assert by_entry[payout.return_entry_id].reverses_id == payout.entry_id
    # every seller's payable: what its settlements paid in, less what was paid out, not below 0
    net = {d.seller_id: 0 for d in deals}
    for deal in deals:
        net[deal.seller_id] += deal.released_fen - deal.fee_fen - deal.tax_fen
    out = dict.fromkeys(net, 0)
    for payout in paid:
        out[payout.organization_id] += payout.amount_fen
    accounts = {a.organization_id: a.id for a in await _read(seeded, LedgerAccount)}
    database = Database(create_engine(seeded))
    try:
        async with database.unit_of_work(write=False) as session:
            for seller, received in net.items():
                held = 0
                if seller in accounts:
                    held = await ledger_accounts.balance(session, accounts[seller])
                assert held == received - out[seller] >= 0
    finally:
        await database.dispose()
    # most sellers that had at least 1,000.00 by the end of April were paid something
    assert len({p.organization_id for p in paid}) >= 0.5 * len([n for n in net.values() if n])
