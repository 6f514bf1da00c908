"""Agency scoping by construction (db/scoping.py), and the guard the whole suite runs under."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from estatecrm.auth.models import User
from estatecrm.db import scoping
from estatecrm.db.scoping import UnscopedQuery
from estatecrm.properties.models import Property
from tests.builders import make_property, make_user


@pytest.fixture
async def two_agencies(session: AsyncSession, agency: Any, other_agency: Any) -> dict[str, Any]:
    """One property in each of two agencies."""
    ours = await make_user(session, agency, role="admin", email="us@agency.test")
    theirs = await make_user(session, other_agency, role="admin", email="them@rival.test")
    mine = await make_property(session, ours, address_line1="1 Our Road", bedrooms=2)
    rival = await make_property(session, theirs, address_line1="9 Their Road", bedrooms=2)
    await session.commit()
    return {"agency": agency.id, "other": other_agency.id, "mine": mine.id, "rival": rival.id}


@pytest.fixture
async def fresh(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session with no scope declared, as a request's is before the user is known."""
    async with session_factory() as s:
        yield s


async def test_a_bound_session_sees_only_its_agency_without_any_filter(
    fresh: AsyncSession, two_agencies: dict[str, Any]
) -> None:
    scoping.bind_agency(fresh, two_agencies["agency"])
    ids = set(await fresh.scalars(select(Property.id)))
    assert ids == {two_agencies["mine"]}
    assert await fresh.scalar(select(func.count()).select_from(Property)) == 1
    assert await fresh.get(Property, two_agencies["rival"]) is None
    # Aliases, joins and subqueries are scoped as well.
    other = aliased(Property)
    pairs = (
        await fresh.execute(
            select(Property.id, other.id).join(other, other.bedrooms == Property.bedrooms)
        )
    ).all()
    assert pairs == [(two_agencies["mine"], two_agencies["mine"])]
    inner = select(Property.id).where(Property.bedrooms == 2).scalar_subquery()
    assert await fresh.scalar(select(func.count(Property.id)).where(Property.id.in_(inner))) == 1
    # A FROM that only the WHERE clause implies names no entity, so the ORM cannot scope it;
    # the guard says so (the fix is to name the entity, as above).
    with pytest.raises(UnscopedQuery, match="without the agency criterion"):
        await fresh.scalar(select(func.count()).where(Property.id.in_(inner)))


async def test_updates_and_deletes_cannot_reach_another_agency(
    fresh: AsyncSession, session: AsyncSession, two_agencies: dict[str, Any]
) -> None:
    scoping.bind_agency(fresh, two_agencies["agency"])
    changed = await fresh.execute(update(Property).values(bedrooms=5))
    assert changed.rowcount == 1  # type: ignore[attr-defined]
    removed = await fresh.execute(delete(Property).where(Property.id == two_agencies["rival"]))
    assert removed.rowcount == 0  # type: ignore[attr-defined]
    await fresh.commit()
    rival = await session.scalar(
        select(Property.bedrooms).where(Property.id == two_agencies["rival"])
    )
    assert rival == 2


async def test_a_session_with_no_scope_refuses_agency_owned_queries(
    fresh: AsyncSession, two_agencies: dict[str, Any]
) -> None:
    for stmt in (
        select(Property),
        select(func.count()).select_from(Property),
        select(Property.__table__),
        update(Property).values(bedrooms=1),
    ):
        with pytest.raises(UnscopedQuery, match="no agency bound"):
            await fresh.execute(stmt)
    with pytest.raises(UnscopedQuery):
        await fresh.get(User, 1)


async def test_cross_agency_must_be_said_and_then_sees_every_agency(
    fresh: AsyncSession, two_agencies: dict[str, Any]
) -> None:
    marked = scoping.cross_agency(select(Property.id), "test: both agencies")
    assert set(await fresh.scalars(marked)) == {two_agencies["mine"], two_agencies["rival"]}
    with pytest.raises(ValueError, match="say why"):
        scoping.cross_agency(select(Property.id), " ")
    # A marked statement in a bound session crosses too (sign-in's e-mail lookup does).
    scoping.bind_agency(fresh, two_agencies["agency"])
    assert len(set(await fresh.scalars(marked))) == 2


