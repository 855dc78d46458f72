"""The demo's accounts: an admin, an operator, an auditor, a member and a key per university."""

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import VAR_DIR
from app.core.security import Role, Scope
from app.demo.organizations import SeededOrganizations
from app.demo.rows import Progress
from app.models.orgs import OrganizationKind
from app.services import auth as auth_service

DEMO_EMAIL_DOMAIN = "innoshare.example.org"
DEMO_ACCOUNTS_DIR = VAR_DIR / "demo-accounts"


def accounts_file(database_url: str) -> Path:
    """Where the demo accounts of the database at ``database_url`` are kept (mode 600).

    One file per database: a readable name (backend, host, port, database) and a short hash of
    the URL without its password, with a SQLite path made absolute, so two databases never
    share a file and the same database always finds its own.
    """
    url = make_url(database_url).set(password=None)
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database not in ("", ":memory:"):
        database = str(Path(database).resolve())
        url = url.set(database=database)
    canonical = url.set(drivername=url.get_backend_name()).render_as_string()
    parts = [url.get_backend_name(), url.host or "", str(url.port or ""), Path(database).name]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", "-".join(p for p in parts if p)).strip("-.")
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
    return DEMO_ACCOUNTS_DIR / f"{readable[:60]}-{digest}.txt"


@dataclass(slots=True)
class DemoAccounts:
    password: str
    """One password for every demo user; random, shown once."""
    users: list[tuple[Role, str]] = field(default_factory=list)
    """(role, e-mail)."""
    api_keys: list[tuple[str, str]] = field(default_factory=list)
    """(organization name, key) of each partner university."""


async def seed_accounts(
    session: AsyncSession, *, organizations: SeededOrganizations, progress: Progress
) -> DemoAccounts:
    """An admin, an operator, an auditor, a member of 郑州大学 and a key per university.

    Secrets are random (not derived from the seed): the one password and the keys are
    returned to be shown once.
    """
    universities = organizations.of_kind(OrganizationKind.university)
    member_org = next((o for o in universities if o.name == "郑州大学"), universities[0])
    people = (
        (Role.admin, f"admin@{DEMO_EMAIL_DOMAIN}", organizations.operator.id),
        (Role.operator, f"operator@{DEMO_EMAIL_DOMAIN}", organizations.operator.id),
        (Role.auditor, f"auditor@{DEMO_EMAIL_DOMAIN}", organizations.zone.id),
        (Role.member, f"member.{member_org.code.lower()}@{DEMO_EMAIL_DOMAIN}", member_org.id),
    )
    advance = progress.task("accounts", len(people) + len(universities))
    accounts = DemoAccounts(password=secrets.token_urlsafe(12))
    admin_id = None
    for role, email, organization_id in people:
        user = await auth_service.register_user(
            session,
            email=email,
            password=accounts.password,
            role=role,
            organization_id=organization_id,
        )
        admin_id = admin_id or user.id
        accounts.users.append((role, email))
        advance(1)
    for university in universities:
        issued = await auth_service.issue_api_key(
            session,
            organization_id=university.id,
            name="demo catalog sync",
            scopes=[Scope.catalog_write],
            created_by_id=admin_id,
        )
        accounts.api_keys.append((university.name, issued.key))
        advance(1)
    return accounts
