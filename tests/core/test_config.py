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
