"""``innoshare serve`` will not start on a database it cannot answer from."""

import sqlite3
import subprocess
import time
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.cli.runner import COMMAND, assert_one_line, environment


def _serve(url: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        ["timeout", "30", *COMMAND, "serve", "--port", "0"],
        env=environment(url),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, time.monotonic() - started


def test_serve_refuses_an_unmigrated_database(tmp_path: Path, fresh_database_url: str) -> None:
    if fresh_database_url.startswith("sqlite"):
        with closing(sqlite3.connect(make_url(fresh_database_url).database or "")) as connection:
            connection.execute("CREATE TABLE unrelated (x INTEGER)")
    result, seconds = _serve(fresh_database_url, tmp_path)
    assert result.returncode not in (0, 124)  # 124: still serving when timeout stopped it
    assert seconds < 20
    assert_one_line(result, "not migrated", "run 'innoshare migrate'")


def test_serve_refuses_a_missing_sqlite_database(tmp_path: Path) -> None:
    result, _ = _serve(f"sqlite:///{tmp_path}/x.db", tmp_path)
    assert_one_line(result, "no SQLite database", "innoshare migrate")
    assert list(tmp_path.iterdir()) == []
