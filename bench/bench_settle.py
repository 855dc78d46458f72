"""Settlements through the API (fund + settle, idempotency keys) against a raw SQL transfer.

    .venv/bin/python bench/bench_settle.py --database-url postgresql://… [--concurrency 32]
        [--duration 15] [--workers 1] [--deals-per-client 400] [--buyers 32] [--sellers 8]

PostgreSQL only. Migrates a scratch database and builds a market through the services: one
operator, one auditor, BUYERS enterprises with a member each, SELLERS universities each with
a published technology, and DEALS_PER_CLIENT deals per client (created through
deals.create_deal, like POST /v1/deals). Serves the app under uvicorn and runs CONCURRENCY
clients, each with its own buyer's deals: POST /v1/deals/{id}/fund as the operator, then
POST /v1/deals/{id}/settle as the buyer, each with a fresh Idempotency-Key, for a 2 s warm-up
and DURATION seconds. Every settlement credits the same fee and tax accounts.

While it runs, the clients' PostgreSQL backends are sampled every 100 ms (pg_stat_activity):
how many run, wait for the app inside a transaction, wait for their commit to be flushed, or
wait for a lock, and on which statement. After it: GET /v1/ledger/verify as an auditor, the
spread of the entries over the hash chains and the balance shards of the fee and tax
accounts, and balances checked against the deals' own figures.

Then bench/raw_transfer.py runs in the same run, with the same concurrency: a raw asyncpg
double-entry transfer per transaction (the denominator of the ratio, target ≥ 0.25); the same
with every transfer crediting one hot row (what a design that locks one shared fee row per
settlement is bounded by); every transfer crediting that shared account through the app's
protocol (a free chain, balance shards per chain) in raw SQL; and pgbench with the random
transfer when it is installed.
Prints the figures and merges them into bench/results/settle.json. The ledger is append-only
(triggers refuse DELETE), so give it a scratch database and drop it afterwards. See
bench/README.md.
"""

import asyncio
import json
import random
import secrets
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import raw_transfer
from bare_transfer_app import ACCOUNTS_ENV as BARE_ACCOUNTS_ENV
from bare_transfer_app import DSN_ENV as BARE_DSN_ENV
from bare_transfer_app import POOL_ENV as BARE_POOL_ENV
from bench_get import (
    BENCH_DIR,
    bench_parser,
    bench_session,
    free_port,
    migrate,
    options_from,
    positive,
    random_credit_code,
    require_postgresql,
    run_bench,
    running_server,
    server_env,
    staff_principal,
    uvicorn_command,
)
from bench_item import cpu_seconds, plain_dsn, postgres_cpu, postgres_cpu_since, server_processes
from bench_results import merge_results, run_header
from loadgen import percentile_ms

from app.core.config import DEFAULT_FEE_RATE_BP, DEFAULT_TAX_RATE_BP
from app.core.security import (
    Role,
    create_access_token,
    hash_password_sync,
)
from app.models.auth import User
from app.models.catalog import HistoryAction
from app.models.deals import ContractCategory
from app.models.orgs import Organization, OrganizationKind
from app.services import catalog as catalog_service
from app.services import deals as deals_service
from app.services import technologies as technologies_service
from app.services.auth import principal_of
from app.services.ledger import accounts as ledger_accounts
from app.services.ledger.accounts import ESCROW, FEE_REVENUE, TAX_PAYABLE

RESULTS_FILE = BENCH_DIR / "results" / "settle.json"
RAW_TRANSFER = BENCH_DIR / "raw_transfer.py"
RAW_ACCOUNTS = 10_000  # raw_transfer.py's default, so the ceiling locks as the floor does
TARGET_RATIO = 0.25
WARMUP_S = 2.0
SAMPLE_EVERY_S = 0.1
TOKEN_TTL_S = 3600
READ_TIMEOUT_S = 30.0

SELLER_NAMES = ["郑州大学", "河南理工大学", "河南工业大学", "华北水利水电大学", "河南农业大学"]
TECHNOLOGY_TITLES = [
    "盾构刀盘耐磨涂层及其激光熔覆制备方法",
    "基于化学气相沉积的耐高温金刚石圆锯片",
    "小麦赤霉病抗性基因分子标记与育种方法",
    "煤矿井下瓦斯浓度分布式光纤监测系统",
    "超硬材料精密磨削砂轮的电镀工艺",
]
DEAL_TITLES = {
    ContractCategory.development: "联合开发",
    ContractCategory.transfer: "技术转让",
    ContractCategory.license: "技术许可",
    ContractCategory.consulting: "技术咨询",
    ContractCategory.service: "技术服务",
}


