"""Each user's private, revocable iCalendar feed (parsed with `icalendar`, as a calendar would)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from icalendar import Calendar
from sqlalchemy import select

from estatecrm.config import Settings
from estatecrm.viewings.models import CalendarFeed
from tests.builders import (
    make_applicant,
    make_contact,
    make_property,
    make_user,
    make_viewing,
    token_headers,
)


async def _feed_url(client: Any, headers: Any) -> str:
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200, r.text
    url = r.json()["calendar_feed_url"]
    assert url
    return str(url)


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_feed_lists_my_viewings_as_valid_icalendar(
    client: Any, session: Any, agency: Any, admin: Any, headers: Any
) -> None:
    colleague = await make_user(session, agency, email="col@agency.test")
    prop = await make_property(session, admin, address_line1="21 Polygon Road", postcode="SO15 2JP")
    contact = await make_contact(
        session, admin, first_name="Jane", last_name="Doe", phone="0117 496 0456"
    )
    applicant = await make_applicant(session, admin, contact=contact)
    # 10:00 BST on the first day of summer time, and 10:00 GMT on the first day of winter time.
    spring = await make_viewing(
        session,
        admin,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2027, 3, 28, 9, 0, tzinfo=UTC),
        notes="Meet outside",
    )
    autumn = await make_viewing(
        session,
        admin,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2027, 10, 31, 10, 0, tzinfo=UTC),
    )
    await make_viewing(
        session,
        admin,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2027, 4, 2, 9, 0, tzinfo=UTC),
        negotiator_id=colleague.id,
    )
    url = await _feed_url(client, headers)
    assert url.startswith("http://testserver/calendar/") and url.endswith(".ics")

    r = await client.get(_path(url))  # no credentials: the URL is the secret
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "private" in r.headers["cache-control"]
    cal = Calendar.from_ical(r.content)
    assert cal["VERSION"] == "2.0" and "Estate Agent CRM" in str(cal["PRODID"])
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    # Only my viewings, not my colleague's.
    assert set(events) == {
        f"viewing-{spring.id}-{agency.id}@estatecrm",
        f"viewing-{autumn.id}-{agency.id}@estatecrm",
    }
    first = events[f"viewing-{spring.id}-{agency.id}@estatecrm"]
    assert first.decoded("DTSTART") == datetime(2027, 3, 28, 9, 0, tzinfo=UTC)
    assert first.decoded("DTEND") == datetime(2027, 3, 28, 9, 30, tzinfo=UTC)
    assert str(first["SUMMARY"]) == "Viewing: 21 Polygon Road \u2013 Jane Doe"
    assert str(first["LOCATION"]) == "21 Polygon Road, Southampton SO15 2JP"
    assert "0117 496 0456" in str(first["DESCRIPTION"]) and "Meet outside" in str(
        first["DESCRIPTION"]
    )
    assert str(first["STATUS"]) == "TENTATIVE"
    assert first["DTSTAMP"] and first["SEQUENCE"] == 0
    # Every line is CRLF-terminated and folded to 75 octets, as RFC 5545 requires.
    for line in r.content.split(b"\r\n"):
        assert len(line) <= 75

    # Cancelling keeps the event, marked cancelled with a higher sequence, so calendars update.
    await client.post(
        f"/api/v1/viewings/{autumn.id}/cancel", json={"reason": "Sold elsewhere"}, headers=headers
    )
    cal = Calendar.from_ical((await client.get(_path(url))).content)
    cancelled = next(
        e for e in cal.walk("VEVENT") if str(e["UID"]).startswith(f"viewing-{autumn.id}-")
    )
    assert str(cancelled["STATUS"]) == "CANCELLED" and cancelled["SEQUENCE"] == 1


async def test_regenerate_revokes_the_old_url_and_the_token_is_stored_hashed(
    client: Any, session: Any, admin: Any, headers: Any
) -> None:
    old = await _feed_url(client, headers)
    assert await _feed_url(client, headers) == old  # stable until regenerated
    token = _path(old).removeprefix("/calendar/").removesuffix(".ics")
    stored = (await session.scalars(select(CalendarFeed))).all()
    assert len(stored) == 1
    assert token not in {stored[0].token_hash, stored[0].salt}

    r = await client.post("/api/v1/me/calendar-feed", headers=headers)
    assert r.status_code == 200
    new = r.json()["calendar_feed_url"]
    assert new != old
    assert (await client.get(_path(old))).status_code == 404
    assert (await client.get(_path(new))).status_code == 200
    assert await _feed_url(client, headers) == new


async def test_revoke_turns_the_feed_off_until_asked_again(
    client: Any, session: Any, agency: Any, admin: Any, headers: Any
) -> None:
    url = await _feed_url(client, headers)
    assert (await client.delete("/api/v1/me/calendar-feed", headers=headers)).status_code == 204
    assert (await client.get(_path(url))).status_code == 404
    me = (await client.get("/api/v1/me", headers=headers)).json()
    assert me["calendar_feed_url"] is None
    r = await client.post("/api/v1/me/calendar-feed", headers=headers)
    assert (await client.get(_path(r.json()["calendar_feed_url"]))).status_code == 200
    # A deactivated user's feed stops too.
    other = await make_user(session, agency, email="leaver@agency.test")
    leaver_url = await _feed_url(client, await token_headers(session, other))
    other.is_active = False
    await session.flush()
    assert (await client.get(_path(leaver_url))).status_code == 404
    assert (await client.get("/calendar/not-a-token.ics")).status_code == 404
    assert (await client.post("/api/v1/me/calendar-feed")).status_code == 401


async def test_feed_survives_a_secret_key_rotation_and_honours_public_url(
    app: Any, session_factory: Any, settings: Any, headers: Any
) -> None:
    from estatecrm.main import create_app

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        before = await _feed_url(c, headers)
    rotated = Settings(
        environment="test",
        database_url=settings.database_url,
        secret_key="n" * 48,
        secret_key_previous=settings.secret_key,
        public_url="https://crm.example.co.uk/",
    )
    app2 = create_app(rotated)
    app2.state.engine = app.state.engine
    app2.state.owns_engine = False
    app2.state.sessionmaker = session_factory
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app2), base_url="http://internal:8000"
    ) as c:
        after = await _feed_url(c, headers)
        assert after == "https://crm.example.co.uk" + _path(before)
        assert (await c.get(_path(before))).status_code == 200
        regenerated = (await c.post("/api/v1/me/calendar-feed", headers=headers)).json()
        assert regenerated["calendar_feed_url"].startswith("https://crm.example.co.uk/calendar/")
