"""Business rules of compliance: certificates, their renewal tasks, and what a letting needs.

Other features call `lettable_problems` (tenancy activation) and declare sections in their
relations.py (deposits past their protection deadline, right-to-rent follow-ups) so the
dashboard and the report show their overdue duties beside the certificates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from estatecrm.activity import service as activity
from estatecrm.auth import service as auth_service
from estatecrm.auth.models import Agency, User
from estatecrm.compliance import repository, rules
from estatecrm.compliance.models import Certificate, CertificateType, ComplianceStatus
from estatecrm.compliance.schemas import (
    CertificateCreate,
    CertificateFilters,
    CertificateRead,
    CertificateUpdate,
    ComplianceItem,
    ComplianceSummary,
    EpcProblem,
    PropertyComplianceRead,
    RequirementRead,
)
from estatecrm.db import relations
from estatecrm.db.relations import ExtraSection, Target
from estatecrm.errors import Conflict, NotFound, ValidationFailed, update_values
from estatecrm.kit.clock import today_london, utcnow
from estatecrm.properties import service as property_service
from estatecrm.properties.models import MarketingType, Property
from estatecrm.tasks import service as task_service
from estatecrm.tasks.models import TaskPriority

ENTITY = "certificate"
TRACKED = [
    "type",
    "issued_date",
    "expiry_date",
    "expiry_derived",
    "reference",
    "rating",
    "exemption_reference",
    "exemption_expiry_date",
    "document_url",
    "notes",
]
READ_FIELDS = [
    "id",
    "property_id",
    "is_current",
    "created_at",
    "updated_at",
    *TRACKED,
]
URGENCIES = ("expired", "due_7", "due_30", "missing")
URGENCY_TITLES = {
    "expired": "Expired",
    "due_7": "Expiring within 7 days",
    "due_30": "Expiring within 30 days",
    "missing": "Missing",
}
# Legal duties whose renewal tasks start as high priority.
HIGH_PRIORITY = (CertificateType.gas_safety, CertificateType.eicr, CertificateType.hmo_licence)


# --- reading ------------------------------------------------------------------------------


def to_read(cert: Certificate, on_date: date) -> CertificateRead:
    """A certificate for the API, with its status on `on_date`."""
    values: dict[str, Any] = {name: getattr(cert, name) for name in READ_FIELDS}
    values["status"] = rules.status_on(cert.expiry_date, on_date)
    values["days_to_expiry"] = (cert.expiry_date - on_date).days
    return CertificateRead.model_validate(values)


def _snapshot(cert: Certificate) -> dict[str, Any]:
    return {name: getattr(cert, name) for name in TRACKED}


def _address(prop: Property) -> str:
    return f"{prop.address_line1}, {prop.city} {prop.postcode}"


async def get(session: AsyncSession, user: User, certificate_id: int) -> Certificate:
    """A certificate of the user's agency; 404 when missing or foreign."""
    cert = await repository.get(session, user.agency_id, certificate_id)
    if cert is None:
        raise NotFound("Certificate not found")
    return cert


async def property_of(session: AsyncSession, user: User, cert: Certificate) -> Property:
    """The property a certificate belongs to."""
    prop = await property_service.find(session, user.agency_id, cert.property_id)
    if prop is None:  # pragma: no cover - the foreign key cascades deletes
        raise NotFound("Property not found")
    return prop


async def property_by_reference(session: AsyncSession, user: User, reference: str) -> Property:
    """The agency's property with this reference; 422 naming `property_reference` otherwise."""
    prop = await property_service.get_by_reference(session, user.agency_id, reference)
    if prop is None:
        raise ValidationFailed(
            "property_reference", f"No property with reference {reference.strip()!r} in your agency"
        )
    return prop


async def search(
    session: AsyncSession, user: User, filters: CertificateFilters, *, limit: int, offset: int
) -> tuple[Sequence[Certificate], int, date]:
    """A page of certificates, the total, and the date their statuses are judged on."""
    on_date = filters.date or today_london()
    rows, total = await repository.search(
        session, user.agency_id, filters, on_date, limit=limit, offset=offset
    )
    return rows, total, on_date


async def for_property(
    session: AsyncSession, user: User, property_id: int, *, limit: int, offset: int
) -> tuple[Sequence[Certificate], int]:
    """A property's certificates, current first, history included; 404 for a foreign one."""
    await property_service.get(session, user, property_id)
    return await repository.for_property(
        session, user.agency_id, property_id, limit=limit, offset=offset
    )


# --- rules on one certificate -------------------------------------------------------------


