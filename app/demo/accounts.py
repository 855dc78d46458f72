"""The demo's accounts: an admin, an operator, an auditor, a provider (a member of 郑州大学), a
buyer (a member of an enterprise) and a key per university; and their listing as shell
assignments (``innoshare demo-accounts --shell``)."""

import hashlib
import re
import secrets
import shlex
import uuid
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


@dataclass(frozen=True, slots=True)
class DemoUser:
    label: str
    """What the account is for: admin, operator, auditor, provider, buyer."""
    role: Role
    email: str
    organization: str
    """The name of the organization it belongs to."""


@dataclass(slots=True)
class DemoAccounts:
    password: str
    """One password for every demo user; random, shown once."""
    users: list[DemoUser] = field(default_factory=list)
    api_keys: list[tuple[str, str]] = field(default_factory=list)
    """(organization name, key) of each partner university."""


async def seed_accounts(
    session: AsyncSession, *, organizations: SeededOrganizations, progress: Progress
) -> DemoAccounts:
    """An admin, an operator, an auditor, a member of 郑州大学 (the provider) and a key per
    university; the buyer comes later (:func:`add_buyer`), once the demands are written.

    Secrets are random (not derived from the seed): the one password and the keys are
    returned to be shown once.
    """
    universities = organizations.of_kind(OrganizationKind.university)
    member_org = next((o for o in universities if o.name == "郑州大学"), universities[0])
    operator, zone = organizations.operator, organizations.zone
    people = (
        ("admin", Role.admin, f"admin@{DEMO_EMAIL_DOMAIN}", operator),
        ("operator", Role.operator, f"operator@{DEMO_EMAIL_DOMAIN}", operator),
        ("auditor", Role.auditor, f"auditor@{DEMO_EMAIL_DOMAIN}", zone),
        (
            "provider",
            Role.member,
            f"member.{member_org.code.lower()}@{DEMO_EMAIL_DOMAIN}",
            member_org,
        ),
    )
    advance = progress.task("accounts", len(people) + len(universities))
    accounts = DemoAccounts(password=secrets.token_urlsafe(12))
    admin_id = None
    for label, role, email, organization in people:
        user = await auth_service.register_user(
            session,
            email=email,
            password=accounts.password,
            role=role,
            organization_id=organization.id,
        )
        admin_id = admin_id or user.id
        accounts.users.append(DemoUser(label, role, email, organization.name))
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


async def add_buyer(
    session: AsyncSession,
    *,
    organizations: SeededOrganizations,
    enterprise_id: uuid.UUID,
    accounts: DemoAccounts,
) -> None:
    """A member of the enterprise ``enterprise_id``: the demo's buyer (posts demands, awards,
    opens and settles deals), with the same password as the others."""
    enterprise = next(o for o in organizations.all if o.id == enterprise_id)
    email = f"buyer.{enterprise.code.lower()}@{DEMO_EMAIL_DOMAIN}"
    await auth_service.register_user(
        session,
        email=email,
        password=accounts.password,
        role=Role.member,
        organization_id=enterprise.id,
    )
    accounts.users.append(DemoUser("buyer", Role.member, email, enterprise.name))


def listing(accounts: DemoAccounts) -> str:
    """The accounts as seed prints them and keeps them (what :func:`shell_assignments` reads)."""
    lines = [f"demo accounts (password for all: {accounts.password}):"]
    for user in accounts.users:
        note = f"  ({user.role.value} of {user.organization})" if user.role is Role.member else ""
        lines.append(f"  {user.label:<10}{user.email}{note}")
    lines.append("API keys (scope catalog:write) of the partner universities:")
    lines += [f"  {name}  {key}" for name, key in accounts.api_keys]
    return "\n".join(lines)


_PASSWORD_LINE = re.compile(r"^demo accounts \(password for all: (\S+)\):$")
_MEMBER_OF = re.compile(r"\(member of (.+)\)$")


def shell_assignments(text: str) -> str:
    """POSIX shell assignments of a kept listing: ``DEMO_PASSWORD``, ``<LABEL>_EMAIL`` per
    account (``ADMIN_EMAIL``, ``BUYER_EMAIL``, …) and ``PROVIDER_KEY``, the API key of the
    provider's university, for ``eval "$(innoshare demo-accounts --shell)"``."""
    values: dict[str, str] = {}
    provider_org = None
    in_keys = False
    keys: dict[str, str] = {}
    for line in text.splitlines():
        if match := _PASSWORD_LINE.match(line):
            values["DEMO_PASSWORD"] = match.group(1)
        elif line.startswith("API keys"):
            in_keys = True
        elif line.startswith("  ") and line.strip():
            if in_keys:
                name, _, key = line.strip().rpartition(" ")
                keys[name.strip()] = key
                continue
            label, email = line.split()[:2]
            values[f"{re.sub(r'[^A-Za-z0-9]', '_', label).upper()}_EMAIL"] = email
            if label == "provider" and (member := _MEMBER_OF.search(line)):
                provider_org = member.group(1)
    if provider_org in keys:
        values["PROVIDER_KEY"] = keys[provider_org]
    return "\n".join(f"{name}={shlex.quote(value)}" for name, value in values.items())
