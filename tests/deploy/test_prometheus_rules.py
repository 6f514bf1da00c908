"""Prometheus config, recording and alert rules: promtool, the metric contract, the runbook."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.helpers import (
    PROMETHEUS,
    PROMTOOL_TESTS,
    ROOT,
    RULE_FILES,
    RUNBOOK,
    RUNBOOK_URL_BASE,
    load_yaml,
    markdown_anchors,
    recording_rule_names,
    rules,
    run,
    tool,
    unknown_names,
)

REQUIRED_ALERTS = {
    "APIDown",
    "HighErrorRate",
    "HighLatency",
    "ErrorBudgetBurnRateCritical",
    "ErrorBudgetBurnRateWarning",
    "DatabaseConnectionFailure",
    "RateLimitExceededSpike",
    "HighMemoryUsage",
    "EncryptedValuesWithheld",
}
SLOS = ("availability", "latency", "error_rate")
SLI_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]
ALERTS = rules("alert")
RULE_IDS = [f"{r['alert']}-{r['labels'].get('severity')}-{n}" for n, r in enumerate(ALERTS)]


def test_rule_files_exist() -> None:
    names = {path.name for path in RULE_FILES}
    assert {"recording.yml", "alerts.yml"} <= names
    assert PROMTOOL_TESTS, "deploy/prometheus/tests/ has no promtool unit tests"


def test_promtool_check_rules() -> None:
    result = run(tool("promtool"), "check", "rules", *map(str, RULE_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_config() -> None:
    result = run(tool("promtool"), "check", "config", str(PROMETHEUS / "prometheus.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests() -> None:
    result = run(tool("promtool"), "test", "rules", *map(str, PROMTOOL_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_loads_every_rule_file_and_sends_to_alertmanager() -> None:
    config = load_yaml(PROMETHEUS / "prometheus.yml")
    loaded = {(PROMETHEUS / name).resolve() for name in config["rule_files"]}
    assert loaded == {path.resolve() for path in RULE_FILES}
    targets = [
        target
        for am in config["alerting"]["alertmanagers"]
        for static in am["static_configs"]
        for target in static["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    app_job = jobs["estatecrm"]
    assert app_job.get("metrics_path", "/metrics") == "/metrics"
    assert [t for s in app_job["static_configs"] for t in s["targets"]] == ["app:8000"]


def test_every_required_alert_is_defined() -> None:
    assert {rule["alert"] for rule in ALERTS} >= REQUIRED_ALERTS


def test_sli_recording_rules_cover_every_window_for_every_slo() -> None:
    made = {(rule["record"], rule.get("labels", {}).get("slo")) for rule in rules("record")}
    for window in [*SLI_WINDOWS, "30d"]:
        for slo in SLOS:
            assert (f"slo:sli_error:ratio_rate{window}", slo) in made


def test_every_sli_counts_the_requests_the_app_counts() -> None:
    # The app's SLIs leave out /health, /metrics and /static/ (ops/slo.py); so must every
    # expression over the request metrics, or the two figures disagree.
    from estatecrm.ops.slo import SLI_EXEMPT_PATHS, SLI_EXEMPT_PREFIXES

    exempt = "|".join([*SLI_EXEMPT_PATHS, *(p + ".*" for p in SLI_EXEMPT_PREFIXES)])
    selector = f'path!~"{exempt}"'
    for rule in rules("record") + rules("alert"):
        expr = rule["expr"]
        for metric in ("http_requests_total{", "http_request_duration_seconds_"):
            for part in expr.split(metric)[1:]:
                assert part.split("}", 1)[0].count(selector) == 1, (rule, part[:120])


def test_high_error_rate_is_severity_high_and_reads_the_error_rate_sli() -> None:
    found = {r["labels"]["severity"]: r["expr"] for r in ALERTS if r["alert"] == "HighErrorRate"}
    assert set(found) == {"warning", "high"}
    assert all('slo:sli_error:ratio_rate5m{slo="error_rate"}' in e for e in found.values())


@pytest.mark.parametrize("rule", ALERTS, ids=RULE_IDS)
def test_alert_has_severity_summary_description_and_runbook(rule: dict[str, Any]) -> None:
    assert rule.get("labels", {}).get("severity") in {"critical", "high", "warning"}
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        assert annotations.get(key, "").strip(), f"{rule['alert']} has no {key}"
    assert annotations["runbook_url"].startswith(RUNBOOK_URL_BASE)


@pytest.mark.parametrize("rule", ALERTS, ids=RULE_IDS)
def test_runbook_url_points_at_a_real_heading(rule: dict[str, Any]) -> None:
    anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
    assert anchor in markdown_anchors(RUNBOOK), (
        f"{rule['alert']}: docs/runbook.md has no heading with the anchor #{anchor}"
    )


def test_alerts_with_one_name_differ_in_severity_or_slo() -> None:
    seen: set[tuple[str, ...]] = set()
    for rule in ALERTS:
        key = (rule["alert"], rule["labels"]["severity"], rule["labels"].get("slo", ""))
        assert key not in seen, f"two rules for {key}"
        seen.add(key)


@pytest.mark.parametrize(
    "rule", rules("alert") + rules("record"), ids=lambda r: r.get("alert") or r.get("record")
)
def test_rule_uses_only_contract_metrics_and_labels(rule: dict[str, Any]) -> None:
    assert unknown_names(rule["expr"]) == []


def _promtool_cases() -> list[tuple[str, dict[str, Any]]]:
    cases: list[tuple[str, dict[str, Any]]] = []
    for path in PROMTOOL_TESTS:
        for group in load_yaml(path)["tests"]:
            cases.extend((path.name, case) for case in group.get("alert_rule_test", []))
    return cases


@pytest.mark.parametrize("alertname", sorted({rule["alert"] for rule in ALERTS}))
def test_every_alert_has_a_firing_and_a_silent_unit_test(alertname: str) -> None:
    cases = [case for _, case in _promtool_cases() if case["alertname"] == alertname]
    assert any(case.get("exp_alerts") for case in cases), f"no test shows {alertname} firing"
    assert any(not case.get("exp_alerts") for case in cases), f"no test shows {alertname} silent"


@pytest.mark.parametrize(
    ("alertname", "severity"),
    sorted({(rule["alert"], rule["labels"]["severity"]) for rule in ALERTS}),
)
def test_every_severity_of_an_alert_is_shown_firing(alertname: str, severity: str) -> None:
    fired = {
        alert["exp_labels"]["severity"]
        for _, case in _promtool_cases()
        if case["alertname"] == alertname
        for alert in case.get("exp_alerts") or []
    }
    assert severity in fired


def test_every_recording_rule_is_unit_tested() -> None:
    exprs = " ".join(
        case["expr"]
        for path in PROMTOOL_TESTS
        for group in load_yaml(path)["tests"]
        for case in group.get("promql_expr_test", [])
    )
    untested = {name for name in recording_rule_names() if name not in exprs}
    # The 30d ratio is exercised through the budget-remaining rule built on it.
    untested -= {"slo:sli_error:ratio_rate30d", "slo:period_burn_rate:ratio"}
    assert "slo:sli_minute_down:bool" in recording_rule_names()
    assert untested == set()


def test_promtool_tests_load_the_real_rule_files() -> None:
    for path in PROMTOOL_TESTS:
        for name in load_yaml(path)["rule_files"]:
            resolved = (path.parent / name).resolve()
            assert resolved in {p.resolve() for p in RULE_FILES}, f"{path.name}: {name}"
    assert ROOT in PROMETHEUS.parents