def _check(values: dict[str, Any], today: date) -> None:
    """The cross-field rules; each failure is a 422 naming the field to correct."""
    cert_type = CertificateType(values["type"])
    issued: date = values["issued_date"]
    if issued > today:
        raise ValidationFailed("issued_date", "The issue date cannot be in the future")
    if values.get("expiry_date") is None:
        derived = rules.derived_expiry(cert_type, issued)
        if derived is None:
            raise ValidationFailed(
                "expiry_date",
                f"An {rules.label(cert_type)} has no standard term: "
                "enter the expiry date the council set",
            )
        values["expiry_date"] = derived
        values["expiry_derived"] = True
    else:
        values["expiry_derived"] = False
    if values["expiry_date"] <= issued:
        raise ValidationFailed("expiry_date", "The expiry date must be after the issue date")
    rating = values.get("rating")
    if cert_type == CertificateType.epc:
        if rating is None:
            raise ValidationFailed("rating", "An EPC needs its energy rating (A to G)")
    elif rating is not None:
        raise ValidationFailed("rating", "Only an EPC has an energy rating")
    if values.get("exemption_reference") is None and values.get("exemption_expiry_date"):
        raise ValidationFailed("exemption_reference", "Enter the PRS Exemptions Register reference")
    if values.get("exemption_reference") is not None and (
        cert_type != CertificateType.epc or rules.epc_meets_minimum(rating)
    ):
        raise ValidationFailed(
            "exemption_reference",
            "A PRS exemption is only recorded for an EPC rated below E (F or G)",
        )


async def _check_duplicate(
    session: AsyncSession, agency_id: int, values: dict[str, Any], exclude_id: int | None = None
) -> None:
    for other in await repository.of_property_type(
        session, agency_id, values["property_id"], CertificateType(values["type"])
    ):
        if (
            other.id != exclude_id
            and other.issued_date == values["issued_date"]
            and other.expiry_date == values["expiry_date"]
        ):
            raise Conflict(
                f"This {rules.label(other.type).lower()} is already recorded "
                f"(certificate #{other.id})",
                field="issued_date",
            )


def renewal_key(property_id: int, cert_type: CertificateType) -> str:
    """The rule key of a property's renewal task for one certificate type."""
    return f"certificate-renewal:{property_id}:{cert_type.value}"


async def _refresh(
    session: AsyncSession, user: User | None, prop: Property, cert_type: CertificateType
) -> Certificate | None:
    """Re-pick the current certificate of a type and bring its renewal task in line."""
    agency_id = prop.agency_id
    actor = user.id if user else None
    certs = await repository.of_property_type(session, agency_id, prop.id, cert_type)
    current = max(certs, key=lambda c: (c.expiry_date, c.issued_date, c.id)) if certs else None
    for c in certs:
        c.is_current = c is current
    await session.flush()
    key = renewal_key(prop.id, cert_type)
    open_task = await task_service.open_rule_task(session, agency_id, key)
    linked = next((c for c in certs if open_task and c.id == open_task.entity_id), None)
    if current is not None and linked is not None and current.expiry_date > linked.expiry_date:
        # A newer certificate is the renewal the open task asked for.
        await task_service.complete_rule_task(
            session,
            agency_id=agency_id,
            rule_key=key,
            reason=f"renewed by certificate #{current.id} (expires {current.expiry_date:%d %b %Y})",
            actor_user_id=actor,
        )
    if current is None:
        await task_service.cancel_rule_task(
            session,
            agency_id=agency_id,
            rule_key=key,
            reason=f"no {rules.label(cert_type).lower()} left on record",
            actor_user_id=actor,
        )
    else:
        await task_service.ensure_task(
            session,
            agency_id=agency_id,
            rule_key=key,
            title=f"Renew {rules.label(cert_type).lower()}: {prop.address_line1}, {prop.postcode}",
            due_date=rules.renewal_due(current.expiry_date),
            # The property's negotiator acts; with none, whoever recorded the certificate.
            assignee_id=prop.negotiator_id or actor,
            entity_type=ENTITY,
            entity_id=current.id,
            description=(
                f"The {rules.label(cert_type).lower()} of {_address(prop)} expires on "
                f"{current.expiry_date:%d %b %Y}. Book the renewal and record the new "
                "certificate; this task then closes itself."
            ),
            priority=TaskPriority.high if cert_type in HIGH_PRIORITY else TaskPriority.normal,
            actor_user_id=actor,
        )
    if cert_type == CertificateType.epc and current is not None:
        await property_service.set_epc_rating(
            session, user, prop, current.rating, f"current EPC #{current.id}"
        )
    return current


# --- changing certificates ----------------------------------------------------------------


