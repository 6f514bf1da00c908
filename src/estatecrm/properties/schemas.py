"""Property schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from estatecrm.kit.uk_postcode import InvalidPostcode, normalise_postcode
from estatecrm.properties.models import (
    Furnishing,
    MarketingType,
    PropertyStatus,
    PropertyType,
    Tenure,
)

Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
OptLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Town = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OptTown = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Feature = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Reference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[\w\-/]+$"),
]
Rooms = Annotated[int, Field(ge=0, le=100)]
Pence = Annotated[int, Field(gt=0, le=10_000_000_000_00)]
EpcRating = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern="^[A-G]$")
]
TaxBand = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True, pattern="^[A-I]$")]
Description = Annotated[str, StringConstraints(max_length=20_000)]
# A key safe or alarm code (stored encrypted; empty means none).
AccessCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


def _postcode(value: str) -> str:
    try:
        return normalise_postcode(value)
    except InvalidPostcode:
        raise ValueError("Enter a valid UK postcode, for example SO15 2JS") from None


class PropertyFields(BaseModel):
    """Fields a client may set; shared by create and full replace."""

    model_config = ConfigDict(extra="forbid")

    reference: Reference | None = None
    address_line1: Line
    address_line2: OptLine | None = None
    city: Town
    county: OptTown | None = None
    postcode: Annotated[str, StringConstraints(max_length=16)]
    property_type: PropertyType
    bedrooms: Rooms = 0
    bathrooms: Rooms = 0
    receptions: Rooms = 0
    marketing_type: MarketingType
    status: PropertyStatus = PropertyStatus.available
    price_pence: Pence
    tenure: Tenure | None = None
    furnishing: Furnishing | None = None
    epc_rating: EpcRating | None = None
    # None: decided from the property type (everything but land is assumed to have gas).
    has_gas: bool | None = None
    council_tax_band: TaxBand | None = None
    description: Description = ""
    features: Annotated[list[Feature], Field(max_length=50)] = []
    available_date: date | None = None
    office_id: int | None = None
    negotiator_id: int | None = None
    access_code: AccessCode | None = None
    owner_contact_id: int | None = None

    @field_validator("postcode")
    @classmethod
    def _check_postcode(cls, value: str) -> str:
        return _postcode(value)

    @field_validator("access_code")
    @classmethod
    def _blank_code_is_none(cls, value: str | None) -> str | None:
        return value or None


class PropertyCreate(PropertyFields):
    """`POST /api/v1/properties`."""


class PropertyReplace(PropertyFields):
    """`PUT /api/v1/properties/{id}`: every field, as for create."""


class PropertyUpdate(BaseModel):
    """`PATCH /api/v1/properties/{id}`: any subset of the fields."""

    model_config = ConfigDict(extra="forbid")

    reference: Reference | None = None
    address_line1: Line | None = None
    address_line2: OptLine | None = None
    city: Town | None = None
    county: OptTown | None = None
    postcode: Annotated[str, StringConstraints(max_length=16)] | None = None
    property_type: PropertyType | None = None
    bedrooms: Rooms | None = None
    bathrooms: Rooms | None = None
    receptions: Rooms | None = None
    marketing_type: MarketingType | None = None
    status: PropertyStatus | None = None
    price_pence: Pence | None = None
    tenure: Tenure | None = None
    furnishing: Furnishing | None = None
    epc_rating: EpcRating | None = None
    has_gas: bool | None = None
    council_tax_band: TaxBand | None = None
    description: Description | None = None
    features: Annotated[list[Feature], Field(max_length=50)] | None = None
    available_date: date | None = None
    office_id: int | None = None
    negotiator_id: int | None = None
    access_code: AccessCode | None = None
    owner_contact_id: int | None = None

    @field_validator("postcode")
    @classmethod
    def _check_postcode(cls, value: str | None) -> str | None:
        return None if value is None else _postcode(value)

    @field_validator("access_code")
    @classmethod
    def _blank_code_is_none(cls, value: str | None) -> str | None:
        return value or None


class PropertyRead(BaseModel):
    """A property as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reference: str
    address_line1: str
    address_line2: str | None
    city: str
    county: str | None
    postcode: str
    property_type: PropertyType
    bedrooms: int
    bathrooms: int
    receptions: int
    marketing_type: MarketingType
    status: PropertyStatus
    price_pence: int
    tenure: Tenure | None
    furnishing: Furnishing | None
    epc_rating: str | None
    has_gas: bool
    council_tax_band: str | None
    description: str
    features: list[str]
    available_date: date | None
    office_id: int | None
    negotiator_id: int | None
    owner_contact_id: int | None
    created_at: datetime
    updated_at: datetime
    instructed_at: datetime | None
    listed_at: datetime | None
    status_changed_at: datetime | None
    # Only admins, managers and negotiators see it; viewers always get null.
    access_code: str | None = None


class PropertyFilters(BaseModel):
    """List filters, shared by the API query string and the HTML filter form."""

    city: str | None = None
    postcode: str | None = None
    status: PropertyStatus | None = None
    marketing_type: MarketingType | None = None
    property_type: PropertyType | None = None
    min_bedrooms: int | None = Field(default=None, ge=0, le=100)
    max_bedrooms: int | None = Field(default=None, ge=0, le=100)
    min_price_pence: int | None = Field(default=None, ge=0)
    max_price_pence: int | None = Field(default=None, ge=0)
    q: str | None = Field(default=None, max_length=200)
    negotiator_id: int | None = None
    sort: str = "-created_at"

    @field_validator("sort")
    @classmethod
    def _check_sort(cls, value: str) -> str:
        if value.lstrip("-") not in SORTABLE:
            raise ValueError(
                f"sort must be one of {', '.join(sorted(SORTABLE))} (prefix - for descending)"
            )
        return value


SORTABLE = frozenset(
    {
        "created_at",
        "updated_at",
        "price_pence",
        "bedrooms",
        "city",
        "reference",
        "status_changed_at",
    }
)
