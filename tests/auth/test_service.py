"""Auth rules below HTTP: principals, scopes, sign-in counting and token rotation."""

import hashlib
import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import Database
from app.core.errors import Conflict, Forbidden, Unauthorized
from app.core.security import ROLE_SCOPES, Role, Scope, hash_password_sync
from app.models.auth import User
from app.models.ratelimit import RateLimitBucket
from app.routers.deps import RequireScope
from app.services import auth as auth_service
from tests import builders


def test_role_scopes() -> None:
    assert Scope.ledger_read in ROLE_SCOPES[Role.auditor]
    assert Scope.catalog_write not in ROLE_SCOPES[Role.auditor]
    assert Scope.ledger_read not in ROLE_SCOPES[Role.member]
    assert ROLE_SCOPES[Role.admin] == frozenset(Scope)


async def test_require_scope_dependency() -> None:
    require = RequireScope(Scope.ledger_read)
    auditor = builders.principal(Role.auditor)
    assert await require(auditor) is auditor
    with pytest.raises(Forbidden) as denied:
        await require(builders.principal(Role.member))
    assert denied.value.code == "missing_scope"


def test_acts_for_own_organization_only() -> None:
    org = uuid.uuid4()
    assert builders.principal(Role.member, organization_id=org).acts_for(org)
    assert not builders.principal(Role.member, organization_id=org).acts_for(uuid.uuid4())
    assert builders.principal(Role.operator).acts_for(uuid.uuid4())


async def test_an_email_of_any_allowed_length_is_counted_not_a_server_error(
    client: AsyncClient,
) -> None:
    """254 characters fit the form; the counter's key holds a digest of them (the fuzzer's
    253-character username was a 500 on PostgreSQL, whose key column is 200 long)."""
    username = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 58}.cn"
    assert len(username) == 254
    answer = await client.post(
        "/v1/auth/token", data={"username": username, "password": "wrong password!"}
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] == "invalid_credentials"


async def test_failed_sign_ins_are_counted_and_a_success_clears_its_address(
    session: AsyncSession, settings: Settings
) -> None:
    user = await builders.create_user(session)
    address = f"192.0.2.{uuid.uuid4().int % 250}"
    for _ in range(2):
        with pytest.raises(auth_service.InvalidCredentials):
            await auth_service.sign_in(
                session,
                email=user.email,
                password="wrong password!",
                client_address=address,
                settings=settings,
            )
    digest = hashlib.sha256(user.email.encode()).hexdigest()
    account_key = f"sign-in:account:{digest}"
    pair_key = f"sign-in:pair:{digest}:{address}"
    counts = dict((await session.execute(select(RateLimitBucket.key, RateLimitBucket.count))).all())
    assert counts[account_key] == 2
    assert counts[pair_key] == 2
    assert counts[f"sign-in:address:{address}"] == 2

    pair = await auth_service.sign_in(
        session,
        email=user.email,
        password=builders.PASSWORD,
        client_address=address,
        settings=settings,
    )
    assert pair.access_token
    assert pair.refresh_token
    counts = dict((await session.execute(select(RateLimitBucket.key, RateLimitBucket.count))).all())
    assert pair_key not in counts  # this address's failures on the account are cleared
    # The success itself is not counted; the account keeps its failures (an owner signing
    # in does not reset a distributed attacker's count).
    assert counts[account_key] == 2
    assert counts[f"sign-in:address:{address}"] == 2
    await session.refresh(user)
    assert user.last_login_at is not None


async def test_outdated_password_hashes_are_upgraded_on_sign_in(
    session: AsyncSession, settings: Settings
) -> None:
    from argon2 import PasswordHasher

    user = await builders.create_user(session)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(builders.PASSWORD)
    user.password_hash = weak
    await session.commit()
    await auth_service.sign_in(
        session,
        email=user.email,
        password=builders.PASSWORD,
        client_address="192.0.2.200",
        settings=settings,
    )
    assert user.password_hash != weak
    assert user.password_hash.startswith("$argon2id$")


async def test_access_tokens_of_deleted_accounts_are_refused(
    session: AsyncSession, db: Database, settings: Settings
) -> None:
    user = await builders.create_user(session)
    bearer = builders.bearer_for(user, settings)["Authorization"].split()[1]
    principal = await auth_service.authenticate(db, bearer=bearer, settings=settings)
    assert principal.id == user.id
    assert principal.scopes == ROLE_SCOPES[Role.member]
    await session.delete(user)
    await session.commit()
    with pytest.raises(Unauthorized):
        await auth_service.authenticate(db, bearer=bearer, settings=settings)


def test_password_hashes_are_argon2id() -> None:
    assert hash_password_sync("a long enough password").startswith("$argon2id$")


async def test_bootstrap_admin_is_made_only_when_there_is_no_admin(session: AsyncSession) -> None:
    made = await auth_service.bootstrap_admin(
        session, email="Root@Innoshare.test", password="a-long-enough-password"
    )
    assert made.created
    again = await auth_service.bootstrap_admin(
        session, email="other@innoshare.test", password="another-long-password"
    )
    assert not again.created
    admins = (await session.scalars(select(User).where(User.role == Role.admin))).all()
    assert [admin.email for admin in admins] == ["root@innoshare.test"]


async def test_bootstrap_admin_never_changes_an_existing_account(session: AsyncSession) -> None:
    organization = await builders.create_organization(session)
    member = await builders.create_user(session, organization=organization, email="x@y.cn")
    password_hash = member.password_hash
    with pytest.raises(Conflict, match="is not an admin"):
        await auth_service.bootstrap_admin(session, email="x@y.cn", password="a-long-password!")
    await session.refresh(member)
    assert (member.role, member.password_hash) == (Role.member, password_hash)
