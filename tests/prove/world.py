"""A small world with one of everything, for the tests that go over every operation.

Three organizations trade: an enterprise that posts a demand and buys (``ent``), a university
that lists, bids and sells (``uni``), a financial institution with a product (``fin``); a
fourth, another enterprise (``other``), has nothing to do with any of it. Each object the API
has an id for exists once (a settled deal with a review, a payout, ledger entries, a proposal,
a question, a subscription…), so each operation with an id in its path gets a real one, and
the callers of every kind are ready: staff, each side's member, keys, and spoiled
credentials.
"""

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.calendar import utcnow
from app.core.config import Settings
from app.core.security import Role, Scope, create_access_token
from app.models import Base
from app.models.auth import ApiKey
from app.models.orgs import Organization, OrganizationKind
from app.services import auth as auth_service
from app.services import financial_products as financial_products_service
from app.services import ip_assets as ip_assets_service
from app.services import policies as policies_service
from app.services import talents as talents_service
from tests import builders
from tests.prove.operations import Operation, example_body, fresh_values

#: Tables a refused request may still write to: the counters of key use and failed sign-ins
#: (abuse is counted whatever the request then meets).
COUNTED_ANYWAY = {"rate_limit_buckets"}

MEMBER_SCOPES = [
    Scope.catalog_write,
    Scope.demands_write,
    Scope.deals_write,
    Scope.subscriptions_write,
]


@dataclass
class World:
    settings: Settings
    orgs: dict[str, Organization]
    """``ent``, ``uni``, ``fin``, ``other``."""
    headers: dict[str, dict[str, str]]
    """Callers by name (see ``CALLERS`` in test_security_matrix)."""
    ids: dict[str, str]
    """A real id for each path parameter, by the name the path gives it (``item_id`` by
    catalog: ``item_id:technologies``)."""
    session: AsyncSession
    created: Counter[str] = field(default_factory=Counter)
    """Rows the harness itself adds as it goes (keys, subscriptions to delete), by table."""

    def org_id(self, side: str) -> str:
        return str(self.orgs[side].id)

    async def key(self, side: str, scopes: list[Scope]) -> dict[str, str]:
        """A new API key of ``side``'s holding ``scopes``."""
        actor = await builders.api_key_actor(
            self.session, organization=self.orgs[side], scopes=scopes or []
        )
        self.created["api_keys"] += 1
        if not scopes:  # the builder gives an empty list a default scope
            await self.session.execute(
                ApiKey.__table__.update()
                .where(ApiKey.prefix == actor.headers["Authorization"][7:][:12])
                .values(scopes=[])
            )
            await self.session.commit()
        return actor.headers

    async def path_of(self, client: AsyncClient, operation: Operation, side: str) -> str:
        """``operation``'s path with a real id for each parameter: ``side``'s organization,
        the catalog item of the path's catalog, and for the two routes that delete, a new
        object each time."""
        owner = side if side in self.orgs else "ent"
        values: dict[str, str] = {}
        for name in operation.path_parameters:
            if name == "organization_id":
                values[name] = self.org_id(owner)
            elif name == "item_id":
                values[name] = self.ids[f"item_id:{operation.collection}"]
            elif name == "key_id":
                values[name] = await self.key_id(owner)
            elif name == "subscription_id" and operation.method == "DELETE":
                created = await client.post(
                    "/v1/subscriptions",
                    headers=self.headers["ent"],
                    json={"name": "to delete", "catalog": "technologies"},
                )
                values[name] = created.json()["id"]
                self.created["subscriptions"] += 1
            else:
                values[name] = self.ids[name]
        return operation.path.format(**values)

    def body_for(self, document: dict[str, Any], operation: Operation) -> Any:
        """The schema's example body for ``operation``, with unique values made new and the
        ids it names real (the technology, the university)."""
        body = fresh_values(example_body(document, operation))
        if isinstance(body, dict):
            if "technology_id" in body:
                body["technology_id"] = self.ids["item_id:technologies"]
            if "organization_id" in body:
                body["organization_id"] = self.org_id("uni")
        return body

    async def key_id(self, side: str) -> str:
        """The id of a new key of ``side``'s (one to revoke)."""
        issued = await auth_service.issue_api_key(
            self.session, organization_id=self.orgs[side].id, name="victim", scopes=[]
        )
        self.created["api_keys"] += 1
        await self.session.commit()
        return str(issued.id)


