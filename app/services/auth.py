"""Sign-in, token rotation, principals, users and API keys."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings
from app.core.db import Database
from app.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from app.core.pagination import KeysetOrder, Page, paginate
from app.core.reads import RowReader
from app.core.security import (
    API_KEY_DISPLAY_LENGTH,
    ROLE_SCOPES,
    Principal,
    PrincipalKind,
    Role,
    Scope,
    create_access_token,
    decode_access_token,
    digest_secret,
    hash_password,
    is_api_key,
    new_api_key,
    new_refresh_token,
    password_needs_rehash,
    verify_password,
)
from app.models.auth import ApiKey, RefreshToken, User
from app.models.orgs import Organization
from app.schemas.auth import ApiKeyCreate, UserCreate, UserUpdate
from app.services import ratelimit as ratelimit_service

API_KEY_WINDOW_SECONDS = 60
LAST_USED_RESOLUTION = timedelta(minutes=1)

USERS_NEWEST_FIRST = KeysetOrder("users:newest", (User.created_at, User.id))
KEYS_NEWEST_FIRST = KeysetOrder("api_keys:newest", (ApiKey.created_at, ApiKey.id))


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    keep_writes = True  # the failed attempt stays counted


class SignInRateLimited(RateLimited):
    code = "too_many_sign_in_failures"
    keep_writes = True


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    keep_writes = True  # the family stays revoked


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


@dataclass(frozen=True, slots=True)
class Identity:
    kind: PrincipalKind
    id: uuid.UUID
    email: str | None
    role: Role
    organization_id: uuid.UUID | None
    scopes: list[Scope]


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A new key with its secret, which exists only until this response is sent."""

    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    created_at: datetime
    key: str


# --- signing in and tokens -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SignInKeys:
    """The failure counters of one attempt: the account from this address, this address over
    every account, and the account over every address. The account is named by a digest of
    its email (an email of up to 254 characters would not fit the key's 200, and the counters
    need not hold addresses of people); a client address is at most 100 characters."""

    pair: str
    address: str
    account: str


def _sign_in_keys(email: str, client_address: str) -> SignInKeys:
    account = hashlib.sha256(email.encode()).hexdigest()
    return SignInKeys(
        pair=f"sign-in:pair:{account}:{client_address}",
        address=f"sign-in:address:{client_address}",
        account=f"sign-in:account:{account}",
    )


async def sign_in(
    session: AsyncSession, *, email: str, password: str, client_address: str, settings: Settings
) -> TokenPair:
    """Exchange a password for tokens; failures are limited so that a stranger cannot lock an
    owner out (docs/decisions.md, "Sign-in limits").

    An address is refused after ``login_max_failures_per_account_address`` failures on one
    account, or ``login_max_failures_per_address`` over all accounts, in a window. The
    account-wide count never refuses an address that has not failed on the account: after
    ``login_max_failures_per_account`` failures it only tightens each address to one. The
    per-address counts are taken first, atomically, so that processes racing can never let
    more than the allowed number through (the account-wide one, a soft threshold, counts only
    attempts let through); a success takes its counts back.
    """
    now = utcnow()
    email = email.strip().lower()
    window = settings.login_window_seconds
    keys = _sign_in_keys(email, client_address)
    pair = await ratelimit_service.hit(session, key=keys.pair, window_seconds=window, now=now)
    address = await ratelimit_service.hit(session, key=keys.address, window_seconds=window, now=now)
    # Read, not counted yet: a refused attempt must not push the account towards its
    # threshold (an attacker's refused retries would tighten the owner's limit).
    account_failures = await ratelimit_service.current(
        session, key=keys.account, window_seconds=window, now=now
    )
    under_attack = account_failures >= settings.login_max_failures_per_account
    pair_limit = 1 if under_attack else settings.login_max_failures_per_account_address
    if pair.count > pair_limit or address.count > settings.login_max_failures_per_address:
        raise SignInRateLimited(
            "Too many failed sign-ins from this address; retry later (other addresses are not"
            " affected).",
            retry_after=pair.retry_after,
        )
    await ratelimit_service.hit(session, key=keys.account, window_seconds=window, now=now)

    user = await session.scalar(select(User).where(User.email == email))
    password_ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not password_ok or not user.is_active:
        raise InvalidCredentials("The email or password is wrong, or the account is disabled.")

    await ratelimit_service.clear(session, key=keys.pair)
    for key in (keys.address, keys.account):
        await ratelimit_service.forgive(session, key=key, window_seconds=window, now=now)
    if password_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    user.last_login_at = now
    return await _issue_tokens(session, user=user, family_id=uuid.uuid4(), settings=settings)


