"""Contact schemas: the API contract, also used to validate the HTML forms."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from estatecrm.contacts.models import ConsentChannel, ContactRoleName, IdCheckStatus
from estatecrm.kit.email import Email
from estatecrm.kit.uk_phone import InvalidPhone, normalise_phone
from estatecrm.kit.uk_postcode import InvalidPostcode, normalise_postcode


def _phone(value: str) -> str:
    try:
        return normalise_phone(value)
    except InvalidPhone as exc:
        if "extension" in str(exc):
            raise ValueError(
                "Enter the number without an extension (put it in the notes)"
            ) from None
        raise ValueError(
            "Enter a valid phone number, for example 07911 123456 or 020 7946 0018"
        ) from None


def _postcode(value: str) -> str:
    try:
        return normalise_postcode(value)
    except InvalidPostcode:
        raise ValueError("Enter a valid UK postcode, for example SO15 2JS") from None


def _unique_roles(value: list[ContactRoleName]) -> list[ContactRoleName]:
    return list(dict.fromkeys(value))


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Town = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Phone = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=40), AfterValidator(_phone)
]
Postcode = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=16), AfterValidator(_postcode)
]
Roles = Annotated[list[ContactRoleName], Field(max_length=4), AfterValidator(_unique_roles)]
Notes = Annotated[str, StringConstraints(max_length=20_000)]


class ContactFields(BaseModel):
    """Fields a client may set; shared by create and full replace."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    first_name: Name
    last_name: Name
    email: Email | None = None
    phone: Phone | None = None
    address_line1: Line | None = None
    address_line2: Line | None = None
    city: Town | None = None
    postcode: Postcode | None = None
    roles: Roles = []
    notes: Notes = ""
    marketing_consent: bool = False
    consent_channel: ConsentChannel | None = Field(
        default=None, description="How consent was given or withdrawn; needed when it changes"
    )
    consent_note: Annotated[str, StringConstraints(max_length=500)] = ""
    id_check_status: IdCheckStatus = IdCheckStatus.not_started
    id_check_date: date | None = None
    allow_duplicate: bool = Field(
        default=False,
        description="Save even though another contact has the same email or phone",
    )


class ContactCreate(ContactFields):
    """`POST /api/v1/contacts`."""


class ContactReplace(ContactFields):
    """`PUT /api/v1/contacts/{id}`: every field, as for create."""


class ContactUpdate(BaseModel):
    """`PATCH /api/v1/contacts/{id}`: any subset of the fields."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address_line1: Line | None = None
    address_line2: Line | None = None
    city: Town | None = None
    postcode: Postcode | None = None
    roles: Roles | None = None
    notes: Notes | None = None
    marketing_consent: bool | None = None
    consent_channel: ConsentChannel | None = None
    consent_note: Annotated[str, StringConstraints(max_length=500)] = ""
    id_check_status: IdCheckStatus | None = None
    id_check_date: date | None = None
    allow_duplicate: bool = False


class ContactSummary(BaseModel):
    """A contact as other records show it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    full_name: str
    email: str | None
    phone: str | None


class ContactRead(BaseModel):
    """A contact as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str | None
    first_name: str
    last_name: str
    full_name: str
    email: str | None
    phone: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    postcode: str | None
    roles: list[ContactRoleName]
    notes: str
    marketing_consent: bool
    id_check_status: IdCheckStatus
    id_check_date: date | None
    created_at: datetime
    updated_at: datetime


class ConsentChangeRead(BaseModel):
    """One entry of a contact's marketing consent history."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    consent: bool
    channel: ConsentChannel
    note: str
    changed_by_user_id: int | None
    changed_at: datetime


class ContactFilters(BaseModel):
    """List filters, shared by the API query string and the HTML filter form."""

    q: str | None = Field(default=None, max_length=200)
    role: ContactRoleName | None = None
    id_check_status: IdCheckStatus | None = None
    marketing_consent: bool | None = None
    sort: str = "last_name"

    @field_validator("sort")
    @classmethod
    def _check_sort(cls, value: str) -> str:
        if value.lstrip("-") not in SORTABLE:
            raise ValueError(
                f"sort must be one of {', '.join(sorted(SORTABLE))} (prefix - for descending)"
            )
        return value


SORTABLE = frozenset({"last_name", "first_name", "created_at", "updated_at"})


class MergeRequest(BaseModel):
    """`POST /api/v1/contacts/{id}/merge`: the duplicate to fold into this contact."""

    model_config = ConfigDict(extra="forbid")

    other_id: int


class MergeResult(BaseModel):
    """What a merge moved onto the kept contact."""

    contact: ContactRead
    removed_id: int
    moved: dict[str, int]


class DuplicatePair(BaseModel):
    """Two contacts that are probably the same person, and why."""

    contact: ContactSummary
    other: ContactSummary
    reasons: list[str]
    score: int