async def row_counts(session: AsyncSession) -> dict[str, int]:
    """Rows in each table but the counters (committed: read in a transaction of its own)."""
    tables = [t for t in Base.metadata.sorted_tables if t.name not in COUNTED_ANYWAY]
    statement = select(
        *(select(func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables)
    )
    row = (await session.execute(statement)).one()
    await session.commit()
    return dict(row._mapping)


def _idempotent() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _created(response: Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


async def build_world(client: AsyncClient, session: AsyncSession, settings: Settings) -> World:
    orgs = {
        "ent": await builders.create_organization(session, kind=OrganizationKind.enterprise),
        "uni": await builders.create_organization(session, kind=OrganizationKind.university),
        "fin": await builders.create_organization(
            session, kind=OrganizationKind.financial_institution
        ),
        "other": await builders.create_organization(session, kind=OrganizationKind.enterprise),
    }
    admin = await builders.actor(session, settings, role=Role.admin)
    operator = await builders.actor(session, settings, role=Role.operator)
    auditor = await builders.actor(session, settings, role=Role.auditor)
    ent = await builders.actor(session, settings, organization=orgs["ent"])
    uni = await builders.actor(session, settings, organization=orgs["uni"])
    other = await builders.actor(session, settings, organization=orgs["other"])
    victim = await builders.create_user(session, organization=orgs["ent"])

    technology = await builders.published_technology(session, orgs["uni"])
    talent = await builders.published_item(
        session,
        talents_service.SPEC,
        orgs["uni"],
        {"name": "张建国", "tags": [], "external_id": None},
    )
    policy = await builders.published_item(
        session,
        policies_service.SPEC,
        orgs["uni"],
        {
            "title": "郑州高新区关于支持科技型企业高质量发展的若干政策",
            "issuing_authority": "郑州高新技术产业开发区管理委员会",
            "level": "district",
            "issue_date": utcnow().date(),
            "tags": [],
        },
    )
    ip_asset = await builders.published_item(
        session,
        ip_assets_service.SPEC,
        orgs["uni"],
        {
            "kind": "invention_patent",
            "number": "201910123456.X",
            "title": "一种盾构机滚刀磨损检测方法",
            "legal_status": "granted",
            "tags": [],
            "external_id": None,
        },
    )
    product = await builders.published_item(
        session,
        financial_products_service.SPEC,
        orgs["fin"],
        {"name": "科技贷", "kind": "sci_tech_credit", "tags": [], "external_id": None},
    )
    demand = await builders.open_demand(session, orgs["ent"], deadline=utcnow() + timedelta(days=7))

    proposal = _created(
        await client.post(
            f"/v1/demands/{demand.id}/proposals",
            headers={**uni.headers, **_idempotent()},
            json={"price": "380000.00", "plan": "三个月完成部署。", "timeline_days": 90},
        )
    )
    question = _created(
        await client.post(
            f"/v1/demands/{demand.id}/questions",
            headers=uni.headers,
            json={"text": "是否需要接入现有平台?"},
        )
    )
    subscription = _created(
        await client.post(
            "/v1/subscriptions",
            headers=ent.headers,
            json={"name": "watch", "catalog": "technologies"},
        )
    )
    deal = _created(
        await client.post(
            "/v1/deals",
            headers={**ent.headers, **_idempotent()},
            json={
                "technology_id": str(technology.id),
                "title": "盾构刀盘耐磨涂层技术转让",
                "category": "transfer",
                "gross_amount": "100000.00",
            },
        )
    )
    for step in ("fund", "settle"):
        _created(
            await client.post(
                f"/v1/deals/{deal['id']}/{step}", headers={**operator.headers, **_idempotent()}
            )
        )
    review = _created(
        await client.post(
            f"/v1/deals/{deal['id']}/reviews",
            headers=ent.headers,
            json={"rating": 5, "text": "合作顺利"},
        )
    )
    _created(
        await client.put(
            f"/v1/deals/{deal['id']}/registration",
            headers=uni.headers,
            json={
                "contract_number": "4101002020000123",
                "non_technical_costs": "3000.00",
                "signed_on": utcnow().date().isoformat(),
                "sub_kind": "patent_transfer",
            },
        )
    )
    payout = _created(
        await client.post(
            "/v1/payouts",
            headers={**operator.headers, **_idempotent()},
            json={
                "organization_id": str(orgs["uni"].id),
                "amount": "1000.00",
                "bank_reference": "ICBC-1",
            },
        )
    )
    accounts = _created(await client.get("/v1/ledger/accounts", headers=auditor.headers))
    entries = _created(await client.get("/v1/ledger/entries", headers=auditor.headers))

    # Spoiled credentials: an expired token, a tampered one, a revoked key.
    assert ent.user is not None
    expired = create_access_token(
        user_id=ent.user.id,
        role=Role.member,
        signing_key=settings.signing_key(),
        ttl_seconds=60,
        now=utcnow() - timedelta(hours=1),
    )
    good = ent.headers["Authorization"].removeprefix("Bearer ")
    head, payload, signature = good.split(".")
    tampered = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    revoked = await builders.api_key_actor(session, organization=orgs["ent"], scopes=MEMBER_SCOPES)
    revoked_id = await session.scalar(
        select(ApiKey.id).where(ApiKey.prefix == revoked.headers["Authorization"][7:][:12])
    )
    await session.execute(
        ApiKey.__table__.update().where(ApiKey.id == revoked_id).values(revoked_at=utcnow())
    )
    await session.commit()

    world = World(
        settings=settings,
        orgs=orgs,
        headers={
            "anon": {},
            "admin": admin.headers,
            "operator": operator.headers,
            "auditor": auditor.headers,
            "ent": ent.headers,
            "uni": uni.headers,
            "other": other.headers,
            "expired": {"Authorization": f"Bearer {expired}"},
            "tampered": {"Authorization": f"Bearer {tampered}"},
            "revoked": revoked.headers,
        },
        ids={
            "user_id": str(victim.id),
            "item_id:talents": str(talent.id),
            "item_id:technologies": str(technology.id),
            "item_id:policies": str(policy.id),
            "item_id:ip-assets": str(ip_asset.id),
            "item_id:financial-products": str(product.id),
            "demand_id": str(demand.id),
            "proposal_id": proposal["id"],
            "question_id": question["id"],
            "subscription_id": subscription["id"],
            "event_id": str(uuid.uuid4()),  # no event yet: every caller may only get a 404
            "deal_id": deal["id"],
            "review_id": review["id"],
            "payout_id": payout["id"],
            "account_id": accounts["items"][0]["id"],
            "entry_id": entries["items"][0]["id"],
        },
        session=session,
    )
    world.headers["other_key"] = await world.key("other", MEMBER_SCOPES)
    return world
