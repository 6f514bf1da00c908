"""Task schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from estatecrm.tasks.models import TaskPriority

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]
EntityType = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z_]{1,40}$")
]
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2100, 12, 31)


def _check_due(value: dt.date | None) -> dt.date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValueError(f"Enter a date between {EARLIEST:%Y} and {LATEST:%Y}")
    return value


class TaskCreate(BaseModel):
    """`POST /api/v1/tasks`."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    description: Description = ""
    due_date: dt.date | None = None
    priority: TaskPriority = TaskPriority.normal
    assignee_id: int | None = None
    entity_type: EntityType | None = None
    entity_id: int | None = None

    @field_validator("due_date")
    @classmethod
    def _due(cls, value: dt.date | None) -> dt.date | None:
        return _check_due(value)


class TaskUpdate(BaseModel):
    """`PATCH /api/v1/tasks/{id}`: any subset; `done: true` completes the task."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: Description | None = None
    due_date: dt.date | None = None
    priority: TaskPriority | None = None
    assignee_id: int | None = None
    entity_type: EntityType | None = None
    entity_id: int | None = None
    done: bool | None = None

    @field_validator("due_date")
    @classmethod
    def _due(cls, value: dt.date | None) -> dt.date | None:
        return _check_due(value)


class LinkRead(BaseModel):
    """The record a task is about."""

    entity_type: str
    entity_id: int
    label: str
    href: str | None


class TaskRead(BaseModel):
    """A task as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    due_date: dt.date | None
    priority: TaskPriority
    assignee_id: int | None
    entity_type: str | None
    entity_id: int | None
    done: bool
    done_at: dt.datetime | None
    done_by_id: int | None
    rule_key: str | None
    created_by_id: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    overdue: bool = False
    link: LinkRead | None = None


TaskSort = Literal["urgency", "due_date", "-due_date", "-created_at", "-priority"]


class TaskFilters(BaseModel):
    """List filters, shared by the API query string and the tasks page."""

    assignee: str | None = Field(
        default=None, description="`me`, `unassigned` or a user id", max_length=20
    )
    done: bool | None = None
    overdue: bool | None = None
    due_before: dt.date | None = Field(default=None, description="due earlier than this")
    due_after: dt.date | None = Field(default=None, description="due on or after this")
    priority: TaskPriority | None = None
    entity_type: EntityType | None = None
    entity_id: int | None = None
    q: str | None = Field(default=None, max_length=200)
    date: dt.date | None = Field(default=None, description="judge `overdue` on this day")
    sort: TaskSort = "urgency"

    @field_validator("assignee")
    @classmethod
    def _assignee(cls, value: str | None) -> str | None:
        if value is None or value in ("me", "unassigned") or value.isdigit():
            return value
        raise ValueError("assignee must be me, unassigned or a user id")
