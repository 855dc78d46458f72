"""Invitations through the API and the services: who invites and when, duplicates, the
organizations invited-only demands show to, and an organization's own list."""

import asyncio
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import Database
from app.core.errors import Conflict, NotFound
from app.core.security import Role, Scope
from app.models.orgs import OrganizationKind
from app.services import demands as demands_service
from app.services import invitations as invitations_service
from app.services.catalog import CatalogIndexes, CatalogQuery
from tests import builders
from tests.questions.conftest import Stage, invite


def received_path(organization_id: Any) -> str:
    return f"/v1/organizations/{organization_id}/invitations"


# --- inviting ---------------------------------------------------------------------------------


async def test_the_owner_invites_an_organization_once(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    created = await invite(client, stage.demand, stage.owner, stage.provider_org)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["demand_id"] == str(stage.demand.id)
    assert body["organization_id"] == str(stage.provider_org.id)
    assert set(body) == {"id", "demand_id", "organization_id", "created_at"}

    again = await invite(client, stage.demand, stage.owner, stage.provider_org)
    assert again.status_code == 409, again.text
    assert again.json()["code"] == "already_invited"

    key = await builders.api_key_actor(
        session, organization=stage.owner_org, scopes=[Scope.demands_write]
    )
    assert (await invite(client, stage.demand, key, stage.rival_org)).status_code == 201
    listed = await client.get(
        f"/v1/demands/{stage.demand.id}/invitations", headers=stage.owner.headers
    )
    assert [i["organization_id"] for i in listed.json()["items"]] == [
        str(stage.rival_org.id),
        str(stage.provider_org.id),
    ]


async def test_unknown_and_own_organizations_are_refused(client: AsyncClient, stage: Stage) -> None:
    unknown = await invite(client, stage.demand, stage.owner, str(uuid.uuid4()))
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "unknown_organization"
    assert unknown.json()["errors"][0]["loc"] == ["body", "organization_id"]
    itself = await invite(client, stage.demand, stage.owner, stage.owner_org)
    assert itself.status_code == 422, itself.text
    assert itself.json()["code"] == "self_invitation"
    malformed = await client.post(
        f"/v1/demands/{stage.demand.id}/invitations",
        headers=stage.owner.headers,
        json={"organization_id": "not-a-uuid"},
    )
    assert malformed.status_code == 422


async def test_only_the_owner_invites(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    refused = await invite(client, stage.demand, stage.provider, stage.rival_org)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "not_owner"
    stranger_key = await builders.api_key_actor(
        session, organization=stage.rival_org, scopes=[Scope.demands_write]
    )
    assert (await invite(client, stage.demand, stranger_key, stage.rival_org)).status_code == 403
    reader_key = await builders.api_key_actor(
        session, organization=stage.owner_org, scopes=[Scope.catalog_write]
    )
    refused = await invite(client, stage.demand, reader_key, stage.rival_org)
    assert refused.json()["code"] == "missing_scope"
    assert (await invite(client, stage.demand, stage.auditor, stage.rival_org)).status_code == 403
    anonymous = await client.post(
        f"/v1/demands/{stage.demand.id}/invitations",
        json={"organization_id": str(stage.rival_org.id)},
    )
    assert anonymous.status_code == 401

    secret = await builders.open_demand(session, stage.owner_org, invited_only=True)
    assert (await invite(client, secret, stranger_key, stage.rival_org)).status_code == 404
    draft = await builders.open_demand(session, stage.owner_org, publish=False)
    assert (await invite(client, draft, stage.provider, stage.rival_org)).status_code == 404


async def test_invitations_while_draft_or_open_only(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    draft = await builders.open_demand(session, stage.owner_org, publish=False)
    assert (await invite(client, draft, stage.owner, stage.provider_org)).status_code == 201

    await builders.pass_deadline(session, stage.demand)
    closed = await invite(client, stage.demand, stage.owner, stage.provider_org)
    assert closed.status_code == 409, closed.text
    assert closed.json()["code"] == "illegal_transition"

    cancelled = await builders.open_demand(session, stage.owner_org)
    await demands_service.cancel_demand(
        session,
        principal=builders.principal(),
        demand_id=cancelled.id,
        reason="取消",
        if_match=None,
    )
    await session.commit()
    refused = await invite(client, cancelled, stage.owner, stage.provider_org)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "illegal_transition"


@pytest.mark.postgres_only
async def test_two_invitations_of_one_organization_at_once(
    engine: AsyncEngine, stage: Stage
) -> None:
    """The second waits on the unique index while the first is uncommitted, then gets 409."""
    owner = builders.principal(Role.member, organization_id=stage.owner_org.id)
    maker = async_sessionmaker(engine, expire_on_commit=False)

    def invite_provider(session: AsyncSession) -> Any:
        return invitations_service.invite_organization(
            session,
            principal=owner,
            demand_id=stage.demand.id,
            organization_id=stage.provider_org.id,
        )

    async with maker() as first, maker() as second:
        await invite_provider(first)
        racing = asyncio.create_task(invite_provider(second))
        async with engine.connect() as watcher:
            for _ in range(200):
                waiting = await watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
                await watcher.rollback()
                if waiting:
                    break
                await asyncio.sleep(0.02)
            assert waiting, "the second invitation never waited on the first"
        await first.commit()
        with pytest.raises(Conflict) as lost:
            await racing
        assert lost.value.code == "already_invited"
        await second.rollback()


# --- what invitations show --------------------------------------------------------------------


async def test_an_invited_only_demand_shows_to_invited_organizations_only(
    client: AsyncClient, session: AsyncSession, db: Database, stage: Stage
) -> None:
    secret = await builders.open_demand(
        session, stage.owner_org, invited_only=True, title="保密需求: 刀盘涂层"
    )
    assert (await invite(client, secret, stage.owner, stage.provider_org)).status_code == 201
    invited = builders.principal(Role.member, organization_id=stage.provider_org.id)
    uninvited = builders.principal(Role.member, organization_id=stage.rival_org.id)

    seen = await demands_service.get_demand(session, principal=invited, demand_id=secret.id)
    assert seen.id == secret.id
    with pytest.raises(NotFound):
        await demands_service.get_demand(session, principal=uninvited, demand_id=secret.id)
    with pytest.raises(NotFound):
        await demands_service.get_demand(session, principal=None, demand_id=secret.id)

    def ids(page: Any) -> set[uuid.UUID]:
        return {item.id for item in page.items}

    index = CatalogIndexes(db, [demands_service.SPEC])
    listed = await demands_service.list_demands(
        session, principal=invited, query=CatalogQuery(index=index)
    )
    assert ids(listed) == {stage.demand.id, secret.id}
    listed = await demands_service.list_demands(
        session, principal=uninvited, query=CatalogQuery(index=index)
    )
    assert ids(listed) == {stage.demand.id}
    listed = await demands_service.list_demands(
        session, principal=None, query=CatalogQuery(index=index)
    )
    assert ids(listed) == {stage.demand.id}


async def test_an_organization_lists_invitations_to_opened_demands(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    draft = await builders.open_demand(session, stage.owner_org, publish=False, title="草稿需求")
    hidden = await builders.open_demand(session, stage.owner_org, title="被隐藏的需求")
    for demand in (stage.demand, draft, hidden):
        assert (await invite(client, demand, stage.owner, stage.provider_org)).status_code == 201
    await demands_service.moderate_demand(
        session, principal=builders.principal(), demand_id=hidden.id, hide=True, reason="违规"
    )
    await session.commit()

    async def received(who: builders.Actor) -> list[dict[str, Any]]:
        response = await client.get(received_path(stage.provider_org.id), headers=who.headers)
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    [only] = await received(stage.provider)
    assert only["demand_id"] == str(stage.demand.id)
    assert only["organization_id"] == str(stage.provider_org.id)
    assert only["demand"]["id"] == str(stage.demand.id)
    assert only["demand"]["title"] == stage.demand.title
    assert (only["demand"]["kind"], only["demand"]["status"]) == ("technology", "open")

    await demands_service.publish_demand(
        session, principal=builders.principal(), demand_id=draft.id, if_match=None
    )
    await session.commit()
    await builders.pass_deadline(session, stage.demand)
    items = await received(stage.provider)
    assert [i["demand_id"] for i in items] == [str(draft.id), str(stage.demand.id)]
    assert [i["demand"]["status"] for i in items] == ["open", "closed"]

    own_key = await builders.api_key_actor(
        session, organization=stage.provider_org, scopes=[Scope.catalog_write]
    )
    for reader in (own_key, stage.operator, stage.auditor):
        assert len(await received(reader)) == 2

    paged = await client.get(
        received_path(stage.provider_org.id), headers=stage.provider.headers, params={"limit": 1}
    )
    assert [i["demand_id"] for i in paged.json()["items"]] == [str(draft.id)]
    rest = await client.get(
        received_path(stage.provider_org.id),
        headers=stage.provider.headers,
        params={"limit": 1, "cursor": paged.json()["next_cursor"]},
    )
    assert [i["demand_id"] for i in rest.json()["items"]] == [str(stage.demand.id)]
    assert rest.json()["next_cursor"] is None


async def test_other_organizations_never_read_an_organizations_invitations(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    assert (await invite(client, stage.demand, stage.owner, stage.provider_org)).status_code == 201
    rival_key = await builders.api_key_actor(
        session, organization=stage.rival_org, scopes=list(Scope)
    )
    for outsider in (stage.rival, rival_key, stage.owner):
        response = await client.get(received_path(stage.provider_org.id), headers=outsider.headers)
        assert response.status_code == 403, response.text
        assert str(stage.demand.id) not in response.text
    assert (await client.get(received_path(stage.provider_org.id))).status_code == 401
    unknown = await client.get(received_path(uuid.uuid4()), headers=stage.provider.headers)
    assert unknown.status_code == 404

    # a program of another organization neither lists nor sends a demand's invitations
    path = f"/v1/demands/{stage.demand.id}/invitations"
    assert (await client.get(path, headers=rival_key.headers)).status_code == 403
    assert (await invite(client, stage.demand, rival_key, stage.rival_org)).status_code == 403
    secret = await builders.open_demand(session, stage.owner_org, invited_only=True)
    secret_path = f"/v1/demands/{secret.id}/invitations"
    assert (await client.get(secret_path, headers=rival_key.headers)).status_code == 404
    assert (await invite(client, secret, rival_key, stage.rival_org)).status_code == 404


async def test_a_demands_invitations_are_for_its_owner_and_staff(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    assert (await invite(client, stage.demand, stage.owner, stage.provider_org)).status_code == 201
    path = f"/v1/demands/{stage.demand.id}/invitations"
    for reader in (stage.owner, stage.operator, stage.auditor):
        response = await client.get(path, headers=reader.headers)
        assert response.status_code == 200, response.text
        assert [i["organization_id"] for i in response.json()["items"]] == [
            str(stage.provider_org.id)
        ]
    for outsider in (stage.provider, stage.rival):
        assert (await client.get(path, headers=outsider.headers)).status_code == 403
    assert (await client.get(path)).status_code == 401
    unknown = await client.get(
        f"/v1/demands/{uuid.uuid4()}/invitations", headers=stage.owner.headers
    )
    assert unknown.status_code == 404


async def test_an_enterprise_may_be_invited_by_another(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    peer = await builders.create_organization(session, kind=OrganizationKind.enterprise)
    assert (await invite(client, stage.demand, stage.owner, peer)).status_code == 201


async def test_an_invitation_opens_the_demand_to_the_invited_organizations_search(
    client: AsyncClient, session: AsyncSession, stage: Stage
) -> None:
    secret = await builders.open_demand(
        session, stage.owner_org, invited_only=True, title="保密需求: 刀盘涂层"
    )

    async def found(actor: builders.Actor) -> list[str]:
        response = await client.get(
            "/v1/demands", params={"q": "刀盘涂层", "facets": "kind"}, headers=actor.headers
        )
        assert response.status_code == 200, response.text
        assert response.json()["total"] == len(response.json()["items"])
        return [item["id"] for item in response.json()["items"]]

    assert await found(stage.provider) == []  # the search index is built, without it
    assert (await invite(client, secret, stage.owner, stage.provider_org)).status_code == 201
    assert await found(stage.provider) == [str(secret.id)]
    assert await found(stage.rival) == []
    assert await found(stage.owner) == [str(secret.id)]
    etag = (await client.get(f"/v1/demands/{secret.id}", headers=stage.owner.headers)).headers
    assert etag["ETag"].startswith(f'"{secret.version}')  # the invitation left its version
