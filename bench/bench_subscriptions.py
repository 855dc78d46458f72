"""What 10,000 subscriptions cost a write: a partner's import of 1,000 technologies, and
publishing one technology, with every saved query active against with none.

    .venv/bin/python bench/bench_subscriptions.py [--database-url URL] [--subscriptions 10000]
        [--rounds 3] [--batch-size 1000] [--publishes 40]

Migrates a database (a fresh SQLite file in a temporary directory by default; a PostgreSQL
URL should name an empty database), creates a university with an API key (catalog:write),
1,000 partner organizations and SUBSCRIPTIONS saved queries among them, written the way
partners write them (see ``saved_queries``), then serves the real app in this process
(httpx's ASGI transport, no network) and, ROUNDS times, with the subscriptions switched off
and then on (the same database, the order alternating so that its growth favours neither):

1. imports BATCH_SIZE new published technologies (bench_import's generator) in one request;
2. creates PUBLISHES drafts and times each ``POST /v1/technologies/{id}/publish``.

The target (issue 14): with the subscriptions on, each costs at most 20 % more than with
them off. The events recorded per import are reported beside the times: they are the work
the subscriptions ask for, not overhead. Switching them on recompiles the saved queries in
every process once (timed apart, as "compile"). Prints a table and merges the figures into
bench/results/subscriptions.json under the backend's name. See bench/README.md.
"""

import argparse
import asyncio
import gc
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_get import BENCH_DIR, backend_name, bench_session, migrate, random_credit_code
from bench_import import DOMAINS, build_items
from bench_results import merge_results, run_header
from sqlalchemy import func, insert, select, update

from app.core import webhooks
from app.core.config import Settings, normalize_database_url
from app.core.db import Database, create_engine
from app.core.security import Scope
from app.demo.corpus import FIELDS
from app.main import create_app
from app.models.orgs import Organization, OrganizationKind
from app.models.subscriptions import Event, Subscription, SubscriptionStatus
from app.services import auth as auth_service
from app.services import deliveries
from app.services import subscriptions as subscriptions_service

RESULTS_FILE = BENCH_DIR / "results" / "subscriptions.json"
TARGET_RATIO = 1.20
SEED = 20261207
PARTNERS = 1000


def topics() -> list[tuple[str, tuple[str, ...]]]:
    """The zone's vocabulary by field: the demo corpus's twelve fields (products, techniques,
    research fields, applications) and the ten domains this benchmark's items are written
    from, as (field, its words)."""
    vocabulary = [
        (
            field.name,
            (*field.objects, *field.techniques, *field.research_fields, *field.applications),
        )
        for field in FIELDS
    ]
    vocabulary += [(domain.field, (*domain.objects, *domain.techniques)) for domain in DOMAINS]
    return vocabulary


def saved_queries(count: int, organizations: list[uuid.UUID]) -> list[dict[str, Any]]:
    """``count`` subscriptions over the zone's whole vocabulary (433 words in 22 fields, of
    which the imported items use about 100): 30 % on one word ("激光熔覆"), 20 % on two
    words of one field, 10 % on one word within its field, 10 % by filters only (a field, a
    technique's tag and a TRL), 30 % on the other catalogs and demands."""
    rng = random.Random(SEED)
    vocabulary = topics()
    others = ["talents", "policies", "ip_assets", "financial_products", "demands"]
    rows = []
    for number in range(count):
        field, words = rng.choice(vocabulary)
        share = number % 10
        catalog, filters, q = "technologies", {}, None
        if share < 3:
            q = rng.choice(words)
        elif share < 5:
            q = " ".join(rng.sample(words, 2))
        elif share < 6:
            q, filters = rng.choice(words), {"field": [field]}
        elif share < 7:
            domain = rng.choice(DOMAINS)
            filters = {
                "field": [domain.field],
                "tags": [rng.choice(domain.techniques)],
                "trl": [rng.randint(3, 8)],
            }
        else:
            catalog, q = rng.choice(others), rng.choice(words)
        rows.append(
            {
                "id": uuid.uuid4(),
                "organization_id": organizations[number % len(organizations)],
                "status": SubscriptionStatus.disabled,
                "name": f"订阅 {number}",
                "catalog": catalog,
                "q": q,
                "filters": filters,
                "url": f"https://partner-{number % PARTNERS}.example.com/hook"
                if number % 2
                else None,
                "secret": webhooks.new_secret(),
                "created_by": "bench",
            }
        )
    return rows


