"""The demo dataset: the platform as it stood at the end of May 2020, generated.

``seed_database`` fills an empty, migrated database with the figures the platform published
(3,925 talents, 7,884 technologies, 100,000 policies, 12,000 IP assets, 75 universities and
institutes, 40 financial institutions, 64 enterprises), the deals of its first eight months
(9,617,000.00 CNY settled, 1,121,930.00 CNY tax, all 64 enterprises served: see
:class:`DealPlan`) and a few demo accounts. The same random seed writes the same rows, ids and
timestamps included; only the accounts' secrets differ, and the journal entries' ids and
chains (so their hashes), which the ledger draws itself.

Each section is a function taking the session and its own random generator and returning what
later sections need; every section draws from a generator seeded for it alone, so a section
added later (deals) changes none of the others; the policies' rows are written ahead, in a
worker process at the seed scale (:class:`PolicyRows`). Rows go in with bulk
inserts (COPY on PostgreSQL), each table in ``created_at`` order (SQLite's full-text index
ranks by rowid as a proxy of recency), and each catalog's full-text index is built once after
its rows (see :func:`search_index_built_after`). No catalog history is written: the items are
as partners imported them.

The caller runs the whole seed in one transaction: a seed that fails leaves the database as
empty as it found it, so ``innoshare seed --if-empty`` tries again rather than skipping a half
seeded database.
"""

import asyncio
import bisect
import itertools
import math
import random
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import partial
from multiprocessing import get_context
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import search
from app.core.config import DEFAULT_FEE_RATE_BP, DEFAULT_TAX_RATE_BP
from app.core.errors import Conflict
from app.core.security import Role, Scope
from app.models.catalog import CatalogItem, CatalogStatus
from app.models.deals import ContractCategory, Deal, DealMilestone, DealStatus, MilestoneStatus
from app.models.financial_products import FinancialProduct, FinancialProductKind
from app.models.ip_assets import IPAsset, IPKind, LegalStatus
from app.models.ledger import EntryKind
from app.models.orgs import Organization, OrganizationKind
from app.models.policies import Policy
from app.models.talents import Talent
from app.models.technologies import Technology, TransferMode
from app.services import auth as auth_service
from app.services import deals as deals_service
from app.services import financial_products as financial_products_service
from app.services import ip_assets as ip_assets_service
from app.services import talents as talents_service
from app.services import technologies as technologies_service
from app.services.catalog import note_changed, search_columns
from app.services.ip_assets import patent_check_character
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger import posting as ledger_posting
from app.services.ledger.entries import EntryFacts
from app.services.orgs import CREDIT_CODE_ALPHABET, credit_code_check_character
from app.services.seed_corpus import (
    CITY_DIVISIONS,
    CONTRACT_STAGES,
    ENTERPRISE_BRANDS,
    ENTERPRISE_PLACES,
    ENTERPRISE_SUFFIXES,
    FIELDS,
    FINANCIAL_INSTITUTIONS,
    FINANCIAL_KIND_NAMES,
    FINANCIAL_PRODUCTS_BY_INSTITUTION,
    HONOURS,
    IP_KIND_NAMES,
    MARKETPLACE_OPERATOR,
    RESEARCH_CENTRES,
    RESEARCH_INSTITUTES,
    RND_INSTITUTIONS,
    SENIOR_TITLES,
    SERVICE_PROVIDERS,
    TITLES_BY_KIND,
    TRADEMARK_CLASSES,
    UNIVERSITIES,
    WORK_KINDS,
    ZHENGZHOU_DISTRICTS,
    ZHENGZHOU_HIGH_TECH_ZONE,
    ZONE_ADMINISTRATION,
    FieldVocabulary,
    KnownOrganization,
)
from app.services.seed_policies import (
    COVID_OUTBREAK,
    DocumentNumbers,
    PolicyHead,
    decide_head,
    write_policies,
)
from app.services.seed_text import (
    deal_terms,
    deal_title,
    design_title,
    financial_description,
    financial_eligibility,
    ip_summary,
    new_id,
    person_name,
    software_title,
    talent_achievements,
    talent_expertise,
    technology_idea,
    technology_summary,
    technology_title,
    trademark_title,
    utility_model_title,
)

#: The platform went live on this day; the published figures are those of the end of May 2020,
#: on the zone's calendar (Asia/Shanghai): ``?as_of=2020-05-31`` must count every seeded row.
SHANGHAI = ZoneInfo("Asia/Shanghai")
LAUNCH = datetime(2019, 9, 20, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)
AS_OF = datetime(2020, 5, 31, 23, 59, 59, tzinfo=SHANGHAI).astimezone(UTC)
DEMO_EMAIL_DOMAIN = "innoshare.example.org"
INSERT_CHUNK = 2000
POLICY_CHUNK = 4000
#: Above this many policies their text is written by a worker process while rows go in.
PARALLEL_POLICIES = 20_000
SECTIONS = (
    "organizations",
    "talents",
    "ip_assets",
    "technologies",
    "policies",
    "financial",
    "deals",
)


class ScaleName(StrEnum):
    seed = "seed"
    small = "small"


@dataclass(frozen=True, slots=True)
class DealPlan:
    """How many deals end each way by the end of May 2020, and the gross released to sellers
    by then per contract category, in yuan: the ledger's transaction volume, from which the
    default rates (``app.core.config``) make its fee and tax."""

    settled: int
    """Funded and settled, whole or milestone by milestone; every enterprise buys one."""
    funded: int
    """In escrow, awaiting acceptance; every other one has settled its first milestone."""
    open: int
    """Created, not yet paid."""
    cancelled: int
    refunded: int
    """Funded, then refunded; if there are several, the first after settling a milestone."""
    released_yuan: Mapping[ContractCategory, int]

    @property
    def total(self) -> int:
        return self.settled + self.funded + self.open + self.cancelled + self.refunded


@dataclass(frozen=True, slots=True)
class SeedScale:
    """How many of everything: published items (exact), organizations by kind."""

    name: str
    universities: int
    research_institutes: int
    financial_institutions: int
    enterprises: int
    talents: int
    technologies: int
    policies: int
    ip_assets: int
    deals: DealPlan
    unpublished_per_mille: int = 5
    """Drafts and withdrawn items added beyond the published counts, per thousand."""

    def unpublished(self, published: int) -> int:
        return published * self.unpublished_per_mille // 1000


SCALES: dict[ScaleName, SeedScale] = {
    ScaleName.seed: SeedScale(
        name="seed",
        universities=30,
        research_institutes=45,
        financial_institutions=40,
        enterprises=64,
        talents=3925,
        technologies=7884,
        policies=100_000,
        ip_assets=12_000,
        # 9,617,000.00 CNY released, 1,121,930.00 CNY tax at the default rates.
        deals=DealPlan(
            settled=100,
            funded=14,
            open=12,
            cancelled=8,
            refunded=6,
            released_yuan={
                ContractCategory.development: 3_688_000,
                ContractCategory.transfer: 2_726_000,
                ContractCategory.consulting: 1_163_000,
                ContractCategory.service: 2_040_000,
            },
        ),
    ),
    ScaleName.small: SeedScale(
        name="small",
        universities=3,
        research_institutes=5,
        financial_institutions=4,
        enterprises=6,
        talents=40,
        technologies=79,
        policies=1000,
        ip_assets=120,
        # 961,700.00 CNY released, 112,193.00 CNY tax at the default rates.
        deals=DealPlan(
            settled=8,
            funded=2,
            open=1,
            cancelled=1,
            refunded=1,
            released_yuan={
                ContractCategory.development: 368_800,
                ContractCategory.transfer: 272_600,
                ContractCategory.consulting: 116_300,
                ContractCategory.service: 204_000,
            },
        ),
    ),
}


class DatabaseNotEmpty(Conflict):
    code = "database_not_empty"


@dataclass(slots=True)
class DemoAccounts:
    password: str
    """One password for every demo user; random, shown once."""
    users: list[tuple[Role, str]] = field(default_factory=list)
    """(role, e-mail)."""
    api_keys: list[tuple[str, str]] = field(default_factory=list)
    """(organization name, key) of each partner university."""


@dataclass(slots=True)
class SeedReport:
    scale: str
    random_seed: int
    organizations: dict[OrganizationKind, int]
    published: dict[str, int]
    """Published items per catalog: the platform's figures."""
    unpublished: dict[str, int]
    """Drafts and withdrawn items per catalog, beyond the figures."""
    deals: "DealFigures"
    """What the deals add up to: the ledger's figures at the end of May 2020."""
    accounts: DemoAccounts | None
    seconds: float = 0.0


