"""Properties pages: list with filters, detail with timeline, add and edit forms."""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from estatecrm.activity import service as activity_service
from estatecrm.applicants import service as applicant_service
from estatecrm.auth import service as auth_service
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.contacts import service as contact_service
from estatecrm.contacts.pages import contact_label
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import DEFAULT_LIMIT, offset_from
from estatecrm.properties import service
from estatecrm.properties.models import (
    Furnishing,
    MarketingType,
    Property,
    PropertyStatus,
    PropertyType,
    Tenure,
)
from estatecrm.properties.schemas import PropertyCreate, PropertyFilters, PropertyReplace
from estatecrm.viewings import service as viewing_service
from estatecrm.viewings.schemas import ViewingFilters
from estatecrm.web.forms import (
    Refusal,
    errors_from,
    pence_field,
    read_form,
    submit,
    validate_read,
)
from estatecrm.web.templating import is_htmx, render

router = APIRouter(include_in_schema=False)

FILTER_KEYS = [
    "q",
    "city",
    "postcode",
    "status",
    "marketing_type",
    "property_type",
    "min_bedrooms",
    "max_bedrooms",
    "min_price",
    "max_price",
    "sort",
]


def _choices(enum_cls: Any) -> list[tuple[str, str]]:
    return [(m.value, m.value.replace("_", " ").capitalize()) for m in enum_cls]


async def _form_context(session: SessionDep, user: Any) -> dict[str, Any]:
    offices = await auth_service.list_offices(session, user)
    users = await auth_service.list_users(session, user)
    return {
        "property_types": _choices(PropertyType),
        "marketing_types": _choices(MarketingType),
        "statuses": _choices(PropertyStatus),
        "tenures": _choices(Tenure),
        "furnishings": _choices(Furnishing),
        "epc_ratings": [(c, c) for c in "ABCDEFG"],
        "tax_bands": [(c, c) for c in "ABCDEFGHI"],
        "offices": [(o.id, o.name) for o in offices],
        "negotiators": [(u.id, u.full_name) for u in users],
    }


async def _owner_label(session: SessionDep, user: Any, raw: Any) -> str | None:
    if not str(raw or "").isdigit():
        return None
    owner = await contact_service.pick_one(session, user, int(raw))
    return contact_label(owner) if owner else None


def _filters_from(params: dict[str, str]) -> tuple[PropertyFilters, dict[str, str]]:
    raw: dict[str, Any] = {k: v for k, v in params.items() if k in FILTER_KEYS and v != ""}
    errors: dict[str, str] = {}
    pence_field(raw, "min_price", "min_price_pence", errors)
    pence_field(raw, "max_price", "max_price_pence", errors)
    try:
        return PropertyFilters.model_validate(raw), errors
    except ValidationError as exc:
        errors.update(errors_from(exc))
        return PropertyFilters(), errors


