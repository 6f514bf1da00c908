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
    for code in ("0", "1", "2"):
        assert re.search(rf"^\| {code} \|", text, re.MULTILINE), f"exit code {code}"
    # The gate fails closed: no exit code 3 lets an unread budget through `-eq 2`.
    gate = text.split("### Step 1: check the error budget", 1)[1].split("### Step 2", 1)[0]
    assert not re.search(r"^\| 3 \|", gate, re.MULTILINE)
    assert "unknown" in gate and '"$status" -eq 2' in gate


def test_following_the_runbook_here_gives_working_commands() -> None:
    text = RUNBOOK.read_text(encoding="utf-8")
    assert "following-the-runbook-here" in markdown_anchors(RUNBOOK)
    section = text.split("## Following the runbook here", 1)[1].split("\n## ", 1)[0]
    for seed in ("railway", "kubectl", "pg_restore", "properties", "awk", "sort -k2"):
        assert seed in section, seed
    assert section.count("| jq ") >= 4  # the JSON logs, read with jq
    # The table the runbook's SQL names is the one the code has.
    from estatecrm.properties.models import Property

    assert f"FROM {Property.__tablename__};" in section


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
