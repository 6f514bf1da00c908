"""Applicants: a contact's active search for a property to buy or rent."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import JSONType, enum_column
from estatecrm.properties.models import Furnishing, MarketingType, PropertyType


class ApplicantStatus(enum.StrEnum):
    """How keen the applicant is; archived searches are never matched."""

    hot = "hot"
    warm = "warm"
    cold = "cold"
    archived = "archived"


class BuyerPosition(enum.StrEnum):
    """The applicant's position (what an agent asks before putting an offer forward)."""

    first_time_buyer = "first_time_buyer"
    chain_free = "chain_free"
    chain = "chain"
    sold_stc = "sold_stc"
    cash = "cash"
    investor = "investor"
    renting = "renting"
    living_with_family = "living_with_family"
    relocating = "relocating"
    other = "other"


class MustHave(enum.StrEnum):
    """Things an applicant insists on, tested against the property's features."""

    parking = "parking"
    garden = "garden"
    outside_space = "outside_space"
    garage = "garage"
    balcony = "balcony"
    pets_allowed = "pets_allowed"
    lift = "lift"
    en_suite = "en_suite"
    chain_free = "chain_free"
    near_station = "near_station"
    furnished = "furnished"
    unfurnished = "unfurnished"


@dataclass(frozen=True)
class MustHaveRule:
    """How one must-have is recognised on a property: feature words, or its furnishing."""

    bit: int
    words: tuple[str, ...] = ()
    furnishing: Furnishing | None = None
    label: str = ""


# Property features are free text ("Pets considered", "Off-road parking"), so each must-have
# is recognised by the words agents actually write.
MUST_HAVE_RULES: dict[MustHave, MustHaveRule] = {
    MustHave.parking: MustHaveRule(1, ("parking", "garage", "driveway"), label="parking"),
    MustHave.garden: MustHaveRule(2, ("garden",), label="a garden"),
    MustHave.outside_space: MustHaveRule(
        4,
        ("garden", "balcony", "terrace", "patio", "courtyard", "outside space"),
        label="outside space",
    ),
    MustHave.garage: MustHaveRule(8, ("garage",), label="a garage"),
    MustHave.balcony: MustHaveRule(16, ("balcony",), label="a balcony"),
    MustHave.pets_allowed: MustHaveRule(
        32, ("pets", "pet friendly", "pet-friendly"), label="pets allowed"
    ),
    MustHave.lift: MustHaveRule(64, ("lift",), label="a lift"),
    MustHave.en_suite: MustHaveRule(128, ("en-suite", "en suite", "ensuite"), label="an en-suite"),
    MustHave.chain_free: MustHaveRule(
        256, ("chain free", "chain-free", "no chain"), label="no chain"
    ),
    MustHave.near_station: MustHaveRule(512, ("station",), label="a station nearby"),
    MustHave.furnished: MustHaveRule(1024, furnishing=Furnishing.furnished, label="furnished"),
    MustHave.unfurnished: MustHaveRule(
        2048, furnishing=Furnishing.unfurnished, label="unfurnished"
    ),
}
PROPERTY_TYPE_BITS: dict[PropertyType, int] = {t: 1 << i for i, t in enumerate(PropertyType)}


def types_to_mask(types: list[PropertyType]) -> int:
    """Property types as a bit mask (matching tests them with one `&` in SQL)."""
    mask = 0
    for t in types:
        mask |= PROPERTY_TYPE_BITS[t]
    return mask


def must_haves_to_mask(items: list[MustHave]) -> int:
    """Must-haves as a bit mask."""
    mask = 0
    for item in items:
        mask |= MUST_HAVE_RULES[item].bit
    return mask


class Applicant(IdMixin, AgencyScoped, TimestampMixin, Model):
    """What one contact is looking for."""

    __tablename__ = "applicant"
    __table_args__ = (
        # Property → applicants matching: the agency's live searches of one kind by budget.
        Index("ix_applicant_match", "agency_id", "marketing_type", "status", "max_price_pence"),
        Index("ix_applicant_agency_created", "agency_id", "created_at"),
        # Searches with no area match every property: found without scanning the others.
        Index("ix_applicant_anywhere", "agency_id", "area_count"),
    )

    contact_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="CASCADE"), index=True
    )
    marketing_type: Mapped[MarketingType] = mapped_column(
        enum_column(MarketingType, "marketing_type")
    )
    min_price_pence: Mapped[int | None] = mapped_column(IdType)
    max_price_pence: Mapped[int | None] = mapped_column(IdType)
    min_bedrooms: Mapped[int | None] = mapped_column(Integer)
    max_bedrooms: Mapped[int | None] = mapped_column(Integer)
    property_types_mask: Mapped[int] = mapped_column(Integer, default=0)
    must_haves_mask: Mapped[int] = mapped_column(Integer, default=0)
    # As the agent typed them (districts upper-cased); `applicant_area` indexes them for matching.
    areas: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # How many areas: 0 means "anywhere" without a look-up in applicant_area.
    area_count: Mapped[int] = mapped_column(Integer, default=0)
    move_by_date: Mapped[date | None] = mapped_column(Date)
    position: Mapped[BuyerPosition | None] = mapped_column(enum_column(BuyerPosition, "position"))
    status: Mapped[ApplicantStatus] = mapped_column(
        enum_column(ApplicantStatus, "applicant_status"), default=ApplicantStatus.warm
    )
    negotiator_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")

    @property
    def property_types(self) -> list[PropertyType]:
        """The wanted property types (empty: any)."""
        return [t for t, bit in PROPERTY_TYPE_BITS.items() if self.property_types_mask & bit]

    @property
    def must_haves(self) -> list[MustHave]:
        """The must-haves (empty: none)."""
        return [m for m, rule in MUST_HAVE_RULES.items() if self.must_haves_mask & rule.bit]


class ApplicantArea(AgencyScoped, Model):
    """One area of an applicant's search, lower-cased: an index for matching."""

    __tablename__ = "applicant_area"
    __table_args__ = (Index("ix_applicant_area_lookup", "agency_id", "area_key", "applicant_id"),)

    applicant_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("applicant.id", ondelete="CASCADE"), primary_key=True
    )
    area_key: Mapped[str] = mapped_column(String(60), primary_key=True)
