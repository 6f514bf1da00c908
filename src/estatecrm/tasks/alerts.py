"""`POST /api/v1/alerts/alertmanager`: Alertmanager's default receiver, so every alert reaches
a person with nothing else to run — a firing alert becomes an urgent task for an admin, and
the task is completed when Alertmanager reports the alert resolved.

Authenticated by `Authorization: Bearer <ALERT_WEBHOOK_SECRET>` (deploy/alertmanager reads the
same secret from a file); without the setting the endpoint does not exist (404).
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from estatecrm.auth import service as auth_service
from estatecrm.config import Settings
from estatecrm.db.scoping import bind_agency
from estatecrm.db.session import SessionDep
from estatecrm.errors import NotFound, Unauthorized
from estatecrm.kit.clock import today_london
from estatecrm.tasks import service
from estatecrm.tasks.models import TaskPriority

router = APIRouter(prefix="/api/v1/alerts", tags=["operations"])

PRIORITY = {
    "critical": TaskPriority.urgent,
    "high": TaskPriority.urgent,
    "warning": TaskPriority.high,
}


class Alert(BaseModel):
    """One alert of an Alertmanager webhook notification (version 4)."""

    model_config = ConfigDict(extra="ignore")

    status: str
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""  # Alertmanager's field names
    generatorURL: str = ""
    fingerprint: str = Field(min_length=1, max_length=64)


class Notification(BaseModel):
    """An Alertmanager webhook notification: a group of alerts."""

    model_config = ConfigDict(extra="ignore")

    status: str
    alerts: list[Alert] = Field(max_length=1000)
    externalURL: str = ""


async def _authorise(request: Request) -> None:
    """Before the body is read: unknown callers learn nothing about the payload format."""
    secret = request.app.state.settings.alert_webhook_secret
    if not secret:
        raise NotFound()
    given = request.headers.get("authorization", "")
    scheme, _, token = given.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), secret):
        raise Unauthorized("Wrong or missing alert webhook secret")


def _title(alert: Alert) -> str:
    name = alert.labels.get("alertname", "Alert")
    severity = alert.labels.get("severity", "unknown")
    summary = alert.annotations.get("summary", "")
    return f"[{severity}] {name}: {summary}".rstrip(": ")[:200]


def _description(alert: Alert, external_url: str) -> str:
    lines = [alert.annotations.get("description", "")]
    runbook = alert.annotations.get("runbook_url") or alert.annotations.get("runbook")
    if runbook:
        lines.append(f"What to do: {runbook}")
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
    lines += [f"Labels: {labels}", f"Firing since: {alert.startsAt}"]
    if alert.generatorURL:
        lines.append(f"Source: {alert.generatorURL}")
    if external_url:
        lines.append(f"Alertmanager: {external_url}")
    return "\n".join(line for line in lines if line)[:5000]


@router.post("/alertmanager", dependencies=[Depends(_authorise)])
async def alertmanager_webhook(
    request: Request, body: Notification, session: SessionDep
) -> dict[str, Any]:
    """Turn firing alerts into tasks for an admin; complete them when resolved."""
    settings: Settings = request.app.state.settings
    agency_id, admin_id = await auth_service.alert_recipient(session, settings.alert_task_agency_id)
    bind_agency(session, agency_id)  # the tasks are the receiving agency's
    opened: list[int] = []
    closed: list[int] = []
    for alert in body.alerts:
        rule_key = f"alert:{alert.fingerprint}"
        if alert.status == "resolved":
            task = await service.complete_rule_task(
                session,
                agency_id=agency_id,
                rule_key=rule_key,
                reason="Alertmanager reports the alert resolved",
            )
            if task is not None:
                closed.append(task.id)
            continue
        task = await service.ensure_task(
            session,
            agency_id=agency_id,
            rule_key=rule_key,
            title=_title(alert),
            description=_description(alert, body.externalURL),
            due_date=today_london(),
            assignee_id=admin_id,
            priority=PRIORITY.get(alert.labels.get("severity", ""), TaskPriority.normal),
        )
        opened.append(task.id)
    return {"tasks_open": opened, "tasks_completed": closed}
