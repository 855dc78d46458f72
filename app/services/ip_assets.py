"""Intellectual property assets, with their numbers checked in the format of their kind."""

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters
from app.core.errors import FieldError
from app.core.security import Principal
from app.models.ip_assets import IPAsset, IPKind, LegalStatus
from app.services import catalog
from app.services.catalog import CatalogPage, CatalogQuery
from app.services.policies import date_order_errors

# CNIPA application numbers since 2003: year, kind digit, 7-digit serial, check character.
_PATENT = re.compile(r"^(?:CN)?([0-9]{4})([1-9])([0-9]{7})\.([0-9X])$")
_PATENT_KIND_DIGITS = {
    IPKind.invention_patent: {"1", "8"},
    IPKind.utility_model: {"2", "9"},
    IPKind.design_patent: {"3"},
}
_PATENT_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_FORMATS = {
    IPKind.trademark: (re.compile(r"^[0-9]{1,9}$"), "a registration number of up to 9 digits"),
    IPKind.copyright: (
        re.compile(r"^国作登字-[0-9]{4}-[A-L]-[0-9]{8}$"),
        "a work registration number like 国作登字-2020-F-00012345",
    ),
    IPKind.software_copyright: (
        re.compile(r"^[0-9]{4}SR[0-9]{7}$"),
        "a software registration number like 2020SR0123456",
    ),
}


def patent_check_character(first_12_digits: str) -> str:
    """The check character of a CNIPA application number (after the dot)."""
    remainder = sum(int(d) * w for d, w in zip(first_12_digits, _PATENT_WEIGHTS, strict=True)) % 11
    return "X" if remainder == 10 else str(remainder)


def number_problem(kind: IPKind, number: str) -> str | None:
    """Why ``number`` is not a valid number of ``kind``, or None when it is."""
    if kind in _PATENT_KIND_DIGITS:
        match = _PATENT.match(number)
        if match is None:
            return "a patent application number like 202010123456.7"
        year, kind_digit, serial, check = match.groups()
        if kind_digit not in _PATENT_KIND_DIGITS[kind]:
            return f"the kind digit {kind_digit} is not that of a {kind.value.replace('_', ' ')}"
        if patent_check_character(year + kind_digit + serial) != check:
            return "the check character does not match"
        return None
    pattern, description = _FORMATS[kind]
    return None if pattern.match(number) else description


async def check_ip_assets(
    session: AsyncSession, principal: Principal, items: Sequence[Mapping[str, Any]]
) -> list[list[FieldError]]:
    results = []
    for item in items:
        errors = date_order_errors(item, "application_date", "grant_date")
        problem = number_problem(IPKind(item["kind"]), item["number"])
        if problem is not None:
            errors.append(
                FieldError(
                    loc=["body", "number"], message=f"expected {problem}", type="invalid_ip_number"
                )
            )
        results.append(errors)
    return results


SPEC = catalog.CatalogSpec(
    name="ip_assets",
    noun="IP asset",
    model=IPAsset,
    fields=(
        "kind",
        "number",
        "title",
        "holder",
        "legal_status",
        "application_date",
        "grant_date",
        "expiry_date",
        "field",
        "summary",
        "available_for_transfer",
        "available_for_license",
    ),
    title_fields=("title", "number"),
    body_fields=("holder", "field", "summary"),
    facets=("kind", "legal_status", "field", "status", "owner_id"),
    check=check_ip_assets,
    taken_codes={("kind", "number"): "ip_number_taken"},
)


async def list_ip_assets(
    session: AsyncSession,
    *,
    principal: Principal | None,
    query: CatalogQuery,
    kinds: list[IPKind] | None = None,
    legal_statuses: list[LegalStatus] | None = None,
    fields: list[str] | None = None,
    available_for_transfer: bool | None = None,
    available_for_license: bool | None = None,
    applied_from: date | None = None,
    applied_to: date | None = None,
) -> CatalogPage[IPAsset]:
    """IP by kind, legal status, field, availability and application date."""
    query.filter = filters.all_of(
        filters.one_of("kind", kinds),
        filters.one_of("legal_status", legal_statuses),
        filters.one_of("field", fields),
        filters.one_of(
            "available_for_transfer",
            [available_for_transfer] if available_for_transfer is not None else None,
        ),
        filters.one_of(
            "available_for_license",
            [available_for_license] if available_for_license is not None else None,
        ),
        filters.at_least("application_date", applied_from),
        filters.at_most("application_date", applied_to),
    )
    return await catalog.search_items(session, SPEC, principal=principal, query=query)
