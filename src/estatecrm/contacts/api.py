"""Contacts JSON API: `/api/v1/contacts`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from estatecrm.activity.api import add_timeline_route
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.contacts import service
from estatecrm.contacts.schemas import (
    BankDetailsRead,
    BankDetailsWrite,
    ConsentChangeRead,
    ContactCreate,
    ContactFilters,
    ContactRead,
    ContactReplace,
    ContactSummary,
    ContactUpdate,
    DuplicatePair,
    MergeRequest,
    MergeResult,
)
from estatecrm.db.session import SessionDep, writes_on_read
from estatecrm.kit.pagination import Page, Paging

router = APIRouter(prefix="/api/v1/contacts", tags=["contacts"])

AllowDuplicate = Annotated[
    bool,
    Query(description="Save even though another contact has the same email or phone"),
]


@router.get("", response_model=Page[ContactRead])
async def list_contacts(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[ContactFilters, Query()],
) -> Page[ContactRead]:
    """Search contacts (`q` over name, email and phone; `role`; sort; limit/offset)."""
    rows, total = await service.search(
        session, user, filters, limit=paging.limit, offset=paging.offset
    )
    return paging.page([ContactRead.model_validate(r) for r in rows], total)


@router.post("", response_model=ContactRead, status_code=201)
async def create_contact(
    body: ContactCreate,
    session: SessionDep,
    user: WriterUser,
    allow_duplicate: AllowDuplicate = False,
) -> ContactRead:
    """Add a contact; 409 with `detail.existing_id` when the email or phone is already known."""
    if allow_duplicate:
        body.allow_duplicate = True
    return ContactRead.model_validate(await service.create(session, user, body))


@router.get("/duplicates", response_model=Page[DuplicatePair])
async def duplicate_contacts(
    session: SessionDep, user: CurrentUser, paging: Paging
) -> Page[DuplicatePair]:
    """Likely duplicate pairs (same email, same phone, or same name), strongest first."""
    pairs, total = await service.duplicates(session, user, limit=paging.limit, offset=paging.offset)
    return paging.page(
        [
            DuplicatePair(
                contact=ContactSummary.model_validate(p["contact"]),
                other=ContactSummary.model_validate(p["other"]),
                reasons=p["reasons"],
                score=p["score"],
            )
            for p in pairs
        ],
        total,
    )


@router.get("/{contact_id}", response_model=ContactRead)
async def get_contact(contact_id: int, session: SessionDep, user: CurrentUser) -> ContactRead:
    """One contact."""
    return ContactRead.model_validate(await service.get(session, user, contact_id))


@router.put("/{contact_id}", response_model=ContactRead)
async def replace_contact(
    contact_id: int,
    body: ContactReplace,
    session: SessionDep,
    user: WriterUser,
    allow_duplicate: AllowDuplicate = False,
) -> ContactRead:
    """Replace every field of a contact."""
    if allow_duplicate:
        body.allow_duplicate = True
    return ContactRead.model_validate(await service.update(session, user, contact_id, body))


@router.patch("/{contact_id}", response_model=ContactRead)
async def update_contact(
    contact_id: int,
    body: ContactUpdate,
    session: SessionDep,
    user: WriterUser,
    allow_duplicate: AllowDuplicate = False,
) -> ContactRead:
    """Change some fields of a contact (changing consent needs `consent_channel`)."""
    if allow_duplicate:
        body.allow_duplicate = True
    return ContactRead.model_validate(await service.update(session, user, contact_id, body))


@router.get("/{contact_id}/bank-details", response_model=BankDetailsRead)
@writes_on_read  # every look at bank details goes on the contact's timeline
async def get_bank_details(
    contact_id: int, session: SessionDep, user: ManagerUser
) -> BankDetailsRead:
    """The full bank details (managers and admins; each look is recorded on the timeline)."""
    return BankDetailsRead(**await service.reveal_bank_details(session, user, contact_id))


@router.put("/{contact_id}/bank-details", response_model=ContactRead)
async def put_bank_details(
    contact_id: int, body: BankDetailsWrite, session: SessionDep, user: ManagerUser
) -> ContactRead:
    """Record or replace a contact's bank details (stored encrypted)."""
    return ContactRead.model_validate(
        await service.set_bank_details(session, user, contact_id, body)
    )


@router.delete("/{contact_id}/bank-details", status_code=204)
async def delete_bank_details(contact_id: int, session: SessionDep, user: ManagerUser) -> Response:
    """Forget a contact's bank details."""
    await service.clear_bank_details(session, user, contact_id)
    return Response(status_code=204)


@router.delete("/{contact_id}", status_code=204)
async def delete_contact(contact_id: int, session: SessionDep, user: ManagerUser) -> Response:
    """Delete a contact (managers and admins); 409 while viewings refer to them."""
    await service.delete(session, user, contact_id)
    return Response(status_code=204)


@router.post("/{contact_id}/merge", response_model=MergeResult)
async def merge_contacts(
    contact_id: int, body: MergeRequest, session: SessionDep, user: WriterUser
) -> MergeResult:
    """Fold `other_id` into this contact: every reference moves, the other is removed."""
    result = await service.merge(session, user, contact_id, body.other_id)
    return MergeResult(
        contact=ContactRead.model_validate(result["contact"]),
        removed_id=result["removed_id"],
        moved=result["moved"],
    )


@router.get("/{contact_id}/consent", response_model=list[ConsentChangeRead])
async def consent_history(
    contact_id: int, session: SessionDep, user: CurrentUser
) -> list[ConsentChangeRead]:
    """Every change of the contact's marketing consent: when, by whom, through which channel."""
    rows = await service.consent_history(session, user, contact_id)
    return [ConsentChangeRead.model_validate(r) for r in rows]


add_timeline_route(router, "/{contact_id}/activity", service)
