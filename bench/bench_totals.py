"""GET /v1/ledger/totals over a ledger of 1,000,000 postings: server time per variant.

    .venv/bin/python bench/bench_totals.py --database-url postgresql://… [--postings 1000000]
        [--requests 30] [--reuse] [--no-verify]

PostgreSQL only. Migrates a scratch database and fills it with a year of settled business
(from 2025-11-25 to 2026-11-24): BUYERS enterprises, SELLERS universities and institutes with
a published technology each, deals in the four contract categories with one to three
milestones, funded, settled milestone by milestone, a few refunded, a few with a settlement
reversed and some still in escrow, until the journal holds POSTINGS postings (about 300,000
entries). Entries are hash-chained over the 16 chains with the app's own
``app.services.ledger.entries.entry_hash`` and balances are sharded per chain as the app keeps them,
so GET /v1/ledger/verify passes. The rows go in with COPY under
``session_replication_role = replica``, which skips the foreign-key and append-only triggers
for the load only (the rows are consistent by construction, and verify proves the chains and
balances afterwards); then VACUUM ANALYZE.

The COPY bypasses ``ledger.posting.post_entry``, which keeps the auditors' totals, so they are then
rebuilt with ``ledger.rollup.rebuild_totals`` (what ``innoshare rebuild-totals`` runs).

Then serves the app (one uvicorn worker) and, one request at a time as an auditor, sends GET
/v1/ledger/totals for group_by none, month, quarter, year, category, seller and buyer, over
the whole ledger and over one quarter (from=2026-04-01&to=2026-06-30), and for none, month and
seller over that quarter less its first ten hours (read from the entries, not the kept
totals): 3 warm-up requests and REQUESTS measured ones per variant. Reports p50/p99 of the
server's own time (Server-Timing ``app;dur=``, and ``db;dur=``, the part spent in database
calls) per variant against the target (p50 ≤ 20 ms), and merges them into
bench/results/totals.json. With --reuse an already filled database is measured again without
loading it (its kept totals as migration 0006 or the run that filled it left them). See
bench/README.md.
"""

import asyncio
import hashlib
import http.client
import json
import random
import secrets
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
from bench_get import (
    BENCH_DIR,
    bench_parser,
    bench_session,
    free_port,
    migrate,
    options_from,
    positive,
    require_postgresql,
    run_bench,
    running_server,
    server_env,
    uvicorn_command,
)
from bench_item import plain_dsn
from bench_results import merge_results, run_header
from bench_settle import bench_user, create_organizations, publish_technologies
from loadgen import percentile_ms

from app.core.config import (
    DEFAULT_FEE_RATE_BP,
    DEFAULT_TAX_RATE_BP,
    get_settings,
)
from app.core.security import Role, create_access_token, hash_password_sync
from app.models.deals import ContractCategory
from app.models.ledger import GENESIS_HASH, LEDGER_CHAINS, EntryKind
from app.models.orgs import OrganizationKind
from app.services.deals import share
from app.services.ledger import rollup as ledger_rollup
from app.services.ledger.accounts import BANK, ESCROW, FEE_REVENUE, TAX_PAYABLE
from app.services.ledger.entries import EntryFacts, entry_hash

RESULTS_FILE = BENCH_DIR / "results" / "totals.json"
LEDGER_PACKAGE = BENCH_DIR.parent / "app" / "services" / "ledger"
TOTALS_SOURCE = LEDGER_PACKAGE / "totals.py"
TARGET_P50_MS = 20.0
WARMUP_REQUESTS = 3
SERVER_LIFETIME_S = 1800  # a slow totals × 12 variants can outlast bench_get's 300 s
YEAR_START = datetime(2025, 11, 25, tzinfo=UTC)
YEAR_DAYS = 365
#: Periods measured besides the whole ledger: a quarter given by days (whole buckets of the
#: kept totals) and the same quarter less its first ten hours (not whole buckets: the totals
#: are read from the entries).
PERIODS = {
    "quarter": {"from": "2026-04-01", "to": "2026-06-30"},
    "odd": {"from": "2026-04-01T10:00:00+08:00", "to": "2026-06-30"},
}
GROUP_BYS = ("none", "month", "quarter", "year", "category", "seller", "buyer")
ODD_GROUP_BYS = ("none", "month", "seller")
SELLER_KINDS = (OrganizationKind.university, OrganizationKind.research_institute)


