"""Sales progression schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from estatecrm.sales.models import ChainDirection, Milestone, SaleStatus

Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class SaleUpdate(BaseModel):
    """`PATCH /api/v1/sales/{id}`: the solicitors on each side."""

    model_config = ConfigDict(extra="forbid")

    buyer_solicitor_name: Text200 | None = None
    buyer_solicitor_firm: Text200 | None = None
    buyer_solicitor_contact: Text200 | None = None
    vendor_solicitor_name: Text200 | None = None
    vendor_solicitor_firm: Text200 | None = None
    vendor_solicitor_contact: Text200 | None = None


class MilestoneUpdate(BaseModel):
    """`PUT /api/v1/sales/{id}/milestones/{milestone}`: its target and done dates."""

    model_config = ConfigDict(extra="forbid")

    target_date: date | None = None
    done_date: date | None = None


class FallThrough(BaseModel):
    """`POST /api/v1/sales/{id}/fall-through`."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ChainLinkCreate(BaseModel):
    """`POST /api/v1/sales/{id}/chain-links`: another sale of ours, or an outside one."""

    model_config = ConfigDict(extra="forbid")

    direction: ChainDirection
    linked_sale_id: int | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    external_status: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


class MilestoneRead(BaseModel):
    """One milestone."""

    milestone: Milestone
    label: str
    target_date: date | None
    done_date: date | None
    overdue: bool


class ChainLinkRead(BaseModel):
    """One link of a chain."""

    id: int
    direction: ChainDirection
    linked_sale_id: int | None
    description: str
    external_status: str


class SaleRead(BaseModel):
    """A sale with its derived progress."""

    id: int
    property_id: int
    property_address: str
    offer_id: int | None
    buyer_contact_id: int | None
    vendor_contact_id: int | None
    buyer_name: str
    vendor_name: str
    agreed_price_pence: int
    agreed_date: date
    status: SaleStatus
    buyer_solicitor_name: str
    buyer_solicitor_firm: str
    buyer_solicitor_contact: str
    vendor_solicitor_name: str
    vendor_solicitor_firm: str
    vendor_solicitor_contact: str
    exchanged_date: date | None
    completed_date: date | None
    fall_through_reason: str
    fell_through_at: datetime | None
    progress_percent: int
    days_since_agreed: int
    milestones: list[MilestoneRead]
    chain_links: list[ChainLinkRead]
    created_at: datetime
    updated_at: datetime


class ChainEntry(BaseModel):
    """One position in a chain view, from the top (the last purchase) to the bottom."""

    position: int
    sale_id: int | None
    label: str
    status: str
    progress_percent: int | None
    this_sale: bool


class SaleFilters(BaseModel):
    """List filters."""

    status: SaleStatus | None = None
    property_id: int | None = None
    contact_id: int | None = None
