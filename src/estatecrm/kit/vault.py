"""HashiCorp Vault KV v2: read the service's settings, write rotated secrets back.

Every failure becomes a `VaultError` whose message says what to check; no message ever
contains the token or a secret value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import hvac
import requests
from hvac import exceptions as hvac_errors


class VaultError(RuntimeError):
    """Vault could not be used; the service must not start on guessed settings."""


@dataclass(frozen=True)
class VaultConfig:
    """Where the secret lives and how to reach it."""

    addr: str
    secret_path: str
    token: str = field(default="", repr=False)
    mount: str = "secret"
    timeout: float = 5.0
    cacert: str = ""

    def describe(self) -> str:
        """`mount/path at addr`, for messages."""
        return f"{self.mount}/{self.secret_path} at {self.addr}"


def _client(cfg: VaultConfig) -> Any:
    if not cfg.secret_path:
        raise VaultError("VAULT_ADDR is set but VAULT_SECRET_PATH is not: say which secret to read")
    if not cfg.token:
        raise VaultError("VAULT_ADDR is set but VAULT_TOKEN is not: the service cannot sign in")
    verify: bool | str = cfg.cacert or True
    return hvac.Client(url=cfg.addr, token=cfg.token, timeout=cfg.timeout, verify=verify)


def _explain(cfg: VaultConfig, exc: Exception, action: str) -> VaultError:
    where = cfg.describe()
    if isinstance(exc, hvac_errors.InvalidPath):
        return VaultError(f"Vault has no secret {where} (check VAULT_MOUNT and VAULT_SECRET_PATH)")
    if isinstance(exc, hvac_errors.Forbidden | hvac_errors.Unauthorized):
        return VaultError(
            f"Vault refused to {action} {where}: the token is invalid or lacks policy"
        )
    if isinstance(exc, hvac_errors.VaultDown):
        return VaultError(f"Vault at {cfg.addr} is sealed or in maintenance: cannot {action}")
    if isinstance(exc, hvac_errors.InvalidRequest):
        return VaultError(f"Vault rejected the request to {action} {where}: {exc}")
    if isinstance(exc, requests.exceptions.Timeout):
        return VaultError(f"Vault at {cfg.addr} did not answer within {cfg.timeout:g}s")
    if isinstance(exc, requests.exceptions.SSLError):
        return VaultError(f"TLS with Vault at {cfg.addr} failed (set VAULT_CACERT?)")
    if isinstance(exc, requests.exceptions.RequestException):
        return VaultError(f"Vault is unreachable at {cfg.addr} ({exc.__class__.__name__})")
    if isinstance(exc, hvac_errors.VaultError):
        return VaultError(f"Vault failed to {action} {where}: {exc.__class__.__name__}")
    return VaultError(f"Vault failed to {action} {where}: {exc.__class__.__name__}")


_EXPECTED = (hvac_errors.VaultError, requests.exceptions.RequestException, ValueError, KeyError)


def read_secret(cfg: VaultConfig) -> tuple[dict[str, str], int | None]:
    """The key/value pairs of the secret, and its KV v2 version."""
    client = _client(cfg)
    try:
        response = client.secrets.kv.v2.read_secret_version(
            path=cfg.secret_path, mount_point=cfg.mount, raise_on_deleted_version=True
        )
        data = response["data"]["data"] or {}
        version = response["data"].get("metadata", {}).get("version")
    except _EXPECTED as exc:
        raise _explain(cfg, exc, "read") from None
    if not isinstance(data, Mapping):
        raise VaultError(f"Vault secret {cfg.describe()} is not a key/value map")
    return {str(k): "" if v is None else str(v) for k, v in data.items()}, version


def write_secret(cfg: VaultConfig, updates: Mapping[str, str]) -> int | None:
    """Merge `updates` into the secret (check-and-set on the version read); the new version."""
    current, version = read_secret(cfg)
    merged = dict(current)
    # Keep the operator's spelling of a key (secret_key vs SECRET_KEY) rather than adding both.
    existing = {k.lower(): k for k in current}
    for key, value in updates.items():
        merged[existing.get(key.lower(), key)] = value
    client = _client(cfg)
    try:
        response = client.secrets.kv.v2.create_or_update_secret(
            path=cfg.secret_path,
            secret=merged,
            cas=version if version is not None else 0,
            mount_point=cfg.mount,
        )
    except _EXPECTED as exc:
        raise _explain(cfg, exc, "write") from None
    new_version = (response or {}).get("data", {}).get("version")
    return int(new_version) if new_version is not None else None