@dataclass(frozen=True)
class Options:
    database_url: str
    postings: int
    buyers: int
    sellers: int
    requests: int
    reuse: bool
    verify: bool


# --- the ledger, generated -------------------------------------------------------------------


@dataclass
class Entry:
    occurred_at: datetime
    facts: EntryFacts
    postings: list[tuple[uuid.UUID, int]]
    id: uuid.UUID = field(default_factory=uuid.uuid4)


@dataclass
class Generated:
    deals: list[tuple[Any, ...]] = field(default_factory=list)
    milestones: list[tuple[Any, ...]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    postings: int = 0


DEAL_COLUMNS = (
    "id created_at updated_at buyer_id seller_id technology_id status category gross_fen"
    " fee_rate_bp tax_rate_bp escrow_fen released_fen refunded_fen fee_fen tax_fen created_by"
    " funded_at closed_at version title terms"
).split()
MILESTONE_COLUMNS = (
    "id created_at updated_at deal_id position amount_fen status settled_at title"
).split()
ENTRY_COLUMNS = (
    "id chain seq kind occurred_at deal_id milestone_id reverses_id category buyer_id"
    " seller_id volume_fen fee_fen tax_fen created_by memo prev_hash hash"
).split()
POSTING_COLUMNS = ["entry_id", "line", "account_id", "amount_fen"]

CATEGORY_WEIGHTS = {
    ContractCategory.development: 35,
    ContractCategory.transfer: 30,
    ContractCategory.consulting: 15,
    ContractCategory.service: 20,
}
MILESTONE_TITLES = ["技术资料交付", "样机验收", "中试完成", "量产验收"]


@dataclass(frozen=True)
class Parties:
    buyers: list[uuid.UUID]
    sellers: list[uuid.UUID]
    technologies: dict[uuid.UUID, uuid.UUID]  # seller → its technology
    seller_accounts: dict[uuid.UUID, uuid.UUID]  # seller → its payable account
    operator: str  # created_by of the entries
    buyer_members: dict[uuid.UUID, str]


def _split(rng: random.Random, gross: int, parts: int) -> list[int]:
    if parts == 1:
        return [gross]
    cuts = sorted(rng.sample(range(100, gross - 100), parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, gross], strict=True)]


