"""Failed sign-ins are limited without handing strangers a lock: an address that keeps failing
is refused, the account's owner signs in from anywhere else, one address cannot spray many
accounts, and an account under a distributed attack gives each address one failure."""

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from tests import builders
from tests.conftest import make_settings

PER_ACCOUNT_ADDRESS = 3
PER_ADDRESS = 8
PER_ACCOUNT = 6
#: Longer than any test: the fixed windows are aligned to the epoch, so a short one could
#: end half way through a test and lift the limits it checks.
WINDOW = 10_000_000


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        trust_forwarded_for=True,
        login_window_seconds=WINDOW,
        login_max_failures_per_account_address=PER_ACCOUNT_ADDRESS,
        login_max_failures_per_address=PER_ADDRESS,
        login_max_failures_per_account=PER_ACCOUNT,
    )


async def _sign_in(client: AsyncClient, email: str, password: str, address: str) -> Response:
    return await client.post(
        "/v1/auth/token",
        data={"username": email, "password": password},
        headers={"X-Forwarded-For": address},
    )


def _assert_refused(response: Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "too_many_sign_in_failures"
    assert 1 <= int(response.headers["retry-after"]) <= WINDOW


async def test_an_attacker_cannot_lock_the_owner_out(
    client: AsyncClient, session: AsyncSession
) -> None:
    owner = await builders.create_user(session)
    attacker = "198.51.100.66"
    for attempt in range(PER_ACCOUNT_ADDRESS):
        failed = await _sign_in(client, owner.email, f"guess {attempt}", attacker)
        assert failed.status_code == 401, failed.text
        assert failed.json()["code"] == "invalid_credentials"
    for attempt in range(3):
        _assert_refused(await _sign_in(client, owner.email, f"more {attempt}", attacker))
    # The attacker's address is refused even with the right password …
    _assert_refused(await _sign_in(client, owner.email, builders.PASSWORD, attacker))
    # … and the owner, from their own address, is not: a typo, then the password.
    home = "203.0.113.20"
    assert (await _sign_in(client, owner.email, "typo", home)).status_code == 401
    signed_in = await _sign_in(client, owner.email, builders.PASSWORD, home)
    assert signed_in.status_code == 200, signed_in.text
    assert "access_token" in signed_in.json()


async def test_one_address_cannot_spray_many_accounts(
    client: AsyncClient, session: AsyncSession
) -> None:
    """PER_ADDRESS failures over any accounts, then the address is refused for every one of
    them (known or not); the accounts themselves stay open to their owners."""
    sprayer = "198.51.100.77"
    users = [await builders.create_user(session) for _ in range(3)]
    emails = [u.email for u in users] + [f"nobody{i}@innoshare.test" for i in range(10)]
    statuses = [(await _sign_in(client, e, "Password123!", sprayer)).status_code for e in emails]
    assert statuses == [401] * PER_ADDRESS + [429] * (len(emails) - PER_ADDRESS)
    _assert_refused(await _sign_in(client, users[0].email, builders.PASSWORD, sprayer))
    for user in users:
        ok = await _sign_in(client, user.email, builders.PASSWORD, "203.0.113.21")
        assert ok.status_code == 200, ok.text


async def test_an_account_under_a_distributed_attack_gives_each_address_one_failure(
    client: AsyncClient, session: AsyncSession
) -> None:
    """Past PER_ACCOUNT failures of one account in a window, an address gets one failure on
    it (not PER_ACCOUNT_ADDRESS); an address that has not failed still signs in."""
    owner = await builders.create_user(session)
    bots = [f"198.51.100.{n}" for n in range(1, 10)]
    failures = 0
    for bot in bots[:2]:
        for attempt in range(PER_ACCOUNT_ADDRESS):
            response = await _sign_in(client, owner.email, f"guess {attempt}", bot)
            assert response.status_code == 401
            failures += 1
    assert failures == PER_ACCOUNT
    # Under attack now: each further address fails once, then is refused.
    for bot in bots[2:5]:
        assert (await _sign_in(client, owner.email, "guess", bot)).status_code == 401
        _assert_refused(await _sign_in(client, owner.email, "again", bot))
    # The owner, from an address with no failure on the account, goes through.
    ok = await _sign_in(client, owner.email, builders.PASSWORD, "203.0.113.22")
    assert ok.status_code == 200, ok.text
    # An address that failed before the attack began is refused now, for the window.
    _assert_refused(await _sign_in(client, owner.email, builders.PASSWORD, bots[0]))