@dataclass(frozen=True)
class Options:
    database_url: str
    concurrency: int
    duration: int
    workers: int
    deals_per_client: int
    buyers: int
    sellers: int
    raw: bool
    pgbench: bool
    ceiling: bool


# --- the market ------------------------------------------------------------------------------


@dataclass
class Market:
    operator_token: str
    auditor_token: str
    buyer_tokens: list[str]
    #: deal ids per client (client i buys as buyer i % buyers)
    deals: list[list[str]]


def bench_user(role: Role, organization_id: uuid.UUID | None, password_hash: str) -> User:
    return User(
        email=f"bench-{role.value}-{uuid.uuid4().hex[:12]}@innoshare.test",
        password_hash=password_hash,
        role=role,
        organization_id=organization_id,
        is_active=True,
    )


def _token(user: User, signing_key: str) -> str:
    return create_access_token(
        user_id=user.id, role=user.role, signing_key=signing_key, ttl_seconds=TOKEN_TTL_S
    )


async def create_organizations(
    session: Any, kind: OrganizationKind, names: list[str]
) -> list[Organization]:
    organizations = [
        Organization(name=name, kind=kind, credit_code=random_credit_code(), region="河南省郑州市")
        for name in names
    ]
    session.add_all(organizations)
    await session.flush()
    return organizations


async def publish_technologies(session: Any, sellers: list[Organization]) -> list[uuid.UUID]:
    """One published technology per seller, through the catalog service (search columns and
    history as the API writes them)."""
    staff = staff_principal()
    spec = technologies_service.SPEC
    ids = []
    for n, seller in enumerate(sellers):
        values = {
            "title": TECHNOLOGY_TITLES[n % len(TECHNOLOGY_TITLES)],
            "summary": "可提供工艺包、设备选型与现场技术指导，已完成中试验证。",
            "field": "新材料",
            "trl": 6,
            "transfer_modes": ["license"],
            "tags": ["中试"],
            "inventor_ids": [],
            "ip_asset_ids": [],
            "external_id": None,
        }
        item = await catalog_service.create_item(
            session, spec, principal=staff, values=values, owner_id=seller.id
        )
        await catalog_service.transition_item(
            session, spec, principal=staff, item_id=item.id, action=HistoryAction.publish
        )
        ids.append(item.id)
    return ids


async def build_market(options: Options, signing_key: str) -> Market:
    rng = random.Random(20261125)
    password_hash = hash_password_sync(secrets.token_urlsafe(16))  # nobody signs in
    async with bench_session(options.database_url) as session:
        buyers = await create_organizations(
            session,
            OrganizationKind.enterprise,
            [f"郑州{n:03d}号智能装备有限公司" for n in range(options.buyers)],
        )
        sellers = await create_organizations(
            session,
            OrganizationKind.university,
            [
                f"{SELLER_NAMES[n % len(SELLER_NAMES)]}第{n + 1}技术转移中心"
                for n in range(options.sellers)
            ],
        )
        technologies = await publish_technologies(session, sellers)
        # Sellers' payable accounts exist once they have been paid: create them now, so
        # the measurement is the steady state, not the race to create them.
        for seller in sellers:
            await ledger_accounts.organization_account(session, seller.id)
        operator = bench_user(Role.operator, None, password_hash)
        auditor = bench_user(Role.auditor, None, password_hash)
        members = [bench_user(Role.member, buyer.id, password_hash) for buyer in buyers]
        session.add_all([operator, auditor, *members])
        await session.flush()
    deals: list[list[str]] = [[] for _ in range(options.concurrency)]
    categories = list(ContractCategory)
    for client in range(options.concurrency):
        member = members[client % len(members)]
        principal = principal_of(member)
        async with bench_session(options.database_url) as session:
            for _ in range(options.deals_per_client):
                category = rng.choice(categories)
                values = deals_service.DealInput(
                    technology_id=rng.choice(technologies),
                    title=f"{DEAL_TITLES[category]}合同 BENCH-{uuid.uuid4().hex[:8]}",
                    category=category,
                    gross_fen=rng.randrange(1_000_000, 500_000_000),
                )
                deal = await deals_service.create_deal(
                    session,
                    principal,
                    values,
                    fee_rate_bp=DEFAULT_FEE_RATE_BP,
                    tax_rate_bp=DEFAULT_TAX_RATE_BP,
                )
                deals[client].append(str(deal.id))
    return Market(
        operator_token=_token(operator, signing_key),
        auditor_token=_token(auditor, signing_key),
        buyer_tokens=[
            _token(members[c % len(members)], signing_key) for c in range(options.concurrency)
        ],
        deals=deals,
    )


