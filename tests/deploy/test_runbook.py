"""docs/runbook.md and the post-mortem template: links resolve, every alert has a section."""

from __future__ import annotations

import re

from tests.deploy.helpers import ROOT, RUNBOOK, markdown_anchors, rules

TEMPLATE = ROOT / "docs" / "post-mortems" / "TEMPLATE.md"


def test_every_alert_has_a_section() -> None:
    anchors = markdown_anchors(RUNBOOK)
    for name in sorted({rule["alert"] for rule in rules("alert")}):
        assert name.lower() in anchors, f"docs/runbook.md has no '### {name}' section"


def test_internal_links_resolve() -> None:
    anchors = set(markdown_anchors(RUNBOOK))
    links = re.findall(r"\]\(#([^)]+)\)", RUNBOOK.read_text(encoding="utf-8"))
    assert links
    assert sorted(set(links) - anchors) == []


def test_runbook_covers_the_procedures() -> None:
    anchors = set(markdown_anchors(RUNBOOK))
    for section in (
        "deploying-a-release",
        "rolling-back",
        "rolling-back-a-migration",
        "alerts",
        "backups-and-restores",
        "secret-rotation",
        "incidents",
        "post-mortems",
        "escalation",
    ):
        assert section in anchors
    text = RUNBOOK.read_text(encoding="utf-8")
    for command in (
        "alembic upgrade head",
        "alembic downgrade -1",
        "python scripts/check-slo.py",
        "pytest tests/smoke --base-url=",
        "estatecrm backup create",
        "estatecrm backup verify",
        "estatecrm backup restore",
        "estatecrm secrets rotate",
    ):
        assert command in text, command


def test_check_slo_exit_codes_are_documented() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    for code in ("0", "1", "2", "3"):
        assert re.search(rf"^\| {code} \|", text, re.MULTILINE), f"exit code {code}"


def test_post_mortem_template_has_the_sections() -> None:
    anchors = set(markdown_anchors(TEMPLATE))
    for section in (
        "summary",
        "timeline",
        "impact",
        "root-cause",
        "what-went-well",
        "what-went-wrong",
        "action-items",
        "lessons-learned",
    ):
        assert section in anchors, section
