"""The demo's organizations: the zone administration, the operator, universities and
institutes, financial institutions and enterprises, with valid unified social credit codes."""

import random
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import bulk
from app.demo.corpus import (
    CITY_DIVISIONS,
    ENTERPRISE_BRANDS,
    ENTERPRISE_PLACES,
    ENTERPRISE_SUFFIXES,
    FIELDS,
    FINANCIAL_INSTITUTIONS,
    MARKETPLACE_OPERATOR,
    RESEARCH_CENTRES,
    RESEARCH_INSTITUTES,
    RND_INSTITUTIONS,
    SERVICE_PROVIDERS,
    UNIVERSITIES,
    ZHENGZHOU_DISTRICTS,
    ZHENGZHOU_HIGH_TECH_ZONE,
    ZONE_ADMINISTRATION,
    FieldVocabulary,
    KnownOrganization,
)
from app.demo.plan import LAUNCH, SeedScale
from app.demo.rows import Progress
from app.demo.text import new_id
from app.models.orgs import Organization, OrganizationKind
from app.services.orgs import CREDIT_CODE_ALPHABET, credit_code_check_character, search_columns


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
    session: AsyncSession, *, rng: random.Random, scale: SeedScale, progress: Progress
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

    def made_up(
        name: str,
        kind: OrganizationKind,
        code: str,
        region: str,
        fields: list[FieldVocabulary],
        weights: tuple[float, float],
    ) -> SeededOrganization:
        """One the dataset makes up: its id, then its weight in the range, drawn."""
        return SeededOrganization(
            id=new_id(rng),
            name=name,
            kind=kind,
            code=code,
            region=region,
            fields=fields,
            weight=round(rng.uniform(*weights), 2),
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
            made_up(
                name,
                OrganizationKind.research_institute,
                f"RC{index + 1:02d}",
                "河南省郑州市",
                [_FIELDS_BY_SHORT[short]],
                (0.3, 0.8),
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
        fields = [main] if second is main else [main, second]
        organizations.append(
            made_up(
                name, OrganizationKind.enterprise, f"ENT{index + 1:03d}", region, fields, (0.1, 0.5)
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
        description = _describe(org, rng)
        rows.append(
            {
                "id": org.id,
                "name": org.name,
                "kind": org.kind,
                "credit_code": code,
                "region": org.region,
                "website": _WEBSITES.get(org.name),
                "description": description,
                "created_at": created,
                "updated_at": created,
                **search_columns(org.name, description, org.region),
            }
        )
    rows.sort(key=lambda r: (r["created_at"], r["id"]))
    await bulk.copy_rows(session, Organization, rows, progress.task("organizations", len(rows)))
    return SeededOrganizations(all=organizations, zone=organizations[0], operator=organizations[1])


_WEBSITES = {o.name: o.website for o in UNIVERSITIES if o.website}