async def test_as_agency_scopes_a_block_and_restores_the_session(
    session: AsyncSession, two_agencies: dict[str, Any]
) -> None:
    with scoping.as_agency(session, two_agencies["other"]):
        assert scoping.bound_agency(session) == two_agencies["other"]
        assert set(await session.scalars(select(Property.id))) == {two_agencies["rival"]}
    assert scoping.bound_agency(session) is None
    assert len(set(await session.scalars(select(Property.id)))) == 2  # cross-agency again


async def test_a_parameter_cannot_override_the_agency_criterion(
    fresh: AsyncSession, two_agencies: dict[str, Any]
) -> None:
    scoping.bind_agency(fresh, two_agencies["agency"])
    with pytest.raises(UnscopedQuery, match="parameter"):
        await fresh.execute(select(Property.id), {"agency_id_1": two_agencies["other"]})


async def test_the_guard_fails_a_deliberately_unscoped_query(
    fresh: AsyncSession, two_agencies: dict[str, Any]
) -> None:
    # Bound, so the ORM is content; but SQL the ORM cannot scope (text, Core tables) reaches
    # the cursor without the criterion, and the suite-wide guard fails it.
    scoping.bind_agency(fresh, two_agencies["agency"])
    # The unit of work's own UPDATE (by primary key, of a row loaded in scope) passes...
    mine = await fresh.get(Property, two_agencies["mine"])
    assert mine is not None
    mine.bedrooms = 4
    await fresh.flush()
    await fresh.flush()  # ...and a flush with nothing to do leaves the guard on.
    with pytest.raises(UnscopedQuery, match="without the agency criterion"):
        await fresh.execute(text("SELECT id FROM property"))
    with pytest.raises(UnscopedQuery, match="without the agency criterion"):
        await fresh.execute(select(Property.__table__.c.id))
    # Written with the criterion, or marked cross-agency, the same SQL passes.
    scoped = text("SELECT id FROM property WHERE property.agency_id = :a")
    assert set(await fresh.scalars(scoped, {"a": two_agencies["agency"]})) == {two_agencies["mine"]}
    marked = scoping.cross_agency(text("SELECT id FROM property"), "test: a report")
    assert len(set(await fresh.scalars(marked))) == 2


@pytest.mark.parametrize(
    ("sql", "missing"),
    [
        ("SELECT property.id FROM property", ["property"]),
        ("SELECT property.id FROM property WHERE property.agency_id = ?", []),
        ('SELECT "user".id FROM "user" WHERE "user".agency_id = $1::BIGINT', []),
        ('SELECT "user".id FROM "user", property AS p WHERE "user".agency_id = $1', ["p"]),
        (
            "SELECT p.id FROM property AS p JOIN offer ON offer.property_id = p.id "
            "WHERE p.agency_id = %(agency_id_1)s",
            ["offer"],
        ),
        (
            # Scoped outside but not in the subquery: each use of a table needs its criterion.
            "SELECT property.id FROM property WHERE property.agency_id = ? AND property.id IN "
            "(SELECT property.id FROM property)",
            ["property"],
        ),
        ("UPDATE contact SET phone=? WHERE contact.id = ?", ["contact"]),
        ("DELETE FROM task WHERE task.agency_id = ?", []),
        ("SELECT agency.id FROM agency", []),
        ("SELECT sli_minute.minute FROM sli_minute", []),
        ("INSERT INTO property (id) VALUES (?)", []),
        # A join condition between two tables is not the criterion.
        (
            "SELECT a.id FROM contact AS a JOIN contact AS b ON b.agency_id = a.agency_id "
            "WHERE a.agency_id = ?",
            ["b"],
        ),
    ],
)
def test_the_guard_reads_the_sql(sql: str, missing: list[str]) -> None:
    assert scoping.unscoped_tables(sql) == missing


def test_every_table_with_an_agency_id_is_agency_owned() -> None:
    from estatecrm.models import Model

    with_column = {t.name for t in Model.metadata.tables.values() if "agency_id" in t.c}
    assert scoping.agency_tables() == with_column
    assert {"property", "contact_role", "viewing_attendee", "user_account"} <= with_column
