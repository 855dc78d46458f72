"""POST /v1/imports/technologies: 10 batches of 1,000 new items, then the same again unchanged.

    .venv/bin/python bench/bench_import.py [--database-url URL] [--batches 10]
        [--batch-size 1000] [--changed 100]

Migrates a database (a fresh SQLite file in a temporary directory by default), creates a
new university and an API key with scope catalog:write for it, serves the real app (one
uvicorn worker) and, with one keep-alive httpx client sending requests one after another:

1. imports BATCHES batches of BATCH_SIZE distinct published technologies (Chinese titles and
   summaries, fields, TRL, transfer modes, prices) and checks every result is "created"
   (target: 10,000 items in ≤ 5 s);
2. sends the same batches again, unchanged, and checks every result is "unchanged" and names
   the same id (target: ≤ 2 s);
3. sends the first batch once more with CHANGED of its items changed (summary, TRL, price)
   and checks those are "updated" and the others "unchanged" (reported, no target).

Prints total seconds, per-batch p50/max, items/s and the app's own Server-Timing per batch,
and merges the figures into bench/results/import.json (one entry per backend). A PostgreSQL
database gets a new organization on every run; its rows are deleted at the end. Exit
status: 0 when every batch answered 200 with the expected results, 1 when any did not, 2
when the run could not be set up. See bench/README.md.
"""

import argparse
import asyncio
import gc
import itertools
import json
import random
import secrets
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from bench_get import (
    BENCH_DIR,
    backend_name,
    bench_parser,
    bench_session,
    free_port,
    migrate,
    options_from,
    positive,
    random_credit_code,
    run_bench,
    running_server,
    server_env,
    uvicorn_command,
)
from bench_results import merge_results, run_header
from sqlalchemy import delete, select

from app.core.security import Scope
from app.models.auth import ApiKey
from app.models.catalog import CatalogHistory
from app.models.orgs import Organization, OrganizationKind
from app.models.technologies import Technology
from app.services import auth as auth_service

RESULTS_FILE = BENCH_DIR / "results" / "import.json"
ROUTE = "/v1/imports/technologies"
MAX_BATCH = 1000  # the API's limit
TARGET_CREATE_S = 5.0
TARGET_UNCHANGED_S = 2.0
REQUEST_TIMEOUT_S = 120.0
SEED = 20261124

# --- the items ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    field: str
    objects: tuple[str, ...]
    techniques: tuple[str, ...]
    application: str


