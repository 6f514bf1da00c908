"""What the viewings feature holds that refers to other features' records (db/relations.py)."""

from __future__ import annotations

from estatecrm.db.relations import Blocks, Declaration, Moves, Target
from estatecrm.viewings import repository
from estatecrm.viewings.models import Viewing

DECLARED: tuple[Declaration, ...] = (
    # A viewing is the diary's record of who saw what: its property, its applicant and its
    # people (as applicant or attendee) stay while it does.
    Blocks.columns(Target.property, "viewing", "viewings", Viewing.property_id),
    Blocks(Target.applicant, "viewing", "viewings", repository.count_for_applicant),
    Blocks(Target.contact, "viewing", "viewings", repository.count_for_contact),
    # The viewings a merged contact booked as applicant move with the applicant; the ones
    # they attended move here.
    Moves("viewings_attended", repository.reassign_attendee),
)
