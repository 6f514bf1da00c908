"""Contacts: one row per person, with roles, marketing consent history and the ID check."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from estatecrm.db.base import AgencyScoped, IdMixin, IdType, Model, TimestampMixin
from estatecrm.db.types import UTCDateTime, enum_column
from estatecrm.kit.clock import utcnow
from estatecrm.kit.crypto import EncryptedString


class ContactRoleName(enum.StrEnum):
    """What a person is to the agency; one contact may hold several roles."""

    applicant = "applicant"
    landlord = "landlord"
    vendor = "vendor"
    tenant = "tenant"


ROLE_ORDER = {role: i for i, role in enumerate(ContactRoleName)}


class IdCheckStatus(enum.StrEnum):
    """Where the identity (AML) check stands."""

    not_started = "not_started"
    pending = "pending"
    passed = "passed"
    failed = "failed"


class ConsentChannel(enum.StrEnum):
    """How the person gave or withdrew marketing consent (the evidence GDPR asks for)."""

    in_person = "in_person"
    phone = "phone"
    email = "email"
    web_form = "web_form"
    letter = "letter"
    other = "other"


class Contact(IdMixin, AgencyScoped, TimestampMixin, Model):
    """One person the agency deals with."""

    __tablename__ = "contact"
    __table_args__ = (
        Index("ix_contact_agency_email", "agency_id", "email"),
        Index("ix_contact_agency_phone", "agency_id", "phone"),
        Index("ix_contact_agency_name", "agency_id", "name_key"),
        Index("ix_contact_agency_created", "agency_id", "created_at"),
    )

    title: Mapped[str | None] = mapped_column(String(20))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # Lower-cased e-mail and E.164 phone: duplicates are found by exact comparison.
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    address_line1: Mapped[str | None] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    city: Mapped[str | None] = mapped_column(String(100))
    postcode: Mapped[str | None] = mapped_column(String(8))
    notes: Mapped[str] = mapped_column(Text, default="")
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    id_check_status: Mapped[IdCheckStatus] = mapped_column(
        enum_column(IdCheckStatus, "id_check_status"), default=IdCheckStatus.not_started
    )
    id_check_date: Mapped[date | None] = mapped_column(Date)
    # "first last", lower-cased: the duplicates report compares names with it.
    name_key: Mapped[str] = mapped_column(String(201), default="")
    # Lower-cased name, e-mail and phone forms so `q` filters the same way on every database.
    search_text: Mapped[str] = mapped_column(String(800), default="")
    # Landlords' bank details, encrypted at rest (FIELD_ENCRYPTION_KEYS) and never logged.
    bank_account_name: Mapped[str | None] = mapped_column(EncryptedString())
    bank_sort_code: Mapped[str | None] = mapped_column(EncryptedString())
    bank_account_number: Mapped[str | None] = mapped_column(EncryptedString())

    role_rows: Mapped[list[ContactRole]] = relationship(
        lazy="raise", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def bank_details(self) -> dict[str, str] | None:
        """Bank details masked for display (`**-**-56`, `****5678`), or None if not held."""
        if not self.bank_account_number or not self.bank_sort_code:
            return None
        return {
            "account_name": self.bank_account_name or "",
            "sort_code": "**-**-" + self.bank_sort_code[-2:],
            "account_number": "****" + self.bank_account_number[-4:],
        }

    @property
    def roles(self) -> list[ContactRoleName]:
        """The contact's roles in a stable order (needs `role_rows` loaded)."""
        return sorted((r.role for r in self.role_rows), key=lambda r: ROLE_ORDER[r])

    @property
    def full_name(self) -> str:
        """Title, first and last name."""
        return " ".join(p for p in (self.title, self.first_name, self.last_name) if p)


class ContactRole(AgencyScoped, Model):
    """One role a contact holds."""

    __tablename__ = "contact_role"
    __table_args__ = (Index("ix_contact_role_agency_role", "agency_id", "role", "contact_id"),)

    contact_id: Mapped[int] = mapped_column(
        IdType, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[ContactRoleName] = mapped_column(
        enum_column(ContactRoleName, "contact_role_name"), primary_key=True
    )


class ConsentChange(IdMixin, AgencyScoped, Model):
    """One change of a contact's marketing consent: when, by whom, through which channel."""

    __tablename__ = "contact_consent_change"
    __table_args__ = (Index("ix_consent_change_contact", "agency_id", "contact_id", "changed_at"),)

    contact_id: Mapped[int] = mapped_column(IdType, ForeignKey("contact.id", ondelete="CASCADE"))
    consent: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[ConsentChannel] = mapped_column(enum_column(ConsentChannel, "consent_channel"))
    note: Mapped[str] = mapped_column(String(500), default="")
    changed_by_user_id: Mapped[int | None] = mapped_column(
        IdType, ForeignKey("user_account.id", ondelete="SET NULL")
    )
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
