"""The clash rule, checked against a plain model for any sequence of bookings and cancellations.

Also, on PostgreSQL, two bookings racing for the same slot in separate transactions: exactly
one wins (the property and negotiator rows are locked while the overlap is checked).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker

from estatecrm.auth.models import Agency
from estatecrm.db import scoping
from estatecrm.errors import Conflict
from estatecrm.viewings import service as viewing_service
from estatecrm.viewings.schemas import ViewingCancel, ViewingCreate
from tests.builders import make_agency, make_applicant, make_property, make_user

DAY = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)

step = st.one_of(
    st.tuples(
        st.just("book"),
        st.integers(0, 1),  # negotiator
        st.integers(0, 1),  # property
        st.integers(0, 48).map(lambda n: n * 5),  # minutes after 08:00
        st.sampled_from([15, 30, 45, 60, 90]),
    ),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
)


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(step, min_size=1, max_size=12))
async def test_bookings_follow_the_clash_rule(
    session: Any, agency: Any, admin: Any, steps: list[tuple[Any, ...]]
) -> None:
    savepoint = await session.begin_nested()
    try:
        negotiators = [admin, await make_user(session, agency, email="n2@agency.test")]
        props = [
            await make_property(session, admin),
            await make_property(session, admin, address_line1="9 Hill Lane"),
        ]
        applicant = await make_applicant(session, admin)
        # The model: live bookings as (id, negotiator, property, start, end).
        live: list[tuple[int, int, int, datetime, datetime]] = []
        for s in steps:
            if s[0] == "cancel":
                if live:
                    vid = live.pop(s[1] % len(live))[0]
                    await viewing_service.cancel(session, admin, vid, ViewingCancel(reason="test"))
                continue
            _, n, p, minutes, duration = s
            start = DAY + timedelta(minutes=minutes)
            end = start + timedelta(minutes=duration)
            clashing = [
                v for v in live if (v[1] == n or v[2] == p) and overlaps((v[3], v[4]), (start, end))
            ]
            body = ViewingCreate(
                property_id=props[p].id,
                applicant_id=applicant.id,
                negotiator_id=negotiators[n].id,
                start_at=start,
                duration_minutes=duration,
            )
            try:
                viewing = await viewing_service.book(session, admin, body)
            except Conflict as exc:
                assert clashing, "refused a booking that clashes with nothing"
                assert exc.detail["clashing_viewing_id"] in {v[0] for v in clashing}
            else:
                assert not clashing, f"double booked over {clashing}"
                live.append((viewing.id, n, p, start, end))
        # Whatever happened, no negotiator and no property is ever in two places at once.
        for i, a in enumerate(live):
            for b in live[i + 1 :]:
                if a[1] == b[1] or a[2] == b[2]:
                    assert not overlaps((a[3], a[4]), (b[3], b[4]))
    finally:
        await savepoint.rollback()


async def test_racing_bookings_cannot_both_win(database_url: str, engine: Any) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks are a PostgreSQL matter; SQLite has a single writer")
    factory = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    async with factory() as s, s.begin():
        agency = await make_agency(s, "Race Lettings")
        scoping.bind_agency(s, agency.id)
        user = await make_user(s, agency, email="racer@race.test")
        other = await make_user(s, agency, email="racer2@race.test")
        prop = await make_property(s, user)
        applicant = await make_applicant(s, user)
        ids = (agency.id, user.id, other.id, prop.id, applicant.id)
    agency_id, user_id, other_id, prop_id, applicant_id = ids
    try:

        async def attempt(negotiator_id: int, minute: int) -> str:
            async with factory() as s:
                try:
                    async with s.begin():
                        scoping.bind_agency(s, agency_id)  # as CurrentUser does
                        booker = await s.get(type(user), user_id)
                        await viewing_service.book(
                            s,
                            booker,
                            ViewingCreate(
                                property_id=prop_id,
                                applicant_id=applicant_id,
                                negotiator_id=negotiator_id,
                                start_at=DAY + timedelta(minutes=minute),
                            ),
                        )
                        # Hold the transaction open so the other attempt has to wait.
                        await asyncio.sleep(0.2)
                    return "booked"
                except Conflict:
                    return "clash"

        results = await asyncio.gather(attempt(user_id, 0), attempt(other_id, 15))
        assert sorted(results) == ["booked", "clash"]
    finally:
        async with factory() as s, s.begin():
            await s.execute(delete(Agency).where(Agency.id == agency_id))
