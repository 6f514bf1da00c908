"""The diary (week per negotiator, office view, booking form) and the viewing page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from estatecrm.activity import service as activity_service
from estatecrm.applicants import service as applicant_service
from estatecrm.applicants.pages import applicant_label
from estatecrm.auth import service as auth_service
from estatecrm.auth.deps import CurrentUser, WriterUser
from estatecrm.auth.models import Role, User
from estatecrm.db.session import SessionDep, writes_on_read
from estatecrm.errors import CRMError, NotFound
from estatecrm.kit.clock import (
    NonexistentLocalTime,
    london_midnight,
    london_to_utc,
    to_london,
    today_london,
    utcnow,
)
from estatecrm.kit.money import format_pence
from estatecrm.properties import service as property_service
from estatecrm.properties.models import MarketingType, Property
from estatecrm.viewings import calendar, service
from estatecrm.viewings.models import OPEN_STATUSES, Viewing
from estatecrm.viewings.schemas import (
    ViewingCancel,
    ViewingComplete,
    ViewingCreate,
    ViewingReschedule,
)
from estatecrm.web.forms import FormInvalid, Refusal, read_form, submit
from estatecrm.web.forms import validate as validate_form
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)

FIRST_HOUR, LAST_HOUR = 8, 20  # the diary grid; earlier and later viewings get their own rows
DURATIONS = [
    (15, "15 minutes"),
    (30, "30 minutes"),
    (45, "45 minutes"),
    (60, "1 hour"),
    (90, "1½ hours"),
    (120, "2 hours"),
]


def property_label(prop: Property) -> str:
    """How pickers show a property."""
    letting = prop.marketing_type == MarketingType.letting
    price = format_pence(prop.price_pence, per_month=letting)
    return f"{prop.address_line1}, {prop.city} {prop.postcode} ({prop.reference}, {price})"


def _monday(raw: str | None) -> date:
    try:
        day = date.fromisoformat(raw) if raw else today_london()
    except ValueError:
        day = today_london()
    return day - timedelta(days=day.weekday())


def _int(raw: Any) -> int | None:
    text = str(raw or "")
    return int(text) if text.isdigit() else None


def _start_from(values: Mapping[str, Any], errors: dict[str, str]) -> datetime | None:
    """The UTC start of a time typed as a UK date and wall-clock time."""
    try:
        day = date.fromisoformat(str(values.get("date") or ""))
    except ValueError:
        errors["date"] = "Enter a date"
        return None
    try:
        at = time.fromisoformat(str(values.get("time") or ""))
    except ValueError:
        errors["time"] = "Enter a time, for example 10:30"
        return None
    try:
        return london_to_utc(day, at)
    except NonexistentLocalTime as exc:
        errors["time"] = str(exc)
        return None


def _clash_of(exc: CRMError) -> dict[str, Any] | None:
    if isinstance(exc.detail, dict) and "clashing_viewing_id" in exc.detail:
        return {"id": exc.detail["clashing_viewing_id"], "message": exc.message}
    return None


# The form names the start `time` (with a `date` beside it); the schema calls it `start_at`.
TIME = {"start_at": "time"}


def _refusal_errors(
    refusal: Refusal, start_at: datetime | None, found: dict[str, str]
) -> tuple[dict[str, str], dict[str, Any] | None]:
    """The messages by field and the clashing viewing (if that was why) of a refused form."""
    if isinstance(refusal.error, CRMError):
        return refusal.errors, _clash_of(refusal.error)
    return {**_without_time(refusal.errors, start_at), **found}, None


async def _labels(session: SessionDep, user: User, values: Mapping[str, Any]) -> dict[str, Any]:
    labels: dict[str, Any] = {"property_label": None, "applicant_label": None}
    property_id = _int(values.get("property_id"))
    if property_id is not None:
        prop = await property_service.find(session, user.agency_id, property_id)
        labels["property_label"] = property_label(prop) if prop else None
    applicant_id = _int(values.get("applicant_id"))
    if applicant_id is not None:
        try:
            applicant, contact = await applicant_service.get_with_contact(
                session, user, applicant_id
            )
        except CRMError:
            pass
        else:
            labels["applicant_label"] = applicant_label(applicant, contact)
    return labels


async def _diary_context(
    request: Request,
    session: SessionDep,
    user: User,
    params: Mapping[str, str],
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    clash: dict[str, Any] | None = None,
) -> dict[str, Any]:
    monday = _monday(params.get("week"))
    days = [monday + timedelta(days=i) for i in range(7)]
    view = "office" if params.get("view") == "office" else "negotiator"
    # Viewers only read: they never hold viewings, so they have no diary column.
    users = [u for u in await auth_service.list_users(session, user) if u.role != Role.viewer]
    offices = await auth_service.list_offices(session, user)
    negotiator_id, office_id, people = _whose_diary(params, user, users, offices, view)
    viewings = await service.in_range(
        session,
        user.agency_id,
        london_midnight(monday),
        london_midnight(monday + timedelta(days=7)),
        negotiator_ids=[u.id for u in people],
    )
    described = await service.describe(session, user.agency_id, viewings)
    cells, rows = _grid(described, view)
    today = today_london()
    values = form or _new_booking(params, negotiator_id, monday, today)
    return {
        "view": view,
        "days": days,
        "today": today,
        "rows": rows,
        "cells": cells,
        "people": people,
        "count": len(described),
        "negotiator": next((u for u in users if u.id == negotiator_id), None),
        "negotiator_id": negotiator_id,
        "office_id": office_id,
        "negotiators": [(u.id, u.full_name) for u in users],
        "offices": [(o.id, o.name) for o in offices],
        "week_label": f"{monday:%d %b} \u2013 {days[-1]:%d %b %Y}",
        **_week_urls(view, office_id, negotiator_id, monday, today),
        "week": monday.isoformat(),
        "values": values,
        "errors": errors or {},
        "clash": clash,
        "durations": DURATIONS,
        "booked": _int(params.get("booked")),
        "open_form": bool(form) or bool(params.get("property_id") or params.get("applicant_id")),
        **await _feed_urls(request, session, user),
        **await _labels(session, user, values),
    }


def _new_booking(
    params: Mapping[str, str], negotiator_id: int, monday: date, today: date
) -> dict[str, Any]:
    """The booking form's first values: today (or the week's Monday) at ten, for half an hour."""
    return {
        "property_id": params.get("property_id", ""),
        "applicant_id": params.get("applicant_id", ""),
        "negotiator_id": negotiator_id,
        "date": (today if monday <= today < monday + timedelta(days=7) else monday).isoformat(),
        "time": "10:00",
        "duration_minutes": 30,
    }


def _week_urls(
    view: str, office_id: int | None, negotiator_id: int, monday: date, today: date
) -> dict[str, str]:
    """The links to the week before, the week after and this week, in the same view."""
    nav = {"view": view}
    if view == "office" and office_id is not None:
        nav["office_id"] = str(office_id)
    if view == "negotiator":
        nav["negotiator_id"] = str(negotiator_id)

    def week_url(day: date) -> str:
        return "/diary?" + urlencode({**nav, "week": day.isoformat()})

    return {
        "prev_url": week_url(monday - timedelta(days=7)),
        "next_url": week_url(monday + timedelta(days=7)),
        "this_url": week_url(today),
    }


async def _feed_urls(request: Request, session: SessionDep, user: User) -> dict[str, str | None]:
    """The user's private calendar feed, as a link and as a webcal:// subscription."""
    feed_url = await calendar.feed_url(
        session,
        user,
        secret_keys=calendar.secret_keys_of(request),
        base_url=calendar.base_url_of(request),
    )
    webcal_url = (
        feed_url.replace("https://", "webcal://").replace("http://", "webcal://")
        if feed_url
        else None
    )
    return {"feed_url": feed_url, "webcal_url": webcal_url}