# --- progress ---------------------------------------------------------------------------------


class SeedProgress:
    """One progress-bar task per table, or nothing at all."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """The advance function of the task so described (created on first use)."""
        progress = self._progress
        if progress is None:
            return lambda _advance: None
        if description not in self._tasks:
            self._tasks[description] = progress.add_task(description, total=total)
        task_id = self._tasks[description]
        return lambda advance: progress.advance(task_id, advance)


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[SeedProgress]:
    if not enabled:
        yield SeedProgress(None)
        return
    columns = (
        TextColumn("{task.description:<20}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        yield SeedProgress(progress)


# --- shared pieces ----------------------------------------------------------------------------


def timeline(rng: random.Random, count: int, *, launch_share: float = 0.3) -> list[datetime]:
    """``count`` creation times between launch and the end of May 2020, in order.

    A share arrives in the first three days (partners' initial imports); the rest at a rate
    growing through the period.
    """
    launch_days = timedelta(days=3)
    rest = AS_OF - LAUNCH - launch_days
    times = []
    for _ in range(count):
        if rng.random() < launch_share:
            offset = launch_days * rng.random()
        else:
            offset = launch_days + rest * math.sqrt(rng.random())
        times.append(LAUNCH + timedelta(microseconds=offset // timedelta(microseconds=1)))
    times.sort()
    return times


def statuses(rng: random.Random, published: int, unpublished: int) -> list[CatalogStatus]:
    """``published`` published items and the rest drafts or withdrawn, in random order."""
    result = [CatalogStatus.published] * published + [
        CatalogStatus.draft if rng.random() < 0.6 else CatalogStatus.withdrawn
        for _ in range(unpublished)
    ]
    rng.shuffle(result)
    return result


def workflow(
    item_id: uuid.UUID, owner_id: uuid.UUID, created_at: datetime, status: CatalogStatus
) -> dict[str, Any]:
    """The columns every catalog row has, as a partner import writes them (version 1)."""
    return {
        "id": item_id,
        "owner_id": owner_id,
        "status": status,
        "version": 1,
        "created_at": created_at,
        "updated_at": created_at,
        "published_at": created_at if status is CatalogStatus.published else None,
        "withdrawn_at": created_at if status is CatalogStatus.withdrawn else None,
    }


def allocate(total: int, weights: Sequence[float], minimum: int = 0) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainders), each at least
    ``minimum`` while the total allows."""
    count = len(weights)
    if count == 0:
        return []
    floor = minimum if minimum * count <= total else 0
    remaining = total - floor * count
    weight_sum = sum(weights) or 1.0
    shares = [remaining * w / weight_sum for w in weights]
    result = [floor + int(s) for s in shares]
    by_remainder = sorted(range(count), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in by_remainder[: total - sum(result)]:
        result[i] += 1
    return result


def _table(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


async def insert_rows(
    session: AsyncSession,
    model: type[Any],
    rows: Sequence[dict[str, Any]],
    advance: Callable[[int], None],
) -> None:
    """Bulk inserts in chunks, in the order given: Core executemany, or with asyncpg a binary
    COPY on the session's own connection (same transaction) of the values each column's type
    would bind for an INSERT (COPY costs PostgreSQL and Python a fraction of an INSERT)."""
    if not rows:
        return
    table = _table(model)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if not hasattr(driver, "copy_records_to_table"):  # not asyncpg
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            await session.execute(insert(table), list(chunk))
            advance(len(chunk))
        return
    columns = list(rows[0])
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        records = [
            tuple(
                value if process is None or value is None else process(value)
                for value, process in zip((row[name] for name in columns), processors, strict=True)
            )
            for row in chunk
        ]
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
        advance(len(chunk))


@asynccontextmanager
async def search_index_built_after(
    session: AsyncSession, model: type[CatalogItem], progress: SeedProgress
) -> AsyncIterator[None]:
    """Build a catalog's full-text index once, after its rows are in, instead of row by row.

    Inside the seed's transaction, the objects that index each inserted row (SQLite: the
    AFTER INSERT trigger feeding the FTS5 table; PostgreSQL: the GIN index on the generated
    tsvector) are dropped, the rows inserted, and the objects created again from their own
    saved definitions, the FTS5 table rebuilt from the (previously empty) catalog table. The
    index ends up as the triggers would have left it, two to three times faster. Both
    backends have transactional DDL and the transaction holds the write lock: nobody sees the
    table without its index, and a failed seed rolls it all back.
    """
    table = model.__tablename__
    dialect = session.get_bind().dialect.name
    definitions: list[str] = []
    if dialect == "sqlite":
        fts = search.fts_table(table)
        triggers = await session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table},
        )
        for name, sql in triggers.all():
            if "AFTER INSERT" in sql.upper() and f"INSERT INTO {fts}(" in sql:
                definitions.append(sql)
                await session.execute(text(f'DROP TRIGGER "{name}"'))
    elif dialect == "postgresql":
        indexes = await session.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE schemaname = current_schema() AND tablename = :t"
            ),
            {"t": table},
        )
        for name, definition in indexes.all():
            if search.is_search_index_object(name, "index"):
                definitions.append(definition)
                await session.execute(text(f'DROP INDEX "{name}"'))
    yield
    advance = progress.task("search index", len(CATALOGS))
    if dialect == "postgresql" and definitions:
        await session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for definition in definitions:
        await session.execute(text(definition))
    if dialect == "sqlite" and definitions:
        fts = search.fts_table(table)
        await session.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"))
    advance(1)


CATALOGS: tuple[type[CatalogItem], ...] = (Talent, Technology, Policy, IPAsset, FinancialProduct)


async def insert_catalog_rows(
    session: AsyncSession,
    model: type[CatalogItem],
    rows: Sequence[dict[str, Any]],
    progress: SeedProgress,
    description: str,
) -> None:
    advance = progress.task(description, len(rows))
    async with search_index_built_after(session, model, progress):
        await insert_rows(session, model, rows, advance)


# --- organizations ----------------------------------------------------------------------------


@dataclass(slots=True)
class SeededOrganization:
    id: uuid.UUID
    name: str
    kind: OrganizationKind
    code: str
    """ASCII abbreviation: external ids and demo e-mail domains."""
    region: str
    fields: list[FieldVocabulary]
    weight: float = 1.0
    institution_kind: str | None = None
    """bank, guarantee, insurance or investment (financial institutions)."""
    short: str = ""

    @property
    def email_domain(self) -> str:
        return f"{self.code.lower()}.example.org"

    @property
    def is_research(self) -> bool:
        return self.kind in (
            OrganizationKind.university,
            OrganizationKind.research_institute,
            OrganizationKind.rnd_institution,
        )


@dataclass(slots=True)
class SeededOrganizations:
    all: list[SeededOrganization]
    zone: SeededOrganization
    operator: SeededOrganization

    def of_kind(self, *kinds: OrganizationKind) -> list[SeededOrganization]:
        return [o for o in self.all if o.kind in kinds]

    @property
    def research(self) -> list[SeededOrganization]:
        return [o for o in self.all if o.is_research]


_FIELDS_BY_SHORT = {f.short: f for f in FIELDS}
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organization_code(body: str) -> str:
    """The 9-character organization code (GB 11714) in a credit code: 8 characters and a check."""
    total = sum(
        (int(c) if c.isdigit() else ord(c) - 55) * w
        for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True)
    )
    check = 11 - total % 11
    return body + ("X" if check == 10 else "0" if check == 11 else str(check))


