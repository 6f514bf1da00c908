"""The properties pages, driven as a browser would (forms and HTMX requests)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from estatecrm.properties.models import Property
from tests.builders import PASSWORD, make_property, make_user


async def _sign_in(client: Any, session: Any, agency: Any, role: str = "negotiator") -> Any:
    user = await make_user(session, agency, role=role, email=f"{role}@web.test")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


FORM = {
    "address_line1": "7 Bedford Place",
    "city": "Southampton",
    "postcode": "so15 2dd",
    "marketing_type": "letting",
    "status": "available",
    "price": "£1,150",
    "property_type": "flat",
    "bedrooms": "2",
    "features": "Garden\nParking",
}


async def test_add_property_form_and_detail(client: Any, session: Any, agency: Any) -> None:
    await _sign_in(client, session, agency)
    page = await client.get("/properties/new")
    assert page.status_code == 200 and "Add property" in page.text
    r = await client.post("/properties", data=FORM)
    assert r.status_code == 303, r.text
    detail = await client.get(r.headers["location"])
    assert "7 Bedford Place" in detail.text and "SO15 2DD" in detail.text
    assert "£1,150 pcm" in detail.text
    prop = await session.scalar(select(Property).where(Property.address_line1 == "7 Bedford Place"))
    assert (
        prop is not None and prop.price_pence == 115_000 and prop.features == ["Garden", "Parking"]
    )


async def test_form_errors_are_shown_next_to_fields(client: Any, session: Any, agency: Any) -> None:
    await _sign_in(client, session, agency)
    before = await session.scalar(select(func.count(Property.id)))
    bad = {**FORM, "postcode": "nowhere", "price": "lots", "status": "sold"}
    r = await client.post("/properties", data=bad)
    assert r.status_code == 422
    assert 'id="postcode-error"' in r.text and "valid UK postcode" in r.text
    # Both the schema's errors and the price that is not money, the latter in its own words.
    assert 'id="price-error"' in r.text and "Enter an amount in pounds" in r.text
    assert 'aria-invalid="true"' in r.text
    # What the user typed is kept.
    assert 'value="7 Bedford Place"' in r.text
    assert await session.scalar(select(func.count(Property.id))) == before


async def test_status_conflict_shown_on_status_field(
    client: Any, session: Any, agency: Any
) -> None:
    await _sign_in(client, session, agency)
    r = await client.post("/properties", data={**FORM, "status": "sold"})
    assert r.status_code == 422
    assert 'id="status-error"' in r.text and "not a status for letting" in r.text


async def test_duplicate_reference_is_a_409_shown_on_the_field(
    client: Any, session: Any, agency: Any
) -> None:
    user = await _sign_in(client, session, agency)
    await make_property(session, user, reference="SOU-0001")
    before = await session.scalar(select(func.count()).select_from(Property))
    r = await client.post("/properties", data={**FORM, "reference": "SOU-0001"})
    assert r.status_code == 409
    assert 'id="reference-error"' in r.text and "already used" in r.text
    assert 'value="7 Bedford Place"' in r.text  # what was typed is kept
    assert await session.scalar(select(func.count()).select_from(Property)) == before


async def test_edit_property(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    prop = await make_property(session, user)
    form = await client.get(f"/properties/{prop.id}/edit")
    assert form.status_code == 200 and 'value="1250"' in form.text
    r = await client.post(f"/properties/{prop.id}/edit", data={**FORM, "price": "1300"})
    assert r.status_code == 303
    await session.refresh(prop)
    assert prop.price_pence == 130_000 and prop.address_line1 == "7 Bedford Place"


async def test_list_filters_and_htmx_fragment(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    await make_property(
        session, user, city="Bristol", postcode="BS6 5AA", address_line1="1 Cotham Hill"
    )
    await make_property(
        session, user, city="Southampton", postcode="SO15 2EZ", address_line1="2 Hill Lane"
    )
    full = await client.get("/properties")
    assert "<html" in full.text and "1 Cotham Hill" in full.text and "2 Hill Lane" in full.text
    frag = await client.get("/properties?city=Bristol", headers={"HX-Request": "true"})
    assert frag.status_code == 200
    assert "<html" not in frag.text
    assert "1 Cotham Hill" in frag.text and "2 Hill Lane" not in frag.text


async def test_viewer_sees_no_add_button_and_gets_403(
    client: Any, session: Any, agency: Any
) -> None:
    await _sign_in(client, session, agency, role="viewer")
    assert "Add property" not in (await client.get("/properties")).text
    r = await client.post("/properties", data=FORM)
    assert r.status_code == 403


async def test_foreign_property_page_is_404(
    client: Any, session: Any, agency: Any, other_agency: Any
) -> None:
    await _sign_in(client, session, agency)
    rival = await make_user(session, other_agency, email="r@rival.test")
    theirs = await make_property(session, rival)
    assert (await client.get(f"/properties/{theirs.id}")).status_code == 404
    assert (await client.get(f"/properties/{theirs.id}/edit")).status_code == 404
    assert (await client.post(f"/properties/{theirs.id}/edit", data=FORM)).status_code == 404
