"""The sales progression and maintenance pages, driven as a browser would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from estatecrm.maintenance.models import MaintenanceJob
from estatecrm.sales.models import Sale
from tests.builders import PASSWORD, make_applicant, make_contact, make_property, make_user


async def _sign_in(client: Any, session: Any, agency: Any) -> Any:
    user = await make_user(session, agency, role="negotiator", email="neg@web.test")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


async def test_sale_page_milestones_chain_and_fall_through(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(
        session, user, marketing_type="sale", price_pence=20_000_000, address_line1="8 Sale St"
    )
    buyer = await make_contact(session, user, first_name="Bo", id_check_status="passed")
    applicant = await make_applicant(
        session, user, buyer, marketing_type="sale", min_price_pence=None, max_price_pence=None
    )
    r = await client.post(
        "/offers", data={"property_id": prop.id, "applicant_id": applicant.id, "amount": "195000"}
    )
    offer_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert (await client.post(f"/offers/{offer_id}/accept")).status_code == 303
    sale = await session.scalar(select(Sale).where(Sale.offer_id == offer_id))
    assert sale is not None
    assert f'href="/sales/{sale.id}"' in (await client.get(f"/offers/{offer_id}")).text
    page = await client.get(f"/sales/{sale.id}")
    assert page.status_code == 200 and "Memorandum of sale sent" in page.text
    assert "£195,000" in page.text
    agreed = sale.agreed_date.isoformat()
    r = await client.post(
        f"/sales/{sale.id}/milestones/memorandum_sent", data={"done_date": agreed}
    )
    assert r.status_code == 303
    assert "10% done" in (await client.get(f"/sales/{sale.id}")).text
    bad = await client.post(f"/sales/{sale.id}/milestones/completion", data={"done_date": agreed})
    assert bad.status_code == 409 and "exchange" in bad.text
    r = await client.post(
        f"/sales/{sale.id}/chain-links",
        data={
            "direction": "downward",
            "description": "Buyer selling 3 Low Rd",
            "external_status": "searches",
        },
    )
    assert r.status_code == 303
    assert "Buyer selling 3 Low Rd" in (await client.get(f"/sales/{sale.id}")).text
    r = await client.post(
        f"/sales/{sale.id}/solicitors", data={"buyer_solicitor_firm": "Quill & Co"}
    )
    assert r.status_code == 303
    assert "Quill &amp; Co" in (await client.get(f"/sales/{sale.id}")).text
    empty = await client.post(f"/sales/{sale.id}/fall-through", data={"reason": ""})
    assert empty.status_code == 422 and 'id="reason-error"' in empty.text
    r = await client.post(f"/sales/{sale.id}/fall-through", data={"reason": "Survey down-valued"})
    assert r.status_code == 303
    assert "Survey down-valued" in (await client.get(f"/properties/{prop.id}/sales")).text
    assert "8 Sale St" in (await client.get("/sales?status=fallen_through")).text


async def test_maintenance_pages(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user, address_line1="3 Drip Row")
    await make_contact(session, user, first_name="Pat", last_name="Plumb")
    form = await client.get(f"/maintenance/new?property_id={prop.id}")
    assert form.status_code == 200 and "3 Drip Row" in form.text
    bad = await client.post(
        "/maintenance",
        data={
            "property_id": prop.id,
            "title": "",
            "reported_date": "2026-06-01",
            "priority": "high",
        },
    )
    assert bad.status_code == 422 and 'id="title-error"' in bad.text
    r = await client.post(
        "/maintenance",
        data={
            "property_id": prop.id,
            "title": "Tap drips",
            "reported_date": "2026-06-01",
            "priority": "high",
            "quote": "85",
        },
    )
    assert r.status_code == 303
    job = await session.scalar(select(MaintenanceJob).where(MaintenanceJob.title == "Tap drips"))
    assert job is not None and job.quote_pence == 8_500 and job.status.value == "quoted"
    done = await client.post(f"/maintenance/{job.id}", data={"status": "done", "priority": "high"})
    assert done.status_code == 422 and 'id="cost-error"' in done.text
    ok = await client.post(
        f"/maintenance/{job.id}", data={"status": "done", "priority": "high", "cost": "80"}
    )
    assert ok.status_code == 303
    detail = await client.get(f"/maintenance/{job.id}")
    assert "£80" in detail.text and "Status quoted → done" in detail.text
    assert "Tap drips" in (await client.get(f"/properties/{prop.id}/maintenance")).text
    assert "Tap drips" in (await client.get("/maintenance?open=false")).text
    page = await client.get(f"/properties/{prop.id}")
    assert f'hx-get="/properties/{prop.id}/maintenance"' in page.text