async def create(
    session: AsyncSession, user: User, data: CertificateCreate, *, today: date | None = None
) -> Certificate:
    """Record a certificate; its expiry comes from the type's rule when not given."""
    prop = await property_service.find(session, user.agency_id, data.property_id)
    if prop is None:
        raise ValidationFailed("property_id", "No such property in your agency")
    values = data.model_dump()
    _check(values, today or today_london())
    await _check_duplicate(session, user.agency_id, values)
    cert = Certificate(agency_id=user.agency_id, created_by_id=user.id, **values)
    await repository.add(session, cert)
    await _refresh(session, user, prop, cert.type)
    name = rules.label(cert.type)
    summary = (
        f"Recorded {name.lower()} for {_address(prop)}, expires "
        f"{cert.expiry_date:%d %b %Y}" + (" (from the type's rule)" if cert.expiry_derived else "")
    )
    await activity.log(session, user, cert, "created", summary, activity.diff({}, _snapshot(cert)))
    summary = f"{name} recorded, expires {cert.expiry_date:%d %b %Y}"
    await activity.log(session, user, prop, "certificate_added", summary)
    return cert


async def update(
    session: AsyncSession,
    user: User,
    certificate_id: int,
    data: CertificateUpdate,
    *,
    today: date | None = None,
) -> Certificate:
    """Change a certificate; clearing `expiry_date` (or changing the issue date of one whose
    expiry was derived) derives it again from the type's rule."""
    cert = await get(session, user, certificate_id)
    prop = await property_of(session, user, cert)
    before = _snapshot(cert)
    old_type = cert.type
    given = update_values(data, ("type", "issued_date", "notes"))
    values = {**_snapshot(cert), "property_id": cert.property_id, **given}
    if (
        "expiry_date" not in given
        and cert.expiry_derived
        and ("issued_date" in given or "type" in given)
    ):
        values["expiry_date"] = None
    _check(values, today or today_london())
    await _check_duplicate(session, user.agency_id, values, exclude_id=cert.id)
    values.pop("property_id")
    for key, value in values.items():
        setattr(cert, key, value)
    cert.updated_at = utcnow()
    await session.flush()
    await _refresh(session, user, prop, cert.type)
    if old_type != cert.type:
        await _refresh(session, user, prop, old_type)
    changes = activity.diff(before, _snapshot(cert))
    if changes:
        await activity.log(
            session, user, cert, "updated", f"Changed {', '.join(sorted(changes))}", changes
        )
    return cert


async def delete(session: AsyncSession, user: User, certificate_id: int) -> Property:
    """Remove a certificate recorded in error (managers and admins); returns its property.

    Refused (409 with the reasons) once it is part of a legal record — a tenancy ran on it.
    """
    cert = await get(session, user, certificate_id)
    # A certificate some other record relied on (a tenancy ran on it) is corrected, not deleted.
    reasons = await relations.of(session).why_kept(Target.certificate, session, cert)
    if reasons:
        raise Conflict(
            f"This certificate cannot be deleted: {'; '.join(reasons)}. "
            "Correct it with Edit instead.",
            detail={"reasons": reasons},
        )
    prop = await property_of(session, user, cert)
    cert_type, summary = cert.type, f"Deleted {rules.label(cert.type).lower()}"
    summary += f" issued {cert.issued_date:%d %b %Y}, expiring {cert.expiry_date:%d %b %Y}"
    await repository.delete(session, cert)
    await _refresh(session, user, prop, cert_type)
    for entity_type, entity_id in ((ENTITY, certificate_id), (property_service.ENTITY, prop.id)):
        action = "certificate_deleted" if entity_type != ENTITY else "deleted"
        await activity.log(session, user, (entity_type, entity_id), action, summary)
    return prop


# --- a property's compliance --------------------------------------------------------------


def _lapsed(cert_type: CertificateType, latest: Certificate | None, on_date: date) -> str:
    name = rules.label(cert_type)
    if latest is None:
        return f"{name}: none recorded"
    if latest.issued_date > on_date:
        return f"{name}: the one on record is only in force from {latest.issued_date:%d %b %Y}"
    return f"{name}: expired on {latest.expiry_date:%d %b %Y}"


