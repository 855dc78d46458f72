"""The README's worked example runs as written (issue 16).

Its shell blocks run verbatim, in order, in one bash process (``set -euo pipefail``: an
undefined variable or a failing command stops it), against a server on a freshly migrated
and seeded database, as ``make run`` would serve it; only the base URL is rewritten. A
``curl`` first on ``PATH`` logs every answer's status; any answer that is not 2xx must be one
the README marks as expected (``# → 409`` at the end of the command).

It runs on each backend (a fresh database of its own: a file in the test's directory, or a
new PostgreSQL database when TEST_DATABASE_URL is set): ``make run`` serves SQLite, a
deployment PostgreSQL, and the example must hold on both.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.cli.runner import PROJECT_ROOT, innoshare
from tests.conftest import TEST_SECRET
from tests.servers import running_servers

README = PROJECT_ROOT / "README.md"
SECTION = "## A worked example"
README_BASE = "http://127.0.0.1:8000"
EXPECTED = re.compile(r"#\s*→\s*(\d{3})\s*$")
URL = re.compile(r"https?://[^\s'\"]+")
VARIABLE = re.compile(r"\\\$(?:\\\{[A-Za-z_]+\\\}|[A-Za-z_][A-Za-z0-9_]*)")
SCRIPT_SECONDS = 120

#: Logs each call's status, method and URL, and keeps its headers and body, numbered.
CURL_WRAPPER = r"""#!/usr/bin/env bash
log="$README_CURL_LOG"; dir="$log.d"; mkdir -p "$dir"
n=$(( $(wc -l < "$log") + 1 ))
"$README_REAL_CURL" -D "$dir/$n.headers" -o "$dir/$n.body" "$@"; rc=$?
[ -f "$dir/$n.body" ] && cat "$dir/$n.body"
status=$(grep -a '^HTTP/' "$dir/$n.headers" 2>/dev/null | tail -n 1 | cut -d ' ' -f 2)
method=GET; url=; previous=
for arg in "$@"; do
  [ "$previous" = -X ] && method=$arg
  case $arg in http://*|https://*) url=$arg ;; esac
  previous=$arg
