"""Grafana: provisioning files and dashboards, with PromQL that parses and uses real metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.helpers import DASHBOARDS, DEPLOY, load_yaml, run, tool, unknown_names

EXPECTED = [
    "api-performance.json",
    "database-health.json",
    "error-budget.json",
    "security-events.json",
]
PROVISIONING = DEPLOY / "grafana" / "provisioning"
# What the Grafana variables of these dashboards stand for, to check the PromQL as Prometheus
# would see it once Grafana has filled them in.
VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "1m",
    "$__range": "1h",
    "$instance": ".*",
    "$slo": "availability",
}


def load(name: str) -> dict[str, Any]:
    board: dict[str, Any] = json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))
    return board


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those inside collapsed rows."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def expressions() -> list[tuple[str, str]]:
    """(dashboard, PromQL) of every query, templating queries included."""
    found: list[tuple[str, str]] = []
    for name in EXPECTED:
        dashboard = load(name)
        for panel in panels(dashboard):
            found.extend((name, target["expr"]) for target in panel.get("targets", []))
        for variable in dashboard.get("templating", {}).get("list", []):
            if variable.get("type") == "query":
                query = variable["query"]
                query = query["query"] if isinstance(query, dict) else query
                match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query.strip())
                found.append((name, match.group(1) if match else query))
    return found


def fill_variables(expr: str) -> str:
    for variable, value in VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


def test_the_four_dashboards_exist_and_nothing_else() -> None:
    assert sorted(p.name for p in DASHBOARDS.glob("*.json")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_dashboard_is_well_formed(name: str) -> None:
    dashboard = load(name)
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    assert dashboard["uid"] == "estatecrm-" + Path(name).stem
    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    real = [panel for panel in panels(dashboard) if panel["type"] != "row"]
    assert len(real) >= 4
    for panel in real:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == "prometheus"


def test_dashboard_uids_and_titles_are_unique() -> None:
    boards = [load(name) for name in EXPECTED]
    assert len({b["uid"] for b in boards}) == len(boards)
    assert len({b["title"] for b in boards}) == len(boards)


def test_links_between_dashboards_resolve() -> None:
    uids = {load(name)["uid"] for name in EXPECTED}
    for name in EXPECTED:
        for link in load(name).get("links", []):
            if link.get("url", "").startswith("/d/"):
                assert link["url"][3:] in uids, f"{name}: {link['url']}"


@pytest.mark.parametrize(("dashboard", "expr"), expressions())
def test_queries_use_only_contract_metrics_and_labels(dashboard: str, expr: str) -> None:
    assert unknown_names(fill_variables(expr)) == []


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    # promtool parses rule expressions, so every query goes into a throw-away rule file.
    rules = [
        {"record": f"dashboard:query{n}", "expr": fill_variables(expr)}
        for n, (_, expr) in enumerate(expressions())
    ]
    path = tmp_path / "dashboards.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = run(tool("promtool"), "check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr


def test_datasource_provisioning() -> None:
    config = load_yaml(PROVISIONING / "datasources" / "prometheus.yml")
    assert config["apiVersion"] == 1
    (source,) = config["datasources"]
    assert source["uid"] == "prometheus"
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["isDefault"] is True


def test_dashboard_provisioning() -> None:
    config = load_yaml(PROVISIONING / "dashboards" / "dashboards.yml")
    assert config["apiVersion"] == 1
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/")


def test_each_dashboard_covers_its_subject() -> None:
    text = {name: json.dumps(load(name)) for name in EXPECTED}
    assert "http_request_duration_seconds_bucket" in text["api-performance.json"]
    assert "slo:period_error_budget_remaining:ratio" in text["error-budget.json"]
    for metric in ("rate_limit_exceeded_total", "auth_failures_total", "csrf_failures_total"):
        assert metric in text["security-events.json"]
    for metric in ("database_pool_checked_out", "database_connection_errors_total"):
        assert metric in text["database-health.json"]