async def _issue_tokens(
    session: AsyncSession, *, user: User, family_id: uuid.UUID, settings: Settings
) -> TokenPair:
    now = utcnow()
    refresh = new_refresh_token()
    session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id,
            token_hash=digest_secret(refresh),
            expires_at=now + timedelta(seconds=settings.refresh_token_ttl_seconds),
        )
    )
    access = create_access_token(
        user_id=user.id,
        role=user.role,
        signing_key=settings.signing_key(),
        ttl_seconds=settings.access_token_ttl_seconds,
        now=now,
    )
    await session.flush()
    return TokenPair(
        access_token=access, refresh_token=refresh, expires_in=settings.access_token_ttl_seconds
    )


async def _revoke_family(session: AsyncSession, family_id: uuid.UUID) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


async def refresh_tokens(
    session: AsyncSession, *, refresh_token: str, settings: Settings
) -> TokenPair:
    """Rotate: the presented token is spent and a new pair issued in the same family.

    A spent or revoked token presented again means it leaked; the whole family is revoked.
    """
    stmt = (
        select(RefreshToken)
        .where(RefreshToken.token_hash == digest_secret(refresh_token))
        .with_for_update()
    )
    token = await session.scalar(stmt)
    if token is None:
        raise Unauthorized("The refresh token is not valid.", code="invalid_refresh_token")
    if token.used_at is not None or token.revoked_at is not None:
        await _revoke_family(session, token.family_id)
        raise RefreshTokenReused(
            "This refresh token was already used or revoked; every session of its family is now"
            " revoked. Sign in again."
        )
    if token.expires_at <= utcnow():
        raise Unauthorized("The refresh token has expired.", code="refresh_token_expired")
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        await _revoke_family(session, token.family_id)
        raise RefreshTokenReused("The account is disabled.", code="account_disabled")
    token.used_at = utcnow()
    return await _issue_tokens(session, user=user, family_id=token.family_id, settings=settings)


async def sign_out(session: AsyncSession, *, refresh_token: str) -> None:
    """Revoke the family of a refresh token; unknown tokens are ignored (nothing to end)."""
    family_id = await session.scalar(
        select(RefreshToken.family_id).where(
            RefreshToken.token_hash == digest_secret(refresh_token)
        )
    )
    if family_id is not None:
        await _revoke_family(session, family_id)


#: The columns an access token's check reads: one primary-key lookup on every signed-in request.
_TOKEN_USERS = RowReader(User, ("role", "organization_id", "is_active"))


async def authenticate(db: Database, *, bearer: str, settings: Settings) -> Principal:
    """Resolve a bearer credential (access token or API key) to a principal, or 401.

    An access token costs one primary-key read of its user on the fast read path
    (:class:`RowReader`), without a unit of work or the ORM: every signed-in request pays it.
    An API key's use is recorded, in a short unit of work of its own, whatever the request
    then does.
    """
    if is_api_key(bearer):
        async with db.unit_of_work(write=True) as session:
            return await _authenticate_api_key(session, key=bearer, settings=settings)
    user_id = decode_access_token(bearer, signing_key=settings.signing_key())
    user = await _TOKEN_USERS.fetch(db.reads, user_id)
    if user is None or not user["is_active"]:
        raise Unauthorized("The account no longer exists or is disabled.", code="invalid_token")
    role = Role(user["role"])
    return Principal(
        kind=PrincipalKind.user,
        id=user_id,
        role=role,
        organization_id=user["organization_id"],
        scopes=ROLE_SCOPES[role],
    )


def principal_of(user: User) -> Principal:
    return Principal(
        kind=PrincipalKind.user,
        id=user.id,
        role=user.role,
        organization_id=user.organization_id,
        scopes=ROLE_SCOPES[user.role],
    )


async def _authenticate_api_key(
    session: AsyncSession, *, key: str, settings: Settings
) -> Principal:
    now = utcnow()
    record = await session.scalar(select(ApiKey).where(ApiKey.key_hash == digest_secret(key)))
    if record is None or record.revoked_at is not None:
        raise Unauthorized("The API key is not valid or was revoked.", code="invalid_api_key")
    if record.expires_at is not None and record.expires_at <= now:
        raise Unauthorized("The API key has expired.", code="api_key_expired")
    usage = await ratelimit_service.hit_now(
        session, key=f"api-key:{record.id}", window_seconds=API_KEY_WINDOW_SECONDS, now=now
    )
    if usage.count > settings.api_key_requests_per_minute:
        raise RateLimited(
            f"This API key may make {settings.api_key_requests_per_minute} requests a minute.",
            code="api_key_rate_limited",
            retry_after=usage.retry_after,
        )
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        record.last_used_at = now
    return Principal(
        kind=PrincipalKind.api_key,
        id=record.id,
        role=Role.member,
        organization_id=record.organization_id,
        scopes=frozenset(Scope(s) for s in record.scopes),
    )


