"""``innoshare create-user`` takes the password from a hidden prompt or stdin, not only argv."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import get_settings
from tests.cli.runner import assert_one_line, innoshare
from tests.conftest import TEST_SECRET

PASSWORD = "correct-horse-battery"


@pytest.fixture
def settings_of(migrated_fresh_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The in-process CLI pointed at a migrated database of its own."""
    monkeypatch.setenv("INNOSHARE_DATABASE_URL", migrated_fresh_database_url)
    monkeypatch.setenv("INNOSHARE_SECRET_KEY", TEST_SECRET)
    get_settings.cache_clear()
    yield migrated_fresh_database_url
    get_settings.cache_clear()


def test_the_password_is_asked_hidden_and_twice(settings_of: str) -> None:
    result = CliRunner().invoke(
        cli,
        ["create-user", "--email", "admin@zone.gov.cn", "--role", "admin"],
        input=f"{PASSWORD}\nmistyped-password\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden
    assert "Repeat for confirmation" in result.output
    assert "do not match" in result.output  # asked again after a mismatch
    assert "created admin admin@zone.gov.cn" in result.output


def test_the_password_from_stdin(settings_of: str, tmp_path: Path) -> None:
    created = innoshare(
        settings_of,
        "create-user",
        "--email",
        "ops@zone.gov.cn",
        "--role",
        "operator",
        "--password-stdin",
        stdin=f"{PASSWORD}\n",
        cwd=tmp_path,
    )
    assert created.returncode == 0, created.stderr
    assert "created operator ops@zone.gov.cn" in created.stdout

    short = innoshare(
        settings_of,
        "create-user",
        "--email",
        "x@zone.gov.cn",
        "--password-stdin",
        stdin="short\n",
        cwd=tmp_path,
    )
    assert_one_line(short, "12 characters")
