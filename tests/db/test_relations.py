"""The one mechanism for relations between features (db/relations.py).

The app under test is wired with a feature that exists only here: what it declares is picked up
by the contacts, tasks and compliance services with no change to them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.contacts import repository as contact_repository
from estatecrm.contacts.models import Contact
from estatecrm.db import relations
from estatecrm.db.relations import (
    Blocks,
    ExtraSection,
    Relations,
    Section,
    SectionRow,
    Target,
    TaskLink,
    contact_columns,
)
from estatecrm.features import FEATURE_RELATIONS, build_relations
from estatecrm.properties.models import Property
from tests.builders import make_contact, make_property

# A feature added later that holds properties' owners as its own references: one declaration.
NEW_FEATURE = contact_columns(
    "owned_properties", "owned property", "owned properties", Property.owner_contact_id
)


async def test_a_new_contact_reference_blocks_the_delete_and_moves_on_merge(
    app: Any, client: Any, session: Any, admin: Any, headers: Any
) -> None:
    app.state.relations = Relations.from_features(NEW_FEATURE)
    owner = await make_contact(session, admin, first_name="Olu", last_name="Owner")
    prop = await make_property(session, admin, owner_contact_id=owner.id)
    refused = await client.delete(f"/api/v1/contacts/{owner.id}", headers=headers)
    assert refused.status_code == 409
    assert refused.json()["detail"]["reasons"] == ["1 owned property"]
    assert "Olu Owner has 1 owned property on record; merge the contact" in refused.json()["error"]

    kept = await make_contact(session, admin, first_name="Olu", last_name="Owner")
    merged = await client.post(
        f"/api/v1/contacts/{kept.id}/merge", json={"other_id": owner.id}, headers=headers
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["moved"] == {"consent_changes": 0, "owned_properties": 1}
    got = await client.get(f"/api/v1/properties/{prop.id}", headers=headers)
    assert got.json()["owner_contact_id"] == kept.id


async def test_without_the_declaration_nothing_blocks_or_moves(
    app: Any, client: Any, session: Any, admin: Any, headers: Any
) -> None:
    app.state.relations = Relations.from_features()
    owner = await make_contact(session, admin)
    await make_property(session, admin, owner_contact_id=owner.id)
    assert (await client.delete(f"/api/v1/contacts/{owner.id}", headers=headers)).status_code == 204


def _name(contact: Contact) -> str:
    return contact.full_name


async def test_a_declared_task_link_is_the_only_kind_a_task_may_link_to(
    app: Any, client: Any, session: Any, admin: Any, headers: Any
) -> None:
    app.state.relations = Relations.from_features(
        (TaskLink("contact", "/contacts/{id}", _name, contact_repository.get_many),)
    )
    person = await make_contact(session, admin, first_name="Tia", last_name="Tasked")
    body = {"title": "Call back", "entity_type": "contact", "entity_id": person.id}
    r = await client.post("/api/v1/tasks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["link"] == {
        "entity_type": "contact",
        "entity_id": person.id,
        "label": "Ms Tia Tasked",
        "href": f"/contacts/{person.id}",
    }
    prop = await make_property(session, admin)
    body = {"title": "Inspect", "entity_type": "property", "entity_id": prop.id}
    r = await client.post("/api/v1/tasks", json=body, headers=headers)
    assert r.status_code == 422 and "Tasks can link to: contact" in r.text
    body = {"title": "Call", "entity_type": "contact", "entity_id": person.id + 1000}
    r = await client.post("/api/v1/tasks", json=body, headers=headers)
    assert r.status_code == 422 and "No such contact in your agency" in r.text


async def test_a_declared_section_is_built_and_empty_ones_are_left_out(
    session: AsyncSession, agency: Any
) -> None:
    async def shown(_s: AsyncSession, agency_id: int, on: date) -> ExtraSection:
        row = SectionRow(label=f"Agency {agency_id}", detail=f"{on:%d %b %Y}")
        return ExtraSection(key="shown", title="Shown", rows=[row], total=1)

    async def empty(_s: AsyncSession, _agency_id: int, _on: date) -> ExtraSection | None:
        return None

    wired = Relations.from_features((Section(empty), Section(shown)))
    built = await wired.build_sections(session, agency.id, date(2026, 6, 1))
    assert [(s.key, s.rows[0].detail) for s in built] == [("shown", "01 Jun 2026")]


async def test_refusal_reasons_read_as_the_owner_words_them(session: Any, admin: Any) -> None:
    prop = await make_property(session, admin)
    owner = await make_contact(session, admin)
    prop.owner_contact_id = owner.id
    await session.flush()
    wired = Relations.from_features(
        (Blocks.columns(Target.property, "owner", "owners", Property.id),), NEW_FEATURE
    )
    assert await wired.why_kept(Target.property, session, prop, counted="it has {} on record") == [
        "it has 1 owner on record"
    ]
    assert await wired.why_kept(Target.contact, session, owner) == ["1 owned property"]
    assert await wired.why_kept(Target.applicant, session, owner) == []


def test_a_task_link_name_is_declared_once() -> None:
    link = TaskLink("thing", "/things/{id}", str, contact_repository.get_many)
    with pytest.raises(ValueError, match="'thing'"):
        Relations.from_features((link,), (link,))


async def test_a_session_without_relations_says_how_to_get_them(
    session_factory: Any,
) -> None:
    async with session_factory() as bare:
        with pytest.raises(RuntimeError, match="session_scope"):
            relations.of(bare)


def test_the_entry_points_wire_every_features_declarations() -> None:
    wired = build_relations()
    links = {"property", "certificate", "tenancy", "sale", "maintenance_job"}
    assert set(wired.task_links) == links
    assert {m.key for m in wired.moves} == {
        "applicants",
        "viewings_attended",
        "properties_owned",
        "offers",
        "tenancies",
        "right_to_rent_checks",
        "sales",
        "maintenance_jobs",
    }
    assert {(b.to, b.many) for b in wired.blocks} >= {
        (Target.property, "offers"),
        (Target.applicant, "viewings"),
        (Target.contact, "right-to-rent checks"),
    }
    assert len(wired.guards) == 1 and len(wired.sections) == 2
    # Built from declarations, never from what importing a module left behind: building again
    # gives the same registry, not a longer one.
    again = build_relations()
    assert (
        len(again.blocks)
        == len(wired.blocks)
        == sum(isinstance(d, Blocks) for feature in FEATURE_RELATIONS for d in feature)
    )
