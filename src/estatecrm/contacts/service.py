"""Business rules for contacts: duplicates, consent history, ID checks, merging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.auth.models import Role, User
from estatecrm.contacts import repository
from estatecrm.contacts.models import (
    ConsentChange,
    ConsentChannel,
    Contact,
    ContactRole,
    ContactRoleName,
    IdCheckStatus,
)
from estatecrm.contacts.schemas import (
    BankDetailsWrite,
    ContactCreate,
    ContactFilters,
    ContactReplace,
    ContactUpdate,
)
from estatecrm.db import relations
from estatecrm.db.relations import Target
from estatecrm.errors import Conflict, Forbidden, NotFound, ValidationFailed, update_values
from estatecrm.kit.clock import today_london, utcnow
from estatecrm.kit.uk_phone import search_forms

ENTITY = "contact"
TRACKED = [
    "title",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "postcode",
    "roles",
    "notes",
    "marketing_consent",
    "id_check_status",
    "id_check_date",
]
REQUIRED = ("first_name", "last_name", "roles", "notes", "marketing_consent", "id_check_status")
ADDRESS = ("address_line1", "address_line2", "city", "postcode")
CHECK_RANK = {
    IdCheckStatus.not_started: 0,
    IdCheckStatus.pending: 1,
    IdCheckStatus.failed: 2,
    IdCheckStatus.passed: 3,
}


def _snapshot(contact: Contact) -> dict[str, Any]:
    return {name: getattr(contact, name) for name in TRACKED}


def derive(contact: Contact) -> None:
    """Refresh the columns derived from the others (name key, search text)."""
    contact.name_key = f"{contact.first_name} {contact.last_name}".lower()[:201]
    parts = [contact.first_name, contact.last_name, contact.email or "", contact.postcode or ""]
    parts += search_forms(contact.phone)
    contact.search_text = " ".join(p for p in parts if p).lower()[:800]


def _check_id_check(values: dict[str, Any], current: Contact | None = None) -> None:
    status = values.get("id_check_status", current.id_check_status if current else None)
    checked = values.get("id_check_date", current.id_check_date if current else None)
    if checked is not None and checked > today_london():
        raise ValidationFailed("id_check_date", "The ID check date cannot be in the future")
    if status == IdCheckStatus.not_started:
        values["id_check_date"] = None
    elif status in (IdCheckStatus.passed, IdCheckStatus.failed) and checked is None:
        # A decided check always carries its date: the AML record needs it.
        values["id_check_date"] = today_london()


async def _refuse_duplicate(
    session: AsyncSession,
    agency_id: int,
    email: str | None,
    phone: str | None,
    exclude_id: int | None,
) -> None:
    existing = await repository.find_same_details(
        session, agency_id, email=email, phone=phone, exclude_id=exclude_id
    )
    if existing is None:
        return
    matched = [
        name
        for name, mine, theirs in (
            ("email", email, existing.email),
            ("phone", phone, existing.phone),
        )
        if mine and mine == theirs
    ]
    what = " and ".join(matched)
    raise Conflict(
        f"{existing.first_name} {existing.last_name} (contact #{existing.id}) already has this "
        f"{what}. Open that contact, or confirm this is a different person (allow_duplicate).",
        field=matched[0],
        detail={"existing_id": existing.id, "matched_on": matched},
    )


def _require_channel(channel: ConsentChannel | None) -> ConsentChannel:
    if channel is None:
        raise ValidationFailed(
            "consent_channel", "Say how the consent was given or withdrawn (phone, email, ...)"
        )
    return channel


async def _record_consent(
    session: AsyncSession,
    user: User,
    contact: Contact,
    channel: ConsentChannel | None,
    note: str,
) -> None:
    channel = _require_channel(channel)
    await repository.add_consent_change(
        session,
        ConsentChange(
            agency_id=contact.agency_id,
            contact_id=contact.id,
            consent=contact.marketing_consent,
            channel=channel,
            note=note,
            changed_by_user_id=user.id,
            changed_at=utcnow(),
        ),
    )


def _set_roles(contact: Contact, roles: Sequence[ContactRoleName]) -> None:
    wanted = set(roles)
    for row in list(contact.role_rows):
        if row.role not in wanted:
            contact.role_rows.remove(row)
    have = {r.role for r in contact.role_rows}
    for role in roles:
        if role not in have:
            contact.role_rows.append(ContactRole(agency_id=contact.agency_id, role=role))
            have.add(role)


async def get(session: AsyncSession, user: User, contact_id: int) -> Contact:
    """A contact of the user's agency; 404 when missing or foreign."""
    contact = await repository.get(session, user.agency_id, contact_id)
    if contact is None:
        raise NotFound("Contact not found")
    return contact


