"""GET /v1/technologies/{id} against the same lookup in raw asyncpg, in alternating rounds.

    .venv/bin/python bench/bench_item.py --database-url postgresql://… [--rounds 3]
        [--concurrency 32] [--duration 10] [--load-generator auto|wrk|python]

PostgreSQL only. Migrates the database, inserts one organization and one published
technology, then measures anonymous GETs of that technology on the real app and on
bench/raw_item.py (a bare FastAPI endpoint with an asyncpg pool and one prepared statement),
alternately: app, raw, app, raw, … so that the drift of a shared machine hits both. Each
measurement runs on a freshly started one-worker uvicorn, after a 1 s warm-up. Besides
requests/s and p50/p99 it reads the server process's CPU time (and that of all PostgreSQL
processes) from /proc before and after, and reports CPU µs per request. Prints every round
and the medians, with the ratio app/raw of requests/s (target ≥ 0.6), and merges the figures
into bench/results/item.json. The inserted rows are deleted again at the end. See
bench/README.md.
"""

import asyncio
import json
import os
import statistics
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_get import (
    BENCH_DIR,
    WARMUP_S,
    LoadResult,
    add_load_arguments,
    bench_parser,
    bench_session,
    choose_load_generator,
    describe_load_generator,
    free_port,
    generate_load,
    http_get,
    load_header,
    migrate,
    options_from,
    positive,
    require_postgresql,
    run_bench,
    running_server,
    sample_organization,
    server_env,
    staff_principal,
    uvicorn_command,
)
from bench_results import merge_results
from sqlalchemy import delete

from app.core.config import normalize_database_url
from app.models.catalog import CatalogHistory, HistoryAction
from app.models.orgs import Organization
from app.models.technologies import Technology
from app.services import catalog as catalog_service
from app.services import technologies as technologies_service

RESULTS_FILE = BENCH_DIR / "results" / "item.json"
ROUTE = "/v1/technologies/{id}"
APP_POOL_SIZE = 32
RAW_POOL_SIZE = 10  # fixed in bench/raw_item.py
TARGET_RATIO = 0.6
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

TECHNOLOGY: dict[str, Any] = {
    "title": "基于激光诱导石墨烯的柔性应变传感器及其制备方法",
    "summary": (
        "本成果利用二氧化碳激光在聚酰亚胺薄膜表面直接诱导生成多孔石墨烯导电网络，无需掩模与"
        "湿法转移，一步制得柔性应变传感器。传感器灵敏度系数可达一百二十，检测下限千分之一应变，"
        "经一万次拉伸循环后电阻漂移小于百分之三。可用于可穿戴健康监测、桥梁与隧道结构健康监测、"
        "工业机器人电子皮肤等场景。已完成中试验证，单片成本低于五元，适合卷对卷连续化生产。"
        "已申请发明专利两项（其中一项已授权），可提供工艺包、设备选型与现场技术指导。"
    ),
    "field": "新材料",
    "trl": 6,
    "transfer_modes": ["license", "joint_development"],
    "price_min": 80_000_000,  # fen: 800,000.00 CNY
    "price_max": 200_000_000,
    "inventor_ids": [],
    "ip_asset_ids": [],
    "tags": ["柔性电子", "石墨烯", "应变传感器", "可穿戴"],
    "external_id": "BENCH-ITEM-0001",
}


@dataclass(frozen=True)
class Options:
    database_url: str
    rounds: int
    concurrency: int
    duration: int
    load_generator: str


@dataclass(frozen=True)
class Measurement:
    target: str  # "app" or "raw"
    round: int
    result: LoadResult
    warmup_failures: int
    server_cpu_s: float
    database_cpu_s: float | None
    response_bytes: int

    @property
    def failures(self) -> int:
        return self.result.failures + self.warmup_failures

    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.result.requests * 1e6 if self.result.requests else 0.0

    def database_cpu_us_per_request(self) -> float | None:
        if self.database_cpu_s is None or not self.result.requests:
            return None
        return self.database_cpu_s / self.result.requests * 1e6

    def to_json(self) -> dict[str, Any]:
        database_us = self.database_cpu_us_per_request()
        return {
            **self.result.to_json(),
            "warmup_failures": self.warmup_failures,
            "server_cpu_s": round(self.server_cpu_s, 2),
            "server_cpu_us_per_request": round(self.cpu_us_per_request(), 1),
            "database_cpu_s": _rounded(self.database_cpu_s, 2),
            "database_cpu_us_per_request": _rounded(database_us, 1),
            "response_bytes": self.response_bytes,
        }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# --- the database ---------------------------------------------------------------------------


def plain_dsn(database_url: str) -> str:
    """The asyncpg DSN of a PostgreSQL URL (postgresql://, without a +driver)."""
    normalized = normalize_database_url(database_url)
    scheme, _, rest = normalized.partition("://")
    return "postgresql://" + rest if scheme.startswith("postgresql") else normalized


