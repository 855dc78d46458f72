"""``innoshare payouts plan`` against a database of its own, as an operator would run it (this
checkout's code: ``python -c "from app.cli import main; main()"``)."""

import csv
import io
import os
import subprocess
import sys

import httpx

from app.core.db import Database, create_engine
from app.main import create_app
from tests.conftest import TEST_SECRET, make_settings
from tests.deals.conftest import build_market, post
from tests.servers import PROJECT_ROOT


def _plan(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INNOSHARE_DATABASE_URL": url, "INNOSHARE_SECRET_KEY": TEST_SECRET}
    command = [sys.executable, "-c", "from app.cli import main; main()", "payouts", "plan", *args]
    return subprocess.run(
        command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )


async def test_the_plan_lists_balances_of_at_least_the_minimum(
    migrated_fresh_database_url: str,
) -> None:
    settings = make_settings(migrated_fresh_database_url)
    db = Database(create_engine(migrated_fresh_database_url))
    try:
        async with db.unit_of_work(write=True) as session:
            market = await build_market(session, settings)
        transport = httpx.ASGITransport(app=create_app(settings, database=db))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            body = {
                "technology_id": str(market.technology.id),
                "title": "付款计划",
                "category": "transfer",
                "gross_amount": "100000.00",
            }
            deal = (await post(client, "/v1/deals", market.buyer, body)).json()
            for action, actor in (("fund", market.operator), ("settle", market.buyer)):
                done = await post(client, f"/v1/deals/{deal['id']}/{action}", actor)
                assert done.status_code == 200, done.text
    finally:
        await db.dispose()

    due = _plan(migrated_fresh_database_url, "--min-amount", "1000.00", "--format", "csv")
    assert due.returncode == 0, due.stderr
    rows = list(csv.DictReader(io.StringIO(due.stdout)))
    assert rows == [
        {
            "organization_id": str(market.seller_org.id),
            "organization_name": market.seller_org.name,
            "amount": "86000.00",
            "currency": "CNY",
        }
    ]
    exact = _plan(migrated_fresh_database_url, "--min-amount", "86000.00", "--format", "csv")
    assert len(list(csv.DictReader(io.StringIO(exact.stdout)))) == 1
    above = _plan(migrated_fresh_database_url, "--min-amount", "86000.01", "--format", "csv")
    assert above.returncode == 0
    assert list(csv.DictReader(io.StringIO(above.stdout))) == []
    table = _plan(migrated_fresh_database_url, "--min-amount", "1000.00")
    assert table.returncode == 0, table.stderr
    assert "86000.00" in table.stdout
    assert "1 organizations, 86000.00 CNY in all" in table.stdout
    bad = _plan(migrated_fresh_database_url, "--min-amount", "12.345")
    assert bad.returncode == 2
