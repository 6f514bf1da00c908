"""What the maintenance feature holds that refers to other features' records
(db/relations.py)."""

from __future__ import annotations

from estatecrm.db.relations import Blocks, Declaration, Target, TaskLink, contact_columns
from estatecrm.maintenance import repository
from estatecrm.maintenance.models import MaintenanceJob


def _label(job: MaintenanceJob) -> str:
    return job.title


DECLARED: tuple[Declaration, ...] = (
    TaskLink("maintenance_job", "/maintenance/{id}", _label, repository.get_many),
    # Jobs carry contractors' costs the landlord is billed for: they outlive the listing.
    Blocks.columns(
        Target.property, "maintenance job", "maintenance jobs", MaintenanceJob.property_id
    ),
    *contact_columns(
        "maintenance_jobs",
        "maintenance job",
        "maintenance jobs",
        MaintenanceJob.reported_by_contact_id,
        MaintenanceJob.contractor_contact_id,
    ),
)
