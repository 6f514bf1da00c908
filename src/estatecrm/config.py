"""Application settings, read from the environment (and an optional `.env`)."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from estatecrm.kit.crypto import check_keys, split_keys

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


# Settings that say where Vault is; they can only come from the environment or `.env`.
VAULT_FIELDS = frozenset(
    {
        "vault_addr",
        "vault_token",
        "vault_secret_path",
        "vault_mount",
        "vault_timeout",
        "vault_cacert",
    }
)


class VaultSettingsSource(PydanticBaseSettingsSource):
    """Settings from a Vault KV v2 secret when VAULT_ADDR is set (keys named like the env vars).

    It ranks above the environment, which stays the fallback for anything the secret does not
    hold. Vault being unreachable is an error, never a silent fallback.
    """

    def __init__(
        self,
        settings_cls: type[BaseSettings],
        env: PydanticBaseSettingsSource,
        dotenv: PydanticBaseSettingsSource,
    ) -> None:
        super().__init__(settings_cls)
        self._env = env
        self._dotenv = dotenv

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        # Unused: __call__ reads the whole secret at once.
        return None, field_name, False

    def _vault_config(self) -> Any:
        # Imported here: hvac costs ~140 ms to import and most deployments never use Vault.
        from estatecrm.kit.vault import VaultConfig

        found = {**self._dotenv(), **self._env()}
        addr = str(found.get("vault_addr") or "").strip()
        if not addr:
            return None
        return VaultConfig(
            addr=addr,
            secret_path=str(found.get("vault_secret_path") or "").strip().strip("/"),
            token=str(found.get("vault_token") or ""),
            mount=str(found.get("vault_mount") or "secret").strip().strip("/"),
            timeout=float(found.get("vault_timeout") or 5.0),
            cacert=str(found.get("vault_cacert") or ""),
        )

    def __call__(self) -> dict[str, Any]:
        cfg = self._vault_config()
        if cfg is None:
            return {}
        from estatecrm.kit.vault import read_secret

        data, _version = read_secret(cfg)
        fields = {name.lower() for name in self.settings_cls.model_fields} - VAULT_FIELDS
        return {k.lower(): v for k, v in data.items() if k.lower() in fields}


class Settings(BaseSettings):
    """Every setting the service reads; names match the operations runbook."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    environment: Literal["development", "test", "staging", "production"] = "development"
    secret_key: str = Field(default=DEV_SECRET_KEY, repr=False)
    secret_key_previous: str = Field(default="", repr=False)
    log_level: str = "INFO"

    # Comma-separated Fernet keys, newest first; empty outside production = derived from
    # SECRET_KEY (see kit/crypto.py).
    field_encryption_keys: str = Field(default="", repr=False)

    # Vault KV v2 (read at start when VAULT_ADDR is set; see VaultSettingsSource).
    vault_addr: str = ""
    vault_token: str = Field(default="", repr=False)
    vault_secret_path: str = ""
    vault_mount: str = "secret"
    vault_timeout: float = Field(default=5.0, gt=0)
    vault_cacert: str = ""

    # Backups: where `estatecrm backup create` writes by default, and which PostgreSQL client
    # tools to use (empty: pg_dump / pg_restore / psql from PATH).
    backup_dir: Path = Path("var") / "backups"
    pg_bin_dir: str = ""

    # Files (photos, documents, reports): `local` keeps them under STORAGE_LOCAL_DIR; `s3` in
    # an S3-compatible bucket (AWS, MinIO, Ceph, R2: set STORAGE_S3_ENDPOINT_URL for non-AWS).
    storage_backend: Literal["local", "s3"] = "local"
    storage_local_dir: Path = Path("var") / "media"
    storage_s3_bucket: str = ""
    storage_s3_endpoint_url: str = ""
    storage_s3_region: str = ""
    storage_s3_access_key_id: str = Field(default="", repr=False)
    storage_s3_secret_access_key: str = Field(default="", repr=False)
    # Keys are stored under this prefix in the bucket ("estatecrm/"); empty: at the top.
    storage_s3_prefix: str = ""
    # A CA bundle for a private S3 endpoint's TLS certificate; empty: the system's.
    storage_s3_ca_bundle: str = ""

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

    # Operations surface (see docs/operations.md).
    ops_middleware_enabled: bool = True
    prometheus_multiproc_dir: str = ""
    slo_uptime_target: float = Field(default=0.999, gt=0, lt=1)
    slo_latency_p95_ms: int = Field(default=500, ge=1)
    slo_error_rate_target: float = Field(default=0.001, gt=0, lt=1)
    error_budget_period_days: int = Field(default=30, ge=1, le=365)
    sli_flush_interval_seconds: float = Field(default=5.0, gt=0, le=300)
    alertmanager_url: str = ""
    # The deploy gate (`scripts/check-slo.py`): where to read /error-budget (else PUBLIC_URL),
    # and the share of each error budget below which it warns (exit 1).
    slo_check_url: str = ""
    # Alertmanager's default receiver posts to /api/v1/alerts/alertmanager with this bearer
    # secret; each firing alert becomes a task for an admin of ALERT_TASK_AGENCY_ID (else the
    # first agency). Empty: the webhook is off (404).
    alert_webhook_secret: str = Field(default="", repr=False)
    alert_task_agency_id: int | None = None
    slo_check_min_budget: float = Field(default=0.2, ge=0, le=1)
    rate_limit_enabled: bool = True
    rate_limit_default: str = "100/minute"
    # Empty: /health and /error-budget are never limited (load balancers, deploy gates).
    rate_limit_health: str = ""
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
    def _rate_limit(cls, value: str, info: ValidationInfo) -> str:
        from limits import parse_many

        if not value.strip() and info.field_name == "rate_limit_health":
            return ""
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        vault = VaultSettingsSource(settings_cls, env_settings, dotenv_settings)
        return init_settings, vault, env_settings, dotenv_settings, file_secret_settings

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.storage_backend == "s3" and not self.storage_s3_bucket.strip():
            raise ValueError("STORAGE_BACKEND=s3 needs STORAGE_S3_BUCKET")
        if self.storage_s3_prefix and not self.storage_s3_prefix.endswith("/"):
            raise ValueError("STORAGE_S3_PREFIX must end with '/' (e.g. 'estatecrm/')")
        return self

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

    @model_validator(mode="after")
    def _check_encryption_keys(self) -> Settings:
        keys = split_keys(self.field_encryption_keys)
        if not keys and self.environment == "production":
            raise ValueError(
                "FIELD_ENCRYPTION_KEYS must be set in production (comma-separated Fernet keys, "
                "newest first; generate one with `estatecrm secrets generate-key`)"
            )
        check_keys(keys)
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
    """The process-wide settings (cached; tests clear the cache); Vault is read once here."""
    return Settings()


def generate_secret_key() -> str:
    """A new random secret key."""
    return secrets.token_urlsafe(48)
