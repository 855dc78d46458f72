"""Small async builders for test data, written through the models inside the test's transaction."""

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings
from app.core.security import (
    ROLE_SCOPES,
    Principal,
    PrincipalKind,
    Role,
    Scope,
    create_access_token,
    hash_password_sync,
)
from app.models.auth import User
from app.models.catalog import HistoryAction
from app.models.demands import Demand, DemandKind
from app.models.orgs import Organization, OrganizationKind
from app.models.technologies import Technology
from app.services import auth as auth_service
from app.services import catalog as catalog_service
from app.services import demands as demands_service
from app.services import technologies as technologies_service
from app.services.catalog import CatalogSpec, M
from app.services.orgs import CREDIT_CODE_ALPHABET, credit_code_check_character

PASSWORD = "correct horse battery staple"


@lru_cache
def _password_hash() -> str:
    # argon2 is slow on purpose; hash the shared test password once per run.
    return hash_password_sync(PASSWORD)


def credit_code(rng: random.Random | None = None) -> str:
    """A random, valid unified social credit code."""
    rng = rng or random.Random()
    body = (
        rng.choice("159")
        + rng.choice("123")
        + "".join(rng.choice("0123456789") for _ in range(6))
        + "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    )
    return body + credit_code_check_character(body)


async def create_organization(
    session: AsyncSession,
    *,
    name: str | None = None,
    kind: OrganizationKind = OrganizationKind.university,
    with_credit_code: bool = True,
    region: str | None = "河南省郑州市高新区",
) -> Organization:
    organization = Organization(
        name=name or f"测试单位-{uuid.uuid4().hex[:8]}",
        kind=kind,
        credit_code=credit_code() if with_credit_code else None,
        region=region,
    )
    session.add(organization)
    await session.commit()
    return organization


async def create_user(
    session: AsyncSession,
    *,
    role: Role = Role.member,
    organization: Organization | None = None,
    email: str | None = None,
    is_active: bool = True,
) -> User:
    if role is Role.member and organization is None:
        organization = await create_organization(session)
    user = User(
        email=email or f"user-{uuid.uuid4().hex[:10]}@innoshare.test",
        password_hash=_password_hash(),
        role=role,
        organization_id=organization.id if organization else None,
        is_active=is_active,
    )
    session.add(user)
    await session.commit()
    return user


def bearer_for(user: User, settings: Settings, *, ttl_seconds: int = 900) -> dict[str, str]:
    token = create_access_token(
        user_id=user.id, role=user.role, signing_key=settings.signing_key(), ttl_seconds=ttl_seconds
    )
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Actor:
    """A principal ready to call the API: the user (if any) and its auth header."""

    headers: dict[str, str]
    user: User | None = None
    organization: Organization | None = None


async def actor(
    session: AsyncSession,
    settings: Settings,
    *,
    role: Role = Role.member,
    organization: Organization | None = None,
) -> Actor:
    user = await create_user(session, role=role, organization=organization)
    org = organization
    if org is None and user.organization_id is not None:
        org = await session.get(Organization, user.organization_id)
    return Actor(headers=bearer_for(user, settings), user=user, organization=org)


async def api_key_actor(
    session: AsyncSession,
    *,
    organization: Organization,
    scopes: list[Scope] | None = None,
) -> Actor:
    issued = await auth_service.issue_api_key(
        session,
        organization_id=organization.id,
        name="test program",
        scopes=scopes or [Scope.catalog_write],
    )
    await session.commit()
    return Actor(headers={"Authorization": f"Bearer {issued.key}"}, organization=organization)


def principal(
    role: Role = Role.operator,
    *,
    organization_id: uuid.UUID | None = None,
    scopes: frozenset[Scope] | None = None,
) -> Principal:
    """A signed-in user as services see one (operators act for every organization)."""
    return Principal(
        kind=PrincipalKind.user,
        id=uuid.uuid4(),
        role=role,
        organization_id=organization_id,
        scopes=ROLE_SCOPES[role] if scopes is None else scopes,
    )


async def change_status(
    session: AsyncSession, spec: CatalogSpec[M], item: M, action: HistoryAction
) -> None:
    """Publish or withdraw ``item`` as an operator, uncommitted."""
    await catalog_service.transition_item(
        session, spec, principal=principal(), item_id=item.id, action=action
    )


async def published_item(
    session: AsyncSession, spec: CatalogSpec[M], owner: Organization, values: Mapping[str, Any]
) -> M:
    """An item of ``owner``'s in ``spec``'s catalog, created and published by an operator,
    committed."""
    item = await catalog_service.create_item(
        session, spec, principal=principal(), values=values, owner_id=owner.id
    )
    await change_status(session, spec, item, HistoryAction.publish)
    await session.commit()
    return item


async def published_technology(
    session: AsyncSession, owner: Organization, *, title: str = "盾构刀盘耐磨涂层", trl: int = 6
) -> Technology:
    """A technology of ``owner``'s, created and published by an operator, committed."""
    values = {"title": title, "trl": trl, "tags": [], "external_id": None}
    return await published_item(session, technologies_service.SPEC, owner, values)


async def open_demand(
    session: AsyncSession,
    owner: Organization,
    *,
    kind: DemandKind = DemandKind.technology,
    title: str = "盾构刀盘磨损在线监测方案征集",
    budget_min: int | None = 10_000_000,
    budget_max: int | None = 50_000_000,
    budget_visible: bool = False,
    deadline: datetime | None = None,
    invited_only: bool = False,
    reward: int | None = None,
    publish: bool = True,
) -> Demand:
    """A demand of ``owner``'s (an enterprise), created and opened by an operator, committed.
    Money in fen; the deadline an hour ahead unless given; ``publish=False`` leaves a draft."""
    values = {
        "kind": kind,
        "title": title,
        "description": "需要一套可在施工现场部署的刀盘磨损监测方案, 含传感器选型与数据平台。",
        "field": "盾构装备",
        "budget_min": budget_min,
        "budget_max": budget_max,
        "budget_visible": budget_visible,
        "deadline": deadline or utcnow() + timedelta(hours=1),
        "reward": reward if reward is not None or kind is not DemandKind.challenge else 100_000_00,
        "requirements": "具备盾构装备研发经验" if kind is DemandKind.challenge else None,
        "attachments": [],
        "invited_only": invited_only,
        "tags": ["盾构"],
        "external_id": None,
    }
    demand = await demands_service.create_demand(
        session, principal=principal(), values=values, owner_id=owner.id
    )
    if publish:
        await demands_service.publish_demand(
            session, principal=principal(), demand_id=demand.id, if_match=None
        )
    await session.commit()
    return demand


async def pass_deadline(session: AsyncSession, demand: Demand) -> None:
    """Let ``demand``'s deadline pass now: it becomes the instant just gone, after everything
    recorded so far (a time machine for tests; the demand then reads as closed). Committed."""
    await session.execute(
        update(Demand)
        .where(Demand.id == demand.id)
        .values(deadline=utcnow() - timedelta(microseconds=1), updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    await session.refresh(demand)
