"""Business rules of maintenance jobs: reported → quoted → approved → in progress → done."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.auth.models import User
from estatecrm.contacts import service as contact_service
from estatecrm.errors import NotFound, ValidationFailed, update_values
from estatecrm.kit.clock import today_london, utcnow
from estatecrm.maintenance import repository
from estatecrm.maintenance.models import JobStatus, MaintenanceJob
from estatecrm.maintenance.schemas import JobCreate, JobFilters, JobRead, JobUpdate
from estatecrm.properties import service as property_service
from estatecrm.properties.models import Property

ENTITY = "maintenance_job"
TRACKED = [
    "title",
    "description",
    "priority",
    "status",
    "reported_by_contact_id",
    "contractor_contact_id",
    "quote_pence",
    "cost_pence",
    "reported_date",
    "quoted_date",
    "approved_date",
    "started_date",
    "completed_date",
]
# The date each status stamps when a job reaches it.
STATUS_DATES = {
    JobStatus.quoted: "quoted_date",
    JobStatus.approved: "approved_date",
    JobStatus.in_progress: "started_date",
    JobStatus.done: "completed_date",
}
DATE_ORDER = ["reported_date", "quoted_date", "approved_date", "started_date", "completed_date"]


def _snapshot(job: MaintenanceJob) -> dict[str, Any]:
    return {name: getattr(job, name) for name in TRACKED}


def to_read(job: MaintenanceJob, prop: Property) -> JobRead:
    """The API shape of a job."""
    read = JobRead.model_validate(job)
    read.property_address = f"{prop.address_line1}, {prop.city} {prop.postcode}"
    return read


async def get(session: AsyncSession, user: User, job_id: int) -> MaintenanceJob:
    """A job of the user's agency; 404 when missing or foreign."""
    job = await repository.get(session, user.agency_id, job_id)
    if job is None:
        raise NotFound("Maintenance job not found")
    return job


async def read(session: AsyncSession, user: User, job_id: int) -> JobRead:
    """The API shape of one job."""
    job = await get(session, user, job_id)
    prop = await property_service.find(session, user.agency_id, job.property_id)
    if prop is None:
        raise NotFound("Maintenance job not found")
    return to_read(job, prop)


async def search(
    session: AsyncSession, user: User, filters: JobFilters, *, limit: int, offset: int
) -> tuple[list[JobRead], int]:
    """A page of the agency's jobs."""
    rows, total = await repository.search(
        session, user.agency_id, filters, limit=limit, offset=offset
    )
    return [to_read(j, p) for j, p in rows], total


async def _check_contacts(session: AsyncSession, agency_id: int, values: dict[str, Any]) -> None:
    for field in ("reported_by_contact_id", "contractor_contact_id"):
        contact_id = values.get(field)
        if contact_id is not None and not await contact_service.exists(
            session, agency_id, contact_id
        ):
            raise ValidationFailed(field, "No such contact in your agency")


def _check_dates(job: MaintenanceJob) -> None:
    last: date | None = None
    for field in DATE_ORDER:
        value = getattr(job, field)
        if value is None:
            continue
        if last is not None and value < last:
            raise ValidationFailed(field, f"{field.replace('_', ' ').capitalize()} is too early")
        last = value
    if job.status == JobStatus.done and job.cost_pence is None:
        raise ValidationFailed("cost_pence", "Record what the job cost before marking it done")


async def create(session: AsyncSession, user: User, data: JobCreate) -> MaintenanceJob:
    """Report a job on a property."""
    prop = await property_service.find(session, user.agency_id, data.property_id)
    if prop is None:
        raise ValidationFailed("property_id", "No such property in your agency")
    values = data.model_dump()
    values["reported_date"] = data.reported_date or today_london()
    await _check_contacts(session, user.agency_id, values)
    job = MaintenanceJob(
        agency_id=user.agency_id,
        status=JobStatus.quoted if data.quote_pence is not None else JobStatus.reported,
        created_by_id=user.id,
        **values,
    )
    if job.status == JobStatus.quoted:
        job.quoted_date = job.reported_date
    _check_dates(job)
    await repository.add(session, job)
    summary = f"Reported ({job.priority.value}): {job.title}"
    await activity.log(session, user, job, "created", summary, activity.diff({}, _snapshot(job)))
    await activity.log(
        session, user, prop, "maintenance_reported", f"Maintenance reported: {job.title}"
    )
    return job


async def update(session: AsyncSession, user: User, job_id: int, data: JobUpdate) -> MaintenanceJob:
    """Change a job; moving its status stamps the matching date (on `on_date`)."""
    job = await get(session, user, job_id)
    values = update_values(data, ("title", "priority", "status"))
    on_date = values.pop("on_date", None) or today_london()
    await _check_contacts(session, user.agency_id, values)
    before = _snapshot(job)
    for key, value in values.items():
        setattr(job, key, "" if key == "description" and value is None else value)
    new_status = values.get("status")
    if new_status is not None and new_status != before["status"]:
        field = STATUS_DATES.get(new_status)
        if field and field not in values and getattr(job, field) is None:
            setattr(job, field, on_date)
    _check_dates(job)
    changes = activity.diff(before, _snapshot(job))
    if changes:
        job.updated_at = utcnow()
        await session.flush()
        action = "status_changed" if "status" in changes else "updated"
        summary = (
            f"Status {changes['status'][0]} → {changes['status'][1]}"
            if "status" in changes
            else "Updated " + ", ".join(sorted(k.replace("_", " ") for k in changes))
        )
        await activity.log(session, user, job, action, summary, changes)
    return job


async def delete(session: AsyncSession, user: User, job_id: int) -> None:
    """Delete a job (managers)."""
    job = await get(session, user, job_id)
    title, job_id = job.title, job.id
    await repository.delete(session, job)
    await activity.log(session, user, (ENTITY, job_id), "deleted", f"Deleted: {title}")
