"""bench/results.md from the figures in bench/results/*.json, beside their targets.

    .venv/bin/python bench/report.py

Reads every results file the benchmarks wrote (and bench/results/faults.json when `make
faults` has written it), and writes one page: for each benchmark and backend, when and on
what it was measured, its figures, the target they answer to and the baseline measured in
the same run; then the mixed load per operation and the fault run. It prints only what the
files hold (a missing file or entry is said to be missing); the targets are the one table
below, TARGETS.
"""

import json
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
REPORT = BENCH_DIR / "results.md"
BUSY_LOAD_PER_CPU = 1.0  # a 1-minute load average above this per core: a shared, busy machine

#: The targets, in one place: (what is compared, the bound, its source).
TARGETS: dict[str, dict[str, Any]] = {
    "get_organization": {"text": "none: the ratio is reported", "source": "bench/README.md"},
    "item": {"ratio_at_least": 0.6, "text": "app/raw req/s ≥ 0.6", "source": "bench/README.md"},
    "search": {
        "server_p99_ms_at_most": 25.0,
        "worst_query_p50_ms_at_most": 10.0,
        "text": "computed (+nocache), 16 clients: server p99 ≤ 25 ms, every query's p50 ≤ 10 ms",
        "source": "issue 13",
    },
    "import": {
        "created_s_at_most": 5.0,
        "unchanged_s_at_most": 2.0,
        "text": "10,000 created ≤ 5 s; the same again (unchanged) ≤ 2 s",
        "source": "bench/README.md",
    },
    "settle": {
        "ratio_at_least": 0.25,
        "text": "settlements/s ÷ raw transfers/s ≥ 0.25",
        "source": "bench/README.md",
    },
    "totals": {
        "p50_ms_at_most": 20.0,
        "text": "server p50 ≤ 20 ms, every variant",
        "source": "bench/README.md",
    },
    "relevance": {
        "ndcg_at_least": 0.775,
        "text": "nDCG@10 overall ≥ 0.775 (the test's floor)",
        "source": "tests/search/test_relevance.py",
    },
    "matching": {
        "precision_at_least": 0.855,
        "recall_at_least": 0.96,
        "text": "precision@5 ≥ 0.855, recall@20 ≥ 0.96 (the test's floors)",
        "source": "tests/matching/test_quality.py",
    },
    "subscriptions": {
        "ratio_at_most": 1.2,
        "text": "with 10,000 subscriptions, import and publish ≤ 1.2 × without",
        "source": "issue 14",
    },
    "faults": {
        "recovery_s_at_most": 10.0,
        "text": "no 500; every acknowledged fund and settlement in the ledger exactly once;"
        " verify ok, balances sum 0; answering again ≤ 10 s after PostgreSQL is started"
        " (faults.py's --max-recovery default)",
        "source": "issue 17, bench/faults.py",
    },
    "mixed": {
        "errors_at_most": 0,
        "rss_mb_at_most": 250.0,
        "text": "0 errors; each worker's peak RSS ≤ 250 MB",
        "source": "issue 17",
    },
}

Row = tuple[str, str, str, str]  # figure, value, baseline (same run), verdict


def verdict(met: bool | None) -> str:
    return "—" if met is None else ("met" if met else "**missed**")


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS_DIR / f"{name}.json"
    if not path.exists():
        return None
    loaded = json.loads(path.read_text())
    return loaded if isinstance(loaded, dict) else None


