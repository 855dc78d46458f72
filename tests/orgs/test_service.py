"""Organization rules: the GB 32100-2015 check character, uniqueness under concurrency."""

import asyncio
import uuid

import pytest
from sqlalchemy import func, select

from app.core.db import Database, create_engine
from app.core.errors import Conflict
from app.core.security import Principal, PrincipalKind, Role
from app.models.orgs import Organization, OrganizationKind
from app.schemas.orgs import OrganizationCreate
from app.services import orgs as orgs_service
from tests import builders

# Published codes of well-known companies.
REAL_CODES = [
    "91440300708461136T",  # 华为技术有限公司
    "9144030071526726XG",  # 深圳市腾讯计算机系统有限公司
    "91110108551385082Q",  # 小米科技有限责任公司
    "91330100716105852F",  # 阿里巴巴(中国)网络技术有限公司
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert orgs_service.is_valid_credit_code(code)
    assert orgs_service.credit_code_check_character(code[:17]) == code[17]


@pytest.mark.parametrize("code", REAL_CODES)
def test_any_single_change_is_caught(code: str) -> None:
    for position in range(18):
        for replacement in orgs_service.CREDIT_CODE_ALPHABET:
            if replacement == code[position]:
                continue
            changed = code[:position] + replacement + code[position + 1 :]
            assert not orgs_service.is_valid_credit_code(changed), changed


@pytest.mark.parametrize(
    "code",
    [
        "",
        "91440300708461136",
        "91440300708461136TT",
        "9144030070846113IT",
        "91440300708461136t",
        "9I440300708461136T",
    ],
)
def test_malformed_codes_are_invalid(code: str) -> None:
    assert not orgs_service.is_valid_credit_code(code)


def test_generated_codes_are_valid() -> None:
    for _ in range(200):
        assert orgs_service.is_valid_credit_code(builders.credit_code())


@pytest.mark.postgres_only
async def test_concurrent_registrations_of_one_code_yield_one_organization(
    migrated_fresh_database_url: str,
) -> None:
    """Two transactions pass the pre-check at once; the unique constraint decides, as a 409."""
    database = Database(create_engine(migrated_fresh_database_url))
    staff = Principal(
        kind=PrincipalKind.user, id=uuid.uuid4(), role=Role.admin, organization_id=None
    )
    gate = asyncio.Barrier(2)

    async def register(name: str) -> str:
        try:
            async with database.unit_of_work(write=True) as session:
                await orgs_service._ensure_credit_code_free(session, REAL_CODES[0])
                await gate.wait()  # both have checked; now both insert
                await orgs_service.create_organization(
                    session,
                    principal=staff,
                    data=OrganizationCreate(
                        name=name, kind=OrganizationKind.enterprise, credit_code=REAL_CODES[0]
                    ),
                )
            return "created"
        except Conflict as conflict:
            return conflict.code

    try:
        outcomes = await asyncio.gather(register("甲"), register("乙"))
        assert sorted(outcomes) == ["created", "credit_code_taken"]
        async with database.unit_of_work(write=False) as session:
            count = await session.scalar(select(func.count()).select_from(Organization))
        assert count == 1
    finally:
        await database.dispose()