class CreditCodes:
    """Valid, unique unified social credit codes (GB 32100-2015)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def draw(self, rng: random.Random, prefix: str, division: str, *, new_style: bool) -> str:
        while True:
            if new_style:  # issued since 2015: the organization-code part starts with MA
                body = "MA" + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(6))
            else:
                body = rng.choice("4567") + "".join(rng.choice("0123456789") for _ in range(7))
            first_17 = prefix + division + organization_code(body)
            code = first_17 + credit_code_check_character(first_17)
            if code not in self._used:
                self._used.add(code)
                return code


def _division(region: str) -> str:
    for city, division in CITY_DIVISIONS.items():
        if city in region:
            return division
    return "410100"


def _describe(org: SeededOrganization, rng: random.Random) -> str:
    fields = "、".join(f.short for f in org.fields[:3])
    if org.kind is OrganizationKind.university:
        return f"河南省高等学校，在{fields}等领域具有较强的科研实力和成果转化经验。"
    if org.kind in (OrganizationKind.research_institute, OrganizationKind.rnd_institution):
        return f"面向{fields}领域开展应用基础研究、关键技术攻关和成果转化。"
    if org.kind is OrganizationKind.enterprise:
        main = org.fields[0]
        return (
            f"国家高新技术企业，专注于{rng.choice(main.objects)}等产品的研发、生产和销售，"
            f"产品广泛应用于{rng.choice(main.applications)}。"
        )
    if org.kind is OrganizationKind.financial_institution:
        return "为郑州高新区科技型企业提供融资、担保、保险和股权投资等金融服务。"
    if org.kind is OrganizationKind.government:
        return "郑州高新区的管理机构，与服务运营商共同建设协同创新资源开放共享平台。"
    return "协同创新资源开放共享平台的运营和技术转移服务机构。"


async def seed_organizations(
    session: AsyncSession, *, rng: random.Random, scale: SeedScale, progress: SeedProgress
) -> SeededOrganizations:
    """The zone administration, the operator, research organizations, banks and companies."""

    def known(org: KnownOrganization, kind: OrganizationKind) -> SeededOrganization:
        fields = [_FIELDS_BY_SHORT[name] for name in org.fields]
        return SeededOrganization(
            id=new_id(rng),
            name=org.name,
            kind=kind,
            code=org.code,
            region=org.region,
            fields=fields,
            weight=org.weight,
        )

    organizations = [
        known(ZONE_ADMINISTRATION, OrganizationKind.government),
        known(MARKETPLACE_OPERATOR, OrganizationKind.service_provider),
        *(known(o, OrganizationKind.service_provider) for o in SERVICE_PROVIDERS),
        *(known(o, OrganizationKind.university) for o in UNIVERSITIES[: scale.universities]),
    ]
    institutes = [known(o, OrganizationKind.research_institute) for o in RESEARCH_INSTITUTES]
    for index, (name, short) in enumerate(RESEARCH_CENTRES):
        institutes.append(
            SeededOrganization(
                id=new_id(rng),
                name=name,
                kind=OrganizationKind.research_institute,
                code=f"RC{index + 1:02d}",
                region="河南省郑州市",
                fields=[_FIELDS_BY_SHORT[short]],
                weight=round(rng.uniform(0.3, 0.8), 2),
            )
        )
    if scale.research_institutes > len(institutes):
        raise ValueError(f"at most {len(institutes)} research institutes can be seeded")
    organizations += institutes[: scale.research_institutes]
    organizations += [known(o, OrganizationKind.rnd_institution) for o in RND_INSTITUTIONS]

    names: set[str] = {o.name for o in organizations}
    for index in range(scale.enterprises):
        main = FIELDS[index % len(FIELDS)]
        while True:
            name = (
                rng.choice(ENTERPRISE_PLACES)
                + rng.choice(ENTERPRISE_BRANDS)
                + rng.choice(main.brands)
                + rng.choice(ENTERPRISE_SUFFIXES)
            )
            if name not in names:
                break
        names.add(name)
        division, region = rng.choice(ZHENGZHOU_DISTRICTS)
        second = rng.choice(FIELDS) if rng.random() < 0.25 else main
        organizations.append(
            SeededOrganization(
                id=new_id(rng),
                name=name,
                kind=OrganizationKind.enterprise,
                code=f"ENT{index + 1:03d}",
                region=region,
                fields=[main] if second is main else [main, second],
                weight=round(rng.uniform(0.1, 0.5), 2),
            )
        )
    if scale.financial_institutions > len(FINANCIAL_INSTITUTIONS):
        raise ValueError(f"at most {len(FINANCIAL_INSTITUTIONS)} financial institutions")
    for fi in FINANCIAL_INSTITUTIONS[: scale.financial_institutions]:
        organizations.append(
            SeededOrganization(
                id=new_id(rng),
                name=fi.name,
                kind=OrganizationKind.financial_institution,
                code=fi.code,
                region=ZHENGZHOU_HIGH_TECH_ZONE if "高新" in fi.name else "河南省郑州市郑东新区",
                fields=[rng.choice(FIELDS)],
                institution_kind=fi.kind,
                short=fi.short,
            )
        )

    codes = CreditCodes()
    onboarding = LAUNCH - timedelta(days=50)
    rows = []
    for index, org in enumerate(organizations):
        if org.kind is OrganizationKind.government:
            code = codes.draw(rng, "11", "410100", new_style=False)
        elif org.is_research:
            code = codes.draw(rng, "12", _division(org.region), new_style=False)
        else:
            division = (
                "410100"
                if org.kind is OrganizationKind.financial_institution
                else (_division(org.region))
            )
            code = codes.draw(rng, "91", division, new_style=rng.random() < 0.5)
        # The zone and the operator first, then everyone else during the 50 days before launch.
        created = onboarding + timedelta(
            seconds=index if index < 2 else rng.randint(3600, 49 * 86400)
        )
        rows.append(
            {
                "id": org.id,
                "name": org.name,
                "kind": org.kind,
                "credit_code": code,
                "region": org.region,
                "website": _WEBSITES.get(org.name),
                "description": _describe(org, rng),
                "created_at": created,
                "updated_at": created,
            }
        )
    rows.sort(key=lambda r: (r["created_at"], r["id"]))
    await insert_rows(session, Organization, rows, progress.task("organizations", len(rows)))
    return SeededOrganizations(all=organizations, zone=organizations[0], operator=organizations[1])


_WEBSITES = {o.name: o.website for o in UNIVERSITIES if o.website}


# --- accounts ---------------------------------------------------------------------------------


async def seed_accounts(
    session: AsyncSession, *, organizations: SeededOrganizations, progress: SeedProgress
) -> DemoAccounts:
    """An admin, an operator, an auditor, a member of 郑州大学 and a key per university.

    Secrets are random (not derived from the seed): the one password and the keys are
    returned to be shown once.
    """
    universities = organizations.of_kind(OrganizationKind.university)
    member_org = next((o for o in universities if o.name == "郑州大学"), universities[0])
    people = (
        (Role.admin, f"admin@{DEMO_EMAIL_DOMAIN}", organizations.operator.id),
        (Role.operator, f"operator@{DEMO_EMAIL_DOMAIN}", organizations.operator.id),
        (Role.auditor, f"auditor@{DEMO_EMAIL_DOMAIN}", organizations.zone.id),
        (Role.member, f"member.{member_org.code.lower()}@{DEMO_EMAIL_DOMAIN}", member_org.id),
    )
    advance = progress.task("accounts", len(people) + len(universities))
    accounts = DemoAccounts(password=secrets.token_urlsafe(12))
    admin_id = None
    for role, email, organization_id in people:
        user = await auth_service.register_user(
            session,
            email=email,
            password=accounts.password,
            role=role,
            organization_id=organization_id,
        )
        admin_id = admin_id or user.id
        accounts.users.append((role, email))
        advance(1)
    for university in universities:
        issued = await auth_service.issue_api_key(
            session,
            organization_id=university.id,
            name="demo catalog sync",
            scopes=[Scope.catalog_write],
            created_by_id=admin_id,
        )
        accounts.api_keys.append((university.name, issued.key))
        advance(1)
    return accounts


# --- talents ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeededTalent:
    id: str
    field: FieldVocabulary


_AREA_CODES = {
    "洛阳": "0379",
    "新乡": "0373",
    "焦作": "0391",
    "平顶山": "0375",
    "安阳": "0372",
    "许昌": "0374",
    "南阳": "0377",
    "开封": "0371",
}


def _phone(rng: random.Random, region: str) -> str:
    area = next((code for city, code in _AREA_CODES.items() if city in region), "0371")
    return f"{area}-6{rng.randint(0, 9_999_999):07d}"


def _weighted_field(rng: random.Random, org: SeededOrganization) -> FieldVocabulary:
    return rng.choices(org.fields, weights=[1 / (i + 1) for i in range(len(org.fields))])[0]


def _owners(
    rng: random.Random, counts: list[int], orgs: list[SeededOrganization]
) -> list[SeededOrganization]:
    owners = [org for org, n in zip(orgs, counts, strict=True) for _ in range(n)]
    rng.shuffle(owners)
    return owners


async def seed_talents(
    session: AsyncSession,
    *,
    rng: random.Random,
    scale: SeedScale,
    organizations: SeededOrganizations,
    progress: SeedProgress,
) -> dict[uuid.UUID, list[SeededTalent]]:
    """Experts of the research organizations (most) and enterprises; published ones by owner."""
    owners_pool = organizations.research + organizations.of_kind(OrganizationKind.enterprise)
    weights = [o.weight if o.is_research else 0.25 for o in owners_pool]
    total = scale.talents + scale.unpublished(scale.talents)
    counts = allocate(total, [w * rng.uniform(0.8, 1.2) for w in weights], minimum=1)
    owners = _owners(rng, counts, owners_pool)
    states = statuses(rng, scale.talents, total - scale.talents)
    published: dict[uuid.UUID, list[SeededTalent]] = {}
    serials: dict[uuid.UUID, int] = {}
    emails: set[str] = set()
    rows = []
    for created_at, owner, status in zip(timeline(rng, total), owners, states, strict=True):
        fld = _weighted_field(rng, owner)
        name, local = person_name(rng)
        titles = TITLES_BY_KIND[owner.kind.value]
        title = rng.choices([t for t, _ in titles], weights=[w for _, w in titles])[0]
        research = rng.sample(fld.research_fields, rng.randint(2, 4))
        email = f"{local}@{owner.email_domain}"
        suffix = 1
        while email in emails:
            suffix += 1
            email = f"{local}{suffix}@{owner.email_domain}"
        emails.add(email)
        tags = [fld.short]
        if title in SENIOR_TITLES:
            tags += [honour for honour, share in HONOURS if rng.random() < share][:2]
        serials[owner.id] = serials.get(owner.id, 0) + 1
        values = {
            "name": name,
            "title": title,
            "affiliation": owner.name,
            "field": fld.name,
            "research_fields": research,
            "expertise": talent_expertise(rng, fld, research),
            "achievements": talent_achievements(rng, title),
            "contact_email": email,
            "contact_phone": _phone(rng, owner.region),
            "tags": tags,
            "external_id": f"{owner.code}-TAL-{serials[owner.id]:06d}",
        }
        item_id = new_id(rng)
        rows.append(
            values
            | workflow(item_id, owner.id, created_at, status)
            | search_columns(talents_service.SPEC, values)
        )
        if status is CatalogStatus.published:
            published.setdefault(owner.id, []).append(SeededTalent(str(item_id), fld))
    await insert_catalog_rows(session, Talent, rows, progress, "talents")
    return published


# --- IP assets --------------------------------------------------------------------------------

_RESEARCH_IP_KINDS = (
    (IPKind.invention_patent, 58),
    (IPKind.utility_model, 22),
    (IPKind.design_patent, 3),
    (IPKind.software_copyright, 12),
    (IPKind.copyright, 3),
    (IPKind.trademark, 2),
)
_ENTERPRISE_IP_KINDS = (
    (IPKind.invention_patent, 25),
    (IPKind.utility_model, 30),
    (IPKind.design_patent, 10),
    (IPKind.software_copyright, 15),
    (IPKind.copyright, 5),
    (IPKind.trademark, 15),
)
_PATENT_TERMS = {IPKind.invention_patent: 20, IPKind.utility_model: 10, IPKind.design_patent: 10}
_PATENT_KIND_DIGIT = {
    IPKind.invention_patent: ("1", "8"),
    IPKind.utility_model: ("2", "9"),
    IPKind.design_patent: ("3", "3"),
}
#: Days from application to grant or registration.
_EXAMINATION_DAYS = {
    IPKind.invention_patent: (450, 1400),
    IPKind.utility_model: (150, 420),
    IPKind.design_patent: (100, 300),
    IPKind.trademark: (270, 540),
    IPKind.copyright: (30, 90),
    IPKind.software_copyright: (30, 90),
}
EARLIEST_APPLICATION = date(2008, 1, 1)
REFERENCEABLE_IP_KINDS = frozenset(
    {IPKind.invention_patent, IPKind.utility_model, IPKind.design_patent, IPKind.software_copyright}
)


@dataclass(frozen=True, slots=True)
class SeededIPAsset:
    id: str
    field: FieldVocabulary


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years) - timedelta(days=1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class IPNumbers:
    """Valid, unique numbers in the format of each kind (see ip_assets.number_problem)."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def draw(self, rng: random.Random, kind: IPKind, applied: date, registered: date | None) -> str:
        while True:
            number = self._candidate(rng, kind, applied, registered)
            if number not in self._used:
                self._used.add(number)
                return number

    @staticmethod
    def _candidate(rng: random.Random, kind: IPKind, applied: date, registered: date | None) -> str:
        if kind in _PATENT_KIND_DIGIT:
            usual, pct = _PATENT_KIND_DIGIT[kind]
            digit = pct if rng.random() < 0.04 else usual
            first_12 = f"{applied.year}{digit}{rng.randint(0, 9_999_999):07d}"
            return f"{first_12}.{patent_check_character(first_12)}"
        if kind is IPKind.trademark:
            return str(rng.randint(1_000_000, 45_999_999))
        year = (registered or applied).year
        if kind is IPKind.software_copyright:
            return f"{year}SR{rng.randint(0, 1_999_999):07d}"
        letter = rng.choice("AFLL")
        return f"国作登字-{year}-{letter}-{rng.randint(0, 1_999_999):08d}"


