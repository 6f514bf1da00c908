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

    # The address people reach the CRM at (https://crm.example.co.uk), for links that leave
    # the browser, such as calendar feed URLs; empty: taken from each request.
    public_url: str = ""

    session_max_age_hours: int = Field(default=12, ge=1)
    api_token_ttl_hours: int = Field(default=24 * 30, ge=1)

    @field_validator("log_level")
    @classmethod
    def _upper_level(cls, value: str) -> str:
        return value.upper()

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
