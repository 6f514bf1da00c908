"""Rules create tasks where a person must act: certificate renewals, and `ensure_task` itself."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from estatecrm.activity import service as activity_service
from estatecrm.compliance import service as compliance_service
from estatecrm.compliance.schemas import CertificateUpdate
from estatecrm.db import scoping
from estatecrm.errors import Conflict
from estatecrm.tasks import service as task_service
from estatecrm.tasks.models import Task, TaskPriority
from estatecrm.tasks.schemas import TaskUpdate
from tests.builders import make_property, make_user
from tests.compliance.builders import make_certificate


async def _tasks(session: Any, agency_id: int) -> list[Task]:
    rows = await session.scalars(select(Task).where(Task.agency_id == agency_id).order_by(Task.id))
    return list(rows)


@pytest.fixture
async def prop(session: Any, agency: Any, admin: Any) -> Any:
    negotiator = await make_user(session, agency, email="nia@agency.test", full_name="Nia N")
    return await make_property(
        session, admin, address_line1="12 Carlton Crescent", negotiator_id=negotiator.id
    )


async def test_a_certificate_gets_one_renewal_task(
    session: Any, agency: Any, admin: Any, prop: Any
) -> None:
    cert = await make_certificate(session, admin, prop, issued_date=date(2025, 9, 1))
    [task] = await _tasks(session, agency.id)
    assert task.title == "Renew gas safety certificate: 12 Carlton Crescent, SO15 2EZ"
    assert task.due_date == date(2026, 8, 2)  # 30 days before 1 Sep 2026
    assert task.assignee_id == prop.negotiator_id
    assert (task.entity_type, task.entity_id) == ("certificate", cert.id)
    assert task.priority == TaskPriority.high and not task.done
    assert task.rule_key == f"certificate-renewal:{prop.id}:gas_safety"

    # Moving the expiry moves the same task; no duplicate.
    await compliance_service.update(
        session, admin, cert.id, CertificateUpdate(expiry_date=date(2026, 8, 15))
    )
    [task] = await _tasks(session, agency.id)
    assert task.due_date == date(2026, 7, 16)
    # Editing something else changes nothing.
    await compliance_service.update(session, admin, cert.id, CertificateUpdate(notes="Boiler ok"))
    assert len(await _tasks(session, agency.id)) == 1


async def test_renewing_closes_the_task_and_opens_the_next(
    session: Any, agency: Any, admin: Any, prop: Any
) -> None:
    old = await make_certificate(session, admin, prop, issued_date=date(2025, 6, 1))
    new = await make_certificate(session, admin, prop, issued_date=date(2026, 5, 20))
    first, second = await _tasks(session, agency.id)
    assert first.done and first.done_at is not None and first.entity_id == old.id
    assert not second.done and second.entity_id == new.id
    assert second.due_date == date(2027, 4, 20)
    timeline, _ = await activity_service.timeline(session, agency.id, "task", first.id)
    assert timeline[0].action == "completed" and f"#{new.id}" in timeline[0].summary
    # Recording an older certificate afterwards is history: no task moves.
    await make_certificate(session, admin, prop, issued_date=date(2024, 6, 1))
    assert [(t.done, t.entity_id) for t in await _tasks(session, agency.id)] == [
        (True, old.id),
        (False, new.id),
    ]


async def test_deleting_certificates_relinks_then_removes_the_task(
    session: Any, agency: Any, admin: Any, prop: Any
) -> None:
    old = await make_certificate(session, admin, prop, issued_date=date(2025, 6, 1))
    new = await make_certificate(session, admin, prop, issued_date=date(2026, 5, 20))
    await compliance_service.delete(session, admin, new.id)
    open_tasks = [t for t in await _tasks(session, agency.id) if not t.done]
    assert [(t.entity_id, t.due_date) for t in open_tasks] == [(old.id, date(2026, 5, 2))]
    await compliance_service.delete(session, admin, old.id)
    assert [t for t in await _tasks(session, agency.id) if not t.done] == []


async def test_a_completed_task_is_not_recreated_for_the_same_expiry(
    session: Any, agency: Any, admin: Any, prop: Any
) -> None:
    cert = await make_certificate(session, admin, prop, type="eicr", issued_date=date(2022, 2, 1))
    [task] = await _tasks(session, agency.id)
    assert task.priority == TaskPriority.high
    await task_service.set_done(session, admin, task.id, True)
    await compliance_service.update(session, admin, cert.id, CertificateUpdate(reference="E-9"))
    assert len(await _tasks(session, agency.id)) == 1
    # A new expiry is a new cycle.
    await compliance_service.update(
        session, admin, cert.id, CertificateUpdate(expiry_date=date(2027, 3, 1))
    )
    tasks = await _tasks(session, agency.id)
    assert [(t.done, t.due_date) for t in tasks] == [
        (True, date(2027, 1, 2)),
        (False, date(2027, 1, 30)),
    ]
    # The old task cannot be reopened beside the new one.
    with pytest.raises(Conflict):
        await task_service.set_done(session, admin, tasks[0].id, False)


async def test_ensure_task_is_idempotent_and_keeps_a_chosen_assignee(
    session: Any, agency: Any, admin: Any, prop: Any
) -> None:
    kwargs: dict[str, Any] = {
        "agency_id": agency.id,
        "rule_key": "deposit-protection:41",
        "title": "Protect the deposit",
        "due_date": date(2026, 7, 1),
        "assignee_id": prop.negotiator_id,
        "entity_type": "property",
        "entity_id": prop.id,
    }
    first = await task_service.ensure_task(session, **kwargs)
    again = await task_service.ensure_task(session, **kwargs)
    assert first.id == again.id and len(await _tasks(session, agency.id)) == 1
    # A person reassigns it; the rule running again keeps their choice.
    await task_service.update(session, admin, first.id, TaskUpdate(assignee_id=admin.id))
    moved = await task_service.ensure_task(session, **{**kwargs, "due_date": date(2026, 7, 5)})
    assert moved.id == first.id
    assert moved.assignee_id == admin.id and moved.due_date == date(2026, 7, 5)
    with scoping.as_agency(session, agency.id + 999):
        other_agency_task = await task_service.open_rule_task(
            session, agency.id + 999, "deposit-protection:41"
        )
    assert other_agency_task is None


async def test_deleting_a_property_removes_its_renewal_tasks_only(
    client: Any, session: Any, agency: Any, admin: Any, prop: Any, headers: Any
) -> None:
    """Renewal tasks of a deleted property would sit open for ever; a task a person wrote
    stays (shown as linked to a deleted record), and another property's tasks stay."""
    await make_certificate(session, admin, prop, issued_date=date(2026, 5, 1))
    await make_certificate(session, admin, prop, type="eicr", issued_date=date(2022, 1, 10))
    other = await make_property(session, admin, address_line1="1 Other Street")
    await make_certificate(session, admin, other, issued_date=date(2026, 5, 1))
    manual = await client.post(
        "/api/v1/tasks",
        json={"title": "Call the landlord", "entity_type": "property", "entity_id": prop.id},
        headers=headers,
    )
    assert manual.status_code == 201, manual.text
    keys = {t.rule_key for t in await _tasks(session, agency.id) if t.rule_key}
    assert f"certificate-renewal:{prop.id}:gas_safety" in keys

    assert (
        await client.delete(f"/api/v1/properties/{prop.id}", headers=headers)
    ).status_code == 204
    left = await _tasks(session, agency.id)
    assert [t.rule_key for t in left if t.rule_key] == [
        f"certificate-renewal:{other.id}:gas_safety"
    ]
    kept = await client.get(f"/api/v1/tasks/{manual.json()['id']}", headers=headers)
    assert kept.status_code == 200 and kept.json()["title"] == "Call the landlord"
    assert "(deleted)" in kept.json()["link"]["label"]
