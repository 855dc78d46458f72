"""A PostgreSQL cluster of a test's own, to stop and start: outages without touching the
shared server (Debian's ``pg_createcluster``/``pg_ctlcluster``; root or the postgres user).

Used by tests/core/test_outage.py and bench/faults.py (``make faults``).
"""

import os
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg


class ClusterUnavailable(Exception):
    """This machine cannot make a cluster of our own (no pg_createcluster, or not allowed)."""


def _free_port() -> int:
    """A free port below the ephemeral range: while the cluster is stopped, no outgoing
    connection can take its port as a source port and keep it from starting again."""
    for _ in range(200):
        port = random.randrange(20_000, 32_000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise ClusterUnavailable("no free port for a cluster")


def _version() -> str:
    versions = sorted(
        (p.name for p in Path("/usr/lib/postgresql").glob("*") if p.name.isdigit()), key=int
    )
    if not versions:
        raise ClusterUnavailable("no PostgreSQL server under /usr/lib/postgresql")
    return versions[-1]


class PostgresCluster:
    """One cluster (``pg_createcluster VERSION NAME``) on 127.0.0.1:``port``, trust auth."""

    def __init__(self, version: str, name: str, port: int) -> None:
        self.version, self.name, self.port = version, name, port

    def _ctl(self, action: str, *extra: str) -> None:
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action]
        done = subprocess.run(
            [*command, *extra], capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)}: {(done.stdout + done.stderr)[-1500:]}")

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends every session (what an operator's restart does)."""
        self._ctl("stop", "-m", mode)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    async def create_database(self, name: str) -> str:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres"
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)

    def wait_until_up(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"cluster {self.name} did not start listening on {self.port}")


@contextmanager
def own_cluster(label: str, *, fsync: bool = False) -> Iterator[PostgresCluster]:
    """A new cluster, started, dropped (stopped first) when the block ends; without
    ``fsync`` (scratch data, faster) unless asked.

    Raises :class:`ClusterUnavailable` when this machine cannot make one, so that a test can
    skip with the reason."""
    if shutil.which("pg_createcluster") is None or shutil.which("pg_ctlcluster") is None:
        raise ClusterUnavailable("pg_createcluster is not installed (Debian's postgresql-common)")
    if os.geteuid() != 0:
        import pwd

        if pwd.getpwuid(os.geteuid()).pw_name != "postgres":
            raise ClusterUnavailable("pg_createcluster needs root or the postgres user")
    version = _version()
    cluster = PostgresCluster(version, f"innoshare_{label}_{uuid.uuid4().hex[:8]}", _free_port())
    created = subprocess.run(
        [
            "pg_createcluster",
            version,
            cluster.name,
            "-p",
            str(cluster.port),
            "-o",
            f"fsync={'on' if fsync else 'off'}",
            "--",
            "--auth=trust",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if created.returncode != 0:
        raise ClusterUnavailable(f"pg_createcluster failed: {created.stderr.strip()[-500:]}")
    try:
        cluster.start()
        cluster.wait_until_up()
        yield cluster
    finally:
        subprocess.run(
            ["pg_dropcluster", "--stop", version, cluster.name],
            capture_output=True,
            timeout=120,
            check=False,
        )