async def search(
    session: AsyncSession, user: User, filters: ContactFilters, *, limit: int, offset: int
) -> tuple[Sequence[Contact], int]:
    """A page of the agency's contacts."""
    return await repository.search(session, user.agency_id, filters, limit=limit, offset=offset)


async def create(session: AsyncSession, user: User, data: ContactCreate) -> Contact:
    """Add a contact; 409 naming the existing one when the e-mail or phone is already known."""
    values = data.model_dump(
        exclude={"allow_duplicate", "consent_channel", "consent_note", "roles"}
    )
    _check_id_check(values)
    if data.marketing_consent:
        _require_channel(data.consent_channel)
    if not data.allow_duplicate:
        await _refuse_duplicate(session, user.agency_id, data.email, data.phone, None)
    contact = Contact(agency_id=user.agency_id, **values)
    contact.role_rows = [ContactRole(agency_id=user.agency_id, role=r) for r in data.roles]
    derive(contact)
    await repository.add(session, contact)
    if data.marketing_consent:
        await _record_consent(session, user, contact, data.consent_channel, data.consent_note)
    summary = f"Added {contact.full_name}"
    changes = activity.diff({}, _snapshot(contact))
    await activity.log(session, user, contact, "created", summary, changes)
    return contact


async def update(
    session: AsyncSession,
    user: User,
    contact_id: int,
    data: ContactUpdate | ContactReplace,
) -> Contact:
    """Change a contact: PATCH sends some fields, PUT sends them all."""
    contact = await get(session, user, contact_id)
    before = _snapshot(contact)
    extra = {"allow_duplicate", "consent_channel", "consent_note"}
    values = update_values(data, REQUIRED, full=isinstance(data, ContactReplace), exclude=extra)
    _check_id_check(values, contact)
    consent_changes = (
        "marketing_consent" in values and values["marketing_consent"] != contact.marketing_consent
    )
    if consent_changes:
        _require_channel(data.consent_channel)
    email = values.get("email", contact.email)
    phone = values.get("phone", contact.phone)
    changed_details = (email and email != contact.email) or (phone and phone != contact.phone)
    if changed_details and not data.allow_duplicate:
        await _refuse_duplicate(
            session,
            user.agency_id,
            email if email != contact.email else None,
            phone if phone != contact.phone else None,
            contact.id,
        )
    roles = values.pop("roles", None)
    for key, value in values.items():
        setattr(contact, key, value)
    if roles is not None:
        _set_roles(contact, roles)
    derive(contact)
    contact.updated_at = utcnow()
    await session.flush()
    if consent_changes:
        await _record_consent(session, user, contact, data.consent_channel, data.consent_note)
    changes = activity.diff(before, _snapshot(contact))
    if changes:
        await activity.log(
            session, user, contact, "updated", f"Changed {', '.join(sorted(changes))}", changes
        )
    return contact


async def add_role(
    session: AsyncSession, user: User, contact_id: int, role: ContactRoleName
) -> Contact:
    """Give a contact a role if they lack it (becoming an applicant, owning a property)."""
    contact = await get(session, user, contact_id)
    if role in contact.roles:
        return contact
    before = [r.value for r in contact.roles]
    contact.role_rows.append(ContactRole(agency_id=contact.agency_id, role=role))
    contact.updated_at = utcnow()
    await session.flush()
    summary = f"Now a {role.value}"
    changes = {"roles": [before, [r.value for r in contact.roles]]}
    await activity.log(session, user, contact, "updated", summary, changes)
    return contact


async def consent_history(
    session: AsyncSession, user: User, contact_id: int
) -> Sequence[ConsentChange]:
    """A contact's marketing consent history, newest first."""
    await get(session, user, contact_id)
    return await repository.consent_history(session, user.agency_id, contact_id)


async def delete(session: AsyncSession, user: User, contact_id: int) -> None:
    """Remove a contact (managers and admins); refused while records refer to them."""
    contact = await get(session, user, contact_id)
    # What other features hold that names the contact: declared in their relations.py.
    reasons = await relations.of(session).why_kept(Target.contact, session, contact)
    if reasons:
        raise Conflict(
            f"{contact.full_name} has {', '.join(reasons)} on record; "
            "merge the contact into another one instead of deleting it",
            detail={"reasons": reasons},
        )
    summary = f"Deleted {contact.full_name}"
    await repository.delete(session, contact)
    await activity.log(session, user, (ENTITY, contact_id), "deleted", summary)


