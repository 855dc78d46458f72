"""Matches for a demand and matched demands for a provider, through the HTTP API."""

import uuid

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role
from app.models.demands import DemandKind
from app.models.matching import MatchImpression
from app.models.orgs import OrganizationKind
from tests import builders
from tests.matching.conftest import (
    buyer as enterprise_member,
)
from tests.matching.conftest import (
    demand,
    financial_product,
    registered,
    talent,
    technology,
)

SHIELD = "盾构/隧道掘进装备"
WAN = 1_000_000  # 10,000 yuan in fen


async def _impressions(session: AsyncSession) -> set[tuple[uuid.UUID, uuid.UUID]]:
    rows = await session.execute(select(MatchImpression.demand_id, MatchImpression.organization_id))
    return {(row[0], row[1]) for row in rows.all()}


async def test_technology_demand_ranks_fitting_items_and_explains_them(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    buyer = await enterprise_member(session, settings)
    assert buyer.organization is not None
    lab = await builders.create_organization(session, name="盾构实验室")
    other = await builders.create_organization(session, name="化工学院")
    best = await technology(
        session,
        lab,
        "盾构机刀盘磨损在线监测系统",
        summary="实时监测刀盘刀具磨损",
        field=SHIELD,
        trl=7,
        price=(30 * WAN, 80 * WAN),
    )
    pricey = await technology(
        session,
        lab,
        "盾构机刀盘磨损在线监测装置",
        summary="实时监测刀盘刀具磨损",
        field=SHIELD,
        trl=7,
        price=(500 * WAN, 900 * WAN),
    )
    expert = await talent(
        session, lab, "王工", expertise="盾构刀盘刀具磨损监测与寿命预测", field=SHIELD
    )
    unrelated = await technology(session, other, "高效锂电池电解液制备工艺", field="新能源")
    own = await technology(session, buyer.organization, "盾构机刀盘磨损在线监测平台")
    need = await demand(
        session,
        buyer.organization,
        title="盾构机刀盘磨损在线监测",
        description="我司承接地铁隧道施工，需要对盾构机刀盘刀具磨损进行实时监测，降低换刀成本。",
        field=SHIELD,
        budget_min=50 * WAN,
        budget_max=100 * WAN,
    )

    response = await client.get(f"/v1/demands/{need.id}/matches", headers=buyer.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["demand_id"] == str(need.id)
    ids = [match["item"]["id"] for match in body["items"]]
    assert ids[0] == str(best.id)
    assert str(pricey.id) in ids
    assert ids.index(str(pricey.id)) > ids.index(str(best.id))
    assert str(expert.id) in ids
    assert str(unrelated.id) not in ids
    assert str(own.id) not in ids, "the demand's owner's own listings are not matches"
    first = body["items"][0]
    assert first["type"] == "technologies"
    reasons = first["reasons"]
    assert "盾构机刀盘磨损在线监测" in reasons["text"]["matched_terms"]
    assert reasons["field"] == {
        "demand_field": SHIELD,
        "item_field": SHIELD,
        "same": True,
        "factor_bp": 13000,
    }
    assert reasons["trl"] == {"trl": 7, "factor_bp": 10600}
    assert reasons["budget"]["fit"] == "within"
    assert reasons["budget"]["budget_max"] == "1000000.00"
    assert reasons["owner"] == {"id": str(lab.id), "name": "盾构实验室"}
    assert first["score"] == round(reasons["text"]["score"] * 1.3 * 1.06 * 1.0, 4)
    over = next(m for m in body["items"] if m["item"]["id"] == str(pricey.id))
    assert over["reasons"]["budget"]["fit"] == "above"
    assert over["reasons"]["budget"]["factor_bp"] == 5000
    assert over["reasons"]["budget"]["item_min"] == "5000000.00"
    talent_match = next(m for m in body["items"] if m["item"]["id"] == str(expert.id))
    assert talent_match["type"] == "talents"
    assert talent_match["reasons"]["trl"] is None
    assert talent_match["reasons"]["budget"] is None
    # the same answer again: deterministic
    again = await client.get(f"/v1/demands/{need.id}/matches", headers=buyer.headers)
    assert again.json() == body
    assert await _impressions(session) == {(need.id, lab.id)}


async def test_types_narrow_and_unfitting_types_are_refused(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    buyer = await enterprise_member(session, settings)
    assert buyer.organization is not None
    lab = await builders.create_organization(session)
    await technology(session, lab, "盾构刀盘耐磨涂层")
    await talent(session, lab, "李工", expertise="盾构刀盘耐磨涂层", field=None)
    need = await demand(
        session, buyer.organization, title="盾构刀盘耐磨涂层", description="刀盘耐磨涂层改进"
    )

    only = await client.get(
        f"/v1/demands/{need.id}/matches", params={"types": "talents"}, headers=buyer.headers
    )
    wrong = await client.get(
        f"/v1/demands/{need.id}/matches",
        params=[("types", "talents"), ("types", "financial_products")],
        headers=buyer.headers,
    )
    unknown = await client.get(
        f"/v1/demands/{need.id}/matches", params={"types": "policies"}, headers=buyer.headers
    )

    assert only.status_code == 200
    assert [m["type"] for m in only.json()["items"]] == ["talents"]
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "match_type_not_fitting"
    assert unknown.status_code == 422


async def test_budget_withheld_from_others_neither_shows_nor_ranks(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    buyer = await enterprise_member(session, settings)
    visitor = await builders.actor(session, settings)
    assert buyer.organization is not None
    lab = await builders.create_organization(session)
    await technology(session, lab, "工业废水零排放处理工艺", price=(900 * WAN, 990 * WAN))
    need = await demand(
        session,
        buyer.organization,
        title="工业废水零排放",
        description="化工园区废水处理",
        budget_max=100 * WAN,
    )

    owner_view = await client.get(f"/v1/demands/{need.id}/matches", headers=buyer.headers)
    other_view = await client.get(f"/v1/demands/{need.id}/matches", headers=visitor.headers)
    anonymous = await client.get(f"/v1/demands/{need.id}/matches")

    assert owner_view.json()["items"][0]["reasons"]["budget"]["fit"] == "above"
    for view in (other_view, anonymous):
        (match,) = view.json()["items"]
        assert match["reasons"]["budget"] is None
        owner_match = owner_view.json()["items"][0]
        assert match["reasons"]["text"] == owner_match["reasons"]["text"]
        assert match["score"] > owner_match["score"]


async def test_a_demand_the_caller_may_not_see_has_no_matches(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    buyer = await enterprise_member(session, settings)
    stranger = await builders.actor(session, settings)
    assert buyer.organization is not None
    need = await demand(
        session, buyer.organization, title="保密需求", description="仅邀请", invited_only=True
    )
    draft = await demand(
        session, buyer.organization, title="草稿需求", description="未发布", publish=False
    )

    hidden = await client.get(f"/v1/demands/{need.id}/matches", headers=stranger.headers)
    drafted = await client.get(f"/v1/demands/{draft.id}/matches")
    missing = await client.get(f"/v1/demands/{uuid.uuid4()}/matches")
    mine = await client.get(f"/v1/demands/{draft.id}/matches", headers=buyer.headers)

    assert hidden.status_code == drafted.status_code == missing.status_code == 404
    assert hidden.json()["code"] == "not_found"
    assert mine.status_code == 200


async def test_service_demands_match_service_providers_only(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    buyer = await enterprise_member(session, settings)
    assert buyer.organization is not None
    agency = await registered(
        session,
        "中原知识产权代理事务所",
        OrganizationKind.service_provider,
        description="专利申请代理、知识产权贯标和专利导航服务",
    )
    await registered(
        session, "专利研究大学", OrganizationKind.university, description="专利申请代理研究"
    )
    testing = await registered(
        session,
        "郑州检验检测服务公司",
        OrganizationKind.service_provider,
        description="材料性能检测与认证",
    )
    need = await demand(
        session,
        buyer.organization,
        kind=DemandKind.service,
        title="专利申请代理服务",
        description="拟委托代理机构办理五项发明专利申请",
    )

    response = await client.get(f"/v1/demands/{need.id}/matches", headers=buyer.headers)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(m["type"], m["item"]["id"]) for m in items] == [("organizations", str(agency.id))]
    assert items[0]["reasons"]["owner"]["id"] == str(agency.id)
    assert "专利申请代理" in items[0]["reasons"]["text"]["matched_terms"]

    # a provider's profile change is in the next match (the organizations' generation)
    operator = await builders.actor(session, settings, role=Role.operator)
    changed = await client.patch(
        f"/v1/organizations/{testing.id}",
        json={"description": "发明专利申请代理与检测认证"},
        headers=operator.headers,
    )
    assert changed.status_code == 200, changed.text
    after = await client.get(f"/v1/demands/{need.id}/matches", headers=buyer.headers)
    assert {m["item"]["id"] for m in after.json()["items"]} == {str(agency.id), str(testing.id)}


async def test_financing_demands_match_financial_products_by_amount(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    buyer = await enterprise_member(session, settings)
    assert buyer.organization is not None
    bank = await builders.create_organization(
        session, name="郑州银行", kind=OrganizationKind.financial_institution
    )
    small = await financial_product(
        session, bank, "科技贷 小额信用贷款", amount=(10 * WAN, 100 * WAN), kind="loan"
    )
    fitting = await financial_product(
        session, bank, "科技贷 知识产权质押贷款", amount=(100 * WAN, 1000 * WAN), kind="loan"
    )
    need = await demand(
        session,
        buyer.organization,
        kind=DemandKind.financing,
        title="知识产权质押贷款",
        description="公司拥有发明专利十项，申请科技贷用于扩大生产",
        budget_min=300 * WAN,
        budget_max=500 * WAN,
        budget_visible=True,
    )

    response = await client.get(f"/v1/demands/{need.id}/matches", headers=buyer.headers)

    items = response.json()["items"]
    assert [m["item"]["id"] for m in items] == [str(fitting.id), str(small.id)]
    assert items[0]["reasons"]["budget"]["fit"] == "within"
    assert items[1]["reasons"]["budget"]["fit"] == "below"
    assert items[1]["reasons"]["budget"]["factor_bp"] == 8000
    assert items[0]["type"] == "financial_products"


async def test_matched_demands_for_a_provider(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    lab = await builders.create_organization(session, name="盾构实验室")
    member = await builders.actor(session, settings, organization=lab)
    outsider = await builders.actor(session, settings)
    operator = await builders.actor(session, settings, role=Role.operator)
    buyer = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    await technology(
        session, lab, "盾构机刀盘磨损在线监测系统", field=SHIELD, price=(30 * WAN, 80 * WAN)
    )
    await talent(session, lab, "王工", expertise="盾构主驱动密封与刀盘设计", field=SHIELD)
    fits = await demand(
        session,
        buyer,
        title="盾构机刀盘磨损监测方案征集",
        description="地铁施工用",
        field=SHIELD,
        budget_max=100 * WAN,
        budget_visible=True,
    )
    weaker = await demand(
        session, buyer, title="隧道施工安全监测", description="盾构施工沉降监测", field="智能制造"
    )
    await demand(session, buyer, title="锂电池回收工艺", description="退役电池拆解")
    secret = await demand(
        session,
        buyer,
        title="盾构机刀盘磨损监测（邀请）",
        description="仅邀请",
        invited_only=True,
    )
    closed = await demand(session, buyer, title="盾构机刀盘磨损监测旧需求", description="已截止")
    await builders.pass_deadline(session, closed)

    mine = await client.get(f"/v1/organizations/{lab.id}/matched-demands", headers=member.headers)
    staff = await client.get(
        f"/v1/organizations/{lab.id}/matched-demands", headers=operator.headers
    )
    other = await client.get(
        f"/v1/organizations/{lab.id}/matched-demands", headers=outsider.headers
    )
    anonymous = await client.get(f"/v1/organizations/{lab.id}/matched-demands")
    missing = await client.get(
        f"/v1/organizations/{uuid.uuid4()}/matched-demands", headers=operator.headers
    )

    assert mine.status_code == 200, mine.text
    items = mine.json()["items"]
    assert [m["item"]["id"] for m in items] == [str(fits.id), str(weaker.id)]
    assert str(secret.id) not in {m["item"]["id"] for m in items}
    first = items[0]["reasons"]
    assert "盾构机刀盘磨损" in first["text"]["matched_terms"]
    assert first["field"]["same"] is True
    assert first["budget"]["fit"] == "within"
    assert first["owner"]["id"] == str(buyer.id)
    assert items[1]["reasons"]["field"]["same"] is False
    assert [m["item"]["id"] for m in staff.json()["items"]] == [str(fits.id), str(weaker.id)]
    # the second demand's budget is not visible: to its members no budget reason, to staff one
    assert items[1]["reasons"]["budget"] is None
    assert staff.json()["items"][1]["reasons"]["budget"]["fit"] == "unknown"
    assert other.status_code == 403
    assert other.json()["code"] == "not_member"
    assert anonymous.status_code == 401
    assert missing.status_code == 404
    assert await _impressions(session) == {(fits.id, lab.id), (weaker.id, lab.id)}