# --- the clients -----------------------------------------------------------------------------


@dataclass
class Call:
    kind: str  # "fund" or "settle"
    started: float
    finished: float
    status: int
    app_ms: float | None
    db_ms: float | None


@dataclass
class DriveStats:
    calls: list[Call] = field(default_factory=list)
    pairs: list[tuple[float, float]] = field(default_factory=list)  # fund start, settle end
    failures: list[str] = field(default_factory=list)
    exhausted: int = 0  # clients that ran out of deals before the end


def _server_timing(value: str) -> tuple[float | None, float | None]:
    found: dict[str, float] = {}
    for part in value.split(","):
        name, _, rest = part.strip().partition(";dur=")
        try:
            found[name] = float(rest)
        except ValueError:
            continue
    return found.get("app"), found.get("db")


class HttpConnection:
    """One keep-alive HTTP/1.1 connection speaking just enough for POST without a body."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def post(self, path: str, token: str) -> tuple[int, dict[str, str], bytes]:
        assert self.reader is not None
        assert self.writer is not None
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
            f"Authorization: Bearer {token}\r\nIdempotency-Key: {uuid.uuid4()}\r\n"
            "Content-Length: 0\r\nAccept: application/json\r\n\r\n"
        )
        self.writer.write(request.encode("ascii"))
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name:
                headers[name.strip().lower()] = value.strip()
        body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return status, headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _client(port: int, market: Market, number: int, stop: float, stats: DriveStats) -> None:
    connection = HttpConnection(port)
    await connection.open()
    try:
        for deal_id in market.deals[number]:
            if time.perf_counter() >= stop:
                return
            pair_started = time.perf_counter()
            ok = True
            for kind, token in (
                ("fund", market.operator_token),
                ("settle", market.buyer_tokens[number]),
            ):
                started = time.perf_counter()
                status, headers, body = await connection.post(f"/v1/deals/{deal_id}/{kind}", token)
                finished = time.perf_counter()
                app_ms, db_ms = _server_timing(headers.get("server-timing", ""))
                stats.calls.append(Call(kind, started, finished, status, app_ms, db_ms))
                if not 200 <= status < 300:
                    stats.failures.append(
                        f"{kind} {deal_id}: {status} {body[:300].decode(errors='replace')}"
                    )
                    ok = False
                    break
            if ok:
                stats.pairs.append((pair_started, time.perf_counter()))
        stats.exhausted += 1
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
        stats.failures.append(f"client {number}: {type(error).__name__}: {error}")
    finally:
        connection.close()


# --- sampling PostgreSQL while it runs -------------------------------------------------------

ACTIVITY = """
SELECT state, wait_event_type, wait_event, query
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
"""
STATEMENT_TABLES = (
    "ledger_balances",
    "ledger_chains",
    "ledger_accounts",
    "journal_entries",
    "postings",
    "idempotency_records",
    "deal_milestones",
    "deals",
    "users",
)


def _statement(query: str) -> str:
    text = " ".join(query.split()).lower()
    if "pg_try_advisory_xact_lock" in text:
        return "advisory lock"
    if text.startswith(("commit", "begin", "rollback")):
        return text.split()[0]
    verb = text.split(" ", 1)[0] if text else "?"
    for table in STATEMENT_TABLES:
        if f" {table} " in f" {text} ".replace(",", " ").replace("(", " "):
            return f"{verb} {table}"
    return verb


def _state(row: asyncpg.Record) -> str:
    state, wait_type, wait_event = row["state"], row["wait_event_type"], row["wait_event"]
    if state == "idle":
        return "idle (no transaction)"
    if state and state.startswith("idle in transaction"):
        return "in transaction, waiting for the app"
    if wait_type == "Lock":
        return f"lock wait ({wait_event}) on {_statement(row['query'])}"
    if wait_type in ("IO", "LWLock") and wait_event and "WAL" in wait_event.upper():
        return f"WAL ({wait_event}) on {_statement(row['query'])}"
    if wait_type is None:
        return "running"
    if wait_type == "Client":
        return "in a statement, waiting for the app to send or read"
    return f"{wait_type}:{wait_event}"


@dataclass
class Sampling:
    samples: int = 0
    states: Counter[str] = field(default_factory=Counter)
    lock_waits_by_statement: Counter[str] = field(default_factory=Counter)
    max_waiting_on_balances: int = 0
    server_cpu_s: float = 0.0
    database_cpu_s: float | None = None

    def cpu_us_per(self, count: int) -> tuple[int | None, int | None]:
        """Server and PostgreSQL CPU per unit of work (µs), None when there is none."""
        if not count:
            return None, None
        database = self.database_cpu_s
        return (
            round(self.server_cpu_s / count * 1e6),
            round(database / count * 1e6) if database is not None else None,
        )


async def _sample(dsn: str, port: int, start: float, stop: float, result: Sampling) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        pids = server_processes(port)
        server_before = sum(cpu_seconds(pid) for pid in pids)
        database_before = postgres_cpu()
        while time.perf_counter() < stop:
            rows = await connection.fetch(ACTIVITY)
            result.samples += 1
            on_balances = 0
            for row in rows:
                state = _state(row)
                result.states[state] += 1
                if state.startswith("lock wait"):
                    statement = _statement(row["query"])
                    result.lock_waits_by_statement[statement] += 1
                    on_balances += statement.endswith("ledger_balances")
            result.max_waiting_on_balances = max(result.max_waiting_on_balances, on_balances)
            await asyncio.sleep(SAMPLE_EVERY_S)
        result.server_cpu_s = sum(cpu_seconds(pid) for pid in pids) - server_before
        result.database_cpu_s = postgres_cpu_since(database_before)
    finally:
        await connection.close()


async def drive(
    options: Options, market: Market, port: int
) -> tuple[DriveStats, Sampling, float, float]:
    stats = DriveStats()
    sampling = Sampling()
    began = time.perf_counter()
    start, stop = began + WARMUP_S, began + WARMUP_S + options.duration
    dsn = plain_dsn(options.database_url)
    await asyncio.gather(
        _sample(dsn, port, start, stop, sampling),
        *(_client(port, market, n, stop, stats) for n in range(options.concurrency)),
    )
    return stats, sampling, start, stop


# --- the stack's ceiling: the raw transfer behind bare FastAPI --------------------------------


@dataclass
class CeilingStats:
    pairs: list[tuple[float, float]] = field(default_factory=list)  # first start, second end
    failures: list[str] = field(default_factory=list)


async def _bare_client(port: int, stop: float, stats: CeilingStats) -> None:
    """Two POST /transfers per pair, as the app's clients send fund then settle."""
    connection = HttpConnection(port)
    await connection.open()
    try:
        while (began := time.perf_counter()) < stop:
            for _ in range(2):
                status, _, body = await connection.post("/transfers", "none")
                if status != 200:
                    stats.failures.append(f"{status} {body[:300].decode(errors='replace')}")
                    return
            stats.pairs.append((began, time.perf_counter()))
    except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
        stats.failures.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()


