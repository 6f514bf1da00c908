"""Record what happened; every feature calls this on create, update and status change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import repository
from estatecrm.activity.models import Activity

# Values that must never be written into the audit trail in clear.
SECRET_FIELDS = frozenset(
    {
        "password",
        "password_hash",
        "access_code",
        "bank_account_name",
        "bank_sort_code",
        "bank_account_number",
    }
)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """`{field: [old, new]}` for every field whose value changed."""
    changes: dict[str, Any] = {}
    for key, new in after.items():
        old = before.get(key)
        if _plain(old) != _plain(new):
            if key in SECRET_FIELDS:
                changes[key] = ["***", "***"]
            else:
                changes[key] = [_plain(old), _plain(new)]
    return changes


async def record(
    session: AsyncSession,
    *,
    agency_id: int,
    actor_user_id: int | None,
    entity_type: str,
    entity_id: int,
    action: str,
    summary: str = "",
    changes: Mapping[str, Any] | None = None,
) -> Activity:
    """Write one activity entry in the current transaction."""
    return await repository.add(
        session,
        Activity(
            agency_id=agency_id,
            actor_user_id=actor_user_id,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action,
            summary=summary[:500],
            changes=dict(changes or {}),
        ),
    )


async def timeline(
    session: AsyncSession,
    agency_id: int,
    entity_type: str,
    entity_id: int,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Activity], int]:
    """A record's timeline, newest first."""
    return await repository.list_for_entity(
        session, agency_id, entity_type, entity_id, limit=limit, offset=offset
    )


async def reassign_entity(
    session: AsyncSession, agency_id: int, entity_type: str, from_id: int, to_id: int
) -> None:
    """Move one record's timeline onto another (merging duplicates)."""
    await repository.reassign_entity(session, agency_id, entity_type, from_id, to_id)
