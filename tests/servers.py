"""Real uvicorn processes for tests that need several of them: 127.0.0.1 only, self-stopping."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LIFETIME_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_servers(
    count: int,
    env: Mapping[str, str],
    *,
    log: Path | None = None,
    serve: bool = False,
    lifetime: int = LIFETIME_SECONDS,
) -> Iterator[list[str]]:
    """Start ``count`` API processes sharing one database; yield their base URLs. With
    ``log``, their standard output (the app's JSON log lines) is appended to that file.
    ``serve``: started as production starts them, by ``innoshare serve`` (its uvicorn
    options). Each stops itself after ``lifetime`` seconds whatever happens to the test."""
    processes: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    stdout = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        for _ in range(count):
            port = free_port()
            command = [
                "timeout",
                str(lifetime),  # never outlive the test run
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ]
            if serve:
                command[3:] = ["-c", "from app.cli import main; main()", "serve"]
                command += ["--host", "127.0.0.1", "--port", str(port)]
            processes.append(
                subprocess.Popen(
                    command,
                    cwd=PROJECT_ROOT,
                    env={**os.environ, **env},
                    stdout=stdout,
                    stderr=subprocess.PIPE,
                )
            )
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, processes, strict=True):
            _wait_until_up(url, process)
        yield urls
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if log is not None and not isinstance(stdout, int):
            stdout.close()


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"server at {url} exited: {stderr[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start")
