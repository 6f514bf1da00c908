"""Matching at scale: p50/p95 of both directions through HTTP on PostgreSQL.

Seeds a scratch database (default `estatecrm_bench`) with one agency holding 100,000
properties and 50,000 applicants (batched inserts), serves the app with one uvicorn worker,
and times `GET /api/v1/properties/{id}/matches` and `GET /api/v1/applicants/{id}/matches`.

    .venv/bin/python bench/matching.py                 # seed (if needed) and measure
    .venv/bin/python bench/matching.py --reseed        # start from an empty database
    .venv/bin/python bench/matching.py --explain       # also print both query plans

Target: p95 under 100 ms in both directions.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, func, insert, select, text  # noqa: E402
from tests.services import migrate_to_head, prepare_postgres_database  # noqa: E402

from estatecrm.applicants import repository as applicant_repository  # noqa: E402
from estatecrm.applicants.models import (  # noqa: E402
    Applicant,
    ApplicantArea,
    ApplicantStatus,
    MustHave,
    must_haves_to_mask,
    types_to_mask,
)
from estatecrm.auth import service as auth_service  # noqa: E402
from estatecrm.auth.models import Agency, Role  # noqa: E402
from estatecrm.cli.demo_data import build_properties  # noqa: E402
from estatecrm.config import Settings  # noqa: E402
from estatecrm.contacts.models import Contact  # noqa: E402
from estatecrm.db.session import create_engine, create_sessionmaker  # noqa: E402
from estatecrm.kit.clock import today_london, utcnow  # noqa: E402
from estatecrm.properties.models import MarketingType, Property, PropertyStatus  # noqa: E402

AGENCY = "Bench Lettings & Sales"
EMAIL = "bench@bench.test"
PASSWORD = "bench-password-long"
BATCH = 5_000
FIRST = ["Olivia", "Amelia", "Isla", "Ava", "Priya", "Noah", "Jack", "Leo", "Kwame", "Aran"]
LAST = ["Smith", "Jones", "Taylor", "Patel", "Okafor", "Nguyen", "Evans", "Khan", "Reid", "Hall"]


def default_url() -> str:
    base = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/estatecrm_test"
    )
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/estatecrm_bench"))


async def _counts(url: str) -> tuple[int, int]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            agency = await conn.scalar(select(Agency.id).where(Agency.name == AGENCY))
            if agency is None:
                return 0, 0
            props = await conn.scalar(
                select(func.count(Property.id)).where(Property.agency_id == agency)
            )
            apps = await conn.scalar(
                select(func.count(Applicant.id)).where(Applicant.agency_id == agency)
            )
            return int(props or 0), int(apps or 0)
    except Exception:  # an empty database has no tables yet
        return 0, 0
    finally:
        await engine.dispose()


def _requirements(rng: random.Random, prop: dict[str, Any], towns: dict[str, list[str]]) -> dict:
    letting = prop["marketing_type"] == MarketingType.letting
    step = 5_000 if letting else 2_500_000
    top = prop["price_pence"] + rng.randint(-2, 4) * step
    areas = [prop["postcode_district"]]
    siblings = towns[prop["city"]]
    if rng.random() < 0.5:
        areas.append(rng.choice(siblings))
    if rng.random() < 0.15:
        areas.append(prop["city"])
    types = [prop["property_type"]] if rng.random() < 0.6 else []
    must = rng.sample(list(MustHave)[:10], k=rng.choice([0, 0, 1, 1, 2]))
    areas = list(dict.fromkeys(areas))
    return {
        "marketing_type": prop["marketing_type"],
        "min_price_pence": max(step, top - 6 * step) if rng.random() < 0.5 else None,
        "max_price_pence": max(step, top) if rng.random() < 0.95 else None,
        "min_bedrooms": max(0, prop["bedrooms"] - rng.randint(0, 1)),
        "max_bedrooms": prop["bedrooms"] + 1 if rng.random() < 0.3 else None,
        "property_types_mask": types_to_mask(types),
        "must_haves_mask": must_haves_to_mask(must),
        "areas": areas,
        "area_count": len(areas),
        "move_by_date": today_london() + timedelta(days=rng.randint(10, 200))
        if rng.random() < 0.5
        else None,
        "status": rng.choices(list(ApplicantStatus), weights=[3, 5, 3, 2])[0],
    }


async def seed(url: str, n_properties: int, n_applicants: int) -> None:
    """An agency with n properties and n applicants (each with a contact), in batches."""
    rng = random.Random(7)
    engine = create_engine(Settings(database_url=url))
    sessions = create_sessionmaker(engine)
    started = time.perf_counter()
    async with sessions() as session, session.begin():
        agency = await auth_service.ensure_agency(session, AGENCY)
        user = await auth_service.create_user(
            session, agency, email=EMAIL, password=PASSWORD, role=Role.admin, full_name="Bench"
        )
        agency_id, user_id = agency.id, user.id
    props = build_properties(rng, agency_id, n_properties, [], [user_id])
    towns: dict[str, list[str]] = {}
    for p in props:
        towns.setdefault(p["city"], [])
        if p["postcode_district"] not in towns[p["city"]]:
            towns[p["city"]].append(p["postcode_district"])
    for i in range(0, len(props), BATCH):
        async with sessions() as session, session.begin():
            await session.execute(insert(Property), props[i : i + BATCH])
    print(f"  {len(props):,} properties in {time.perf_counter() - started:.0f} s", flush=True)
    now = utcnow()
    done = 0
    while done < n_applicants:
        size = min(BATCH, n_applicants - done)
        contacts = []
        for k in range(size):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            n = done + k
            contacts.append(
                {
                    "agency_id": agency_id,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first}.{last}.{n}@example.com".lower(),
                    "phone": None,
                    "notes": "",
                    "marketing_consent": False,
                    "id_check_status": "not_started",
                    "name_key": f"{first} {last}".lower(),
                    "search_text": f"{first} {last} {first}.{last}.{n}@example.com".lower(),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        async with sessions() as session, session.begin():
            ids = list(await session.scalars(insert(Contact).returning(Contact.id), contacts))
            rows = []
            for contact_id in ids:
                req = _requirements(rng, rng.choice(props), towns)
                rows.append(
                    {
                        "agency_id": agency_id,
                        "contact_id": contact_id,
                        "negotiator_id": user_id,
                        "notes": "",
                        "created_at": now,
                        "updated_at": now,
                        **req,
                    }
                )
            applicant_ids = list(
                await session.scalars(insert(Applicant).returning(Applicant.id), rows)
            )
            areas = [
                {"agency_id": agency_id, "applicant_id": aid, "area_key": a.lower()}
                for aid, row in zip(applicant_ids, rows, strict=True)
                for a in row["areas"]
            ]
            await session.execute(insert(ApplicantArea), areas)
        done += size
    print(f"  {done:,} applicants in {time.perf_counter() - started:.0f} s", flush=True)
    async with engine.connect() as conn:
        await conn.execute(text("COMMIT"))
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()


async def samples(url: str, count: int) -> tuple[list[int], list[int]]:
    """Random available properties and live applicants to ask about."""
    engine = create_engine(Settings(database_url=url))
    rng = random.Random(11)
    try:
        async with engine.connect() as conn:
            agency = await conn.scalar(select(Agency.id).where(Agency.name == AGENCY))
            props = list(
                await conn.scalars(
                    select(Property.id).where(
                        Property.agency_id == agency, Property.status == PropertyStatus.available
                    )
                )
            )
            apps = list(
                await conn.scalars(
                    select(Applicant.id).where(
                        Applicant.agency_id == agency,
                        Applicant.status != ApplicantStatus.archived,
                    )
                )
            )
    finally:
        await engine.dispose()
    return rng.sample(props, count), rng.sample(apps, count)


async def explain(url: str, property_id: int, applicant_id: int) -> None:
    """Print the plan (EXPLAIN ANALYZE) of both matching queries for one sample each."""
    engine = create_engine(Settings(database_url=url))
    sessions = create_sessionmaker(engine)
    captured: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "score" in statement:
            captured.append((statement, params))

    async with sessions() as session:
        prop = await session.get(Property, property_id)
        applicant = await session.get(Applicant, applicant_id)
        assert prop is not None and applicant is not None
        event.listen(engine.sync_engine, "before_cursor_execute", grab)
        await applicant_repository.match_applicants(session, prop, limit=20, offset=0)
        keys = [a.lower() for a in applicant.areas]
        await applicant_repository.match_properties(session, applicant, keys, limit=20, offset=0)
        event.remove(engine.sync_engine, "before_cursor_execute", grab)
        conn = await session.connection()
        for title, (statement, params) in zip(
            ("property -> applicants", "applicant -> properties"), captured, strict=True
        ):
            print(f"\n--- {title} ---")
            rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            for (line,) in rows:
                print(line)
    await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def measure(
    base: str, token: str, paths: list[str], *, total: bool = True
) -> tuple[list[float], list[int]]:
    timings: list[float] = []
    totals: list[int] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for path in paths[:20]:  # warm up connections and caches
            client.get(path).raise_for_status()
        for path in paths:
            started = time.perf_counter()
            r = client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            r.raise_for_status()
            if total:
                totals.append(r.json()["total"])
    return timings, totals


def report(title: str, timings: list[float], totals: list[int]) -> None:
    matches = (
        f"  (median {statistics.median(totals):.0f} matches, max {max(totals)})"
        if any(totals)
        else ""
    )
    print(
        f"{title:<24} n={len(timings)}  p50 {statistics.median(timings):6.1f} ms  "
        f"p95 {percentile(timings, 95):6.1f} ms  p99 {percentile(timings, 99):6.1f} ms  "
        f"max {max(timings):6.1f} ms{matches}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=default_url())
    parser.add_argument("--properties", type=int, default=100_000)
    parser.add_argument("--applicants", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=300, help="per direction")
    parser.add_argument("--reseed", action="store_true", help="drop and seed again")
    parser.add_argument("--explain", action="store_true", help="print both query plans")
    args = parser.parse_args()
    url = args.database_url
    print(f"database: {url}")
    have = (0, 0) if args.reseed else asyncio.run(_counts(url))
    if have != (args.properties, args.applicants):
        print("seeding (batched inserts)...", flush=True)
        problem = asyncio.run(prepare_postgres_database(url))
        if problem:
            sys.exit(f"PostgreSQL is not available: {problem}")
        migrate_to_head(url)
        asyncio.run(seed(url, args.properties, args.applicants))
    else:
        print(f"reusing {have[0]:,} properties and {have[1]:,} applicants")
    prop_ids, app_ids = asyncio.run(samples(url, args.requests))
    if args.explain:
        asyncio.run(explain(url, prop_ids[0], app_ids[0]))

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ENABLED": "false",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "estatecrm.main:app",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/login", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    sys.exit("server did not start")
                time.sleep(0.2)
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={"email": EMAIL, "password": PASSWORD}
        ).json()["access_token"]
        print(f"one uvicorn worker, {args.requests} requests per direction, 20 results a page")
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        t, n = measure(base, token, [f"/api/v1/properties/{i}/matches" for i in prop_ids])
        report("property → applicants", t, n)
        t, n = measure(base, token, [f"/api/v1/applicants/{i}/matches" for i in app_ids])
        report("applicant → properties", t, n)
        # The floor on this machine right now: one row by id, same auth and JSON path.
        t, _ = measure(base, token, [f"/api/v1/properties/{i}" for i in prop_ids], total=False)
        report("baseline GET property", t, [0])
        print(f"load average after:  {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
