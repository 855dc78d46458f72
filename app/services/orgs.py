"""Organizations: registration, profile updates, lookup and listing."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.search import index_text
from app.core.search_index import IndexLayout
from app.core.security import Principal, PrincipalKind, Role
from app.core.sql import table_of
from app.models.orgs import Organization, OrganizationKind
from app.schemas.orgs import OrganizationCreate, OrganizationUpdate
from app.services import catalog as catalog_service
from app.services import reviews as reviews_service

# GB 32100-2015: 31 symbols (no I, O, S, V, Z) and the weights 3^(i) mod 31 of positions 1–17.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_STAFF_ONLY_FIELDS = frozenset({"kind", "credit_code"})

NEWEST_FIRST = KeysetOrder("organizations:newest", (Organization.created_at, Organization.id))

#: Organizations in each process's search index (service providers are matched with service
#: demands, app/services/matching.py), under this generation name.
INDEX_NAME = "organizations"
INDEX_LAYOUT = IndexLayout(table_of(Organization))


def search_columns(name: str | None, description: str | None, region: str | None) -> dict[str, str]:
    """An organization's search text: the name as the title; description and region."""
    return {
        "search_title": index_text(name),
        "search_body": index_text(description, region),
    }


def _index_changed(session: AsyncSession, organization: Organization) -> None:
    """Write the search text of the organization as it now reads, and have the search index
    follow once the transaction commits."""
    values = search_columns(organization.name, organization.description, organization.region)
    for column, value in values.items():
        setattr(organization, column, value)
    catalog_service.note_changed(session, [INDEX_NAME])


def credit_code_check_character(first_17: str) -> str:
    """The 18th character of a unified social credit code, computed from the first 17."""
    total = sum(
        CREDIT_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(first_17, _CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """Length, alphabet, a numeric administrative-division part, and the check character."""
    if len(code) != 18 or any(char not in CREDIT_CODE_ALPHABET for char in code):
        return False
    if not code[2:8].isdigit():
        return False
    return credit_code_check_character(code[:17]) == code[17]


def _check_credit_code(code: str) -> None:
    if not is_valid_credit_code(code):
        raise ValidationFailed(
            f"{code} is not a valid unified social credit code (GB 32100-2015 check failed).",
            code="invalid_credit_code",
            errors=[
                FieldError(
                    loc=["body", "credit_code"],
                    message="not a valid unified social credit code",
                    type="invalid_credit_code",
                )
            ],
        )


async def _ensure_credit_code_free(
    session: AsyncSession, code: str, *, other_than: uuid.UUID | None = None
) -> None:
    stmt = select(Organization.id).where(Organization.credit_code == code)
    if other_than is not None:
        stmt = stmt.where(Organization.id != other_than)
    if await session.scalar(stmt) is not None:
        raise Conflict(
            f"An organization with credit code {code} is already registered.",
            code="credit_code_taken",
        )


async def _flush_unique(session: AsyncSession, code: str | None) -> None:
    """Flush, turning a lost race on the credit-code constraint into a 409."""
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(
            f"An organization with credit code {code} is already registered.",
            code="credit_code_taken",
        ) from exc


async def create_organization(
    session: AsyncSession, *, principal: Principal, data: OrganizationCreate
) -> Organization:
    """Register an organization; admins and operators only."""
    principal.require_role(Role.admin, Role.operator)
    if data.credit_code is not None:
        _check_credit_code(data.credit_code)
        await _ensure_credit_code_free(session, data.credit_code)
    organization = Organization(**data.model_dump())
    _index_changed(session, organization)
    session.add(organization)
    await _flush_unique(session, data.credit_code)
    return organization


async def get_organization(session: AsyncSession, *, organization_id: uuid.UUID) -> Organization:
    organization = await session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(f"Organization {organization_id} does not exist.")
    return organization


@dataclass(frozen=True, slots=True)
class OrganizationProfile:
    """An organization's public profile: its row, and its rating over the reviews it received
    that show and are not hidden (issue 15)."""

    organization: Organization
    rating_count: int
    rating_average_tenths: int | None
    """The mean rating in tenths of a star (43 = 4.3), rounded half up; None without reviews."""

    def __getattr__(self, name: str) -> Any:
        # the profile reads as the organization for every other field
        return getattr(self.organization, name)


async def get_organization_profile(
    session: AsyncSession, *, organization_id: uuid.UUID
) -> OrganizationProfile:
    """One organization with its rating."""
    organization = await get_organization(session, organization_id=organization_id)
    rating = await reviews_service.rating_of(session, organization_id=organization.id)
    return OrganizationProfile(
        organization=organization,
        rating_count=rating.count,
        rating_average_tenths=rating.average_tenths,
    )


async def update_organization(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    data: OrganizationUpdate,
) -> Organization:
    """Staff change anything; a signed-in member edits the profile of their own organization."""
    organization = await get_organization(session, organization_id=organization_id)
    changes = data.model_dump(exclude_unset=True)
    if not principal.is_staff:
        if principal.kind is not PrincipalKind.user or principal.organization_id != organization.id:
            raise Forbidden("Only staff or members of this organization may edit it.")
        if _STAFF_ONLY_FIELDS & changes.keys():
            fields = ", ".join(sorted(_STAFF_ONLY_FIELDS & changes.keys()))
            raise Forbidden(f"Only staff may change {fields}.", code="forbidden_field")
    code = changes.get("credit_code")
    if code is not None and code != organization.credit_code:
        _check_credit_code(code)
        await _ensure_credit_code_free(session, code, other_than=organization.id)
    for field, value in changes.items():
        setattr(organization, field, value)
    _index_changed(session, organization)
    await _flush_unique(session, code)
    return organization


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_organizations(
    session: AsyncSession,
    *,
    q: str | None = None,
    kinds: list[OrganizationKind] | None = None,
    limit: int,
    cursor: str | None,
) -> Page[Organization]:
    """Newest first; ``q`` matches a substring of the name, region or credit code."""
    stmt = select(Organization)
    if kinds:
        stmt = stmt.where(Organization.kind.in_(kinds))
    if q:
        pattern = f"%{_escape_like(q.lower())}%"
        conditions: list[ColumnElement[bool]] = [
            func.lower(Organization.name).like(pattern, escape="\\"),
            func.lower(Organization.region).like(pattern, escape="\\"),
            func.lower(Organization.credit_code).like(pattern, escape="\\"),
        ]
        stmt = stmt.where(or_(*conditions))
    return await paginate(session, stmt, order=NEWEST_FIRST, limit=limit, cursor=cursor)
