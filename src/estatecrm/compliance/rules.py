"""The dates and duties of UK letting compliance, as pure functions (no database).

Validity of each certificate type, counted from its issue date, when the certificate does not
state its own expiry:

- gas safety record: 12 months (Gas Safety (Installation and Use) Regulations 1998, reg. 36);
- EICR: 5 years (Electrical Safety Standards Regulations 2020), or the date the report states;
- EPC: 10 years;
- smoke and CO alarm check: 12 months. The 2022 regulations require a check on the first day
  of each tenancy; we treat a check as good for a year so that long tenancies are re-checked;
- legionella risk assessment: 2 years (HSE ACoP L8 asks for a review "regularly"; two years is
  the common industry interval);
- HMO licence: no rule, the council sets the expiry, so it must be given.

A certificate is valid up to and including its expiry date; it is `expiring` from 30 days
before that date, and `expired` the day after.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from estatecrm.compliance.models import CertificateType, ComplianceStatus
from estatecrm.properties.models import MarketingType, PropertyStatus

EXPIRING_WITHIN_DAYS = 30
URGENT_WITHIN_DAYS = 7
# A renewal task falls due this long before the certificate expires.
RENEWAL_LEAD_DAYS = 30

VALIDITY_MONTHS: dict[CertificateType, int | None] = {
    CertificateType.gas_safety: 12,
    CertificateType.eicr: 60,
    CertificateType.epc: 120,
    CertificateType.smoke_co_alarm: 12,
    CertificateType.legionella: 24,
    CertificateType.hmo_licence: None,
}

LABELS: dict[CertificateType, str] = {
    CertificateType.gas_safety: "Gas safety certificate",
    CertificateType.eicr: "EICR (electrical safety report)",
    CertificateType.epc: "EPC",
    CertificateType.smoke_co_alarm: "Smoke and CO alarm check",
    CertificateType.hmo_licence: "HMO licence",
    CertificateType.legionella: "Legionella risk assessment",
}

EPC_RATINGS = "ABCDEFG"
# Minimum Energy Efficiency Standard: a let property needs E or better (or an exemption).
EPC_MINIMUM_FOR_LETTING = "E"

# Properties whose certificates the agency must keep: marketed or let.
ACTIVE_LETTING_STATUSES = (
    PropertyStatus.available,
    PropertyStatus.let_agreed,
    PropertyStatus.let,
)
ACTIVE_SALE_STATUSES = (
    PropertyStatus.available,
    PropertyStatus.under_offer,
    PropertyStatus.sold_stc,
)
# A letting needs these (gas only where there is a gas supply); a sale needs an EPC.
REQUIRED_FOR_LETTING = (
    CertificateType.gas_safety,
    CertificateType.eicr,
    CertificateType.epc,
    CertificateType.smoke_co_alarm,
)
REQUIRED_FOR_SALE = (CertificateType.epc,)


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (29 Feb + 12 months → 28 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def derived_expiry(cert_type: CertificateType, issued: date) -> date | None:
    """The expiry the type's rule gives, or None when the type has no rule (HMO licence)."""
    months = VALIDITY_MONTHS[cert_type]
    return None if months is None else add_months(issued, months)


def expiring_until(on_date: date) -> date:
    """The last expiry date that counts as `expiring` on `on_date`."""
    return on_date + timedelta(days=EXPIRING_WITHIN_DAYS)


def urgent_until(on_date: date) -> date:
    """The last expiry date that counts as due within 7 days (`due_7`) on `on_date`."""
    return on_date + timedelta(days=URGENT_WITHIN_DAYS)


def status_on(expiry: date, on_date: date) -> ComplianceStatus:
    """`valid`, `expiring` (within 30 days) or `expired` on a date."""
    if expiry < on_date:
        return ComplianceStatus.expired
    if expiry <= expiring_until(on_date):
        return ComplianceStatus.expiring
    return ComplianceStatus.valid


def renewal_due(expiry: date) -> date:
    """When the renewal task falls due."""
    return expiry - timedelta(days=RENEWAL_LEAD_DAYS)


def is_active(marketing_type: MarketingType, status: PropertyStatus) -> bool:
    """Whether a property is marketed or let, so its certificates matter."""
    if marketing_type == MarketingType.letting:
        return status in ACTIVE_LETTING_STATUSES
    return status in ACTIVE_SALE_STATUSES


def required_types(
    marketing_type: MarketingType, status: PropertyStatus, has_gas: bool
) -> list[CertificateType]:
    """The certificates a property must have now (none when it is not marketed or let)."""
    if not is_active(marketing_type, status):
        return []
    if marketing_type == MarketingType.sale:
        return list(REQUIRED_FOR_SALE)
    return [t for t in REQUIRED_FOR_LETTING if has_gas or t != CertificateType.gas_safety]


def epc_ratings_below_minimum() -> list[str]:
    """The ratings that make a property unlettable without an exemption (F and G)."""
    return list(EPC_RATINGS[EPC_RATINGS.index(EPC_MINIMUM_FOR_LETTING) + 1 :])


def epc_meets_minimum(rating: str | None) -> bool:
    """Whether an EPC rating is one band from A to E (not "", not a substring like "EF")."""
    return rating in list(EPC_RATINGS) and rating not in epc_ratings_below_minimum()


def label(cert_type: CertificateType | str) -> str:
    """A person's name for a certificate type."""
    return LABELS[CertificateType(cert_type)]