async def drive_ceiling(options: Options, port: int) -> dict[str, Any]:
    stats = CeilingStats()
    sampling = Sampling()
    began = time.perf_counter()
    start, stop = began + WARMUP_S, began + WARMUP_S + options.duration
    await asyncio.gather(
        _sample(plain_dsn(options.database_url), port, start, stop, sampling),
        *(_bare_client(port, stop, stats) for _ in range(options.concurrency)),
    )
    pairs = [(s, e) for s, e in stats.pairs if start <= e <= stop]
    duration = stop - start
    server_cpu, database_cpu = sampling.cpu_us_per(len(pairs))
    return {
        "server": "uvicorn + bare FastAPI + asyncpg pool, bench/bare_transfer_app.py",
        "workers": options.workers,
        "pairs": len(pairs),
        "pairs_per_s": round(len(pairs) / duration, 1),
        "requests_per_s": round(2 * len(pairs) / duration, 1),
        "pair_p50_ms": _ms([e - s for s, e in pairs], 50),
        "pair_p99_ms": _ms([e - s for s, e in pairs], 99),
        "server_cpu_us_per_pair": server_cpu,
        "database_cpu_us_per_pair": database_cpu,
        "failures": stats.failures[:10],
    }


def run_ceiling(options: Options, workdir: Path) -> dict[str, Any]:
    """Serve raw_transfer's transaction through bare FastAPI and drive it like the app."""
    dsn = plain_dsn(options.database_url)
    asyncio.run(raw_transfer.prepare(dsn, RAW_ACCOUNTS))
    try:
        port = free_port()
        env = {
            BARE_DSN_ENV: dsn,
            BARE_ACCOUNTS_ENV: str(RAW_ACCOUNTS),
            BARE_POOL_ENV: str(options.concurrency),
        }
        command = uvicorn_command(
            "bare_transfer_app:create_app", port, options.workers, ["--app-dir", str(BENCH_DIR)]
        )
        with running_server(command, env, f"http://127.0.0.1:{port}/healthz", workdir / "bare.log"):
            try:
                import uvloop
            except ImportError:
                return asyncio.run(drive_ceiling(options, port))
            return uvloop.run(drive_ceiling(options, port))
    finally:
        asyncio.run(raw_transfer.teardown(dsn))


