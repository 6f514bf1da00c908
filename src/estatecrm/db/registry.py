"""Imports every feature's models so the metadata is complete (Alembic, tests)."""

from estatecrm.activity import models as activity_models
from estatecrm.applicants import models as applicant_models
from estatecrm.auth import models as auth_models
from estatecrm.contacts import models as contact_models
from estatecrm.db.base import Model
from estatecrm.properties import models as property_models
from estatecrm.viewings import models as viewing_models

__all__ = [
    "Model",
    "activity_models",
    "applicant_models",
    "auth_models",
    "contact_models",
    "property_models",
    "viewing_models",
]
