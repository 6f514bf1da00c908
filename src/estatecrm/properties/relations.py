"""What the properties feature holds that refers to other features' records (db/relations.py)."""

from __future__ import annotations

from estatecrm.db.relations import Declaration, Moves, TaskLink
from estatecrm.properties import repository
from estatecrm.properties.models import Property


def _label(prop: Property) -> str:
    return f"{prop.address_line1}, {prop.city} ({prop.reference})"


DECLARED: tuple[Declaration, ...] = (
    # A merged contact's properties (as landlord or vendor) belong to the contact that stays.
    Moves("properties_owned", repository.reassign_owner),
    TaskLink("property", "/properties/{id}", _label, repository.get_many),
)
