"""The contacts and applicants pages, driven as a browser would (forms and HTMX requests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from estatecrm.applicants.models import Applicant
from estatecrm.contacts.models import Contact
from tests.builders import PASSWORD, make_applicant, make_contact, make_property, make_user


async def _sign_in(client: Any, session: Any, agency: Any, role: str = "negotiator") -> Any:
    user = await make_user(session, agency, role=role, email=f"{role}@web.test")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


FORM = {
    "title": "Mr",
    "first_name": "Kwame",
    "last_name": "Mensah",
    "email": "Kwame.Mensah@example.com",
    "phone": "0117 496 0999",
    "roles": ["landlord", "vendor"],
    "postcode": "bs6 5aa",
    "id_check_status": "pending",
    "notes": "Prefers calls after 5pm",
}


async def test_add_contact_and_see_it(client: Any, session: Any, agency: Any) -> None:
    await _sign_in(client, session, agency)
    assert (await client.get("/contacts/new")).status_code == 200
    r = await client.post("/contacts", data=FORM)
    assert r.status_code == 303, r.text
    page = await client.get(r.headers["location"])
    assert page.status_code == 200
    assert "Mr Kwame Mensah" in page.text and "0117 496 0999" in page.text
    assert "kwame.mensah@example.com" in page.text and "BS6 5AA" in page.text
    assert "Landlord" in page.text and "Vendor" in page.text
    contact = await session.scalar(select(Contact).where(Contact.last_name == "Mensah"))
    assert contact is not None and contact.phone == "+441174960999"


async def test_form_errors_are_shown_next_to_fields(client: Any, session: Any, agency: Any) -> None:
    await _sign_in(client, session, agency)
    bad = {**FORM, "phone": "12345", "email": "nope", "marketing_consent": "on"}
    r = await client.post("/contacts", data=bad)
    assert r.status_code == 422
    assert 'id="phone-error"' in r.text and "valid phone number" in r.text
    assert 'id="email-error"' in r.text
    assert 'value="Kwame"' in r.text  # what was typed is kept
    assert await session.scalar(select(func.count(Contact.id))) == 0
    # Consent needs its channel; the checkbox stays ticked.
    r = await client.post("/contacts", data={**FORM, "marketing_consent": "on"})
    assert r.status_code == 422 and 'id="consent_channel-error"' in r.text


async def test_duplicate_warning_then_save_anyway(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    existing = await make_contact(session, user, email="kwame.mensah@example.com", phone=None)
    r = await client.post("/contacts", data=FORM)
    assert r.status_code == 409
    assert f'href="/contacts/{existing.id}"' in r.text
    assert 'name="allow_duplicate"' in r.text
    r = await client.post("/contacts", data={**FORM, "allow_duplicate": "on"})
    assert r.status_code == 303


async def test_edit_contact_and_record_consent(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    contact = await make_contact(session, user)
    form = await client.get(f"/contacts/{contact.id}/edit")
    assert form.status_code == 200 and 'value="Priya"' in form.text
    r = await client.post(
        f"/contacts/{contact.id}/edit",
        data={
            "first_name": "Priya",
            "last_name": "Shah-Jones",
            "email": "priya.shah@example.com",
            "phone": "020 7946 0018",
            "roles": "tenant",
            "id_check_status": "not_started",
            "marketing_consent": "on",
            "consent_channel": "phone",
            "consent_note": "Asked on the phone",
        },
    )
    assert r.status_code == 303, r.text
    page = await client.get(f"/contacts/{contact.id}")
    assert "Shah-Jones" in page.text and "Asked on the phone" in page.text and "Phone" in page.text


async def test_list_search_fragment_and_picker(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    await make_contact(
        session, user, first_name="Amelia", last_name="Zed", email="amelia@example.com"
    )
    await make_contact(session, user, first_name="Bob", last_name="Young", email="bob@example.com")
    full = await client.get("/contacts")
    assert "<html" in full.text and "Zed" in full.text and "Young" in full.text
    frag = await client.get("/contacts?q=amelia", headers={"HX-Request": "true"})
    assert "<html" not in frag.text and "Zed" in frag.text and "Young" not in frag.text
    pick = await client.get("/contacts/pick?field=owner_contact_id&owner_contact_id_q=bob")
    assert pick.status_code == 200
    assert 'name="owner_contact_id"' in pick.text and "Bob Young" in pick.text
    assert "Amelia" not in pick.text


async def test_merge_from_the_duplicates_report(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    a = await make_contact(session, user, email="same@example.com", phone=None)
    b = await make_contact(session, user, first_name="P", email="same@example.com", phone=None)
    report = await client.get("/contacts/duplicates")
    assert report.status_code == 200 and "Same email same@example.com" in report.text
    assert f'action="/contacts/{a.id}/merge"' in report.text
    r = await client.post(f"/contacts/{a.id}/merge", data={"other_id": str(b.id)})
    assert r.status_code == 303
    page = await client.get(r.headers["location"])
    assert f"Contact #{b.id} was merged into this one" in page.text
    assert (await client.get(f"/contacts/{b.id}")).status_code == 404
    r = await client.post(f"/contacts/{a.id}/merge", data={"other_id": str(a.id)})
    assert r.status_code == 422 and 'id="other_id-error"' in r.text


async def test_applicant_form_from_a_contact(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    contact = await make_contact(session, user)
    form = await client.get(f"/applicants/new?contact_id={contact.id}")
    assert form.status_code == 200 and "Priya Shah" in form.text
    data = {
        "contact_id": str(contact.id),
        "marketing_type": "letting",
        "min_price": "1,300",
        "max_price": "£1,200",
        "areas": "so15, Winchester",
        "property_types": ["flat", "maisonette"],
        "must_haves": "parking",
        "status": "hot",
    }
    r = await client.post("/applicants", data=data)
    assert r.status_code == 422
    assert 'id="max_price-error"' in r.text and "at least the minimum" in r.text
    r = await client.post("/applicants", data={**data, "min_price": "900"})
    assert r.status_code == 303, r.text
    applicant = await session.scalar(select(Applicant).where(Applicant.contact_id == contact.id))
    assert applicant is not None
    assert applicant.areas == ["SO15", "Winchester"] and applicant.max_price_pence == 120_000
    page = await client.get(r.headers["location"])
    assert "SO15, Winchester" in page.text and "Matching properties" in page.text
    edit = await client.get(f"/applicants/{applicant.id}/edit")
    assert 'value="1200"' in edit.text and "SO15, Winchester" in edit.text
    listed = await client.get("/applicants?q=priya")
    assert f'href="/applicants/{applicant.id}"' in listed.text


async def test_property_page_shows_owner_and_matches_with_book_links(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    owner = await make_contact(
        session, user, first_name="Olu", last_name="Landlord", email="olu@example.com"
    )
    prop = await make_property(session, user, owner_contact_id=owner.id)
    applicant = await make_applicant(session, user)
    page = await client.get(f"/properties/{prop.id}")
    assert page.status_code == 200
    assert f'href="/contacts/{owner.id}"' in page.text and "(landlord)" in page.text
    assert "Matching applicants" in page.text
    assert f"/diary?property_id={prop.id}&applicant_id={applicant.id}#book" in page.text
    assert "£1,250 pcm within £900\u2013£1,200" not in page.text  # 1,250 is over the max...
    assert "4% over max £1,200" in page.text  # ...but within the stretch, and explained
    # The owner's page lists the property and the new role.
    owner_page = await client.get(f"/contacts/{owner.id}")
    assert f'href="/properties/{prop.id}"' in owner_page.text and "Landlord" in owner_page.text


async def test_property_form_owner_picker(
    client: Any, session: Any, agency: Any, other_agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user)
    owner = await make_contact(session, user, last_name="Owner")
    form = {
        "address_line1": "12 Carlton Crescent",
        "city": "Southampton",
        "postcode": "SO15 2EZ",
        "marketing_type": "sale",
        "status": "available",
        "price": "250000",
        "property_type": "flat",
        "owner_contact_id": str(owner.id),
    }
    r = await client.post(f"/properties/{prop.id}/edit", data=form)
    assert r.status_code == 303, r.text
    await session.refresh(prop)
    assert prop.owner_contact_id == owner.id
    edit = await client.get(f"/properties/{prop.id}/edit")
    assert "Priya Owner" in edit.text and f'value="{owner.id}" checked' in edit.text
    rival = await make_user(session, other_agency, email="r@rival.test")
    theirs = await make_contact(session, rival)
    r = await client.post(
        f"/properties/{prop.id}/edit", data={**form, "owner_contact_id": str(theirs.id)}
    )
    assert r.status_code == 422 and 'id="owner_contact_id-error"' in r.text


async def test_viewer_sees_no_write_buttons_and_gets_403(
    client: Any, session: Any, agency: Any
) -> None:
    writer = await make_user(session, agency, email="w@web.test")
    contact = await make_contact(session, writer)
    await _sign_in(client, session, agency, role="viewer")
    page = await client.get(f"/contacts/{contact.id}")
    assert "Add requirements" not in page.text and "Merge into this contact" not in page.text
    assert (await client.post("/contacts", data=FORM)).status_code == 403
    assert (await client.post(f"/contacts/{contact.id}/delete")).status_code == 403


async def test_foreign_pages_are_404(
    client: Any, session: Any, agency: Any, other_agency: Any
) -> None:
    await _sign_in(client, session, agency)
    rival = await make_user(session, other_agency, email="r@rival.test")
    contact = await make_contact(session, rival)
    applicant = await make_applicant(session, rival, contact=contact)
    for url in (
        f"/contacts/{contact.id}",
        f"/contacts/{contact.id}/edit",
        f"/applicants/{applicant.id}",
        f"/applicants/{applicant.id}/edit",
    ):
        assert (await client.get(url)).status_code == 404, url
    assert (await client.post(f"/contacts/{contact.id}/edit", data=FORM)).status_code == 404
    assert (
        await client.post(f"/contacts/{contact.id}/merge", data={"other_id": "1"})
    ).status_code == 404
    pick = await client.get(
        f"/contacts/pick?field=contact_id&contact_id_q=priya&contact_id={contact.id}"
    )
    assert "Priya" not in pick.text
    pick = await client.get(f"/applicants/pick?applicant_id_q=priya&applicant_id={applicant.id}")
    assert "Priya" not in pick.text


async def _manager_and_bidder(client: Any, session: Any, agency: Any) -> tuple[Any, Any]:
    """A signed-in manager and an applicant who made an offer (a record that must be kept)."""
    manager = await _sign_in(client, session, agency, role="manager")
    applicant = await make_applicant(session, manager)
    prop = await make_property(session, manager)
    offer = await client.post(
        "/api/v1/offers",
        json={"property_id": prop.id, "applicant_id": applicant.id, "amount_pence": 110_000},
    )
    assert offer.status_code == 201, offer.text
    return manager, applicant


async def test_delete_refusal_is_shown_by_the_button(
    client: Any, session: Any, agency: Any
) -> None:
    manager, applicant = await _manager_and_bidder(client, session, agency)
    page = await client.post(f"/contacts/{applicant.contact_id}/delete")
    assert page.status_code == 409
    assert 'id="delete-error"' in page.text and "1 offer on record" in page.text
    assert "merge the contact into another one" in page.text
    assert (await client.get(f"/contacts/{applicant.contact_id}")).status_code == 200
    # Without records, it goes.
    spare = await make_contact(session, manager, first_name="Spare")
    gone = await client.post(f"/contacts/{spare.id}/delete")
    assert gone.status_code == 303 and gone.headers["location"] == "/contacts"


async def test_applicant_delete_refusal_is_shown_by_the_button(
    client: Any, session: Any, agency: Any
) -> None:
    manager, applicant = await _manager_and_bidder(client, session, agency)
    page = await client.post(f"/applicants/{applicant.id}/delete")
    assert page.status_code == 409
    assert 'id="delete-error"' in page.text and "1 offer on record" in page.text
    assert (await client.get(f"/applicants/{applicant.id}")).status_code == 200
    spare = await make_applicant(session, manager)
    gone = await client.post(f"/applicants/{spare.id}/delete")
    assert gone.status_code == 303 and gone.headers["location"] == f"/contacts/{spare.contact_id}"