async def _insert_technology(database_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """One organization and one published technology of it, as the API would write them."""
    spec = technologies_service.SPEC
    staff = staff_principal()
    async with bench_session(database_url) as session:
        organization = sample_organization()
        session.add(organization)
        await session.flush()
        item = await catalog_service.create_item(
            session,
            spec,
            principal=staff,
            values=TECHNOLOGY,
            owner_id=organization.id,
        )
        await catalog_service.transition_item(
            session, spec, principal=staff, item_id=item.id, action=HistoryAction.publish
        )
        return organization.id, item.id


async def _delete_technology(
    database_url: str, organization_id: uuid.UUID, item_id: uuid.UUID
) -> None:
    async with bench_session(database_url) as session:
        await session.execute(
            delete(CatalogHistory).where(
                CatalogHistory.catalog == technologies_service.SPEC.name,
                CatalogHistory.item_id == item_id,
            )
        )
        await session.execute(delete(Technology).where(Technology.id == item_id))
        await session.execute(delete(Organization).where(Organization.id == organization_id))


@contextmanager
def prepared_technology(database_url: str) -> Iterator[uuid.UUID]:
    """Migrate, insert the technology and yield its id; delete it (and its owner) after."""
    migrate(database_url)
    organization_id, item_id = asyncio.run(_insert_technology(database_url))
    try:
        yield item_id
    finally:
        asyncio.run(_delete_technology(database_url, organization_id, item_id))


# --- CPU time from /proc --------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name: [0] state, [1] ppid, [11] utime…"""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw.rpartition(")")[2].split()


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (0 once it is gone)."""
    fields = _stat(pid)
    if fields is None:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_processes(port: int) -> list[int]:
    """The uvicorn process(es) serving ``port``: the descendants of this script's `timeout`
    wrapper whose command line has ``--port PORT`` (the wrapper itself does no work)."""
    parents: dict[int, list[int]] = {}
    wrappers: list[int] = []
    me = os.getpid()
    for pid in _pids():
        fields = _stat(pid)
        if fields is None:
            continue
        ppid = int(fields[1])
        parents.setdefault(ppid, []).append(pid)
        command = _cmdline(pid)
        if ppid == me and command[:1] == ["timeout"]:
            if f"--port\0{port}\0" in "\0".join(command):
                wrappers.append(pid)
    found: list[int] = []
    todo = [child for wrapper in wrappers for child in parents.get(wrapper, [])]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(parents.get(pid, []))
    if not found:
        raise RuntimeError(f"no server process found for port {port}")
    return found


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of every process named postgres on this machine (none when not local)."""
    seconds: dict[int, float] = {}
    for pid in _pids():
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if name == "postgres":
            seconds[pid] = cpu_seconds(pid)
    return seconds


def postgres_cpu_since(before: dict[int, float]) -> float | None:
    """CPU the PostgreSQL processes used since ``before`` (backends that exited are lost)."""
    if not before:
        return None
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in postgres_cpu().items())


# --- the measurements -----------------------------------------------------------------------