DOMAINS = (
    Domain(
        "超硬材料",
        ("金刚石圆锯片", "立方氮化硼砂轮", "聚晶金刚石复合片", "金刚石线锯", "超硬刀具涂层"),
        ("激光熔覆", "微波烧结", "化学气相沉积", "高温高压合成", "精密电镀"),
        "石材加工、光伏硅片切割与汽车零部件精密磨削",
    ),
    Domain(
        "盾构装备",
        ("盾构机刀盘", "管片拼装机", "同步注浆系统", "主驱动密封", "滚刀刀圈"),
        ("声发射监测", "数字孪生", "堆焊强化", "有限元仿真", "液压伺服控制"),
        "城市地铁、引水隧洞与综合管廊施工",
    ),
    Domain(
        "生物医药",
        ("重组蛋白疫苗", "小分子激酶抑制剂", "体外诊断试剂盒", "缓释微球制剂", "中药配方颗粒"),
        ("基因工程", "高通量筛选", "微流控", "超临界萃取", "冻干保护"),
        "医院检验科、基层医疗机构与制药企业",
    ),
    Domain(
        "集成电路",
        ("功率半导体器件", "芯片封装基板", "晶圆减薄工艺", "射频前端模组", "MEMS 压力传感器"),
        ("碳化硅外延", "低温共烧陶瓷", "等离子刻蚀", "倒装焊", "硅通孔"),
        "新能源汽车电驱、5G 基站与工业控制",
    ),
    Domain(
        "新能源",
        ("钠离子电池正极材料", "光伏组件", "氢燃料电池双极板", "储能变流器", "风电叶片"),
        ("喷雾干燥", "钙钛矿叠层", "模压成型", "模型预测控制", "真空灌注"),
        "电网侧储能、分布式光伏与商用车动力系统",
    ),
    Domain(
        "智能制造",
        ("工业机器人关节", "数控机床主轴", "视觉检测系统", "AGV 调度平台", "智能仓储系统"),
        ("机器视觉", "深度学习", "力位混合控制", "边缘计算", "5G 专网"),
        "汽车焊装、电子装配与食品包装产线",
    ),
    Domain(
        "现代农业",
        ("小麦抗病品种", "水肥一体化系统", "果蔬保鲜膜", "畜禽粪污处理装置", "花生联合收获机"),
        ("分子标记辅助育种", "物联网墒情监测", "纳米抗菌", "好氧发酵", "仿形挖掘"),
        "黄淮海平原粮食主产区与规模化养殖场",
    ),
    Domain(
        "新材料",
        ("石墨烯导热膜", "碳纤维复合材料", "高熵合金", "生物可降解塑料", "气凝胶隔热毡"),
        ("化学气相沉积", "热压罐固化", "真空电弧熔炼", "反应挤出", "常压干燥"),
        "消费电子散热、轨道交通轻量化与建筑节能",
    ),
    Domain(
        "电子信息",
        ("5G 基站天线", "边缘计算网关", "工业物联网模组", "北斗定位终端", "智能电表"),
        ("注塑成型", "容器化部署", "低功耗广域网", "RTK 差分定位", "国密算法"),
        "智慧城市、电力物联网与交通运输监管",
    ),
    Domain(
        "节能环保",
        ("工业废水处理装置", "VOCs 催化燃烧装置", "建筑固废再生骨料", "余热回收系统", "除尘滤袋"),
        ("膜生物反应器", "蓄热式燃烧", "破碎筛分", "有机朗肯循环", "覆膜改性"),
        "化工园区、钢铁焦化与建材生产企业",
    ),
)
ADJECTIVES = ("高效", "低成本", "长寿命", "高精度", "智能化", "轻量化", "耐高温", "环保型")
SUFFIXES = (
    "及其制备方法",
    "的在线监测装置",
    "的控制方法及系统",
    "的加工工艺",
    "的检测方法",
    "的结构优化设计",
)
PROBLEMS = ("寿命短、维护成本高", "效率低、能耗高", "精度不足、一致性差", "长期依赖进口、价格高")
GAINS = ("生产效率", "使用寿命", "产品良率", "检测精度")
SAVINGS = ("能耗", "制造成本", "故障率", "废品率")
PLACES = ("郑州", "洛阳", "新乡", "许昌", "南阳", "焦作", "平顶山", "安阳")
STAGES = ("中试验证", "小批量试产", "示范应用", "工程化验证")
MODES = ("assignment", "license", "equity", "joint_development")


def _yuan(amount: int) -> str:
    return f"{amount}.00"


def build_items(count: int) -> list[dict[str, Any]]:
    """``count`` distinct technologies (distinct titles too, up to 12,000), the same every run."""
    rng = random.Random(SEED)
    combinations = [
        (domain, obj, technique, adjective, suffix)
        for domain in DOMAINS
        for obj, technique in itertools.product(domain.objects, domain.techniques)
        for adjective in ADJECTIVES
        for suffix in SUFFIXES
    ]
    rng.shuffle(combinations)
    items = []
    for number in range(count):
        domain, obj, technique, adjective, suffix = combinations[number % len(combinations)]
        title = f"基于{technique}的{adjective}{obj}{suffix}"
        if number >= len(combinations):
            title += f"（第{number // len(combinations) + 1}代）"
        summary = (
            f"针对{obj}{rng.choice(PROBLEMS)}的问题，采用{technique}技术，"
            f"{rng.choice(GAINS)}提高{rng.randint(12, 60)}%，"
            f"{rng.choice(SAVINGS)}降低{rng.randint(8, 45)}%，已在{rng.choice(PLACES)}"
            f"完成{rng.choice(STAGES)}，适用于{domain.application}。"
        )
        price_min = rng.randint(5, 500) * 10_000
        price_max = price_min * rng.randint(1, 4) if rng.random() < 0.9 else None
        items.append(
            {
                "title": title,
                "summary": summary,
                "field": domain.field,
                "trl": rng.randint(3, 8),
                "transfer_modes": sorted(rng.sample(MODES, rng.randint(1, 3))),
                "price_min": _yuan(price_min),
                "price_max": None if price_max is None else _yuan(price_max),
                "tags": [domain.field, technique],
                "status": "published",
                "external_id": f"ZYKD-TECH-{number + 1:06d}",
            }
        )
    return items