async def prepare(database_url: str, subscriptions: int) -> tuple[str, uuid.UUID]:
    """The university's API key and id; the partners and their (switched off) subscriptions."""
    async with bench_session(database_url) as session:
        university = Organization(
            name=f"郑州轻工业大学-{uuid.uuid4().hex[:6]}",
            kind=OrganizationKind.university,
            credit_code=random_credit_code(),
        )
        session.add(university)
        partners = [
            Organization(name=f"合作单位 {n}", kind=OrganizationKind.enterprise)
            for n in range(PARTNERS)
        ]
        session.add_all(partners)
        await session.flush()
        issued = await auth_service.issue_api_key(
            session, organization_id=university.id, name="bench", scopes=[Scope.catalog_write]
        )
        rows = saved_queries(subscriptions, [p.id for p in partners])
        for start in range(0, len(rows), 1000):
            await session.execute(insert(Subscription), rows[start : start + 1000])
        return issued.key, university.id


async def switch(db: Database, on: bool) -> float:
    """Turn every subscription on or off (a new subscriptions generation); the seconds the
    first write after it spends compiling them, timed by compiling once here."""
    async with db.unit_of_work(write=True) as session:
        status = SubscriptionStatus.active if on else SubscriptionStatus.disabled
        await session.execute(update(Subscription).values(status=status))
        await subscriptions_service._raise_generation(session)
    async with db.unit_of_work(write=True) as session:
        started = time.perf_counter()
        await subscriptions_service.saved_queries(session)
        took = time.perf_counter() - started
    subscriptions_service._SAVED.clear()
    gc.collect()
    return took


async def worker_turn(db: Database) -> float:
    """What a delivery worker does with the round's outbox entries (matching them, writing
    their events), timed; then this process forgets the compiled saved queries, as the API
    processes of a deployment with separate workers never hold them."""
    started = time.perf_counter()
    while await deliveries.expand_outbox(db, batch=500):
        pass
    took = time.perf_counter() - started
    subscriptions_service._SAVED.clear()
    gc.collect()
    return took


async def count_events(db: Database) -> int:
    async with db.unit_of_work(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Event)) or 0)


class Items:
    """New technologies, never the same external id twice."""

    def __init__(self) -> None:
        self.pool = build_items(12_000)
        self.used = 0

    def take(self, count: int, status: str = "published") -> list[dict[str, Any]]:
        taken = []
        for _ in range(count):
            item = dict(self.pool[self.used % len(self.pool)])
            item["external_id"] = f"BENCH-{self.used:07d}"
            item["status"] = status
            taken.append(item)
            self.used += 1
        return taken


async def one_round(
    client: httpx.AsyncClient, db: Database, headers: dict[str, str], items: Items, options: Any
) -> dict[str, Any]:
    before = await count_events(db)
    batch = items.take(options.batch_size)
    started = time.perf_counter()
    answer = await client.post("/v1/imports/technologies", json={"items": batch}, headers=headers)
    import_s = time.perf_counter() - started
    if answer.status_code != 200:
        raise RuntimeError(f"import answered {answer.status_code}: {answer.text[:500]}")
    publish_ms = []
    for values in items.take(options.publishes, status="draft"):
        values = {k: v for k, v in values.items() if k != "status"}
        created = await client.post("/v1/technologies", json=values, headers=headers)
        if created.status_code != 201:
            raise RuntimeError(f"create answered {created.status_code}: {created.text[:500]}")
        path = f"/v1/technologies/{created.json()['id']}/publish"
        started = time.perf_counter()
        published = await client.post(path, headers=headers)
        publish_ms.append((time.perf_counter() - started) * 1000)
        if published.status_code != 200:
            raise RuntimeError(f"publish answered {published.status_code}")
    fanout_s = await worker_turn(db)
    events = await count_events(db) - before
    return {
        "import_s": import_s,
        "events_per_import": events,
        "fanout_s": fanout_s,
        "publish_ms_p50": statistics.median(publish_ms),
    }


