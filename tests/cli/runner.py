"""Run this checkout's ``innoshare`` command in a subprocess, as an operator would."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-c", "from app.cli import main; main()"]


def environment(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "INNOSHARE_DATABASE_URL": url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "PYTHONPATH": str(PROJECT_ROOT),
    }


def innoshare(
    url: str, *args: str, cwd: Path | None = None, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``innoshare ARGS`` against ``url``, from ``cwd`` (where its ``var/`` goes)."""
    return subprocess.run(
        [*COMMAND, *args],
        env=environment(url),
        cwd=cwd or PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """A refusal: a non-zero exit and one line on stderr naming each of ``words``."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