# --- users -----------------------------------------------------------------------------------


def _check_may_manage(principal: Principal, role: Role) -> None:
    """Admins manage everyone; operators manage members only."""
    if principal.kind is not PrincipalKind.user:
        raise Forbidden("API keys cannot manage users.")
    if principal.role is Role.admin:
        return
    if principal.role is Role.operator and role is Role.member:
        return
    raise Forbidden(f"A {principal.role.value} may not manage {role.value} accounts.")


async def check_organization_exists(session: AsyncSession, organization_id: uuid.UUID) -> None:
    if await session.get(Organization, organization_id) is None:
        raise ValidationFailed(
            f"Organization {organization_id} does not exist.", code="unknown_organization"
        )


async def create_user(session: AsyncSession, *, principal: Principal, data: UserCreate) -> User:
    _check_may_manage(principal, data.role)
    return await register_user(
        session,
        email=data.email,
        password=data.password,
        role=data.role,
        organization_id=data.organization_id,
    )


async def register_user(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    role: Role,
    organization_id: uuid.UUID | None,
) -> User:
    """Create an account (also used by the CLI to make the first admin)."""
    email = email.strip().lower()
    if role is Role.member and organization_id is None:
        raise ValidationFailed(
            "A member must belong to an organization.", code="member_without_org"
        )
    if organization_id is not None:
        await check_organization_exists(session, organization_id)
    if await session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"An account with email {email} exists.", code="email_taken")
    user = User(
        email=email,
        password_hash=await hash_password(password),
        role=role,
        organization_id=organization_id,
        is_active=True,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"An account with email {email} exists.", code="email_taken") from exc
    return user


#: The transaction lock of the first admin's creation on PostgreSQL ("innoboot", eight bytes).
BOOTSTRAP_LOCK_KEY = int.from_bytes(b"innoboot", "big")


@dataclass(frozen=True)
class Bootstrap:
    created: bool
    """True when this call made the admin; False when an admin already existed."""


async def bootstrap_admin(session: AsyncSession, *, email: str, password: str) -> Bootstrap:
    """Create the admin ``email`` when the database has no admin; otherwise change nothing.

    Replicas may run this at once: on PostgreSQL they take a transaction lock in turn, on
    SQLite the caller's write transaction (BEGIN IMMEDIATE) already runs them one at a time.
    An account with that email that is not an admin is refused, never changed.
    """
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(BOOTSTRAP_LOCK_KEY)))
    if await session.scalar(select(User.id).where(User.role == Role.admin).limit(1)) is not None:
        return Bootstrap(created=False)
    if await session.scalar(select(User.id).where(User.email == email.strip().lower())):
        raise Conflict(
            f"the account {email} exists and is not an admin; it is left as it is: give"
            " INNOSHARE_BOOTSTRAP_ADMIN_EMAIL another address, or make an admin with"
            " 'innoshare create-user --role admin'",
            code="email_taken",
        )
    await register_user(
        session, email=email, password=password, role=Role.admin, organization_id=None
    )
    return Bootstrap(created=True)


async def get_user(session: AsyncSession, *, principal: Principal, user_id: uuid.UUID) -> User:
    """Staff see every account; anyone sees their own."""
    if not (
        principal.is_staff or (principal.kind is PrincipalKind.user and principal.id == user_id)
    ):
        raise Forbidden("Only staff may look at other accounts.")
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


async def describe_principal(session: AsyncSession, *, principal: Principal) -> Identity:
    """Who the caller is, with the email of a person."""
    email = None
    if principal.kind is PrincipalKind.user:
        email = await session.scalar(select(User.email).where(User.id == principal.id))
    return Identity(
        kind=principal.kind,
        id=principal.id,
        email=email,
        role=principal.role,
        organization_id=principal.organization_id,
        scopes=sorted(principal.scopes),
    )