def measure_target(
    target: str, round_number: int, options: Options, item_id: uuid.UUID, kind: str, workdir: Path
) -> Measurement:
    """Start one server, check its answer, warm it up, measure it and stop it."""
    port = free_port()
    path = f"/v1/technologies/{item_id}"
    url = f"http://127.0.0.1:{port}{path}"
    if target == "app":
        command = uvicorn_command("app.main:create_app", port, 1, [])
        env = server_env(options.database_url, pool_size=APP_POOL_SIZE)
    else:
        command = uvicorn_command("raw_item:create_app", port, 1, ["--app-dir", str(BENCH_DIR)])
        env = {"BENCH_DATABASE_DSN": plain_dsn(options.database_url)}
    log = workdir / f"{target}-{round_number}.log"
    with running_server(command, env, url, log):
        status, body = http_get(url)
        if status != 200 or json.loads(body).get("id") != str(item_id):
            raise RuntimeError(f"{target}: GET {path} answered {status}: {body[:300]!r}")
        pids = server_processes(port)
        warmup = generate_load(kind, url, options.concurrency, WARMUP_S)
        server_before = sum(cpu_seconds(pid) for pid in pids)
        database_before = postgres_cpu()
        result = generate_load(kind, url, options.concurrency, options.duration)
        server_cpu = sum(cpu_seconds(pid) for pid in pids) - server_before
        database_cpu = postgres_cpu_since(database_before)
    return Measurement(
        target=target,
        round=round_number,
        result=result,
        warmup_failures=warmup.failures,
        server_cpu_s=server_cpu,
        database_cpu_s=database_cpu,
        response_bytes=len(body),
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _ratio(app: float, raw: float) -> float:
    return app / raw if raw else 0.0


def medians(measurements: list[Measurement], target: str) -> dict[str, float | None]:
    mine = [m for m in measurements if m.target == target]
    database = [d for m in mine if (d := m.database_cpu_us_per_request()) is not None]
    return {
        "rps": round(_median([m.result.rps for m in mine]), 1),
        "p50_ms": round(_median([m.result.p50_ms for m in mine]), 2),
        "p99_ms": round(_median([m.result.p99_ms for m in mine]), 2),
        "server_cpu_us_per_request": round(_median([m.cpu_us_per_request() for m in mine]), 1),
        "database_cpu_us_per_request": round(_median(database), 1) if database else None,
    }


def round_ratios(measurements: list[Measurement], rounds: int) -> list[float]:
    """app/raw req/s of each round (the two measurements taken next to each other)."""
    ratios = []
    for number in range(1, rounds + 1):
        rps = {m.target: m.result.rps for m in measurements if m.round == number}
        ratios.append(_ratio(rps["app"], rps["raw"]))
    return ratios


def _row(label: str, target: str, figures: dict[str, Any], failed: int | str) -> str:
    database = figures["database_cpu_us_per_request"]
    database_text = "-" if database is None else f"{database:.0f}"
    return (
        f"{label:<8}{target:<6}{figures['rps']:>9.1f}{figures['p50_ms']:>9.2f}"
        f"{figures['p99_ms']:>9.2f}{figures['server_cpu_us_per_request']:>11.0f}"
        f"{database_text:>10}{failed!s:>8}"
    )


def print_report(
    generator: str, options: Options, measurements: list[Measurement], ratios: list[float]
) -> dict[str, Any]:
    print(
        f"GET {ROUTE} on postgresql: {generator}, {options.concurrency} connections, "
        f"{options.duration} s after {WARMUP_S} s warm-up, 1 worker, {options.rounds} rounds"
    )
    print(
        f"{'round':<8}{'target':<6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'CPU µs/req':>11}"
        f"{'PG µs/req':>10}{'failed':>8}"
    )
    for m in measurements:
        print(_row(str(m.round), m.target, m.to_json(), m.failures))
    summary = {target: medians(measurements, target) for target in ("app", "raw")}
    for target, figures in summary.items():
        print(_row("median", target, figures, ""))
    ratio = _median(ratios)
    verdict = "meets" if ratio >= TARGET_RATIO else "misses"
    print("app/raw req/s per round: " + ", ".join(f"{r:.3f}" for r in ratios))
    print(f"app/raw req/s, median of rounds: {ratio:.3f} ({verdict} the ≥ {TARGET_RATIO} target)")
    return summary


def result_entry(
    generator: str,
    options: Options,
    measurements: list[Measurement],
    ratios: list[float],
    summary: dict[str, Any],
) -> dict[str, Any]:
    ratio = _median(ratios)
    return {
        **load_header(ROUTE, generator, options.concurrency, options.duration),
        "workers": 1,
        "app_pool_size": APP_POOL_SIZE,
        "raw_pool_size": RAW_POOL_SIZE,
        "rounds": [
            {
                "round": number,
                **{m.target: m.to_json() for m in measurements if m.round == number},
                "ratio_rps": round(ratios[number - 1], 4),
            }
            for number in range(1, options.rounds + 1)
        ],
        "median": {**summary, "ratio_rps": round(ratio, 4)},
        "target_ratio_rps": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }


def run(options: Options, workdir: Path) -> int:
    kind = choose_load_generator(options.load_generator)
    generator = describe_load_generator(kind)
    measurements: list[Measurement] = []
    with prepared_technology(options.database_url) as item_id:
        for number in range(1, options.rounds + 1):
            for target in ("app", "raw"):
                measurement = measure_target(target, number, options, item_id, kind, workdir)
                measurements.append(measurement)
                print(
                    f"round {number} {target}: {measurement.result.rps:.1f} req/s",
                    file=sys.stderr,
                    flush=True,
                )
    ratios = round_ratios(measurements, options.rounds)
    summary = print_report(generator, options, measurements, ratios)
    merge_results(
        RESULTS_FILE,
        "postgresql",
        result_entry(generator, options, measurements, ratios, summary),
    )
    failed = sum(m.failures for m in measurements)
    if failed:
        print(f"FAILED: {failed} request(s) did not answer 200", file=sys.stderr)
        return 1
    return 0


def parse_args(argv: list[str] | None = None) -> Options:
    parser = bench_parser(__doc__, postgresql_only=True)
    parser.add_argument("--rounds", type=positive, default=3, help="app/raw pairs to measure")
    add_load_arguments(parser, per="measurement")
    args = parser.parse_args(argv)
    require_postgresql(
        parser,
        args.database_url,
        "PostgreSQL only: the baseline (bench/raw_item.py) queries with asyncpg, so there"
        " is no SQLite counterpart. Give --database-url postgresql://user@host:port/db.",
    )
    return options_from(Options, args)


if __name__ == "__main__":
    sys.exit(run_bench("bench_item", parse_args, run))
