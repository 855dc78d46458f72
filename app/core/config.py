"""Settings from the environment (``INNOSHARE_*``): one object, read once."""

import os
import secrets
import tempfile
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

VAR_DIR = Path("var")
DEV_SECRET_FILE = VAR_DIR / "secret_key"


#: Default platform fee and tax, basis points per contract category (技术开发, 转让, 许可, 咨询,
#: 服务). Operators set the real ones; each deal freezes the rates of its day. A license is
#: taxed as a transfer (VAT counts a transfer of the right to use a technology as 技术转让),
#: so it has the transfer's rates. A tax rate of 0 means no tax is split at settlement.
DEFAULT_FEE_RATE_BP = {
    "development": 300,
    "transfer": 300,
    "license": 300,
    "consulting": 500,
    "service": 500,
}
DEFAULT_TAX_RATE_BP = {
    "development": 1100,
    "transfer": 1100,
    "license": 1100,
    "consulting": 1300,
    "service": 1300,
}
#: Fee and tax together take at most half of a release, so rounding can never make a
#: seller's share of a release negative (see app/services/deals.py).
MAX_DEAL_RATE_BP = 2500


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INNOSHARE_", extra="ignore")

    env: Environment = Environment.development
    database_url: str = Field(
        default=f"sqlite+aiosqlite:///./{VAR_DIR}/innoshare.db",
        description="SQLAlchemy URL: sqlite+aiosqlite:///… or postgresql+asyncpg://…",
    )
    database_pool_size: int = Field(default=10, ge=1, le=200)
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs access tokens. Unset in development: a key is generated under ./var/.",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated allowed origins; never '*'."
    )
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=3_600, le=365 * 86_400)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    log_level: str = "INFO"
    login_window_seconds: int = Field(default=900, ge=1)
    login_max_failures_per_account_address: int = Field(
        default=5, ge=1, description="Failed sign-ins of one account from one address a window."
    )
    login_max_failures_per_address: int = Field(
        default=50, ge=1, description="Failed sign-ins from one address over all accounts."
    )
    login_max_failures_per_account: int = Field(
        default=100,
        ge=1,
        description="Failed sign-ins of one account from every address after which each address"
        " gets one failure on it a window; never refuses an address that has not failed.",
    )
    api_key_requests_per_minute: int = Field(default=1200, ge=1)
    timezone: str = Field(
        default="Asia/Shanghai", description="Calendar of 'as of a day' and of monthly totals."
    )
    deal_fee_rate_bp: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_FEE_RATE_BP),
        description="Platform fee per contract category in basis points (JSON object); "
        "frozen on each deal when it is created.",
    )
    deal_tax_rate_bp: dict[str, int] = Field(
        default_factory=lambda: dict(DEFAULT_TAX_RATE_BP),
        description="Tax withheld per contract category in basis points (JSON object).",
    )
    response_cache_mb: int = Field(
        default=64,
        ge=0,
        le=4096,
        description="Memory per process for anonymous catalog lists and searches; 0 turns the"
        " cache off.",
    )
    response_cache_ttl_seconds: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="Longest a cached list is served (changes through the API show at once).",
    )
    trust_forwarded_for: bool = Field(
        default=False, description="Take the client address from X-Forwarded-For (behind a proxy)."
    )
    webhook_worker: bool = Field(
        default=True,
        description="Run a webhook delivery worker in each server process (off when separate"
        " `innoshare worker` processes deliver).",
    )
    webhook_timeout_seconds: float = Field(
        default=15, gt=0, le=60, description="The longest one webhook attempt may take."
    )
    webhook_lease_seconds: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="How long a worker holds the events it claimed; after that another worker"
        " may send them again. Longer than the attempt timeout.",
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, le=60, description="How often an idle worker looks for due events."
    )
    workers: int = Field(
        default=1, ge=1, le=256, description="Worker processes of `innoshare serve`."
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that /metrics requires. Unset: /metrics answers 404 in"
        " production and anyone elsewhere.",
    )
    bootstrap_admin_email: str | None = Field(
        default=None,
        description="With the password file: `innoshare migrate` creates this admin when the"
        " database has no admin yet (never changes an existing account).",
    )
    bootstrap_admin_password_file: Path | None = Field(
        default=None,
        description="A file holding the bootstrap admin's password (e.g. a Docker secret).",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("CORS origins must be listed; '*' is not accepted")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (an IANA name such as Asia/Shanghai)"
            ) from exc
        return value

    @field_validator("deal_fee_rate_bp", "deal_tax_rate_bp")
    @classmethod
    def _rate_per_category(cls, value: dict[str, int]) -> dict[str, int]:
        if set(value) != set(DEFAULT_FEE_RATE_BP):
            raise ValueError(f"give a rate for each of: {', '.join(DEFAULT_FEE_RATE_BP)}")
        if any(not 0 <= rate <= MAX_DEAL_RATE_BP for rate in value.values()):
            raise ValueError(f"rates are basis points from 0 to {MAX_DEAL_RATE_BP}")
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator(
        "metrics_token", "bootstrap_admin_email", "bootstrap_admin_password_file", mode="before"
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # compose.yaml passes `${VARIABLE:-}`: an empty value means "not set"
        return None if value == "" else value

    @field_validator("bootstrap_admin_email")
    @classmethod
    def _an_email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if value.count("@") != 1 or value.startswith("@") or value.endswith("@"):
            raise ValueError("not an email address")
        return value

    @field_validator("metrics_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be 16+ characters")
        return value

    @model_validator(mode="after")
    def _bootstrap_admin_both_or_neither(self) -> Self:
        if (self.bootstrap_admin_email is None) != (self.bootstrap_admin_password_file is None):
            raise ValueError(
                "INNOSHARE_BOOTSTRAP_ADMIN_EMAIL and INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE"
                " go together: set both or neither"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Self:
        if self.env is Environment.production:
            if self.secret_key is None or len(self.secret_key.get_secret_value()) < 32:
                raise ValueError(
                    "INNOSHARE_SECRET_KEY must be set (32+ characters)"
                    " when INNOSHARE_ENV=production"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def signing_key(self) -> str:
        """The token signing key; in development a generated one kept under ./var/."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return _development_secret()


def normalize_database_url(url: str) -> str:
    """Accept plain postgres:// and sqlite:// URLs and pick the async drivers for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


@lru_cache
def _development_secret() -> str:
    """The key under ./var/, made once. It is written to a private temporary file (mode 600
    from its creation) and linked into place, which fails if the file exists: no moment when
    it is readable by others or half written, and of two processes making it at once one
    key wins and both use it."""
    path = DEV_SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, draft = tempfile.mkstemp(dir=path.parent, prefix=".secret_key.")
        try:
            with os.fdopen(descriptor, "w") as draft_file:
                draft_file.write(secrets.token_urlsafe(48))
                draft_file.flush()
                os.fsync(draft_file.fileno())
            try:
                os.link(draft, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
        finally:
            os.unlink(draft)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)  # made by an older version that left it readable
    key = path.read_text().strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it, or set INNOSHARE_SECRET_KEY")
    return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
