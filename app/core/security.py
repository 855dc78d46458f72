"""Password hashing, access tokens, opaque secrets (refresh tokens, API keys), principals."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import anyio.to_thread
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.core.calendar import utcnow
from app.core.errors import Forbidden, Unauthorized

ACCESS_TOKEN_ALGORITHM = "HS256"
ACCESS_TOKEN_ISSUER = "innoshare"
ACCESS_TOKEN_AUDIENCE = "innoshare-api"
API_KEY_PREFIX = "isk_"
REFRESH_TOKEN_PREFIX = "isr_"
API_KEY_DISPLAY_LENGTH = len(API_KEY_PREFIX) + 8


class Role(StrEnum):
    admin = "admin"
    operator = "operator"
    member = "member"
    auditor = "auditor"


class Scope(StrEnum):
    catalog_write = "catalog:write"
    demands_write = "demands:write"
    deals_write = "deals:write"
    ledger_read = "ledger:read"
    subscriptions_write = "subscriptions:write"


#: What a signed-in person of each role may do; API keys carry an explicit subset.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.admin: frozenset(Scope),
    Role.operator: frozenset(Scope),
    Role.member: frozenset(
        {Scope.catalog_write, Scope.demands_write, Scope.deals_write, Scope.subscriptions_write}
    ),
    Role.auditor: frozenset({Scope.ledger_read}),
}


class PrincipalKind(StrEnum):
    user = "user"
    api_key = "api_key"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a signed-in user or an API key, resolved to one shape."""

    kind: PrincipalKind
    id: uuid.UUID
    role: Role
    organization_id: uuid.UUID | None
    scopes: frozenset[Scope] = field(default_factory=frozenset)

    @property
    def label(self) -> str:
        """``user:<id>`` or ``api_key:<id>``: who acted, as the ledger and idempotency keys
        record it."""
        return f"{self.kind.value}:{self.id}"

    @property
    def is_staff(self) -> bool:
        """Admins and operators act across organizations."""
        return self.role in (Role.admin, Role.operator)

    def has_scope(self, scope: Scope) -> bool:
        return scope in self.scopes

    def require_scope(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This needs the scope {scope.value}.", code="missing_scope")

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(role.value for role in roles)
            raise Forbidden(f"This needs one of the roles: {allowed}.", code="forbidden_role")

    def acts_for(self, organization_id: uuid.UUID) -> bool:
        """Staff act for every organization; members and keys only for their own."""
        return self.is_staff or self.organization_id == organization_id


# --- passwords -------------------------------------------------------------------------------

_password_hasher = PasswordHasher()  # argon2id with the library's current recommended costs
_DUMMY_HASH = _password_hasher.hash(secrets.token_urlsafe(16))


def hash_password_sync(password: str) -> str:
    return _password_hasher.hash(password)


async def hash_password(password: str) -> str:
    """Hash off the event loop: argon2 is deliberately slow."""
    return await anyio.to_thread.run_sync(_password_hasher.hash, password)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _password_hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown account) spend the same time and say no."""
    return await anyio.to_thread.run_sync(_verify, password_hash, password)


def password_needs_rehash(password_hash: str) -> bool:
    return _password_hasher.check_needs_rehash(password_hash)


# --- access tokens (JWT) ---------------------------------------------------------------------


def create_access_token(
    *,
    user_id: uuid.UUID,
    role: Role,
    signing_key: str,
    ttl_seconds: int,
    now: datetime | None = None,
) -> str:
    issued = now or utcnow()
    claims = {
        "sub": str(user_id),
        "role": role.value,
        "iss": ACCESS_TOKEN_ISSUER,
        "aud": ACCESS_TOKEN_AUDIENCE,
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(claims, signing_key, algorithm=ACCESS_TOKEN_ALGORITHM)


def decode_access_token(token: str, *, signing_key: str) -> uuid.UUID:
    """Return the user id of a valid access token; 401 for expired, tampered or foreign ones."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key,
            algorithms=[ACCESS_TOKEN_ALGORITHM],
            audience=ACCESS_TOKEN_AUDIENCE,
            issuer=ACCESS_TOKEN_ISSUER,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The access token has expired.", code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("The access token is not valid.", code="invalid_token") from exc
    if claims.get("typ") != "access":
        raise Unauthorized("The access token is not valid.", code="invalid_token")
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError as exc:
        raise Unauthorized("The access token is not valid.", code="invalid_token") from exc


# --- opaque secrets --------------------------------------------------------------------------


def digest_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret: enough to store it, fast enough to look it up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_refresh_token() -> str:
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def is_api_key(bearer: str) -> bool:
    return bearer.startswith(API_KEY_PREFIX)
