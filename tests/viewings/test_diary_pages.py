"""The diary and viewing pages: UK times across the clock changes, booking, clashes inline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from estatecrm.viewings.models import Viewing
from tests.builders import PASSWORD, make_applicant, make_property, make_user, make_viewing


async def _sign_in(client: Any, session: Any, agency: Any, role: str = "negotiator") -> Any:
    user = await make_user(
        session, agency, role=role, email=f"{role}@web.test", full_name="Nia Neg"
    )
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


def _cell_times(html: str) -> list[str]:
    return re.findall(r"<strong>(\d\d:\d\d\u2013\d\d:\d\d)</strong>", html)


async def test_week_shows_uk_times_across_the_spring_change(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user, address_line1="21 Polygon Road")
    applicant = await make_applicant(session, user)
    # Saturday 27 March 2027 10:00 GMT, then Sunday 28 March 10:00 BST (09:00 UTC).
    await make_viewing(
        session,
        user,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2027, 3, 27, 10, 0, tzinfo=UTC),
    )
    await make_viewing(
        session,
        user,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2027, 3, 28, 9, 0, tzinfo=UTC),
    )
    page = await client.get("/diary?week=2027-03-24")
    assert page.status_code == 200
    assert "22 Mar \u2013 28 Mar 2027" in page.text
    assert _cell_times(page.text) == ["10:00\u201310:30", "10:00\u201310:30"]
    assert "Sat 27 Mar" in page.text and "Sun 28 Mar" in page.text
    # HTMX week navigation swaps only the week.
    frag = await client.get("/diary?week=2027-03-29", headers={"HX-Request": "true"})
    assert "<html" not in frag.text and "29 Mar \u2013 04 Apr 2027" in frag.text
    assert _cell_times(frag.text) == []


async def test_book_through_the_form_in_uk_time(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user)
    applicant = await make_applicant(session, user)
    form = {
        "property_id": str(prop.id),
        "applicant_id": str(applicant.id),
        "negotiator_id": str(user.id),
        "date": "2027-10-31",
        "time": "10:00",
        "duration_minutes": "45",
        "notes": "Keys in the safe",
    }
    prefilled = await client.get(f"/diary?property_id={prop.id}&applicant_id={applicant.id}")
    assert f'value="{prop.id}" checked' in prefilled.text
    assert f'value="{applicant.id}" checked' in prefilled.text
    r = await client.post("/diary/book", data=form)
    assert r.status_code == 303, r.text
    assert "week=2027-10-31" in r.headers["location"]
    # 31 October 2027: the clocks went back at 02:00, so 10:00 in the UK is 10:00 UTC.
    first = await session.scalar(select(Viewing).where(Viewing.notes == "Keys in the safe"))
    assert first is not None and first.start_at == datetime(2027, 10, 31, 10, 0, tzinfo=UTC)
    # In summer 10:00 in the UK is 09:00 UTC.
    r = await client.post("/diary/book", data={**form, "date": "2027-06-01", "notes": "summer"})
    assert r.status_code == 303
    summer = await session.scalar(select(Viewing).where(Viewing.notes == "summer"))
    assert summer is not None and summer.start_at == datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
    week = await client.get(r.headers["location"].split("#")[0])
    assert "just-booked" in week.text and "10:00\u201310:45" in week.text

    # A clash is reported inline, naming the viewing, and nothing is booked.
    r = await client.post("/diary/book", data={**form, "time": "10:30", "notes": "clash"})
    assert r.status_code == 409
    assert f'href="/viewings/{first.id}"' in r.text and 'id="time-error"' in r.text
    assert f"viewing #{first.id}" in r.text
    assert await session.scalar(select(Viewing).where(Viewing.notes == "clash")) is None
    # Times the clocks skip, the past, and missing choices are errors beside their fields.
    r = await client.post("/diary/book", data={**form, "date": "2027-03-28", "time": "01:30"})
    assert r.status_code == 422 and "clocks go forward" in r.text
    r = await client.post("/diary/book", data={**form, "date": "2020-01-06"})
    assert r.status_code == 422 and "in the past" in r.text
    r = await client.post("/diary/book", data={**form, "property_id": "", "date": ""})
    assert r.status_code == 422
    assert 'id="property_id-error"' in r.text and 'id="date-error"' in r.text
    assert 'id="time-error"' not in r.text


async def test_viewing_page_actions_and_offer_prompt(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user)
    applicant = await make_applicant(session, user)
    viewing = await make_viewing(
        session,
        user,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2031, 5, 6, 9, 0, tzinfo=UTC),
    )
    page = await client.get(f"/viewings/{viewing.id}")
    assert page.status_code == 200 and "10:00\u201310:30" in page.text  # BST in May
    assert (await client.post(f"/viewings/{viewing.id}/confirm")).status_code == 303
    r = await client.post(f"/viewings/{viewing.id}/cancel", data={"reason": ""})
    assert r.status_code == 422 and 'id="reason-error"' in r.text
    r = await client.post(
        f"/viewings/{viewing.id}/reschedule",
        data={"date": "2031-05-07", "time": "14:00", "duration_minutes": "30"},
    )
    assert r.status_code == 303
    await session.refresh(viewing)
    assert (
        viewing.start_at == datetime(2031, 5, 7, 13, 0, tzinfo=UTC)
        and viewing.status.value == "booked"
    )
    r = await client.post(f"/viewings/{viewing.id}/complete", data={"feedback": "", "interest": ""})
    assert (
        r.status_code == 422 and 'id="feedback-error"' in r.text and 'id="interest-error"' in r.text
    )
    r = await client.post(
        f"/viewings/{viewing.id}/complete", data={"feedback": "Wants it", "interest": "5"}
    )
    assert r.status_code == 303
    done = await client.get(f"/viewings/{viewing.id}")
    assert "suggest an offer" in done.text and "Wants it" in done.text
    assert "Save feedback" not in done.text  # nothing left to do
    r = await client.post(f"/viewings/{viewing.id}/confirm")
    assert r.status_code == 409 and "cannot be confirmed" in r.text
    assert (await client.post(f"/viewings/{viewing.id}/explode")).status_code == 404


async def test_office_view_pickers_and_calendar_button(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    colleague = await make_user(session, agency, email="col@web.test", full_name="Cole Colleague")
    await make_user(session, agency, role="viewer", email="val@web.test", full_name="Val Viewer")
    prop = await make_property(session, user, address_line1="7 Bedford Place")
    applicant = await make_applicant(session, user)
    await make_viewing(
        session,
        user,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2031, 5, 6, 9, 0, tzinfo=UTC),
        negotiator_id=colleague.id,
    )
    office = await client.get("/diary?view=office&week=2031-05-05")
    assert "Cole Colleague" in office.text and "7 Bedford Place" in office.text
    assert "Val Viewer" not in office.text  # read-only users hold no viewings
    pick = await client.get("/diary/pick-property?field=property_id&property_id_q=bedford")
    assert "7 Bedford Place" in pick.text and 'name="property_id"' in pick.text
    pick = await client.get("/applicants/pick?field=applicant_id&applicant_id_q=priya")
    assert "Priya Shah — renting up to £1,200 pcm in SO15" in pick.text
    diary = await client.get("/diary")
    old = re.search(r'value="(http://testserver/calendar/[^"]+\.ics)"', diary.text)
    assert old is not None
    r = await client.post("/diary/calendar-feed")
    assert r.status_code == 303
    diary = await client.get("/diary?feed=new")
    assert old.group(1) not in diary.text and "no longer works" in diary.text
    assert (await client.get(old.group(1).removeprefix("http://testserver"))).status_code == 404
    r = await client.post("/diary/calendar-feed/revoke")
    assert "Turn on calendar feed" in (await client.get("/diary")).text


async def test_viewer_and_foreign_viewing(
    client: Any, session: Any, agency: Any, other_agency: Any
) -> None:
    rival = await make_user(session, other_agency, email="r@rival.test")
    prop = await make_property(session, rival)
    applicant = await make_applicant(session, rival)
    theirs = await make_viewing(
        session,
        rival,
        property_id=prop.id,
        applicant_id=applicant.id,
        start_at=datetime(2031, 5, 6, 9, 0, tzinfo=UTC),
    )
    await _sign_in(client, session, agency, role="viewer")
    diary = await client.get("/diary")
    assert diary.status_code == 200 and "Book viewing" not in diary.text
    assert (await client.post("/diary/book", data={})).status_code == 403
    assert (await client.get(f"/viewings/{theirs.id}")).status_code == 404
    week = await client.get("/diary?view=office&week=2031-05-05")
    assert "12 Carlton Crescent" not in week.text
    pick = await client.get(f"/diary/pick-property?property_id_q=carlton&property_id={prop.id}")
    assert "Carlton" not in pick.text
