"""`estatecrm users create` against a real database file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env["ENVIRONMENT"] = "development"
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "estatecrm.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_users_create_makes_agency_and_rejects_duplicates(cli_env: dict[str, str]) -> None:
    assert _cli(cli_env, "db", "upgrade").returncode == 0
    args = [
        "users",
        "create",
        "--agency",
        "Acme Lettings",
        "--email",
        "a@acme.test",
        "--password",
        "long-enough-pw",
        "--role",
        "admin",
    ]
    first = _cli(cli_env, *args)
    assert first.returncode == 0, first.stderr
    assert "Created user a@acme.test" in first.stdout
    second = _cli(cli_env, *args)
    assert second.returncode == 1
    assert "already exists" in second.stderr


def test_production_refuses_default_secret(cli_env: dict[str, str]) -> None:
    cli_env["ENVIRONMENT"] = "production"
    cli_env.pop("SECRET_KEY", None)
    r = _cli(cli_env, "db", "current")
    assert r.returncode == 2
    assert "SECRET_KEY" in r.stderr
