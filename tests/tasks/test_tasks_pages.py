"""The tasks pages: my tasks with overdue highlighted, quick complete with HTMX, forms."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from estatecrm.tasks import service as task_service
from estatecrm.tasks.models import Task
from estatecrm.tasks.schemas import TaskCreate
from tests.builders import PASSWORD, make_property, make_user

# Far enough from any day the suite runs on that "overdue" never depends on today.
LONG_AGO = date(2020, 1, 6)
FAR_AHEAD = date(2099, 1, 5)


async def _sign_in(client: Any, session: Any, agency: Any, role: str = "negotiator") -> Any:
    user = await make_user(session, agency, role=role, email=f"{role}@tasks.test")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


async def _make(session: Any, user: Any, **body: Any) -> Task:
    body.setdefault("assignee_id", user.id)
    return await task_service.create(session, user, TaskCreate(**body))


async def test_my_tasks_overdue_first_and_highlighted(
    client: Any, session: Any, agency: Any
) -> None:
    me = await _sign_in(client, session, agency)
    colleague = await make_user(session, agency, email="c@tasks.test", full_name="Cat Colleague")
    await _make(session, me, title="Renew licence", due_date=FAR_AHEAD)
    late = await _make(session, me, title="Serve notice", due_date=LONG_AGO, priority="urgent")
    await _make(session, colleague, title="Someone else's job", due_date=LONG_AGO)
    html = (await client.get("/tasks")).text
    assert "You have 2 open tasks" in html and "1 overdue" in html
    assert html.index("Serve notice") < html.index("Renew licence")
    assert "Someone else&#39;s job" not in html and "Someone else's job" not in html
    row = html.split(f'id="task-{late.id}"')[1].split("</tr>")[0]
    assert row.split(">")[0].strip() == 'class="task-overdue"'
    assert "Overdue" in row and 'aria-label="Complete: Serve notice"' in row
    everyone = await client.get("/tasks?view=all", headers={"HX-Request": "true"})
    assert "<html" not in everyone.text and "Someone else" in everyone.text
    overdue = (await client.get("/tasks?view=overdue")).text
    assert "Renew licence" not in overdue.split('id="results"')[1]


async def test_quick_complete_with_htmx_and_without(client: Any, session: Any, agency: Any) -> None:
    me = await _sign_in(client, session, agency)
    task = await _make(session, me, title="Return deposit", due_date=LONG_AGO)
    r = await client.post(f"/tasks/{task.id}/complete", headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert r.text.strip().startswith(f'<tr id="task-{task.id}" class="task-done')
    assert "Reopen" in r.text and "Overdue" not in r.text
    await session.refresh(task)
    assert task.done and task.done_by_id == me.id
    # Completed tasks leave "my tasks" unless asked for.
    assert "Return deposit" not in (await client.get("/tasks")).text
    assert "Return deposit" in (await client.get("/tasks?show_done=1")).text
    r = await client.post(f"/tasks/{task.id}/reopen", data={"next": f"/tasks/{task.id}"})
    assert r.status_code == 303 and r.headers["location"] == f"/tasks/{task.id}"
    await session.refresh(task)
    assert not task.done
    detail = (await client.get(f"/tasks/{task.id}")).text
    assert "Reopened" in detail and "Completed" in detail and "Created" in detail


async def test_add_and_edit_task_forms(client: Any, session: Any, agency: Any) -> None:
    me = await _sign_in(client, session, agency)
    prop = await make_property(session, me, reference="SO15-40000")
    form = await client.get(f"/tasks/new?entity_type=property&entity_id={prop.id}")
    assert form.status_code == 200 and "SO15-40000" in form.text
    before = await session.scalar(select(func.count(Task.id)))
    bad = await client.post(
        "/tasks",
        data={"title": "", "due_date": "soon", "priority": "normal", "property_reference": "X"},
    )
    assert bad.status_code == 422
    assert 'id="property_reference-error"' in bad.text
    bad = await client.post("/tasks", data={"title": "", "due_date": "soon", "priority": "normal"})
    assert bad.status_code == 422
    assert 'id="title-error"' in bad.text and 'id="due_date-error"' in bad.text
    assert await session.scalar(select(func.count(Task.id))) == before
    r = await client.post(
        "/tasks",
        data={
            "title": "Arrange viewing feedback",
            "due_date": "2099-02-01",
            "priority": "high",
            "assignee_id": str(me.id),
            "property_reference": "so15-40000",
        },
    )
    assert r.status_code == 303
    task = await session.scalar(select(Task).where(Task.title == "Arrange viewing feedback"))
    assert task is not None and (task.entity_type, task.entity_id) == ("property", prop.id)
    detail = (await client.get(r.headers["location"])).text
    assert f'href="/properties/{prop.id}"' in detail and "01 Feb 2099" in detail
    r = await client.post(
        f"/tasks/{task.id}/edit",
        data={
            "title": "Chase viewing feedback",
            "due_date": "",
            "priority": "low",
            "assignee_id": "",
        },
    )
    assert r.status_code == 303
    await session.refresh(task)
    assert task.title == "Chase viewing feedback" and task.due_date is None
    assert task.assignee_id is None
    bad = await client.post(f"/tasks/{task.id}/edit", data={"title": "", "priority": "low"})
    assert bad.status_code == 422 and 'id="title-error"' in bad.text


async def test_delete_needs_a_manager(client: Any, session: Any, agency: Any) -> None:
    me = await _sign_in(client, session, agency)
    task = await _make(session, me, title="Temporary")
    assert (await client.post(f"/tasks/{task.id}/delete")).status_code == 403
    manager = await make_user(session, agency, role="manager", email="m@tasks.test")
    await client.post("/logout")
    await client.post("/login", data={"email": manager.email, "password": PASSWORD})
    r = await client.post(f"/tasks/{task.id}/delete")
    assert r.status_code == 303
    assert (await client.get(f"/tasks/{task.id}")).status_code == 404


async def test_viewer_reads_only(client: Any, session: Any, agency: Any) -> None:
    owner = await make_user(session, agency, role="admin", email="o@tasks.test")
    task = await _make(session, owner, title="Visible")
    await _sign_in(client, session, agency, role="viewer")
    html = (await client.get("/tasks?view=all")).text
    assert "Visible" in html and "Complete: Visible" not in html and "Add task" not in html
    assert (await client.post(f"/tasks/{task.id}/complete")).status_code == 403


async def test_foreign_tasks_are_404(
    client: Any, session: Any, agency: Any, other_agency: Any
) -> None:
    await _sign_in(client, session, agency)
    rival = await make_user(session, other_agency, role="admin", email="r@rival.test")
    theirs = await _make(session, rival, title="Their secret")
    for path in (f"/tasks/{theirs.id}", f"/tasks/{theirs.id}/edit"):
        assert (await client.get(path)).status_code == 404
    for path in (f"/tasks/{theirs.id}/complete", f"/tasks/{theirs.id}/edit"):
        assert (await client.post(path, data={"title": "x"})).status_code == 404
    assert "Their secret" not in (await client.get("/tasks?view=all")).text
    their_prop = await make_property(session, rival)
    r = await client.get(f"/tasks/new?entity_type=property&entity_id={their_prop.id}")
    assert r.status_code == 422