def _merge_fields(kept: Contact, other: Contact) -> list[str]:
    """Fill the kept contact's blanks from the other; note details that would be lost."""
    if not kept.title and other.title:
        kept.title = other.title
    if not any(getattr(kept, f) for f in ADDRESS) and any(getattr(other, f) for f in ADDRESS):
        for field in ADDRESS:
            setattr(kept, field, getattr(other, field))
    kept_notes: list[str] = []
    for field in ("email", "phone"):
        mine, theirs = getattr(kept, field), getattr(other, field)
        if not mine and theirs:
            setattr(kept, field, theirs)
        elif theirs and theirs != mine:
            kept_notes.append(f"{field} {theirs}")
    if other.notes.strip() and other.notes.strip() not in kept.notes:
        kept_notes.append(other.notes.strip())
    return kept_notes


def _better_check(kept: Contact, other: Contact) -> bool:
    """Whether the other contact's ID check should replace the kept one's."""
    if kept.id_check_date and other.id_check_date:
        return other.id_check_date > kept.id_check_date
    if other.id_check_date and not kept.id_check_date:
        return True
    return CHECK_RANK[other.id_check_status] > CHECK_RANK[kept.id_check_status]


BANK_FIELDS = ("bank_account_name", "bank_sort_code", "bank_account_number")


def may_handle_bank_details(user: User) -> bool:
    """Only managers and admins may see bank details in full or change them."""
    return user.role in (Role.admin, Role.manager)


def _require_bank_role(user: User) -> None:
    if not may_handle_bank_details(user):
        raise Forbidden("Only a manager or admin can see or change bank details")


async def _bank_activity(
    session: AsyncSession, user: User, contact: Contact, action: str, summary: str
) -> None:
    # The audit trail says that the details were touched and by whom, never what they are.
    changes = {name: ["***", "***"] for name in BANK_FIELDS} if action != "bank_viewed" else {}
    await activity.log(session, user, contact, action, summary, changes)


async def set_bank_details(
    session: AsyncSession, user: User, contact_id: int, data: BankDetailsWrite
) -> Contact:
    """Record or replace where a landlord's money is paid (stored encrypted)."""
    _require_bank_role(user)
    contact = await get(session, user, contact_id)
    had = contact.bank_details is not None
    contact.bank_account_name = data.account_name
    contact.bank_sort_code = data.sort_code
    contact.bank_account_number = data.account_number
    contact.updated_at = utcnow()
    await session.flush()
    await _bank_activity(
        session,
        user,
        contact,
        "bank_changed",
        "Bank details changed" if had else "Bank details added",
    )
    return contact


async def clear_bank_details(session: AsyncSession, user: User, contact_id: int) -> Contact:
    """Forget a contact's bank details."""
    _require_bank_role(user)
    contact = await get(session, user, contact_id)
    if contact.bank_details is None:
        raise NotFound("This contact has no bank details")
    for name in BANK_FIELDS:
        setattr(contact, name, None)
    contact.updated_at = utcnow()
    await session.flush()
    await _bank_activity(session, user, contact, "bank_removed", "Bank details removed")
    return contact


async def reveal_bank_details(session: AsyncSession, user: User, contact_id: int) -> dict[str, str]:
    """The full bank details, for paying a landlord; every look is written to the timeline."""
    _require_bank_role(user)
    contact = await get(session, user, contact_id)
    if contact.bank_account_number is None or contact.bank_sort_code is None:
        raise NotFound("This contact has no bank details")
    await _bank_activity(session, user, contact, "bank_viewed", "Bank details viewed")
    return {
        "account_name": contact.bank_account_name or "",
        "sort_code": contact.bank_sort_code,
        "account_number": contact.bank_account_number,
    }