def entries(results: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The runs of a results file: entries with their own ``measured_at``."""
    for key, entry in results.items():
        if isinstance(entry, dict) and "measured_at" in entry:
            yield key, entry


# --- one function per benchmark: its rows for one entry --------------------------------------


def get_organization_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    real, base = entry["real"], entry["baseline"]
    return [
        (
            f"real req/s (p50 / p99 ms), {entry['concurrency']} connections,"
            f" {entry['workers']} worker",
            f"{real['rps']} ({real['p50_ms']} / {real['p99_ms']})",
            f"bare FastAPI, same bytes: {base['rps']} ({base['p50_ms']} / {base['p99_ms']})",
            "—",
        ),
        ("real/baseline req/s", f"{entry['ratio_rps']}", "", "—"),
    ]


def item_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    app, raw = entry["median"]["app"], entry["median"]["raw"]
    ratio = entry["median"]["ratio_rps"]
    return [
        (
            f"app req/s, median of {len(entry['rounds'])} rounds (p50 / p99 ms; CPU µs/req)",
            f"{app['rps']} ({app['p50_ms']} / {app['p99_ms']}; {app['server_cpu_us_per_request']})",
            f"raw asyncpg: {raw['rps']} ({raw['p50_ms']} / {raw['p99_ms']};"
            f" {raw['server_cpu_us_per_request']})",
            "—",
        ),
        ("app/raw req/s", f"{ratio}", "", verdict(ratio >= TARGETS["item"]["ratio_at_least"])),
    ]


def search_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    target = TARGETS["search"]
    computed = entry.get("response_cache") == "off" and entry["concurrency"] == 16
    server = entry["server_overall"]
    worst = max(
        (query["server"]["p50_ms"], name)
        for name, query in entry["queries"].items()
        if query["server"].get("p50_ms") is not None
    )
    base = entry["baseline_client"]
    return [
        (
            f"searches/s; server p50 / p99 ms ({entry['concurrency']} clients,"
            f" {entry['workers']} worker(s), cache {entry.get('response_cache', 'on')})",
            f"{entry['searches_per_s']}; {server['p50_ms']} / {server['p99_ms']}",
            f"bare FastAPI, same clients: client p50 / p99 {base['p50_ms']} / {base['p99_ms']} ms",
            verdict(server["p99_ms"] <= target["server_p99_ms_at_most"] if computed else None),
        ),
        (
            "worst query's server p50 ms",
            f"{worst[0]} ({worst[1]})",
            "",
            verdict(worst[0] <= target["worst_query_p50_ms_at_most"] if computed else None),
        ),
    ]


def import_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    rows = []
    for phase, bound in (
        ("created", TARGETS["import"]["created_s_at_most"]),
        ("unchanged", TARGETS["import"]["unchanged_s_at_most"]),
        ("changed", None),
    ):
        figures = entry.get(phase)
        if figures is None:
            continue
        met = None if bound is None else (not figures["problems"] and figures["total_s"] <= bound)
        rows.append(
            (
                f"{phase}: {figures['items']} items in {figures['batches']} batch(es), s",
                f"{figures['total_s']} ({figures['items_per_s']} items/s)",
                "none measured",
                verdict(met),
            )
        )
    return rows


def settle_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    app, raw = entry["app"], entry["raw_transfer"]
    ratio = entry["ratio_settlements_to_raw_transfers"]
    rows = [
        (
            f"settlements/s, {entry['concurrency']} clients, {entry['workers']} worker(s)"
            " (pair p50 / p99 ms)",
            f"{app['settlements_per_s']} ({app['settlement_p50_ms']} / {app['settlement_p99_ms']})",
            f"raw double-entry transfer (asyncpg): {raw['transfers_per_s']}/s",
            "—",
        ),
        (
            "settlements/s ÷ raw transfers/s",
            f"{ratio}",
            "",
            verdict(ratio >= TARGETS["settle"]["ratio_at_least"]),
        ),
    ]
    if bare := entry.get("bare_http_transfer"):
        rows.append(
            (
                "ceiling: bare FastAPI pairs/s ÷ raw transfers/s",
                f"{entry['ceiling_ratio_bare_http_pairs_to_raw_transfers']}",
                f"bare FastAPI + raw transfer: {bare['pairs_per_s']} pairs/s",
                "—",
            )
        )
    return rows


def totals_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    bound = TARGETS["totals"]["p50_ms_at_most"]
    whole = [v for v in entry["variants"] if not v["from"] or "T" not in v["from"]]
    partial = [v for v in entry["variants"] if v["from"] and "T" in v["from"]]
    rows = []
    for label, variants in (
        ("whole buckets (kept totals)", whole),
        ("part buckets (from the entries)", partial),
    ):
        if not variants:
            continue
        worst = max(variants, key=lambda v: v["app_p50_ms"])
        rows.append(
            (
                f"{label}: worst server p50 ms of {len(variants)} variants,"
                f" {entry['ledger']['postings']:,} postings",
                f"{worst['app_p50_ms']} (group_by {worst['group_by']})",
                "none measured",
                verdict(worst["app_p50_ms"] <= bound),
            )
        )
    return rows


def relevance_rows(entry: dict[str, Any], results: dict[str, Any]) -> list[Row]:
    overall = entry["ndcg_at_10"]["overall"]
    ranking = entry.get("ranking", "")
    before = results.get(f"before:{entry_backend(entry, results)}")
    baseline = ""
    if before is not None and before is not entry:
        baseline = (
            f"ranking «before»: {before['ndcg_at_10']['overall']}"
            f" (measured {before['measured_at']})"
        )
    return [
        (
            f"nDCG@10 overall, {entry['queries']} judged queries, ranking «{ranking}»",
            f"{overall}",
            baseline,
            "— (the baseline)"
            if ranking == "before"
            else verdict(overall >= TARGETS["relevance"]["ndcg_at_least"]),
        )
    ]


def entry_backend(entry: dict[str, Any], results: dict[str, Any]) -> str:
    """The backend part of an entry's key (``after:sqlite`` → ``sqlite``)."""
    key = next(key for key, other in results.items() if other is entry)
    return key.rpartition(":")[2]


def matching_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    target = TARGETS["matching"]
    return [
        (
            f"precision@5 / recall@20, {entry['demands']} gold demands",
            f"{entry['precision_at_5']} / {entry['recall_at_20']}",
            "none measured",
            verdict(
                entry["precision_at_5"] >= target["precision_at_least"]
                and entry["recall_at_20"] >= target["recall_at_least"]
            ),
        )
    ]


def subscriptions_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    bound = TARGETS["subscriptions"]["ratio_at_most"]
    return [
        (
            f"import of {entry['batch_size']} with {entry['subscriptions']:,} subscriptions, s (×)",
            f"{entry['import_s_on']} (×{entry['import_ratio']})",
            f"subscriptions off: {entry['import_s_off']} s",
            verdict(entry["import_ratio"] <= bound),
        ),
        (
            "publish one item, p50 ms (×)",
            f"{entry['publish_ms_on']} (×{entry['publish_ratio']})",
            f"subscriptions off: {entry['publish_ms_off']} ms",
            verdict(entry["publish_ratio"] <= bound),
        ),
    ]


def faults_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    ledger = entry["ledger"]
    misplaced = (
        ledger["acknowledged_not_once_in_ledger"]
        + ledger["in_ledger_not_acknowledged"]
        + ledger["more_than_once"]
    )
    recovery = entry["recovery_seconds"]
    return [
        (
            f"500s among {entry['requests']} requests ({entry['status_503']} × 503 in the outage)",
            f"{entry['status_500']}",
            "none measured",
            verdict(entry["status_500"] == 0),
        ),
        (
            f"acknowledged operations not exactly once in the ledger (of {entry['acknowledged']})",
            f"{misplaced}; verify ok {ledger['verify_ok']}, balances sum {ledger['balances_sum']}",
            "",
            verdict(
                misplaced == 0 and ledger["verify_ok"] and Decimal(ledger["balances_sum"]) == 0
            ),
        ),
        (
            "seconds from asking PostgreSQL to start to a database read answered",
            f"{recovery}",
            "",
            verdict(recovery is not None and recovery <= TARGETS["faults"]["recovery_s_at_most"]),
        ),
    ]


def mixed_rows(entry: dict[str, Any], _all: dict[str, Any]) -> list[Row]:
    target = TARGETS["mixed"]
    peak = max(entry["peak_rss_mb"].values()) if entry["peak_rss_mb"] else None
    return [
        (
            f"errors, {entry['requests_per_s']} requests/s over {entry['duration_s']} s,"
            f" {entry['concurrency']} clients, {entry['workers']} workers",
            f"{entry['errors']}",
            "none measured",
            verdict(entry["errors"] <= target["errors_at_most"]),
        ),
        (
            "highest peak RSS of a worker, MB",
            f"{peak}",
            "",
            verdict(None if peak is None else peak <= target["rss_mb_at_most"]),
        ),
    ]


BENCHMARKS: list[tuple[str, str, str, Callable[[dict[str, Any], dict[str, Any]], list[Row]]]] = [
    (
        "get_organization",
        "get_organization",
        "GET /v1/organizations/{id} (bench_get.py)",
        get_organization_rows,
    ),
    ("item", "item", "GET /v1/technologies/{id} (bench_item.py)", item_rows),
    ("search", "search", "Search, 29-query mix (bench_search.py)", search_rows),
    ("import", "import", "Imports, 10 × 1,000 technologies (bench_import.py)", import_rows),
    ("settle", "settle", "Settlements: fund + settle (bench_settle.py)", settle_rows),
    ("totals", "totals", "Ledger totals (bench_totals.py)", totals_rows),
    ("relevance", "relevance", "Search relevance (relevance.py)", relevance_rows),
    ("matching", "matching", "Matching quality (matching.py)", matching_rows),
    (
        "subscriptions",
        "subscriptions",
        "Subscriptions' cost to a write (bench_subscriptions.py)",
        subscriptions_rows,
    ),
    ("mixed", "mixed", "Mixed load (bench_mixed.py)", mixed_rows),
    (
        "faults",
        "faults",
        "Faults: a worker killed, PostgreSQL stopped under fund/settle (faults.py)",
        faults_rows,
    ),
]


# --- the page -------------------------------------------------------------------------------


def when_and_where(entry: dict[str, Any]) -> str:
    machine = entry.get("machine", {})
    load_average = machine.get("load_average_1m_at_end")
    busy = ""
    if load_average is not None:
        cpus = machine.get("cpus") or 1
        busy = f", load {load_average}" + (
            " (busy)" if load_average > BUSY_LOAD_PER_CPU * cpus else ""
        )
    return f"{entry['measured_at']}{busy}"


def benchmark_section(
    title: str, name: str, results: dict[str, Any] | None, rows_of: Any
) -> list[str]:
    target = TARGETS[name]
    lines = [f"### {title}", "", f"Target: {target['text']} ({target['source']}).", ""]
    if results is None:
        return [*lines, f"No figures: `bench/results/{name}.json` does not exist.", ""]
    lines += [
        "| entry | measured (UTC) | figure | value | baseline, same run | target |",
        "|---|---|---|---|---|---|",
    ]
    for key, entry in entries(results):
        try:
            rows = rows_of(entry, results)
        except (KeyError, TypeError, ValueError) as error:
            rows = [("unreadable entry", f"missing {error}", "", "—")]
        for figure, value, baseline, met in rows:
            lines.append(
                f"| {key} | {when_and_where(entry)} | {figure} | {value} | {baseline} | {met} |"
            )
    return [*lines, ""]


def mixed_section(results: dict[str, Any] | None) -> list[str]:
    lines = ["## The mixed load, per operation", ""]
    if results is None:
        return [*lines, "No figures: `bench/results/mixed.json` does not exist.", ""]
    for key, entry in entries(results):
        lines += [
            f"**{key}**, measured {when_and_where(entry)}: {entry['workers']} workers,"
            + "".join(f" {name}={value}," for name, value in entry.get("environment", {}).items())
            + f" {entry['concurrency']} clients, {entry['duration_s']} s after a"
            f" {entry['warmup_s']} s warm-up, the `{entry['seed_scale']}` demo dataset"
            f" (prepared in {sum(entry['preparation_s'].values()):.1f} s);"
            f" {entry['requests_per_s']} requests/s, {entry['errors']} errors."
            " Latency as the client sees it, in ms.",
            "",
            "| operation | requests | errors | per s | p50 ms | p99 ms |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name, figures in entry["operations"].items():
            lines.append(
                f"| {name} | {figures['requests']} | {figures['errors']} | {figures['per_s']}"
                f" | {figures['p50_ms']} | {figures['p99_ms']} |"
            )
        lines += [
            "",
            "| worker (pid) | RSS when the load began, MB | highest sampled, MB"
            " | peak (VmHWM), MB |",
        ]
        lines.append("|---|---:|---:|---:|")
        for pid, memory in entry.get("memory_mb", {}).items():
            lines.append(
                f"| {pid} | {memory['rss_at_start_mb']} | {memory['rss_max_sampled_mb']}"
                f" | {memory['peak_rss_mb']} |"
            )
        lines.append("")
    return lines


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}{key}.")
    elif isinstance(value, (int, float, str, bool)) or value is None:
        yield prefix.rstrip("."), value


def faults_section(results: dict[str, Any] | None) -> list[str]:
    lines = ["## Faults (`make faults`), every figure", ""]
    if results is None:
        return [
            *lines,
            "No figures: `bench/results/faults.json` does not exist (run `make faults`).",
            "",
        ]
    for key, entry in entries(results):
        lines += [
            f"**{key}**, measured {when_and_where(entry)}:",
            "",
            "| figure | value |",
            "|---|---|",
        ]
        for name, value in _flatten(
            {k: v for k, v in entry.items() if k not in ("measured_at", "machine")}
        ):
            text = str(value)
            if len(text) > 120:
                continue  # log lines; they stay in the JSON
            lines.append(f"| {name} | {text.replace('|', '/')} |")
        lines.append("")
    return lines


def runs_section(results: dict[str, Any] | None) -> list[str]:
    lines = ["## The last `make bench`", ""]
    if results is None:
        return [*lines, "No record: `bench/results/run.json` does not exist.", ""]
    for key, entry in entries(results):
        lines += [
            f"**{key}**, finished {when_and_where(entry)}, {entry['seconds']} s in all:",
            "",
            "| benchmark | status | seconds |",
            "|---|---|---:|",
        ]
        for name, status in entry["benchmarks"].items():
            lines.append(f"| {name} | {status['status']} | {status.get('seconds', '')} |")
        lines.append("")
    return lines


def machines(all_results: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, int] = {}
    for results in all_results:
        for _key, entry in entries(results):
            machine = entry.get("machine", {})
            platform = machine.get("platform", "platform not recorded")
            name = f"{machine.get('cpus')} CPUs, Python {machine.get('python')}, {platform}"
            seen[name] = seen.get(name, 0) + 1
    return [f"- {name}: {count} entries" for name, count in seen.items()]


def render() -> str:
    loaded = {name: load(name) for name, *_ in BENCHMARKS}
    faults = loaded["faults"]
    present = [results for results in loaded.values() if results is not None]
    busy = [
        f"{name}/{key}"
        for name, results in loaded.items()
        if results is not None
        for key, entry in entries(results)
        if (entry.get("machine", {}).get("load_average_1m_at_end") or 0)
        > BUSY_LOAD_PER_CPU * (entry.get("machine", {}).get("cpus") or 1)
    ]
    lines = [
        "# Benchmark results",
        "",
        "Written by `bench/report.py` (`make bench` runs it last) from `bench/results/*.json`:"
        " only the figures those files hold, each with the time it was measured. A benchmark"
        " that `make bench` did not run this time keeps its last recorded figures, with their"
        " older date. Targets are `TARGETS` in `bench/report.py`; how each benchmark works and"
        " what its figures mean is in `bench/README.md`.",
        "",
        "Machines the figures were taken on:",
        "",
        *machines(present),
        "",
    ]
    if busy:
        lines += [
            "**Taken on a shared, loaded machine**: the 1-minute load average was above one per"
            f" core at the end of {', '.join(busy)} (marked *busy* below); other engineers' test"
            " runs shared the cores, so absolute figures are low and noisy. Ratios against a"
            " baseline from the same run hold up better.",
            "",
        ]
    lines += runs_section(load("run"))
    lines += ["## Each benchmark beside its target", ""]
    for name, file, title, rows_of in BENCHMARKS:
        lines += benchmark_section(title, file, loaded[name], rows_of)
    lines += mixed_section(loaded["mixed"])
    lines += faults_section(faults)
    covered = {f"{name}.json" for name in [*loaded, "run"]}
    others = sorted(path.name for path in RESULTS_DIR.glob("*.json") if path.name not in covered)
    if others:
        lines += [
            "## Other results files",
            "",
            "Kept in `bench/results/` without a target, described in `bench/README.md`: "
            + ", ".join(f"`{name}`" for name in others)
            + ".",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    REPORT.write_text(render())
    print(f"wrote {REPORT.relative_to(BENCH_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
