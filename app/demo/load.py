"""The demo dataset: the platform as it stood at the end of May 2020, generated.

:func:`seed_database` fills an empty, migrated database with the figures the platform published
(3,925 talents, 7,884 technologies, 100,000 policies, 12,000 IP assets, 75 universities and
institutes, 40 financial institutions, 64 enterprises), the deals of its first eight months
(9,617,000.00 CNY settled, 1,121,930.00 CNY tax, all 64 enterprises served: see
:class:`~app.demo.plan.DealPlan`), the enterprises' demands with their proposals, some of them
awarded to deals of that plan (:class:`~app.demo.plan.DemandPlan`), and a few demo accounts. The
same random seed writes the same rows, ids and timestamps included; only the accounts' secrets
differ, and the journal entries' ids and chains (so their hashes), which the ledger draws
itself.

Each section (:mod:`~app.demo.organizations`, :mod:`~app.demo.accounts`,
:mod:`~app.demo.catalogs`, :mod:`~app.demo.policies`, :mod:`~app.demo.deals`,
:mod:`~app.demo.demands`) is a function taking the session and its own random generator and
returning what later sections need; every section draws from a generator seeded for it alone, so
a section added later (deals, demands) changes none of the others' draws; the deals are planned
before they are written, so that the demands section can make some of them awards; the policies'
rows are written ahead, in a worker process at the seed scale
(:class:`~app.demo.policies.PolicyRows`). Rows go in with bulk inserts (COPY on PostgreSQL),
each table in ``created_at`` order; each server builds its search index from them when it
starts (app/core/search_index.py). The catalogs have no history: the items are as
partners imported them; the demands have theirs (created, published, extended, cancelled,
closed, awarded, hidden), written by the seed.

The caller runs the whole seed in one transaction: a seed that fails leaves the database as
empty as it found it, so ``innoshare seed --if-empty`` tries again rather than skipping a half
seeded database.
"""

import random
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.errors import Conflict
from app.core.sql import table_of
from app.demo import accounts as demo_accounts
from app.demo import catalogs, deals, demands, organizations, payouts, policies, reviews
from app.demo.accounts import DemoAccounts
from app.demo.deals import DealFigures
from app.demo.demands import DemandFigures
from app.demo.plan import SeedScale
from app.demo.policies import PARALLEL_POLICIES
from app.demo.rows import CATALOGS, SEARCHABLE, Progress, ProgressCallback
from app.models.catalog import CatalogItem, CatalogStatus
from app.models.deals import Deal, DealMilestone
from app.models.demands import (
    Demand,
    DemandInvitation,
    DemandQuestion,
    Proposal,
    ProposalRevision,
)
from app.models.ledger import JournalEntry, Posting
from app.models.orgs import Organization, OrganizationKind
from app.models.payouts import Payout, TaxRemittance
from app.models.reviews import Review
from app.services.catalog import note_changed

SECTIONS = (
    "organizations",
    "talents",
    "ip_assets",
    "technologies",
    "policies",
    "financial",
    "deals",
    "demands",
    "reviews",
    "payouts",  # last: a new section must not change the draws of the ones before it
)


class DatabaseNotEmpty(Conflict):
    code = "database_not_empty"


@dataclass(slots=True)
class SeedReport:
    scale: str
    random_seed: int
    organizations: dict[OrganizationKind, int]
    published: dict[str, int]
    """Published items per catalog: the platform's figures."""
    unpublished: dict[str, int]
    """Drafts and withdrawn items per catalog, beyond the figures."""
    deals: DealFigures
    """What the deals add up to: the ledger's figures at the end of May 2020."""
    demands: DemandFigures
    payouts: payouts.PayoutFigures
    """Paid out to sellers and tax remitted by the end of May 2020."""
    accounts: DemoAccounts | None
    seconds: float = 0.0


_SEED_LOCK = 0x1EED_2019
"""PostgreSQL advisory lock held by a seeding transaction: two seeds never run at once."""


async def ensure_empty(session: AsyncSession) -> None:
    """Refuse to seed a database that has organizations (seeding twice would duplicate)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SEED_LOCK})
    if await session.scalar(select(Organization.id).limit(1)) is not None:
        raise DatabaseNotEmpty(
            "The database already holds organizations; the demo data is seeded into an empty"
            " database only."
        )


@asynccontextmanager
async def _bulk_loading(session: AsyncSession) -> AsyncIterator[None]:
    """A larger page cache on SQLite while loading."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    before = await session.scalar(text("PRAGMA cache_size"))
    await session.execute(text("PRAGMA cache_size=-524288"))  # 512 MiB
    yield
    # On success only: after a failure a statement here could hide the original error, and
    # a pooled connection keeping the larger cache is harmless.
    await session.execute(text(f"PRAGMA cache_size={int(before or -2000)}"))


def _workers(scale: SeedScale) -> int:
    # One process writing texts keeps ahead of the database; a second one would only take a
    # core from it on a two-core machine (measured).
    return 1 if scale.policies >= PARALLEL_POLICIES else 0


