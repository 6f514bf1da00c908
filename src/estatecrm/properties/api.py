"""Properties JSON API: `/api/v1/properties`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from estatecrm.activity.api import add_timeline_route
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.auth.models import User
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import Page, Paging
from estatecrm.properties import service
from estatecrm.properties.models import Property
from estatecrm.properties.schemas import (
    PropertyCreate,
    PropertyFilters,
    PropertyRead,
    PropertyReplace,
    PropertyUpdate,
)

router = APIRouter(prefix="/api/v1/properties", tags=["properties"])


def _read(user: User, prop: Property) -> PropertyRead:
    """A property as this user may see it (no access code for viewers)."""
    read = PropertyRead.model_validate(prop)
    if not service.may_see_access_code(user):
        read = read.model_copy(update={"access_code": None})
    return read


@router.get("", response_model=Page[PropertyRead])
async def list_properties(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[PropertyFilters, Query()],
) -> Page[PropertyRead]:
    """Search the register (filters, sort, limit/offset)."""
    rows, total = await service.search(
        session, user, filters, limit=paging.limit, offset=paging.offset
    )
    return paging.page([_read(user, r) for r in rows], total)


@router.post("", response_model=PropertyRead, status_code=201)
async def create_property(
    body: PropertyCreate, session: SessionDep, user: WriterUser
) -> PropertyRead:
    """Add a property."""
    return _read(user, await service.create(session, user, body))


@router.get("/{property_id}", response_model=PropertyRead)
async def get_property(property_id: int, session: SessionDep, user: CurrentUser) -> PropertyRead:
    """One property."""
    return _read(user, await service.get(session, user, property_id))


@router.put("/{property_id}", response_model=PropertyRead)
async def replace_property(
    property_id: int, body: PropertyReplace, session: SessionDep, user: WriterUser
) -> PropertyRead:
    """Replace every field of a property."""
    return _read(user, await service.update(session, user, property_id, body))


@router.patch("/{property_id}", response_model=PropertyRead)
async def update_property(
    property_id: int, body: PropertyUpdate, session: SessionDep, user: WriterUser
) -> PropertyRead:
    """Change some fields of a property."""
    return _read(user, await service.update(session, user, property_id, body))


@router.delete("/{property_id}", status_code=204)
async def delete_property(property_id: int, session: SessionDep, user: ManagerUser) -> Response:
    """Delete a property (managers and admins)."""
    await service.delete(session, user, property_id)
    return Response(status_code=204)


add_timeline_route(router, "/{property_id}/activity", service)
