"""Compliance certificates: gas safety, EICR, EPC, alarms, HMO licence, legionella."""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import enum_column


class CertificateType(enum.StrEnum):
    """The certificates and checks a UK letting (or sale) needs."""

    gas_safety = "gas_safety"
    eicr = "eicr"
    epc = "epc"
    smoke_co_alarm = "smoke_co_alarm"
    hmo_licence = "hmo_licence"
    legionella = "legionella"


class ComplianceStatus(enum.StrEnum):
    """Where a certificate (or a required one that is absent) stands on a given date."""

    valid = "valid"
    expiring = "expiring"
    expired = "expired"
    missing = "missing"


class Certificate(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One certificate of one property; the newest-expiring of each type is the current one."""

    __tablename__ = "certificate"
    __table_args__ = (
        # Status filters are ranges on expiry_date over the current certificates.
        Index(
            "ix_certificate_agency_current_expiry", "agency_id", "is_current", "expiry_date", "id"
        ),
        Index("ix_certificate_agency_property_type", "agency_id", "property_id", "type"),
    )

    property_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("property.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[CertificateType] = mapped_column(enum_column(CertificateType, "certificate_type"))
    issued_date: Mapped[date] = mapped_column(Date)
    expiry_date: Mapped[date] = mapped_column(Date)
    # True when expiry_date came from the type's rule rather than from the certificate itself.
    expiry_derived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reference: Mapped[str | None] = mapped_column(String(100))
    rating: Mapped[str | None] = mapped_column(String(1))
    exemption_reference: Mapped[str | None] = mapped_column(String(100))
    exemption_expiry_date: Mapped[date | None] = mapped_column(Date)
    document_url: Mapped[str | None] = mapped_column(String(500))
    notes: Mapped[str] = mapped_column(Text, default="")
    # Kept by the service: exactly one current certificate per (property, type).
    is_current: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
