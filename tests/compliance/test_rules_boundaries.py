"""The compliance duties, each tested on the day before, of and after its limit.

Pure tests of `estatecrm.compliance.rules` (marked `mutation`). Module-level constants are
pinned by value and by the behaviour on each side of them.
"""

from __future__ import annotations

from datetime import date

import pytest

from estatecrm.compliance import rules
from estatecrm.compliance.models import CertificateType, ComplianceStatus
from estatecrm.properties.models import MarketingType, PropertyStatus

pytestmark = pytest.mark.mutation

GAS, EICR, EPC = CertificateType.gas_safety, CertificateType.eicr, CertificateType.epc
ALARMS, HMO = CertificateType.smoke_co_alarm, CertificateType.hmo_licence
LEGIONELLA = CertificateType.legionella
LETTING, SALE = MarketingType.letting, MarketingType.sale
LETTING_CERTS = [GAS, EICR, EPC, ALARMS]


def test_validity_constants() -> None:
    """Gas 12 months (GSIUR 1998 reg. 36(3)), EICR 5 years (Electrical Safety Standards
    Regulations 2020 reg. 3), EPC 10 years (EPB Regulations 2012), alarms 12 months,
    legionella 2 years (HSE L8 review), HMO licence: the council's date."""
    assert rules.VALIDITY_MONTHS == {
        GAS: 12,
        EICR: 60,
        EPC: 120,
        ALARMS: 12,
        LEGIONELLA: 24,
        HMO: None,
    }


@pytest.mark.parametrize(
    ("cert_type", "expiry"),
    [
        (GAS, date(2026, 3, 14)),
        (ALARMS, date(2026, 3, 14)),
        (LEGIONELLA, date(2027, 3, 14)),
        (EICR, date(2030, 3, 14)),
        (EPC, date(2035, 3, 14)),
    ],
)
def test_each_certificate_valid_through_its_anniversary(
    cert_type: CertificateType, expiry: date
) -> None:
    """Each type's period from an issue on 14 March 2025: valid on the expiry day, expired the
    day after, and the expiry is exactly that many months on (not a month more or less)."""
    issued = date(2025, 3, 14)
    assert rules.derived_expiry(cert_type, issued) == expiry
    assert rules.status_on(expiry, expiry) == ComplianceStatus.expiring
    assert rules.status_on(expiry, date.fromordinal(expiry.toordinal() + 1)) == (
        ComplianceStatus.expired
    )


def test_hmo_licence_has_no_derived_expiry() -> None:
    """Housing Act 2004 Part 2: the council sets an HMO licence's term, so it must be given."""
    assert rules.derived_expiry(HMO, date(2025, 3, 14)) is None


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 11, 30), 1, date(2026, 12, 30)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 12, 31), 12, date(2027, 12, 31)),
        (date(2026, 1, 15), 11, date(2026, 12, 15)),
        (date(2026, 1, 15), 12, date(2027, 1, 15)),
        (date(2026, 1, 15), 13, date(2027, 2, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 29)),
        (date(2026, 5, 10), 0, date(2026, 5, 10)),
    ],
)
def test_add_months_clamps_to_the_end_of_a_shorter_month(
    start: date, months: int, end: date
) -> None:
    """A period in months ends on the same day of the month, or the month's last day."""
    assert rules.add_months(start, months) == end


def test_expiring_window_constants() -> None:
    """`expiring` is 30 days ahead; the dashboard's urgent list is 7; renewal tasks 30 before."""
    assert rules.EXPIRING_WITHIN_DAYS == 30
    assert rules.URGENT_WITHIN_DAYS == 7
    assert rules.RENEWAL_LEAD_DAYS == 30


@pytest.mark.parametrize(
    ("expiry", "status"),
    [
        (date(2026, 5, 31), ComplianceStatus.expired),  # the day before today
        (date(2026, 6, 1), ComplianceStatus.expiring),  # today: still valid, expiring
        (date(2026, 6, 2), ComplianceStatus.expiring),
        (date(2026, 6, 30), ComplianceStatus.expiring),  # 29 days ahead
        (date(2026, 7, 1), ComplianceStatus.expiring),  # 30 days ahead
        (date(2026, 7, 2), ComplianceStatus.valid),  # 31 days ahead
    ],
)
def test_status_on_each_side_of_expiry_and_the_30_day_window(
    expiry: date, status: ComplianceStatus
) -> None:
    """A certificate is valid through its expiry day, `expiring` from 30 days before it."""
    assert rules.status_on(expiry, date(2026, 6, 1)) == status


def test_expiring_until_is_30_days_on() -> None:
    """The last expiry that counts as expiring on 1 June is 1 July."""
    assert rules.expiring_until(date(2026, 6, 1)) == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("on_date", "until"),
    [(date(2026, 6, 1), date(2026, 6, 8)), (date(2026, 12, 28), date(2027, 1, 4))],
)
def test_urgent_window_is_7_days_on(on_date: date, until: date) -> None:
    """The dashboard's `due_7` band: an expiry up to and including 7 days ahead."""
    assert rules.urgent_until(on_date) == until