async def lettable_problems(
    session: AsyncSession, agency_id: int, property: Property, on_date: date
) -> list[str]:
    """What stops this property being let on `on_date`; an empty list means it may be let.

    A letting needs, in force that day: a gas safety certificate where the property has gas,
    an EICR, and an EPC rated E or better (or F/G with a PRS exemption that has not ended).
    """
    in_force = await repository.valid_on(session, agency_id, property.id, on_date)
    latest = await repository.current_for_property(session, agency_id, property.id)
    needed = [CertificateType.eicr, CertificateType.epc]
    if property.has_gas:
        needed.insert(0, CertificateType.gas_safety)
    problems: list[str] = []
    for cert_type in needed:
        cert = in_force.get(cert_type)
        if cert is None:
            problems.append(_lapsed(cert_type, latest.get(cert_type), on_date))
            continue
        if cert_type == CertificateType.epc and not rules.epc_meets_minimum(cert.rating):
            exempt = cert.exemption_reference is not None and (
                cert.exemption_expiry_date is None or cert.exemption_expiry_date >= on_date
            )
            if not exempt:
                problems.append(
                    f"EPC: rated {cert.rating}, below the legal minimum of "
                    f"{rules.EPC_MINIMUM_FOR_LETTING} for a letting, and no PRS exemption "
                    "is recorded"
                    + (
                        f" (exemption {cert.exemption_reference} ended "
                        f"{cert.exemption_expiry_date:%d %b %Y})"
                        if cert.exemption_reference and cert.exemption_expiry_date
                        else ""
                    )
                )
    return problems


async def property_compliance(
    session: AsyncSession, user: User, property_id: int, on_date: date
) -> PropertyComplianceRead:
    """Each certificate type of a property: required or not, current one, status."""
    prop = await property_service.get(session, user, property_id)
    current = await repository.current_for_property(session, user.agency_id, prop.id)
    required = set(rules.required_types(prop.marketing_type, prop.status, prop.has_gas))
    requirements = []
    for cert_type in CertificateType:
        cert = current.get(cert_type)
        status: ComplianceStatus | None
        if cert is not None:
            status = rules.status_on(cert.expiry_date, on_date)
        else:
            status = ComplianceStatus.missing if cert_type in required else None
        requirements.append(
            RequirementRead(
                type=cert_type,
                required=cert_type in required,
                status=status,
                certificate_id=cert.id if cert else None,
                expiry_date=cert.expiry_date if cert else None,
            )
        )
    problems = (
        await lettable_problems(session, user.agency_id, prop, on_date)
        if prop.marketing_type == MarketingType.letting
        else []
    )
    return PropertyComplianceRead(
        property_id=prop.id, date=on_date, requirements=requirements, lettable_problems=problems
    )


# --- the agency's compliance --------------------------------------------------------------


async def extra_sections(
    session: AsyncSession, agency_id: int, on_date: date
) -> list[ExtraSection]:
    """The non-empty sections other features declared (deposits past their protection
    deadline, right-to-rent follow-ups due, ...)."""
    return await relations.of(session).build_sections(session, agency_id, on_date)


async def _to_items(
    session: AsyncSession, agency_id: int, rows: Sequence[repository.ItemRow], on_date: date
) -> list[ComplianceItem]:
    props = await property_service.get_many(session, agency_id, [r.property_id for r in rows])
    items = []
    for r in rows:
        prop = props[r.property_id]
        status = (
            ComplianceStatus.missing
            if r.expiry_date is None
            else rules.status_on(r.expiry_date, on_date)
        )
        items.append(
            ComplianceItem(
                property_id=r.property_id,
                property_reference=prop.reference,
                property_address=_address(prop),
                type=r.type,
                status=status,
                urgency=r.urgency,
                certificate_id=r.certificate_id,
                expiry_date=r.expiry_date,
                days_to_expiry=(r.expiry_date - on_date).days if r.expiry_date else None,
            )
        )
    return items


def _urgencies(urgency: str | None, status: str | None) -> frozenset[str] | None:
    by_status = {
        "expired": {"expired"},
        "expiring": {"due_7", "due_30"},
        "missing": {"missing"},
    }
    wanted: set[str] | None = None
    if urgency is not None:
        wanted = {urgency}
    if status is not None:
        wanted = (wanted or set(URGENCIES)) & by_status[status]
    return frozenset(wanted) if wanted is not None else None


async def items(
    session: AsyncSession,
    agency_id: int,
    on_date: date,
    *,
    urgency: str | None = None,
    status: str | None = None,
    cert_type: CertificateType | None = None,
    property_id: int | None = None,
    limit: int | None,
    offset: int = 0,
    total: int | None = None,
) -> tuple[list[ComplianceItem], int]:
    """What needs action across the agency, most urgent first, and how many items there are
    (pass `total` when it is already known, from the summary, to skip counting again)."""
    rows, counted = await repository.items(
        session,
        agency_id,
        on_date,
        urgencies=_urgencies(urgency, status),
        cert_type=cert_type,
        property_id=property_id,
        limit=limit,
        offset=offset,
        count=total is None,
    )
    return await _to_items(session, agency_id, rows, on_date), (
        total if counted is None else counted
    ) or 0


