"""Keyset pagination: opaque cursors, bounded limits, stable order while rows are added."""

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import decode_cursor, encode_cursor
from app.models.orgs import OrganizationKind
from tests import builders


async def _walk(client: AsyncClient, params: dict[str, object]) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        page_params = dict(params)
        if cursor:
            page_params["cursor"] = cursor
        response = await client.get("/v1/organizations", params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen


async def test_pages_cover_everything_once_in_a_stable_order(
    client: AsyncClient, session: AsyncSession
) -> None:
    created = [
        await builders.create_organization(
            session, kind=OrganizationKind.government, name=f"政府部门{i:02}"
        )
        for i in range(7)
    ]
    params = {"kind": "government", "limit": 3}
    first_walk = await _walk(client, params)
    assert sorted(first_walk) == sorted(str(o.id) for o in created)
    assert len(first_walk) == len(set(first_walk)) == 7
    assert await _walk(client, params) == first_walk  # same order every time
    # newest first
    assert first_walk[0] == str(created[-1].id)


async def test_rows_added_while_paging_do_not_shift_later_pages(
    client: AsyncClient, session: AsyncSession
) -> None:
    for i in range(5):
        await builders.create_organization(
            session, kind=OrganizationKind.service_provider, name=f"服务机构{i}"
        )
    first = (
        await client.get("/v1/organizations", params={"kind": "service_provider", "limit": 2})
    ).json()
    await builders.create_organization(
        session, kind=OrganizationKind.service_provider, name="插入的新机构"
    )
    rest: list[str] = []
    cursor = first["next_cursor"]
    while cursor:
        page = (
            await client.get(
                "/v1/organizations",
                params={"kind": "service_provider", "limit": 2, "cursor": cursor},
            )
        ).json()
        rest += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
    names = [item["name"] for item in first["items"]] + rest
    assert len(names) == len(set(names)) == 5
    assert "插入的新机构" not in names


async def test_limit_is_bounded(client: AsyncClient) -> None:
    for bad in (0, -1, 201, "many"):
        response = await client.get("/v1/organizations", params={"limit": bad})
        assert response.status_code == 422, bad
    assert (await client.get("/v1/organizations", params={"limit": 200})).status_code == 200


async def test_default_page_size_is_twenty(client: AsyncClient, session: AsyncSession) -> None:
    for i in range(21):
        await builders.create_organization(
            session, kind=OrganizationKind.rnd_institution, name=f"新型研发机构{i}"
        )
    body = (await client.get("/v1/organizations", params={"kind": "rnd_institution"})).json()
    assert len(body["items"]) == 20
    assert body["next_cursor"] is not None


async def test_bad_cursors_are_400(client: AsyncClient) -> None:
    foreign = encode_cursor("users:newest", ["x", "y"])
    for cursor in ("garbage", "e30", foreign, "!!!!"):
        response = await client.get("/v1/organizations", params={"cursor": cursor})
        assert response.status_code == 400, cursor
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "invalid_cursor"


def test_cursor_round_trip() -> None:
    import uuid
    from datetime import UTC, datetime

    values = [datetime(2020, 5, 31, 12, 0, 0, 123456, tzinfo=UTC), uuid.uuid4()]
    from app.services import orgs

    assert decode_cursor(encode_cursor("o", values), "o", orgs.NEWEST_FIRST.slots) == values
