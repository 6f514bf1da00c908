"""Alertmanager: the config is valid, routes by severity, and inhibits warnings under criticals."""

from __future__ import annotations

import re

import pytest

from tests.deploy.helpers import ALERTMANAGER_CONFIG, load_yaml, rules, run, tool

# severity -> the receivers an alert of that severity must reach
EXPECTED_RECEIVERS = {"critical": "pager,chat", "warning": "chat"}


def test_amtool_check_config() -> None:
    result = run(tool("amtool"), "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("severity", "receivers"), sorted(EXPECTED_RECEIVERS.items()))
def test_routing_by_severity(severity: str, receivers: str) -> None:
    result = run(
        tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        f"--verify.receivers={receivers}",
        "alertname=AnyAlert",
        f"severity={severity}",
    )
    assert result.returncode == 0, result.stdout + result.stderr


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
        if rule["source_matchers"] == ['severity = "critical"']
        and rule["target_matchers"] == ['severity = "warning"']
    ]
    assert matching, inhibit
    assert "alertname" in matching[0]["equal"]


def test_receivers_are_real_webhooks_without_placeholders() -> None:
    config = load_yaml(ALERTMANAGER_CONFIG)
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert {"pager", "chat"} <= set(receivers)
    for name in ("pager", "chat"):
        hooks = receivers[name].get("webhook_configs", [])
        assert hooks, f"{name} has no webhook"
        for hook in hooks:
            assert re.fullmatch(r"https?://[\w.-]+(:\d+)?/\S*", hook["url"]), hook["url"]
            assert not re.search(r"example\.|change.?me|todo|xxx|<|\{", hook["url"], re.I)
            assert hook.get("send_resolved") is True