async def epc_problems(
    session: AsyncSession, agency_id: int, on_date: date, *, limit: int | None = None
) -> tuple[list[EpcProblem], int]:
    """Active lettings whose current EPC is F or G without a valid exemption."""
    certs, total = await repository.epc_below_minimum(session, agency_id, on_date, limit=limit)
    props = await property_service.get_many(session, agency_id, [c.property_id for c in certs])
    return [
        EpcProblem(
            property_id=c.property_id,
            property_reference=props[c.property_id].reference,
            property_address=_address(props[c.property_id]),
            certificate_id=c.id,
            rating=c.rating or "",
        )
        for c in certs
    ], total


async def summary(session: AsyncSession, agency_id: int, on_date: date) -> ComplianceSummary:
    """Counts per status and type, per urgency, and whether anything is overdue."""
    statuses = [s.value for s in ComplianceStatus]
    by_type = {t.value: dict.fromkeys(statuses, 0) for t in CertificateType}
    by_status = dict.fromkeys(statuses, 0)
    by_urgency = dict.fromkeys(URGENCIES, 0)
    for (cert_type, status), n in (
        await repository.recorded_status_counts(session, agency_id, on_date)
    ).items():
        by_type[cert_type][status] += n
        by_status[status] += n
    for (urgency, cert_type), n in (
        await repository.item_counts(session, agency_id, on_date)
    ).items():
        by_urgency[urgency] += n
        if urgency == "missing":
            by_type[cert_type][ComplianceStatus.missing.value] += n
            by_status[ComplianceStatus.missing.value] += n
    _, epc_total = await repository.epc_below_minimum(session, agency_id, on_date, limit=0)
    _, with_problems = await repository.properties_with_items(
        session, agency_id, on_date, limit=0, offset=0
    )
    extras = await extra_sections(session, agency_id, on_date)
    overdue = (
        by_status["expired"] > 0
        or by_status["missing"] > 0
        or epc_total > 0
        or any(s.overdue for s in extras)
    )
    return ComplianceSummary(
        date=on_date,
        by_status=by_status,
        by_type=by_type,
        by_urgency=by_urgency,
        epc_below_minimum=epc_total,
        properties_with_problems=with_problems,
        overdue=overdue,
    )


@dataclass
class PropertyGroup:
    """One property with everything it needs, for the by-property view."""

    property: Property
    items: list[ComplianceItem] = field(default_factory=list)


async def by_property(
    session: AsyncSession, agency_id: int, on_date: date, *, limit: int, offset: int
) -> tuple[list[PropertyGroup], int]:
    """A page of properties needing action, worst first, each with its items."""
    ids, total = await repository.properties_with_items(
        session, agency_id, on_date, limit=limit, offset=offset
    )
    rows = await repository.items_for_properties(session, agency_id, on_date, ids)
    props = await property_service.get_many(session, agency_id, ids)
    groups = {pid: PropertyGroup(props[pid]) for pid in ids}
    for item in await _to_items(session, agency_id, rows, on_date):
        groups[item.property_id].items.append(item)
    return [groups[pid] for pid in ids], total


@dataclass
class Report:
    """Everything overdue or due soon in one agency, for the cron report."""

    agency: str
    date: date
    summary: ComplianceSummary
    items: dict[str, list[ComplianceItem]]
    epc_below_minimum: list[EpcProblem]
    extra: list[ExtraSection]

    @property
    def overdue(self) -> bool:
        """Anything expired, missing, below the EPC minimum, or overdue in an extra section."""
        return self.summary.overdue


async def agencies_named(session: AsyncSession, name: str | None) -> list[Agency]:
    """The agency with this name (none if unknown), or every agency when no name is given."""
    if name is None:
        return list(await auth_service.list_agencies(session))
    agency = await auth_service.get_agency_by_name(session, name)
    return [agency] if agency is not None else []


async def report(session: AsyncSession, agency_id: int, name: str, on_date: date) -> Report:
    """The full report of one agency (every item, no paging)."""
    all_items, _ = await items(session, agency_id, on_date, limit=None)
    grouped: dict[str, list[ComplianceItem]] = {u: [] for u in URGENCIES}
    for item in all_items:
        grouped[item.urgency].append(item)
    epc, _ = await epc_problems(session, agency_id, on_date)
    return Report(
        agency=name,
        date=on_date,
        summary=await summary(session, agency_id, on_date),
        items=grouped,
        epc_below_minimum=epc,
        extra=await extra_sections(session, agency_id, on_date),
    )