async def _count(session: AsyncSession, model: type[CatalogItem]) -> tuple[int, int]:
    rows = await session.execute(select(model.status, func.count()).group_by(model.status))
    counts: dict[CatalogStatus, int] = {row[0]: row[1] for row in rows}
    published = counts.pop(CatalogStatus.published, 0)
    return published, sum(counts.values())


async def seed_database(
    session: AsyncSession,
    *,
    scale: SeedScale,
    random_seed: int = 2019,
    progress: ProgressCallback | None = None,
    accounts: bool = True,
    workers: int | None = None,
) -> SeedReport:
    """Fill an empty database with the demo dataset, in the caller's transaction.

    Raises :class:`DatabaseNotEmpty` when any organization exists. ``progress`` is told how
    each table goes (see :data:`~app.demo.rows.ProgressCallback`). ``accounts=False`` leaves
    out the demo users and keys (tests that need only data). ``workers``: processes writing
    the policies' texts (by default none at small scales, one at the seed scale); they are
    started with ``spawn``, so a script calling this needs the usual
    ``if __name__ == "__main__"`` guard.
    """
    started = time.perf_counter()
    await ensure_empty(session)
    master = random.Random(random_seed)
    rngs = {name: random.Random(master.getrandbits(64)) for name in SECTIONS}
    demo = None
    bar = Progress(progress)
    async with _bulk_loading(session):
        orgs = await organizations.seed_organizations(
            session, rng=rngs["organizations"], scale=scale, progress=bar
        )
        # Worker processes write the policies' texts while the other sections go in.
        policy_rows = policies.PolicyRows(
            rng=rngs["policies"],
            scale=scale,
            owner_id=orgs.zone.id,
            workers=_workers(scale) if workers is None else workers,
        )
        try:
            if accounts:
                demo = await demo_accounts.seed_accounts(session, organizations=orgs, progress=bar)
            talents = await catalogs.seed_talents(
                session, rng=rngs["talents"], scale=scale, organizations=orgs, progress=bar
            )
            ip_assets = await catalogs.seed_ip_assets(
                session, rng=rngs["ip_assets"], scale=scale, organizations=orgs, progress=bar
            )
            technologies = await catalogs.seed_technologies(
                session,
                rng=rngs["technologies"],
                scale=scale,
                organizations=orgs,
                talents=talents,
                ip_assets=ip_assets,
                progress=bar,
            )
            await policies.seed_policies(session, rows=policy_rows, progress=bar)
        finally:
            policy_rows.close()
        await catalogs.seed_financial_products(
            session, rng=rngs["financial"], organizations=orgs, progress=bar
        )
        planned_deals = deals.plan_seeded_deals(
            rngs["deals"], scale=scale, organizations=orgs, technologies=technologies
        )
        # Some deals are awards of demands: the demands go in first (a deal names its
        # demand), their proposals after the deals (a winning proposal names its deal).
        demand_book = demands.plan_demands(
            rngs["demands"], plan=scale.demands, organizations=orgs, deals=planned_deals
        )
        await demands.write_demands(session, demand_book, bar)
        figures = await deals.write_deals(
            session, rng=rngs["deals"], planned=planned_deals, progress=bar
        )
        await demands.write_proposals(session, demand_book, bar)
        if demo is not None:
            buyer = demands.awaiting_award_owner(demand_book, now=utcnow())
            if buyer is not None:
                await demo_accounts.add_buyer(
                    session, organizations=orgs, enterprise_id=buyer, accounts=demo
                )
        await reviews.write_reviews(
            session, rng=rngs["reviews"], planned=planned_deals, progress=bar
        )
        paid_out = await payouts.write_payouts(session, rng=rngs["payouts"], progress=bar)
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, so the first searches are planned for 100k rows, not for none.
        loaded = (
            Organization,
            *CATALOGS,
            Demand,
            DemandInvitation,
            DemandQuestion,
            Proposal,
            ProposalRevision,
            Deal,
            DealMilestone,
            Review,
            Payout,
            TaxRemittance,
            JournalEntry,
            Posting,
        )
        tables = ", ".join(table_of(model).name for model in loaded)
        await session.execute(text(f"ANALYZE {tables}"))
    # Lists cached from the empty catalogs (a server may already be running) go stale.
    note_changed(session, [model.__tablename__ for model in SEARCHABLE])
    kinds: dict[OrganizationKind, int] = {}
    for org in orgs.all:
        kinds[org.kind] = kinds.get(org.kind, 0) + 1
    published, unpublished = {}, {}
    for model in CATALOGS:
        name = model.__tablename__
        published[name], unpublished[name] = await _count(session, model)
    return SeedReport(
        scale=scale.name,
        random_seed=random_seed,
        organizations=kinds,
        published=published,
        unpublished=unpublished,
        deals=figures,
        demands=demand_book.figures(),
        payouts=paid_out,
        accounts=demo,
        seconds=time.perf_counter() - started,
    )
