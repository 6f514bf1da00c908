"""The features whose relations the app and the CLI wire (see db/relations.py).

Each feature declares in its own relations.py what it holds that refers to another feature's
records; this list is the one place that puts them together. The order is the order in which
refusals list their reasons and merges move their records.
"""

from __future__ import annotations

from estatecrm.applicants import relations as applicants
from estatecrm.compliance import relations as compliance
from estatecrm.config import Settings
from estatecrm.db.relations import Declaration, Relations
from estatecrm.jobs import events as job_events
from estatecrm.jobs import registry as job_registry
from estatecrm.jobs.runtime import Runtime
from estatecrm.maintenance import relations as maintenance
from estatecrm.offers import relations as offers
from estatecrm.properties import relations as properties
from estatecrm.sales import relations as sales
from estatecrm.tenancies import relations as tenancies
from estatecrm.viewings import relations as viewings

FEATURE_RELATIONS: tuple[tuple[Declaration, ...], ...] = (
    applicants.DECLARED,
    viewings.DECLARED,
    properties.DECLARED,
    compliance.DECLARED,
    offers.DECLARED,
    tenancies.DECLARED,
    sales.DECLARED,
    maintenance.DECLARED,
)


# Every feature's jobs.py `DECLARED`: its background jobs, schedules and event listeners.
FEATURE_JOBS: tuple[tuple[job_registry.Declaration, ...], ...] = (job_events.DECLARED,)


def build_relations() -> Relations:
    """The registry of every feature's declared relations."""
    return Relations.from_features(*FEATURE_RELATIONS)


def build_jobs(settings: Settings) -> Runtime:
    """The job runtime with every feature's declared jobs (bind it to sessions before use)."""
    return Runtime(settings, *FEATURE_JOBS)
