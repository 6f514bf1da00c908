"""compose.yml: services, health checks, start order, mounts and the settings the app reads."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy.contract import SETTINGS
from tests.deploy.helpers import DEPLOY, ROOT, load_yaml

COMPOSE = load_yaml(ROOT / "compose.yml")
SERVICES: dict[str, Any] = COMPOSE["services"]
APP_SERVICES = [name for name, svc in SERVICES.items() if svc.get("build")]
LONG_RUNNING = [name for name in SERVICES if name != "migrate"]


def env(service: str) -> dict[str, str]:
    value = SERVICES[service].get("environment", {})
    if isinstance(value, list):
        return dict(item.split("=", 1) for item in value)
    return {key: str(val) for key, val in value.items()}


def bind_mounts(service: str) -> list[tuple[str, str]]:
    """(host path relative to the repo, container path) of a service's bind mounts."""
    mounts = []
    for volume in SERVICES[service].get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append((source, target))
    return mounts


def host_path(service: str, container_path: str) -> str | None:
    """The repo path a service sees at `container_path`, through its bind mounts."""
    for source, target in bind_mounts(service):
        if container_path == target or container_path.startswith(target.rstrip("/") + "/"):
            rest = container_path[len(target) :].lstrip("/")
            return str(PurePosixPath(source) / rest) if rest else source
    return None


def test_every_service_is_there() -> None:
    assert {"app", "migrate", "db", "redis", "prometheus", "alertmanager", "grafana"} <= set(
        SERVICES
    )
    assert SERVICES["db"]["image"].startswith("postgres:16")
    assert SERVICES["redis"]["image"].startswith("redis:7")


def test_app_services_share_the_built_image() -> None:
    assert set(APP_SERVICES) == {"app", "migrate"}
    assert SERVICES["app"]["image"] == SERVICES["migrate"]["image"]


@pytest.mark.parametrize("service", ["app", "migrate"])
def test_app_environment_names_are_settings_the_app_reads(service: str) -> None:
    unknown = set(env(service)) - SETTINGS
    assert not unknown, f"{service} sets variables the application never reads: {unknown}"


def test_app_environment() -> None:
    app = env("app")
    local_url = "postgresql://postgres:postgres@db:5432/estatecrm"  # pragma: allowlist secret
    assert app["DATABASE_URL"] == local_url
    assert app["REDIS_URL"] == "redis://redis:6379/0"
    assert app["ENVIRONMENT"] == "production"
    assert app["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/prometheus"
    assert {"WEB_CONCURRENCY", "ALERTMANAGER_URL"} <= set(app)
    assert env("migrate")["DATABASE_URL"] == app["DATABASE_URL"]


@pytest.mark.parametrize("service", ["app", "migrate"])
def test_secret_key_must_come_from_the_environment(service: str) -> None:
    assert re.fullmatch(r"\$\{SECRET_KEY:\?[^}]*\}", env(service)["SECRET_KEY"]), (
        "SECRET_KEY must be ${SECRET_KEY:?...}: required, with no default"
    )


@pytest.mark.parametrize("service", ["app", "migrate"])
def test_urls_point_at_compose_services(service: str) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "ALERTMANAGER_URL"):
        value = env(service).get(name)
        if value:
            host = urlsplit(value).hostname
            assert host in SERVICES, f"{service}: {name} points at {host}, not a service"


def test_migrate_runs_alembic_once_before_the_app() -> None:
    migrate = SERVICES["migrate"]
    command = migrate["command"]
    command = command.split() if isinstance(command, str) else command
    assert command == ["alembic", "upgrade", "head"]
    assert migrate.get("restart", "no") == "no"
    app_deps = SERVICES["app"]["depends_on"]
    assert app_deps["migrate"]["condition"] == "service_completed_successfully"
    assert app_deps["db"]["condition"] == "service_healthy"
    assert app_deps["redis"]["condition"] == "service_healthy"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"


@pytest.mark.parametrize("service", LONG_RUNNING)
def test_long_running_services_have_healthchecks(service: str) -> None:
    check = SERVICES[service].get("healthcheck")
    assert check and check.get("test"), f"{service} has no healthcheck"