def _whose_diary(
    params: Mapping[str, str], user: User, users: list[User], offices: Sequence[Any], view: str
) -> tuple[int, int | None, list[User]]:
    """The negotiator and office asked for (when they exist), and whose viewings to show."""
    negotiator_id = _int(params.get("negotiator_id"))
    if negotiator_id not in {u.id for u in users}:
        negotiator_id = user.id if user.role != Role.viewer else (users[0].id if users else user.id)
    office_id = _int(params.get("office_id"))
    if office_id not in {o.id for o in offices}:
        office_id = None
    if view == "office":
        people = [u for u in users if office_id is None or u.office_id == office_id]
    else:
        people = [u for u in users if u.id == negotiator_id]
    return negotiator_id, office_id, people


def _grid(
    described: list[dict[str, Any]], view: str
) -> tuple[dict[tuple[Any, Any], list[dict[str, Any]]], list[tuple[Any, str]]]:
    """The grid's cells: by (day, hour row) for one negotiator, by (negotiator, day) for the
    office; and its hour rows, with rows before and after hours only when a viewing needs them.
    """
    cells: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    early = late = False
    for item in described:
        local = to_london(item["viewing"].start_at)
        hour: Any = local.hour
        if local.hour < FIRST_HOUR:
            hour, early = "early", True
        elif local.hour >= LAST_HOUR:
            hour, late = "late", True
        key = (
            (item["viewing"].negotiator_id, local.date())
            if view == "office"
            else (local.date(), hour)
        )
        cells.setdefault(key, []).append(item)
    rows: list[tuple[Any, str]] = [(h, f"{h:02d}:00") for h in range(FIRST_HOUR, LAST_HOUR)]
    if early:
        rows.insert(0, ("early", f"Before {FIRST_HOUR:02d}:00"))
    if late:
        rows.append(("late", f"From {LAST_HOUR:02d}:00"))
    return cells, rows


