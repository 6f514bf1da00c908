"""Tenancy schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from estatecrm.properties.models import PropertyStatus
from estatecrm.tenancies.models import (
    DepositScheme,
    RentFrequency,
    RightToRentResult,
    TenancyStatus,
    TenancyTerm,
)

Pence = Annotated[int, Field(gt=0, le=10_000_000_000_00)]
Deposit = Annotated[int, Field(ge=0, le=10_000_000_000_00)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Document = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
TenantIds = Annotated[list[int], Field(min_length=1, max_length=10)]


class DepositFields(BaseModel):
    """The deposit, shared by create and update."""

    model_config = ConfigDict(extra="forbid")

    deposit_pence: Deposit | None = None
    deposit_scheme: DepositScheme | None = None
    deposit_reference: Reference | None = None
    deposit_received_date: date | None = None
    deposit_protected_date: date | None = None
    prescribed_info_served_date: date | None = None


class TenancyCreate(DepositFields):
    """`POST /api/v1/tenancies` (or `POST /api/v1/offers/{id}/tenancy`).

    From an accepted lettings offer, the property, tenant, rent and start date default to the
    offer's; directly, `property_id`, `tenant_contact_ids`, `start_date` and `rent_pence` are
    needed.
    """

    offer_id: int | None = None
    property_id: int | None = None
    tenant_contact_ids: TenantIds | None = None
    start_date: date | None = None
    term: TenancyTerm = TenancyTerm.periodic
    end_date: date | None = None
    rent_pence: Pence | None = None
    rent_frequency: RentFrequency = RentFrequency.monthly


class TenancyUpdate(DepositFields):
    """`PATCH /api/v1/tenancies/{id}`: deposit details, tenants and dates."""

    tenant_contact_ids: TenantIds | None = None
    start_date: date | None = None
    term: TenancyTerm | None = None
    end_date: date | None = None
    rent_pence: Pence | None = None
    rent_frequency: RentFrequency | None = None


class RentIncrease(BaseModel):
    """`POST /api/v1/tenancies/{id}/rent-increase`."""

    model_config = ConfigDict(extra="forbid")

    rent_pence: Pence
    effective_date: date


class TenancyEnd(BaseModel):
    """`POST /api/v1/tenancies/{id}/end`: the date and reason; the property's next status."""

    model_config = ConfigDict(extra="forbid")

    end_date: date
    reason: Reason
    property_status: PropertyStatus = PropertyStatus.available


class TenancyActivate(BaseModel):
    """`POST /api/v1/tenancies/{id}/activate`: the day it starts (default: today)."""

    model_config = ConfigDict(extra="forbid")

    on_date: date | None = None


class RightToRentCreate(BaseModel):
    """`POST /api/v1/tenancies/{id}/right-to-rent-checks`."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int
    check_date: date
    document_type: Document
    result: RightToRentResult
    expiry_date: date | None = None
    follow_up_date: date | None = None


class RightToRentRead(BaseModel):
    """A right-to-rent check as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    tenancy_id: int
    contact_id: int
    check_date: date
    document_type: str
    result: RightToRentResult
    expiry_date: date | None
    follow_up_date: date | None
    created_at: datetime


class TenancyRead(BaseModel):
    """A tenancy as the API returns it, with its computed deposit deadline and flags."""

    id: int
    property_id: int
    property_address: str
    offer_id: int | None
    landlord_contact_id: int | None
    tenant_contact_ids: list[int]
    tenant_names: list[str]
    start_date: date
    term: TenancyTerm
    end_date: date | None
    rent_pence: int
    rent_frequency: RentFrequency
    last_rent_increase_date: date | None
    next_rent_increase_date: date | None
    deposit_pence: int
    deposit_cap_pence: int
    deposit_scheme: DepositScheme | None
    deposit_reference: str | None
    deposit_received_date: date | None
    deposit_protected_date: date | None
    prescribed_info_served_date: date | None
    deposit_protection_deadline: date | None
    deposit_overdue: bool
    status: TenancyStatus
    activated_at: datetime | None
    ended_date: date | None
    end_reason: str
    created_at: datetime
    updated_at: datetime


class TenancyFilters(BaseModel):
    """List filters."""

    status: TenancyStatus | None = None
    property_id: int | None = None
    contact_id: int | None = None
    deposit_overdue: bool | None = None