def generate(options: Options, parties: Parties) -> Generated:
    """Deals and their entries, until the postings reach the target (deterministic seed)."""
    rng = random.Random(20261125)
    out = Generated()
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    # A few big buyers and sellers, a long tail: a Pareto-ish pick.
    buyer_weights = [1 / (n + 1) ** 0.7 for n in range(len(parties.buyers))]
    seller_weights = [1 / (n + 1) ** 0.5 for n in range(len(parties.sellers))]
    year_end = YEAR_START + timedelta(days=YEAR_DAYS)
    while out.postings < options.postings:
        deal_id = uuid.uuid4()
        buyer = rng.choices(parties.buyers, buyer_weights)[0]
        seller = rng.choices(parties.sellers, seller_weights)[0]
        category = rng.choices(categories, weights)[0]
        fee_rate, tax_rate = DEFAULT_FEE_RATE_BP[category], DEFAULT_TAX_RATE_BP[category]
        gross = rng.randrange(20_000, 2_000_000) * 100  # 20,000 to 2,000,000 CNY
        created = YEAR_START + timedelta(seconds=rng.uniform(0, YEAR_DAYS * 86_400 - 86_400))
        funded = created + timedelta(hours=rng.uniform(1, 72))
        amounts = _split(rng, gross, rng.choice((1, 2, 2, 3)))
        milestones = [
            (uuid.uuid4(), n, amount, MILESTONE_TITLES[n - 1])
            for n, amount in enumerate(amounts, start=1)
        ]
        member = parties.buyer_members[buyer]
        # The deal's facts every entry of it carries; each entry replaces what differs.
        base = EntryFacts(
            kind=EntryKind.funding,
            created_by=parties.operator,
            deal_id=deal_id,
            category=category,
            buyer_id=buyer,
            seller_id=seller,
        )
        title = f"{category.value}-{deal_id.hex[:8]} 技术合同"
        seller_account = parties.seller_accounts[seller]
        entries: list[Entry] = []
        if funded < year_end:
            entries.append(
                Entry(
                    funded,
                    replace(base, memo=f"托管资金 {title}"),
                    [(BANK, -gross), (ESCROW, gross)],
                )
            )
        released = fee_done = tax_done = refunded = 0
        when = funded
        status_of = {m[0]: "pending" for m in milestones}
        settled_at: dict[uuid.UUID, datetime] = {}
        refund = rng.random() < 0.01
        last_settlement: Entry | None = None
        for milestone_id, _, amount, milestone_title in milestones:
            when = when + timedelta(days=rng.uniform(3, 60))
            if not entries or when >= year_end or (refund and released):
                break  # still in escrow at the end of the year (or refunded below)
            released += amount
            fee = share(released, fee_rate) - fee_done
            tax = share(released, tax_rate) - tax_done
            fee_done, tax_done = fee_done + fee, tax_done + tax
            postings = [(ESCROW, -amount)] + [
                (account, value)
                for account, value in (
                    (seller_account, amount - fee - tax),
                    (FEE_REVENUE, fee),
                    (TAX_PAYABLE, tax),
                )
                if value
            ]
            last_settlement = Entry(
                when,
                replace(
                    base,
                    kind=EntryKind.settlement,
                    created_by=member,
                    milestone_id=milestone_id,
                    volume_fen=amount,
                    fee_fen=fee,
                    tax_fen=tax,
                    memo=f"结算 {title} · {milestone_title}",
                ),
                postings,
            )
            entries.append(last_settlement)
            status_of[milestone_id], settled_at[milestone_id] = "settled", when
        if last_settlement is not None and rng.random() < 0.005:
            # The last settlement is reversed: its milestone is pending again, in escrow.
            original = last_settlement
            when = original.occurred_at + timedelta(hours=rng.uniform(1, 48))
            if when < year_end:
                entries.append(
                    Entry(
                        when,
                        replace(
                            base,
                            kind=EntryKind.reversal,
                            milestone_id=original.facts.milestone_id,
                            reverses_id=original.id,
                            volume_fen=-original.facts.volume_fen,
                            fee_fen=-original.facts.fee_fen,
                            tax_fen=-original.facts.tax_fen,
                            memo=f"冲销 {original.facts.memo}: 验收结论撤回",
                        ),
                        [(account, -value) for account, value in original.postings],
                    )
                )
                released -= original.facts.volume_fen
                fee_done -= original.facts.fee_fen
                tax_done -= original.facts.tax_fen
                assert original.facts.milestone_id is not None
                status_of[original.facts.milestone_id] = "pending"
                del settled_at[original.facts.milestone_id]
        escrow = gross - released if entries else 0
        closed_at = None
        if entries and refund and released < gross:
            when = when + timedelta(days=rng.uniform(1, 10))
            if when < year_end:
                entries.append(
                    Entry(
                        when,
                        replace(base, kind=EntryKind.refund, memo=f"退款 {title}"),
                        [(ESCROW, -escrow), (BANK, escrow)],
                    )
                )
                refunded, escrow, closed_at = escrow, 0, when
                for milestone_id, state in status_of.items():
                    if state == "pending":
                        status_of[milestone_id] = "refunded"
        if not entries:
            status = "created"
        elif refunded:
            status = "refunded"
        elif released == gross:
            status, closed_at = "settled", entries[-1].occurred_at
        else:
            status = "funded"
        updated = entries[-1].occurred_at if entries else created
        out.deals.append(
            (
                deal_id,
                created,
                updated,
                buyer,
                seller,
                parties.technologies[seller],
                status,
                category.value,
                gross,
                fee_rate,
                tax_rate,
                escrow,
                released,
                refunded,
                fee_done,
                tax_done,
                member,
                funded if entries else None,
                closed_at,
                1 + len(entries),
                title,
                None,
            )
        )
        for milestone_id, position, amount, milestone_title in milestones:
            out.milestones.append(
                (
                    milestone_id,
                    created,
                    settled_at.get(milestone_id, created),
                    deal_id,
                    position,
                    amount,
                    status_of[milestone_id],
                    settled_at.get(milestone_id),
                    milestone_title,
                )
            )
        out.entries.extend(entries)
        out.postings += sum(len(e.postings) for e in entries)
    return out