async def update_user(
    session: AsyncSession, *, principal: Principal, user_id: uuid.UUID, data: UserUpdate
) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    changes = data.model_dump(exclude_unset=True)
    _check_may_manage(principal, user.role)
    if user.id == principal.id and {"role", "is_active"} & changes.keys():
        # Nobody locks themselves out; another admin must do it.
        raise Forbidden("You cannot change your own role or disable yourself.", code="own_account")
    new_role = changes.get("role", user.role)
    _check_may_manage(principal, new_role)
    organization_id = changes.get("organization_id", user.organization_id)
    if new_role is Role.member and organization_id is None:
        raise ValidationFailed(
            "A member must belong to an organization.", code="member_without_org"
        )
    if "organization_id" in changes and organization_id is not None:
        await check_organization_exists(session, organization_id)
    if "password" in changes:
        user.password_hash = await hash_password(changes.pop("password"))
    for field, value in changes.items():
        setattr(user, field, value)
    if changes.get("is_active") is False or "password" in data.model_fields_set:
        # A disabled account or a new password ends every open session.
        await session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    await session.flush()
    return user


async def list_users(
    session: AsyncSession,
    *,
    principal: Principal,
    role: Role | None,
    organization_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> Page[User]:
    if not principal.is_staff or principal.kind is not PrincipalKind.user:
        raise Forbidden("Only admins and operators may list accounts.")
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if organization_id is not None:
        stmt = stmt.where(User.organization_id == organization_id)
    return await paginate(session, stmt, order=USERS_NEWEST_FIRST, limit=limit, cursor=cursor)


# --- API keys --------------------------------------------------------------------------------


def _check_may_manage_keys(principal: Principal, organization_id: uuid.UUID) -> None:
    if principal.kind is not PrincipalKind.user:
        raise Forbidden("API keys cannot manage API keys; sign in as a person.")
    if not principal.acts_for(organization_id):
        raise Forbidden("You may manage the API keys of your own organization only.")


async def create_api_key(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    data: ApiKeyCreate,
) -> IssuedApiKey:
    """Issue a key for an organization with at most the scopes its creator holds."""
    _check_may_manage_keys(principal, organization_id)
    if await session.get(Organization, organization_id) is None:
        raise NotFound(f"Organization {organization_id} does not exist.")
    beyond = set(data.scopes) - principal.scopes
    if beyond:
        names = ", ".join(sorted(s.value for s in beyond))
        raise Forbidden(
            f"You cannot grant scopes you do not hold: {names}.", code="scope_not_grantable"
        )
    if data.expires_at is not None and data.expires_at <= utcnow():
        raise ValidationFailed("expires_at must be in the future.", code="expiry_in_past")
    return await issue_api_key(
        session,
        organization_id=organization_id,
        name=data.name,
        scopes=data.scopes,
        created_by_id=principal.id,
        expires_at=data.expires_at,
    )


async def issue_api_key(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    name: str,
    scopes: list[Scope],
    created_by_id: uuid.UUID | None = None,
    expires_at: datetime | None = None,
) -> IssuedApiKey:
    """Store a new key's digest and return the key itself (also used by the CLI)."""
    key = new_api_key()
    record = ApiKey(
        organization_id=organization_id,
        name=name,
        prefix=key[:API_KEY_DISPLAY_LENGTH],
        key_hash=digest_secret(key),
        scopes=sorted({s.value for s in scopes}),
        created_by_id=created_by_id,
        expires_at=expires_at,
    )
    session.add(record)
    await session.flush()
    return IssuedApiKey(
        id=record.id,
        organization_id=record.organization_id,
        name=record.name,
        prefix=record.prefix,
        scopes=record.scopes,
        expires_at=record.expires_at,
        last_used_at=record.last_used_at,
        revoked_at=record.revoked_at,
        created_at=record.created_at,
        key=key,
    )


async def list_api_keys(
    session: AsyncSession,
    *,
    principal: Principal,
    organization_id: uuid.UUID,
    limit: int,
    cursor: str | None,
) -> Page[ApiKey]:
    _check_may_manage_keys(principal, organization_id)
    stmt = select(ApiKey).where(ApiKey.organization_id == organization_id)
    return await paginate(session, stmt, order=KEYS_NEWEST_FIRST, limit=limit, cursor=cursor)


async def revoke_api_key(
    session: AsyncSession, *, principal: Principal, organization_id: uuid.UUID, key_id: uuid.UUID
) -> None:
    """Revoke at once: the next request with the key gets 401. Revoking twice is harmless."""
    _check_may_manage_keys(principal, organization_id)
    record = await session.get(ApiKey, key_id)
    if record is None or record.organization_id != organization_id:
        raise NotFound(f"API key {key_id} does not exist in organization {organization_id}.")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
    await session.flush()
