"""Relations between features: what each feature holds that refers to another's records.

A feature declares, in its own `relations.py`, a tuple `DECLARED` of:

- `Blocks`: its rows that name a record (a contact, a property, a certificate, an applicant)
  and keep it from being deleted, counted with the words the refusal shows ("2 offers");
- `Guard`: a reason to keep a record that is not a simple count ("tenancy #4 ran while it was
  in force");
- `Moves`: its rows that name a contact and move to the contact that stays when two are merged;
- `TaskLink`: a kind of its records a task may link to;
- `Section`: duties it shows on the compliance dashboard and in the report.

The entry points (`create_app()` and the CLI) build one `Relations` from every feature's
declarations (`estatecrm.features`) and attach it to each session they open; the owning
services read it with `of(session)`. Nothing registers itself on import, so a new feature that
refers to contacts adds one declaration in its own folder and one line in the wiring.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from estatecrm.db import references

_SESSION_KEY = "estatecrm_relations"

# (session, agency_id, record_id) -> how many rows name the record
Count = Callable[[AsyncSession, int, int], Awaitable[int]]
# (session, agency_id, from_id, to_id) -> how many rows moved; may raise Conflict (409), and
# the merge's transaction then undoes everything it had already moved
Move = Callable[[AsyncSession, int, int, int], Awaitable[int]]
# (session, record) -> why the record must stay, or None
Why = Callable[[AsyncSession, Any], Awaitable[str | None]]


class Target(enum.Enum):
    """The kinds of record other features refer to."""

    contact = "contact"
    property = "property"
    certificate = "certificate"
    applicant = "applicant"


@dataclass(frozen=True)
class Blocks:
    """Rows that name a record of `to` and must keep it: its delete is refused while any do."""

    to: Target
    one: str
    many: str
    count: Count

    @classmethod
    def columns(
        cls, to: Target, one: str, many: str, *columns: InstrumentedAttribute[Any]
    ) -> Blocks:
        """Rows of one table that name the record in any of `columns`."""

        async def count(session: AsyncSession, agency_id: int, record_id: int) -> int:
            return await references.count_naming(session, agency_id, record_id, *columns)

        return cls(to, one, many, count)

    def phrase(self, found: int) -> str:
        """How a refusal counts them: "1 offer", "2 offers"."""
        return f"{found} {self.one if found == 1 else self.many}"


@dataclass(frozen=True)
class Guard:
    """A reason, other than a count, that a record of `to` must not be deleted."""

    to: Target
    why: Why


@dataclass(frozen=True)
class Moves:
    """Rows that name a contact and move to the contact that stays when two are merged;
    `key` names them in the merge's `moved` counts."""

    key: str
    move: Move
    to: Target = Target.contact

    @classmethod
    def columns(cls, key: str, *columns: InstrumentedAttribute[Any]) -> Moves:
        """Rows of one table that name the contact in any of `columns`."""

        async def move(session: AsyncSession, agency_id: int, from_id: int, to_id: int) -> int:
            return await references.reassign(session, agency_id, from_id, to_id, *columns)

        return cls(key, move)


def contact_columns(
    key: str, one: str, many: str, *columns: InstrumentedAttribute[Any]
) -> tuple[Blocks, Moves]:
    """Columns naming a contact: the contact is merged, not deleted, and merging moves them."""
    return (
        Blocks.columns(Target.contact, one, many, *columns),
        Moves.columns(key, *columns),
    )


@dataclass(frozen=True)
class TaskLink:
    """A kind of record a task may link to: how to load, name and reach it.

    `get_many(session, agency_id, ids)` answers {id: record} in one query. Records that belong
    to a property give `on_property(session, agency_id, property_id)` (their ids), so that
    deleting the property can clear the tasks rules made for them.
    """

    name: str
    href: str
    describe: Callable[[Any], str]
    get_many: Callable[[AsyncSession, int, Sequence[int]], Awaitable[Mapping[int, Any]]]
    on_property: Callable[[AsyncSession, int, int], Awaitable[Sequence[int]]] | None = None


