"""Applicant and matching schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from estatecrm.applicants.models import Applicant, ApplicantStatus, BuyerPosition, MustHave
from estatecrm.contacts.models import Contact
from estatecrm.contacts.schemas import ContactSummary
from estatecrm.kit.uk_postcode import InvalidPostcode, is_district, normalise_postcode, outward_code
from estatecrm.properties.models import MarketingType, PropertyType
from estatecrm.properties.schemas import PropertyRead

Pence = Annotated[int, Field(gt=0, le=10_000_000_000_00)]
Rooms = Annotated[int, Field(ge=0, le=100)]
Notes = Annotated[str, StringConstraints(max_length=20_000)]
MAX_AREAS = 30


def normalise_area(value: str) -> str:
    """A postcode district (`so15` → `SO15`, a full postcode → its district) or a town name."""
    text = " ".join(value.split())
    if not text:
        raise ValueError("Enter a postcode district (SO15) or a town")
    compact = text.replace(" ", "").upper()
    if is_district(compact):
        return compact
    try:
        return outward_code(normalise_postcode(compact))
    except InvalidPostcode:
        pass
    if not re.fullmatch(r"[A-Za-z][A-Za-z .'\-&]*", text):
        raise ValueError(f"'{text}' is neither a postcode district (like SO15) nor a town name")
    # Capitalise words typed in lower case; keep "McAllister" or "St Albans" as typed.
    return " ".join(w[:1].upper() + w[1:] if w.islower() else w for w in text.split())


def area_key(area: str) -> str:
    """How an area is matched: lower-cased (districts and towns never collide)."""
    return area.lower()


def _areas(value: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    for raw in value:
        area = normalise_area(raw)
        seen.setdefault(area_key(area), area)
    if len(seen) > MAX_AREAS:
        raise ValueError(f"At most {MAX_AREAS} areas")
    return list(seen.values())


def _unique(value: list[Any]) -> list[Any]:
    return list(dict.fromkeys(value))


Areas = Annotated[
    list[Annotated[str, StringConstraints(max_length=60)]],
    Field(max_length=100),
    AfterValidator(_areas),
]
Types = Annotated[list[PropertyType], Field(max_length=20), AfterValidator(_unique)]
MustHaves = Annotated[list[MustHave], Field(max_length=20), AfterValidator(_unique)]


def _not_below(info: ValidationInfo, value: int | None, low_field: str) -> int | None:
    low = info.data.get(low_field)
    if value is not None and low is not None and value < low:
        raise ValueError("The maximum must be at least the minimum")
    return value


class ApplicantFields(BaseModel):
    """Fields a client may set; shared by create and full replace."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int
    marketing_type: MarketingType
    min_price_pence: Pence | None = None
    max_price_pence: Pence | None = None
    min_bedrooms: Rooms | None = None
    max_bedrooms: Rooms | None = None
    property_types: Types = []
    areas: Areas = []
    must_haves: MustHaves = []
    move_by_date: date | None = None
    position: BuyerPosition | None = None
    status: ApplicantStatus = ApplicantStatus.warm
    negotiator_id: int | None = None
    notes: Notes = ""

    @field_validator("max_price_pence")
    @classmethod
    def _max_price(cls, value: int | None, info: ValidationInfo) -> int | None:
        return _not_below(info, value, "min_price_pence")

    @field_validator("max_bedrooms")
    @classmethod
    def _max_beds(cls, value: int | None, info: ValidationInfo) -> int | None:
        return _not_below(info, value, "min_bedrooms")


class ApplicantCreate(ApplicantFields):
    """`POST /api/v1/applicants`."""


class ApplicantReplace(ApplicantFields):
    """`PUT /api/v1/applicants/{id}`: every field, as for create."""


class ApplicantUpdate(BaseModel):
    """`PATCH /api/v1/applicants/{id}`: any subset of the fields."""

    model_config = ConfigDict(extra="forbid")

    contact_id: int | None = None
    marketing_type: MarketingType | None = None
    min_price_pence: Pence | None = None
    max_price_pence: Pence | None = None
    min_bedrooms: Rooms | None = None
    max_bedrooms: Rooms | None = None
    property_types: Types | None = None
    areas: Areas | None = None
    must_haves: MustHaves | None = None
    move_by_date: date | None = None
    position: BuyerPosition | None = None
    status: ApplicantStatus | None = None
    negotiator_id: int | None = None
    notes: Notes | None = None

    @field_validator("max_price_pence")
    @classmethod
    def _max_price(cls, value: int | None, info: ValidationInfo) -> int | None:
        return _not_below(info, value, "min_price_pence")

    @field_validator("max_bedrooms")
    @classmethod
    def _max_beds(cls, value: int | None, info: ValidationInfo) -> int | None:
        return _not_below(info, value, "min_bedrooms")


class ApplicantRead(BaseModel):
    """An applicant as the API returns it, with the contact it belongs to."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    contact_id: int
    contact: ContactSummary
    marketing_type: MarketingType
    min_price_pence: int | None
    max_price_pence: int | None
    min_bedrooms: int | None
    max_bedrooms: int | None
    property_types: list[PropertyType]
    areas: list[str]
    must_haves: list[MustHave]
    move_by_date: date | None
    position: BuyerPosition | None
    status: ApplicantStatus
    negotiator_id: int | None
    notes: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, applicant: Applicant, contact: Contact) -> ApplicantRead:
        """An applicant with its contact."""
        fields = {name: getattr(applicant, name) for name in cls.model_fields if name != "contact"}
        return cls.model_validate({**fields, "contact": ContactSummary.model_validate(contact)})


class ApplicantFilters(BaseModel):
    """List filters, shared by the API query string and the HTML filter form."""

    q: str | None = Field(default=None, max_length=200)
    marketing_type: MarketingType | None = None
    status: ApplicantStatus | None = None
    active: bool | None = Field(default=None, description="true: everything but archived")
    negotiator_id: int | None = None
    contact_id: int | None = None
    area: str | None = Field(default=None, max_length=60)
    sort: str = "-updated_at"

    @field_validator("sort")
    @classmethod
    def _check_sort(cls, value: str) -> str:
        if value.lstrip("-") not in SORTABLE:
            raise ValueError(
                f"sort must be one of {', '.join(sorted(SORTABLE))} (prefix - for descending)"
            )
        return value

    @field_validator("area")
    @classmethod
    def _check_area(cls, value: str | None) -> str | None:
        return None if not value or not value.strip() else normalise_area(value)


SORTABLE = frozenset({"created_at", "updated_at", "max_price_pence", "move_by_date"})


class PropertyMatch(BaseModel):
    """An applicant who fits a property."""

    applicant: ApplicantRead
    score: int
    reasons: list[str]


class ApplicantMatch(BaseModel):
    """A property that fits an applicant."""

    property: PropertyRead
    score: int
    reasons: list[str]
