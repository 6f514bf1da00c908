"""The kinds of record a task may link to; each feature with linkable records adds one here."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


def _property_label(prop: Any) -> str:
    return f"{prop.address_line1}, {prop.city} ({prop.reference})"


def _certificate_label(cert: Any) -> str:
    from estatecrm.compliance.rules import label

    return f"{label(cert.type)}, expires {cert.expiry_date:%d %b %Y}"


@dataclass(frozen=True)
class LinkType:
    """A kind of record: where its repository is, how to name it and where its page is.

    The repository module must offer `get(session, agency_id, id)` and
    `get_many(session, agency_id, ids) -> {id: row}`; it is imported on first use so that
    features can link to each other without import cycles. Records that belong to a
    property name the repository function that lists a property's ids (`property_ids`), so
    that deleting the property can clear the tasks rules made for them.
    """

    name: str
    repository: str
    href: str
    describe: Callable[[Any], str]
    property_ids: str | None = None

    def module(self) -> Any:
        """The repository module."""
        return importlib.import_module(self.repository)

    async def exists(self, session: AsyncSession, agency_id: int, entity_id: int) -> bool:
        """Whether the agency has this record."""
        return await self.module().get(session, agency_id, entity_id) is not None

    async def many(
        self, session: AsyncSession, agency_id: int, ids: Sequence[int]
    ) -> dict[int, Any]:
        """Records by id, in one query."""
        result: dict[int, Any] = await self.module().get_many(session, agency_id, ids)
        return result

    async def ids_on_property(
        self, session: AsyncSession, agency_id: int, property_id: int
    ) -> list[int]:
        """The ids of this kind of record that belong to a property (none if it has none)."""
        if self.property_ids is None:
            return []
        lookup = getattr(self.module(), self.property_ids)
        return list(await lookup(session, agency_id, property_id))


LINK_TYPES: dict[str, LinkType] = {
    "property": LinkType(
        "property", "estatecrm.properties.repository", "/properties/{id}", _property_label
    ),
    "certificate": LinkType(
        "certificate",
        "estatecrm.compliance.repository",
        "/certificates/{id}",
        _certificate_label,
        property_ids="ids_of_property",
    ),
}


def register(link_type: LinkType) -> None:
    """Let tasks link to another kind of record (tenancies, contacts, ...)."""
    LINK_TYPES[link_type.name] = link_type