@dataclass(frozen=True)
class SectionRow:
    """One line of a dashboard section (a deposit, a right-to-rent check, ...)."""

    label: str
    detail: str
    href: str | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class ExtraSection:
    """Duties a feature reports on the compliance dashboard and in the report."""

    key: str
    title: str
    rows: list[SectionRow]
    total: int
    # Whether these rows are overdue duties (the report then exits 1).
    overdue: bool = True


@dataclass(frozen=True)
class Section:
    """A dashboard and report section: `build(session, agency_id, on_date)` returns it, or
    None / an empty one when there is nothing to show (empty sections are never rendered)."""

    build: Callable[[AsyncSession, int, date], Awaitable[ExtraSection | None]]


Declaration = Blocks | Guard | Moves | TaskLink | Section


@dataclass
class Relations:
    """Every feature's declarations, in the order the entry point listed the features."""

    blocks: list[Blocks] = field(default_factory=list)
    guards: list[Guard] = field(default_factory=list)
    moves: list[Moves] = field(default_factory=list)
    task_links: dict[str, TaskLink] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)

    @classmethod
    def from_features(cls, *features: Iterable[Declaration]) -> Relations:
        """The registry of these features' declarations (each a feature's `DECLARED`)."""
        relations = cls()
        for declared in features:
            for item in declared:
                relations.add(item)
        return relations

    def add(self, item: Declaration) -> None:
        """Take one declaration; a task link name may be declared once only."""
        if isinstance(item, Blocks):
            self.blocks.append(item)
        elif isinstance(item, Guard):
            self.guards.append(item)
        elif isinstance(item, Moves):
            self.moves.append(item)
        elif isinstance(item, TaskLink):
            if item.name in self.task_links:
                raise ValueError(f"Two features declare the task link {item.name!r}")
            self.task_links[item.name] = item
        else:
            self.sections.append(item)

    async def why_kept(
        self, to: Target, session: AsyncSession, record: Any, *, counted: str = "{}"
    ) -> list[str]:
        """Every reason the record must not be deleted (none: it may go).

        A count reads `counted` with the phrase put in ("it has {} on record" → "it has
        2 offers on record"); a guard's reason reads as the guard wrote it.
        """
        reasons = []
        for blocks in self.blocks:
            if blocks.to is to:
                found = await blocks.count(session, record.agency_id, record.id)
                if found:
                    reasons.append(counted.format(blocks.phrase(found)))
        for guard in self.guards:
            if guard.to is to and (why := await guard.why(session, record)):
                reasons.append(why)
        return reasons

    async def move(
        self, to: Target, session: AsyncSession, agency_id: int, from_id: int, to_id: int
    ) -> dict[str, int]:
        """Merging: point every declared reference at the record that stays; counts by key."""
        return {
            moves.key: await moves.move(session, agency_id, from_id, to_id)
            for moves in self.moves
            if moves.to is to
        }

    async def build_sections(
        self, session: AsyncSession, agency_id: int, on_date: date
    ) -> list[ExtraSection]:
        """The non-empty dashboard sections the features declared."""
        built = []
        for section in self.sections:
            extra = await section.build(session, agency_id, on_date)
            if extra is not None and extra.rows:
                built.append(extra)
        return built


def attach(session: AsyncSession, relations: Relations) -> AsyncSession:
    """Give a session the relations of the app or CLI that opened it."""
    session.info[_SESSION_KEY] = relations
    return session


def of(session: AsyncSession) -> Relations:
    """The relations the session was opened with (see `attach`)."""
    relations = session.info.get(_SESSION_KEY)
    if not isinstance(relations, Relations):
        raise RuntimeError(
            "This session has no feature relations: open it through the app's session "
            "dependency or the CLI's session_scope, or call relations.attach()"
        )
    return relations
