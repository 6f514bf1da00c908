"""Compliance at scale: time the dashboard's queries over a large agency.

    python bench/compliance.py                       # SQLite file under var/
    python bench/compliance.py --database-url postgresql://postgres@127.0.0.1:5432/estatecrm_bench
    python bench/compliance.py --properties 20000 --repeat 5

Builds a fresh schema (migrations), bulk-loads N properties with 4-5 certificates each (one
current per type, the rest history), then prints the median time of each query the API, the
dashboard and the cron report run.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from estatecrm.auth import service as auth_service
from estatecrm.cli.demo_data import build_properties
from estatecrm.compliance import rules
from estatecrm.compliance import service as compliance_service
from estatecrm.compliance.models import Certificate, CertificateType, ComplianceStatus
from estatecrm.compliance.schemas import CertificateFilters
from estatecrm.config import Settings
from estatecrm.db import relations
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.features import build_relations
from estatecrm.properties import repository as property_repository
from estatecrm.properties.models import Property
from estatecrm.properties.schemas import PropertyFilters

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere
from tests.services import migrate_to_head, prepare_postgres_database

ON = date(2026, 6, 1)


async def _load(url: str, count: int) -> tuple[int, int]:
    engine = create_engine(Settings(database_url=url))
    rng = random.Random(7)
    agency_id = 0
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            agency = await auth_service.ensure_agency(session, "Bench Lettings")
            agency_id = agency.id
            await session.execute(insert(Property), build_properties(rng, agency.id, count, [], []))
            props, _ = await property_repository.search(
                session, agency.id, PropertyFilters(), limit=count, offset=0
            )
            rows: list[dict[str, Any]] = []
            for p in props:
                for cert_type in CertificateType:
                    if rng.random() < 0.25:
                        continue
                    months = rules.VALIDITY_MONTHS[cert_type] or 60
                    expiry = ON + timedelta(days=rng.randint(-90, months * 30))
                    for history in (1, 0) if rng.random() < 0.3 else (0,):
                        end = rules.add_months(expiry, -months * history)
                        rows.append(
                            {
                                "agency_id": agency.id,
                                "property_id": p.id,
                                "type": cert_type,
                                "issued_date": rules.add_months(end, -months),
                                "expiry_date": end,
                                "expiry_derived": False,
                                "rating": "D" if cert_type == CertificateType.epc else None,
                                "notes": "",
                                "is_current": history == 0,
                            }
                        )
            for start in range(0, len(rows), 5000):
                await session.execute(insert(Certificate), rows[start : start + 5000])
        # Planner statistics, as a live database keeps them.
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
        return agency_id, len(rows)
    finally:
        await engine.dispose()


async def _time(
    url: str, name: str, fn: Callable[[Any], Awaitable[Any]], repeat: int
) -> tuple[str, float]:
    engine = create_engine(Settings(database_url=url))
    times = []
    try:
        for _ in range(repeat):
            async with create_sessionmaker(engine)() as session:
                relations.attach(session, build_relations())
                started = time.perf_counter()
                await fn(session)
                times.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return name, statistics.median(times)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default="sqlite:///var/bench-compliance.db")
    parser.add_argument("--properties", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    url = args.database_url
    if url.startswith("sqlite:///"):
        for suffix in ("", "-wal", "-shm"):
            await asyncio.to_thread(
                Path(url.removeprefix("sqlite:///") + suffix).unlink, missing_ok=True
            )
    else:
        problem = await prepare_postgres_database(url)
        if problem:
            raise SystemExit(problem)
    await asyncio.to_thread(migrate_to_head, url)
    started = time.perf_counter()
    agency_id, certs = await _load(url, args.properties)
    print(
        f"{url.split(':')[0]}: {args.properties} properties, {certs} certificates "
        f"loaded in {time.perf_counter() - started:.1f}s"
    )
    from estatecrm.compliance import repository

    expiring = CertificateFilters(status=ComplianceStatus.expiring, before=ON + timedelta(20))
    checks: list[tuple[str, Callable[[Any], Awaitable[Any]]]] = [
        (
            "GET /certificates?status=expiring&before= (page of 20 + total)",
            lambda s: repository.search(s, agency_id, expiring, ON, limit=20, offset=0),
        ),
        (
            "compliance items, first page (union incl. missing)",
            lambda s: compliance_service.items(s, agency_id, ON, limit=20),
        ),
        (
            "compliance items, expired only",
            lambda s: compliance_service.items(s, agency_id, ON, urgency="expired", limit=20),
        ),
        ("compliance summary (all counts)", lambda s: compliance_service.summary(s, agency_id, ON)),
        (
            "dashboard by property, first page",
            lambda s: compliance_service.by_property(s, agency_id, ON, limit=20, offset=0),
        ),
        (
            "cron report (every item)",
            lambda s: compliance_service.report(s, agency_id, "Bench", ON),
        ),
    ]
    for name, fn in checks:
        label, ms = await _time(url, name, fn, args.repeat)
        print(f"  {ms:8.1f} ms  {label}")


if __name__ == "__main__":
    asyncio.run(main())
