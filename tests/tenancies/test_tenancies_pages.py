"""The tenancy pages, driven as a browser would: create from an offer, check, activate."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from estatecrm.tenancies.models import Tenancy
from tests.builders import PASSWORD, make_applicant, make_contact, make_property, make_user
from tests.compliance.builders import make_certificate


async def _sign_in(client: Any, session: Any, agency: Any) -> Any:
    user = await make_user(session, agency, role="negotiator", email="neg@web.test")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


async def test_offer_to_active_tenancy_through_the_pages(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user, price_pence=95_000, address_line1="2 Bay Row")
    tenant = await make_contact(session, user, first_name="Ivy", last_name="Nash")
    applicant = await make_applicant(session, user, tenant)
    r = await client.post(
        "/offers",
        data={
            "property_id": prop.id,
            "applicant_id": applicant.id,
            "amount": "950",
            "proposed_move_in_date": "2026-06-01",
        },
    )
    offer_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert (await client.post(f"/offers/{offer_id}/accept")).status_code == 303
    form = await client.get(f"/tenancies/new?offer_id={offer_id}")
    assert form.status_code == 200 and 'value="950.00"' in form.text
    assert 'value="2026-06-01"' in form.text
    over = {
        "offer_id": offer_id,
        "tenant_contact_ids": str(tenant.id),
        "start_date": "2026-06-01",
        "term": "periodic",
        "rent": "950",
        "rent_frequency": "monthly",
        "deposit": "2000",
        "deposit_received_date": "2026-05-20",
    }
    bad = await client.post("/tenancies", data=over)
    assert bad.status_code == 422 and 'id="deposit-error"' in bad.text
    assert "£1,096.15" in bad.text
    r = await client.post("/tenancies", data={**over, "deposit": "1000"})
    assert r.status_code == 303, r.text
    tenancy = await session.scalar(select(Tenancy).where(Tenancy.offer_id == offer_id))
    assert tenancy is not None and tenancy.deposit_pence == 100_000
    page = await client.get(f"/tenancies/{tenancy.id}")
    assert "Ivy Nash" in page.text and "18 Jun 2026" in page.text
    refused = await client.post(f"/tenancies/{tenancy.id}/activate", data={"on_date": "2026-06-01"})
    assert refused.status_code == 409 and "no check recorded for Ivy Nash" in refused.text
    check = await client.post(
        f"/tenancies/{tenancy.id}/right-to-rent-checks",
        data={
            "contact_id": tenant.id,
            "check_date": "2026-05-25",
            "document_type": "UK passport",
            "result": "passed",
        },
    )
    assert check.status_code == 303
    for kind, issued in (
        ("gas_safety", "2026-05-01"),
        ("eicr", "2025-01-10"),
        ("epc", "2024-03-01"),
    ):
        await make_certificate(session, user, prop, type=kind, issued_date=issued)
    ok = await client.post(f"/tenancies/{tenancy.id}/activate", data={"on_date": "2026-06-01"})
    assert ok.status_code == 303
    assert "Active" in (await client.get(f"/tenancies/{tenancy.id}")).text
    panel = await client.get(f"/properties/{prop.id}/tenancies")
    assert "Ivy Nash" in panel.text
    assert "2 Bay Row" in (await client.get(f"/contacts/{tenant.id}/tenancies")).text
    assert "2 Bay Row" in (await client.get("/tenancies?status=active")).text
    deposit = await client.post(
        f"/tenancies/{tenancy.id}/deposit",
        data={"deposit_protected_date": "2026-06-05"},
    )
    assert deposit.status_code == 422 and 'id="deposit_scheme-error"' in deposit.text


async def test_other_agency_gets_404(
    client: Any, session: Any, admin: Any, headers: Any, other_headers: Any
) -> None:
    prop = await make_property(session, admin)
    tenant = await make_contact(session, admin)
    r = await client.post(
        "/api/v1/tenancies",
        json={
            "property_id": prop.id,
            "tenant_contact_ids": [tenant.id],
            "start_date": "2026-06-01",
            "rent_pence": 100_000,
        },
        headers=headers,
    )
    tid = r.json()["id"]
    for path in (
        f"/tenancies/{tid}",
        f"/properties/{prop.id}/tenancies",
        f"/contacts/{tenant.id}/tenancies",
    ):
        assert (await client.get(path, headers=other_headers)).status_code == 404
