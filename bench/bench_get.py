"""GET /v1/organizations/{id} against a bare FastAPI baseline, measured in the same run.

    .venv/bin/python bench/bench_get.py [--database-url URL] [--concurrency 32]
        [--duration 10] [--workers 1] [--load-generator auto|wrk|python]

Migrates a database (a fresh SQLite file by default), inserts one organization, serves the
real app under uvicorn and measures it with keep-alive clients; then serves bench/baseline.py
(same route, the same response bytes, nothing else) and measures it with the same load
generator. Prints requests/s, p50 and p99 for both and the ratio real/baseline, merges the
figures into bench/results/get_organization.json (one entry per backend), and exits 1 when
any request failed. See bench/README.md.
"""

import argparse
import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from bench_results import merge_results, run_header
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import normalize_database_url
from app.core.db import Database, create_engine
from app.core.security import ROLE_SCOPES, Principal, PrincipalKind, Role
from app.models.orgs import Organization, OrganizationKind
from app.services.orgs import CREDIT_CODE_ALPHABET, credit_code_check_character

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "get_organization.json"
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"
LOADGEN = BENCH_DIR / "loadgen.py"
SERVER_LIFETIME_S = 300  # `timeout` ends every server by then, whatever happens to this script
STARTUP_TIMEOUT_S = 120.0  # a server builds its search index first (~20 s at the seed scale)
WARMUP_S = 1
MAX_DURATION_S = 240  # start-up + warm-up + measurement must fit in SERVER_LIFETIME_S
ROUTE = "/v1/organizations/{id}"


@dataclass(frozen=True)
class Options:
    database_url: str | None
    concurrency: int
    duration: int
    workers: int
    load_generator: str


@dataclass(frozen=True)
class LoadResult:
    requests: int
    failures: int
    duration_s: float
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0

    def to_json(self) -> dict[str, float | int]:
        return {**asdict(self), "rps": round(self.rps, 1)}


# --- the database ---------------------------------------------------------------------------


