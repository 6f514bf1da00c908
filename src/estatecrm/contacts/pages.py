"""Contacts pages: list, detail (roles, consent, ID check, properties, viewings), forms, merge."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.applicants import service as applicant_service
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.contacts import service
from estatecrm.contacts.models import ConsentChannel, Contact, ContactRoleName, IdCheckStatus
from estatecrm.contacts.schemas import (
    BankDetailsWrite,
    ContactCreate,
    ContactFilters,
    ContactReplace,
)
from estatecrm.db.session import SessionDep, writes_on_read
from estatecrm.errors import CRMError
from estatecrm.kit.pagination import DEFAULT_LIMIT, offset_from
from estatecrm.properties import service as property_service
from estatecrm.viewings import service as viewing_service
from estatecrm.web.forms import (
    FormInvalid,
    Refusal,
    errors_from,
    read_form,
    submit,
)
from estatecrm.web.forms import validate as validate_form
from estatecrm.web.templating import render

router = APIRouter(include_in_schema=False)

FILTER_KEYS = ["q", "role", "id_check_status", "sort"]
PICKER_FIELDS = {"owner_contact_id", "contact_id", "other_id"}


def choices(enum_cls: Any) -> list[tuple[str, str]]:
    """Options for a select: `(value, "Label")`."""
    return [(m.value, m.value.replace("_", " ").capitalize()) for m in enum_cls]


def contact_label(contact: Contact) -> str:
    """How pickers show a contact: name, then whatever tells namesakes apart."""
    extra = [contact.email or "", contact.postcode or ""]
    details = " · ".join(e for e in extra if e)
    return f"{contact.first_name} {contact.last_name}" + (f" ({details})" if details else "")


def _filters_from(params: dict[str, str]) -> tuple[ContactFilters, dict[str, str]]:
    raw = {k: v for k, v in params.items() if k in FILTER_KEYS and v != ""}
    try:
        return ContactFilters.model_validate(raw), {}
    except ValidationError as exc:
        return ContactFilters(), errors_from(exc)


@router.get("/contacts", response_class=HTMLResponse)
async def contacts_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Contacts with search and filters; HTMX swaps only the results."""
    params = dict(request.query_params)
    filters, errors = _filters_from(params)
    offset = offset_from(params)
    rows, total = await service.search(session, user, filters, limit=DEFAULT_LIMIT, offset=offset)
    kept = {k: v for k, v in params.items() if k in FILTER_KEYS and v}
    context = {
        "page": {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "values": kept,
        "errors": errors,
        "base_url": "/contacts" + ("?" + urlencode(kept) if kept else ""),
        "roles": choices(ContactRoleName),
        "checks": choices(IdCheckStatus),
        "sorts": [
            ("last_name", "Surname"),
            ("first_name", "First name"),
            ("-created_at", "Newest"),
            ("-updated_at", "Recently changed"),
        ],
    }
    return render(request, "contacts/list.html", context, block="results")


@router.get("/contacts/pick", response_class=HTMLResponse)
async def contacts_pick(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Options for a contact picker (search as you type)."""
    params = request.query_params
    field = params.get("field", "contact_id")
    if field not in PICKER_FIELDS:
        field = "contact_id"
    q = (params.get(f"{field}_q") or "").strip()
    rows = await service.pick(session, user, q)
    selected = None
    chosen = params.get(field, "")
    if chosen.isdigit():
        found = await service.pick_one(session, user, int(chosen))
        selected = (found.id, contact_label(found)) if found else None
    items = [(c.id, contact_label(c)) for c in rows]
    return render(
        request,
        "contacts/pick.html",
        {"field": field, "items": items, "selected": selected, "q": q},
    )


@router.get("/contacts/duplicates", response_class=HTMLResponse)
async def contacts_duplicates(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """Likely duplicate pairs, with a merge button for each."""
    try:
        offset = max(0, int(request.query_params.get("offset", "0") or 0))
    except ValueError:
        offset = 0
    pairs, total = await service.duplicates(session, user, limit=DEFAULT_LIMIT, offset=offset)
    context = {
        "pairs": pairs,
        "page": {"items": pairs, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "base_url": "/contacts/duplicates",
    }
    return render(request, "contacts/duplicates.html", context, block="results")


def _form_context() -> dict[str, Any]:
    return {
        "roles": choices(ContactRoleName),
        "checks": choices(IdCheckStatus),
        "channels": choices(ConsentChannel),
        "titles": [(t, t) for t in ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof")],
    }


@router.get("/contacts/new", response_class=HTMLResponse)
async def contact_new(request: Request, user: WriterUser) -> Response:
    """The empty "Add contact" form."""
    role = request.query_params.get("role", "")
    values: dict[str, Any] = {"roles": [role] if role in ContactRoleName.__members__ else []}
    context = {"values": values, "errors": {}, "mode": "new", **_form_context()}
    return render(request, "contacts/form.html", context)


def _form_to_values(data: dict[str, Any]) -> dict[str, Any]:
    values = dict(data)
    roles = values.pop("roles", [])
    values["roles"] = [roles] if isinstance(roles, str) else list(roles)
    values["roles"] = [r for r in values["roles"] if r]
    values["marketing_consent"] = values.get("marketing_consent") in ("on", "true", "1")
    values["allow_duplicate"] = values.get("allow_duplicate") in ("on", "true", "1")
    return values


async def _save(
    request: Request, session: SessionDep, user: Any, contact: Contact | None
) -> Response:
    data = await read_form(request)
    values = _form_to_values(data)

    async def run() -> Contact:
        if contact is None:
            return await service.create(session, user, validate_form(ContactCreate, values))
        replace = validate_form(ContactReplace, values)
        return await service.update(session, user, contact.id, replace)

    async def refused(refusal: Refusal) -> Response:
        exc, duplicate = refusal.error, None
        if (
            isinstance(exc, CRMError)
            and isinstance(exc.detail, dict)
            and "existing_id" in exc.detail
        ):
            duplicate = {"id": exc.detail["existing_id"], "message": exc.message}
        context = {
            "values": {
                **data,
                "roles": values["roles"],
                "marketing_consent": values["marketing_consent"],
            },
            "errors": refusal.errors,
            "duplicate": duplicate,
            "mode": "new" if contact is None else "edit",
            "contact": contact,
            **_form_context(),
        }
        status = 409 if duplicate else 422
        return render(request, "contacts/form.html", context, status_code=status)

    return await submit(session, run, done=lambda c: f"/contacts/{c.id}", refused=refused)


@router.post("/contacts", response_class=HTMLResponse)
async def contact_create(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the "Add contact" form."""
    return await _save(request, session, user, None)


@router.get("/contacts/{contact_id}", response_class=HTMLResponse)
async def contact_detail(
    contact_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """One contact: details, consent history, searches, properties, viewings, timeline."""
    contact = await service.get(session, user, contact_id)
    context = await _detail_context(session, user, contact, {})
    return render(request, "contacts/detail.html", context)


def _values_of(contact: Contact) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(contact, name) for name in service.TRACKED}
    values["roles"] = [r.value for r in contact.roles]
    values["id_check_status"] = contact.id_check_status.value
    values["id_check_date"] = contact.id_check_date.isoformat() if contact.id_check_date else ""
    return values


@router.get("/contacts/{contact_id}/edit", response_class=HTMLResponse)
async def contact_edit(
    contact_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """The edit form, filled in."""
    contact = await service.get(session, user, contact_id)
    context = {
        "values": _values_of(contact),
        "errors": {},
        "mode": "edit",
        "contact": contact,
        **_form_context(),
    }
    return render(request, "contacts/form.html", context)


@router.post("/contacts/{contact_id}/edit", response_class=HTMLResponse)
async def contact_update(
    contact_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Submit the edit form."""
    contact = await service.get(session, user, contact_id)
    return await _save(request, session, user, contact)


@router.post("/contacts/{contact_id}/delete")
async def contact_delete(
    contact_id: int, request: Request, session: SessionDep, user: ManagerUser
) -> Response:
    """Delete a contact (managers and admins); why not, by the button, when records need it."""

    async def refused(refusal: Refusal) -> Response:
        contact = await service.get(session, user, contact_id)
        return await _detail_with_error(
            request, session, user, contact, refusal.errors, refusal.status
        )

    delete = partial(service.delete, session, user, contact_id)
    return await submit(session, delete, done="/contacts", refused=refused, default_field="delete")


@router.post("/contacts/{contact_id}/merge", response_class=HTMLResponse)
async def contact_merge(
    contact_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Fold another contact into this one (from the contact page or the duplicates report)."""
    data = await read_form(request)
    raw = str(data.get("other_id") or "")
    if not raw.isdigit():
        contact = await service.get(session, user, contact_id)
        return await _detail_with_error(
            request, session, user, contact, {"other_id": "Choose the contact to merge in"}
        )
    try:
        async with session.begin_nested():
            await service.merge(session, user, contact_id, int(raw))
    except CRMError as exc:
        if exc.status_code == 404 and exc.field is None:
            raise
        contact = await service.get(session, user, contact_id)
        # A contact to merge that is not there is a mistake in the form, not a missing page.
        status = 422 if exc.status_code == 404 else exc.status_code
        return await _detail_with_error(
            request, session, user, contact, {"other_id": exc.message}, status
        )
    return RedirectResponse(f"/contacts/{contact_id}?merged={raw}", status_code=303)


async def _detail_context(
    session: SessionDep, user: Any, contact: Contact, errors: dict[str, str]
) -> dict[str, Any]:
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, contact.id, limit=20
    )
    viewings = await viewing_service.for_contact(session, user, contact.id)
    return {
        "contact": contact,
        "consent": await service.consent_history(session, user, contact.id),
        "applicants": await applicant_service.for_contact(session, user, contact.id),
        "properties": await property_service.owned_by(session, user, contact.id),
        "viewings": await viewing_service.describe(session, user.agency_id, viewings),
        "timeline": timeline,
        "errors": errors,
        "can_bank": service.may_handle_bank_details(user),
    }


async def _detail_with_error(
    request: Request,
    session: SessionDep,
    user: Any,
    contact: Contact,
    errors: dict[str, str],
    status: int = 422,
) -> Response:
    context = await _detail_context(session, user, contact, errors)
    return render(request, "contacts/detail.html", context, status_code=status)


@router.get("/contacts/{contact_id}/bank-details", response_class=HTMLResponse)
@writes_on_read  # every look at bank details goes on the contact's timeline
async def contact_bank_details(
    contact_id: int, request: Request, session: SessionDep, user: ManagerUser
) -> Response:
    """The contact page with the bank details shown in full (managers and admins)."""
    contact = await service.get(session, user, contact_id)
    full = await service.reveal_bank_details(session, user, contact_id)
    context = {**await _detail_context(session, user, contact, {}), "bank_full": full}
    response = render(request, "contacts/detail.html", context)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/contacts/{contact_id}/bank-details", response_class=HTMLResponse)
async def contact_bank_details_save(
    contact_id: int, request: Request, session: SessionDep, user: ManagerUser
) -> Response:
    """Save bank details from the contact page; errors are shown next to the fields."""
    contact = await service.get(session, user, contact_id)
    data = await read_form(request)
    try:
        body = validate_form(BankDetailsWrite, data)
        async with session.begin_nested():
            await service.set_bank_details(session, user, contact_id, body)
    except FormInvalid as exc:
        context = {
            **await _detail_context(session, user, contact, {}),
            "bank_errors": exc.errors,
            "bank_values": {"account_name": data.get("account_name", "")},
        }
        return render(request, "contacts/detail.html", context, status_code=422)
    return RedirectResponse(f"/contacts/{contact_id}", status_code=303)
