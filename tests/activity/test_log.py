"""The one call shape that writes the audit trail: who, on what, what happened."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from tests.builders import make_property


async def test_a_record_is_its_own_timeline_named_by_its_table(
    session: AsyncSession, admin: Any
) -> None:
    prop = await make_property(session, admin)
    entry = await activity.log(session, admin, prop, "updated", "x" * 600, {"city": ["A", "B"]})
    assert (entry.entity_type, entry.entity_id) == ("property", prop.id)
    assert (entry.agency_id, entry.actor_user_id) == (admin.agency_id, admin.id)
    assert len(entry.summary) == 500
    assert entry.changes == {"city": ["A", "B"]}
    rows, _ = await activity.timeline(session, admin.agency_id, "property", prop.id)
    assert entry in rows


async def test_a_record_not_at_hand_is_named_by_type_and_id(
    session: AsyncSession, admin: Any
) -> None:
    entry = await activity.log(session, admin, ("contact", 424242), "deleted", "Deleted X")
    assert (entry.entity_type, entry.entity_id, entry.changes) == ("contact", 424242, {})


async def test_an_automatic_change_has_the_agency_and_no_user(
    session: AsyncSession, admin: Any
) -> None:
    entry = await activity.log(session, activity.Agent(admin.agency_id), ("task", 7), "completed")
    assert (entry.agency_id, entry.actor_user_id, entry.summary) == (admin.agency_id, None, "")
