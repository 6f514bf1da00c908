"""What the offers feature holds that refers to other features' records (db/relations.py)."""

from __future__ import annotations

from estatecrm.db.relations import Blocks, Declaration, Target, contact_columns
from estatecrm.offers import repository
from estatecrm.offers.models import Offer

DECLARED: tuple[Declaration, ...] = (
    # An offer put to a client is a record the agency must keep, with its property, its
    # applicant and its person (a merged contact's offers move to the contact that stays).
    Blocks.columns(Target.property, "offer", "offers", Offer.property_id),
    Blocks(Target.applicant, "offer", "offers", repository.count_for_applicant),
    *contact_columns("offers", "offer", "offers", Offer.contact_id),
)
