"""What the session's agency criterion costs per statement (db/scoping.py), before vs. after.

Runs the same statements through one SQLite file database in three ways, alternating rounds
so all three see the same machine conditions, and prints the median CPU time per statement
(process time, so other work on a shared machine disturbs it less than wall time):

- before: the scoping listener removed (as the code was, with the filter written by hand);
- crossing: a session marked cross-agency (the listener runs, adds nothing);
- bound: a session bound to an agency (the listener adds the criterion).

    python bench/scoping_cost.py [--rounds 7] [--statements 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from estatecrm import models
from estatecrm.applicants.models import Applicant
from estatecrm.auth.models import Agency
from estatecrm.config import Settings
from estatecrm.contacts.models import Contact
from estatecrm.db import scoping
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.properties.models import Property


async def _seed(factory: Any) -> int:
    async with factory() as session:
        scoping.cross_agency_session(session, "bench: seeding")
        agency = Agency(name="Bench")
        session.add(agency)
        await session.flush()
        session.add_all(
            Property(
                agency_id=agency.id,
                reference=f"B-{n}",
                address_line1=f"{n} Bench Road",
                city="Southampton",
                postcode="SO15 2EZ",
                postcode_district="SO15",
                property_type="flat",
                bedrooms=2,
                bathrooms=1,
                marketing_type="letting",
                status="available",
                price_pence=100_000 + n,
            )
            for n in range(50)
        )
        await session.commit()
        return int(agency.id)


def _statements(agency_id: int, by_hand: bool) -> list[Any]:
    where = [Property.agency_id == agency_id] if by_hand else []
    joined = [Applicant.agency_id == agency_id] if by_hand else []
    return [
        select(Property).where(*where, Property.id == 1),  # a get by id
        select(Property.id, Property.reference).where(*where).order_by(Property.id).limit(20),
        select(func.count()).select_from(Property).where(*where),
        select(Applicant.id, Contact.last_name)  # a join of two agency-owned tables
        .join(Contact, Contact.id == Applicant.contact_id)
        .where(*joined)
        .limit(20),
    ]


async def _time(factory: Any, mode: str, agency_id: int, n: int) -> float:
    async with factory() as session:
        if mode == "bound":
            scoping.bind_agency(session, agency_id)
        elif mode == "crossing":
            scoping.cross_agency_session(session, "bench")
        statements = _statements(agency_id, by_hand=mode == "before")
        for stmt in statements * 50:  # warm the compiled cache
            (await session.execute(stmt)).all()
        start = time.process_time()
        for i in range(n):
            (await session.execute(statements[i % len(statements)])).all()
        return (time.process_time() - start) / n * 1e6


async def main(rounds: int, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(Settings(environment="staging", database_url=url))
        async with engine.begin() as conn:
            await conn.run_sync(models.Model.metadata.create_all)
        factory = create_sessionmaker(engine)
        agency_id = await _seed(factory)
        results: dict[str, list[float]] = {"before": [], "crossing": [], "bound": []}
        for _ in range(rounds):
            for mode in results:
                listening = event.contains(Session, "do_orm_execute", scoping._scope)
                if mode == "before" and listening:
                    event.remove(Session, "do_orm_execute", scoping._scope)
                elif mode != "before" and not listening:
                    event.listen(Session, "do_orm_execute", scoping._scope)
                results[mode].append(await _time(factory, mode, agency_id, n))
        await engine.dispose()
    base = statistics.median(results["before"])
    for mode, values in results.items():
        median = statistics.median(values)
        print(f"{mode:9s} {median:7.1f} µs CPU/statement  ({median - base:+6.1f} µs vs before)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--statements", type=int, default=2000)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.statements))
