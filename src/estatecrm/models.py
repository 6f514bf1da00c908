"""Every table: imports each feature's models so the metadata is complete.

It sits above the features (an entry-point module): main.py, the CLI, Alembic's env.py and the
tests import it; nothing below it may (db and ops ask `db.base.all_tables()` instead).
"""

from estatecrm.activity import models as activity_models
from estatecrm.applicants import models as applicant_models
from estatecrm.auth import models as auth_models
from estatecrm.compliance import models as compliance_models
from estatecrm.contacts import models as contact_models
from estatecrm.db.base import COMPLETE, Model
from estatecrm.jobs import models as job_models
from estatecrm.maintenance import models as maintenance_models
from estatecrm.offers import models as offer_models
from estatecrm.ops import models as ops_models
from estatecrm.properties import models as property_models
from estatecrm.sales import models as sale_models
from estatecrm.tasks import models as task_models
from estatecrm.tenancies import models as tenancy_models
from estatecrm.viewings import models as viewing_models

# SQLite must never hand a deleted row's id to a new one (activity, task links and URLs refer
# to records by id): every table with an integer id is AUTOINCREMENT there, as migration
# 0009 made the existing ones. PostgreSQL identities never reuse ids anyway.
for _table in Model.metadata.tables.values():
    if [column.name for column in _table.primary_key.columns] == ["id"]:
        _table.dialect_kwargs["sqlite_autoincrement"] = True

Model.metadata.info[COMPLETE] = True

__all__ = [
    "Model",
    "activity_models",
    "applicant_models",
    "auth_models",
    "compliance_models",
    "contact_models",
    "job_models",
    "maintenance_models",
    "offer_models",
    "ops_models",
    "property_models",
    "sale_models",
    "task_models",
    "tenancy_models",
    "viewing_models",
]