def chain_rows(
    entries: Sequence[Entry],
) -> tuple[
    list[tuple[Any, ...]], list[tuple[Any, ...]], dict[int, tuple[int, str]], dict[Any, int]
]:
    """Entries in time order spread at random over the chains, hashed as the app hashes them;
    the postings' rows; the chain heads; the balance of every (account, shard)."""
    rng = random.Random(7)
    heads = dict.fromkeys(range(LEDGER_CHAINS), (0, GENESIS_HASH))
    entry_rows: list[tuple[Any, ...]] = []
    posting_rows: list[tuple[Any, ...]] = []
    balances: Counter[tuple[uuid.UUID, int]] = Counter()
    for entry in sorted(entries, key=lambda e: e.occurred_at):
        chain = rng.randrange(LEDGER_CHAINS)
        last_seq, prev_hash = heads[chain]
        seq = last_seq + 1
        digest = entry_hash(
            chain=chain,
            seq=seq,
            prev_hash=prev_hash,
            entry_id=entry.id,
            occurred_at=entry.occurred_at,
            facts=entry.facts,
            postings=entry.postings,
        )
        heads[chain] = (seq, digest)
        f = entry.facts
        entry_rows.append(
            (
                entry.id,
                chain,
                seq,
                f.kind.value,
                entry.occurred_at,
                f.deal_id,
                f.milestone_id,
                f.reverses_id,
                f.category.value if f.category else None,
                f.buyer_id,
                f.seller_id,
                f.volume_fen,
                f.fee_fen,
                f.tax_fen,
                f.created_by,
                f.memo,
                prev_hash,
                digest,
            )
        )
        for line, (account, amount) in enumerate(entry.postings, start=1):
            posting_rows.append((entry.id, line, account, amount))
            balances[(account, chain)] += amount
    return entry_rows, posting_rows, heads, dict(balances)


# --- loading ---------------------------------------------------------------------------------


async def build_parties(options: Options, signing_key: str) -> tuple[Parties, str]:
    """Organizations, technologies and users through the app's models and services."""
    password_hash = hash_password_sync(secrets.token_urlsafe(16))
    async with bench_session(options.database_url) as session:
        buyers = await create_organizations(
            session,
            OrganizationKind.enterprise,
            [f"河南{n:03d}号高新技术企业有限公司" for n in range(options.buyers)],
        )
        sellers = []
        for n in range(options.sellers):
            kind = SELLER_KINDS[n % len(SELLER_KINDS)]
            sellers += await create_organizations(session, kind, [f"中原第{n + 1}技术转移研究院"])
        technologies = await publish_technologies(session, sellers)
        users = [bench_user(role, None, password_hash) for role in (Role.operator, Role.auditor)]
        members = {buyer.id: bench_user(Role.member, buyer.id, password_hash) for buyer in buyers}
        session.add_all([*users, *members.values()])
        await session.flush()
        operator, auditor = users
        token = create_access_token(
            user_id=auditor.id, role=auditor.role, signing_key=signing_key, ttl_seconds=3600
        )
        parties = Parties(
            buyers=[b.id for b in buyers],
            sellers=[s.id for s in sellers],
            technologies={s.id: t for s, t in zip(sellers, technologies, strict=True)},
            seller_accounts={s.id: uuid.uuid4() for s in sellers},
            operator=f"user:{operator.id}",
            buyer_members={b: f"user:{m.id}" for b, m in members.items()},
        )
        return parties, token


