"""The five catalogs over HTTP: workflow, visibility, ownership, ETags, history."""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role, Scope
from app.models.catalog import CatalogHistory
from app.models.orgs import Organization, OrganizationKind
from tests import builders
from tests.catalog.cases import CASE_IDS, CASES, CatalogCase, case_named


async def _writer(
    session: AsyncSession, settings: Settings, case: CatalogCase, organization: Organization
) -> tuple[dict[str, str], dict[str, Any]]:
    """Headers of someone who may create this catalog's items for ``organization``, and the
    body to send (staff name the owner)."""
    if case.staff_only:
        operator = await builders.actor(session, settings, role=Role.operator)
        return operator.headers, {**case.body, "owner_id": str(organization.id)}
    member = await builders.actor(session, settings, organization=organization)
    return member.headers, dict(case.body)


@dataclass
class _Draft:
    owner: Organization
    headers: dict[str, str]
    body: dict[str, Any]
    item: dict[str, Any]
    url: str


async def _draft(
    client: AsyncClient,
    session: AsyncSession,
    settings: Settings,
    case: CatalogCase,
    **changes: Any,
) -> _Draft:
    """A draft of the case's catalog, posted for a new organization of its owner kind by
    someone who may write it, with ``changes`` to the case's body."""
    owner = await builders.create_organization(session, kind=case.owner_kind)
    headers, body = await _writer(session, settings, case, owner)
    body.update(changes)
    item = (await client.post(case.path, json=body, headers=headers)).json()
    return _Draft(owner, headers, body, item, f"{case.path}/{item['id']}")


async def _history_count(session: AsyncSession, item_id: str) -> int:
    stmt = (
        select(func.count())
        .select_from(CatalogHistory)
        .where(CatalogHistory.item_id == uuid.UUID(item_id))
    )
    return int(await session.scalar(stmt) or 0)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
