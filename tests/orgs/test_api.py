"""/v1/organizations over HTTP."""

import uuid

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role, Scope
from app.models.orgs import Organization, OrganizationKind
from tests import builders

VALID_CODE = "91440300708461136T"  # Huawei Technologies Co., Ltd.


def _body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "郑州磨料磨具磨削研究所有限公司",
        "kind": "research_institute",
        "credit_code": VALID_CODE,
        "region": "河南省郑州市高新区",
        "website": "https://www.zzsm.example.cn",
        "description": "超硬材料与磨料磨具研究。",
    }
    body.update(overrides)
    return body


async def _count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Organization)) or 0)


async def test_admin_creates_organization(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    response = await client.post("/v1/organizations", json=_body(), headers=admin.headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/organizations/{created['id']}"
    assert created["name"] == "郑州磨料磨具磨削研究所有限公司"
    assert created["kind"] == "research_institute"
    assert created["credit_code"] == VALID_CODE
    fetched = await client.get(f"/v1/organizations/{created['id']}")
    assert fetched.status_code == 200
    # the profile adds the rating over the reviews it received (issue 15): none yet
    assert fetched.json() == {**created, "rating_count": 0, "rating_average_tenths": None}


async def test_operator_may_create_member_may_not(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    operator = await builders.actor(session, settings, role=Role.operator)
    member = await builders.actor(session, settings, role=Role.member)
    ok = await client.post(
        "/v1/organizations", json=_body(credit_code=None), headers=operator.headers
    )
    assert ok.status_code == 201
    denied = await client.post(
        "/v1/organizations", json=_body(credit_code=None, name="x"), headers=member.headers
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "forbidden_role"
    anonymous = await client.post("/v1/organizations", json=_body(credit_code=None, name="y"))
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


async def test_credit_code_check_digit_is_enforced(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    before = await _count(session)
    wrong_check = VALID_CODE[:17] + "U"
    response = await client.post(
        "/v1/organizations", json=_body(credit_code=wrong_check), headers=admin.headers
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["code"] == "invalid_credit_code"
    assert problem["errors"][0]["loc"] == ["body", "credit_code"]
    for bad in ("91440300708461136", "9144030070846113OT", "91ABCDEF708461136T"):
        response = await client.post(
            "/v1/organizations", json=_body(credit_code=bad), headers=admin.headers
        )
        assert response.status_code == 422, bad
    assert await _count(session) == before


async def test_lower_case_credit_code_is_normalised(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    response = await client.post(
        "/v1/organizations", json=_body(credit_code="9144030071526726xg"), headers=admin.headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["credit_code"] == "9144030071526726XG"


async def test_duplicate_credit_code_is_a_conflict(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    first = await client.post("/v1/organizations", json=_body(), headers=admin.headers)
    assert first.status_code == 201
    second = await client.post(
        "/v1/organizations", json=_body(name="另一家"), headers=admin.headers
    )
    assert second.status_code == 409
    assert second.json()["code"] == "credit_code_taken"
    other = await client.post(
        "/v1/organizations", json=_body(credit_code=None), headers=admin.headers
    )
    assert other.status_code == 201
    clash = await client.patch(
        f"/v1/organizations/{other.json()['id']}",
        json={"credit_code": VALID_CODE},
        headers=admin.headers,
    )
    assert clash.status_code == 409


async def test_unknown_fields_and_bad_values_are_rejected(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    cases = [
        _body(kind="bank"),
        _body(name=""),
        _body(name="x" * 201),
        _body(website="ftp://example.com"),
        _body(unexpected="field"),
        {"kind": "enterprise"},
    ]
    for body in cases:
        response = await client.post("/v1/organizations", json=body, headers=admin.headers)
        assert response.status_code == 422, body
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"], body


async def test_list_filters_by_kind_and_text(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    marker = uuid.uuid4().hex[:6]
    await builders.create_organization(
        session, name=f"盾构装备研究院{marker}", kind=OrganizationKind.research_institute
    )
    await builders.create_organization(
        session, name=f"郑州银行{marker}", kind=OrganizationKind.financial_institution
    )
    await builders.create_organization(
        session, name=f"Zhengzhou University {marker}", kind=OrganizationKind.university
    )

    by_text = await client.get("/v1/organizations", params={"q": f"盾构装备研究院{marker}"})
    assert [o["name"] for o in by_text.json()["items"]] == [f"盾构装备研究院{marker}"]
    case_blind = await client.get(
        "/v1/organizations", params={"q": f"zhengzhou UNIVERSITY {marker}"}
    )
    assert [o["kind"] for o in case_blind.json()["items"]] == ["university"]
    by_kind = await client.get(
        "/v1/organizations", params={"q": marker, "kind": ["financial_institution", "university"]}
    )
    assert sorted(o["kind"] for o in by_kind.json()["items"]) == [
        "financial_institution",
        "university",
    ]
    wildcard = await client.get("/v1/organizations", params={"q": "%"})
    assert wildcard.status_code == 200
    assert all("%" in (o["name"] + (o["region"] or "")) for o in wildcard.json()["items"])
    bad_kind = await client.get("/v1/organizations", params={"kind": "bank"})
    assert bad_kind.status_code == 422


async def test_get_unknown_and_malformed_ids(client: AsyncClient) -> None:
    missing = await client.get(f"/v1/organizations/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    malformed = await client.get("/v1/organizations/not-a-uuid")
    assert malformed.status_code == 422


async def test_member_edits_own_profile_but_not_kind_or_code(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await builders.create_organization(session)
    member = await builders.actor(session, settings, organization=organization)
    url = f"/v1/organizations/{organization.id}"

    ok = await client.patch(
        url, json={"website": "https://www.zzu.edu.cn", "region": "郑州"}, headers=member.headers
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["website"] == "https://www.zzu.edu.cn"
    assert ok.json()["name"] == organization.name  # untouched fields stay

    kind = await client.patch(url, json={"kind": "enterprise"}, headers=member.headers)
    assert kind.status_code == 403
    assert kind.json()["code"] == "forbidden_field"
    null_name = await client.patch(url, json={"name": None}, headers=member.headers)
    assert null_name.status_code == 422


async def test_other_organizations_and_keys_cannot_edit(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await builders.create_organization(session)
    outsider = await builders.actor(session, settings)
    own_key = await builders.api_key_actor(
        session, organization=organization, scopes=[Scope.catalog_write]
    )
    url = f"/v1/organizations/{organization.id}"
    for headers in (outsider.headers, own_key.headers):
        response = await client.patch(url, json={"description": "改写"}, headers=headers)
        assert response.status_code == 403
    await session.refresh(organization)
    assert organization.description is None