done
printf '%s\t%s\t%s\n' "${status:-none}" "$method" "$url" >> "$log"
exit $rc
"""


@dataclass(frozen=True, slots=True)
class Call:
    number: int
    status: str
    method: str
    path: str
    body: str

    def json(self) -> Any:
        return json.loads(self.body)


def worked_example() -> list[str]:
    """The ```sh blocks of the README's worked example, in order."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.DOTALL | re.MULTILINE)


def commands(block: str) -> list[str]:
    """The block's commands, each with its continuation lines joined."""
    joined: list[str] = []
    current = ""
    for line in block.splitlines():
        current += line
        if line.endswith("\\"):
            current = current[:-1]
        else:
            joined.append(current)
            current = ""
    return joined


def expected_errors(blocks: list[str]) -> list[tuple[re.Pattern[str], str]]:
    """(path pattern, status) of each command the README marks as failing on purpose."""
    marked = []
    for block in blocks:
        for command in commands(block):
            if not (match := EXPECTED.search(command)):
                continue
            url = URL.search(command)
            assert url is not None, f"an expected error without a URL: {command}"
            path = url.group(0).removeprefix(README_BASE).split("?")[0]
            marked.append((re.compile(VARIABLE.sub("[^/?]+", re.escape(path))), match.group(1)))
    return marked


def _path(url: str, base: str) -> str:
    return url.removeprefix(base).split("?")[0]


def test_the_readme_blocks_are_found() -> None:
    blocks = worked_example()
    assert len(blocks) == 2
    assert len(expected_errors(blocks)) == 2  # not-a-uuid, an award before the deadline


async def test_the_worked_example_runs_as_written(fresh_database_url: str, tmp_path: Path) -> None:
    url = fresh_database_url
    assert innoshare(url, "migrate", cwd=tmp_path).returncode == 0
    seeded = innoshare(url, "seed", "--scale", "small", cwd=tmp_path)
    assert seeded.returncode == 0, seeded.stderr

    # The README calls `.venv/bin/innoshare` from the project's directory: here, this
    # checkout's command, from the directory that holds the seed's var/demo-accounts.
    shim = tmp_path / ".venv" / "bin" / "innoshare"
    shim.parent.mkdir(parents=True)
    command = f"exec {sys.executable} -c 'from app.cli import main; main()'"
    shim.write_text(f'#!/bin/sh\n{command} "$@"\n')
    wrappers = tmp_path / "wrappers"
    wrappers.mkdir()
    (wrappers / "curl").write_text(CURL_WRAPPER)
    for executable in (shim, wrappers / "curl"):
        executable.chmod(executable.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "curl.log"
    log.touch()
    real_curl = shutil.which("curl")
    assert real_curl is not None

    blocks = worked_example()
    env = {
        "INNOSHARE_DATABASE_URL": url,
        "INNOSHARE_SECRET_KEY": TEST_SECRET,
        "INNOSHARE_LOG_LEVEL": "WARNING",
    }
    with running_servers(1, env) as (base,):
        script = "set -euo pipefail\n" + "\n".join(blocks).replace(README_BASE, base)
        started = time.monotonic()
        ran = subprocess.run(
            ["bash", "-c", script],
            cwd=tmp_path,
            env={
                **os.environ,
                **env,
                "PYTHONPATH": str(PROJECT_ROOT),
                "PATH": f"{wrappers}:{os.environ['PATH']}",
                "README_CURL_LOG": str(log),
                "README_REAL_CURL": real_curl,
            },
            capture_output=True,
            text=True,
            timeout=SCRIPT_SECONDS,
        )
        seconds = time.monotonic() - started
    assert ran.returncode == 0, f"{ran.stderr[-3000:]}\n--- stdout:\n{ran.stdout[-3000:]}"

    calls = []
    for number, line in enumerate(log.read_text().splitlines(), start=1):
        status, method, called = line.split("\t")
        body_file = Path(f"{log}.d") / f"{number}.body"
        body = body_file.read_text() if body_file.exists() else ""
        calls.append(Call(number, status, method, _path(called, base), body))
    marked = expected_errors(blocks)
    for call in calls:
        if call.status.startswith("2"):
            continue
        matches = [status for pattern, status in marked if pattern.fullmatch(call.path)]
        assert call.status in matches, f"unexpected {call.status}: {call}"
    for pattern, status in marked:
        assert any(pattern.fullmatch(c.path) and c.status == status for c in calls), (
            f"the README expects {status} from {pattern.pattern}; it did not happen"
        )

    def answers(method: str, path: str) -> list[Call]:
        return [c for c in calls if c.method == method and re.fullmatch(path, c.path)]

    # The searches it shows find something in the demo data.
    for path in ("/v1/technologies", "/v1/policies", "/v1/demands"):
        for call in answers("GET", path):
            assert call.json()["items"], f"{path}: nothing found"
    assert answers("GET", "/v1/search")[0].json()["items"]
    # The award of a closed demand opened a deal.
    award = answers("POST", "/v1/demands/[^/]+/proposals/[^/]+/award")
    assert award[-1].status.startswith("2")
    assert award[-1].json()["deal_id"]
    # The deal from a listing was settled at the figures the text states.
    (settled,) = answers("POST", "/v1/deals/[^/]+/settle")
    deal = settled.json()
    assert deal["status"] == "settled"
    assert (deal["fee_amount"], deal["tax_amount"]) == ("11400.00", "41800.00")
    assert answers("POST", "/v1/payouts")
    (verified,) = answers("GET", "/v1/ledger/verify")
    assert verified.json()["ok"] is True
    assert (tmp_path / "ledger.beancount").read_text().strip()
    assert seconds < SCRIPT_SECONDS
