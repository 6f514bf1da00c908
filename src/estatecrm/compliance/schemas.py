"""Certificate and compliance schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from estatecrm.compliance.models import CertificateType, ComplianceStatus

Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
EpcRating = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern="^[A-Ga-g]$")
]
Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
DocumentUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]

# Dates a person could mean: not before gas safety records existed, not absurdly far ahead.
EARLIEST = dt.date(1990, 1, 1)
LATEST = dt.date(2100, 12, 31)


def _check_url(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.lower().startswith(("https://", "http://")):
        raise ValueError("Enter a web address starting with https:// (or record a note instead)")
    return value


def _check_range(value: dt.date | None) -> dt.date | None:
    if value is not None and not EARLIEST <= value <= LATEST:
        raise ValueError(f"Enter a date between {EARLIEST:%Y} and {LATEST:%Y}")
    return value


class CertificateCreate(BaseModel):
    """`POST /api/v1/certificates`; leave `expiry_date` out to derive it from the type's rule."""

    model_config = ConfigDict(extra="forbid")

    property_id: int
    type: CertificateType
    issued_date: dt.date
    expiry_date: dt.date | None = None
    reference: Reference | None = None
    rating: EpcRating | None = None
    exemption_reference: Reference | None = None
    exemption_expiry_date: dt.date | None = None
    document_url: DocumentUrl | None = None
    notes: Notes = ""

    @field_validator("document_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator("issued_date", "expiry_date", "exemption_expiry_date")
    @classmethod
    def _dates(cls, value: dt.date | None) -> dt.date | None:
        return _check_range(value)


class CertificateUpdate(BaseModel):
    """`PATCH /api/v1/certificates/{id}`: any subset; `expiry_date: null` re-derives it."""

    model_config = ConfigDict(extra="forbid")

    type: CertificateType | None = None
    issued_date: dt.date | None = None
    expiry_date: dt.date | None = None
    reference: Reference | None = None
    rating: EpcRating | None = None
    exemption_reference: Reference | None = None
    exemption_expiry_date: dt.date | None = None
    document_url: DocumentUrl | None = None
    notes: Notes | None = None

    @field_validator("document_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _check_url(value)

    @field_validator("issued_date", "expiry_date", "exemption_expiry_date")
    @classmethod
    def _dates(cls, value: dt.date | None) -> dt.date | None:
        return _check_range(value)


class CertificateRead(BaseModel):
    """A certificate as the API returns it, with its status on the date asked about."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    property_id: int
    type: CertificateType
    issued_date: dt.date
    expiry_date: dt.date
    expiry_derived: bool
    reference: str | None
    rating: str | None
    exemption_reference: str | None
    exemption_expiry_date: dt.date | None
    document_url: str | None
    notes: str
    is_current: bool
    status: ComplianceStatus
    days_to_expiry: int
    created_at: dt.datetime
    updated_at: dt.datetime


CertificateSort = Literal[
    "expiry_date", "-expiry_date", "issued_date", "-issued_date", "-created_at"
]


class CertificateFilters(BaseModel):
    """`GET /api/v1/certificates` filters; `date` is the day statuses are judged on (today)."""

    property_id: int | None = None
    type: CertificateType | None = None
    status: ComplianceStatus | None = None
    before: dt.date | None = Field(default=None, description="expiry_date earlier than this")
    after: dt.date | None = Field(default=None, description="expiry_date on or after this")
    date: dt.date | None = Field(default=None, description="judge statuses on this day")
    include_superseded: bool = Field(
        default=False, description="also list older certificates replaced by a newer one"
    )
    sort: CertificateSort = "expiry_date"

    @field_validator("status")
    @classmethod
    def _no_missing(cls, value: ComplianceStatus | None) -> ComplianceStatus | None:
        if value == ComplianceStatus.missing:
            raise ValueError(
                "missing certificates have no record to list: "
                "use /api/v1/compliance/items?status=missing"
            )
        return value


Urgency = Literal["expired", "due_7", "due_30", "missing"]


class ItemFilters(BaseModel):
    """`GET /api/v1/compliance/items`: what needs action, most urgent first."""

    urgency: Urgency | None = None
    status: Literal["expired", "expiring", "missing"] | None = None
    type: CertificateType | None = None
    property_id: int | None = None
    date: dt.date | None = None


class ComplianceItem(BaseModel):
    """One certificate needing action, or one required certificate that is missing."""

    property_id: int
    property_reference: str
    property_address: str
    type: CertificateType
    status: ComplianceStatus
    urgency: Urgency
    certificate_id: int | None
    expiry_date: dt.date | None
    days_to_expiry: int | None


class EpcProblem(BaseModel):
    """A let or marketed letting whose current EPC is below E with no valid exemption."""

    property_id: int
    property_reference: str
    property_address: str
    certificate_id: int
    rating: str


class ComplianceSummary(BaseModel):
    """`GET /api/v1/compliance/summary`: counts across the agency on a date."""

    date: dt.date
    by_status: dict[str, int]
    by_type: dict[str, dict[str, int]]
    by_urgency: dict[str, int]
    epc_below_minimum: int
    properties_with_problems: int
    overdue: bool


class RequirementRead(BaseModel):
    """One certificate type of one property: what is recorded and where it stands."""

    type: CertificateType
    required: bool
    status: ComplianceStatus | None
    certificate_id: int | None
    expiry_date: dt.date | None


class PropertyComplianceRead(BaseModel):
    """`GET /api/v1/properties/{id}/compliance`: the property's certificates and letting check."""

    property_id: int
    date: dt.date
    requirements: list[RequirementRead]
    lettable_problems: list[str]
