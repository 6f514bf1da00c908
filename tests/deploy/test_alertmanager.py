"""Alertmanager: the config is valid with and without its commented PagerDuty and Slack
routes, every alert reaches the CRM's own task webhook out of the box, high is routed like
critical, and warnings are inhibited under criticals and highs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.deploy.helpers import ALERTMANAGER_CONFIG, ROOT, load_yaml, rules, run, tool

# severity -> the receivers an alert of that severity must reach
EXPECTED_RECEIVERS = {"critical": "crm-tasks", "high": "crm-tasks", "warning": "crm-tasks"}
# ... and with the "#|" lines (PagerDuty and Slack) uncommented.
WITH_PAGING = {
    "critical": "pagerduty,slack,crm-tasks",
    "high": "pagerduty,slack,crm-tasks",
    "warning": "slack,crm-tasks",
}


@pytest.fixture(scope="module")
def with_paging(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The config as an operator gets it by uncommenting the PagerDuty and Slack lines."""
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    assert text.count("\n#|") >= 20, "the optional PagerDuty/Slack lines are missing"
    path = tmp_path_factory.mktemp("alertmanager") / "alertmanager.yml"
    path.write_text(re.sub(r"(?m)^#\|", "", text), encoding="utf-8")
    return path


def test_amtool_check_config(with_paging: Path) -> None:
    for config in (ALERTMANAGER_CONFIG, with_paging):
        result = run(tool("amtool"), "check-config", str(config))
        assert result.returncode == 0, result.stdout + result.stderr


def _routes(config: Path, receivers: str, *labels: str) -> None:
    result = run(
        tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={config}",
        f"--verify.receivers={receivers}",
        *labels,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("severity", "receivers"), sorted(EXPECTED_RECEIVERS.items()))
def test_routing_by_severity(severity: str, receivers: str, with_paging: Path) -> None:
    _routes(ALERTMANAGER_CONFIG, receivers, "alertname=AnyAlert", f"severity={severity}")
    _routes(with_paging, WITH_PAGING[severity], "alertname=AnyAlert", f"severity={severity}")


def test_the_paging_receivers_read_their_secrets_from_files(with_paging: Path) -> None:
    receivers = {r["name"]: r for r in load_yaml(with_paging)["receivers"]}
    assert receivers["pagerduty"]["pagerduty_configs"][0]["routing_key_file"]
    assert receivers["slack"]["slack_configs"][0]["api_url_file"]


@pytest.mark.parametrize("alertname", sorted({rule["alert"] for rule in rules("alert")}))
def test_every_alert_reaches_a_receiver_for_its_severity(alertname: str) -> None:
    for rule in rules("alert"):
        if rule["alert"] != alertname:
            continue
        severity = rule["labels"]["severity"]
        assert severity in EXPECTED_RECEIVERS, f"{alertname}: no route for severity {severity}"
        labels = [
            f"{key}={value}" for key, value in {**rule["labels"], "alertname": alertname}.items()
        ]
        result = run(
            tool("amtool"),
            "config",
            "routes",
            "test",
            f"--config.file={ALERTMANAGER_CONFIG}",
            f"--verify.receivers={EXPECTED_RECEIVERS[severity]}",
            *labels,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_warning_is_inhibited_by_the_critical_of_the_same_alert() -> None:
    config = load_yaml(ALERTMANAGER_CONFIG)
    inhibit = config["inhibit_rules"]
    matching = [
        rule
        for rule in inhibit
        if rule["source_matchers"] == ['severity =~ "critical|high"']
        and rule["target_matchers"] == ['severity = "warning"']
    ]
    assert matching, inhibit
    assert "alertname" in matching[0]["equal"]


def test_the_default_receiver_is_the_crm_task_webhook_with_the_shared_secret() -> None:
    config = load_yaml(ALERTMANAGER_CONFIG)
    assert config["route"]["receiver"] == "crm-tasks"
    (receiver,) = config["receivers"]
    (hook,) = receiver["webhook_configs"]
    # The compose service name and the route the CRM serves.
    from estatecrm.main import create_app

    paths = set(create_app().openapi()["paths"])
    assert hook["url"] == "http://app:8000/api/v1/alerts/alertmanager"
    assert "/api/v1/alerts/alertmanager" in paths
    assert hook["send_resolved"] is True
    auth = hook["http_config"]["authorization"]
    assert auth["type"] == "Bearer"
    # compose.yml mounts the secret there, from the ALERT_WEBHOOK_SECRET the app reads too.
    compose = load_yaml(ROOT / "compose.yml")
    assert auth["credentials_file"] == "/run/secrets/alert_webhook_secret"
    assert compose["secrets"]["alert_webhook_secret"] == {"environment": "ALERT_WEBHOOK_SECRET"}
    assert "alert_webhook_secret" in compose["services"]["alertmanager"]["secrets"]
