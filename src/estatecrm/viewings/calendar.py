"""Private, revocable iCalendar (RFC 5545) feeds of each user's viewings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from icalendar import Calendar, Event
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.auth.models import User
from estatecrm.auth.service import hash_token
from estatecrm.db.scoping import bind_agency
from estatecrm.kit.clock import utcnow
from estatecrm.kit.uk_phone import format_phone
from estatecrm.viewings import repository, service
from estatecrm.viewings.models import CalendarFeed, ViewingStatus

FEED_PAST = timedelta(days=60)
FEED_FUTURE = timedelta(days=365)
# Recording every poll would write on each calendar refresh; once in a while is enough.
LAST_USED_RESOLUTION = timedelta(minutes=10)
ICS_STATUS = {
    ViewingStatus.booked: "TENTATIVE",
    ViewingStatus.confirmed: "CONFIRMED",
    ViewingStatus.completed: "CONFIRMED",
    ViewingStatus.no_show: "CONFIRMED",
    ViewingStatus.cancelled: "CANCELLED",
}


def _token(secret_key: str, user_id: int, salt: str) -> str:
    digest = hmac.new(
        secret_key.encode(), f"calendar-feed:{user_id}:{salt}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def feed_path(token: str) -> str:
    """The path of a feed (under the site's base URL)."""
    return f"/calendar/{token}.ics"


async def _new_feed(session: AsyncSession, user: User, secret_key: str) -> CalendarFeed:
    salt = secrets.token_hex(16)
    return await repository.add_feed(
        session,
        CalendarFeed(
            agency_id=user.agency_id,
            user_id=user.id,
            salt=salt,
            token_hash=hash_token(_token(secret_key, user.id, salt)),
            created_at=utcnow(),
        ),
    )


def _url(feed: CalendarFeed, secret_keys: Sequence[str], base_url: str) -> str | None:
    # The feed was made under the current key or, after a rotation, the previous one.
    for key in secret_keys:
        if not key:
            continue
        token = _token(key, feed.user_id, feed.salt)
        if hmac.compare_digest(hash_token(token), feed.token_hash):
            return base_url.rstrip("/") + feed_path(token)
    return None


async def feed_url(
    session: AsyncSession, user: User, *, secret_keys: Sequence[str], base_url: str
) -> str | None:
    """The user's feed URL, created on first use; None once they have turned it off."""
    feed = await repository.live_feed(session, user.agency_id, user.id)
    if feed is None:
        if await repository.has_any_feed(session, user.agency_id, user.id):
            return None
        feed = await _new_feed(session, user, secret_keys[0])
    return _url(feed, secret_keys, base_url)


async def regenerate(
    session: AsyncSession, user: User, *, secret_keys: Sequence[str], base_url: str
) -> str:
    """A new feed URL; the old one stops working at once."""
    await repository.revoke_feeds(session, user.agency_id, user.id, utcnow())
    feed = await _new_feed(session, user, secret_keys[0])
    await activity.record(
        session,
        agency_id=user.agency_id,
        actor_user_id=user.id,
        entity_type="user",
        entity_id=user.id,
        action="calendar_feed_regenerated",
        summary="New calendar feed URL; the previous one was revoked",
    )
    url = _url(feed, secret_keys, base_url)
    assert url is not None  # made with secret_keys[0] just now
    return url


async def revoke(session: AsyncSession, user: User) -> None:
    """Turn the user's feed off (calendars subscribed to it get 404 from now on)."""
    revoked = await repository.revoke_feeds(session, user.agency_id, user.id, utcnow())
    if revoked:
        await activity.record(
            session,
            agency_id=user.agency_id,
            actor_user_id=user.id,
            entity_type="user",
            entity_id=user.id,
            action="calendar_feed_revoked",
            summary="Calendar feed turned off",
        )


async def owner_of(session: AsyncSession, token: str) -> User | None:
    """The active user whose live feed this token opens, or None."""
    if not token or len(token) > 100:
        return None
    feed = await repository.feed_by_hash(session, hash_token(token))
    if feed is None or feed.revoked_at is not None:
        return None
    bind_agency(session, feed.agency_id)
    users = await repository.users_by_id(session, feed.agency_id, [feed.user_id])
    user = users.get(feed.user_id)
    if user is None or not user.is_active:
        return None
    now = utcnow()
    if feed.last_used_at is None or now - feed.last_used_at > LAST_USED_RESOLUTION:
        feed.last_used_at = now
        await session.flush()
    return user


def _description(item: dict[str, Any], base_url: str) -> str:
    viewing, contact = item["viewing"], item["contact"]
    lines = [f"Applicant: {contact.first_name} {contact.last_name}"]
    if contact.phone:
        lines.append(f"Phone: {format_phone(contact.phone)}")
    if contact.email:
        lines.append(f"Email: {contact.email}")
    others = [a for a in item["attendees"] if a.id != contact.id]
    if others:
        lines.append(
            "Also attending: " + ", ".join(f"{a.first_name} {a.last_name}" for a in others)
        )
    lines.append(f"Status: {viewing.status.value.replace('_', ' ')}")
    if viewing.notes:
        lines.append(f"Notes: {viewing.notes}")
    if viewing.cancel_reason:
        lines.append(f"Cancelled: {viewing.cancel_reason}")
    lines.append(f"{base_url.rstrip('/')}/viewings/{viewing.id}")
    return "\n".join(lines)


async def render(session: AsyncSession, user: User, *, base_url: str) -> bytes:
    """The user's viewings from two months ago to a year ahead, as an iCalendar file."""
    now = utcnow()
    viewings = await service.in_range(
        session,
        user.agency_id,
        now - FEED_PAST,
        now + FEED_FUTURE,
        negotiator_ids=[user.id],
        include_cancelled=True,
    )
    described = await service.describe(session, user.agency_id, viewings)
    cal = Calendar()
    cal.add("prodid", "-//Estate Agent CRM//Viewings diary//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Viewings · {user.full_name}")
    cal.add("x-wr-timezone", "Europe/London")
    cal.add("refresh-interval", timedelta(minutes=15), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT15M")
    for item in described:
        viewing, prop, contact = item["viewing"], item["property"], item["contact"]
        event = Event()
        # Stable across renames and hosts, unique across agencies sharing a calendar app.
        event.add("uid", f"viewing-{viewing.id}-{viewing.agency_id}@estatecrm")
        event.add("dtstamp", now)
        event.add("created", viewing.created_at)
        event.add("last-modified", viewing.updated_at)
        event.add("sequence", viewing.sequence)
        event.add("dtstart", viewing.start_at)
        event.add("dtend", viewing.end_at)
        event.add(
            "summary",
            f"Viewing: {prop.address_line1} \u2013 {contact.first_name} {contact.last_name}",
        )
        event.add("location", f"{prop.address_line1}, {prop.city} {prop.postcode}")
        event.add("description", _description(item, base_url))
        event.add("status", ICS_STATUS[viewing.status])
        event.add("url", f"{base_url.rstrip('/')}/viewings/{viewing.id}")
        cal.add_component(event)
    return bytes(cal.to_ical())


def base_url_of(request: Any) -> str:
    """Where the CRM is reached: PUBLIC_URL when set, else the request's own base URL."""
    configured = str(getattr(request.app.state.settings, "public_url", "") or "")
    return (configured or str(request.base_url)).rstrip("/")


def secret_keys_of(request: Any) -> list[str]:
    """The current secret key, then the previous one (during a rotation)."""
    settings = request.app.state.settings
    return [settings.secret_key, settings.secret_key_previous]
