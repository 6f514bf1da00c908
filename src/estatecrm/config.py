"""Application settings, read from the environment (and an optional `.env`)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"
DEFAULT_SQLITE_PATH = Path("var") / "estatecrm.db"


def to_async_url(url: str) -> str:
    """Map plain `postgresql://` and `sqlite:///` URLs to their async drivers."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+psycopg2://") or url.startswith("postgresql+psycopg://"):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://") and not url.startswith("sqlite+aiosqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def split_list(value: str) -> list[str]:
    """A comma- or whitespace-separated setting as a list of non-empty items."""
    return [item for item in value.replace(",", " ").split() if item]


class Settings(BaseSettings):
    """Every setting the service reads; names match the operations runbook."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Literal["development", "test", "staging", "production"] = "development"
    secret_key: str = DEV_SECRET_KEY
    secret_key_previous: str = ""
    log_level: str = "INFO"

    database_url: str = f"sqlite:///{DEFAULT_SQLITE_PATH}"
    db_pool_size: int = Field(default=5, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=500)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_echo: bool = False

    redis_url: str = ""

    host: str = "127.0.0.1"
    port: int = 8000
    web_concurrency: int = Field(default=2, ge=1)

    session_max_age_hours: int = Field(default=12, ge=1)
    api_token_ttl_hours: int = Field(default=24 * 30, ge=1)

    # Operations surface (see docs/operations.md).
    ops_middleware_enabled: bool = True
    prometheus_multiproc_dir: str = ""
    slo_uptime_target: float = Field(default=0.999, gt=0, lt=1)
    slo_latency_p95_ms: int = Field(default=500, ge=1)
    slo_error_rate_target: float = Field(default=0.001, gt=0, lt=1)
    error_budget_period_days: int = Field(default=30, ge=1, le=365)
    sli_flush_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    alertmanager_url: str = ""
    rate_limit_enabled: bool = True
    rate_limit_default: str = "100/minute"
    rate_limit_health: str = "60/minute"
    rate_limit_csrf: str = "10/minute"
    rate_limit_login: str = "5/minute"
    rate_limit_exempt_ips: str = ""
    rate_limit_key_prefix: str = "estatecrm"
    cors_origins: str = ""
    trusted_proxies: str = ""
    enable_request_tracing: bool = False

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

    @field_validator(
        "rate_limit_default", "rate_limit_health", "rate_limit_csrf", "rate_limit_login"
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit like '100/minute': {value!r}") from exc
        return value

    @field_validator("rate_limit_exempt_ips", "trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        import ipaddress

        for item in split_list(value):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an IP address or network: {item!r}") from exc
        return value

    @model_validator(mode="after")
    def _production_keeps_the_ops_stack(self) -> Settings:
        if self.environment == "production" and not self.ops_middleware_enabled:
            raise ValueError(
                "OPS_MIDDLEWARE_ENABLED=false switches off CSRF, security headers and rate "
                "limits; it exists for benchmarks and is refused in production"
            )
        return self

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32
        ):
            raise ValueError(
                "SECRET_KEY must be set to a random value of at least 32 characters in "
                "production (generate one with: python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))')"
            )
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        """`CORS_ORIGINS` as a list (comma-separated in the environment)."""
        return split_list(self.cors_origins)

    @property
    def request_tracing(self) -> bool:
        """Whether `/trace` exists: asked for, and never in production."""
        return self.enable_request_tracing and self.environment != "production"

    @property
    def async_database_url(self) -> str:
        """The database URL with its async driver."""
        return to_async_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is SQLite."""
        return self.async_database_url.startswith("sqlite")

    @property
    def is_development(self) -> bool:
        """Whether the service runs as a developer's copy (cookies without Secure)."""
        return self.environment in ("development", "test")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, if the database is a SQLite file."""
        if not self.is_sqlite:
            return None
        path = self.async_database_url.split(":///", 1)[1].split("?", 1)[0]
        if not path or path == ":memory:":
            return None
        return Path(path)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache)."""
    return Settings()


def generate_secret_key() -> str:
    """A new random secret key."""
    return secrets.token_urlsafe(48)
