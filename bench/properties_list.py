"""Properties register at scale: bulk-seed N properties, then time list/filter/count/detail.

    .venv/bin/python bench/properties_list.py --n 100000 --db both

Prints seeding time and p50/p95 of sequential HTTP requests through one uvicorn worker.
Targets at 100,000 properties on PostgreSQL: filtered list p95 < 25 ms, detail p95 < 10 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

import httpx
from common import print_table, scratch_url, served, time_requests
from sqlalchemy import insert, text

from estatecrm.auth import service as auth_service
from estatecrm.auth.models import Role
from estatecrm.cli.demo_data import build_properties
from estatecrm.config import Settings
from estatecrm.db.session import create_engine, create_sessionmaker
from estatecrm.properties.models import Property

PASSWORD = "bench-password-123"
BATCH = 5_000


async def seed(url: str, n: int) -> tuple[float, list[int]]:
    """Create an agency, a user and n properties in batches; seconds taken and the ids."""
    engine = create_engine(Settings(database_url=url))
    factory = create_sessionmaker(engine)
    try:
        async with factory() as session, session.begin():
            agency = await auth_service.ensure_agency(session, "Bench Agency")
            office = await auth_service.ensure_office(session, agency, "HQ")
            user = await auth_service.create_user(
                session, agency, email="bench@bench.test", password=PASSWORD, role=Role.admin
            )
            agency_id, office_id, user_id = agency.id, office.id, user.id
            # A second agency with its own stock, so tenant filtering is exercised too.
            rival = await auth_service.ensure_agency(session, "Rival Bench Agency")
            rival_id = rival.id
        rng = random.Random(7)
        start = time.perf_counter()
        async with engine.begin() as conn:
            for offset in range(0, n, BATCH):
                rows = build_properties(
                    rng, agency_id, min(BATCH, n - offset), [office_id], [user_id]
                )
                for i, row in enumerate(rows):
                    row["reference"] = f"B{offset + i}"
                await conn.execute(insert(Property), rows)
            rival_rows = build_properties(rng, rival_id, min(n // 10, 10_000), [], [])
            for i, row in enumerate(rival_rows):
                row["reference"] = f"R{i}"
            await conn.execute(insert(Property), rival_rows)
        seconds = time.perf_counter() - start
        # What autovacuum does after a bulk load: statistics for the planner and, on
        # PostgreSQL, the visibility map that lets counts be answered from an index alone.
        if engine.dialect.name == "postgresql":
            async with engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                await conn.execute(text("VACUUM ANALYZE property"))
        else:
            async with engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        async with engine.connect() as conn:
            ids = [
                r[0]
                for r in await conn.execute(
                    text("SELECT id FROM property WHERE agency_id = :a"), {"a": agency_id}
                )
            ]
        return seconds, ids
    finally:
        await engine.dispose()


def run(kind: str, n: int, requests: int) -> None:
    url = scratch_url(kind, "properties")
    seconds, ids = asyncio.run(seed(url, n))
    print(
        f"\n[{kind}] seeded {n:,} properties (+{min(n // 10, 10_000):,} for a second agency) "
        f"in {seconds:.1f} s ({n / seconds:,.0f} rows/s)"
    )
    rng = random.Random(11)
    with served(url) as base, httpx.Client(base_url=base, timeout=30) as client:
        token = client.post(
            "/api/v1/auth/token", json={"email": "bench@bench.test", "password": PASSWORD}
        ).json()
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        towns = ["Southampton", "Bristol", "Leeds", "Oxford", "Manchester", "Cardiff"]
        results: list[tuple[str, dict[str, Any]]] = [
            (
                "list (newest first, page 1)",
                time_requests(client, lambda i: "/api/v1/properties?limit=20", requests),
            ),
            (
                "list page 50 (offset 980)",
                time_requests(client, lambda i: "/api/v1/properties?limit=20&offset=980", requests),
            ),
            (
                "filtered list (city+status+beds)",
                time_requests(
                    client,
                    lambda i: (
                        f"/api/v1/properties?city={towns[i % len(towns)]}"
                        "&status=available&min_bedrooms=2&limit=20"
                    ),
                    requests,
                ),
            ),
            (
                "filtered list (district+type+price)",
                time_requests(
                    client,
                    lambda i: (
                        "/api/v1/properties?postcode=SO15&marketing_type=letting"
                        "&max_price_pence=200000&sort=price_pence"
                    ),
                    requests,
                ),
            ),
            (
                "count only (limit=1, total)",
                time_requests(
                    client, lambda i: "/api/v1/properties?limit=1&status=available", requests
                ),
            ),
            (
                "detail",
                time_requests(client, lambda i: f"/api/v1/properties/{rng.choice(ids)}", requests),
            ),
        ]
    print_table(
        f"[{kind}] {n:,} properties, {requests} sequential requests each, one worker", results
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for kind in kinds:
        run(kind, args.n, args.requests)


if __name__ == "__main__":
    main()
