"""The agency-wide view: summary, items needing action, and the letting check other features use."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from estatecrm.compliance import service as compliance_service
from estatecrm.compliance.schemas import CertificateUpdate
from tests.builders import make_property, make_user, token_headers
from tests.compliance.builders import ON, make_certificate


@pytest.fixture
async def negotiator(session: Any, agency: Any) -> Any:
    return await make_user(session, agency, role="negotiator", email="neg@agency.test")


@pytest.fixture
async def estate(session: Any, admin: Any, negotiator: Any) -> dict[str, Any]:
    """A small portfolio with every kind of problem, judged on ON (1 June 2026)."""
    let = await make_property(
        session,
        admin,
        address_line1="1 Let Street",
        postcode="SO15 2AA",
        status="let",
        negotiator_id=negotiator.id,
    )
    await make_certificate(session, admin, let, type="gas_safety", issued_date=date(2025, 5, 20))
    await make_certificate(
        session,
        admin,
        let,
        type="eicr",
        issued_date=date(2021, 6, 5),
        expiry_date=date(2026, 6, 5),
    )
    await make_certificate(session, admin, let, type="epc", issued_date=date(2020, 1, 1))
    # smoke_co_alarm: never recorded -> missing
    no_gas = await make_property(
        session,
        admin,
        address_line1="2 Electric Avenue",
        postcode="SO15 2AB",
        has_gas=False,
        status="available",
    )
    await make_certificate(
        session,
        admin,
        no_gas,
        type="eicr",
        issued_date=date(2021, 6, 25),
        expiry_date=date(2026, 6, 25),
    )
    await make_certificate(
        session, admin, no_gas, type="epc", rating="F", issued_date=date(2019, 3, 1)
    )
    await make_certificate(
        session, admin, no_gas, type="smoke_co_alarm", issued_date=date(2026, 3, 1)
    )
    sale = await make_property(
        session,
        admin,
        address_line1="3 Sale Road",
        postcode="SO15 2AD",
        marketing_type="sale",
        status="available",
        price_pence=30_000_000,
    )
    # A withdrawn letting with an expired certificate is nobody's duty now.
    withdrawn = await make_property(
        session, admin, address_line1="4 Gone Close", postcode="SO15 2AE", status="withdrawn"
    )
    await make_certificate(session, admin, withdrawn, issued_date=date(2024, 1, 1))
    return {"let": let, "no_gas": no_gas, "sale": sale, "withdrawn": withdrawn}


async def test_items_are_grouped_by_urgency_in_order(
    client: Any, headers: Any, estate: dict[str, Any]
) -> None:
    r = await client.get(f"/api/v1/compliance/items?date={ON}", headers=headers)
    assert r.status_code == 200, r.text
    got = [(i["property_id"], i["type"], i["urgency"]) for i in r.json()["items"]]
    let, no_gas, sale = estate["let"].id, estate["no_gas"].id, estate["sale"].id
    assert got == [
        (let, "gas_safety", "expired"),
        (let, "eicr", "due_7"),
        (no_gas, "eicr", "due_30"),
        (let, "smoke_co_alarm", "missing"),
        (sale, "epc", "missing"),
    ]
    first = r.json()["items"][0]
    assert first["expiry_date"] == "2026-05-20" and first["days_to_expiry"] == -12
    assert first["status"] == "expired" and first["property_address"].startswith("1 Let Street")
    missing = r.json()["items"][-1]
    assert missing["certificate_id"] is None and missing["expiry_date"] is None

    async def urgencies(query: str) -> list[str]:
        page = (
            await client.get(f"/api/v1/compliance/items?date={ON}&{query}", headers=headers)
        ).json()
        return [i["urgency"] for i in page["items"]]

    assert await urgencies("status=expiring") == ["due_7", "due_30"]
    assert await urgencies("urgency=missing") == ["missing", "missing"]
    assert await urgencies("status=missing&type=epc") == ["missing"]
    assert await urgencies("urgency=missing&type=hmo_licence") == []
    assert await urgencies(f"property_id={no_gas}") == ["due_30"]
    paged = (
        await client.get(f"/api/v1/compliance/items?date={ON}&limit=2&offset=2", headers=headers)
    ).json()
    assert paged["total"] == 5 and [i["urgency"] for i in paged["items"]] == ["due_30", "missing"]
    # A month later both EICRs have lapsed too.
    later = (await client.get("/api/v1/compliance/items?date=2026-07-01", headers=headers)).json()
    assert [i["urgency"] for i in later["items"]].count("expired") == 3


async def test_summary_counts(client: Any, headers: Any, estate: dict[str, Any]) -> None:
    body = (await client.get(f"/api/v1/compliance/summary?date={ON}", headers=headers)).json()
    assert body["date"] == ON.isoformat()
    assert body["by_urgency"] == {"expired": 1, "due_7": 1, "due_30": 1, "missing": 2}
    assert body["by_status"] == {"valid": 3, "expiring": 2, "expired": 1, "missing": 2}
    assert body["by_type"]["eicr"] == {"valid": 0, "expiring": 2, "expired": 0, "missing": 0}
    assert body["by_type"]["epc"] == {"valid": 2, "expiring": 0, "expired": 0, "missing": 1}
    assert body["epc_below_minimum"] == 1
    assert body["properties_with_problems"] == 3
    assert body["overdue"] is True


async def test_property_compliance_and_letting_check(
    client: Any, headers: Any, estate: dict[str, Any]
) -> None:
    let = estate["let"]
    body = (
        await client.get(f"/api/v1/properties/{let.id}/compliance?date={ON}", headers=headers)
    ).json()
    statuses = {r["type"]: (r["required"], r["status"]) for r in body["requirements"]}
    assert statuses == {
        "gas_safety": (True, "expired"),
        "eicr": (True, "expiring"),
        "epc": (True, "valid"),
        "smoke_co_alarm": (True, "missing"),
        "hmo_licence": (False, None),
        "legionella": (False, None),
    }
    assert body["lettable_problems"] == ["Gas safety certificate: expired on 20 May 2026"]


async def test_lettable_problems(session: Any, admin: Any, agency: Any) -> None:
    prop = await make_property(session, admin, address_line1="9 Check Street")

    async def problems(on: date = ON) -> list[str]:
        return await compliance_service.lettable_problems(session, agency.id, prop, on)

    assert await problems() == [
        "Gas safety certificate: none recorded",
        "EICR (electrical safety report): none recorded",
        "EPC: none recorded",
    ]
    await make_certificate(session, admin, prop, type="gas_safety", issued_date=date(2025, 6, 1))
    await make_certificate(session, admin, prop, type="eicr", issued_date=date(2022, 1, 1))
    epc = await make_certificate(
        session, admin, prop, type="epc", rating="G", issued_date=date(2018, 1, 1)
    )
    assert await problems() == [
        "EPC: rated G, below the legal minimum of E for a letting, and no PRS exemption is recorded"
    ]
    # The gas record is good through its expiry day and not a day after.
    assert await problems(date(2026, 6, 1)) == await problems()
    later = await problems(date(2026, 6, 2))
    assert later[0] == "Gas safety certificate: expired on 01 Jun 2026"
    # A PRS exemption makes a G lettable until the exemption ends.
    await compliance_service.update(
        session,
        admin,
        epc.id,
        CertificateUpdate(exemption_reference="PRSE-123", exemption_expiry_date=date(2026, 12, 31)),
    )
    assert await problems() == []
    assert "exemption PRSE-123 ended 31 Dec 2026" in (await problems(date(2027, 1, 2)))[-1]
    # Without gas, no gas certificate is needed.
    prop.has_gas = False
    assert await problems(date(2026, 6, 2)) == []
    # A certificate dated after the day asked about does not count yet.
    prop.has_gas = True
    renewed = await make_certificate(
        session, admin, prop, type="gas_safety", issued_date=date(2026, 5, 25)
    )
    assert renewed.is_current
    assert await problems(date(2026, 5, 24)) == []
    assert (await problems(date(2020, 1, 1)))[0] == (
        "Gas safety certificate: the one on record is only in force from 25 May 2026"
    )


async def test_epc_exemption_clears_the_dashboard(
    client: Any, headers: Any, estate: dict[str, Any], session: Any, admin: Any
) -> None:
    listed = (
        await client.get(
            f"/api/v1/certificates?type=epc&property_id={estate['no_gas'].id}", headers=headers
        )
    ).json()
    epc_id = listed["items"][0]["id"]
    r = await client.patch(
        f"/api/v1/certificates/{epc_id}",
        json={"exemption_reference": "PRSE-0042", "exemption_expiry_date": "2028-01-01"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = (await client.get(f"/api/v1/compliance/summary?date={ON}", headers=headers)).json()
    assert body["epc_below_minimum"] == 0
    ended = (await client.get("/api/v1/compliance/summary?date=2028-01-02", headers=headers)).json()
    assert ended["epc_below_minimum"] == 1


async def test_nothing_overdue(client: Any, session: Any, agency: Any, admin: Any) -> None:
    prop = await make_property(session, admin, address_line1="5 Good Street", has_gas=False)
    for cert_type in ("eicr", "epc", "smoke_co_alarm"):
        await make_certificate(session, admin, prop, type=cert_type, issued_date=date(2026, 3, 1))
    headers = await token_headers(session, admin)
    body = (await client.get(f"/api/v1/compliance/summary?date={ON}", headers=headers)).json()
    assert body["overdue"] is False and body["by_status"]["valid"] == 3
    assert body["properties_with_problems"] == 0


async def test_other_agencies_are_invisible(
    client: Any, estate: dict[str, Any], other_headers: Any
) -> None:
    body = (await client.get(f"/api/v1/compliance/summary?date={ON}", headers=other_headers)).json()
    assert body["by_status"] == {"valid": 0, "expiring": 0, "expired": 0, "missing": 0}
    assert body["overdue"] is False
    items = (await client.get(f"/api/v1/compliance/items?date={ON}", headers=other_headers)).json()
    assert items["items"] == [] and items["total"] == 0
    foreign = (
        await client.get(
            f"/api/v1/compliance/items?property_id={estate['let'].id}", headers=other_headers
        )
    ).json()
    assert foreign["items"] == []
