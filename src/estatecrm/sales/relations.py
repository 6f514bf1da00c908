"""What the sales feature holds that refers to other features' records (db/relations.py)."""

from __future__ import annotations

from estatecrm.db.relations import Blocks, Declaration, Target, TaskLink, contact_columns
from estatecrm.sales import repository
from estatecrm.sales.models import Sale


def _label(sale: Sale) -> str:
    return f"Sale #{sale.id} agreed {sale.agreed_date:%d %b %Y}"


DECLARED: tuple[Declaration, ...] = (
    TaskLink("sale", "/sales/{id}", _label, repository.get_many),
    # A sale's records (the buyer's anti-money-laundering checks among them) are kept for five
    # years after the business ends; deleting the property would take them with it.
    Blocks.columns(Target.property, "sale", "sales", Sale.property_id),
    *contact_columns("sales", "sale", "sales", Sale.buyer_contact_id, Sale.vendor_contact_id),
)
