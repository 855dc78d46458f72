"""All tables, imported so that ``Base.metadata`` knows every one of them."""

from app.core.db import Base
from app.models.auth import ApiKey, RefreshToken, User
from app.models.orgs import Organization, OrganizationKind
from app.models.ratelimit import RateLimitBucket

__all__ = [
    "ApiKey",
    "Base",
    "Organization",
    "OrganizationKind",
    "RateLimitBucket",
    "RefreshToken",
    "User",
]