@pytest.mark.parametrize(
    ("expiry", "due"),
    [(date(2026, 7, 1), date(2026, 6, 1)), (date(2026, 3, 1), date(2026, 1, 30))],
)
def test_renewal_task_falls_due_30_days_before_expiry(expiry: date, due: date) -> None:
    """Renewal tasks fall due 30 days before the expiry (`RENEWAL_LEAD_DAYS`)."""
    assert rules.renewal_due(expiry) == due


# --- Which properties need certificates ---


def test_active_status_constants() -> None:
    """Lettings: available, let agreed and let; sales: available, under offer and sold STC."""
    letting, sale = rules.ACTIVE_LETTING_STATUSES, rules.ACTIVE_SALE_STATUSES
    assert letting == (
        PropertyStatus.available,
        PropertyStatus.let_agreed,
        PropertyStatus.let,
    )
    assert sale == (
        PropertyStatus.available,
        PropertyStatus.under_offer,
        PropertyStatus.sold_stc,
    )
    assert rules.REQUIRED_FOR_LETTING == (GAS, EICR, EPC, ALARMS)
    assert rules.REQUIRED_FOR_SALE == (EPC,)


@pytest.mark.parametrize(
    ("status", "required"),
    [
        (PropertyStatus.valuation, []),
        (PropertyStatus.available, LETTING_CERTS),
        (PropertyStatus.let_agreed, LETTING_CERTS),
        (PropertyStatus.let, LETTING_CERTS),
        (PropertyStatus.withdrawn, []),
    ],
)
def test_letting_needs_certificates_from_marketing_through_let_agreed_to_let(
    status: PropertyStatus, required: list[CertificateType]
) -> None:
    """Gas Safety Regs 1998 reg. 36(6), Electrical Safety Standards Regs 2020 reg. 3(3), EPB Regs
    2012 and Smoke and CO Alarm Regs 2015: due before a tenant moves in, so a let-agreed property
    needs them as much as a let one."""
    assert rules.required_types(LETTING, status, True) == required
    assert rules.is_active(LETTING, status) is bool(required)


@pytest.mark.parametrize(
    ("status", "required"),
    [
        (PropertyStatus.valuation, []),
        (PropertyStatus.available, [EPC]),
        (PropertyStatus.under_offer, [EPC]),
        (PropertyStatus.sold_stc, [EPC]),
        (PropertyStatus.sold, []),
        (PropertyStatus.withdrawn, []),
    ],
)
def test_sale_needs_an_epc_while_marketed_under_offer_and_sold_stc(
    status: PropertyStatus, required: list[CertificateType]
) -> None:
    """EPB Regulations 2012 reg. 6: an EPC for a sale until completion, so sold STC needs one."""
    assert rules.required_types(SALE, status, True) == required
    assert rules.required_types(SALE, status, False) == required
    assert rules.is_active(SALE, status) is bool(required)


def test_a_letting_status_does_not_make_a_sale_active_and_the_reverse() -> None:
    """Let agreed is a letting status and sold STC a sale one."""
    assert not rules.is_active(SALE, PropertyStatus.let_agreed)
    assert not rules.is_active(SALE, PropertyStatus.let)
    assert not rules.is_active(LETTING, PropertyStatus.sold_stc)
    assert not rules.is_active(LETTING, PropertyStatus.under_offer)


def test_gas_safety_only_where_there_is_gas() -> None:
    """Gas Safety (Installation and Use) Regulations 1998 reg. 36: only gas appliances need it."""
    assert rules.required_types(LETTING, PropertyStatus.let, True) == LETTING_CERTS
    assert rules.required_types(LETTING, PropertyStatus.let, False) == [EICR, EPC, ALARMS]


# --- Minimum energy efficiency (Energy Efficiency (Private Rented Property) Regulations 2015) ---


def test_epc_constants() -> None:
    """EPC bands A to G; MEES: E or better to let."""
    assert rules.EPC_RATINGS == "ABCDEFG"
    assert rules.EPC_MINIMUM_FOR_LETTING == "E"


@pytest.mark.parametrize(
    ("rating", "meets"),
    [
        ("A", True),
        ("D", True),
        ("E", True),
        ("F", False),
        ("G", False),
        ("H", False),
        ("", False),
        ("e", False),
        ("EF", False),
        (None, False),
    ],
)
def test_epc_minimum_is_band_e(rating: str | None, meets: bool) -> None:
    """MEES Regulations 2015 reg. 23: a let property needs band E or better (D, E pass; F fails)."""
    assert rules.epc_meets_minimum(rating) is meets


def test_epc_ratings_below_minimum_are_f_and_g() -> None:
    """The bands that need a PRS exemption to let."""
    assert rules.epc_ratings_below_minimum() == ["F", "G"]


def test_labels() -> None:
    """What people call each certificate, by type or by its stored value."""
    assert rules.LABELS == {
        GAS: "Gas safety certificate",
        EICR: "EICR (electrical safety report)",
        EPC: "EPC",
        ALARMS: "Smoke and CO alarm check",
        HMO: "HMO licence",
        LEGIONELLA: "Legionella risk assessment",
    }
    assert rules.label(GAS) == "Gas safety certificate"
    assert rules.label("legionella") == "Legionella risk assessment"
    with pytest.raises(ValueError):
        rules.label("asbestos")
