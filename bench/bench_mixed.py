"""A mixed load on several workers: browse, search, import, demands, deals and auditor totals.

    .venv/bin/python bench/bench_mixed.py [--database-url URL] [--duration 60]
        [--concurrency 16] [--workers 2]

Migrates a database (a fresh SQLite file by default) and seeds the small demo dataset
(`innoshare seed --scale small --if-empty`), signs in as the seed's demo accounts, serves the
real app with `--workers` uvicorn workers and keeps `--concurrency` clients busy for
`--duration` seconds with a weighted mix of what the platform's users do. Reports per
operation the count, the errors (every answer that is not 2xx, and every failed connection)
and client p50/p99, samples each worker's memory from /proc, prints the figures and merges
them into bench/results/mixed.json (one entry per backend). Exit status: 0; 1 when any
request failed or a worker's peak RSS passed the limit; 2 when the run could not be set up.
See bench/README.md.
"""

import argparse
import asyncio
import os
import random
import secrets
import shlex
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bench_get import (
    PROJECT_ROOT,
    backend_name,
    bench_parser,
    free_port,
    options_from,
    positive,
    run_bench,
    running_server,
    server_env,
    uvicorn_command,
)
from bench_results import merge_results, run_header

from app.demo.accounts import accounts_file

RESULTS_FILE = Path(__file__).resolve().parent / "results" / "mixed.json"
MAX_DURATION_S = 240  # bench_get's servers live 300 s under `timeout`
WARMUP_S = 2.0
RSS_LIMIT_MB = 250.0  # issue 17: peak resident memory of each worker
RSS_SAMPLE_S = 0.25
IMPORT_BATCH = 20
CATALOGS = ("technologies", "policies", "talents", "ip-assets", "financial-products", "demands")
SEARCH_WORDS = (
    "科技",
    "盾构",
    "金刚石",
    "研发费用加计扣除",
    "知识产权质押",
    "人工智能",
    "锂电池",
    "传感器",
    "高新技术企业",
    "5G 基站",
    "新材料",
    "智能制造 机器人",
)
#: Settings of the caller's environment that change what is measured: recorded with the
#: figures and named in the results key (``sqlite+MALLOC_ARENA_MAX=2``).
RECORDED_ENVIRONMENT = (
    "MALLOC_ARENA_MAX",
    "INNOSHARE_RESPONSE_CACHE_MB",
    "INNOSHARE_WEBHOOK_WORKER",
)
TOTALS_GROUPS = ("none", "month", "quarter", "category", "seller")
DEAL_CATEGORIES = ("development", "transfer", "license", "consulting", "service")

#: What one client does next, in proportion: reads dominate, as on the live platform; each
#: write operation is one or more requests (a deal is open + fund + settle).
MIX: dict[str, int] = {
    "browse": 30,
    "item": 25,
    "search": 20,
    "import": 3,
    "demand": 6,
    "deal": 8,
    "totals": 4,
}


@dataclass(frozen=True)
class Options:
    database_url: str | None
    duration: int
    concurrency: int
    workers: int


# --- preparing the database ---------------------------------------------------------------


def innoshare(database_url: str, *arguments: str) -> str:
    """`innoshare …` with this checkout's code (not the installed console script's)."""
    command = [
        sys.executable,
        "-c",
        "import sys; from app.cli import main; sys.argv[0] = 'innoshare'; main()",
        *arguments,
    ]
    done = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, "INNOSHARE_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"innoshare {arguments[0]} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return done.stdout


def prepare_database(database_url: str) -> tuple[dict[str, str], dict[str, float]]:
    """Migrate, seed the small dataset when empty; the demo accounts and the seconds taken."""
    seconds: dict[str, float] = {}
    for step, arguments in (
        ("migrate", ["migrate"]),
        ("seed", ["seed", "--scale", "small", "--if-empty"]),
    ):
        started = time.monotonic()
        innoshare(database_url, *arguments)
        seconds[step] = round(time.monotonic() - started, 2)
    accounts: dict[str, str] = {}
    for line in innoshare(database_url, "demo-accounts", "--shell").splitlines():
        name, _, value = line.partition("=")
        if value:
            accounts[name] = shlex.split(value)[0]
    needed = {"DEMO_PASSWORD", "OPERATOR_EMAIL", "AUDITOR_EMAIL", "BUYER_EMAIL", "PROVIDER_KEY"}
    if missing := needed - accounts.keys():
        raise RuntimeError(f"innoshare demo-accounts lacks {sorted(missing)}")
    return accounts, seconds