# --- after the run ---------------------------------------------------------------------------


def http_get_json(url: str, token: str, timeout: float = 300) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


INVARIANTS = {
    "sum of all balances": "SELECT coalesce(sum(balance_fen), 0) FROM ledger_balances",
    "fee_revenue - sum(deals.fee_fen)": """
        SELECT (SELECT coalesce(sum(balance_fen), 0) FROM ledger_balances WHERE account_id = $1)
             - (SELECT coalesce(sum(fee_fen), 0) FROM deals)""",
    "tax_payable - sum(deals.tax_fen)": """
        SELECT (SELECT coalesce(sum(balance_fen), 0) FROM ledger_balances WHERE account_id = $1)
             - (SELECT coalesce(sum(tax_fen), 0) FROM deals)""",
    "escrow - sum(deals.escrow_fen)": """
        SELECT (SELECT coalesce(sum(balance_fen), 0) FROM ledger_balances WHERE account_id = $1)
             - (SELECT coalesce(sum(escrow_fen), 0) FROM deals)""",
    "funding entries - funded deals": """
        SELECT (SELECT count(*) FROM journal_entries WHERE kind = 'funding')
             - (SELECT count(*) FROM deals WHERE funded_at IS NOT NULL)""",
    "settlement entries - settled deals": """
        SELECT (SELECT count(*) FROM journal_entries WHERE kind = 'settlement')
             - (SELECT count(*) FROM deals WHERE status = 'settled')""",
}


INVARIANT_ACCOUNTS = {"fee_revenue": FEE_REVENUE, "tax_payable": TAX_PAYABLE, "escrow": ESCROW}


async def ledger_figures(dsn: str) -> dict[str, Any]:
    """Spread of entries over chains, shards of the shared accounts, and invariants (all 0)."""
    connection = await asyncpg.connect(dsn)
    try:
        chains = await connection.fetch(
            "SELECT chain, count(*) AS entries FROM journal_entries GROUP BY chain ORDER BY chain"
        )
        shards = {}
        for name, account in (
            ("escrow", ESCROW),
            ("fee_revenue", FEE_REVENUE),
            ("tax_payable", TAX_PAYABLE),
        ):
            shards[name] = await connection.fetchval(
                "SELECT count(*) FROM ledger_balances WHERE account_id = $1", account
            )
        invariants = {}
        for label, query in INVARIANTS.items():
            shared = INVARIANT_ACCOUNTS.get(label.split(" ", 1)[0])
            args = [shared] if shared else []
            invariants[label] = int(await connection.fetchval(query, *args))
    finally:
        await connection.close()
    entries = [int(r["entries"]) for r in chains]
    return {
        "entries_per_chain": {int(r["chain"]): int(r["entries"]) for r in chains},
        "chains_used": len(entries),
        "entries_per_chain_min_max": [min(entries, default=0), max(entries, default=0)],
        "balance_shards": shards,
        "invariants": invariants,
    }


