"""Dockerfile and .dockerignore: hadolint clean, multi-stage, non-root, healthy, secret-free."""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.deploy.helpers import ROOT, run, tool

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with line continuations joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if raw.lstrip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    result = []
    for line in lines:
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def of(kind: str) -> list[str]:
    return [rest for word, rest in instructions() if word == kind]


def runtime_stage() -> list[tuple[str, str]]:
    """The instructions of the last stage."""
    found = instructions()
    last_from = max(i for i, (word, _) in enumerate(found) if word == "FROM")
    return found[last_from:]


def test_hadolint() -> None:
    result = run(tool("hadolint"), "--no-color", str(DOCKERFILE))
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_on_python_312_slim() -> None:
    stages = of("FROM")
    assert len(stages) >= 2
    args = dict(
        rest.split("=", 1) for rest in of("ARG") if "=" in rest
    )  # resolve ${PYTHON_VERSION}
    for stage in stages:
        image = stage.split()[0]
        for name, value in args.items():
            image = image.replace(f"${{{name}}}", value)
        assert image == "python:3.12-slim", stage
    assert any(
        rest.startswith("--from=") and "/opt/venv" in rest
        for word, rest in runtime_stage()
        if word == "COPY"
    ), "the runtime stage should copy the virtualenv from the builder"


def test_runs_as_a_non_root_user() -> None:
    users = [rest for word, rest in runtime_stage() if word == "USER"]
    assert users, "no USER in the runtime stage"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}


def test_healthcheck_calls_health_endpoint_with_python() -> None:
    (check,) = of("HEALTHCHECK")
    assert "CMD" in check
    command = json.loads(check.split("CMD", 1)[1])
    assert command[0] == "python"
    assert "http://127.0.0.1:" in command[-1]
    assert "/health" in command[-1]
    assert "8000" in command[-1]


def test_exposes_8000_and_runs_gunicorn_with_the_repo_config() -> None:
    assert of("EXPOSE") == ["8000"]
    (cmd,) = of("CMD")
    assert json.loads(cmd) == ["gunicorn", "-c", "deploy/gunicorn.conf.py", "estatecrm.main:app"]


def test_no_secret_is_baked_in() -> None:
    for kind in ("ENV", "ARG"):
        for rest in of(kind):
            for name in re.findall(r"([A-Z][A-Z0-9_]*)=", rest) or rest.split()[:1]:
                assert not re.search(r"SECRET|PASSWORD|TOKEN|_KEY|KEYS|CREDENTIAL", name), (
                    f"{kind} {name} would bake a secret into the image"
                )


def copy_sources() -> list[str]:
    sources = []
    for rest in of("COPY"):
        parts = [
            p
            for p in shlex.split(rest)
            if not p.startswith("--chown") and not p.startswith("--chmod")
        ]
        if parts[0].startswith("--from"):
            continue
        sources.extend(parts[:-1])
    return sources


def test_copies_migrations_alembic_and_gunicorn_config() -> None:
    sources = {s.rstrip("/") for s in copy_sources()}
    assert {
        "alembic.ini",
        "migrations",
        "deploy/gunicorn.conf.py",
        "src",
        "pyproject.toml",
    } <= sources


@pytest.mark.parametrize("source", copy_sources())
def test_every_copied_path_exists_and_is_in_the_build_context(source: str) -> None:
    assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
    assert not ignored(source.rstrip("/")), f"COPY {source}: excluded by .dockerignore"


# --- .dockerignore ---------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    # A pattern that names a directory excludes everything below it.
    return re.compile(out + "(?:/.*)?")


def ignored(path: str) -> bool:
    """Whether Docker leaves `path` out of the build context (last matching pattern wins)."""
    result = False
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip().strip("/")
        if _pattern_regex(pattern).fullmatch(path):
            result = not negate
    return result


@pytest.mark.parametrize(
    "path",
    [
        ".env",
        ".env.production",
        ".venv/bin/python",
        ".git/config",
        "var/estatecrm.db",
        "backups/2025-01-01.sql.gz",
        "tests/conftest.py",
        "docs/runbook.md",
        "node_modules/x/index.js",
        "src/estatecrm/__pycache__/main.cpython-312.pyc",
        "src/.env",
        "deploy/prometheus/prometheus.yml",
    ],
)
def test_dockerignore_keeps_out(path: str) -> None:
    assert ignored(path)


@pytest.mark.parametrize(
    "path",
    ["pyproject.toml", "README.md", "src/estatecrm/main.py", "alembic.ini", "migrations/env.py"],
)
def test_dockerignore_lets_in(path: str) -> None:
    assert not ignored(path)


def test_readme_is_in_the_context_because_the_package_metadata_needs_it() -> None:
    assert 'readme = "README.md"' in Path(ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "README.md" in copy_sources()


# --- PostgreSQL client tools (the runbook's backups run inside the image) ----------------

PG_TOOLS = ("pg_dump", "pg_restore", "psql")


def _runtime_args() -> dict[str, str]:
    return dict(
        rest.split("=", 1) for word, rest in runtime_stage() if word == "ARG" and "=" in rest
    )


def _runtime_env() -> dict[str, str]:
    """The runtime stage's ENV, with its ARGs and earlier values substituted."""
    values = {"PATH": "/usr/local/bin:/usr/bin:/bin", **_runtime_args()}
    for word, rest in runtime_stage():
        if word != "ENV":
            continue
        for name, value in (pair.split("=", 1) for pair in shlex.split(rest)):
            for key, known in values.items():
                value = value.replace(f"${{{key}}}", known)
            values[name] = value
    return values


def test_the_postgresql_client_matches_the_servers_major_version() -> None:
    from tests.deploy.helpers import load_yaml

    major = _runtime_args()["PG_MAJOR"]
    server = load_yaml(ROOT / "compose.yml")["services"]["db"]["image"]
    assert server.split(":")[1].split(".")[0] == major, (server, major)
    installs = " ".join(rest for word, rest in runtime_stage() if word == "RUN")
    assert '"postgresql-client-${PG_MAJOR}"' in installs
    assert "apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" in installs


def test_pg_dump_pg_restore_and_psql_are_on_the_image_path() -> None:
    env = _runtime_env()
    major = _runtime_args()["PG_MAJOR"]
    bin_dir = f"/usr/lib/postgresql/{major}/bin"
    path = env["PATH"].split(":")
    assert bin_dir in path, path
    # Before the interpreter's own folder would not matter; before /usr/bin it does:
    # Debian's /usr/bin/pg_dump wrapper would pick whichever version it likes.
    assert path.index(bin_dir) < path.index("/usr/bin")
    assert env["PG_BIN_DIR"] == bin_dir  # what `estatecrm backup` runs
    # Where Debian's postgresql-client-N package puts the tools, checked against a
    # postgresql-client package installed on this machine (the same packaging).
    dpkg = shutil.which("dpkg-query")
    if dpkg is None:
        pytest.skip("no dpkg-query here to read a postgresql-client package's file list")
    listed = run(dpkg, "-W", "-f=${Package}\\n", "postgresql-client-[0-9]*").stdout.split()
    if not listed:
        pytest.skip("no postgresql-client-N package installed here to compare with")
    files = run(dpkg, "-L", listed[0]).stdout.split()
    local_major = listed[0].rsplit("-", 1)[1]
    for tool_name in PG_TOOLS:
        assert f"/usr/lib/postgresql/{local_major}/bin/{tool_name}" in files, tool_name