@router.get("/diary", response_class=HTMLResponse)
@writes_on_read  # the calendar feed is made on first use
async def diary(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """A week of viewings for one negotiator (or the office); HTMX swaps only the week."""
    context = await _diary_context(request, session, user, request.query_params)
    return render(request, "viewings/diary.html", context, block="diary")


@router.get("/diary/pick-property", response_class=HTMLResponse)
async def pick_property(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Options for the property picker (reference, street, town or postcode)."""
    params = request.query_params
    field = "property_id"
    q = (params.get(f"{field}_q") or "").strip()
    rows = await property_service.pick(session, user, q)
    selected = None
    chosen = _int(params.get(field))
    if chosen is not None:
        prop = await property_service.find(session, user.agency_id, chosen)
        selected = (prop.id, property_label(prop)) if prop else None
    items = [(p.id, property_label(p)) for p in rows]
    return render(
        request,
        "contacts/pick.html",
        {"field": field, "items": items, "selected": selected, "q": q},
    )


@router.post("/diary/book", response_class=HTMLResponse)
async def book(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the booking form; clashes and mistakes are shown beside the fields."""
    data = {k: v for k, v in (await read_form(request)).items() if not k.endswith("_q")}
    errors: dict[str, str] = {}
    start_at = _start_from(data, errors)
    body = {
        "property_id": data.get("property_id"),
        "applicant_id": data.get("applicant_id"),
        "negotiator_id": data.get("negotiator_id"),
        "duration_minutes": data.get("duration_minutes"),
        "notes": data.get("notes"),
        "start_at": start_at.isoformat() if start_at else None,
    }

    async def run() -> Viewing:
        create = validate_form(ViewingCreate, body, TIME)
        if errors:
            raise FormInvalid(errors)
        return await service.book(session, user, create)

    def done(viewing: Viewing) -> str:
        local = to_london(viewing.start_at).date()
        week, negotiator_id = local.isoformat(), viewing.negotiator_id or user.id
        query = urlencode({"week": week, "negotiator_id": negotiator_id, "booked": viewing.id})
        return f"/diary?{query}#viewing-{viewing.id}"

    async def refused(refusal: Refusal) -> Response:
        found, clash = _refusal_errors(refusal, start_at, errors)
        week = str(data.get("date") or "")
        params = {"week": week, "negotiator_id": str(data.get("negotiator_id") or "")}
        context = await _diary_context(request, session, user, params, data, found, clash)
        return render(request, "viewings/diary.html", context, status_code=refusal.status)

    return await submit(session, run, done=done, refused=refused, aliases=TIME)


def _without_time(errors: dict[str, str], start_at: datetime | None) -> dict[str, str]:
    # Without a start, the schema's "required" is noise: the date/time message says why.
    return {k: v for k, v in errors.items() if not (start_at is None and k == "time")}


@router.post("/diary/calendar-feed")
async def regenerate_feed(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """A new private calendar URL (the old one stops working)."""
    await calendar.regenerate(
        session,
        user,
        secret_keys=calendar.secret_keys_of(request),
        base_url=calendar.base_url_of(request),
    )
    return RedirectResponse("/diary?feed=new#calendar", status_code=303)


@router.post("/diary/calendar-feed/revoke")
async def revoke_feed(session: SessionDep, user: CurrentUser) -> Response:
    """Turn the calendar feed off."""
    await calendar.revoke(session, user)
    return RedirectResponse("/diary?feed=off#calendar", status_code=303)


# --- one viewing ----------------------------------------------------------------------------


async def _viewing_context(
    session: SessionDep,
    user: User,
    viewing_id: int,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    clash: dict[str, Any] | None = None,
) -> dict[str, Any]:
    viewing = await service.get(session, user, viewing_id)
    item = (await service.describe(session, user.agency_id, [viewing]))[0]
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, viewing.id, limit=20
    )
    local = to_london(viewing.start_at)
    return {
        "d": item,
        "v": viewing,
        "open": viewing.status in OPEN_STATUSES,
        "started": viewing.start_at <= utcnow(),
        "timeline": timeline,
        "values": values
        or {
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "duration_minutes": viewing.duration_minutes,
        },
        "errors": errors or {},
        "clash": clash,
        "durations": DURATIONS,
        "interests": [
            (i, f"{i} \u2013 {t}")
            for i, t in enumerate(
                ["not for them", "unlikely", "maybe", "keen", "wants it"], start=1
            )
        ],
    }


@router.get("/viewings/{viewing_id}", response_class=HTMLResponse)
async def viewing_detail(
    viewing_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """A viewing with its actions (confirm, reschedule, cancel, feedback)."""
    return render(
        request, "viewings/detail.html", await _viewing_context(session, user, viewing_id)
    )


async def _act(
    request: Request,
    session: SessionDep,
    user: User,
    viewing_id: int,
    action: str,
) -> Response:
    data = await read_form(request)
    errors: dict[str, str] = {}
    start_at: datetime | None = None if action == "reschedule" else utcnow()

    async def run() -> None:
        nonlocal start_at
        if action == "confirm":
            await service.confirm(session, user, viewing_id)
        elif action == "no-show":
            await service.no_show(session, user, viewing_id)
        elif action == "cancel":
            await service.cancel(session, user, viewing_id, validate_form(ViewingCancel, data))
        elif action == "complete":
            await service.complete(session, user, viewing_id, validate_form(ViewingComplete, data))
        else:
            start_at = _start_from(data, errors)
            body = {
                "start_at": start_at.isoformat() if start_at else None,
                "duration_minutes": data.get("duration_minutes"),
            }
            reschedule = validate_form(ViewingReschedule, body, TIME)
            if errors:
                raise FormInvalid(errors)
            await service.reschedule(session, user, viewing_id, reschedule)

    async def refused(refusal: Refusal) -> Response:
        found, clash = _refusal_errors(refusal, start_at, errors)
        context = await _viewing_context(session, user, viewing_id, None, found, clash)
        context["values"] = {**context["values"], **data}
        context["failed"] = action
        return render(request, "viewings/detail.html", context, status_code=refusal.status)

    done = f"/viewings/{viewing_id}"
    return await submit(session, run, done=done, refused=refused, aliases=TIME)


@router.post("/viewings/{viewing_id}/{action}", response_class=HTMLResponse)
async def viewing_action(
    viewing_id: int, action: str, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Confirm, reschedule, cancel, complete (feedback) or mark a no-show."""
    if action not in ("confirm", "reschedule", "cancel", "complete", "no-show"):
        raise NotFound("Not found")
    return await _act(request, session, user, viewing_id, action)