async def run(options: Any) -> dict[str, Any]:
    database_url = normalize_database_url(options.database_url)
    migrate(database_url)
    key, _ = await prepare(database_url, options.subscriptions)
    headers = {"Authorization": f"Bearer {key}"}
    settings = Settings(
        database_url=database_url,
        webhook_worker=False,
        response_cache_mb=0,
        log_level="WARNING",
        api_key_requests_per_minute=1_000_000,
    )
    db = Database(create_engine(database_url))
    app = create_app(settings, database=db)
    items = Items()
    measured: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    compile_s: list[float] = []
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await one_round(client, db, headers, items, options)  # warm-up, not counted
            for number in range(options.rounds):
                order = ("off", "on") if number % 2 == 0 else ("on", "off")
                for mode in order:
                    took = await switch(db, mode == "on")
                    if mode == "on":
                        compile_s.append(took)
                    measured[mode].append(await one_round(client, db, headers, items, options))
                    print(f"round {number + 1} {mode:>3}: {measured[mode][-1]}", flush=True)
    finally:
        await db.dispose()

    def median(mode: str, name: str) -> float:
        return statistics.median(entry[name] for entry in measured[mode])

    import_ratio = median("on", "import_s") / median("off", "import_s")
    publish_ratio = median("on", "publish_ms_p50") / median("off", "publish_ms_p50")
    return {
        **run_header(load_average=True),
        "subscriptions": options.subscriptions,
        "rounds": options.rounds,
        "batch_size": options.batch_size,
        "publishes_per_round": options.publishes,
        "import_s_off": round(median("off", "import_s"), 4),
        "import_s_on": round(median("on", "import_s"), 4),
        "import_ratio": round(import_ratio, 3),
        "events_per_import": statistics.median(e["events_per_import"] for e in measured["on"]),
        "fanout_s": round(median("on", "fanout_s"), 3),
        "publish_ms_off": round(median("off", "publish_ms_p50"), 2),
        "publish_ms_on": round(median("on", "publish_ms_p50"), 2),
        "publish_ratio": round(publish_ratio, 3),
        "compile_s": round(statistics.median(compile_s), 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": import_ratio <= TARGET_RATIO and publish_ratio <= TARGET_RATIO,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--publishes", type=int, default=40)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="innoshare-bench-") as workdir:
        if options.database_url is None:
            options.database_url = f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}"
        entry = asyncio.run(run(options))
    backend = backend_name(options.database_url)
    print(
        f"{backend}: {entry['subscriptions']:,} subscriptions · import of"
        f" {entry['batch_size']:,}: {entry['import_s_off']:.3f} s off, {entry['import_s_on']:.3f}"
        f" s on (×{entry['import_ratio']}, {entry['events_per_import']} events) · publish p50:"
        f" {entry['publish_ms_off']:.2f} ms off, {entry['publish_ms_on']:.2f} ms on"
        f" (×{entry['publish_ratio']}) · compile {entry['compile_s']:.3f} s · the worker makes"
        f" the import's events in {entry['fanout_s']:.3f} s · target ×"
        f"{TARGET_RATIO}: {'met' if entry['meets_target'] else 'MISSED'}"
    )
    merge_results(RESULTS_FILE, backend, entry)
    return 0 if entry["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
