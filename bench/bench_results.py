"""Merging one run's figures into a results file under bench/results/, keyed by backend."""

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def run_header(*, load_average: bool = False) -> dict[str, Any]:
    """When and on what a run was measured: the first keys of every results entry (with the
    1-minute load average at the end, where a busy machine would explain the figures)."""
    machine: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if load_average:
        machine["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    return {"measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine}


def merge_results(path: Path, key: str, entry: dict[str, Any]) -> None:
    """Put ``entry`` under ``key`` in the JSON object in ``path``, keeping the other keys.

    Written to a temporary file first and renamed, so an interrupted run never leaves half
    a file behind. An unreadable file is started again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
        except json.JSONDecodeError:
            loaded = {}
        if isinstance(loaded, dict):
            results = loaded
    results[key] = entry
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    partial.replace(path)