def test_app_healthcheck_hits_health() -> None:
    test = " ".join(SERVICES["app"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/health" in test


@pytest.mark.parametrize("service", list(SERVICES))
def test_healthy_conditions_wait_on_services_with_healthchecks(service: str) -> None:
    deps = SERVICES[service].get("depends_on", {})
    assert isinstance(deps, dict), f"{service}: depends_on should state conditions"
    for dep, spec in deps.items():
        assert dep in SERVICES
        if spec["condition"] == "service_healthy":
            assert SERVICES[dep].get("healthcheck"), f"{service} waits on {dep}, which has none"


@pytest.mark.parametrize(
    ("service", "source"),
    [(svc, src) for svc in SERVICES for src, _ in bind_mounts(svc)],
)
def test_every_mounted_config_exists(service: str, source: str) -> None:
    assert (ROOT / source).exists(), f"{service} mounts {source}, which does not exist"


def test_prometheus_and_alertmanager_read_the_repo_configs() -> None:
    for service, flag, expected in [
        ("prometheus", "--config.file=", DEPLOY / "prometheus" / "prometheus.yml"),
        ("alertmanager", "--config.file=", DEPLOY / "alertmanager" / "alertmanager.yml"),
    ]:
        (config,) = [
            arg[len(flag) :] for arg in SERVICES[service]["command"] if arg.startswith(flag)
        ]
        mapped = host_path(service, config)
        assert mapped is not None, f"{service} reads {config}, which no bind mount provides"
        assert (ROOT / mapped).resolve() == expected.resolve()


def test_grafana_provisioning_and_dashboards_are_mounted_where_grafana_looks() -> None:
    for sub in ("datasources", "dashboards"):
        mapped = host_path("grafana", f"/etc/grafana/provisioning/{sub}")
        assert mapped is not None, f"grafana has no provisioning/{sub} mount"
        assert (ROOT / mapped).resolve() == (DEPLOY / "grafana" / "provisioning" / sub).resolve()
    provider = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "dashboards.yml")
    for entry in provider["providers"]:
        mapped = host_path("grafana", entry["options"]["path"])
        assert mapped is not None
        assert (ROOT / mapped).resolve() == (DEPLOY / "grafana" / "dashboards").resolve()
    home = env("grafana").get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        mapped = host_path("grafana", home)
        assert mapped is not None and (ROOT / mapped).is_file()


def test_grafana_admin_password_is_not_a_default() -> None:
    password = env("grafana")["GF_SECURITY_ADMIN_PASSWORD"]
    assert password.startswith("${") and ":?" in password


def test_monitoring_addresses_match_compose_services() -> None:
    datasource = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    (source,) = datasource["datasources"]
    assert urlsplit(source["url"]).hostname == "prometheus"
    prometheus = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    scrape_hosts = {
        target.split(":")[0]
        for job in prometheus["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert scrape_hosts - {"localhost"} <= set(SERVICES)
    assert "8000:8000" in SERVICES["app"]["ports"]


def test_databases_and_metrics_keep_their_data_in_named_volumes() -> None:
    volumes = set(COMPOSE.get("volumes", {}))
    for service, path in [("db", "/var/lib/postgresql/data"), ("prometheus", "/prometheus")]:
        mounted = {v.split(":")[0] for v in SERVICES[service]["volumes"] if v.split(":")[1] == path}
        assert mounted and mounted <= volumes, f"{service} keeps {path} in no named volume"


def test_metrics_directory_is_emptied_on_every_start() -> None:
    directory = env("app")["PROMETHEUS_MULTIPROC_DIR"]
    tmpfs = SERVICES["app"].get("tmpfs", [])
    tmpfs = [tmpfs] if isinstance(tmpfs, str) else tmpfs
    assert directory in [entry.split(":")[0] for entry in tmpfs], (
        "PROMETHEUS_MULTIPROC_DIR should be a tmpfs so stale worker files never survive a restart"
    )


def test_a_backup_job_runs_in_the_app_image_and_keeps_archives_in_a_volume() -> None:
    backup = SERVICES["backup"]
    assert backup["image"] == SERVICES["app"]["image"]  # the image with pg_dump (Dockerfile)
    script = " ".join(backup["command"])
    assert "estatecrm backup create" in script and "estatecrm backup verify" in script
    assert "sleep" in script and "-delete" in script  # repeats, and prunes old archives
    environment = env("backup")
    assert environment["BACKUP_DIR"] == "/app/var/backups"
    assert environment["DATABASE_URL"] == env("app")["DATABASE_URL"]
    mounted = [v.split(":") for v in backup["volumes"]]
    assert ["backups", "/app/var/backups"] in mounted and "backups" in COMPOSE["volumes"]
    assert backup["depends_on"]["db"]["condition"] == "service_healthy"
    assert backup["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "/app/var/backups" in " ".join(backup["healthcheck"]["test"])


def test_the_alert_webhook_secret_reaches_app_and_alertmanager_alike() -> None:
    assert re.fullmatch(r"\$\{ALERT_WEBHOOK_SECRET:\?[^}]*\}", env("app")["ALERT_WEBHOOK_SECRET"])
    assert COMPOSE["secrets"]["alert_webhook_secret"] == {"environment": "ALERT_WEBHOOK_SECRET"}
    assert SERVICES["alertmanager"]["secrets"] == ["alert_webhook_secret"]
