"""The demo's catalogs but the policies: talents, IP assets, technologies and financial
products, as the partners imported them (no catalog history), with the services' own search
columns."""

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.demo.corpus import (
    FIELDS,
    FINANCIAL_KIND_NAMES,
    FINANCIAL_PRODUCTS_BY_INSTITUTION,
    HONOURS,
    IP_KIND_NAMES,
    SENIOR_TITLES,
    TITLES_BY_KIND,
    TRADEMARK_CLASSES,
    WORK_KINDS,
    FieldVocabulary,
)
from app.demo.organizations import SeededOrganization, SeededOrganizations
from app.demo.plan import AS_OF, LAUNCH, SeedScale, allocate, statuses, timeline
from app.demo.policies import COVID_OUTBREAK
from app.demo.rows import Progress, insert_catalog_rows
from app.demo.text import (
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
from app.models.catalog import CatalogStatus
from app.models.financial_products import FinancialProductKind
from app.models.ip_assets import IPKind, LegalStatus
from app.models.orgs import OrganizationKind
from app.models.technologies import TransferMode
from app.services import financial_products as financial_products_service
from app.services import ip_assets as ip_assets_service
from app.services import talents as talents_service
from app.services import technologies as technologies_service
from app.services.catalog import CatalogSpec, imported_row
from app.services.ip_assets import patent_check_character


class _ImportedRows:
    """A catalog's rows as its partners imported them, and each owner's running serial."""

    def __init__(self, spec: CatalogSpec[Any]) -> None:
        self.spec = spec
        self.rows: list[dict[str, Any]] = []
        self._serials: dict[uuid.UUID, int] = {}

    def external_id(self, owner: SeededOrganization, kind: str) -> str:
        """The owner's next id of the kind in its own system: ``ZZU-TAL-000001``."""
        self._serials[owner.id] = serial = self._serials.get(owner.id, 0) + 1
        return f"{owner.code}-{kind}-{serial:06d}"

    def add(
        self,
        values: dict[str, Any],
        *,
        item_id: uuid.UUID,
        owner: SeededOrganization,
        status: CatalogStatus,
        at: datetime,
    ) -> uuid.UUID:
        """The item's row, as the import creates it; returns its id."""
        row = imported_row(
            self.spec, values, item_id=item_id, owner_id=owner.id, status=status, at=at
        )
        self.rows.append(row)
        return item_id

    async def insert(self, session: AsyncSession, progress: Progress, description: str) -> None:
        await insert_catalog_rows(session, self.spec.model, self.rows, progress, description)


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


def _research_or_enterprise_owners(
    rng: random.Random,
    organizations: SeededOrganizations,
    total: int,
    *,
    enterprise_weight: float,
    minimum: int = 0,
) -> list[SeededOrganization]:
    """The owners of ``total`` items, in random order: research organizations by their weight,
    enterprises by ``enterprise_weight``, each give or take a fifth."""
    pool = organizations.research + organizations.of_kind(OrganizationKind.enterprise)
    weights = [o.weight if o.is_research else enterprise_weight for o in pool]
    counts = allocate(total, [w * rng.uniform(0.8, 1.2) for w in weights], minimum=minimum)
    return _owners(rng, counts, pool)


async def seed_talents(
    session: AsyncSession,
    *,
    rng: random.Random,
    scale: SeedScale,
    organizations: SeededOrganizations,
    progress: Progress,
) -> dict[uuid.UUID, list[SeededTalent]]:
    """Experts of the research organizations (most) and enterprises; published ones by owner."""
    total = scale.talents + scale.unpublished(scale.talents)
    owners = _research_or_enterprise_owners(
        rng, organizations, total, enterprise_weight=0.25, minimum=1
    )
    states = statuses(rng, scale.talents, total - scale.talents)
    published: dict[uuid.UUID, list[SeededTalent]] = {}
    emails: set[str] = set()
    rows = _ImportedRows(talents_service.SPEC)
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
            "external_id": rows.external_id(owner, "TAL"),
        }
        item_id = rows.add(values, item_id=new_id(rng), owner=owner, status=status, at=created_at)
        if status is CatalogStatus.published:
            published.setdefault(owner.id, []).append(SeededTalent(str(item_id), fld))
    await rows.insert(session, progress, "talents")
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
    progress: Progress,
) -> dict[uuid.UUID, list[SeededIPAsset]]:
    """Patents, software, works and trademarks; the published patents and software by owner."""
    total = scale.ip_assets + scale.unpublished(scale.ip_assets)
    owners = _research_or_enterprise_owners(rng, organizations, total, enterprise_weight=0.6)
    states = statuses(rng, scale.ip_assets, total - scale.ip_assets)
    numbers = IPNumbers()
    referenceable: dict[uuid.UUID, list[SeededIPAsset]] = {}
    rows = _ImportedRows(ip_assets_service.SPEC)
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
            "external_id": rows.external_id(owner, "IP"),
        }
        item_id = rows.add(values, item_id=new_id(rng), owner=owner, status=status, at=created_at)
        if status is CatalogStatus.published and kind in REFERENCEABLE_IP_KINDS:
            referenceable.setdefault(owner.id, []).append(SeededIPAsset(str(item_id), fld))
    await rows.insert(session, progress, "IP assets")
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
    progress: Progress,
) -> list[SeededTechnology]:
    """Research results of organizations with talents, invented by 1–3 of them, protected by
    0–2 of their IP assets; the published ones in publication order."""
    owners_pool = [o for o in organizations.all if talents.get(o.id)]
    weights = [len(talents[o.id]) * (1.0 if o.is_research else 0.6) for o in owners_pool]
    total = scale.technologies + scale.unpublished(scale.technologies)
    owners = _owners(rng, allocate(total, weights), owners_pool)
    states = statuses(rng, scale.technologies, total - scale.technologies)
    published: list[SeededTechnology] = []
    rows = _ImportedRows(technologies_service.SPEC)
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
            "external_id": rows.external_id(owner, "TECH"),
        }
        item_id = rows.add(values, item_id=new_id(rng), owner=owner, status=status, at=created_at)
        if status is CatalogStatus.published:
            published.append(SeededTechnology(item_id, title, fld, owner, created_at))
    await rows.insert(session, progress, "technologies")
    return published


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
    progress: Progress,
) -> dict[uuid.UUID, list[str]]:
    """One to four products of each financial institution; their ids by institution."""
    rows = _ImportedRows(financial_products_service.SPEC)
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
            rows.add(
                values,
                item_id=item_id,
                owner=institution,
                status=CatalogStatus.published,
                at=created_at,
            )
            by_owner.setdefault(institution.id, []).append(str(item_id))
    rows.rows.sort(key=lambda r: (r["created_at"], r["id"]))
    await rows.insert(session, progress, "financial products")
    return by_owner
