"""One valid body per catalog, and what differs between catalogs, for parametrized tests."""

from dataclasses import dataclass, field
from typing import Any

from app.models.orgs import OrganizationKind
from app.services.ip_assets import patent_check_character


def patent_number(year: int = 2019, kind_digit: str = "1", serial: int = 123456) -> str:
    first = f"{year}{kind_digit}{serial:07d}"
    return f"{first}.{patent_check_character(first)}"


@dataclass(frozen=True)
class CatalogCase:
    name: str
    path: str
    body: dict[str, Any]
    change: dict[str, Any]
    """A valid partial update."""
    invalid: list[dict[str, Any]]
    """Bodies that must be refused with 422."""
    owner_kind: OrganizationKind = OrganizationKind.university
    staff_only: bool = False
    importable: bool = True
    title_field: str = "title"
    extra: dict[str, Any] = field(default_factory=dict)


CASES = [
    CatalogCase(
        name="technologies",
        path="/v1/technologies",
        body={
            "title": "一种盾构机刀盘磨损在线监测装置及方法",
            "summary": "实时估计滚刀磨损量, 指导换刀作业。",
            "field": "盾构装备",
            "trl": 6,
            "transfer_modes": ["license", "joint_development"],
            "price_min": "500000.00",
            "price_max": "2000000.00",
            "tags": ["盾构"],
        },
        change={"trl": 7, "price_max": "2500000.50"},
        invalid=[
            {"title": "x", "trl": 0},
            {"title": "x", "trl": 10},
            {"title": "x", "trl": 5, "price_min": "10.00", "price_max": "5.00"},
            {"title": "x", "trl": 5, "price_min": 100},
            {"title": "x", "trl": 5, "price_min": "1.234"},
            {"title": "x", "trl": 5, "transfer_modes": ["sale"]},
            {"title": "x", "trl": 5, "inventor_ids": ["not-a-uuid"]},
        ],
    ),
    CatalogCase(
        name="talents",
        path="/v1/talents",
        title_field="name",
        body={
            "name": "张建国",
            "title": "教授",
            "affiliation": "郑州大学",
            "field": "盾构装备",
            "research_fields": ["隧道掘进"],
            "contact_email": "zhang@zzu.edu.cn",
            "contact_phone": "+86 371 6778 0000",
        },
        change={"title": "二级教授"},
        invalid=[{"name": ""}, {"name": "x", "contact_email": "not-an-email"}],
    ),
    CatalogCase(
        name="policies",
        path="/v1/policies",
        staff_only=True,
        importable=False,
        owner_kind=OrganizationKind.government,
        body={
            "title": "郑州高新区关于支持科技型企业发展的若干政策",
            "issuing_authority": "郑州高新技术产业开发区管理委员会",
            "level": "district",
            "document_number": "郑开管〔2020〕8号",
            "issue_date": "2020-03-18",
            "effective_date": "2020-04-01",
            "category": "科技创新",
        },
        change={"expiry_date": "2022-12-31"},
        invalid=[
            {
                "title": "x",
                "issuing_authority": "y",
                "level": "village",
                "issue_date": "2020-01-01",
            },
            {
                "title": "x",
                "issuing_authority": "y",
                "level": "national",
                "issue_date": "2020-05-01",
                "effective_date": "2020-04-01",
            },
        ],
    ),
    CatalogCase(
        name="ip_assets",
        path="/v1/ip-assets",
        body={
            "kind": "invention_patent",
            "number": patent_number(),
            "title": "一种盾构机滚刀磨损检测方法",
            "holder": "郑州大学",
            "legal_status": "granted",
            "application_date": "2019-02-14",
            "grant_date": "2020-05-08",
            "available_for_license": True,
        },
        change={"legal_status": "expired"},
        invalid=[
            {
                "kind": "invention_patent",
                "number": "201910123456.0",
                "title": "x",
                "legal_status": "granted",
            },  # wrong check character
            {
                "kind": "utility_model",
                "number": patent_number(),
                "title": "x",
                "legal_status": "granted",
            },  # an invention number
            {
                "kind": "software_copyright",
                "number": "2020XX0123456",
                "title": "x",
                "legal_status": "registered",
            },
            {
                "kind": "invention_patent",
                "number": patent_number(),
                "title": "x",
                "legal_status": "granted",
                "application_date": "2020-01-01",
                "grant_date": "2019-01-01",
            },
        ],
    ),
    CatalogCase(
        name="financial_products",
        path="/v1/financial-products",
        title_field="name",
        importable=False,
        owner_kind=OrganizationKind.financial_institution,
        body={
            "name": "科技贷 · 研发贷",
            "kind": "sci_tech_credit",
            "amount_min": "500000.00",
            "amount_max": "10000000.00",
            "rate_min_bp": 385,
            "rate_max_bp": 480,
            "term_min_months": 6,
            "term_max_months": 36,
        },
        change={"rate_min_bp": 365},
        invalid=[
            {"name": "x", "kind": "lottery"},
            {"name": "x", "kind": "loan", "rate_min_bp": 500, "rate_max_bp": 400},
            {"name": "x", "kind": "loan", "amount_min": 1.5},
        ],
    ),
]

CASE_IDS = [case.name for case in CASES]


def case_named(name: str) -> CatalogCase:
    """The case of the catalog called ``name``."""
    [case] = [c for c in CASES if c.name == name]
    return case