async def load(options: Options, parties: Parties, generated: Generated) -> dict[str, float]:
    entry_rows, posting_rows, heads, balances = chain_rows(generated.entries)
    timings: dict[str, float] = {}
    connection = await asyncpg.connect(plain_dsn(options.database_url))
    try:
        started = time.perf_counter()
        async with connection.transaction():
            # For this load only: no foreign-key or append-only triggers (see the docstring).
            await connection.execute("SET LOCAL session_replication_role = replica")
            await connection.copy_records_to_table(
                "ledger_accounts",
                columns=["id", "code", "kind", "organization_id", "may_go_negative", "created_at"],
                records=[
                    (account, f"org-{seller}", "organization", seller, False, YEAR_START)
                    for seller, account in parties.seller_accounts.items()
                ],
            )
            await connection.copy_records_to_table(
                "deals", columns=DEAL_COLUMNS, records=generated.deals
            )
            await connection.copy_records_to_table(
                "deal_milestones", columns=MILESTONE_COLUMNS, records=generated.milestones
            )
            await connection.copy_records_to_table(
                "journal_entries", columns=ENTRY_COLUMNS, records=entry_rows
            )
            await connection.copy_records_to_table(
                "postings", columns=POSTING_COLUMNS, records=posting_rows
            )
            await connection.executemany(
                "UPDATE ledger_chains SET last_seq = $2, last_hash = $3 WHERE chain = $1",
                [(chain, seq, digest) for chain, (seq, digest) in heads.items()],
            )
            await connection.copy_records_to_table(
                "ledger_balances",
                columns=["account_id", "shard", "balance_fen"],
                records=[(a, shard, amount) for (a, shard), amount in balances.items()],
            )
        timings["copy_s"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        for table in ("journal_entries", "postings", "deals", "deal_milestones", "ledger_balances"):
            await connection.execute(f"VACUUM ANALYZE {table}")
        timings["vacuum_analyze_s"] = round(time.perf_counter() - started, 1)
    finally:
        await connection.close()
    return timings


async def rebuild_kept_totals(options: Options) -> dict[str, float]:
    """The COPY bypassed ``post_entry``, which keeps the auditors' totals: rebuild them as
    ``innoshare rebuild-totals`` does (same function, the configured time zone)."""
    started = time.perf_counter()
    async with bench_session(options.database_url) as session:
        await ledger_rollup.rebuild_totals(session, zone=get_settings().timezone)
    timings = {"rebuild_totals_s": round(time.perf_counter() - started, 1)}
    connection = await asyncpg.connect(plain_dsn(options.database_url))
    try:
        for table in KEPT_TOTALS_TABLES:
            await connection.execute(f"VACUUM ANALYZE {table}")
    finally:
        await connection.close()
    return timings


KEPT_TOTALS_TABLES = ("ledger_totals", "ledger_totals_deals", "ledger_totals_buyers")


async def ledger_size(database_url: str) -> dict[str, int]:
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        row = await connection.fetchrow(
            """
            SELECT (SELECT count(*) FROM postings) AS postings,
                   (SELECT count(*) FROM journal_entries) AS entries,
                   (SELECT count(*) FROM journal_entries WHERE kind = 'settlement') AS settlements,
                   (SELECT count(*) FROM journal_entries WHERE kind = 'reversal') AS reversals,
                   (SELECT count(*) FROM deals) AS deals,
                   (SELECT count(DISTINCT buyer_id) FROM deals) AS buyers,
                   (SELECT count(DISTINCT seller_id) FROM deals) AS sellers,
                   (SELECT count(*) FROM ledger_totals) AS kept_totals_rows,
                   (SELECT count(*) FROM ledger_totals_deals) AS kept_totals_deal_rows,
                   (SELECT count(*) FROM ledger_totals_buyers) AS kept_totals_buyer_rows
            """
        )
        return dict(row.items()) if row else {}
    finally:
        await connection.close()


async def auditor_token(database_url: str, signing_key: str) -> str:
    """A token for an existing auditor (--reuse: the database was filled by an earlier run)."""
    connection = await asyncpg.connect(plain_dsn(database_url))
    try:
        user_id = await connection.fetchval(
            "SELECT id FROM users WHERE role = 'auditor' AND is_active ORDER BY created_at LIMIT 1"
        )
    finally:
        await connection.close()
    if user_id is None:
        raise RuntimeError("--reuse: no auditor in the database; run once without --reuse")
    return create_access_token(
        user_id=user_id, role=Role.auditor, signing_key=signing_key, ttl_seconds=3600
    )


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Variant:
    group_by: str
    period: str | None  # a key of PERIODS; None: the whole ledger
    app_ms: list[float] = field(default_factory=list)
    db_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    groups: int = 0

    @property
    def label(self) -> str:
        return f"{self.group_by}{f' + {self.period}' if self.period else ''}"

    def path(self) -> str:
        query = f"group_by={self.group_by}"
        if self.period:
            span = PERIODS[self.period]
            query += f"&from={quote(span['from'])}&to={quote(span['to'])}"
        return f"/v1/ledger/totals?{query}"

    def to_json(self) -> dict[str, Any]:
        return {
            "group_by": self.group_by,
            "from": PERIODS[self.period]["from"] if self.period else None,
            "to": PERIODS[self.period]["to"] if self.period else None,
            "requests": len(self.app_ms),
            "groups": self.groups,
            "app_p50_ms": _pct(self.app_ms, 50),
            "app_p99_ms": _pct(self.app_ms, 99),
            "db_p50_ms": _pct(self.db_ms, 50),
            "client_p50_ms": _pct(self.client_ms, 50),
            "failures": self.failures[:5],
            "meets_target": bool(self.app_ms) and _pct(self.app_ms, 50) <= TARGET_P50_MS,
        }


def _pct(values: list[float], percent: float) -> float:
    return round(percentile_ms(sorted(v / 1000 for v in values), percent), 2)


def _timing(header: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition(";dur=")
        try:
            found[name] = float(value)
        except ValueError:
            continue
    return found


def measure(port: int, token: str, variant: Variant, requests: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        for n in range(WARMUP_REQUESTS + requests):
            started = time.perf_counter()
            connection.request("GET", variant.path(), headers=headers)
            response = connection.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                variant.failures.append(f"{response.status} {body[:300]!r}")
                continue
            if n < WARMUP_REQUESTS:
                variant.groups = len(json.loads(body)["groups"])
                continue
            timing = _timing(response.getheader("server-timing") or "")
            variant.app_ms.append(timing.get("app", 0.0))
            variant.db_ms.append(timing.get("db", 0.0))
            variant.client_ms.append(elapsed)
    finally:
        connection.close()


def verify(port: int, token: str) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    started = time.perf_counter()
    try:
        connection.request("GET", "/v1/ledger/verify", headers={"Authorization": f"Bearer {token}"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    seconds = round(time.perf_counter() - started, 1)
    if response.status != 200:
        return {"status": response.status, "body": body[:500].decode(errors="replace")}
    verified = json.loads(body)
    verified["problems"] = verified.get("problems", [])[:10]
    return {**verified, "seconds": seconds}


def run(options: Options, workdir: Path) -> int:
    signing_key = secrets.token_urlsafe(48)
    migrate(options.database_url)
    size = asyncio.run(ledger_size(options.database_url))
    load_timings: dict[str, float] = {}
    if size.get("entries"):
        if not options.reuse:
            raise RuntimeError(
                f"the database already holds {size['postings']} postings: give an empty"
                " scratch database, or --reuse to measure it as it is"
            )
        token = asyncio.run(auditor_token(options.database_url, signing_key))
    else:
        print("building parties…", file=sys.stderr, flush=True)
        parties, token = asyncio.run(build_parties(options, signing_key))
        started = time.perf_counter()
        generated = generate(options, parties)
        load_timings["generate_s"] = round(time.perf_counter() - started, 1)
        print(
            f"generated {len(generated.deals)} deals, {len(generated.entries)} entries,"
            f" {generated.postings} postings in {load_timings['generate_s']} s; loading…",
            file=sys.stderr,
            flush=True,
        )
        load_timings |= asyncio.run(load(options, parties, generated))
        print("rebuilding the kept totals…", file=sys.stderr, flush=True)
        load_timings |= asyncio.run(rebuild_kept_totals(options))
        size = asyncio.run(ledger_size(options.database_url))
    print(f"ledger: {size}; load {load_timings}", file=sys.stderr, flush=True)
    port = free_port()
    env = server_env(options.database_url, secret_key=signing_key)
    command = uvicorn_command("app.main:create_app", port, 1, [])
    command[1] = str(SERVER_LIFETIME_S)
    variants = [Variant(g, p) for p in (None, "quarter") for g in GROUP_BYS]
    variants += [Variant(g, "odd") for g in ODD_GROUP_BYS]
    verified: dict[str, Any] | None = None
    with running_server(command, env, f"http://127.0.0.1:{port}/healthz", workdir / "app.log"):
        for variant in variants:
            measure(port, token, variant, options.requests)
            print(
                f"{variant.label}: p50 {_pct(variant.app_ms, 50)} ms", file=sys.stderr, flush=True
            )
        if options.verify:
            print("verifying the ledger…", file=sys.stderr, flush=True)
            verified = verify(port, token)
    print(
        f"GET /v1/ledger/totals on postgresql: {size.get('postings')} postings,"
        f" {size.get('entries')} entries ({size.get('settlements')} settlements),"
        f" {options.requests} sequential requests per variant after {WARMUP_REQUESTS}"
    )
    print(
        f"{'variant':<22}{'groups':>7}{'app p50':>9}{'app p99':>9}{'db p50':>9}"
        f"{'client p50':>11}  target p50 ≤ {TARGET_P50_MS:.0f} ms"
    )
    for variant in variants:
        figures = variant.to_json()
        print(
            f"{variant.label:<22}{figures['groups']:>7}{figures['app_p50_ms']:>9.1f}"
            f"{figures['app_p99_ms']:>9.1f}{figures['db_p50_ms']:>9.1f}"
            f"{figures['client_p50_ms']:>11.1f}  {'ok' if figures['meets_target'] else 'MISS'}"
            + (f"  failures: {figures['failures']}" if figures["failures"] else "")
        )
    if verified is not None:
        print(f"verify: {verified}")
    entry = {
        **run_header(load_average=True),
        "ledger": size,
        "load": load_timings,
        # app/services/ledger/totals.py is being changed: which version of totals() was
        # measured (and of the whole ledger package; results before the package was split
        # name app/services/audit.py and ledger.py instead)
        "totals_py_sha256": hashlib.sha256(TOTALS_SOURCE.read_bytes()).hexdigest()[:16],
        "ledger_sha256": hashlib.sha256(
            b"".join(path.read_bytes() for path in sorted(LEDGER_PACKAGE.glob("*.py")))
        ).hexdigest()[:16],
        "requests_per_variant": options.requests,
        "warmup_requests": WARMUP_REQUESTS,
        "target_p50_ms": TARGET_P50_MS,
        "variants": [v.to_json() for v in variants],
        "meets_target": all(v.to_json()["meets_target"] for v in variants),
        "verify": verified,
    }
    merge_results(RESULTS_FILE, "postgresql", entry)
    failed = any(v.failures for v in variants) or (
        verified is not None and verified.get("ok") is not True
    )
    if failed:
        print("FAILED: a request did not answer 200, or verify did not pass", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> Options:
    parser = bench_parser(__doc__, postgresql_only=True)
    parser.add_argument("--postings", type=positive, default=1_000_000, help="postings to load")
    parser.add_argument("--buyers", type=positive, default=80, help="buying enterprises")
    parser.add_argument("--sellers", type=positive, default=40, help="selling organizations")
    parser.add_argument("--requests", type=positive, default=30, help="measured per variant")
    parser.add_argument("--reuse", action="store_true", help="measure an already filled database")
    parser.add_argument(
        "--no-verify", dest="verify", action="store_false", help="skip GET /v1/ledger/verify"
    )
    args = parser.parse_args(argv)
    require_postgresql(parser, args.database_url, "PostgreSQL only")
    return options_from(Options, args)


if __name__ == "__main__":
    sys.exit(run_bench("bench_totals", parse_args, run))