# --- the workers' memory --------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append(int(entry))
    return found


def _status_kb(pid: int) -> dict[str, int]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def uvicorn_workers(wrapper_pid: int) -> list[int]:
    """The worker processes under `timeout` → uvicorn's supervisor (spawned by multiprocessing;
    its resource tracker is left out). With one worker, uvicorn serves in the supervisor."""
    supervisors = _children(wrapper_pid)
    workers = []
    for supervisor in supervisors:
        for child in _children(supervisor):
            try:
                command = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                workers.append(child)
    return workers or supervisors


class MemorySampler(threading.Thread):
    """Samples each worker's VmRSS every RSS_SAMPLE_S, and VmHWM (the kernel's own peak, which
    counts start-up too) at the start and at the end."""

    def __init__(self, wrapper_pid: int) -> None:
        super().__init__(daemon=True)
        self.wrapper_pid = wrapper_pid
        self.rss_kb: dict[int, int] = {}
        self.hwm_kb: dict[int, int] = {}
        self.ready_kb: dict[int, int] = {}
        self.samples = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(RSS_SAMPLE_S)

    def sample(self) -> None:
        for pid in uvicorn_workers(self.wrapper_pid):
            try:
                status = _status_kb(pid)
            except OSError:
                continue
            self.ready_kb.setdefault(pid, status.get("VmRSS", 0))
            self.rss_kb[pid] = max(self.rss_kb.get(pid, 0), status.get("VmRSS", 0))
            self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), status.get("VmHWM", 0))
        self.samples += 1

    def stop(self) -> dict[str, dict[str, float]]:
        """Per worker: RSS when the load began, the highest sampled RSS, and VmHWM, in MB."""
        self.sample()  # the last VmHWM, read while the workers still run
        self._stop_event.set()
        self.join()
        return {
            str(pid): {
                "rss_at_start_mb": round(self.ready_kb[pid] / 1024, 1),
                "rss_max_sampled_mb": round(self.rss_kb[pid] / 1024, 1),
                "peak_rss_mb": round(max(self.hwm_kb[pid], self.rss_kb[pid]) / 1024, 1),
            }
            for pid in sorted(self.rss_kb)
        }


# --- the load -------------------------------------------------------------------------------


@dataclass
class Operation:
    latencies_ms: list[float] = field(default_factory=list)
    count: int = 0
    errors: int = 0


@dataclass
class Market:
    """What the clients work with: tokens, the buyer's organization and ids to read."""

    buyer: str
    operator: str
    auditor: str
    provider_key: str
    buyer_org: str
    item_ids: dict[str, list[str]]
    technology_ids: list[str]


