"""The compliance pages as a browser drives them: dashboard, forms, detail, property panel."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from estatecrm.compliance import service as compliance_service
from estatecrm.compliance.models import Certificate
from estatecrm.db import relations
from estatecrm.db.relations import ExtraSection, Section, SectionRow
from estatecrm.properties.models import Property
from tests.builders import PASSWORD, make_property, make_user
from tests.compliance.builders import ON, make_certificate


async def _sign_in(client: Any, session: Any, agency: Any, role: str = "manager") -> Any:
    user = await make_user(session, agency, role=role, email=f"{role}@pages.test")
    r = await client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert r.status_code == 303
    return user


@pytest.fixture
async def portfolio(session: Any, agency: Any) -> dict[str, Any]:
    owner = await make_user(session, agency, role="admin", email="owner@pages.test")
    expired = await make_property(
        session, owner, address_line1="1 Expired Row", postcode="SO15 2AA", reference="EXP-1"
    )
    await make_certificate(session, owner, expired, issued_date=date(2025, 5, 1))
    soon = await make_property(
        session, owner, address_line1="2 Soon Street", postcode="SO15 2AB", reference="SOON-2"
    )
    await make_certificate(
        session,
        owner,
        soon,
        type="eicr",
        issued_date=date(2021, 6, 4),
        expiry_date=date(2026, 6, 4),
    )
    return {"owner": owner, "expired": expired, "soon": soon}


async def test_dashboard_by_urgency_and_by_property(
    client: Any, session: Any, agency: Any, portfolio: dict[str, Any]
) -> None:
    await _sign_in(client, session, agency)
    page = await client.get(f"/compliance?date={ON}")
    assert page.status_code == 200
    html = page.text
    assert "<h1>Compliance</h1>" in html and "Monday 01 June 2026" in html
    assert 'id="count-expired">1<' in html and 'id="count-due_7">1<' in html
    expired_section = html.split('id="section-expired"')[1].split("</section>")[0]
    assert "1 Expired Row" in expired_section and "Gas safety certificate" in expired_section
    assert "31 overdue" in expired_section
    due7 = html.split('id="section-due_7"')[1].split("</section>")[0]
    assert "2 Soon Street" in due7
    assert f'href="/properties/{portfolio["expired"].id}"' in html
    # Every letting without alarms etc. shows as missing.
    assert "Smoke and CO alarm check" in html.split('id="section-missing"')[1]
    assert 'id="add-certificate"' in html and 'for="f-property_reference"' in html
    # HTMX swaps only the results for the by-property view.
    frag = await client.get(f"/compliance?view=property&date={ON}", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "<html" not in frag.text
    assert frag.text.index("1 Expired Row") < frag.text.index("2 Soon Street")
    assert 'class="compliance-property"' in frag.text
    one = await client.get(f"/compliance?urgency=expired&date={ON}")
    assert "1 Expired Row" in one.text and "2 Soon Street" not in one.text


async def test_extra_sections_render_only_with_rows(
    app: Any, client: Any, session: Any, agency: Any, portfolio: dict[str, Any]
) -> None:
    await _sign_in(client, session, agency)
    rows: list[SectionRow] = []

    async def deposits(_session: Any, _agency_id: int, _on: date) -> ExtraSection:
        return ExtraSection(
            key="deposits",
            title="Deposits past their protection deadline",
            rows=rows,
            total=len(rows),
        )

    # A section declared by a feature the app under test was wired with (this app only).
    app.state.relations.sections = [Section(deposits)]
    html = (await client.get(f"/compliance?date={ON}")).text
    assert "Deposits past their protection deadline" not in html
    assert "compliance-extra" not in html
    rows.append(
        SectionRow(
            label="Tenancy T-7, 1 Expired Row",
            detail="Deposit received 1 May 2026, not protected",
            href="/tenancies/7",
            due_date=date(2026, 5, 31),
        )
    )
    html = (await client.get(f"/compliance?date={ON}")).text
    section = html.split('id="extra-deposits"')[1].split("</section>")[0]
    assert "Tenancy T-7" in section and "31 May 2026" in section
    relations.attach(session, app.state.relations)
    summary = await compliance_service.summary(session, agency.id, ON)
    assert summary.overdue is True


async def test_add_certificate_from_the_dashboard(
    client: Any, session: Any, agency: Any, portfolio: dict[str, Any]
) -> None:
    await _sign_in(client, session, agency, role="negotiator")
    form = {
        "property_reference": "soon-2",
        "type": "eicr",
        "issued_date": "2026-05-28",
        "expiry_date": "",
        "reference": "EICR-77",
        "rating": "",
        "document_url": "",
        "next": "/compliance",
    }
    r = await client.post("/certificates", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/compliance"
    cert = await session.scalar(select(Certificate).where(Certificate.reference == "EICR-77"))
    assert cert is not None and cert.expiry_date == date(2031, 5, 28) and cert.is_current
    html = (await client.get(f"/compliance?date={ON}")).text
    assert "2 Soon Street" not in html.split('id="section-due_7"')[1].split("</section>")[0]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"property_reference": "NOPE-1"}, "property_reference", "No property with reference"),
        ({"property_reference": ""}, "property_reference", "required"),
        ({"type": "epc"}, "rating", "energy rating"),
        ({"type": "hmo_licence"}, "expiry_date", "council"),
        ({"issued_date": "not a date"}, "issued_date", "date"),
        ({"expiry_date": "2020-01-01"}, "expiry_date", "after the issue date"),
        ({"document_url": "ftp://x"}, "document_url", "https://"),
    ],
)
async def test_form_errors_are_shown_next_to_fields(
    client: Any,
    session: Any,
    agency: Any,
    portfolio: dict[str, Any],
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    await _sign_in(client, session, agency)
    before = await session.scalar(select(func.count(Certificate.id)))
    form = {
        "property_reference": "EXP-1",
        "type": "gas_safety",
        "issued_date": "2026-05-02",
        "reference": "KEEP-ME",
        **changes,
    }
    r = await client.post("/certificates", data=form)
    assert r.status_code == 422
    assert f'id="{field}-error"' in r.text and message in r.text
    assert 'aria-invalid="true"' in r.text and 'value="KEEP-ME"' in r.text
    assert await session.scalar(select(func.count(Certificate.id))) == before


async def test_property_panel_detail_edit_and_delete(
    client: Any, session: Any, agency: Any, portfolio: dict[str, Any]
) -> None:
    await _sign_in(client, session, agency)
    prop = portfolio["expired"]
    detail = await client.get(f"/properties/{prop.id}")
    assert f'hx-get="/properties/{prop.id}/compliance"' in detail.text
    assert "Gas supply</dt><dd>Yes" in detail.text
    panel = await client.get(
        f"/properties/{prop.id}/compliance?date={ON}", headers={"HX-Request": "true"}
    )
    assert panel.status_code == 200 and "<html" not in panel.text
    assert "Cannot be let on 01 Jun 2026" in panel.text
    assert "Gas safety certificate: expired on 01 May 2026" in panel.text
    assert f'name="property_id" value="{prop.id}"' in panel.text
    full = await client.get(f"/properties/{prop.id}/compliance")
    assert "<html" in full.text and "Compliance" in full.text

    # Record the renewal from the panel: back to the property page.
    r = await client.post(
        "/certificates",
        data={
            "property_id": str(prop.id),
            "next": f"/properties/{prop.id}",
            "type": "gas_safety",
            "issued_date": "2026-05-30",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == f"/properties/{prop.id}"
    new = await session.scalar(
        select(Certificate).where(
            Certificate.property_id == prop.id, Certificate.issued_date == date(2026, 5, 30)
        )
    )
    assert new is not None
    page = await client.get(f"/certificates/{new.id}?date={ON}")
    assert page.status_code == 200
    assert "Valid" in page.text and "(from the type's rule)" in page.text
    assert "Recorded gas safety certificate" in page.text  # the timeline

    form = await client.get(f"/certificates/{new.id}/edit")
    assert form.status_code == 200 and 'value="2026-05-30"' in form.text
    r = await client.post(
        f"/certificates/{new.id}/edit",
        data={"type": "gas_safety", "issued_date": "2026-05-31", "expiry_date": "", "notes": "ok"},
    )
    assert r.status_code == 303
    await session.refresh(new)
    assert new.expiry_date == date(2027, 5, 31) and new.notes == "ok"
    bad = await client.post(
        f"/certificates/{new.id}/edit",
        data={"type": "gas_safety", "issued_date": "2026-05-31", "expiry_date": "2026-01-01"},
    )
    assert bad.status_code == 422 and 'id="expiry_date-error"' in bad.text

    r = await client.post(f"/certificates/{new.id}/delete")
    assert r.status_code == 303 and r.headers["location"] == f"/properties/{prop.id}"
    assert (await client.get(f"/certificates/{new.id}")).status_code == 404


async def test_viewer_sees_no_forms_and_cannot_post(
    client: Any, session: Any, agency: Any, portfolio: dict[str, Any]
) -> None:
    await _sign_in(client, session, agency, role="viewer")
    html = (await client.get("/compliance")).text
    assert 'id="add-certificate"' not in html
    r = await client.post(
        "/certificates",
        data={"property_reference": "EXP-1", "type": "gas_safety", "issued_date": "2026-05-02"},
    )
    assert r.status_code == 403


async def test_foreign_pages_are_404(
    client: Any, session: Any, agency: Any, other_agency: Any
) -> None:
    await _sign_in(client, session, agency)
    rival = await make_user(session, other_agency, role="admin", email="r@rival.test")
    theirs = await make_property(session, rival, reference="THEIRS-1")
    cert = await make_certificate(session, rival, theirs)
    for path in (
        f"/certificates/{cert.id}",
        f"/certificates/{cert.id}/edit",
        f"/properties/{theirs.id}/compliance",
        f"/certificates/new?property_id={theirs.id}",
    ):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.post(f"/certificates/{cert.id}/delete")).status_code == 404
    assert (
        await client.post(f"/certificates/{cert.id}/edit", data={"type": "eicr"})
    ).status_code == 404
    r = await client.post(
        "/certificates",
        data={"property_reference": "THEIRS-1", "type": "gas_safety", "issued_date": "2026-05-02"},
    )
    assert r.status_code == 422 and 'id="property_reference-error"' in r.text
    r = await client.post(
        "/certificates",
        data={"property_id": str(theirs.id), "type": "gas_safety", "issued_date": "2026-05-02"},
    )
    assert r.status_code == 404
    html = (await client.get(f"/compliance?date={ON}")).text
    assert "THEIRS-1" not in html


async def test_signed_out_goes_to_login(client: Any) -> None:
    for path in ("/compliance", "/tasks", "/certificates/new", "/certificates"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path


async def test_certificates_index_redirects_to_the_dashboard(
    client: Any, session: Any, agency: Any
) -> None:
    await _sign_in(client, session, agency)
    r = await client.get("/certificates")
    assert r.status_code == 303 and r.headers["location"] == "/compliance"


async def test_property_form_has_gas_checkbox(client: Any, session: Any, agency: Any) -> None:
    user = await _sign_in(client, session, agency)
    new_form = await client.get("/properties/new")
    assert (
        'name="has_gas"' in new_form.text
        and "checked" in new_form.text.split('name="has_gas"')[1][:80]
    )
    prop = await make_property(session, user, property_type="land", marketing_type="sale")
    assert prop.has_gas is False
    form = {
        "address_line1": "7 Bedford Place",
        "city": "Southampton",
        "postcode": "so15 2dd",
        "marketing_type": "letting",
        "status": "available",
        "price": "1150",
        "property_type": "flat",
    }
    r = await client.post("/properties", data=form)  # checkbox left unticked
    assert r.status_code == 303
    saved = await session.scalar(
        select(Property).where(Property.address_line1 == "7 Bedford Place")
    )
    assert saved is not None and saved.has_gas is False
    r = await client.post(f"/properties/{saved.id}/edit", data={**form, "has_gas": "true"})
    assert r.status_code == 303
    await session.refresh(saved)
    assert saved.has_gas is True