@router.get("/properties", response_class=HTMLResponse)
async def properties_list(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    """The register with filters; HTMX swaps only the results."""
    params = dict(request.query_params)
    filters, errors = _filters_from(params)
    offset = offset_from(params)
    rows, total = await service.search(session, user, filters, limit=DEFAULT_LIMIT, offset=offset)
    kept = {k: v for k, v in params.items() if k in FILTER_KEYS and v}
    context = {
        "page": {"items": rows, "total": total, "limit": DEFAULT_LIMIT, "offset": offset},
        "values": kept,
        "errors": errors,
        "base_url": "/properties" + ("?" + urlencode(kept) if kept else ""),
        "cities": await service.cities(session, user),
        "property_types": _choices(PropertyType),
        "marketing_types": _choices(MarketingType),
        "statuses": _choices(PropertyStatus),
        "sorts": [
            ("-created_at", "Newest"),
            ("price_pence", "Price, low to high"),
            ("-price_pence", "Price, high to low"),
            ("-bedrooms", "Most bedrooms"),
            ("city", "Town"),
        ],
    }
    return render(request, "properties/list.html", context, block="results")


@router.get("/properties/new", response_class=HTMLResponse)
async def property_new(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """The empty "Add property" form."""
    values = {
        "marketing_type": "sale",
        "status": "available",
        "property_type": "house",
        "has_gas": True,
    }
    context = {
        "values": values,
        "errors": {},
        "mode": "new",
        "owner_label": None,
        **await _form_context(session, user),
    }
    return render(request, "properties/form.html", context)


def _form_to_values(data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    values = {k: v for k, v in data.items() if not k.endswith("_q")}
    pence_field(values, "price", "price_pence", errors)
    features = str(values.pop("features", "") or "")
    values["features"] = [f.strip() for f in features.replace(",", "\n").splitlines() if f.strip()]
    # An unticked checkbox sends nothing, so the form always states gas explicitly.
    values["has_gas"] = "true" if values.get("has_gas") else "false"
    return values


async def _save(
    request: Request, session: SessionDep, user: Any, prop: Property | None
) -> Response:
    data = await read_form(request)
    found: dict[str, str] = {}
    values = _form_to_values(data, found)
    aliases = {"price_pence": "price"}

    async def run() -> Property:
        if prop is None:
            new = validate_read(PropertyCreate, values, aliases, found)
            return await service.create(session, user, new)
        replace = validate_read(PropertyReplace, values, aliases, found)
        return await service.update(session, user, prop.id, replace)

    async def refused(refusal: Refusal) -> Response:
        context = {
            "values": data,
            "errors": refusal.errors,
            "mode": "new" if prop is None else "edit",
            "prop": prop,
            "owner_label": await _owner_label(session, user, data.get("owner_contact_id")),
            **await _form_context(session, user),
        }
        return render(request, "properties/form.html", context, status_code=refusal.status)

    return await submit(
        session, run, done=lambda p: f"/properties/{p.id}", refused=refused, aliases=aliases
    )


@router.post("/properties", response_class=HTMLResponse)
async def property_create(request: Request, session: SessionDep, user: WriterUser) -> Response:
    """Submit the "Add property" form."""
    return await _save(request, session, user, None)


@router.get("/properties/{property_id}", response_class=HTMLResponse)
async def property_detail(
    property_id: int, request: Request, session: SessionDep, user: CurrentUser
) -> Response:
    """One property with its timeline."""
    return await _detail(request, session, user, property_id)


@router.get("/properties/{property_id}/access-code", response_class=HTMLResponse)
async def property_access_code(
    property_id: int, request: Request, session: SessionDep, user: CurrentUser, hide: bool = False
) -> Response:
    """Reveal (or hide again) the masked access code: HTMX swaps just that line."""
    prop = await service.get(session, user, property_id)
    code = service.access_code_of(user, prop)
    revealed = not hide and code is not None
    if is_htmx(request):
        context = {"prop": prop, "revealed": revealed, "can_reveal": True}
        response = render(request, "properties/detail.html", context, block="access_code")
    else:
        response = await _detail(request, session, user, property_id, revealed=revealed)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _detail(
    request: Request,
    session: SessionDep,
    user: Any,
    property_id: int,
    *,
    revealed: bool = False,
    delete_error: str | None = None,
    status_code: int = 200,
) -> Response:
    prop = await service.get(session, user, property_id)
    timeline, _ = await activity_service.timeline(
        session, user.agency_id, service.ENTITY, prop.id, limit=20
    )
    negotiator = (
        await auth_service.get_user(session, user.agency_id, prop.negotiator_id)
        if prop.negotiator_id
        else None
    )
    office = (
        await auth_service.get_office(session, user.agency_id, prop.office_id)
        if prop.office_id
        else None
    )
    matches, match_total = await applicant_service.matches_for_property(
        session, user, prop.id, limit=10, offset=0
    )
    viewings, _ = await viewing_service.search(
        session, user, ViewingFilters(property_id=prop.id, sort="-start_at"), limit=10, offset=0
    )
    context = {
        "prop": prop,
        "timeline": timeline,
        "negotiator": negotiator,
        "office": office,
        "revealed": revealed,
        "can_reveal": service.may_see_access_code(user),
        "owner": (
            await contact_service.pick_one(session, user, prop.owner_contact_id)
            if prop.owner_contact_id
            else None
        ),
        "matches": matches,
        "match_total": match_total,
        "viewings": await viewing_service.describe(session, user.agency_id, viewings),
        "delete_error": delete_error,
    }
    return render(request, "properties/detail.html", context, status_code=status_code)


def _values_of(prop: Property) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(prop, name) for name in service.TRACKED if name not in ("features",)
    }
    for key, value in list(values.items()):
        values[key] = getattr(value, "value", value)
    pounds, pence = divmod(prop.price_pence, 100)
    values["price"] = f"{pounds}" if pence == 0 else f"{pounds}.{pence:02d}"
    values["features"] = "\n".join(prop.features or [])
    return values


@router.get("/properties/{property_id}/edit", response_class=HTMLResponse)
async def property_edit(
    property_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """The edit form, filled in."""
    prop = await service.get(session, user, property_id)
    context = {
        "values": _values_of(prop),
        "errors": {},
        "mode": "edit",
        "prop": prop,
        "owner_label": await _owner_label(session, user, prop.owner_contact_id),
        **await _form_context(session, user),
    }
    response = render(request, "properties/form.html", context)
    # The form holds the access code in clear: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/properties/{property_id}/edit", response_class=HTMLResponse)
async def property_update(
    property_id: int, request: Request, session: SessionDep, user: WriterUser
) -> Response:
    """Submit the edit form."""
    prop = await service.get(session, user, property_id)
    return await _save(request, session, user, prop)


@router.post("/properties/{property_id}/delete")
async def property_delete(
    property_id: int, request: Request, session: SessionDep, user: ManagerUser
) -> Response:
    """Delete a property (managers and admins); why not, on its page, when it must be kept."""

    async def refused(refusal: Refusal) -> Response:
        error, status = refusal.errors["delete"], refusal.status
        return await _detail(
            request, session, user, property_id, delete_error=error, status_code=status
        )

    delete = partial(service.delete, session, user, property_id)
    return await submit(
        session, delete, done="/properties", refused=refused, default_field="delete"
    )
