"""The offers pages, driven as a browser would: record, decide, board and panels."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from estatecrm.offers.models import Offer
from tests.builders import PASSWORD, make_applicant, make_contact, make_property, make_user


async def _sign_in(client: Any, session: Any, agency: Any) -> Any:
    user = await make_user(session, agency, role="negotiator", email="neg@web.test")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


async def test_record_counter_and_accept_from_the_pages(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user, price_pence=120_000, address_line1="9 Elm Walk")
    contact = await make_contact(session, user, first_name="Dee", last_name="Okafor")
    applicant = await make_applicant(session, user, contact)
    form = await client.get(f"/offers/new?property_id={prop.id}")
    assert form.status_code == 200 and "Dee Okafor" in form.text and "9 Elm Walk" in form.text
    bad = await client.post(
        "/offers", data={"property_id": prop.id, "applicant_id": applicant.id, "amount": "lots"}
    )
    assert bad.status_code == 422 and 'id="amount-error"' in bad.text
    r = await client.post(
        "/offers",
        data={"property_id": prop.id, "applicant_id": applicant.id, "amount": "£1,300"},
    )
    assert r.status_code == 303
    offer = await session.scalar(select(Offer).where(Offer.property_id == prop.id))
    assert offer is not None and offer.amount_pence == 130_000
    page = await client.get(f"/offers/{offer.id}")
    assert "£1,300 pcm from Dee Okafor" in page.text and "Accept £1,300 pcm" in page.text
    refused = await client.post(f"/offers/{offer.id}/accept")
    assert refused.status_code == 409 and "Renters&#39; Rights Act" in refused.text
    countered = await client.post(f"/offers/{offer.id}/counter", data={"counter_amount": "1200"})
    assert countered.status_code == 303
    accepted = await client.post(f"/offers/{offer.id}/accept")
    assert accepted.status_code == 303
    page = await client.get(f"/offers/{offer.id}")
    assert "Accepted" in page.text and "Create tenancy" in page.text
    panel = await client.get(f"/properties/{prop.id}/offers")
    assert "£1,200 pcm" in panel.text and "Dee Okafor" in panel.text
    assert (
        f'hx-get="/properties/{prop.id}/offers"'
        in (await client.get(f"/properties/{prop.id}")).text
    )
    assert "9 Elm Walk" in (await client.get(f"/applicants/{applicant.id}/offers")).text
    assert (
        f'hx-get="/applicants/{applicant.id}/offers"'
        in (await client.get(f"/applicants/{applicant.id}")).text
    )
    board = await client.get("/offers?status=accepted")
    assert "9 Elm Walk" in board.text and "Dee Okafor" in board.text
    assert "9 Elm Walk" not in (await client.get("/offers?status=pending")).text


async def test_reject_without_reason_shows_the_error(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user)
    applicant = await make_applicant(session, user)
    r = await client.post(
        "/offers", data={"property_id": prop.id, "applicant_id": applicant.id, "amount": "1000"}
    )
    offer_id = int(r.headers["location"].rsplit("/", 1)[1])
    bad = await client.post(f"/offers/{offer_id}/reject", data={"reason": ""})
    assert bad.status_code == 422 and 'id="reason-error"' in bad.text
    ok = await client.post(f"/offers/{offer_id}/reject", data={"reason": "Too low"})
    assert ok.status_code == 303
    assert "Too low" in (await client.get(f"/offers/{offer_id}")).text
