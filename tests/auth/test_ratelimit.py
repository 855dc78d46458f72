"""Failed sign-ins are limited per account from one address and per address, across
processes."""

import asyncio
import itertools
import time
from collections import Counter

import httpx
import pytest

from app.core.config import Settings
from app.core.db import Database, create_engine
from app.core.security import Role
from tests import builders
from tests.conftest import TEST_SECRET
from tests.servers import running_servers

ACCOUNT_ADDRESS_LIMIT = 5
ADDRESS_LIMIT = 8


async def _attempts(
    urls: list[str], logins: list[tuple[str, str]], address: str
) -> list[httpx.Response]:
    """Send every sign-in at once, spread over the processes in turn."""
    async with httpx.AsyncClient(timeout=60) as client:
        return list(
            await asyncio.gather(
                *(
                    client.post(
                        f"{url}/v1/auth/token",
                        data={"username": email, "password": password},
                        headers={"X-Forwarded-For": address},
                    )
                    for url, (email, password) in zip(itertools.cycle(urls), logins)
                )
            )
        )


async def _clear_of_a_window_boundary(margin_s: float = 30.0) -> None:
    """Start with at least ``margin_s`` left in the current counting window.

    The counters are fixed windows aligned to the epoch (``ratelimit._window``): a test whose
    attempts straddle a boundary would see the lock lifted half way, as the Retry-After it was
    sent says. Under a loaded machine this test takes seconds, so it waits out a boundary that
    is near instead."""
    window = Settings.model_fields["login_window_seconds"].default
    left = window - time.time() % window
    if left < margin_s:
        await asyncio.sleep(left + 0.5)


def _servers_env(database_url: str, **limits: int) -> dict[str, str]:
    """Servers that trust X-Forwarded-For, with these sign-in limits
    (``per_account_address=5``)."""
    return {
        "INNOSHARE_DATABASE_URL": database_url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "WARNING",
        "INNOSHARE_TRUST_FORWARDED_FOR": "true",
        **{f"INNOSHARE_LOGIN_MAX_FAILURES_{name.upper()}": str(n) for name, n in limits.items()},
    }


@pytest.fixture
async def account(migrated_fresh_database_url: str) -> str:
    database = Database(create_engine(migrated_fresh_database_url))
    try:
        async with database.unit_of_work(write=True) as session:
            user = await builders.create_user(session, role=Role.operator)
            return user.email
    finally:
        await database.dispose()


async def test_sign_in_limits_hold_across_two_processes(
    migrated_fresh_database_url: str, account: str
) -> None:
    env = _servers_env(
        migrated_fresh_database_url,
        per_account_address=ACCOUNT_ADDRESS_LIMIT,
        per_address=ADDRESS_LIMIT,
    )
    with running_servers(2, env) as urls:
        await _clear_of_a_window_boundary()
        # One account hammered from one address through both processes at once.
        wrong = [(account, f"wrong password {i:03}") for i in range(12)]
        responses = await _attempts(urls, wrong, "198.51.100.1")
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {401: ACCOUNT_ADDRESS_LIMIT, 429: 12 - ACCOUNT_ADDRESS_LIMIT}, statuses
        limited = next(r for r in responses if r.status_code == 429)
        assert limited.headers["content-type"] == "application/problem+json"
        assert limited.json()["code"] == "too_many_sign_in_failures"
        assert 1 <= int(limited.headers["retry-after"]) <= 900

        # That address waits for the window to pass, even with the right password; the
        # owner, from another address, does not.
        [locked] = await _attempts(urls[1:], [(account, builders.PASSWORD)], "198.51.100.1")
        assert locked.status_code == 429
        [owner] = await _attempts(urls[1:], [(account, builders.PASSWORD)], "198.51.100.99")
        assert owner.status_code == 200, owner.text

        # Many accounts tried from one address: the address limit.
        spray = [(f"guess{i}@innoshare.test", "wrong password!!") for i in range(12)]
        responses = await _attempts(urls, spray, "198.51.100.2")
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {401: ADDRESS_LIMIT, 429: 12 - ADDRESS_LIMIT}, statuses


async def test_successful_sign_in_does_not_count_against_the_address(
    migrated_fresh_database_url: str, account: str
) -> None:
    env = _servers_env(migrated_fresh_database_url, per_address=3)
    with running_servers(1, env) as urls:
        good = [(account, builders.PASSWORD)] * 5
        responses = await _attempts(urls, good, "198.51.100.3")
        assert [r.status_code for r in responses] == [200] * 5
        # failures before a success are forgiven for the account
        mixed = [(account, "wrong password 1"), (account, "wrong password 2")]
        assert [r.status_code for r in await _attempts(urls, mixed, "198.51.100.4")] == [401, 401]
        [ok] = await _attempts(urls, [(account, builders.PASSWORD)], "198.51.100.5")
        assert ok.status_code == 200