def random_credit_code() -> str:
    """A valid unified social credit code (GB 32100-2015), new on every run."""
    first_17 = "12" + "410100" + "".join(secrets.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    return first_17 + credit_code_check_character(first_17)


def sample_organization() -> Organization:
    return Organization(
        name="河南省超硬材料产业技术研究院",
        kind=OrganizationKind.research_institute,
        credit_code=random_credit_code(),
        region="河南省郑州市高新技术产业开发区",
        website="https://www.hnsuperhard.example.cn",
        description=(
            "面向超硬材料与制品行业的新型研发机构，由郑州大学、郑州磨料磨具磨削研究所与"
            "省内龙头企业共建。主要方向：人造金刚石单晶与聚晶、立方氮化硼、精密磨削工具、"
            "金刚石散热片与半导体衬底加工。提供中试验证、检验检测、技术转让与联合攻关服务，"
            "已与三十余家企业开展产学研合作，欢迎发布技术需求与成果转化合作意向。"
        ),
    )


def innoshare(database_url: str, *arguments: str) -> str:
    """The `innoshare` command against the bench database, in its own process; its output."""
    command = Path(sys.executable).with_name("innoshare")
    if not command.exists():
        raise RuntimeError(f"{command} not found: install the project first (make bench does)")
    done = subprocess.run(
        [str(command), *arguments],
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


def migrate(database_url: str) -> None:
    """`innoshare migrate` against the bench database."""
    innoshare(database_url, "migrate")


def staff_principal() -> Principal:
    """An operator, as the services see one: the benchmarks' data is written through them."""
    return Principal(
        kind=PrincipalKind.user,
        id=uuid.uuid4(),
        role=Role.operator,
        organization_id=None,
        scopes=ROLE_SCOPES[Role.operator],
    )


@asynccontextmanager
async def bench_session(database_url: str) -> AsyncIterator[AsyncSession]:
    """One write unit of work on the bench database, over an engine of its own."""
    db = Database(create_engine(normalize_database_url(database_url)))
    try:
        async with db.unit_of_work(write=True) as session:
            yield session
    finally:
        await db.dispose()


async def _insert_organization(database_url: str) -> uuid.UUID:
    async with bench_session(database_url) as session:
        organization = sample_organization()
        session.add(organization)
        await session.flush()
        return organization.id


async def _delete_organization(database_url: str, organization_id: uuid.UUID) -> None:
    async with bench_session(database_url) as session:
        organization = await session.get(Organization, organization_id)
        if organization is not None:
            await session.delete(organization)


@contextmanager
def prepared_database(database_url: str) -> Iterator[uuid.UUID]:
    """Migrate, insert one organization and yield its id; remove it again afterwards."""
    migrate(database_url)
    organization_id = asyncio.run(_insert_organization(database_url))
    try:
        yield organization_id
    finally:
        asyncio.run(_delete_organization(database_url, organization_id))


# --- the servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(
    database_url: str,
    *,
    secret_key: str | None = None,
    pool_size: int | None = None,
    workers: int = 1,
    workdir: Path | None = None,
) -> dict[str, str]:
    """The environment the app's server runs with under a benchmark."""
    env = {
        "INNOSHARE_DATABASE_URL": database_url,
        "INNOSHARE_SECRET_KEY": secret_key or secrets.token_urlsafe(48),
        "INNOSHARE_LOG_LEVEL": "WARNING",
    }
    if pool_size is not None:
        env["INNOSHARE_DATABASE_POOL_SIZE"] = str(pool_size)
    if workers > 1:  # as `innoshare serve --workers N` does
        assert workdir is not None, "several workers share their metrics through a directory"
        env["PROMETHEUS_MULTIPROC_DIR"] = str(workdir / "metrics")
        (workdir / "metrics").mkdir()
    return env


def uvicorn_command(app: str, port: int, workers: int, extra: list[str]) -> list[str]:
    """The same uvicorn settings for both targets, as `innoshare serve` has them."""
    return [
        "timeout",
        str(SERVER_LIFETIME_S),
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        *extra,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "--no-access-log",
        "--no-server-header",
    ]


def http_get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_ok(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll ``url`` until it answers 200; fail at once when the server exits."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text()[-2000:]}")
        try:
            status, body = http_get(url)
        except OSError:
            time.sleep(0.1)
            continue
        if status != 200:
            raise RuntimeError(f"GET {url} answered {status}: {body[:500]!r}")
        return
    raise RuntimeError(f"server did not answer {url} within {STARTUP_TIMEOUT_S} s")


@contextmanager
def running_server(
    command: list[str], env: Mapping[str, str], url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``command``, yield its process once ``url`` answers 200, stop it (and its
    workers) after."""
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_ok(url, process, log)
        yield process
    finally:
        process.terminate()  # `timeout` passes SIGTERM on to uvicorn
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --- the load generator ---------------------------------------------------------------------


def choose_load_generator(wanted: str) -> str:
    if wanted == "auto":
        return "wrk" if shutil.which("wrk") else "python"
    if wanted == "wrk" and not shutil.which("wrk"):
        raise RuntimeError("wrk not found: apt-get install wrk, or use --load-generator python")
    return wanted


def describe_load_generator(kind: str) -> str:
    if kind == "wrk":
        done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
        version = (done.stdout + done.stderr).split()[1:2]
        return f"wrk {version[0] if version else '?'} (1 thread)"
    return "bench/loadgen.py (1 process, asyncio)"


def load_command(kind: str, url: str, concurrency: int, duration: int) -> list[str]:
    if kind == "wrk":
        return [
            "wrk",
            "--threads",
            "1",  # one core for the load, the other for a one-worker server
            "--connections",
            str(concurrency),
            "--duration",
            f"{duration}s",
            "--timeout",
            "10s",
            "--script",
            str(WRK_SCRIPT),
            url,
        ]
    return [
        sys.executable,
        str(LOADGEN),
        url,
        "--concurrency",
        str(concurrency),
        "--duration",
        str(duration),
    ]


def parse_load_output(kind: str, stdout: str) -> LoadResult:
    if kind == "wrk":
        lines = [line for line in stdout.splitlines() if line.startswith("BENCH_JSON ")]
        if not lines:
            raise RuntimeError(f"wrk printed no result:\n{stdout}")
        stdout = lines[-1].removeprefix("BENCH_JSON ")
    return LoadResult(**json.loads(stdout))


def generate_load(kind: str, url: str, concurrency: int, duration: int) -> LoadResult:
    done = subprocess.run(
        load_command(kind, url, concurrency, duration),
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}):\n{done.stderr}")
    return parse_load_output(kind, done.stdout)


def measure(kind: str, url: str, options: Options) -> tuple[LoadResult, int]:
    """Warm up, then measure; return the measurement and the warm-up's failed requests."""
    warmup = generate_load(kind, url, options.concurrency, WARMUP_S)
    return generate_load(kind, url, options.concurrency, options.duration), warmup.failures


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    name: str
    result: LoadResult
    warmup_failures: int


def measure_real(
    options: Options, database_url: str, path: str, kind: str, workdir: Path
) -> tuple[Target, bytes]:
    """Serve the real app; return its figures and one response body for the baseline."""
    port = free_port()
    url = f"http://127.0.0.1:{port}{path}"
    env = server_env(database_url, workers=options.workers, workdir=workdir)
    command = uvicorn_command("app.main:create_app", port, options.workers, [])
    with running_server(command, env, url, workdir / "real.log"):
        status, body = http_get(url)
        if status != 200:
            raise RuntimeError(f"GET {url} answered {status}: {body[:500]!r}")
        result, warmup_failures = measure(kind, url, options)
    return Target("real", result, warmup_failures), body


def measure_baseline(options: Options, path: str, body: bytes, kind: str, workdir: Path) -> Target:
    port = free_port()
    url = f"http://127.0.0.1:{port}{path}"
    body_file = workdir / "baseline_body.json"
    body_file.write_bytes(body)
    env = {"BENCH_BASELINE_BODY_FILE": str(body_file)}
    command = uvicorn_command(
        "baseline:create_app", port, options.workers, ["--app-dir", str(BENCH_DIR)]
    )
    with running_server(command, env, url, workdir / "baseline.log"):
        status, served = http_get(url)
        if status != 200 or served != body:
            raise RuntimeError(f"baseline answered {status} with other bytes than the real app")
        result, warmup_failures = measure(kind, url, options)
    return Target("baseline", result, warmup_failures)


def backend_name(database_url: str) -> str:
    return "postgresql" if normalize_database_url(database_url).startswith("postgres") else "sqlite"


def print_table(backend: str, generator: str, options: Options, targets: list[Target]) -> None:
    print(
        f"GET {ROUTE} on {backend}: {generator}, {options.concurrency} connections, "
        f"{options.duration} s after {WARMUP_S} s warm-up, {options.workers} worker(s)"
    )
    print(f"{'target':<10}{'requests':>10}{'failed':>8}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for target in targets:
        r = target.result
        failed = r.failures + target.warmup_failures
        print(
            f"{target.name:<10}{r.requests:>10}{failed:>8}{r.rps:>10.1f}"
            f"{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
        )
    print(f"real/baseline req/s: {rps_ratio(targets):.3f}")


def rps_ratio(targets: list[Target]) -> float:
    by_name = {target.name: target.result.rps for target in targets}
    return by_name["real"] / by_name["baseline"] if by_name["baseline"] else 0.0


def load_header(route: str, generator: str, concurrency: int, duration: int) -> dict[str, Any]:
    """The first keys of a load run's results entry: when, on what, and the load."""
    return {
        **run_header(),
        "route": route,
        "load_generator": generator,
        "concurrency": concurrency,
        "duration_s": duration,
        "warmup_s": WARMUP_S,
    }


def result_entry(
    generator: str, options: Options, body: bytes, targets: list[Target]
) -> dict[str, Any]:
    return {
        **load_header(ROUTE, generator, options.concurrency, options.duration),
        "workers": options.workers,
        "response_bytes": len(body),
        **{
            target.name: {**target.result.to_json(), "warmup_failures": target.warmup_failures}
            for target in targets
        },
        "ratio_rps": round(rps_ratio(targets), 4),
    }


def run(options: Options, workdir: Path) -> int:
    database_url = options.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    backend = backend_name(database_url)
    kind = choose_load_generator(options.load_generator)
    generator = describe_load_generator(kind)
    with prepared_database(database_url) as organization_id:
        path = f"/v1/organizations/{organization_id}"
        real, body = measure_real(options, database_url, path, kind, workdir)
        baseline = measure_baseline(options, path, body, kind, workdir)
    targets = [real, baseline]
    print_table(backend, generator, options, targets)
    merge_results(RESULTS_FILE, backend, result_entry(generator, options, body, targets))
    failed = sum(t.result.failures + t.warmup_failures for t in targets)
    if failed:
        print(f"FAILED: {failed} request(s) did not answer 200", file=sys.stderr)
        return 1
    return 0


def positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def duration(value: str) -> int:
    number = positive(value)
    if number > MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"at most {MAX_DURATION_S} s per target")
    return number


def bench_parser(doc: str | None, *, postgresql_only: bool = False) -> argparse.ArgumentParser:
    """A benchmark's command line (described by its docstring's first line), beginning with
    the scratch database it runs against."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    if postgresql_only:
        parser.add_argument(
            "--database-url",
            required=True,
            help="postgresql://… of a scratch database (PostgreSQL only)",
        )
    else:
        parser.add_argument(
            "--database-url",
            help="postgresql://… of a scratch database (default: a fresh SQLite file)",
        )
    return parser


def add_load_arguments(parser: argparse.ArgumentParser, *, per: str) -> None:
    """--concurrency, --duration (seconds ``per`` measurement) and --load-generator."""
    parser.add_argument("--concurrency", type=positive, default=32, help="keep-alive clients")
    parser.add_argument("--duration", type=duration, default=10, help=f"seconds per {per}")
    parser.add_argument(
        "--load-generator",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="auto: wrk when installed, else bench/loadgen.py",
    )


def require_postgresql(parser: argparse.ArgumentParser, database_url: str, why: str) -> None:
    """Stop with usage and ``why`` unless the benchmark's database is PostgreSQL."""
    if not normalize_database_url(database_url).startswith("postgresql"):
        parser.error(why)


T = TypeVar("T")


def options_from(options: type[T], args: argparse.Namespace) -> T:
    """A benchmark's options (a dataclass) from the parsed arguments of the same names."""
    return options(**{field.name: getattr(args, field.name) for field in fields(options)})


def parse_args(argv: list[str] | None = None) -> Options:
    parser = bench_parser(__doc__)
    add_load_arguments(parser, per="target")
    parser.add_argument("--workers", type=positive, default=1, help="uvicorn worker processes")
    return options_from(Options, parser.parse_args(argv))


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the `with` blocks: servers stop, rows go


def run_bench(name: str, parse: Callable[[], T], run: Callable[[T, Path], int]) -> int:
    """A benchmark's main: its options, a SIGTERM that unwinds (so servers stop and rows
    go), a temporary working directory, and exit status 2 when the run cannot be set up."""
    options = parse()
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryDirectory(prefix=f"innoshare-{name.replace('_', '-')}-") as workdir:
        try:
            return run(options, Path(workdir))
        except RuntimeError as error:
            print(f"{name}: {error}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(run_bench("bench_get", parse_args, run))
