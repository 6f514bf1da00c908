"""Compliance JSON API: `/api/v1/certificates`, `/api/v1/compliance`, a property's certificates."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response

from estatecrm.activity.api import add_timeline_route
from estatecrm.auth.deps import CurrentUser, ManagerUser, WriterUser
from estatecrm.compliance import service
from estatecrm.compliance.schemas import (
    CertificateCreate,
    CertificateFilters,
    CertificateRead,
    CertificateUpdate,
    ComplianceItem,
    ComplianceSummary,
    ItemFilters,
    PropertyComplianceRead,
)
from estatecrm.db.session import SessionDep
from estatecrm.kit.clock import today_london
from estatecrm.kit.pagination import Page, Paging

router = APIRouter(tags=["compliance"])

OnDate = Annotated[
    dt.date | None, Query(alias="date", description="judge statuses on this day (default today)")
]


@router.get("/api/v1/certificates", response_model=Page[CertificateRead])
async def list_certificates(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[CertificateFilters, Query()],
) -> Page[CertificateRead]:
    """Current certificates (history with `include_superseded`), filtered by status, type,
    property and expiry range, e.g. `?status=expiring&before=2026-03-01`."""
    rows, total, on_date = await service.search(
        session, user, filters, limit=paging.limit, offset=paging.offset
    )
    return paging.page([service.to_read(r, on_date) for r in rows], total)


@router.post("/api/v1/certificates", response_model=CertificateRead, status_code=201)
async def create_certificate(
    body: CertificateCreate, session: SessionDep, user: WriterUser
) -> CertificateRead:
    """Record a certificate; `expiry_date` is derived from the type's rule when left out."""
    cert = await service.create(session, user, body)
    return service.to_read(cert, today_london())


@router.get("/api/v1/certificates/{certificate_id}", response_model=CertificateRead)
async def get_certificate(
    certificate_id: int, session: SessionDep, user: CurrentUser, on_date: OnDate = None
) -> CertificateRead:
    """One certificate, with its status on `date`."""
    cert = await service.get(session, user, certificate_id)
    return service.to_read(cert, on_date or today_london())


@router.patch("/api/v1/certificates/{certificate_id}", response_model=CertificateRead)
async def update_certificate(
    certificate_id: int, body: CertificateUpdate, session: SessionDep, user: WriterUser
) -> CertificateRead:
    """Change some fields of a certificate."""
    cert = await service.update(session, user, certificate_id, body)
    return service.to_read(cert, today_london())


@router.delete("/api/v1/certificates/{certificate_id}", status_code=204)
async def delete_certificate(
    certificate_id: int, session: SessionDep, user: ManagerUser
) -> Response:
    """Delete a certificate recorded in error (managers and admins)."""
    await service.delete(session, user, certificate_id)
    return Response(status_code=204)


add_timeline_route(router, "/api/v1/certificates/{certificate_id}/activity", service)


@router.get("/api/v1/properties/{property_id}/certificates", response_model=Page[CertificateRead])
async def property_certificates(
    property_id: int,
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    on_date: OnDate = None,
) -> Page[CertificateRead]:
    """Every certificate of a property, current ones first, older ones after."""
    rows, total = await service.for_property(
        session, user, property_id, limit=paging.limit, offset=paging.offset
    )
    day = on_date or today_london()
    return paging.page([service.to_read(r, day) for r in rows], total)


@router.get("/api/v1/properties/{property_id}/compliance", response_model=PropertyComplianceRead)
async def property_compliance(
    property_id: int, session: SessionDep, user: CurrentUser, on_date: OnDate = None
) -> PropertyComplianceRead:
    """Each certificate type of a property (required, status) and what stops it being let."""
    return await service.property_compliance(session, user, property_id, on_date or today_london())


@router.get("/api/v1/compliance/summary", response_model=ComplianceSummary)
async def compliance_summary(
    session: SessionDep, user: CurrentUser, on_date: OnDate = None
) -> ComplianceSummary:
    """Counts per status and certificate type, per urgency, and whether anything is overdue."""
    return await service.summary(session, user.agency_id, on_date or today_london())


@router.get("/api/v1/compliance/items", response_model=Page[ComplianceItem])
async def compliance_items(
    session: SessionDep,
    user: CurrentUser,
    paging: Paging,
    filters: Annotated[ItemFilters, Query()],
) -> Page[ComplianceItem]:
    """What needs action, most urgent first: expired, expiring within 7 then 30 days, missing."""
    rows, total = await service.items(
        session,
        user.agency_id,
        filters.date or today_london(),
        urgency=filters.urgency,
        status=filters.status,
        cert_type=filters.type,
        property_id=filters.property_id,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.page(rows, total)