def _ip_dates(
    rng: random.Random, kind: IPKind, listed: date
) -> tuple[date, date | None, date | None, LegalStatus]:
    """Application, grant/registration and expiry dates and the legal status on ``listed``."""
    low, high = _EXAMINATION_DAYS[kind]
    registrations = kind in (IPKind.copyright, IPKind.software_copyright)
    latest = listed - timedelta(days=high if registrations else 0)
    days_back = min(int(rng.expovariate(1 / 900)), (latest - EARLIEST_APPLICATION).days)
    applied = latest - timedelta(days=days_back)
    granted: date | None = applied + timedelta(days=rng.randint(low, high))
    if registrations:
        return applied, granted, None, LegalStatus.registered
    assert granted is not None
    if granted > listed:
        return applied, None, None, LegalStatus.pending
    if kind is IPKind.trademark:
        expiry = _years_later(granted, 10)
        status = LegalStatus.expired if expiry < listed else LegalStatus.registered
        return applied, granted, expiry, status
    expiry = _years_later(applied, _PATENT_TERMS[kind])
    if expiry < listed:
        return applied, granted, expiry, LegalStatus.expired
    roll = rng.random()
    if roll < 0.03:
        return applied, granted, expiry, LegalStatus.invalidated
    if roll < 0.08:  # annual fees not paid: lapsed early
        lapsed = granted + timedelta(days=rng.randint(365, 365 * 4))
        if lapsed < listed:
            return applied, granted, lapsed, LegalStatus.expired
    return applied, granted, expiry, LegalStatus.granted


def _ip_title(rng: random.Random, kind: IPKind, fld: FieldVocabulary) -> str:
    if kind is IPKind.invention_patent:
        return technology_title(rng, technology_idea(rng, fld))
    if kind is IPKind.utility_model:
        return utility_model_title(rng, fld)
    if kind is IPKind.design_patent:
        return design_title(rng, fld)
    if kind is IPKind.software_copyright:
        return software_title(rng, fld)
    if kind is IPKind.trademark:
        return f"{trademark_title(rng)}（第{rng.choice(TRADEMARK_CLASSES)}类）"
    work, _ = rng.choice(WORK_KINDS)
    return f"{rng.choice(fld.objects)}{work}"


def _availability(rng: random.Random, kind: IPKind, status: LegalStatus) -> tuple[bool, bool]:
    if status in (LegalStatus.expired, LegalStatus.invalidated):
        return False, False
    if kind is IPKind.trademark:
        return rng.random() < 0.1, rng.random() < 0.2
    if status is LegalStatus.pending:
        return rng.random() < 0.15, rng.random() < 0.1
    if kind is IPKind.copyright:
        return False, rng.random() < 0.15
    return rng.random() < 0.4, rng.random() < 0.55


