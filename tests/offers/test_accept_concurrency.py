"""Two people accepting different offers on one property at the same moment: one wins.

PostgreSQL only, with real connections and transactions: the accept locks the property row
(`SELECT ... FOR UPDATE`), so the second waits, then finds the property let agreed → 409.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import select

from estatecrm.auth import repository as auth_repository
from estatecrm.config import Settings
from estatecrm.db import scoping
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.errors import Conflict
from estatecrm.offers import service as offer_service
from estatecrm.offers.models import Offer, OfferStatus
from estatecrm.offers.schemas import OfferCreate
from estatecrm.properties.models import Property, PropertyStatus
from tests.builders import make_agency, make_applicant, make_contact, make_property, make_user
from tests.services import (
    migrate_to_head,
    postgres_url,
    prepare_postgres_database,
    require_or_skip,
    run_coroutine,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def scratch_url() -> str:
    """A PostgreSQL database whose commits other connections see."""
    url = postgres_url(f"offers_race_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    problem = run_coroutine(prepare_postgres_database(url))
    if problem:
        require_or_skip("PostgreSQL", problem)
    migrate_to_head(url)
    return url


def test_two_simultaneous_accepts_exactly_one_wins(scratch_url: str) -> None:
    async def body() -> tuple[list[str], list[OfferStatus], PropertyStatus]:
        engine = create_engine(Settings(database_url=scratch_url))
        factory = create_sessionmaker(engine)
        try:
            async with factory() as session, session.begin():
                agency = await make_agency(session, "Racing Lets")
                scoping.bind_agency(session, agency.id)
                admin = await make_user(session, agency, role="admin")
                prop = await make_property(session, admin, price_pence=120_000)
                offer_ids = []
                for name in ("Ann", "Bob"):
                    contact = await make_contact(session, admin, first_name=name)
                    applicant = await make_applicant(session, admin, contact)
                    offer = await offer_service.create(
                        session,
                        admin,
                        OfferCreate(
                            property_id=prop.id, applicant_id=applicant.id, amount_pence=115_000
                        ),
                    )
                    offer_ids.append(offer.id)
                admin_id, agency_id, prop_id = admin.id, agency.id, prop.id

            started = asyncio.Event()
            waiting = 0

            async def accept(offer_id: int) -> str:
                nonlocal waiting
                async with factory() as session, session.begin():
                    scoping.bind_agency(session, agency_id)  # as CurrentUser does
                    user = await auth_repository.get_user(session, agency_id, admin_id)
                    assert user is not None
                    waiting += 1
                    if waiting == 2:
                        started.set()
                    await started.wait()
                    try:
                        await offer_service.accept(session, user, offer_id)
                    except Conflict as exc:
                        return f"409 {exc.message}"
                    # Hold the lock a moment so the other really waits on it.
                    await asyncio.sleep(0.2)
                    return "200"

            results = await asyncio.gather(*(accept(i) for i in offer_ids))
            async with factory() as session:
                scoping.bind_agency(session, agency_id)
                statuses = list(
                    await session.scalars(
                        select(Offer.status).where(Offer.id.in_(offer_ids)).order_by(Offer.id)
                    )
                )
                prop_status = await session.scalar(
                    select(Property.status).where(Property.id == prop_id)
                )
                assert prop_status is not None
            return list(results), statuses, prop_status
        finally:
            await engine.dispose()

    results, statuses, prop_status = run_coroutine(body())
    assert sorted(r[:3] for r in results) == ["200", "409"]
    assert sorted(statuses) == sorted([OfferStatus.accepted, OfferStatus.rejected])
    assert prop_status == PropertyStatus.let_agreed
