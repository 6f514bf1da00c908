"""Applicants JSON API: `/api/v1/applicants`, and matching in both directions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from estatecrm.activity.api import add_timeline_route
from estatecrm.applicants import service
from estatecrm.applicants.schemas import (
    ApplicantCreate,
    ApplicantFilters,
    ApplicantMatch,
    ApplicantRead,
    ApplicantReplace,
    ApplicantUpdate,
    PropertyMatch,
)
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.db.session import SessionDep
from estatecrm.kit.pagination import Page, Paging
from estatecrm.properties.schemas import PropertyRead

router = APIRouter(prefix="/api/v1", tags=["applicants"])


async def _read(session: SessionDep, user: CurrentUser, applicant_id: int) -> ApplicantRead:
    applicant, contact = await service.get_with_contact(session, user, applicant_id)
    return ApplicantRead.of(applicant, contact)


@router.get("/applicants", response_model=Page[ApplicantRead])
async def list_applicants(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[ApplicantFilters, Query()],
) -> Page[ApplicantRead]:
    """Search applicants (`q` over the contact, `marketing_type`, `status`, `area`, ...)."""
    rows, total = await service.search(
        session, user, filters, limit=paging.limit, offset=paging.offset
    )
    return paging.page([ApplicantRead.of(a, c) for a, c in rows], total)


@router.post("/applicants", response_model=ApplicantRead, status_code=201)
async def create_applicant(
    body: ApplicantCreate, session: SessionDep, user: WriterUser
) -> ApplicantRead:
    """Record what a contact is looking for (the contact gains the applicant role)."""
    applicant = await service.create(session, user, body)
    return await _read(session, user, applicant.id)


@router.get("/applicants/{applicant_id}", response_model=ApplicantRead)
async def get_applicant(applicant_id: int, session: SessionDep, user: CurrentUser) -> ApplicantRead:
    """One applicant."""
    return await _read(session, user, applicant_id)


@router.put("/applicants/{applicant_id}", response_model=ApplicantRead)
async def replace_applicant(
    applicant_id: int, body: ApplicantReplace, session: SessionDep, user: WriterUser
) -> ApplicantRead:
    """Replace every field of an applicant."""
    await service.update(session, user, applicant_id, body)
    return await _read(session, user, applicant_id)


@router.patch("/applicants/{applicant_id}", response_model=ApplicantRead)
async def update_applicant(
    applicant_id: int, body: ApplicantUpdate, session: SessionDep, user: WriterUser
) -> ApplicantRead:
    """Change some fields of an applicant."""
    await service.update(session, user, applicant_id, body)
    return await _read(session, user, applicant_id)


@router.delete("/applicants/{applicant_id}", status_code=204)
async def delete_applicant(applicant_id: int, session: SessionDep, user: ManagerUser) -> Response:
    """Delete an applicant (managers and admins); 409 once viewings refer to it."""
    await service.delete(session, user, applicant_id)
    return Response(status_code=204)


add_timeline_route(router, "/applicants/{applicant_id}/activity", service)


@router.get("/applicants/{applicant_id}/matches", response_model=Page[ApplicantMatch])
async def applicant_matches(
    applicant_id: int, session: SessionDep, user: CurrentUser, paging: Paging
) -> Page[ApplicantMatch]:
    """Available properties that fit the applicant, best first, with `score` and `reasons`."""
    items, total = await service.matches_for_applicant(
        session, user, applicant_id, limit=paging.limit, offset=paging.offset
    )
    return paging.page(
        [
            ApplicantMatch(
                property=PropertyRead.model_validate(i["property"]),
                score=i["score"],
                reasons=i["reasons"],
            )
            for i in items
        ],
        total,
    )


@router.get(
    "/properties/{property_id}/matches", response_model=Page[PropertyMatch], tags=["properties"]
)
async def property_matches(
    property_id: int, session: SessionDep, user: CurrentUser, paging: Paging
) -> Page[PropertyMatch]:
    """Live applicants whose requirements the property meets, best first, with reasons."""
    items, total = await service.matches_for_property(
        session, user, property_id, limit=paging.limit, offset=paging.offset
    )
    return paging.page(
        [
            PropertyMatch(
                applicant=ApplicantRead.of(i["applicant"], i["contact"]),
                score=i["score"],
                reasons=i["reasons"],
            )
            for i in items
        ],
        total,
    )
