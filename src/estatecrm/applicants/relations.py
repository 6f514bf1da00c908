"""What the applicants feature holds that refers to other features' records (db/relations.py)."""

from __future__ import annotations

from estatecrm.applicants import repository
from estatecrm.db.relations import Declaration, Moves

DECLARED: tuple[Declaration, ...] = (
    # A merged contact's searches carry on as the contact that stays. (Deleting a contact
    # deletes its searches, unless a viewing or an offer keeps them: those features say so.)
    Moves("applicants", repository.reassign_contact),
)
