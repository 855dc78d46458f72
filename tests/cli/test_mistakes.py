"""A wrong step in the CLI ends in one line that says what to run, and leaves nothing behind."""

import os
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.core.config import normalize_database_url
from tests.cli.runner import COMMAND, assert_one_line, environment, innoshare
from tests.conftest import TEST_DATABASE_URL

COMMANDS = [
    ("seed", "--scale", "small"),
    ("create-user", "--email", "a@b.cn", "--password", "a-long-enough-password"),
]


def _files(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def _empty_sqlite_file(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE unrelated (x INTEGER)")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("sqlite:///{tmp}/x.db", ["no SQLite database", "innoshare migrate"]),
        ("sqlite:///{tmp}/missing/x.db", ["directory", "is missing", "innoshare migrate"]),
        ("not a url", ["not a database URL", "INNOSHARE_DATABASE_URL"]),
        ("mysql://root:pw@127.0.0.1/x", ["SQLite or PostgreSQL"]),
        ("postgresql://postgres@127.0.0.1:1/x", ["connection refused", "start PostgreSQL"]),
    ],
    ids=["sqlite-file", "sqlite-directory", "malformed", "other-backend", "refused"],
)
def test_a_wrong_database_url_is_one_line(
    tmp_path: Path, url: str, words: list[str], command: tuple[str, ...]
) -> None:
    before = _files(tmp_path)
    result = innoshare(url.format(tmp=tmp_path), *command, cwd=tmp_path)
    assert_one_line(result, *words)
    assert "Traceback" not in result.stderr
    assert _files(tmp_path) == before  # no x.db, no var/


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_unmigrated_database_is_refused_in_one_line(
    tmp_path: Path, fresh_database_url: str, command: tuple[str, ...]
) -> None:
    """seed refuses rather than migrating: a schema change is the operator's own step."""
    if fresh_database_url.startswith("sqlite"):
        _empty_sqlite_file(Path(make_url(fresh_database_url).database or ""))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    before = _files(tmp_path)
    result = innoshare(fresh_database_url, *command, cwd=cwd)
    assert_one_line(result, "not migrated", "run 'innoshare migrate'")
    assert _files(tmp_path) == before


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = innoshare(f"sqlite:///{tmp_path}/x.db", "--debug", "seed", cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "DatabaseProblem" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_demo_accounts_of_a_malformed_url_is_one_line(tmp_path: Path) -> None:
    result = innoshare("not a url", "demo-accounts", cwd=tmp_path)
    assert_one_line(result, "not a database URL")


@pytest.mark.postgres_only
def test_a_missing_postgresql_database_is_one_line(tmp_path: Path) -> None:
    url = make_url(normalize_database_url(TEST_DATABASE_URL or "")).set(
        database=f"cli16_absent_{os.getpid()}"
    )
    for command in (("migrate",), *COMMANDS):
        result = innoshare(url.render_as_string(hide_password=False), *command, cwd=tmp_path)
        assert_one_line(result, "has no database", "createdb", "innoshare migrate")
    assert list(tmp_path.iterdir()) == []


def test_migrate_creates_a_missing_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "var" / "new.db"
    result = innoshare(f"sqlite:///{path}", "migrate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert path.exists()


@pytest.mark.parametrize(
    ("variables", "command", "words"),
    [
        ({"INNOSHARE_WORKERS": "abc"}, "serve", ["INNOSHARE_WORKERS", "valid integer", "'abc'"]),
        ({"INNOSHARE_CORS_ORIGINS": "*"}, "serve", ["INNOSHARE_CORS_ORIGINS", "'*'"]),
        (
            {"INNOSHARE_ENV": "production", "INNOSHARE_SECRET_KEY": "short"},
            "migrate",
            ["INNOSHARE_SECRET_KEY must be set", "INNOSHARE_ENV=production"],
        ),
        ({"INNOSHARE_ENV": "prod"}, "seed", ["INNOSHARE_ENV", "'production'", "'prod'"]),
        ({"INNOSHARE_DEAL_FEE_RATE_BP": "{x"}, "serve", ["INNOSHARE_DEAL_FEE_RATE_BP", "JSON"]),
        (
            {"INNOSHARE_TIMEZONE": "Mars/Base", "INNOSHARE_ACCESS_TOKEN_TTL_SECONDS": "5"},
            "worker",
            ["INNOSHARE_TIMEZONE", "unknown time zone", "INNOSHARE_ACCESS_TOKEN_TTL_SECONDS"],
        ),
        (
            {"INNOSHARE_METRICS_TOKEN": "a-short-secret"},
            "serve",
            ["INNOSHARE_METRICS_TOKEN", "16+ characters"],
        ),
    ],
    ids=["workers", "cors", "production-secret", "env", "json", "two-at-once", "metrics-token"],
)
def test_a_wrong_setting_is_one_line_naming_it(
    tmp_path: Path, variables: dict[str, str], command: str, words: list[str]
) -> None:
    env = {**environment(f"sqlite:///{tmp_path}/x.db"), **variables}
    result = subprocess.run(
        [*COMMAND, command], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert_one_line(result, *words)
    assert "Traceback" not in result.stderr
    assert "a-short-secret" not in result.stderr  # a secret's value is never shown
    assert list(tmp_path.iterdir()) == []


def test_debug_shows_a_wrong_setting_s_traceback(tmp_path: Path) -> None:
    env = {**environment(f"sqlite:///{tmp_path}/x.db"), "INNOSHARE_WORKERS": "abc"}
    result = subprocess.run(
        [*COMMAND, "--debug", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "ValidationError" in result.stderr