def changed_copy(items: list[dict[str, Any]], changed: int) -> list[dict[str, Any]]:
    """The same items with ``changed`` of them (spread evenly) changed in three fields."""
    step = max(1, len(items) // changed) if changed else 0
    picked = set(range(0, len(items), step)[:changed]) if changed else set()
    result = []
    for index, item in enumerate(items):
        if index in picked:
            item = {
                **item,
                "summary": item["summary"] + "2026年完成第二轮中试，性能指标稳定。",
                "trl": item["trl"] + 1,
                "price_max": _yuan(int(item["price_min"].split(".")[0]) * 5),
            }
        result.append(item)
    return result


def encode(items: list[dict[str, Any]]) -> bytes:
    """The request body as a client would send it: compact UTF-8 JSON, Chinese unescaped."""
    body = {"mode": "atomic", "items": items}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# --- the database ---------------------------------------------------------------------------


def sample_university() -> Organization:
    return Organization(
        name=f"中原科技大学技术转移中心（{secrets.token_hex(3)}）",
        kind=OrganizationKind.university,
        credit_code=random_credit_code(),
        region="河南省郑州市金水区",
        website="https://tto.zykd.example.edu.cn",
        description="负责学校科技成果的披露、评估、专利运营与转化，向合作伙伴批量同步成果信息。",
    )


async def _create_owner(database_url: str) -> tuple[uuid.UUID, str]:
    """A new university and an API key of it with scope catalog:write."""
    async with bench_session(database_url) as session:
        organization = sample_university()
        session.add(organization)
        await session.flush()
        issued = await auth_service.issue_api_key(
            session,
            organization_id=organization.id,
            name="成果批量同步程序（bench）",
            scopes=[Scope.catalog_write],
        )
        return organization.id, issued.key


async def _delete_owner(database_url: str, organization_id: uuid.UUID) -> None:
    """The organization, its key, its technologies and their history."""
    async with bench_session(database_url) as session:
        owned = select(Technology.id).where(Technology.owner_id == organization_id)
        await session.execute(
            delete(CatalogHistory).where(
                CatalogHistory.catalog == "technologies", CatalogHistory.item_id.in_(owned)
            )
        )
        await session.execute(delete(Technology).where(Technology.owner_id == organization_id))
        await session.execute(delete(ApiKey).where(ApiKey.organization_id == organization_id))
        await session.execute(delete(Organization).where(Organization.id == organization_id))


@contextmanager
def prepared_owner(database_url: str, keep: bool) -> Iterator[str]:
    """Migrate, create the organization and yield its API key; delete it all afterwards."""
    migrate(database_url)
    organization_id, key = asyncio.run(_create_owner(database_url))
    try:
        yield key
    finally:
        if not keep:
            asyncio.run(_delete_owner(database_url, organization_id))


# --- the imports ----------------------------------------------------------------------------


@dataclass
class Batch:
    seconds: float
    status: int
    request_bytes: int
    server_ms: float | None
    database_ms: float | None
    results: list[dict[str, Any]]
    error: str | None = None

    def counts(self) -> Counter[str]:
        return Counter(str(r.get("result")) for r in self.results)


@dataclass
class Phase:
    name: str
    batches: list[Batch] = field(default_factory=list)
    total_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        return sum(len(b.results) for b in self.batches)

    def counts(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for batch in self.batches:
            total.update(batch.counts())
        return total

    def to_json(self, target_s: float | None) -> dict[str, Any]:
        seconds = [b.seconds for b in self.batches]
        server = [b.server_ms for b in self.batches if b.server_ms is not None]
        database = [b.database_ms for b in self.batches if b.database_ms is not None]
        entry: dict[str, Any] = {
            "batches": len(self.batches),
            "items": self.items,
            "total_s": round(self.total_s, 3),
            "batch_p50_s": round(statistics.median(seconds), 3) if seconds else None,
            "batch_max_s": round(max(seconds), 3) if seconds else None,
            "items_per_s": round(self.items / self.total_s, 1) if self.total_s else None,
            "server_ms_p50": round(statistics.median(server), 1) if server else None,
            "database_ms_p50": round(statistics.median(database), 1) if database else None,
            "request_bytes_max": max((b.request_bytes for b in self.batches), default=0),
            "results": dict(sorted(self.counts().items())),
            "problems": self.problems,
        }
        if target_s is not None:
            entry["target_s"] = target_s
            entry["meets_target"] = not self.problems and self.total_s <= target_s
        return entry


def _server_timing(header: str | None) -> dict[str, float]:
    """``app;dur=12.3, db;dur=4.5`` as {"app": 12.3, "db": 4.5} (milliseconds)."""
    timings: dict[str, float] = {}
    for metric in (header or "").split(","):
        label, _, value = metric.strip().partition(";dur=")
        if value:
            timings[label] = float(value)
    return timings


def post_batch(client: httpx.Client, body: bytes) -> Batch:
    started = time.perf_counter()
    response = client.post(ROUTE, content=body)
    seconds = time.perf_counter() - started
    timings = _server_timing(response.headers.get("server-timing"))
    results: list[dict[str, Any]] = []
    error = None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code == 200 and isinstance(payload, dict):
        results = list(payload.get("results") or [])
    else:
        error = f"HTTP {response.status_code}: {response.text[:1000]}"
    return Batch(
        seconds=seconds,
        status=response.status_code,
        request_bytes=len(body),
        server_ms=timings.get("app"),
        database_ms=timings.get("db"),
        results=results,
        error=error,
    )


def run_phase(
    client: httpx.Client,
    name: str,
    bodies: list[bytes],
    expected: list[list[str]],
    ids: list[list[str]] | None,
) -> Phase:
    """Send the bodies one after another; check each item's result (and id, when known)."""
    phase = Phase(name)
    started = time.perf_counter()
    for number, body in enumerate(bodies):
        batch = post_batch(client, body)
        phase.batches.append(batch)
        if batch.error is not None:
            phase.problems.append(f"batch {number + 1}: {batch.error}")
            break  # later batches would only repeat the failure
    phase.total_s = time.perf_counter() - started
    for number, batch in enumerate(phase.batches):
        if batch.error is not None:
            continue
        got = [str(r.get("result")) for r in batch.results]
        if got != expected[number]:
            wrong = [
                (index, r)
                for index, r in enumerate(batch.results)
                if index >= len(expected[number]) or r.get("result") != expected[number][index]
            ]
            phase.problems.append(
                f"batch {number + 1}: {len(wrong)} item(s) not as expected, first: "
                f"{json.dumps(wrong[:3], ensure_ascii=False)[:1000]}"
            )
        if ids is not None and [str(r.get("id")) for r in batch.results] != ids[number]:
            phase.problems.append(f"batch {number + 1}: ids differ from the first import")
    return phase


def print_phase(phase: Phase, target_s: float | None) -> None:
    figures = phase.to_json(target_s)
    verdict = ""
    if target_s is not None:
        verdict = f" ({'meets' if figures['meets_target'] else 'misses'} ≤ {target_s:g} s)"
    server = figures["server_ms_p50"]
    database = figures["database_ms_p50"]
    print(
        f"{phase.name:<10}{figures['batches']:>8}{figures['items']:>8}"
        f"{figures['total_s'] or 0:>9.2f}{figures['batch_p50_s'] or 0:>9.3f}"
        f"{figures['batch_max_s'] or 0:>9.3f}{figures['items_per_s'] or 0:>9.0f}"
        f"{server or 0:>10.0f}{database or 0:>9.0f}  "
        + ", ".join(f"{k} {v}" for k, v in figures["results"].items())
        + verdict
    )
    for problem in phase.problems:
        print(f"  PROBLEM: {problem}")


@dataclass(frozen=True)
class Options:
    database_url: str | None
    batches: int
    batch_size: int
    changed: int
    keep: bool


def run(options: Options, workdir: Path) -> int:
    database_url = options.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    backend = backend_name(database_url)
    items = build_items(options.batches * options.batch_size)
    batches = [
        items[start : start + options.batch_size]
        for start in range(0, len(items), options.batch_size)
    ]
    bodies = [encode(batch) for batch in batches]
    changed_batch = changed_copy(batches[0], options.changed)
    changed_body = encode(changed_batch)
    expected_changed = [
        "unchanged" if new is old else "updated"
        for new, old in zip(changed_batch, batches[0], strict=True)
    ]
    # The 10,000 items stay alive all run: keep the client's full collections from walking
    # them in the middle of a timed phase (one took ~0.1 s when they did).
    gc.collect()
    gc.freeze()

    port = free_port()
    env = server_env(database_url)
    command = uvicorn_command("app.main:create_app", port, 1, [])
    base_url = f"http://127.0.0.1:{port}"
    with (
        # a fresh SQLite file goes with the temporary directory: no need to delete rows
        prepared_owner(database_url, options.keep or options.database_url is None) as key,
        running_server(command, env, f"{base_url}/healthz", workdir / "app.log"),
        httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            timeout=REQUEST_TIMEOUT_S,
        ) as client,
    ):
        created = run_phase(
            client, "created", bodies, [["created"] * len(b) for b in batches], None
        )
        ids = [[str(r.get("id")) for r in b.results] for b in created.batches]
        phases = [created]
        if not created.problems:
            unchanged = run_phase(
                client, "unchanged", bodies, [["unchanged"] * len(b) for b in batches], ids
            )
            changed = run_phase(client, "changed", [changed_body], [expected_changed], ids[:1])
            phases += [unchanged, changed]
        log_tail = (workdir / "app.log").read_text(errors="replace")[-3000:]

    targets = {"created": TARGET_CREATE_S, "unchanged": TARGET_UNCHANGED_S, "changed": None}
    print(
        f"POST {ROUTE} on {backend}: {options.batches} batches of {options.batch_size}, "
        f"then batch 1 with {options.changed} changed; 1 worker, one keep-alive client; "
        f"bodies up to {max(len(b) for b in bodies + [changed_body]):,} bytes"
    )
    print(
        f"{'phase':<10}{'batches':>8}{'items':>8}{'total s':>9}{'p50 s':>9}{'max s':>9}"
        f"{'items/s':>9}{'app ms':>10}{'db ms':>9}  results (app/db ms: Server-Timing p50)"
    )
    for phase in phases:
        print_phase(phase, targets[phase.name])
    if log_tail.strip():
        print(f"server log (tail):\n{log_tail}")

    merge_results(
        RESULTS_FILE,
        backend,
        {
            **run_header(),
            "route": ROUTE,
            "workers": 1,
            "batch_size": options.batch_size,
            "changed_items": options.changed,
            **{phase.name: phase.to_json(targets[phase.name]) for phase in phases},
        },
    )
    return 1 if any(phase.problems for phase in phases) else 0


def batch_size(value: str) -> int:
    number = positive(value)
    if number > MAX_BATCH:
        raise argparse.ArgumentTypeError(f"the API takes at most {MAX_BATCH} items a batch")
    return number


def parse_args(argv: list[str] | None = None) -> Options:
    parser = bench_parser(__doc__)
    parser.add_argument("--batches", type=positive, default=10, help="batches to import")
    parser.add_argument("--batch-size", type=batch_size, default=1000, help="items a batch")
    parser.add_argument("--changed", type=int, default=100, help="items changed in the extra batch")
    parser.add_argument(
        "--keep", action="store_true", help="keep the organization and its items afterwards"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.changed <= args.batch_size:
        parser.error("--changed must be between 0 and --batch-size")
    return options_from(Options, args)


if __name__ == "__main__":
    sys.exit(run_bench("bench_import", parse_args, run))