async def _fold_details(session: AsyncSession, kept: Contact, other: Contact) -> None:
    """The kept contact gains what only the other had: details (noted when they differ),
    roles, bank details, the better ID check and the person's latest consent decision."""
    notes = _merge_fields(kept, other)
    if notes:
        joined = "; ".join(notes)
        addition = f"Merged from contact #{other.id} ({other.full_name}): {joined}"
        kept.notes = f"{kept.notes}\n\n{addition}".strip() if kept.notes else addition
    _set_roles(kept, list(dict.fromkeys([*kept.roles, *other.roles])))
    if kept.bank_account_number is None and other.bank_account_number is not None:
        for name in BANK_FIELDS:
            setattr(kept, name, getattr(other, name))
    if _better_check(kept, other):
        kept.id_check_status = other.id_check_status
        kept.id_check_date = other.id_check_date
    kept_consent = await repository.latest_consent_change(session, kept.agency_id, kept.id)
    other_consent = await repository.latest_consent_change(session, kept.agency_id, other.id)
    if other_consent is not None and (
        kept_consent is None or other_consent.changed_at > kept_consent.changed_at
    ):
        # The most recent decision the person made is the one that stands.
        kept.marketing_consent = other_consent.consent


async def merge(
    session: AsyncSession, user: User, contact_id: int, other_id: int
) -> dict[str, Any]:
    """Fold `other_id` into `contact_id`: every reference moves, the other is removed."""
    if contact_id == other_id:
        raise ValidationFailed("other_id", "A contact cannot be merged into itself")
    agency_id = user.agency_id
    # Lock both rows in id order so two opposite merges cannot deadlock.
    locked: dict[int, Contact | None] = {}
    for cid in sorted((contact_id, other_id)):
        locked[cid] = await repository.get_for_update(session, agency_id, cid)
    kept, other = locked[contact_id], locked[other_id]
    if kept is None:
        raise NotFound("Contact not found")
    if other is None:
        raise NotFound("The contact to merge was not found", field="other_id")
    before = _snapshot(kept)
    other_name = other.full_name
    await _fold_details(session, kept, other)
    moved = {
        "consent_changes": await repository.move_consent_history(
            session, agency_id, other.id, kept.id
        ),
        # What other features hold that names a contact: declared in their relations.py.
        **await relations.of(session).move(Target.contact, session, agency_id, other.id, kept.id),
    }
    await activity.reassign_entity(session, agency_id, ENTITY, other.id, kept.id)
    await repository.delete(session, other)
    derive(kept)
    kept.updated_at = utcnow()
    await session.flush()
    changes = activity.diff(before, _snapshot(kept))
    summary = f"Merged contact #{other_id} ({other_name}) into this one"
    changes = {**changes, "merged_contact_id": [other_id, None]}
    await activity.log(session, user, kept, "merged", summary, changes)
    return {"contact": kept, "removed_id": other_id, "moved": moved}


async def duplicates(
    session: AsyncSession, user: User, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Likely duplicate pairs with the reasons they were paired."""
    rows, total = await repository.duplicate_pairs(
        session, user.agency_id, limit=limit, offset=offset
    )
    contacts = await repository.get_many(
        session, user.agency_id, [r["a_id"] for r in rows] + [r["b_id"] for r in rows]
    )
    pairs = []
    for r in rows:
        a, b = contacts[r["a_id"]], contacts[r["b_id"]]
        reasons = []
        if r["same_email"]:
            reasons.append(f"Same email {a.email}")
        if r["same_phone"]:
            reasons.append(f"Same phone {a.phone}")
        if r["same_name"]:
            reasons.append(f"Same name {a.first_name} {a.last_name}")
        pairs.append({"contact": a, "other": b, "reasons": reasons, "score": int(r["score"])})
    return pairs, total


async def pick_one(session: AsyncSession, user: User, contact_id: int) -> Contact | None:
    """One contact for a picker's current choice (None when missing or foreign)."""
    return (await repository.get_many(session, user.agency_id, [contact_id])).get(contact_id)


async def pick(session: AsyncSession, user: User, q: str) -> Sequence[Contact]:
    """Contacts for a picker (search as you type)."""
    if not q.strip():
        return []
    return await repository.pick(session, user.agency_id, q)


# Lookups for other features (they call this service, never contacts' repository).


async def find(session: AsyncSession, agency_id: int, contact_id: int) -> Contact | None:
    """A contact of this agency with its roles, or None (also when foreign)."""
    return await repository.get(session, agency_id, contact_id)


async def exists(session: AsyncSession, agency_id: int, contact_id: int) -> bool:
    """Whether this agency has the contact."""
    return await repository.exists(session, agency_id, contact_id)


async def get_many(
    session: AsyncSession, agency_id: int, contact_ids: Sequence[int]
) -> dict[int, Contact]:
    """The agency's contacts among these ids, by id, in one query (missing ones left out)."""
    return await repository.get_many(session, agency_id, contact_ids)
