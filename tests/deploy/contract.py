"""What the deploy files may rely on the application for: metric names and settings.

This is the contract between the application and deploy/ (Prometheus rules, Grafana
dashboards, compose.yml). The tests in this folder check the deploy files against it;
a test that scrapes the running app's /metrics can check the app against it.
"""

from __future__ import annotations

# Metric name -> the labels the application puts on it. For a histogram the name is the
# base name; its _bucket (plus "le"), _count and _sum series are allowed too.
COUNTERS: dict[str, frozenset[str]] = {
    "http_requests_total": frozenset({"method", "path", "status"}),
    "database_connection_errors_total": frozenset(),
    "rate_limit_exceeded_total": frozenset({"path"}),
    "csrf_failures_total": frozenset(),
    "auth_failures_total": frozenset({"reason"}),
    "encrypted_values_withheld_total": frozenset(),
}
GAUGES: dict[str, frozenset[str]] = {
    "http_requests_in_progress": frozenset({"method"}),
    "database_pool_size": frozenset(),
    "database_pool_checked_out": frozenset(),
    "database_pool_overflow": frozenset(),
    "database_pool_available": frozenset(),
    "system_memory_usage_ratio": frozenset(),
    "app_info": frozenset({"version", "environment"}),
}
HISTOGRAMS: dict[str, frozenset[str]] = {
    "http_request_duration_seconds": frozenset({"method", "path"}),
    "database_query_duration_seconds": frozenset({"operation"}),
}
HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10)

# Labels Prometheus adds to every scraped series; "pid" is added by prometheus_client in
# multiprocess mode to gauges that are not aggregated.
TARGET_LABELS = frozenset({"job", "instance", "pid"})

# Series Prometheus itself makes.
PROMETHEUS_SERIES: dict[str, frozenset[str]] = {
    "up": frozenset({"job", "instance"}),
    "ALERTS": frozenset({"alertname", "alertstate", "severity", "slo"}),
}


def exported_series() -> dict[str, frozenset[str]]:
    """Every series name the application exports, with the labels each may carry."""
    series: dict[str, frozenset[str]] = {}
    for name, labels in {**COUNTERS, **GAUGES}.items():
        series[name] = labels | TARGET_LABELS
    for name, labels in HISTOGRAMS.items():
        series[f"{name}_bucket"] = labels | TARGET_LABELS | {"le"}
        series[f"{name}_count"] = labels | TARGET_LABELS
        series[f"{name}_sum"] = labels | TARGET_LABELS
    return series


# Environment variables the application's settings read (plus PROMETHEUS_MULTIPROC_DIR,
# which prometheus_client reads, and WEB_CONCURRENCY, which gunicorn reads too).
SETTINGS: frozenset[str] = frozenset(
    {
        "DATABASE_URL",
        "SECRET_KEY",
        "ENVIRONMENT",
        "LOG_LEVEL",
        "DB_POOL_SIZE",
        "DB_MAX_OVERFLOW",
        "DB_POOL_TIMEOUT",
        "REDIS_URL",
        "PROMETHEUS_MULTIPROC_DIR",
        "WEB_CONCURRENCY",
        "SLO_UPTIME_TARGET",
        "SLO_LATENCY_P95_MS",
        "SLO_ERROR_RATE_TARGET",
        "ERROR_BUDGET_PERIOD_DAYS",
        "ALERTMANAGER_URL",
        "RATE_LIMIT_DEFAULT",
        "RATE_LIMIT_EXEMPT_IPS",
        "CORS_ORIGINS",
        "ENABLE_REQUEST_TRACING",
        "VAULT_ADDR",
        "VAULT_TOKEN",
        "VAULT_SECRET_PATH",
        "FIELD_ENCRYPTION_KEYS",
        "SECRET_KEY_PREVIOUS",
        "HOST",
        "PORT",
        "ALERT_WEBHOOK_SECRET",
        "BACKUP_DIR",
    }
)
