"""Settings from Vault KV v2 (a real HTTP server on loopback speaking the KV v2 API)."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from estatecrm.config import Settings, get_settings
from estatecrm.kit import crypto
from estatecrm.kit.vault import VaultConfig, VaultError, read_secret, write_secret
from tests.ops.dr_support import SCRUBBED, cli, cli_env
from tests.ops.fake_vault import FakeVault

PATH = "estatecrm/production"
KEY = crypto.generate_key()
VAULT_SECRET = {
    "ENVIRONMENT": "production",
    "SECRET_KEY": "v" * 48,
    "FIELD_ENCRYPTION_KEYS": KEY,
    "LOG_LEVEL": "warning",
    "DB_POOL_SIZE": "17",
}


@pytest.fixture
def vault() -> Iterator[FakeVault]:
    server = FakeVault().start()
    server.put(PATH, VAULT_SECRET)
    yield server
    server.stop()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No settings from the developer's shell or a .env file."""
    for name in (*SCRUBBED, "ENVIRONMENT", "LOG_LEVEL", "REDIS_URL", "DB_POOL_SIZE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _point_at(env: pytest.MonkeyPatch, vault: FakeVault, **extra: str) -> None:
    env.setenv("VAULT_ADDR", vault.url)
    env.setenv("VAULT_TOKEN", vault.token)
    env.setenv("VAULT_SECRET_PATH", PATH)
    for name, value in extra.items():
        env.setenv(name, value)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_settings_come_from_vault_with_the_environment_as_fallback(
    vault: FakeVault, clean_env: pytest.MonkeyPatch
) -> None:
    _point_at(clean_env, vault, SECRET_KEY="from-the-environment", REDIS_URL="redis://cache:6379/0")
    settings = get_settings()
    # Vault wins over the environment ...
    assert settings.environment == "production"
    assert settings.secret_key == "v" * 48
    assert settings.log_level == "WARNING" and settings.db_pool_size == 17
    assert crypto.keys_for(settings) == [KEY]
    # ... and the environment fills in what the secret does not hold.
    assert settings.redis_url == "redis://cache:6379/0"
    assert ("GET", f"/v1/secret/data/{PATH}") in vault.requests
    # Read once per process: get_settings() is cached.
    before = len(vault.requests)
    assert get_settings() is settings and len(vault.requests) == before
    # The token and the secrets never show in the settings' repr.
    shown = repr(settings)
    assert vault.token not in shown and "v" * 48 not in shown and KEY not in shown


def test_explicit_arguments_still_win_over_vault(
    vault: FakeVault, clean_env: pytest.MonkeyPatch
) -> None:
    _point_at(clean_env, vault)
    settings = Settings(environment="test", secret_key="k" * 40)
    assert settings.environment == "test" and settings.secret_key == "k" * 40
    assert settings.db_pool_size == 17


def test_a_custom_mount(clean_env: pytest.MonkeyPatch) -> None:
    server = FakeVault(mount="kv-prod").start()
    try:
        server.put(PATH, {"LOG_LEVEL": "error"})
        _point_at(clean_env, server, VAULT_MOUNT="kv-prod")
        assert Settings().log_level == "ERROR"
    finally:
        server.stop()


def test_without_vault_addr_nothing_is_asked(
    vault: FakeVault, clean_env: pytest.MonkeyPatch
) -> None:
    clean_env.setenv("VAULT_TOKEN", vault.token)
    clean_env.setenv("VAULT_SECRET_PATH", PATH)
    assert Settings().environment == "development"
    assert vault.requests == []


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("unreachable", "Vault is unreachable at"),
        ("bad-token", "Vault refused to read secret/estatecrm/production"),
        ("missing-path", "Vault has no secret secret/estatecrm/elsewhere"),
        ("no-token", "VAULT_TOKEN is not"),
        ("no-path", "VAULT_SECRET_PATH is not"),
        ("sealed", "is sealed"),
    ],
)
def test_vault_problems_are_clear_errors(
    vault: FakeVault, clean_env: pytest.MonkeyPatch, problem: str, message: str
) -> None:
    _point_at(clean_env, vault)
    if problem == "unreachable":
        clean_env.setenv("VAULT_ADDR", f"http://127.0.0.1:{closed_port()}")
    elif problem == "bad-token":
        clean_env.setenv("VAULT_TOKEN", "s.wrong-token")
    elif problem == "missing-path":
        clean_env.setenv("VAULT_SECRET_PATH", "estatecrm/elsewhere")
    elif problem == "no-token":
        clean_env.delenv("VAULT_TOKEN")
    elif problem == "no-path":
        clean_env.delenv("VAULT_SECRET_PATH")
    else:
        vault.sealed = True
    with pytest.raises(VaultError) as caught:
        Settings()
    assert message in str(caught.value)
    assert vault.token not in str(caught.value) and "s.wrong-token" not in str(caught.value)


def test_the_cli_refuses_to_start_when_vault_is_unreachable(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'x.db'}", tmp_path)
    env.update(
        {
            "VAULT_ADDR": f"http://127.0.0.1:{closed_port()}",
            "VAULT_TOKEN": "s.some-token",
            "VAULT_SECRET_PATH": PATH,
            "VAULT_TIMEOUT": "2",
        }
    )
    for args in (["db", "current"], ["serve", "--port", str(closed_port())]):
        result = cli(env, *args, timeout=60)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "Configuration error (Vault): Vault is unreachable at http://127.0.0.1" in (
            result.stderr
        )
        assert "s.some-token" not in result.stderr + result.stdout
    # A server started directly on the app module refuses too (the import raises).
    direct = subprocess.run(
        [sys.executable, "-c", "import estatecrm.main"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert direct.returncode != 0 and "VaultError: Vault is unreachable" in direct.stderr


def test_the_cli_reads_its_database_from_vault(vault: FakeVault, tmp_path: Path) -> None:
    db = tmp_path / "from-vault.db"
    vault.put(PATH, {**VAULT_SECRET, "DATABASE_URL": f"sqlite:///{db}"})
    env = cli_env(f"sqlite:///{tmp_path / 'not-this-one.db'}", tmp_path)
    env.update({"VAULT_ADDR": vault.url, "VAULT_TOKEN": vault.token, "VAULT_SECRET_PATH": PATH})
    result = cli(env, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    assert db.exists() and not (tmp_path / "not-this-one.db").exists()


def test_write_merges_and_checks_the_version(vault: FakeVault) -> None:
    cfg = VaultConfig(addr=vault.url, secret_path=PATH, token=vault.token)
    vault.put(PATH, {"secret_key": "old", "OTHER": "kept"})
    version = write_secret(cfg, {"SECRET_KEY": "new", "SECRET_KEY_PREVIOUS": "old"})
    assert version == 3
    data, read_version = read_secret(cfg)
    # The operator's spelling of an existing key is kept; nothing else is lost.
    assert data == {"secret_key": "new", "OTHER": "kept", "SECRET_KEY_PREVIOUS": "old"}
    assert read_version == 3
    # The write used check-and-set on the version it read.
    assert ("POST", f"/v1/secret/data/{PATH}") in vault.requests or (
        "PUT",
        f"/v1/secret/data/{PATH}",
    ) in vault.requests