def run_raw_transfer(options: Options, *, mode: str, client: str) -> dict[str, Any]:
    command = [
        sys.executable,
        str(RAW_TRANSFER),
        "--dsn",
        plain_dsn(options.database_url),
        "--concurrency",
        str(options.concurrency),
        "--duration",
        str(options.duration),
        "--client",
        client,
        "--mode",
        mode,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=options.duration + 180, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"raw_transfer failed ({done.returncode}):\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# --- the report ------------------------------------------------------------------------------


def _ms(values: list[float], percent: float) -> float:
    return round(percentile_ms(sorted(values), percent), 2)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def summarize(
    options: Options, stats: DriveStats, sampling: Sampling, start: float, stop: float
) -> dict[str, Any]:
    window = [c for c in stats.calls if start <= c.finished <= stop]
    ok = [c for c in window if 200 <= c.status < 300]
    settles = [c for c in ok if c.kind == "settle"]
    pairs = [(s, e) for s, e in stats.pairs if start <= e <= stop]
    duration = stop - start
    per_kind = {}
    for kind in ("fund", "settle"):
        mine = [c for c in ok if c.kind == kind]
        per_kind[kind] = {
            "requests": len(mine),
            "p50_ms": _ms([(c.finished - c.started) for c in mine], 50),
            "p99_ms": _ms([(c.finished - c.started) for c in mine], 99),
            "server_app_p50_ms": _median([c.app_ms for c in mine]),
            "server_db_p50_ms": _median([c.db_ms for c in mine]),
        }
    backend_samples = sum(sampling.states.values())
    states = {
        state: round(count / backend_samples, 4) for state, count in sampling.states.most_common()
    }
    failed = [c for c in stats.calls if not 200 <= c.status < 300]
    server_cpu, database_cpu = sampling.cpu_us_per(len(settles))
    return {
        "settlements": len(settles),
        "settlements_per_s": round(len(settles) / duration, 1),
        "requests": len(ok),
        "requests_per_s": round(len(ok) / duration, 1),
        "settlement_p50_ms": _ms([e - s for s, e in pairs], 50),
        "settlement_p99_ms": _ms([e - s for s, e in pairs], 99),
        "request_p50_ms": _ms([c.finished - c.started for c in ok], 50),
        "request_p99_ms": _ms([c.finished - c.started for c in ok], 99),
        "per_request": per_kind,
        "non_2xx": len(failed),
        "failures": stats.failures[:20],
        "clients_out_of_deals": stats.exhausted,
        "server_cpu_us_per_settlement": server_cpu,
        "database_cpu_us_per_settlement": database_cpu,
        "server_cpu_share": round(sampling.server_cpu_s / duration, 2),
        "database_cpu_share": round(sampling.database_cpu_s / duration, 2)
        if sampling.database_cpu_s is not None
        else None,
        "backend_states": {
            "samples": sampling.samples,
            "mean_backends": round(backend_samples / sampling.samples, 1)
            if sampling.samples
            else 0,
            "share": states,
            "lock_waits_by_statement": dict(sampling.lock_waits_by_statement.most_common()),
            "max_backends_waiting_on_ledger_balances": sampling.max_waiting_on_balances,
        },
    }


def print_report(
    options: Options, app: dict[str, Any], raws: dict[str, dict[str, Any]], ledger: dict[str, Any]
) -> float | None:
    print(
        f"Settlements on postgresql: {options.concurrency} clients, {options.duration} s after"
        f" {WARMUP_S:.0f} s warm-up, {options.workers} worker(s)"
    )
    print(
        f"app: {app['settlements_per_s']:.1f} settlements/s (fund + settle),"
        f" {app['requests_per_s']:.1f} requests/s; settlement p50/p99"
        f" {app['settlement_p50_ms']:.1f}/{app['settlement_p99_ms']:.1f} ms;"
        f" request p50/p99 {app['request_p50_ms']:.1f}/{app['request_p99_ms']:.1f} ms;"
        f" non-2xx {app['non_2xx']}"
    )
    for kind, figures in app["per_request"].items():
        print(
            f"  {kind:<7}{figures['requests']:>7} ok, p50/p99 {figures['p50_ms']:.1f}/"
            f"{figures['p99_ms']:.1f} ms; server time p50 app {figures['server_app_p50_ms']} ms,"
            f" db {figures['server_db_p50_ms']} ms"
        )
    print(
        f"  CPU per settlement: server {app['server_cpu_us_per_settlement']} µs,"
        f" PostgreSQL {app['database_cpu_us_per_settlement']} µs"
        f" (server {app['server_cpu_share']:.2f} cores, PostgreSQL"
        f" {app['database_cpu_share']} cores)"
    )
    if app["clients_out_of_deals"]:
        print(
            f"  WARNING: {app['clients_out_of_deals']} client(s) ran out of deals before the"
            " end: the figures undercount; raise --deals-per-client"
        )
    backends = app["backend_states"]
    print(
        f"  PostgreSQL backends of the app ({backends['samples']} samples,"
        f" {backends['mean_backends']} backends on average):"
    )
    for state, share in backends["share"].items():
        print(f"    {share:>7.1%}  {state}")
    print(
        "  lock waits by statement (backend-samples): "
        + (json.dumps(backends["lock_waits_by_statement"], ensure_ascii=False) or "none")
    )
    print(
        f"  hash chains used: {ledger['chains_used']} (entries per chain"
        f" {ledger['entries_per_chain_min_max'][0]}–{ledger['entries_per_chain_min_max'][1]});"
        f" balance shards: {ledger['balance_shards']}"
    )
    print(f"  verify: {ledger.get('verify')}")
    print(f"  invariants (all 0 when the books agree with the deals): {ledger['invariants']}")
    for name, raw in raws.items():
        latency = (
            f"p50/p99 {raw['p50_ms']:.1f}/{raw['p99_ms']:.1f} ms"
            if "p50_ms" in raw
            else f"avg {raw.get('latency_avg_ms', 0):.1f} ms"
        )
        print(
            f"{name}: {raw['transfers_per_s']:.1f} transfers/s, {latency}, errors {raw['errors']}"
        )
    floor = raws.get("raw_transfer")
    if not floor or not floor["transfers_per_s"]:
        return None
    ratio = float(app["settlements_per_s"]) / float(floor["transfers_per_s"])
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print(
        f"ratio app settlements/s ÷ raw transfers/s: {ratio:.3f}"
        f" ({verdict} the ≥ {TARGET_RATIO} target)"
    )
    hot, sharded = raws.get("raw_transfer_hot_row"), raws.get("raw_transfer_sharded")
    if hot and sharded and hot["transfers_per_s"]:
        print(
            "shared fee account, raw SQL: sharded per chain (the app's protocol)"
            f" {sharded['transfers_per_s']:.0f}/s against one hot row"
            f" {hot['transfers_per_s']:.0f}/s"
            f" (× {sharded['transfers_per_s'] / hot['transfers_per_s']:.1f});"
            f" the app's {app['settlements_per_s']:.0f} settlements/s use"
            f" {app['settlements_per_s'] / hot['transfers_per_s']:.0%} of what one hot row"
            " would allow"
        )
    return ratio


def print_ceiling(
    app: dict[str, Any], raws: dict[str, dict[str, Any]], ceiling: dict[str, Any] | None
) -> float | None:
    """What the same ratio is for bare FastAPI doing nothing but the raw transfer."""
    floor = raws.get("raw_transfer")
    if ceiling is None:
        return None
    print(
        f"bare FastAPI serving the raw transfer, 2 requests per settlement:"
        f" {ceiling['pairs_per_s']:.1f} pairs/s ({ceiling['requests_per_s']:.1f} requests/s),"
        f" pair p50/p99 {ceiling['pair_p50_ms']:.1f}/{ceiling['pair_p99_ms']:.1f} ms;"
        f" CPU per pair: server {ceiling['server_cpu_us_per_pair']} µs,"
        f" PostgreSQL {ceiling['database_cpu_us_per_pair']} µs;"
        f" failures {len(ceiling['failures'])}"
    )
    if not floor or not floor["transfers_per_s"] or not ceiling["pairs_per_s"]:
        return None
    ratio = float(ceiling["pairs_per_s"]) / float(floor["transfers_per_s"])
    print(
        f"ceiling ratio bare pairs/s ÷ raw transfers/s: {ratio:.3f}; the app reaches"
        f" {app['settlements_per_s'] / ceiling['pairs_per_s']:.0%} of the bare pairs"
        f" (the target asks for {TARGET_RATIO / ratio:.0%})"
    )
    return ratio


def tail_of_log(log: Path, lines: int = 60) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run(options: Options, workdir: Path) -> int:
    signing_key = secrets.token_urlsafe(48)
    migrate(options.database_url)
    print("building the market…", file=sys.stderr, flush=True)
    market = asyncio.run(build_market(options, signing_key))
    port = free_port()
    env = server_env(
        options.database_url,
        secret_key=signing_key,
        pool_size=options.concurrency,
        workers=options.workers,
        workdir=workdir,
    )
    command = uvicorn_command("app.main:create_app", port, options.workers, [])
    log = workdir / "app.log"
    base = f"http://127.0.0.1:{port}"
    print("driving the app…", file=sys.stderr, flush=True)
    with running_server(command, env, f"{base}/healthz", log):
        try:
            import uvloop
        except ImportError:
            stats, sampling, start, stop = asyncio.run(drive(options, market, port))
        else:
            stats, sampling, start, stop = uvloop.run(drive(options, market, port))
        verify_status, verified = http_get_json(f"{base}/v1/ledger/verify", market.auditor_token)
    app = summarize(options, stats, sampling, start, stop)
    ledger = asyncio.run(ledger_figures(plain_dsn(options.database_url)))
    ledger["verify"] = (
        {k: v for k, v in verified.items() if k != "problems"}
        | {"problems": verified.get("problems", [])[:10]}
        if verify_status == 200 and isinstance(verified, dict)
        else {"status": verify_status, "body": str(verified)[:500]}
    )
    raws: dict[str, dict[str, Any]] = {}
    if options.raw:
        print("raw transfers…", file=sys.stderr, flush=True)
        raws["raw_transfer"] = run_raw_transfer(options, mode="random", client="asyncpg")
        raws["raw_transfer_hot_row"] = run_raw_transfer(options, mode="hot", client="asyncpg")
        raws["raw_transfer_sharded"] = run_raw_transfer(options, mode="sharded", client="asyncpg")
        if options.pgbench:
            raws["pgbench_transfer"] = run_raw_transfer(options, mode="random", client="pgbench")
    ceiling = None
    if options.ceiling:
        print("the raw transfer behind bare FastAPI…", file=sys.stderr, flush=True)
        ceiling = run_ceiling(options, workdir)
    ratio = print_report(options, app, raws, ledger)
    ceiling_ratio = print_ceiling(app, raws, ceiling)
    logged = tail_of_log(log, lines=10_000).splitlines()
    print(f"  server log: {len(logged)} line(s) at WARNING or above")
    problems = app["non_2xx"] or app["failures"] or (ceiling and ceiling["failures"])
    if problems or logged:
        print("server log (tail):\n" + "\n".join(logged[-60:]), file=sys.stderr)
    entry = {
        **run_header(load_average=True),
        "concurrency": options.concurrency,
        "duration_s": options.duration,
        "warmup_s": WARMUP_S,
        "workers": options.workers,
        "app_pool_size": options.concurrency,
        "buyers": options.buyers,
        "sellers": options.sellers,
        "app": app,
        "server_log_lines": len(logged),
        "ledger": ledger,
        **raws,
        "bare_http_transfer": ceiling,
        "ratio_settlements_to_raw_transfers": round(ratio, 4) if ratio is not None else None,
        "ceiling_ratio_bare_http_pairs_to_raw_transfers": round(ceiling_ratio, 4)
        if ceiling_ratio is not None
        else None,
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio is not None and ratio >= TARGET_RATIO,
    }
    merge_results(RESULTS_FILE, f"postgresql_{options.workers}_worker", entry)
    verify_ok = isinstance(verified, dict) and verified.get("ok") is True
    books_ok = not any(ledger["invariants"].values())
    if problems or not verify_ok or not books_ok or app["clients_out_of_deals"]:
        print(
            "FAILED: non-2xx answers, a failed verify, books that do not agree,"
            " or clients that ran out of deals",
            file=sys.stderr,
        )
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> Options:
    parser = bench_parser(__doc__, postgresql_only=True)
    parser.add_argument("--concurrency", type=positive, default=32, help="clients (connections)")
    parser.add_argument("--duration", type=positive, default=15, help="seconds measured")
    parser.add_argument("--workers", type=positive, default=1, help="uvicorn worker processes")
    parser.add_argument(
        "--deals-per-client", type=positive, default=400, help="deals created per client"
    )
    parser.add_argument("--buyers", type=positive, default=32, help="buying enterprises")
    parser.add_argument("--sellers", type=positive, default=8, help="selling universities")
    parser.add_argument(
        "--no-raw", dest="raw", action="store_false", help="skip bench/raw_transfer.py"
    )
    parser.add_argument(
        "--no-pgbench", dest="pgbench", action="store_false", help="skip the pgbench reference"
    )
    parser.add_argument(
        "--no-ceiling",
        dest="ceiling",
        action="store_false",
        help="skip the raw transfer served by bare FastAPI (bench/bare_transfer_app.py)",
    )
    args = parser.parse_args(argv)
    require_postgresql(
        parser,
        args.database_url,
        "PostgreSQL only (row locks, SKIP LOCKED and the raw transfer need it)",
    )
    if args.duration > 200:
        parser.error("--duration at most 200 s (servers are stopped after 300 s)")
    return options_from(Options, args)


if __name__ == "__main__":
    sys.exit(run_bench("bench_settle", parse_args, run))
