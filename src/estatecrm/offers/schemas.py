"""Offer schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from estatecrm.offers.models import OfferStatus
from estatecrm.properties.models import MarketingType

Pence = Annotated[int, Field(gt=0, le=10_000_000_000_00)]
Conditions = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
OptReason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class OfferCreate(BaseModel):
    """`POST /api/v1/offers`."""

    model_config = ConfigDict(extra="forbid")

    property_id: int
    applicant_id: int
    amount_pence: Pence
    conditions: Conditions = ""
    proposed_move_in_date: date | None = None
    proposed_term_months: Annotated[int, Field(ge=1, le=120)] | None = None


class OfferUpdate(BaseModel):
    """`PATCH /api/v1/offers/{id}`: amend an open offer (amount, conditions, lettings terms)."""

    model_config = ConfigDict(extra="forbid")

    amount_pence: Pence | None = None
    conditions: Conditions | None = None
    proposed_move_in_date: date | None = None
    proposed_term_months: Annotated[int, Field(ge=1, le=120)] | None = None


class OfferReject(BaseModel):
    """`POST /api/v1/offers/{id}/reject`: the reason is required."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class OfferWithdraw(BaseModel):
    """`POST /api/v1/offers/{id}/withdraw`."""

    model_config = ConfigDict(extra="forbid")

    reason: OptReason = ""


class OfferCounter(BaseModel):
    """`POST /api/v1/offers/{id}/counter`: the amount the vendor or landlord would take."""

    model_config = ConfigDict(extra="forbid")

    counter_amount_pence: Pence
    reason: OptReason = ""


class OfferRead(BaseModel):
    """An offer as the API returns it, with the names a list shows beside it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    property_id: int
    applicant_id: int
    contact_id: int
    amount_pence: int
    conditions: str
    status: OfferStatus
    counter_amount_pence: int | None
    reason: str
    proposed_move_in_date: date | None
    proposed_term_months: int | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    marketing_type: MarketingType
    property_reference: str
    property_address: str
    asking_pence: int
    applicant_name: str
    # What the offer became once accepted: the tenancy made from it, the sale that followed.
    tenancy_id: int | None = None
    sale_id: int | None = None


class OfferFilters(BaseModel):
    """List filters, shared by the API query string and the offers board."""

    status: OfferStatus | None = None
    property_id: int | None = None
    applicant_id: int | None = None
    contact_id: int | None = None
    marketing_type: MarketingType | None = None
