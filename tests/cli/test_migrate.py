"""``innoshare migrate`` at a deployment's start: replicas migrating at once take turns, and
the first admin comes from the environment and a password file (a Docker secret)."""

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from app.core.db import create_engine
from app.core.migrations import CURRENT_REVISIONS, head_revisions
from app.core.security import Role, verify_password
from app.models import Base
from app.models.auth import User
from tests.cli.runner import COMMAND, PROJECT_ROOT, assert_one_line, environment, innoshare

ADMIN = "root@innoshare.test"
PASSWORD = "correct horse battery staple"


def _bootstrap_env(url: str, password_file: Path) -> dict[str, str]:
    return {
        **environment(url),
        "INNOSHARE_BOOTSTRAP_ADMIN_EMAIL": ADMIN,
        "INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE": str(password_file),
    }


async def _state(url: str) -> tuple[set[str], set[str], list[tuple[str, Role, str]]]:
    """The tables, the versions recorded, and the users (email, role, password hash)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            tables = set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
            versions = set((await connection.execute(CURRENT_REVISIONS)).scalars())
            users = [
                (row.email, row.role, row.password_hash)
                for row in await connection.execute(
                    select(User.email, User.role, User.password_hash)
                )
            ]
    finally:
        await engine.dispose()
    return tables, versions, users


def test_replicas_migrating_at_once_take_turns(tmp_path: Path, fresh_database_url: str) -> None:
    """Four processes at once on a fresh database, each with the bootstrap admin set: all
    succeed, one of them runs the migrations, the schema is at head, and there is one admin."""
    password_file = tmp_path / "admin_password"
    password_file.write_text(PASSWORD + "\n")
    processes = [
        subprocess.Popen(
            [*COMMAND, "migrate"],
            env=_bootstrap_env(fresh_database_url, password_file),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr + stdout
        assert PASSWORD not in stdout + stderr
    first_revision = sorted(Path(PROJECT_ROOT, "app/migrations/versions").glob("*-0001_*.py"))
    assert first_revision, "the first migration is where the test expects it"
    upgraded = [
        stdout
        for stdout, _ in outputs
        if any(
            json.loads(line).get("message", "").startswith("Running upgrade  -> 0001")
            for line in stdout.splitlines()
            if line.startswith("{")
        )
    ]
    assert len(upgraded) == 1, [stdout for stdout, _ in outputs]
    created = [stdout for stdout, _ in outputs if f"created the admin {ADMIN}" in stdout]
    assert len(created) == 1

    tables, versions, users = asyncio.run(_state(fresh_database_url))
    assert tables - {"alembic_version"} == set(Base.metadata.tables)
    assert versions == set(head_revisions())
    assert [(email, role) for email, role, _ in users] == [(ADMIN, Role.admin)]


def test_the_bootstrap_admin_is_made_once_and_never_changed(
    tmp_path: Path, fresh_database_url: str
) -> None:
    password_file = tmp_path / "admin_password"
    password_file.write_text(PASSWORD + "\n")
    env = _bootstrap_env(fresh_database_url, password_file)
    first = subprocess.run(
        [*COMMAND, "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert first.returncode == 0, first.stderr
    assert f"created the admin {ADMIN}" in first.stdout
    _, _, [(_, _, password_hash)] = asyncio.run(_state(fresh_database_url))
    assert asyncio.run(verify_password(password_hash, PASSWORD))  # the newline is not in it

    password_file.write_text("another password, quite long\n")
    again = subprocess.run(
        [*COMMAND, "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert "an admin exists" in again.stdout
    _, _, users = asyncio.run(_state(fresh_database_url))
    assert [(email, hashed) for email, _, hashed in users] == [(ADMIN, password_hash)]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ["INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE", "cannot be read", "No such file"]),
        ("short\n", ["INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE", "too weak", "12 characters"]),
        ("", ["INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE", "too weak"]),
    ],
    ids=["missing", "short", "empty"],
)
def test_a_bad_password_file_is_refused_before_anything_changes(
    tmp_path: Path, content: str | None, words: list[str]
) -> None:
    password_file = tmp_path / "admin_password"
    if content is not None:
        password_file.write_text(content)
    database = tmp_path / "var" / "x.db"
    result = subprocess.run(
        [*COMMAND, "migrate"],
        env=_bootstrap_env(f"sqlite:///{database}", password_file),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line(result, *words)
    assert not (content or "").strip() or content.strip() not in result.stderr  # no password
    assert not database.exists()


def test_bootstrap_settings_go_together(tmp_path: Path) -> None:
    result = innoshare(f"sqlite:///{tmp_path}/x.db", "migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    env = {**environment(f"sqlite:///{tmp_path}/x.db"), "INNOSHARE_BOOTSTRAP_ADMIN_EMAIL": ADMIN}
    lonely = subprocess.run(
        [*COMMAND, "migrate"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert_one_line(lonely, "INNOSHARE_BOOTSTRAP_ADMIN_PASSWORD_FILE", "set both or neither")