async def seed_ip_assets(
    session: AsyncSession,
    *,
    rng: random.Random,
    scale: SeedScale,
    organizations: SeededOrganizations,
    progress: SeedProgress,
) -> dict[uuid.UUID, list[SeededIPAsset]]:
    """Patents, software, works and trademarks; the published patents and software by owner."""
    owners_pool = organizations.research + organizations.of_kind(OrganizationKind.enterprise)
    weights = [o.weight if o.is_research else 0.6 for o in owners_pool]
    total = scale.ip_assets + scale.unpublished(scale.ip_assets)
    counts = allocate(total, [w * rng.uniform(0.8, 1.2) for w in weights])
    owners = _owners(rng, counts, owners_pool)
    states = statuses(rng, scale.ip_assets, total - scale.ip_assets)
    numbers = IPNumbers()
    referenceable: dict[uuid.UUID, list[SeededIPAsset]] = {}
    serials: dict[uuid.UUID, int] = {}
    rows = []
    for created_at, owner, status in zip(timeline(rng, total), owners, states, strict=True):
        fld = _weighted_field(rng, owner)
        mix = _RESEARCH_IP_KINDS if owner.is_research else _ENTERPRISE_IP_KINDS
        kind = rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]
        applied, granted, expiry, legal = _ip_dates(rng, kind, created_at.date())
        transfer, license_ = _availability(rng, kind, legal)
        tags = [IP_KIND_NAMES[kind.value], fld.short]
        if transfer:
            tags.append("可转让")
        if license_:
            tags.append("可许可")
        serials[owner.id] = serials.get(owner.id, 0) + 1
        values = {
            "kind": kind,
            "number": numbers.draw(rng, kind, applied, granted),
            "title": _ip_title(rng, kind, fld),
            "holder": owner.name,
            "legal_status": legal,
            "application_date": applied,
            "grant_date": granted,
            "expiry_date": expiry,
            "field": fld.name,
            "summary": ip_summary(rng, fld, IP_KIND_NAMES[kind.value]),
            "available_for_transfer": transfer,
            "available_for_license": license_,
            "tags": tags,
            "external_id": f"{owner.code}-IP-{serials[owner.id]:06d}",
        }
        item_id = new_id(rng)
        rows.append(
            values
            | workflow(item_id, owner.id, created_at, status)
            | search_columns(ip_assets_service.SPEC, values)
        )
        if status is CatalogStatus.published and kind in REFERENCEABLE_IP_KINDS:
            referenceable.setdefault(owner.id, []).append(SeededIPAsset(str(item_id), fld))
    await insert_catalog_rows(session, IPAsset, rows, progress, "IP assets")
    return referenceable


# --- technologies -----------------------------------------------------------------------------

_TRL_WEIGHTS = (2, 3, 5, 10, 14, 16, 15, 10, 5)
_MODE_SHARES = (
    (TransferMode.assignment, 0.5),
    (TransferMode.license, 0.6),
    (TransferMode.equity, 0.15),
    (TransferMode.joint_development, 0.4),
)
_PRICE_FLOORS_WAN = (5, 10, 20, 30, 50, 80, 100)
_PRICE_SPANS = (1, 1.5, 2, 3, 5)
WAN_FEN = 1_000_000
"""One 万元 (10,000 CNY) in fen."""


def _stage_tag(trl: int) -> str:
    return "实验室阶段" if trl <= 4 else "中试阶段" if trl <= 6 else "产业化阶段"


@dataclass(frozen=True, slots=True)
class SeededTechnology:
    id: uuid.UUID
    title: str
    field: FieldVocabulary
    owner: SeededOrganization
    published_at: datetime


async def seed_technologies(
    session: AsyncSession,
    *,
    rng: random.Random,
    scale: SeedScale,
    organizations: SeededOrganizations,
    talents: dict[uuid.UUID, list[SeededTalent]],
    ip_assets: dict[uuid.UUID, list[SeededIPAsset]],
    progress: SeedProgress,
) -> list[SeededTechnology]:
    """Research results of organizations with talents, invented by 1–3 of them, protected by
    0–2 of their IP assets; the published ones in publication order."""
    owners_pool = [o for o in organizations.all if talents.get(o.id)]
    weights = [len(talents[o.id]) * (1.0 if o.is_research else 0.6) for o in owners_pool]
    total = scale.technologies + scale.unpublished(scale.technologies)
    owners = _owners(rng, allocate(total, weights), owners_pool)
    states = statuses(rng, scale.technologies, total - scale.technologies)
    published: list[SeededTechnology] = []
    serials: dict[uuid.UUID, int] = {}
    rows = []
    for created_at, owner, status in zip(timeline(rng, total), owners, states, strict=True):
        staff = talents[owner.id]
        inventors = rng.sample(staff, min(len(staff), rng.choices((1, 2, 3), (35, 40, 25))[0]))
        fld = inventors[0].field
        assets = ip_assets.get(owner.id, [])
        same_field = [a for a in assets if a.field is fld] or assets
        protected = rng.sample(
            same_field, min(len(same_field), rng.choices((0, 1, 2), (35, 45, 20))[0])
        )
        trl = rng.choices(range(1, 10), _TRL_WEIGHTS)[0]
        modes = [mode.value for mode, share in _MODE_SHARES if rng.random() < share]
        modes = modes or [TransferMode.license.value]
        price_min = price_max = None
        if rng.random() >= 0.08:  # the rest are 面议: price on request
            floor = rng.choice(_PRICE_FLOORS_WAN)
            price_min = floor * WAN_FEN
            price_max = min(500, int(floor * rng.choice(_PRICE_SPANS))) * WAN_FEN
            price_max = max(price_min, price_max)
        tags = [fld.short, _stage_tag(trl)]
        if TransferMode.assignment.value in modes:
            tags.append("可转让")
        if TransferMode.license.value in modes:
            tags.append("可许可")
        serials[owner.id] = serials.get(owner.id, 0) + 1
        idea = technology_idea(rng, fld)
        title = technology_title(rng, idea)
        values = {
            "title": title,
            "summary": technology_summary(rng, idea, trl),
            "field": fld.name,
            "trl": trl,
            "transfer_modes": modes,
            "price_min": price_min,
            "price_max": price_max,
            "inventor_ids": [t.id for t in inventors],
            "ip_asset_ids": [a.id for a in protected],
            "tags": tags,
            "external_id": f"{owner.code}-TECH-{serials[owner.id]:06d}",
        }
        item_id = new_id(rng)
        rows.append(
            values
            | workflow(item_id, owner.id, created_at, status)
            | search_columns(technologies_service.SPEC, values)
        )
        if status is CatalogStatus.published:
            published.append(SeededTechnology(item_id, title, fld, owner, created_at))
    await insert_catalog_rows(session, Technology, rows, progress, "technologies")
    return published


# --- policies ---------------------------------------------------------------------------------


class PolicyRows:
    """The policies' rows, written ahead in worker processes while other sections run.

    Heads (issuer, dates, 文号) are decided here, in order, from the section's generator;
    each chunk's text is written from a seed of the chunk's own by ``workers`` processes, or
    here when ``workers`` is 0. The rows are the same either way, and whatever the timing.
    """

    def __init__(
        self, *, rng: random.Random, scale: SeedScale, owner_id: uuid.UUID, workers: int
    ) -> None:
        self.total = scale.policies + scale.unpublished(scale.policies)
        self._rng = rng
        self._chunks = self._heads(scale, owner_id)
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[asyncio.Future[list[dict[str, Any]]]] = deque()
        self._window = 2 * workers + 2
        if workers:
            self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
            self._submit(self._window)

    def _heads(
        self, scale: SeedScale, owner_id: uuid.UUID
    ) -> Iterator[tuple[int, list[PolicyHead]]]:
        rng = self._rng
        numbers = DocumentNumbers()
        states = statuses(rng, scale.policies, self.total - scale.policies)
        created = timeline(rng, self.total, launch_share=0.5)
        for start in range(0, self.total, POLICY_CHUNK):
            heads = [
                decide_head(
                    rng,
                    numbers,
                    workflow(new_id(rng), owner_id, created_at, status),
                    created_at.date(),
                )
                for created_at, status in zip(
                    created[start : start + POLICY_CHUNK],
                    states[start : start + POLICY_CHUNK],
                    strict=True,
                )
            ]
            yield rng.getrandbits(64), heads

    def _submit(self, count: int) -> None:
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        for seed, heads in itertools.islice(self._chunks, count):
            self._pending.append(loop.run_in_executor(self._pool, write_policies, seed, heads))

    async def chunks(self) -> AsyncIterator[list[dict[str, Any]]]:
        if self._pool is None:
            for seed, heads in self._chunks:
                yield write_policies(seed, heads)
            return
        while self._pending:
            rows = await self._pending.popleft()
            self._submit(1)
            yield rows

    def close(self) -> None:
        for future in self._pending:
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