async def test_workflow_draft_publish_update_withdraw(
    client: AsyncClient, session: AsyncSession, settings: Settings, case: CatalogCase
) -> None:
    owner = await builders.create_organization(session, kind=case.owner_kind)
    headers, body = await _writer(session, settings, case, owner)

    created = await client.post(case.path, json=body, headers=headers)
    assert created.status_code == 201, created.text
    item = created.json()
    url = f"{case.path}/{item['id']}"
    assert created.headers["location"] == url
    assert created.headers["etag"] == '"1"'
    assert item["status"] == "draft"
    assert item["owner_id"] == str(owner.id)
    assert item["version"] == 1
    assert item[case.title_field] == case.body[case.title_field]

    assert (await client.get(url)).status_code == 404  # drafts are the owner's business
    assert (await client.get(url, headers=headers)).status_code == 200

    published = await client.post(f"{url}/publish", headers={**headers, "If-Match": '"1"'})
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] is not None
    public = await client.get(url)
    assert public.status_code == 200
    etag = public.headers["etag"]

    changed = await client.patch(url, json=case.change, headers={**headers, "If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 3
    for name, value in case.change.items():
        assert changed.json()[name] == value
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 200

    withdrawn = await client.post(f"{url}/withdraw", headers=headers)
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert (await client.get(url)).status_code == 404
    again = await client.post(f"{url}/publish", headers=headers)
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"
    frozen = await client.patch(url, json=case.change, headers=headers)
    assert frozen.status_code == 409
    assert frozen.json()["code"] == "item_withdrawn"

    history = await client.get(f"{url}/history", headers=headers)
    assert history.status_code == 200
    entries = history.json()["items"]
    assert [e["action"] for e in entries] == ["create", "publish", "update", "withdraw"]
    assert [e["version"] for e in entries] == [1, 2, 3, 4]
    assert entries[1]["changes"] == {"status": ["draft", "published"]}
    assert set(entries[2]["changes"]) == set(case.change)
    assert all(e["actor_kind"] == "user" and e["actor_id"] for e in entries)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
async def test_invalid_bodies_are_422_and_write_nothing(
    client: AsyncClient, session: AsyncSession, settings: Settings, case: CatalogCase
) -> None:
    owner = await builders.create_organization(session, kind=case.owner_kind)
    headers, _ = await _writer(session, settings, case, owner)
    before = await session.scalar(select(func.count()).select_from(CatalogHistory))
    for body in case.invalid:
        if case.staff_only:
            body = {**body, "owner_id": str(owner.id)}
        response = await client.post(case.path, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"], body
    assert await session.scalar(select(func.count()).select_from(CatalogHistory)) == before


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
async def test_other_organizations_and_keys_cannot_write(
    client: AsyncClient, session: AsyncSession, settings: Settings, case: CatalogCase
) -> None:
    draft = await _draft(client, session, settings, case)
    owner, headers, url = draft.owner, draft.headers, draft.url
    await client.post(f"{url}/publish", headers=headers)

    stranger_org = await builders.create_organization(session, kind=case.owner_kind)
    stranger = await builders.actor(session, settings, organization=stranger_org)
    stranger_key = await builders.api_key_actor(session, organization=stranger_org)
    owner_key_without_scope = await builders.api_key_actor(
        session, organization=owner, scopes=[Scope.demands_write]
    )
    for outsider in (stranger.headers, stranger_key.headers, owner_key_without_scope.headers):
        for method, path, payload in (
            ("PATCH", url, case.change),
            ("POST", f"{url}/withdraw", None),
            ("POST", f"{url}/publish", None),
        ):
            response = await client.request(method, path, json=payload, headers=outsider)
            assert response.status_code == 403, (method, path, response.text)
    # nor create in the owner's name
    forged = {**case.body, "owner_id": str(owner.id)}
    assert (await client.post(case.path, json=forged, headers=stranger.headers)).status_code == 403
    # anonymous callers must sign in
    assert (await client.patch(url, json=case.change)).status_code == 401
    assert (await client.get(url)).json()["version"] == 2  # nothing changed


@pytest.mark.parametrize("case", [c for c in CASES if not c.staff_only], ids=lambda c: c.name)
async def test_owner_keys_with_catalog_write_may_write(
    client: AsyncClient, session: AsyncSession, case: CatalogCase
) -> None:
    owner = await builders.create_organization(session, kind=case.owner_kind)
    key = await builders.api_key_actor(session, organization=owner, scopes=[Scope.catalog_write])
    created = await client.post(case.path, json=case.body, headers=key.headers)
    assert created.status_code == 201, created.text
    history = await session.scalar(
        select(CatalogHistory).where(CatalogHistory.item_id == uuid.UUID(created.json()["id"]))
    )
    assert history is not None
    assert history.actor_kind == "api_key"


async def test_members_and_keys_cannot_write_policies(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    case = case_named("policies")
    organization = await builders.create_organization(session, kind=OrganizationKind.government)
    member = await builders.actor(session, settings, organization=organization)
    key = await builders.api_key_actor(session, organization=organization)
    for headers in (member.headers, key.headers):
        response = await client.post(case.path, json=case.body, headers=headers)
        assert response.status_code == 403
        assert response.json()["code"] == "staff_only"


async def test_financial_products_belong_to_financial_institutions(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    case = case_named("financial_products")
    university = await builders.create_organization(session, kind=OrganizationKind.university)
    member = await builders.actor(session, settings, organization=university)
    response = await client.post(case.path, json=case.body, headers=member.headers)
    assert response.status_code == 422
    assert response.json()["code"] == "wrong_owner_kind"


async def test_stale_if_match_is_412_and_unchanged_patch_writes_nothing(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    case = case_named("technologies")
    draft = await _draft(client, session, settings, case)
    headers, body, item, url = draft.headers, draft.body, draft.item, draft.url

    same = await client.patch(
        url, json={"trl": body["trl"], "title": body["title"]}, headers=headers
    )
    assert same.status_code == 200
    assert same.json()["version"] == 1
    assert same.json()["updated_at"] == item["updated_at"]
    assert await _history_count(session, item["id"]) == 1

    moved = await client.patch(url, json={"trl": 3}, headers={**headers, "If-Match": '"1"'})
    assert moved.status_code == 200
    stale = await client.patch(url, json={"trl": 4}, headers={**headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert stale.json()["code"] == "stale_etag"
    assert (await client.get(url, headers=headers)).json()["trl"] == 3
    weak = await client.patch(url, json={"trl": 4}, headers={**headers, "If-Match": 'W/"2"'})
    assert weak.status_code == 412  # If-Match compares strongly
    star = await client.patch(url, json={"trl": 4}, headers={**headers, "If-Match": "*"})
    assert star.status_code == 200


async def test_partial_updates_are_checked_against_the_whole_item(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    case = case_named("technologies")
    draft = await _draft(client, session, settings, case)
    headers, url = draft.headers, draft.url
    response = await client.patch(url, json={"price_min": "3000000.00"}, headers=headers)
    assert response.status_code == 422  # above the stored price_max
    assert response.json()["errors"][0]["loc"] == ["body", "price_min"]
    assert (await client.patch(url, json={"title": None}, headers=headers)).status_code == 422
    assert (
        await client.patch(url, json={"status": "published"}, headers=headers)
    ).status_code == 422


async def test_lists_show_published_items_and_your_own(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    marker = uuid.uuid4().hex[:8]
    org_a = await builders.create_organization(session)
    org_b = await builders.create_organization(session)
    member_a = await builders.actor(session, settings, organization=org_a)
    member_b = await builders.actor(session, settings, organization=org_b)
    body = {"title": f"可见性测试 {marker}", "trl": 5}
    draft = (await client.post("/v1/technologies", json=body, headers=member_a.headers)).json()
    shown = (await client.post("/v1/technologies", json=body, headers=member_a.headers)).json()
    await client.post(f"/v1/technologies/{shown['id']}/publish", headers=member_a.headers)

    def ids(response: Any) -> set[str]:
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    params: dict[str, Any] = {"q": marker}
    assert ids(await client.get("/v1/technologies", params=params)) == {shown["id"]}
    everything = {**params, "status": ["draft", "published"]}
    assert ids(
        await client.get("/v1/technologies", params=everything, headers=member_b.headers)
    ) == {shown["id"]}
    assert ids(
        await client.get("/v1/technologies", params=everything, headers=member_a.headers)
    ) == {
        shown["id"],
        draft["id"],
    }
    admin = await builders.actor(session, settings, role=Role.admin)
    drafts = {**params, "status": "draft"}
    assert ids(await client.get("/v1/technologies", params=drafts, headers=admin.headers)) == {
        draft["id"]
    }


async def test_talent_contact_details_need_a_signed_in_caller(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    case = case_named("talents")
    draft = await _draft(
        client, session, settings, case, name=f"联系方式测试{uuid.uuid4().hex[:6]}"
    )
    body, url = draft.body, draft.url
    await client.post(f"{url}/publish", headers=draft.headers)

    anonymous = await client.get(url)
    assert anonymous.json()["contact_email"] is None
    assert anonymous.json()["contact_phone"] is None
    assert anonymous.json()["name"] == body["name"]
    stranger = await builders.actor(session, settings)
    signed_in = await client.get(url, headers=stranger.headers)
    assert signed_in.json()["contact_email"] == case.body["contact_email"]
    assert anonymous.headers["etag"] != signed_in.headers["etag"]  # two representations
    listed = await client.get(case.path, params={"q": body["name"]})
    assert listed.json()["items"][0]["contact_email"] is None
    found = await client.get("/v1/search", params={"q": body["name"]})
    assert found.json()["items"][0]["item"]["contact_email"] is None


async def test_history_is_for_owners_and_staff(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await builders.create_organization(session)
    member = await builders.actor(session, settings, organization=owner)
    item = (
        await client.post(
            "/v1/technologies", json={"title": "历史", "trl": 2}, headers=member.headers
        )
    ).json()
    url = f"/v1/technologies/{item['id']}/history"
    stranger = await builders.actor(session, settings)
    assert (await client.get(url, headers=stranger.headers)).status_code == 404  # a draft
    await client.post(f"/v1/technologies/{item['id']}/publish", headers=member.headers)
    assert (await client.get(url, headers=stranger.headers)).status_code == 403
    operator = await builders.actor(session, settings, role=Role.operator)
    assert (await client.get(url, headers=operator.headers)).status_code == 200
    assert (await client.get(url)).status_code == 401


async def test_technologies_reference_visible_talents_and_ip_only(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    org_a = await builders.create_organization(session)
    org_b = await builders.create_organization(session)
    member_a = await builders.actor(session, settings, organization=org_a)
    member_b = await builders.actor(session, settings, organization=org_b)
    talent_b = (
        await client.post("/v1/talents", json={"name": "王五"}, headers=member_b.headers)
    ).json()
    body = {"title": "引用测试", "trl": 3, "inventor_ids": [talent_b["id"]]}
    hidden = await client.post("/v1/technologies", json=body, headers=member_a.headers)
    assert hidden.status_code == 422  # another organization's draft
    assert hidden.json()["errors"][0]["type"] == "unknown_reference"
    await client.post(f"/v1/talents/{talent_b['id']}/publish", headers=member_b.headers)
    ok = await client.post("/v1/technologies", json=body, headers=member_a.headers)
    assert ok.status_code == 201
    assert ok.json()["inventor_ids"] == [talent_b["id"]]
    by_inventor = await client.get(
        "/v1/technologies",
        params={"inventor_id": talent_b["id"], "status": "draft"},
        headers=member_a.headers,
    )
    assert [t["id"] for t in by_inventor.json()["items"]] == [ok.json()["id"]]
    unknown = {**body, "inventor_ids": [str(uuid.uuid4())]}
    assert (
        await client.post("/v1/technologies", json=unknown, headers=member_a.headers)
    ).status_code == 422


async def test_external_ids_are_unique_per_owner(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    org_a = await builders.create_organization(session)
    org_b = await builders.create_organization(session)
    member_a = await builders.actor(session, settings, organization=org_a)
    member_b = await builders.actor(session, settings, organization=org_b)
    body = {"title": "外部编号", "trl": 2, "external_id": "ZZU-T-1"}
    assert (
        await client.post("/v1/technologies", json=body, headers=member_a.headers)
    ).status_code == 201
    clash = await client.post("/v1/technologies", json=body, headers=member_a.headers)
    assert clash.status_code == 409
    assert clash.json()["code"] == "external_id_taken"
    assert (
        await client.post("/v1/technologies", json=body, headers=member_b.headers)
    ).status_code == 201


async def test_item_reads_carry_etag_request_context_cors_and_gzip(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    """The single-item GET renders its own response; everything around it still applies."""
    case = case_named("technologies")
    # a summary large enough to be gzipped
    draft = await _draft(
        client, session, settings, case, summary="可穿戴健康监测与结构健康监测。" * 40
    )
    url = draft.url
    published = await client.post(f"{url}/publish", headers=draft.headers)

    origin = "https://web.innoshare.test"
    public = await client.get(url, headers={"Origin": origin, "X-Request-ID": "item-read-1"})
    assert public.status_code == 200
    assert public.json() == published.json()  # the same representation as the write's
    assert public.headers["content-type"] == "application/json"
    assert public.headers["etag"] == '"2"'
    assert public.headers["x-request-id"] == "item-read-1"
    assert public.headers["access-control-allow-origin"] == origin
    timing = dict(
        part.strip().split(";dur=") for part in public.headers["server-timing"].split(",")
    )
    assert float(timing["app"]) > 0
    assert 0 < float(timing["db"]) <= float(timing["app"])
    assert "accept-encoding" in public.headers["vary"].lower()

    zipped = await client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.json() == public.json()

    for if_none_match in ('"2"', 'W/"2"', '"1", "2"', "*"):
        not_modified = await client.get(url, headers={"If-None-Match": if_none_match})
        assert not_modified.status_code == 304, if_none_match
        assert not_modified.content == b""
        assert not_modified.headers["etag"] == '"2"'
        assert "content-type" not in not_modified.headers
        assert not_modified.headers["x-request-id"]
    assert (await client.get(url, headers={"If-None-Match": '"1"'})).status_code == 200

    metrics = (await client.get("/metrics")).text
    assert 'route="/v1/technologies/{item_id}",status="200"' in metrics
    assert 'route="/v1/technologies/{item_id}",status="304"' in metrics


async def test_item_reads_refuse_bad_ids_and_malformed_credentials(client: AsyncClient) -> None:
    missing = await client.get(f"/v1/technologies/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "not_found"
    assert missing.json()["request_id"] == missing.headers["x-request-id"]
    invalid = await client.get("/v1/technologies/not-a-uuid")
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["loc"] == ["path", "item_id"]
    for authorization in ("Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "token"):
        refused = await client.get(
            f"/v1/technologies/{uuid.uuid4()}", headers={"Authorization": authorization}
        )
        assert refused.status_code == 401, authorization
        assert refused.json()["code"] == "invalid_authorization"
