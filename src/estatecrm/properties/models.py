"""The properties register."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import JSONType, UTCDateTime, enum_column
from estatecrm.kit.crypto import EncryptedString


class PropertyType(enum.StrEnum):
    """The kind of building or space."""

    flat = "flat"
    maisonette = "maisonette"
    house = "house"
    bungalow = "bungalow"
    studio = "studio"
    room = "room"
    land = "land"
    commercial = "commercial"


class MarketingType(enum.StrEnum):
    """Whether the property is for sale or to let."""

    sale = "sale"
    letting = "letting"


class PropertyStatus(enum.StrEnum):
    """Where the property is in its marketing lifecycle."""

    valuation = "valuation"
    available = "available"
    under_offer = "under_offer"
    sold_stc = "sold_stc"
    sold = "sold"
    let_agreed = "let_agreed"
    let = "let"
    withdrawn = "withdrawn"


SALE_STATUSES = (
    PropertyStatus.valuation,
    PropertyStatus.available,
    PropertyStatus.under_offer,
    PropertyStatus.sold_stc,
    PropertyStatus.sold,
    PropertyStatus.withdrawn,
)
LETTING_STATUSES = (
    PropertyStatus.valuation,
    PropertyStatus.available,
    PropertyStatus.let_agreed,
    PropertyStatus.let,
    PropertyStatus.withdrawn,
)
STATUSES_FOR = {MarketingType.sale: SALE_STATUSES, MarketingType.letting: LETTING_STATUSES}


class Tenure(enum.StrEnum):
    """Legal tenure (sales)."""

    freehold = "freehold"
    leasehold = "leasehold"
    share_of_freehold = "share_of_freehold"
    commonhold = "commonhold"


class Furnishing(enum.StrEnum):
    """Furnishing (lettings)."""

    furnished = "furnished"
    part_furnished = "part_furnished"
    unfurnished = "unfurnished"


class Property(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One property on the agency's books."""

    __tablename__ = "property"
    __table_args__ = (
        UniqueConstraint("agency_id", "reference"),
        Index("ix_property_agency_status", "agency_id", "status", "created_at"),
        # The list's usual filters (town or district, then status, type, bedrooms, price),
        # in an order that also sorts: a page is an index range walked until 20 rows match,
        # and on PostgreSQL the INCLUDE columns let the page's `total` be counted from the
        # index alone (bench/README.md, "Properties register at scale").
        Index(
            "ix_property_agency_city",
            "agency_id",
            "city",
            "status",
            "created_at",
            postgresql_include=["marketing_type", "property_type", "bedrooms", "price_pence"],
        ),
        Index("ix_property_agency_postcode", "agency_id", "postcode"),
        Index(
            "ix_property_agency_district",
            "agency_id",
            "postcode_district",
            "marketing_type",
            "price_pence",
            postgresql_include=["status", "property_type", "bedrooms", "created_at"],
        ),
        Index("ix_property_agency_type_price", "agency_id", "marketing_type", "price_pence"),
        Index("ix_property_agency_created", "agency_id", "created_at"),
        # Matching an applicant: live stock of one kind in their districts or towns, by price.
        # (Applicants name towns in any case, so towns are compared lower-cased.)
        Index(
            "ix_property_match_district",
            "agency_id",
            "marketing_type",
            "status",
            "postcode_district",
            "price_pence",
        ),
        Index(
            "ix_property_match_town",
            "agency_id",
            "marketing_type",
            "status",
            text("lower(city)"),
            "price_pence",
        ),
    )

    reference: Mapped[str] = mapped_column(String(40))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    county: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(8))
    postcode_district: Mapped[str] = mapped_column(String(4))
    property_type: Mapped[PropertyType] = mapped_column(enum_column(PropertyType, "property_type"))
    bedrooms: Mapped[int] = mapped_column(Integer, default=0)
    bathrooms: Mapped[int] = mapped_column(Integer, default=0)
    receptions: Mapped[int] = mapped_column(Integer, default=0)
    marketing_type: Mapped[MarketingType] = mapped_column(
        enum_column(MarketingType, "marketing_type")
    )
    status: Mapped[PropertyStatus] = mapped_column(enum_column(PropertyStatus, "property_status"))
    price_pence: Mapped[int] = mapped_column(IdType)
    tenure: Mapped[Tenure | None] = mapped_column(enum_column(Tenure, "tenure"))
    furnishing: Mapped[Furnishing | None] = mapped_column(enum_column(Furnishing, "furnishing"))
    epc_rating: Mapped[str | None] = mapped_column(String(1))
    # Whether the property has a gas supply: a letting with gas needs a gas safety certificate.
    has_gas: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    council_tax_band: Mapped[str | None] = mapped_column(String(1))
    description: Mapped[str] = mapped_column(Text, default="")
    features: Mapped[list[str]] = mapped_column(JSONType, default=list)
    available_date: Mapped[date | None] = mapped_column(Date)
    office_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("office.id", ondelete="SET NULL")
    )
    negotiator_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    # The landlord (lettings) or vendor (sales): a contact of the same agency.
    owner_contact_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="SET NULL"), index=True
    )
    # Lower-cased address text so `q` filters the same way on every database.
    search_text: Mapped[str] = mapped_column(String(600), default="")
    instructed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    listed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Key safe or alarm code: encrypted at rest, never logged, hidden from viewers.
    access_code: Mapped[str | None] = mapped_column(EncryptedString())
