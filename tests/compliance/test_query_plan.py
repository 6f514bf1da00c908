"""`?status=expiring&before=...` is answered by an index range scan, not by reading every row."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text

from estatecrm.compliance import repository
from estatecrm.compliance.models import ComplianceStatus
from estatecrm.compliance.schemas import CertificateFilters
from estatecrm.db import scoping

INDEX = "ix_certificate_agency_current_expiry"


async def _plan(session: Any, agency_id: int, filters: CertificateFilters) -> str:
    # Planned as the app runs it: with the agency criterion its session adds.
    query = repository.certificate_query(agency_id, filters, date(2026, 6, 1)).limit(20)
    stmt = scoping.scoped(query, agency_id)
    bind = session.get_bind()
    compiled = stmt.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
    if bind.dialect.name == "sqlite":
        rows = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        return "\n".join(str(r[-1]) for r in rows)
    # The test tables are tiny, so make the planner show whether the index can serve the query.
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    rows = await session.execute(text(f"EXPLAIN {compiled}"))
    return "\n".join(str(r[0]) for r in rows)


async def test_expiring_before_uses_the_expiry_index(session: Any, agency: Any) -> None:
    filters = CertificateFilters(status=ComplianceStatus.expiring, before=date(2026, 6, 20))
    plan = await _plan(session, agency.id, filters)
    assert INDEX in plan, plan
    assert "SCAN certificate" not in plan and "Seq Scan" not in plan, plan
    # Sorting by expiry comes straight from the index: no separate sort step.
    assert "TEMP B-TREE" not in plan and "Sort" not in plan.split(INDEX)[0], plan


async def test_expired_and_valid_use_it_too(session: Any, agency: Any) -> None:
    for status in (ComplianceStatus.expired, ComplianceStatus.valid):
        plan = await _plan(session, agency.id, CertificateFilters(status=status))
        assert INDEX in plan, (status, plan)
