"""Alertmanager's default receiver: firing alerts become tasks for an admin, once; resolved
alerts complete them; only callers with ALERT_WEBHOOK_SECRET get in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from estatecrm.tasks.models import Task, TaskPriority

URL = "/api/v1/alerts/alertmanager"
SECRET = "alert-webhook-test-secret-0123456789"  # pragma: allowlist secret
FINGERPRINT = "5d4f1c2b3a697887"  # Alertmanager's hex id of an alert  # pragma: allowlist secret


def notification(status: str, *alerts: dict[str, Any]) -> dict[str, Any]:
    """What Alertmanager's webhook_config posts (payload version 4)."""
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "crm-tasks",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def alert(status: str, fingerprint: str = FINGERPRINT, **labels: str) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": "high", **labels},
        "annotations": {
            "summary": "5xx error rate above 1 %",
            "description": "2.5% of requests answered 5xx over the last 5 minutes.",
            "runbook_url": "https://example.test/docs/runbook.md#higherrorrate",
        },
        "startsAt": "2026-12-07T14:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=...",
        "fingerprint": fingerprint,
    }


def configure(app: Any, **settings: Any) -> None:
    app.state.settings = app.state.settings.model_copy(update=settings)


def bearer(secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def tasks_of(session: Any, agency_id: int) -> list[Task]:
    stmt = select(Task).where(Task.agency_id == agency_id)
    rows = await session.scalars(stmt.execution_options(populate_existing=True))
    return list(rows.all())


async def test_off_without_a_secret_and_closed_to_strangers(
    app: Any, raw_client: Any, session: Any, agency: Any, admin: Any
) -> None:
    body = notification("firing", alert("firing"))
    assert (await raw_client.post(URL, json=body, headers=bearer())).status_code == 404
    configure(app, alert_webhook_secret=SECRET)
    wrong = await raw_client.post(URL, json=body, headers=bearer("guess"))
    missing = await raw_client.post(URL, json={"not": "an alert"})
    assert wrong.status_code == 401 and missing.status_code == 401
    assert await tasks_of(session, agency.id) == []


async def test_a_firing_alert_becomes_one_urgent_task_and_resolving_completes_it(
    app: Any, raw_client: Any, session: Any, agency: Any, admin: Any, other_agency: Any
) -> None:
    configure(app, alert_webhook_secret=SECRET)  # no agency named: the first one created
    firing = notification("firing", alert("firing"), alert("firing", "aa11", severity="warning"))
    first = await raw_client.post(URL, json=firing, headers=bearer())
    assert first.status_code == 200, first.text
    # Alertmanager repeats a notification every repeat_interval: still one task per alert.
    again = await raw_client.post(URL, json=firing, headers=bearer())
    assert again.json()["tasks_open"] == first.json()["tasks_open"]
    tasks = {t.title: t for t in await tasks_of(session, agency.id)}
    assert await tasks_of(session, other_agency.id) == []
    assert len(tasks) == 2
    high = tasks["[high] HighErrorRate: 5xx error rate above 1 %"]
    assert high.priority == TaskPriority.urgent and high.assignee_id == admin.id
    assert "#higherrorrate" in high.description and "2.5% of requests" in high.description
    assert not high.done
    warning = tasks["[warning] HighErrorRate: 5xx error rate above 1 %"]
    assert warning.priority == TaskPriority.high

    resolved = await raw_client.post(
        URL, json=notification("resolved", alert("resolved")), headers=bearer()
    )
    assert resolved.json() == {"tasks_open": [], "tasks_completed": [high.id]}
    by_id = {t.id: t for t in await tasks_of(session, agency.id)}
    assert by_id[high.id].done and not by_id[warning.id].done


async def test_alerts_go_to_the_agency_the_setting_names(
    app: Any, raw_client: Any, session: Any, agency: Any, other_agency: Any
) -> None:
    configure(app, alert_webhook_secret=SECRET, alert_task_agency_id=other_agency.id)
    r = await raw_client.post(URL, json=notification("firing", alert("firing")), headers=bearer())
    assert r.status_code == 200, r.text
    assert len(await tasks_of(session, other_agency.id)) == 1
    assert await tasks_of(session, agency.id) == []
