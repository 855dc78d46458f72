"""Merging one run's figures into a results file under bench/results/, keyed by backend."""

import json
from pathlib import Path
from typing import Any


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
