"""The date rules on their own: derived expiries, statuses and what a property must hold."""

from __future__ import annotations

from datetime import date

import pytest

from estatecrm.compliance import rules
from estatecrm.compliance.models import CertificateType, ComplianceStatus
from estatecrm.properties.models import MarketingType, PropertyStatus

pytestmark = pytest.mark.mutation


@pytest.mark.parametrize(
    ("cert_type", "issued", "expected"),
    [
        (CertificateType.gas_safety, date(2025, 3, 14), date(2026, 3, 14)),
        (CertificateType.smoke_co_alarm, date(2025, 3, 14), date(2026, 3, 14)),
        (CertificateType.legionella, date(2025, 3, 14), date(2027, 3, 14)),
        (CertificateType.eicr, date(2024, 2, 29), date(2029, 2, 28)),
        (CertificateType.epc, date(2016, 1, 31), date(2026, 1, 31)),
        (CertificateType.gas_safety, date(2024, 2, 29), date(2025, 2, 28)),
        (CertificateType.hmo_licence, date(2025, 1, 1), None),
    ],
)
def test_derived_expiry(cert_type: CertificateType, issued: date, expected: date | None) -> None:
    assert rules.derived_expiry(cert_type, issued) == expected


def test_add_months_clamps_to_month_end() -> None:
    assert rules.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert rules.add_months(date(2026, 8, 31), 1) == date(2026, 9, 30)
    assert rules.add_months(date(2026, 12, 15), 1) == date(2027, 1, 15)


@pytest.mark.parametrize(
    ("expiry", "status"),
    [
        (date(2026, 5, 31), ComplianceStatus.expired),
        (date(2026, 6, 1), ComplianceStatus.expiring),  # valid through its expiry day
        (date(2026, 7, 1), ComplianceStatus.expiring),  # exactly 30 days ahead
        (date(2026, 7, 2), ComplianceStatus.valid),
    ],
)
def test_status_boundaries(expiry: date, status: ComplianceStatus) -> None:
    assert rules.status_on(expiry, date(2026, 6, 1)) == status


def test_required_types() -> None:
    letting, sale = MarketingType.letting, MarketingType.sale
    assert rules.required_types(letting, PropertyStatus.let, True) == [
        CertificateType.gas_safety,
        CertificateType.eicr,
        CertificateType.epc,
        CertificateType.smoke_co_alarm,
    ]
    assert CertificateType.gas_safety not in rules.required_types(
        letting, PropertyStatus.available, False
    )
    assert rules.required_types(sale, PropertyStatus.under_offer, True) == [CertificateType.epc]
    assert rules.required_types(letting, PropertyStatus.withdrawn, True) == []
    assert rules.required_types(sale, PropertyStatus.sold, True) == []
    assert rules.required_types(letting, PropertyStatus.valuation, True) == []


def test_epc_minimum() -> None:
    assert [r for r in "ABCDEFG" if rules.epc_meets_minimum(r)] == list("ABCDE")
    assert not rules.epc_meets_minimum(None)
    assert rules.renewal_due(date(2026, 7, 1)) == date(2026, 6, 1)
