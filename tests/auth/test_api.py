"""Signing in, token rotation, API keys and object-level checks over HTTP."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import jwt
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Role, create_access_token
from app.models.auth import ApiKey, RefreshToken, User
from tests import builders


async def _sign_in(
    client: AsyncClient, email: str, password: str = builders.PASSWORD
) -> dict[str, object]:
    response = await client.post("/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_sign_in_returns_a_bearer_pair(client: AsyncClient, session: AsyncSession) -> None:
    user = await builders.create_user(session)
    response = await client.post(
        "/v1/auth/token",
        data={
            "username": user.email.upper(),
            "password": builders.PASSWORD,
            "grant_type": "password",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["refresh_token"].startswith("isr_")
    assert response.headers["cache-control"] == "no-store"
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == user.email
    assert me.json()["kind"] == "user"
    assert me.json()["organization_id"] == str(user.organization_id)
    assert set(me.json()["scopes"]) == {
        "catalog:write",
        "demands:write",
        "deals:write",
        "subscriptions:write",
    }
    # only a digest of the refresh token is stored
    stored = (
        await session.scalars(
            select(RefreshToken.token_hash).where(RefreshToken.user_id == user.id)
        )
    ).all()
    assert stored == [hashlib.sha256(body["refresh_token"].encode()).hexdigest()]


async def test_wrong_password_unknown_user_and_disabled_account_are_401(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await builders.create_user(session)
    disabled = await builders.create_user(session, is_active=False)
    for email, password in (
        (user.email, "wrong password 123"),
        ("nobody@innoshare.test", builders.PASSWORD),
        (disabled.email, builders.PASSWORD),
    ):
        response = await client.post(
            "/v1/auth/token", data={"username": email, "password": password}
        )
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_credentials"


async def test_expired_tampered_and_foreign_tokens_are_401(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await builders.create_user(session)
    expired = create_access_token(
        user_id=user.id,
        role=user.role,
        signing_key=settings.signing_key(),
        ttl_seconds=60,
        now=datetime.now(UTC) - timedelta(hours=1),
    )
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"

    valid = builders.bearer_for(user, settings)["Authorization"].split()[1]
    header, payload, signature = valid.split(".")
    claims = jwt.decode(valid, options={"verify_signature": False})
    claims["role"] = "admin"
    forged_payload = jwt.encode(claims, "irrelevant-key" * 4, algorithm="HS256").split(".")[1]
    tampered = f"{header}.{forged_payload}.{signature}"
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {tampered}"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"

    foreign = create_access_token(
        user_id=user.id, role=user.role, signing_key="another-key" * 4, ttl_seconds=60
    )
    unsigned = jwt.encode(
        {"sub": str(user.id), "exp": datetime.now(UTC) + timedelta(minutes=5)},
        None,
        algorithm="none",
    )
    for token in (foreign, unsigned, "not-a-jwt", valid + "x"):
        response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"] == "Bearer"


async def test_tokens_of_disabled_accounts_stop_working(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    user = await builders.create_user(session)
    headers = builders.bearer_for(user, settings)
    assert (await client.get("/v1/me", headers=headers)).status_code == 200
    user.is_active = False
    await session.commit()
    assert (await client.get("/v1/me", headers=headers)).status_code == 401


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await builders.create_user(session)
    first = await _sign_in(client, user.email)

    rotated = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200, rotated.text
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    ).status_code == 200

    # The old token again: someone else has it. The whole family dies, including the new one.
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert reused.json()["code"] == "refresh_token_reused"
    after = await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401
    family = (
        await session.scalars(select(RefreshToken).where(RefreshToken.user_id == user.id))
    ).all()
    assert len(family) == 2
    assert all(token.revoked_at is not None for token in family)

    # Another sign-in is a separate family and unaffected.
    fresh = await _sign_in(client, user.email)
    assert (
        await client.post("/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    ).status_code == 200


async def test_unknown_and_expired_refresh_tokens(
    client: AsyncClient, session: AsyncSession
) -> None:
    assert (await client.post("/v1/auth/refresh", json={"refresh_token": "isr_nope"})).json()[
        "code"
    ] == ("invalid_refresh_token")
    user = await builders.create_user(session)
    pair = await _sign_in(client, user.email)
    token = await session.scalar(select(RefreshToken).where(RefreshToken.user_id == user.id))
    assert token is not None
    token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await session.commit()
    response = await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
    assert response.json()["code"] == "refresh_token_expired"


async def test_logout_revokes_the_refresh_family(
    client: AsyncClient, session: AsyncSession
) -> None:
    user = await builders.create_user(session)
    pair = await _sign_in(client, user.email)
    assert (
        await client.post("/v1/auth/logout", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 204
    response = await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401
    # unknown tokens: nothing to end, still 204
    assert (
        await client.post("/v1/auth/logout", json={"refresh_token": "isr_unknown"})
    ).status_code == 204


async def test_api_key_lifecycle(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await builders.create_organization(session)
    member = await builders.actor(session, settings, organization=organization)
    url = f"/v1/organizations/{organization.id}/api-keys"

    created = await client.post(
        url, json={"name": "成果同步", "scopes": ["catalog:write"]}, headers=member.headers
    )
    assert created.status_code == 201, created.text
    body = created.json()
    key = body["key"]
    assert key.startswith("isk_")
    assert body["prefix"] == key[:12]
    assert body["scopes"] == ["catalog:write"]
    assert body["last_used_at"] is None

    stored = await session.get(ApiKey, uuid.UUID(body["id"]))
    assert stored is not None
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in (stored.prefix, stored.name, stored.key_hash)

    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200
    assert me.json()["kind"] == "api_key"
    assert me.json()["organization_id"] == str(organization.id)
    assert me.json()["scopes"] == ["catalog:write"]

    listed = await client.get(url, headers=member.headers)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert "key" not in item
    assert key not in listed.text
    assert item["last_used_at"] is not None

    revoked = await client.delete(f"{url}/{body['id']}", headers=member.headers)
    assert revoked.status_code == 204
    after = await client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert after.status_code == 401
    assert after.json()["code"] == "invalid_api_key"
    assert (await client.delete(f"{url}/{body['id']}", headers=member.headers)).status_code == 204


async def test_api_keys_of_another_organization_are_out_of_reach(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    org_a = await builders.create_organization(session)
    org_b = await builders.create_organization(session)
    member_a = await builders.actor(session, settings, organization=org_a)
    key_b = await builders.api_key_actor(session, organization=org_b)
    key_b_id = (
        await session.scalars(select(ApiKey.id).where(ApiKey.organization_id == org_b.id))
    ).one()
    url_b = f"/v1/organizations/{org_b.id}/api-keys"

    assert (
        await client.post(
            url_b, json={"name": "x", "scopes": ["catalog:write"]}, headers=member_a.headers
        )
    ).status_code == 403
    assert (await client.get(url_b, headers=member_a.headers)).status_code == 403
    assert (await client.delete(f"{url_b}/{key_b_id}", headers=member_a.headers)).status_code == 403
    # the key's id under the wrong organization is simply not there
    member_b = await builders.actor(session, settings, organization=org_b)
    wrong_path = f"/v1/organizations/{org_a.id}/api-keys/{key_b_id}"
    assert (await client.delete(wrong_path, headers=member_a.headers)).status_code == 404
    assert (await client.get(url_b, headers=member_b.headers)).status_code == 200
    # keys cannot mint keys, not even for their own organization
    response = await client.post(
        url_b, json={"name": "x", "scopes": ["catalog:write"]}, headers=key_b.headers
    )
    assert response.status_code == 403


async def test_members_cannot_grant_scopes_they_do_not_hold(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    organization = await builders.create_organization(session)
    member = await builders.actor(session, settings, organization=organization)
    operator = await builders.actor(session, settings, role=Role.operator)
    url = f"/v1/organizations/{organization.id}/api-keys"
    denied = await client.post(
        url, json={"name": "审计", "scopes": ["ledger:read"]}, headers=member.headers
    )
    assert denied.status_code == 403
    assert denied.json()["code"] == "scope_not_grantable"
    allowed = await client.post(
        url, json={"name": "审计", "scopes": ["ledger:read"]}, headers=operator.headers
    )
    assert allowed.status_code == 201
    bad_scope = await client.post(
        url, json={"name": "x", "scopes": ["root"]}, headers=operator.headers
    )
    assert bad_scope.status_code == 422
    empty = await client.post(url, json={"name": "x", "scopes": []}, headers=operator.headers)
    assert empty.status_code == 422
    past = await client.post(
        url,
        json={"name": "x", "scopes": ["catalog:write"], "expires_at": "2020-01-01T00:00:00Z"},
        headers=operator.headers,
    )
    assert past.status_code == 422


async def test_expired_api_keys_are_401(client: AsyncClient, session: AsyncSession) -> None:
    organization = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=organization)
    record = (
        await session.scalars(select(ApiKey).where(ApiKey.organization_id == organization.id))
    ).one()
    record.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    await session.commit()
    response = await client.get("/v1/me", headers=key.headers)
    assert response.status_code == 401
    assert response.json()["code"] == "api_key_expired"


async def test_api_key_use_is_rate_limited(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    settings.api_key_requests_per_minute = 3
    organization = await builders.create_organization(session)
    key = await builders.api_key_actor(session, organization=organization)
    statuses = [(await client.get("/v1/me", headers=key.headers)).status_code for _ in range(4)]
    if statuses[-1] == 200:  # the minute rolled over mid-test; the next four must show it
        statuses = [(await client.get("/v1/me", headers=key.headers)).status_code for _ in range(4)]
    assert 429 in statuses
    limited = await client.get("/v1/me", headers=key.headers)
    assert limited.status_code == 429
    assert limited.json()["code"] == "api_key_rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60


async def test_user_management(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    operator = await builders.actor(session, settings, role=Role.operator)
    organization = await builders.create_organization(session)

    member = {
        "email": "Zhang.San@ZZU.edu.cn",
        "password": "a long enough password",
        "organization_id": str(organization.id),
    }
    created = await client.post("/v1/users", json=member, headers=operator.headers)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "zhang.san@zzu.edu.cn"
    assert created.json()["role"] == "member"
    stored = await session.get(User, uuid.UUID(created.json()["id"]))
    assert stored is not None
    assert stored.password_hash.startswith("$argon2id$")

    duplicate = await client.post(
        "/v1/users", json={**member, "email": "zhang.san@zzu.edu.cn"}, headers=admin.headers
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "email_taken"

    for caller, email, password, role, expected in (
        (operator, "boss@x.cn", "a long enough password", "admin", 403),  # operators make members
        (admin, "m@x.cn", "a long enough password", "member", 422),  # a member needs an org
        (admin, "a@x.cn", "short", "auditor", 422),
        (admin, "audit@x.cn", "a long enough password", "auditor", 201),
    ):
        response = await client.post(
            "/v1/users",
            json={"email": email, "password": password, "role": role},
            headers=caller.headers,
        )
        assert response.status_code == expected, (email, response.text)

    listed = await client.get(
        "/v1/users", params={"organization_id": str(organization.id)}, headers=admin.headers
    )
    assert [u["email"] for u in listed.json()["items"]] == ["zhang.san@zzu.edu.cn"]

    pair = await _sign_in(client, "zhang.san@zzu.edu.cn", "a long enough password")
    disabled = await client.patch(
        f"/v1/users/{created.json()['id']}", json={"is_active": False}, headers=operator.headers
    )
    assert disabled.status_code == 200
    assert disabled.json()["is_active"] is False
    assert (
        await client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    ).status_code == 401
    assert (
        await client.get("/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
    ).status_code == 401


async def test_people_see_their_own_account_only(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    member = await builders.actor(session, settings)
    other = await builders.create_user(session)
    assert member.user is not None
    assert (
        await client.get(f"/v1/users/{member.user.id}", headers=member.headers)
    ).status_code == 200
    assert (await client.get(f"/v1/users/{other.id}", headers=member.headers)).status_code == 403
    assert (
        await client.patch(
            f"/v1/users/{member.user.id}", json={"role": "admin"}, headers=member.headers
        )
    ).status_code == 403


async def test_nobody_can_demote_or_disable_themselves(
    client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    admin = await builders.actor(session, settings, role=Role.admin)
    assert admin.user is not None
    url = f"/v1/users/{admin.user.id}"
    for change in ({"is_active": False}, {"role": "member"}):
        response = await client.patch(url, json=change, headers=admin.headers)
        assert response.status_code == 403
        assert response.json()["code"] == "own_account"
    assert (await client.get("/v1/me", headers=admin.headers)).json()["role"] == "admin"