class Load:
    def __init__(self, client: httpx.AsyncClient, market: Market, run_tag: str) -> None:
        self.client = client
        self.market = market
        self.run_tag = run_tag
        self.operations: dict[str, Operation] = {}
        self.error_samples: list[dict[str, Any]] = []
        self.measuring = False
        self.imported = 0

    async def request(
        self, name: str, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response | None:
        """One request, timed and counted under ``name``; None when it failed."""
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        operation = self.operations.setdefault(name, Operation())
        started = time.perf_counter()
        try:
            response = await self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            self._failed(operation, name, None, repr(error))
            return None
        elapsed_ms = (time.perf_counter() - started) * 1000
        operation.count += 1
        if self.measuring:
            operation.latencies_ms.append(elapsed_ms)
        if not 200 <= response.status_code < 300:
            self._failed(operation, name, response.status_code, response.text[:300])
            return None
        return response

    def _failed(self, operation: Operation, name: str, status: int | None, text: str) -> None:
        operation.errors += 1
        if len(self.error_samples) < 20:
            self.error_samples.append({"operation": name, "status": status, "body": text})

    def _viewer(self, rng: random.Random) -> str | None:
        """Half the readers are signed in: they skip the anonymous response cache."""
        return self.market.buyer if rng.random() < 0.5 else None

    async def browse(self, rng: random.Random) -> None:
        catalog = rng.choice(CATALOGS)
        params = {"limit": 20}
        token = self._viewer(rng)
        first = await self.request("browse", "GET", f"/v1/{catalog}", params=params, token=token)
        if first is not None and (cursor := first.json().get("next_cursor")) and rng.random() < 0.3:
            params["cursor"] = cursor
            await self.request("browse", "GET", f"/v1/{catalog}", params=params, token=token)

    async def item(self, rng: random.Random) -> None:
        catalog = rng.choice([name for name, ids in self.market.item_ids.items() if ids])
        item_id = rng.choice(self.market.item_ids[catalog])
        await self.request("item", "GET", f"/v1/{catalog}/{item_id}", token=self._viewer(rng))

    async def search(self, rng: random.Random) -> None:
        params: dict[str, Any] = {"q": rng.choice(SEARCH_WORDS), "limit": 10}
        if rng.random() < 0.25:
            path = "/v1/search"
        else:
            path = f"/v1/{rng.choice(CATALOGS)}"
            if rng.random() < 0.3:
                params["highlight"] = "true"
        await self.request("search", "GET", path, params=params, token=self._viewer(rng))

    async def import_batch(self, rng: random.Random) -> None:
        start = self.imported
        self.imported += IMPORT_BATCH
        items = [
            {
                "external_id": f"BENCH-{self.run_tag}-{number:06d}",
                "title": f"一种基于{rng.choice(SEARCH_WORDS)}的在线监测装置及方法（{number}）",
                "summary": "面向盾构装备与超硬材料制品的在线监测、寿命预测与工艺优化技术。",
                "field": rng.choice(("盾构装备", "超硬材料", "新能源", "电子信息")),
                "trl": rng.randint(3, 8),
                "transfer_modes": ["license"],
                "price_min": "300000.00",
                "price_max": "1200000.00",
                "status": "published",
            }
            for number in range(start, start + IMPORT_BATCH)
        ]
        await self.request(
            "import",
            "POST",
            "/v1/imports/technologies",
            token=self.market.provider_key,
            json={"mode": "atomic", "items": items},
        )

    async def demand(self, rng: random.Random) -> None:
        body = {
            "kind": "technology",
            "title": f"{rng.choice(SEARCH_WORDS)}技术方案征集",
            "field": "盾构装备",
            "budget_max": f"{rng.randint(10, 200) * 10000}.00",
            "budget_visible": True,
            "deadline": "2030-06-30T16:00:00Z",
        }
        token = self.market.buyer
        posted = await self.request("demand_post", "POST", "/v1/demands", token=token, json=body)
        if posted is not None:
            demand_id = posted.json()["id"]
            await self.request(
                "demand_publish", "POST", f"/v1/demands/{demand_id}/publish", token=token
            )

    async def deal(self, rng: random.Random) -> None:
        body = {
            "technology_id": rng.choice(self.market.technology_ids),
            "title": "盾构机刀盘磨损在线监测装置技术许可",
            "category": rng.choice(DEAL_CATEGORIES),
            "gross_amount": f"{rng.randint(2, 500) * 1000}.00",
        }
        opened = await self.request(
            "deal_open", "POST", "/v1/deals", token=self.market.buyer, json=body, headers=_key()
        )
        if opened is None:
            return
        deal = opened.json()["id"]
        funded = await self.request(
            "deal_fund",
            "POST",
            f"/v1/deals/{deal}/fund",
            token=self.market.operator,
            headers=_key(),
        )
        if funded is not None:
            await self.request(
                "deal_settle",
                "POST",
                f"/v1/deals/{deal}/settle",
                token=self.market.buyer,
                headers=_key(),
            )

    async def totals(self, rng: random.Random) -> None:
        params = {"group_by": rng.choice(TOTALS_GROUPS)}
        if rng.random() < 0.5:
            params |= {"from": "2019-09-20", "to": "2030-12-31"}
        await self.request(
            "totals", "GET", "/v1/ledger/totals", params=params, token=self.market.auditor
        )

    async def client_loop(self, number: int, deadline: float) -> None:
        rng = random.Random(number)
        actions: dict[str, Callable[[random.Random], Awaitable[None]]] = {
            "browse": self.browse,
            "item": self.item,
            "search": self.search,
            "import": self.import_batch,
            "demand": self.demand,
            "deal": self.deal,
            "totals": self.totals,
        }
        names = list(MIX)
        weights = [MIX[name] for name in names]
        while time.monotonic() < deadline:
            await actions[rng.choices(names, weights)[0]](rng)


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> str:
    response = await client.post("/v1/auth/token", data={"username": email, "password": password})
    if response.status_code != 200:
        raise RuntimeError(
            f"signing in as {email} answered {response.status_code}: {response.text}"
        )
    return str(response.json()["access_token"])


async def read_ids(client: httpx.AsyncClient, catalog: str, pages: int = 3) -> list[dict[str, Any]]:
    """Up to ``pages`` pages of 100 of a catalog's public items."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    for _ in range(pages):
        response = await client.get(f"/v1/{catalog}", params=params)
        if response.status_code != 200:
            raise RuntimeError(f"GET /v1/{catalog} answered {response.status_code}")
        page = response.json()
        items += page["items"]
        if not (cursor := page.get("next_cursor")):
            break
        params["cursor"] = cursor
    return items


async def open_market(client: httpx.AsyncClient, accounts: dict[str, str]) -> Market:
    password = accounts["DEMO_PASSWORD"]
    buyer = await sign_in(client, accounts["BUYER_EMAIL"], password)
    me = await client.get("/v1/me", headers={"Authorization": f"Bearer {buyer}"})
    buyer_org = str(me.json()["organization_id"])
    item_ids = {
        catalog: [item["id"] for item in await read_ids(client, catalog)] for catalog in CATALOGS
    }
    technologies = [
        item["id"]
        for item in await read_ids(client, "technologies")
        if str(item.get("owner_id")) != buyer_org
    ]
    if not technologies:
        raise RuntimeError("no published technology another organization owns: nothing to buy")
    return Market(
        buyer=buyer,
        operator=await sign_in(client, accounts["OPERATOR_EMAIL"], password),
        auditor=await sign_in(client, accounts["AUDITOR_EMAIL"], password),
        provider_key=accounts["PROVIDER_KEY"],
        buyer_org=buyer_org,
        item_ids=item_ids,
        technology_ids=technologies,
    )


async def drive(base_url: str, accounts: dict[str, str], options: Options) -> tuple[Load, float]:
    """The warm-up, then the measured window; the load's figures and the window's length."""
    limits = httpx.Limits(
        max_connections=options.concurrency, max_keepalive_connections=options.concurrency
    )
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60.0) as client:
        market = await open_market(client, accounts)
        load = Load(client, market, run_tag=secrets.token_hex(4))
        started = time.monotonic()
        window_start = started + WARMUP_S
        deadline = window_start + options.duration

        async def start_measuring() -> None:
            await asyncio.sleep(WARMUP_S)
            load.measuring = True

        await asyncio.gather(
            start_measuring(),
            *(load.client_loop(number, deadline) for number in range(options.concurrency)),
        )
        return load, time.monotonic() - window_start


# --- the report -----------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(share * len(ordered)))], 1)


def operation_figures(load: Load, window_s: float) -> dict[str, dict[str, Any]]:
    figures = {}
    for name, operation in sorted(load.operations.items()):
        figures[name] = {
            "requests": operation.count,
            "errors": operation.errors,
            "measured": len(operation.latencies_ms),
            "per_s": round(len(operation.latencies_ms) / window_s, 1),
            "p50_ms": percentile(operation.latencies_ms, 0.50),
            "p99_ms": percentile(operation.latencies_ms, 0.99),
        }
    return figures


def print_report(entry: dict[str, Any]) -> None:
    print(
        f"\nmixed load, {entry['backend']}: {entry['workers']} workers, {entry['concurrency']}"
        f" clients, {entry['duration_s']} s after {entry['warmup_s']} s warm-up;"
        f" load average {entry['machine']['load_average_1m_at_end']}"
    )
    print(f"{'operation':<16}{'requests':>10}{'errors':>8}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for name, figures in entry["operations"].items():
        print(
            f"{name:<16}{figures['requests']:>10}{figures['errors']:>8}{figures['per_s']:>8}"
            f"{figures['p50_ms'] or 0:>9.1f}{figures['p99_ms'] or 0:>9.1f}"
        )
    print(f"requests/s {entry['requests_per_s']}, errors {entry['errors']}")
    for pid, memory in entry["memory_mb"].items():
        print(
            f"worker {pid}: RSS {memory['rss_at_start_mb']} MB when the load began,"
            f" at most {memory['rss_max_sampled_mb']} MB sampled, peak (VmHWM)"
            f" {memory['peak_rss_mb']} MB (limit {RSS_LIMIT_MB:g} MB)"
        )
    for sample in entry["error_samples"]:
        print(
            f"  {sample['operation']}: {sample['status']} {sample['body'][:200]}", file=sys.stderr
        )


def run(options: Options, workdir: Path) -> int:
    database_url = options.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    backend = backend_name(database_url)
    try:
        accounts, preparation_s = prepare_database(database_url)
    finally:
        if options.database_url is None:  # the seed kept them for a file about to go
            (PROJECT_ROOT / accounts_file(database_url)).unlink(missing_ok=True)
    port = free_port()
    env = server_env(database_url, workers=options.workers, workdir=workdir)
    command = uvicorn_command("app.main:create_app", port, options.workers, [])
    base_url = f"http://127.0.0.1:{port}"
    log = workdir / "server.log"
    with running_server(command, env, f"{base_url}/healthz", log) as process:
        sampler = MemorySampler(process.pid)
        sampler.start()
        try:
            load, window_s = asyncio.run(drive(base_url, accounts, options))
        finally:
            memory = sampler.stop()
    peak_rss_mb = {pid: figures["peak_rss_mb"] for pid, figures in memory.items()}
    operations = operation_figures(load, window_s)
    errors = sum(figures["errors"] for figures in operations.values())
    measured = sum(figures["measured"] for figures in operations.values())
    environment = {name: os.environ[name] for name in RECORDED_ENVIRONMENT if name in os.environ}
    entry = {
        **run_header(load_average=True),
        "backend": backend,
        "environment": environment,
        "workers": options.workers,
        "concurrency": options.concurrency,
        "duration_s": options.duration,
        "warmup_s": WARMUP_S,
        "seed_scale": "small",
        "preparation_s": preparation_s,
        "mix": MIX,
        "import_batch": IMPORT_BATCH,
        "requests_per_s": round(measured / window_s, 1),
        "errors": errors,
        "operations": operations,
        "error_samples": load.error_samples,
        "peak_rss_mb": peak_rss_mb,
        "memory_mb": memory,
        "rss_samples": sampler.samples,
        "rss_limit_mb": RSS_LIMIT_MB,
        "meets_target": errors == 0
        and bool(peak_rss_mb)
        and max(peak_rss_mb.values()) <= RSS_LIMIT_MB,
    }
    print_report(entry)
    key = "+".join([backend, *(f"{name}={value}" for name, value in environment.items())])
    merge_results(RESULTS_FILE, key, entry)
    if errors:
        print(f"FAILED: {errors} request(s) failed", file=sys.stderr)
    if not peak_rss_mb or max(peak_rss_mb.values()) > RSS_LIMIT_MB:
        print(
            f"FAILED: a worker's peak RSS is above {RSS_LIMIT_MB:g} MB (or unread)", file=sys.stderr
        )
    return 0 if entry["meets_target"] else 1


def duration(value: str) -> int:
    number = positive(value)
    if number > MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"at most {MAX_DURATION_S} s")
    return number


def parse_args(argv: list[str] | None = None) -> Options:
    parser = bench_parser(__doc__)
    parser.add_argument("--duration", type=duration, default=60, help="seconds measured")
    parser.add_argument("--concurrency", type=positive, default=16, help="concurrent clients")
    parser.add_argument("--workers", type=positive, default=2, help="uvicorn worker processes")
    return options_from(Options, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(run_bench("bench_mixed", parse_args, run))
