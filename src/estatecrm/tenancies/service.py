"""Business rules of tenancies: deposits, right to rent, activation, rent increases, ending.

The service other modules call. It lives in three parts, by topic: `core` (create, change,
read, rent increases, endings, the deposit duty), `right_to_rent` (checks and follow-ups) and
`activation` (what a tenancy needs before it starts, and starting it).
"""

from __future__ import annotations

from estatecrm.tenancies.activation import activate, activation_problems
from estatecrm.tenancies.core import (
    DEPOSIT_FIELDS,
    END_STATUSES,
    ENTITY,
    TRACKED,
    contacts_for,
    create,
    deposit_rule_key,
    end,
    get,
    ids_for_offers,
    read,
    rent_increase,
    right_to_rent_rule_key,
    search,
    to_read,
    update,
)
from estatecrm.tenancies.right_to_rent import add_check, checks

__all__ = [
    "DEPOSIT_FIELDS",
    "END_STATUSES",
    "ENTITY",
    "TRACKED",
    "activate",
    "activation_problems",
    "add_check",
    "checks",
    "contacts_for",
    "create",
    "deposit_rule_key",
    "end",
    "get",
    "ids_for_offers",
    "read",
    "rent_increase",
    "right_to_rent_rule_key",
    "search",
    "to_read",
    "update",
]
