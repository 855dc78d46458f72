"""Settings refuse unsafe production configurations."""

import pytest
from pydantic import ValidationError

from app.core.config import Settings, normalize_database_url


def test_production_refuses_to_start_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INNOSHARE_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="INNOSHARE_SECRET_KEY"):
        Settings(env="production")
    with pytest.raises(ValidationError, match="INNOSHARE_SECRET_KEY"):
        Settings(env="production", secret_key="short")
    ok = Settings(env="production", secret_key="s" * 40)
    assert ok.signing_key() == "s" * 40


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INNOSHARE_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]
    monkeypatch.setenv("INNOSHARE_CORS_ORIGINS", "*")
    with pytest.raises(ValidationError, match="'\\*' is not accepted"):
        Settings()


def test_database_urls_get_async_drivers() -> None:
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_database_url("postgres://u@h/db") == "postgresql+asyncpg://u@h/db"
    assert normalize_database_url("sqlite:///./var/x.db") == "sqlite+aiosqlite:///./var/x.db"
    assert normalize_database_url("postgresql+asyncpg://u@h/db") == "postgresql+asyncpg://u@h/db"


def test_development_secret_is_generated_once_and_kept(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    from pathlib import Path

    from app.core import config

    assert isinstance(tmp_path, Path)
    monkeypatch.setattr(config, "DEV_SECRET_FILE", tmp_path / "secret_key")
    config._development_secret.cache_clear()
    try:
        first = Settings(env="development").signing_key()
        config._development_secret.cache_clear()
        second = Settings(env="development").signing_key()
        assert first == second
        assert len(first) >= 32
        assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    finally:
        config._development_secret.cache_clear()


def test_time_zone_and_deal_rates_are_checked_at_start() -> None:
    assert Settings(timezone="UTC").timezone == "UTC"
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(timezone="Mars/Olympus_Mons")
    rates = {"development": 300, "transfer": 300, "license": 300, "consulting": 500, "service": 500}
    assert Settings(deal_fee_rate_bp=rates).deal_fee_rate_bp["service"] == 500
    with pytest.raises(ValidationError, match="rate for each"):
        Settings(deal_fee_rate_bp={"development": 300})
    with pytest.raises(ValidationError, match="basis points"):
        Settings(deal_tax_rate_bp={**rates, "service": 9000})


def test_development_secret_made_by_several_processes_at_once_is_one_private_key(
    tmp_path: object,
) -> None:
    """Eight processes start at once on a machine with no key yet, under umask 000: they all
    use the same key, and the file was created private (no chmod afterwards to race)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("INNOSHARE_SECRET_KEY", None)
    script = (
        "from app.core.config import Settings; print(Settings(env='development').signing_key())"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=env,
            umask=0,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    keys = {process.communicate(timeout=60)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    path = tmp_path / "var" / "secret_key"
    assert keys == {path.read_text()}
    assert len(path.read_text()) >= 32
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret_key"]  # no drafts left
