"""What the compliance feature holds that refers to other features' records (db/relations.py)."""

from __future__ import annotations

from estatecrm.compliance import repository
from estatecrm.compliance.models import Certificate
from estatecrm.compliance.rules import label
from estatecrm.db.relations import Declaration, TaskLink


def _label(cert: Certificate) -> str:
    return f"{label(cert.type)}, expires {cert.expiry_date:%d %b %Y}"


DECLARED: tuple[Declaration, ...] = (
    # A certificate belongs to a property: deleting the property clears its renewal tasks.
    TaskLink(
        "certificate",
        "/certificates/{id}",
        _label,
        repository.get_many,
        on_property=repository.ids_of_property,
    ),
)