async def seed_policies(session: AsyncSession, *, rows: PolicyRows, progress: SeedProgress) -> None:
    """Policies of the state, the province, the cities and the districts, curated by the zone
    administration (see :class:`PolicyRows`)."""
    advance = progress.task("policies", rows.total)
    async with search_index_built_after(session, Policy, progress):
        async for chunk in rows.chunks():
            await insert_rows(session, Policy, chunk, advance)


# --- financial products -----------------------------------------------------------------------

#: kind → (amount floor range, amount ceiling range) in 万元, (rate low, rate high) in bp,
#: (term low, term high) in months.
_PRODUCT_TERMS: dict[
    FinancialProductKind,
    tuple[tuple[int, int], tuple[int, int], tuple[int, int] | None, tuple[int, int]],
] = {
    FinancialProductKind.sci_tech_credit: ((30, 100), (300, 3000), (385, 650), (6, 36)),
    FinancialProductKind.loan: ((10, 50), (100, 1000), (400, 800), (3, 36)),
    FinancialProductKind.guarantee: ((50, 100), (500, 3000), (80, 200), (6, 36)),
    FinancialProductKind.insurance: ((50, 100), (500, 5000), (50, 300), (12, 36)),
    FinancialProductKind.equity: ((300, 1000), (2000, 10000), None, (36, 96)),
}


def _round_wan(amount: int, step: int) -> int:
    """A round amount of 万元, as products are advertised (30万, 500万)."""
    return max(step, round(amount / step) * step)


async def seed_financial_products(
    session: AsyncSession,
    *,
    rng: random.Random,
    organizations: SeededOrganizations,
    progress: SeedProgress,
) -> dict[uuid.UUID, list[str]]:
    """One to four products of each financial institution; their ids by institution."""
    rows = []
    by_owner: dict[uuid.UUID, list[str]] = {}
    for institution in organizations.of_kind(OrganizationKind.financial_institution):
        assert institution.institution_kind is not None
        offers = FINANCIAL_PRODUCTS_BY_INSTITUTION[institution.institution_kind]
        chosen = rng.sample(offers, min(len(offers), rng.randint(1, 4)))
        for serial, (product, kind_value) in enumerate(chosen, start=1):
            kind = FinancialProductKind(kind_value)
            (floor_lo, floor_hi), (ceil_lo, ceil_hi), rates, (term_lo, term_hi) = _PRODUCT_TERMS[
                kind
            ]
            rate_min = rate_max = None
            if rates is not None:
                rate_min = rng.randint(rates[0], (rates[0] + rates[1]) // 2)
                rate_max = rng.randint(rate_min, rates[1])
            term_min = rng.randint(term_lo, (term_lo + term_hi) // 2)
            fld = rng.choice(FIELDS)
            tags = [FINANCIAL_KIND_NAMES[kind.value], "科技金融"]
            if kind in (FinancialProductKind.loan, FinancialProductKind.sci_tech_credit) and (
                rng.random() < 0.5
            ):
                tags.append("信用贷款")
            values = {
                "name": f"{institution.short}{product}",
                "kind": kind,
                "amount_min": _round_wan(rng.randint(floor_lo, floor_hi), 10) * WAN_FEN,
                "amount_max": _round_wan(rng.randint(ceil_lo, ceil_hi), 100) * WAN_FEN,
                "rate_min_bp": rate_min,
                "rate_max_bp": rate_max,
                "term_min_months": term_min,
                "term_max_months": rng.randint(term_min, term_hi),
                "eligibility": financial_eligibility(rng, kind.value, fld),
                "description": financial_description(rng, kind.value, fld),
                "tags": tags,
                "external_id": f"{institution.code}-FP-{serial:03d}",
            }
            item_id = new_id(rng)
            created_at = timeline(rng, 1, launch_share=0.6)[0]
            if "复工复产" in product and created_at.date() < COVID_OUTBREAK:
                # Offered from February 2020, after the outbreak.
                created_at = datetime(2020, 2, 3, tzinfo=UTC) + (AS_OF - LAUNCH) / 3 * rng.random()
            rows.append(
                values
                | workflow(item_id, institution.id, created_at, CatalogStatus.published)
                | search_columns(financial_products_service.SPEC, values)
            )
            by_owner.setdefault(institution.id, []).append(str(item_id))
    rows.sort(key=lambda r: (r["created_at"], r["id"]))
    await insert_catalog_rows(session, FinancialProduct, rows, progress, "financial products")
    return by_owner


# --- deals ------------------------------------------------------------------------------------

SEED_ACTOR = "system:seed"
"""``created_by`` of the seeded deals and journal entries: the dataset, not a person."""
DEAL_MIN_YUAN = 20_000
DEAL_MAX_YUAN = 800_000
DEAL_STEP_YUAN = 100
"""Contract amounts are whole hundreds of yuan: at the platform's rates every fee and tax is a
whole number of fen, so the plan's figures are exact."""
YUAN_FEN = 100
#: Holidays on the zone's calendar (National Day, New Year, Qingming, Labour Day): what
#: would fall on one happens on the next working day.
DAYS_OFF = (
    (date(2019, 10, 1), date(2019, 10, 7)),
    (date(2020, 1, 1), date(2020, 1, 1)),
    (date(2020, 4, 4), date(2020, 4, 6)),
    (date(2020, 5, 1), date(2020, 5, 5)),
)
#: The Spring Festival, extended for COVID-19 until work resumed on 10 February 2020: nothing
#: was planned for those weeks, so a schedule with a step in them is drawn again (moving its
#: steps to the 10th would make a rush that did not happen).
CLOSED = (date(2020, 1, 24), date(2020, 2, 9))


def working_time(rng: random.Random, after: datetime) -> datetime:
    """A time in office hours (Shanghai) of the first working day on or after ``after``'s."""
    day = after.astimezone(SHANGHAI).date()
    while day.weekday() >= 5 or any(first <= day <= last for first, last in DAYS_OFF):
        day += timedelta(days=1)
    start = datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI)
    return (start + timedelta(seconds=rng.randrange(8 * 3600 + 1800))).astimezone(UTC)


def deal_schedule(
    rng: random.Random,
    earliest: datetime,
    gaps: Sequence[tuple[int, int]],
    *,
    growth: bool = False,
) -> list[datetime]:
    """Working times of a deal's steps: the first on or after ``earliest``, each next one a
    number of days in its gap's range after the previous one, the last by the end of May 2020.
    ``growth``: more deals later, as the platform grew (see :func:`timeline`)."""
    if any(low < 1 for low, _ in gaps):
        raise ValueError("steps are at least a day apart (a step's day comes after the last's)")
    for _ in range(1000):
        days = [rng.uniform(low, high) for low, high in gaps]
        room = AS_OF - timedelta(days=sum(days) + 1) - earliest
        if room <= timedelta(0):
            break
        share = math.sqrt(rng.random()) if growth else rng.random()
        times = [working_time(rng, earliest + room * share)]
        for gap in days:
            times.append(working_time(rng, times[-1] + timedelta(days=gap)))
        closed = any(CLOSED[0] <= t.astimezone(SHANGHAI).date() <= CLOSED[1] for t in times)
        if times[-1] <= AS_OF and not closed:
            return times
    raise ValueError(f"no schedule of {len(gaps)} gaps after {earliest} ends by {AS_OF}")


def split_amount(rng: random.Random, total: int, count: int) -> list[int]:
    """``count`` contract amounts in yuan adding up to ``total``: whole hundreds between the
    smallest and the largest contract, most of them small and a few large (log-normal)."""
    low, high, step = DEAL_MIN_YUAN, DEAL_MAX_YUAN, DEAL_STEP_YUAN
    if total % step or not count * low <= total <= count * high:
        raise ValueError(f"{total} yuan cannot be {count} contracts of {low} to {high} yuan")
    weights = [rng.lognormvariate(0, 0.9) for _ in range(count)]
    unit = total / sum(weights)
    amounts = [min(high, max(low, round(w * unit / step) * step)) for w in weights]
    order = list(range(count))
    rng.shuffle(order)
    missing = total - sum(amounts)
    while missing:  # what rounding and the bounds took or added, on the first with room
        for index in order:
            room = high - amounts[index] if missing > 0 else low - amounts[index]
            move = min(missing, room) if missing > 0 else max(missing, room)
            amounts[index] += move
            missing -= move
            if not missing:
                break
    return amounts


def _contract_amount(rng: random.Random, high: int = DEAL_MAX_YUAN) -> int:
    """A contract amount in yuan, log-uniform: as many 20–40k contracts as 400–800k ones."""
    amount = math.exp(rng.uniform(math.log(DEAL_MIN_YUAN), math.log(high)))
    step = 1000 if amount >= 100_000 else DEAL_STEP_YUAN
    return max(DEAL_MIN_YUAN, min(high, round(amount / step) * step))


def _stage_amounts(rng: random.Random, gross: int, count: int) -> list[int]:
    """The amounts of ``count`` payment stages of a contract, whole hundreds adding up."""
    weights = [rng.uniform(1, 3) for _ in range(count)]
    amounts = [
        max(DEAL_STEP_YUAN, round(gross * w / sum(weights) / DEAL_STEP_YUAN) * DEAL_STEP_YUAN)
        for w in weights[:-1]
    ]
    return [*amounts, gross - sum(amounts)]


@dataclass(slots=True)
class _PlannedDeal:
    """A deal as it stands at the end of May 2020 (amounts in yuan)."""

    id: uuid.UUID
    status: DealStatus
    category: ContractCategory
    gross: int
    stages: list[tuple[str, int]]
    """Payment stages (title, amount); none for a contract settled in one go."""
    released_stages: int
    """How many stages have been settled (settled deals without stages: none, all released)."""
    buyer: SeededOrganization
    times: list[datetime] = field(default_factory=list)
    """Created, then funded or cancelled, then each release, then the refund."""
    technology: SeededTechnology | None = None
    title: str = ""
    terms: str = ""


@dataclass(frozen=True, slots=True)
class DealFigures:
    """What the seeded deals add up to, as the ledger's totals read them."""

    by_status: dict[DealStatus, int]
    transaction_volume_fen: int
    tax_total_fen: int
    fee_total_fen: int
    enterprises_served: int
    entries: int


def _stages(
    rng: random.Random, category: ContractCategory, gross: int, *, required: bool
) -> list[tuple[str, int]]:
    """Payment stages of a contract: none (paid in one go) or 2–4 named ones."""
    names = CONTRACT_STAGES[category.value]
    by_milestone = category in (ContractCategory.development, ContractCategory.transfer)
    if not required and rng.random() >= (0.5 if by_milestone else 0.2):
        return []
    count = rng.choice((2, 3, 4)) if len(names) > 2 else 2
    titles = [*names[: count - 1], names[-1]]
    return list(zip(titles, _stage_amounts(rng, gross, count), strict=True))


def plan_deals(
    rng: random.Random, plan: DealPlan, enterprises: list[SeededOrganization]
) -> list[_PlannedDeal]:
    """Every deal's outcome, category, amounts and buyer; settled deals' amounts make up what
    the plan releases per category, with what the unfinished deals released first."""
    if plan.settled < len(enterprises):
        raise ValueError("every enterprise buys at least one settled deal")
    categories = list(plan.released_yuan)
    weights = [plan.released_yuan[c] for c in categories]
    buyer_weights = [o.weight for o in enterprises]

    def unfinished(status: DealStatus, *, partly_released: bool) -> _PlannedDeal:
        if partly_released:  # paid by milestone: development and transfer contracts
            category = rng.choice(
                (
                    ContractCategory.development,
                    ContractCategory.development,
                    ContractCategory.transfer,
                )
            )
            gross = _contract_amount(rng, high=250_000)
        else:
            category = rng.choices(categories, weights)[0]
            gross = _contract_amount(rng)
        return _PlannedDeal(
            id=new_id(rng),
            status=status,
            category=category,
            gross=gross,
            stages=_stages(rng, category, gross, required=partly_released),
            released_stages=1 if partly_released else 0,
            buyer=rng.choices(enterprises, buyer_weights)[0],
        )

    deals = [unfinished(DealStatus.funded, partly_released=n % 2 == 0) for n in range(plan.funded)]
    deals += [
        unfinished(DealStatus.refunded, partly_released=n == 0 and plan.refunded > 1)
        for n in range(plan.refunded)
    ]
    deals += [unfinished(DealStatus.created, partly_released=False) for _ in range(plan.open)]
    deals += [
        unfinished(DealStatus.cancelled, partly_released=False) for _ in range(plan.cancelled)
    ]
    released = dict.fromkeys(categories, 0)
    for deal in deals:
        released[deal.category] += sum(amount for _, amount in deal.stages[: deal.released_stages])

    settled = []
    for category, count in zip(categories, allocate(plan.settled, weights, minimum=1), strict=True):
        for gross in split_amount(rng, plan.released_yuan[category] - released[category], count):
            stages = _stages(rng, category, gross, required=False)
            settled.append(
                _PlannedDeal(
                    id=new_id(rng),
                    status=DealStatus.settled,
                    category=category,
                    gross=gross,
                    stages=stages,
                    released_stages=len(stages),
                    buyer=enterprises[0],
                )
            )
    rng.shuffle(settled)
    buyers = rng.sample(enterprises, len(enterprises))
    buyers += rng.choices(enterprises, buyer_weights, k=len(settled) - len(enterprises))
    for deal, buyer in zip(settled, buyers, strict=True):
        deal.buyer = buyer
    return settled + deals


def schedule_deal(rng: random.Random, deal: _PlannedDeal) -> list[datetime]:
    """When the deal was created, funded or cancelled, released and refunded."""
    first_day = LAUNCH + timedelta(days=5)  # partners' listings are in by then
    releases = 1 if deal.status is DealStatus.settled and not deal.stages else deal.released_stages
    if not deal.stages:
        release_gaps = [(20, 75)] * releases
    else:
        release_gaps = [(15, 45), (10, 40), (10, 40), (10, 40)][:releases]
    if deal.status is DealStatus.settled:
        return deal_schedule(rng, first_day, [(1, 10), *release_gaps], growth=True)
    if deal.status is DealStatus.funded:  # recent: still in escrow at the end of May
        return deal_schedule(rng, AS_OF - timedelta(days=80), [(1, 7), *release_gaps])
    if deal.status is DealStatus.refunded:
        return deal_schedule(rng, first_day, [(1, 10), *release_gaps, (10, 45)], growth=True)
    if deal.status is DealStatus.cancelled:
        return deal_schedule(rng, first_day, [(2, 20)], growth=True)
    return deal_schedule(rng, AS_OF - timedelta(days=30), [])


def _pick_technology(
    rng: random.Random,
    technologies: list[SeededTechnology],
    published: list[datetime],
    deal: _PlannedDeal,
) -> SeededTechnology:
    """A technology listed a day before the deal, not the buyer's own; mostly in one of the
    buyer's fields and of a university or institute."""
    listed = bisect.bisect_left(published, deal.times[0] - timedelta(days=1))
    for attempt in range(400):
        technology = technologies[rng.randrange(listed)]
        if technology.owner.id == deal.buyer.id:
            continue
        if attempt < 200 and technology.field not in deal.buyer.fields:
            continue
        if attempt < 100 and not technology.owner.is_research and rng.random() < 0.7:
            continue
        return technology
    raise ValueError(f"no technology for {deal.buyer.name} before {deal.times[0]}")


@dataclass(slots=True)
class _Books:
    """The seeded deals' rows and the journal entries they cause, in the order they happen."""

    deals: list[dict[str, Any]] = field(default_factory=list)
    milestones: list[dict[str, Any]] = field(default_factory=list)
    entries: list[tuple[datetime, int, EntryFacts, list[tuple[uuid.UUID, int]]]] = field(
        default_factory=list
    )


def _write_up(
    rng: random.Random,
    deal: _PlannedDeal,
    number: int,
    seller_account: uuid.UUID | None,
    books: _Books,
) -> None:
    """The deal's rows and entries, amounts in fen: funding puts the gross in escrow; each
    release pays the seller net of the fee and tax of everything released so far (rounded half
    up, as ``app.services.deals`` does) less what earlier releases took; a refund returns what
    escrow still holds."""
    assert deal.technology is not None
    gross = deal.gross * YUAN_FEN
    fee_rate = DEFAULT_FEE_RATE_BP[deal.category.value]
    tax_rate = DEFAULT_TAX_RATE_BP[deal.category.value]
    steps = iter(deal.times)
    created = next(steps)
    milestones: list[dict[str, Any]] = [
        {
            "id": new_id(rng),
            "deal_id": deal.id,
            "position": position,
            "amount_fen": amount * YUAN_FEN,
            "status": MilestoneStatus.pending,
            "settled_at": None,
            "title": title,
            "created_at": created,
            "updated_at": created,
        }
        for position, (title, amount) in enumerate(deal.stages, start=1)
    ]
    facts = partial(
        EntryFacts,
        created_by=SEED_ACTOR,
        deal_id=deal.id,
        category=deal.category,
        buyer_id=deal.buyer.id,
        seller_id=deal.technology.owner.id,
    )
    escrow = released = refunded = fee_total = tax_total = 0
    funded_at = closed_at = None
    if deal.status is DealStatus.cancelled:
        closed_at = next(steps)
    elif deal.status is not DealStatus.created:
        funded_at = next(steps)
        books.entries.append(
            (
                funded_at,
                number,
                facts(kind=EntryKind.funding, memo=deals_service.funding_memo(deal.title)),
                deals_service.funding_postings(gross),
            )
        )
        escrow = gross
        parts: list[tuple[int, dict[str, Any] | None]]
        if deal.stages:
            parts = [(m["amount_fen"], m) for m in milestones[: deal.released_stages]]
        else:
            parts = [(gross, None)] if deal.status is DealStatus.settled else []
        for amount, milestone in parts:
            assert seller_account is not None
            at = next(steps)
            release = deals_service.split_release(
                amount,
                released_before_fen=released,
                fee_before_fen=fee_total,
                tax_before_fen=tax_total,
                fee_rate_bp=fee_rate,
                tax_rate_bp=tax_rate,
            )
            released += amount
            fee_total, tax_total = fee_total + release.fee_fen, tax_total + release.tax_fen
            escrow -= amount
            postings = deals_service.settlement_postings(release, seller_account)
            entry = facts(
                kind=EntryKind.settlement,
                milestone_id=milestone["id"] if milestone else None,
                volume_fen=amount,
                fee_fen=release.fee_fen,
                tax_fen=release.tax_fen,
                memo=deals_service.settlement_memo(
                    deal.title, milestone["title"] if milestone else None
                ),
            )
            books.entries.append((at, number, entry, postings))
            if milestone:
                milestone.update(status=MilestoneStatus.settled, settled_at=at, updated_at=at)
            closed_at = at if escrow == 0 else None
        if deal.status is DealStatus.refunded:
            closed_at = next(steps)
            books.entries.append(
                (
                    closed_at,
                    number,
                    facts(kind=EntryKind.refund, memo=deals_service.refund_memo(deal.title)),
                    deals_service.refund_postings(escrow),
                )
            )
            refunded, escrow = escrow, 0
            for milestone in milestones:
                if milestone["status"] is MilestoneStatus.pending:
                    milestone.update(status=MilestoneStatus.refunded, updated_at=closed_at)
    books.deals.append(
        {
            "id": deal.id,
            "created_at": created,
            "updated_at": deal.times[-1],
            "buyer_id": deal.buyer.id,
            "seller_id": deal.technology.owner.id,
            "technology_id": deal.technology.id,
            "status": deal.status,
            "category": deal.category,
            "gross_fen": gross,
            "fee_rate_bp": fee_rate,
            "tax_rate_bp": tax_rate,
            "escrow_fen": escrow,
            "released_fen": released,
            "refunded_fen": refunded,
            "fee_fen": fee_total,
            "tax_fen": tax_total,
            "created_by": SEED_ACTOR,
            "funded_at": funded_at,
            "closed_at": closed_at,
            "version": 1,
            "title": deal.title,
            "terms": deal.terms,
        }
    )
    books.milestones += milestones


async def seed_deals(
    session: AsyncSession,
    *,
    rng: random.Random,
    scale: SeedScale,
    organizations: SeededOrganizations,
    technologies: list[SeededTechnology],
    progress: SeedProgress,
) -> DealFigures:
    """Enterprises' contracts for published technologies, paid through escrow, from launch to
    the end of May 2020: the plan's settled volume (every enterprise served), plus deals
    still in escrow, open, cancelled and refunded.

    Deal and milestone rows go in as the other sections' rows do; every movement of money is
    a journal entry written by :func:`app.services.ledger.post_entry` at the time it happened,
    in time order, so the hash chains and balances are the ledger's own. The ledger draws the
    entries' ids and chains itself: those (and so the hashes) differ from run to run.
    """
    planned = plan_deals(rng, scale.deals, organizations.of_kind(OrganizationKind.enterprise))
    published = [t.published_at for t in technologies]
    for deal in planned:
        deal.times = schedule_deal(rng, deal)
        deal.technology = _pick_technology(rng, technologies, published, deal)
        deal.title = deal_title(rng, deal.category.value, deal.technology.title)
        deal.terms = deal_terms(rng, deal.category.value, deal.stages, deal.gross)
    planned.sort(key=lambda d: (d.times[0], d.id))
    paid = {
        d.technology.owner.id for d in planned if d.technology and d.status is DealStatus.settled
    }
    paid |= {d.technology.owner.id for d in planned if d.technology and d.released_stages}
    accounts = {
        seller: await ledger_accounts.organization_account(session, seller)
        for seller in sorted(paid)
    }
    books = _Books()
    for number, deal in enumerate(planned):
        assert deal.technology is not None
        _write_up(rng, deal, number, accounts.get(deal.technology.owner.id), books)
    books.entries.sort(key=lambda e: (e[0], e[1]))

    advance = progress.task("deals", len(books.deals) + len(books.entries))
    await insert_rows(session, Deal, books.deals, advance)
    await insert_rows(session, DealMilestone, books.milestones, lambda _: None)
    for occurred_at, _, facts, postings in books.entries:
        await ledger_posting.post_entry(session, facts, postings, occurred_at=occurred_at)
        advance(1)

    settlements = [f for _, _, f, _ in books.entries if f.kind is EntryKind.settlement]
    by_status = dict.fromkeys(DealStatus, 0)
    for deal in planned:
        by_status[deal.status] += 1
    return DealFigures(
        by_status=by_status,
        transaction_volume_fen=sum(f.volume_fen for f in settlements),
        tax_total_fen=sum(f.tax_fen for f in settlements),
        fee_total_fen=sum(f.fee_fen for f in settlements),
        enterprises_served=len({f.buyer_id for f in settlements}),
        entries=len(books.entries),
    )


# --- the whole seed ---------------------------------------------------------------------------

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
    progress: bool = False,
    accounts: bool = True,
    workers: int | None = None,
) -> SeedReport:
    """Fill an empty database with the demo dataset, in the caller's transaction.

    Raises :class:`DatabaseNotEmpty` when any organization exists. ``accounts=False`` leaves
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
    with _progress_bar(progress) as bar:
        async with _bulk_loading(session):
            organizations = await seed_organizations(
                session, rng=rngs["organizations"], scale=scale, progress=bar
            )
            # Worker processes write the policies' texts while the other sections go in.
            policy_rows = PolicyRows(
                rng=rngs["policies"],
                scale=scale,
                owner_id=organizations.zone.id,
                workers=_workers(scale) if workers is None else workers,
            )
            try:
                if accounts:
                    demo = await seed_accounts(session, organizations=organizations, progress=bar)
                talents = await seed_talents(
                    session,
                    rng=rngs["talents"],
                    scale=scale,
                    organizations=organizations,
                    progress=bar,
                )
                ip_assets = await seed_ip_assets(
                    session,
                    rng=rngs["ip_assets"],
                    scale=scale,
                    organizations=organizations,
                    progress=bar,
                )
                technologies = await seed_technologies(
                    session,
                    rng=rngs["technologies"],
                    scale=scale,
                    organizations=organizations,
                    talents=talents,
                    ip_assets=ip_assets,
                    progress=bar,
                )
                await seed_policies(session, rows=policy_rows, progress=bar)
            finally:
                policy_rows.close()
            await seed_financial_products(
                session, rng=rngs["financial"], organizations=organizations, progress=bar
            )
            deals = await seed_deals(
                session,
                rng=rngs["deals"],
                scale=scale,
                organizations=organizations,
                technologies=technologies,
                progress=bar,
            )
    if session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, so the first searches are planned for 100k rows, not for none.
        tables = ", ".join(
            [
                "organizations",
                *(m.__tablename__ for m in CATALOGS),
                *("deals", "deal_milestones", "journal_entries", "postings"),
            ]
        )
        await session.execute(text(f"ANALYZE {tables}"))
    # Lists cached from the empty catalogs (a server may already be running) go stale.
    note_changed(session, [model.__tablename__ for model in CATALOGS])
    kinds: dict[OrganizationKind, int] = {}
    for org in organizations.all:
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
        deals=deals,
        accounts=demo,
        seconds=time.perf_counter() - started,
    )
