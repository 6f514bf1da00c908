"""Agency scoping by construction: every query of an agency-owned model is limited to the
agency bound to its session, without the caller writing the filter.

A session is in one of three states:

- **bound** to an agency (`bind_agency`, done by `CurrentUser` once the signed-in user is
  known, or `as_agency` for a block): every SELECT, UPDATE and DELETE the ORM runs gets
  `agency_id = <bound agency>` for each agency-owned entity it touches — in joins, subqueries,
  eager loads and `session.get()` too (`with_loader_criteria`);
- **cross-agency** (`cross_agency_session`, or `cross_agency(statement, reason)` for one
  statement): nothing is added, and the reason says why that is right (sign-in before the
  agency is known, the CLI, operations over the whole installation, tests' own checks);
- **neither**: a statement that touches an agency-owned model is refused with `UnscopedQuery`.

Inserts are not filtered: they set `agency_id` themselves. The unit of work's own UPDATE and
DELETE statements (a flush) change rows by primary key, and those rows were loaded or created
under the session's scope. `Agency` itself is not agency-owned (it is the tenant); nor is
operational data such as `sli_minute`.

`install_guard()` (on for the whole test suite and in development) adds a check below the ORM:
any SQL that reads, updates or deletes an agency-owned table without an `agency_id =
<parameter>` condition for each use of it fails, unless it was marked cross-agency, is a
flush's own statement, or re-reads a row the session holds (a refresh). It catches what the
ORM criterion cannot see: Core or text statements, and a session scope forgotten somewhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache, lru_cache
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.util import find_tables

from estatecrm.db.base import AgencyScoped, Model

AGENCY_KEY = "estatecrm_agency_id"
CROSS_AGENCY = "estatecrm_cross_agency"
_BY_IDENTITY = "estatecrm_reload_by_identity"
S = TypeVar("S", bound=Executable)


class UnscopedQuery(RuntimeError):
    """A statement touched an agency-owned table with no agency bound and no cross-agency mark."""


def bind_agency(session: AsyncSession | Session, agency_id: int) -> None:
    """Scope every later statement of this session to one agency (the signed-in user's)."""
    session.info[AGENCY_KEY] = agency_id
    session.info.pop(CROSS_AGENCY, None)


def cross_agency_session(session: AsyncSession | Session, reason: str) -> None:
    """Declare a whole session cross-agency (CLI, operations, tests' own checks)."""
    if not reason.strip():
        raise ValueError("say why this session may cross agencies")
    session.info[CROSS_AGENCY] = reason
    session.info.pop(AGENCY_KEY, None)


def bound_agency(session: AsyncSession | Session) -> int | None:
    """The agency the session is scoped to, if any."""
    agency_id: int | None = session.info.get(AGENCY_KEY)
    return agency_id


@contextmanager
def as_agency(session: AsyncSession | Session, agency_id: int) -> Iterator[None]:
    """Scope the session to an agency for a block, then restore what it was."""
    saved = {k: session.info[k] for k in (AGENCY_KEY, CROSS_AGENCY) if k in session.info}
    bind_agency(session, agency_id)
    try:
        yield
    finally:
        session.info.pop(AGENCY_KEY, None)
        session.info.update(saved)


def cross_agency(statement: S, reason: str) -> S:
    """Mark one statement as deliberately crossing agencies; `reason` says why."""
    if not reason.strip():
        raise ValueError("say why this statement may cross agencies")
    return statement.execution_options(**{CROSS_AGENCY: reason})


def _touches_agency_data(state: ORMExecuteState) -> bool:
    # Walks the whole statement (subqueries too); runs only in sessions with no scope at all.
    owned = agency_tables()
    statement = state.statement
    if not isinstance(statement, ClauseElement):
        return False
    tables = find_tables(statement, include_aliases=True, include_joins=True)
    return any(getattr(t, "name", None) in owned for t in tables)


def _names_agency_parameter(parameters: Any) -> bool:
    # The criterion's bound parameter is called agency_id_<n>; a caller's parameter of that
    # name would replace its value, so none may start with "agency_id".
    if not parameters:
        return False
    batches = parameters if isinstance(parameters, list | tuple) else [parameters]
    return any(str(key).startswith("agency_id") for batch in batches for key in batch)


@event.listens_for(Session, "do_orm_execute")
def _scope(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.execution_options.get(CROSS_AGENCY):
        return
    if state.is_column_load:
        # A refresh or deferred load re-reads, by primary key, a row this session already
        # holds (SQLAlchemy adds no criteria to these): nothing new can come through.
        state.update_execution_options(**{_BY_IDENTITY: True})
        return
    reason = state.session.info.get(CROSS_AGENCY)
    if reason:
        # Carried down to the cursor, where the test-suite guard reads it.
        state.update_execution_options(**{CROSS_AGENCY: reason})
        return
    agency_id = state.session.info.get(AGENCY_KEY)
    if agency_id is None:
        if _touches_agency_data(state):
            raise UnscopedQuery(
                "query of agency-owned data in a session with no agency bound; bind the "
                "signed-in agency (CurrentUser does) or mark it cross_agency(..., reason)"
            )
        return
    if _names_agency_parameter(state.parameters):
        raise UnscopedQuery("a parameter named agency_id… could override the agency criterion")
    if state.is_relationship_load or not state.is_orm_statement:
        # A relationship load inherits its parent's criteria (propagate_to_loaders); a Core
        # statement on tables has no entities to scope, and the test-suite guard refuses it.
        return
    state.statement = scoped(state.statement, agency_id)


def scoped(statement: Any, agency_id: int) -> Any:
    """The statement with the agency criterion on every agency-owned entity it touches."""
    return statement.options(_criterion(agency_id))


@lru_cache(maxsize=4096)
def _criterion(agency_id: int) -> Any:
    # Built once per agency: making the option analyses the lambda, which cost more than the
    # rest of a primary-key SELECT. The agency id still travels as a bound parameter.
    # The one written agency filter that belongs here: it IS the session's scoping (rule 15).
    return with_loader_criteria(
        AgencyScoped,
        lambda cls: cls.agency_id == agency_id,
        include_aliases=True,
    )


# --- The guard below the ORM (tests/conftest.py; development engines) ----------------------


def agency_tables() -> frozenset[str]:
    """Names of the tables whose rows belong to an agency (of the models imported so far)."""
    mappers = Model.registry.mappers
    return _agency_tables(len(mappers)) if mappers else frozenset()


@cache
def _agency_tables(_count: int) -> frozenset[str]:
    return frozenset(
        m.local_table.name  # type: ignore[attr-defined]
        for m in Model.registry.mappers
        if issubclass(m.class_, AgencyScoped)
    )


_IDENT = r'"?([A-Za-z_][A-Za-z0-9_]*)"?'
_TABLE_REF = re.compile(
    rf"(?:\bFROM|\bJOIN|\bUPDATE|,)\s+{_IDENT}(?![\w.(\"])(?:\s+AS\s+{_IDENT})?", re.IGNORECASE
)
_CRITERION = re.compile(
    rf"{_IDENT}\.\"?agency_id\"?\s*=\s*(?:\?|\$\d+|%\(\w+\)s|:\w+)", re.IGNORECASE
)


def unscoped_tables(sql: str) -> list[str]:
    """Agency-owned tables (or their aliases) the SQL reads or changes without the criterion."""
    verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    if verb not in {"SELECT", "UPDATE", "DELETE", "WITH"}:
        return []
    owned = agency_tables()
    uses: dict[str, int] = {}
    for table, alias in _TABLE_REF.findall(sql):
        if table.lower() in owned:
            name = (alias or table).lower()
            uses[name] = uses.get(name, 0) + 1
    if not uses:
        return []
    covered: dict[str, int] = {}
    for name in _CRITERION.findall(sql):
        covered[name.lower()] = covered.get(name.lower(), 0) + 1
    return sorted(name for name, n in uses.items() if covered.get(name, 0) < n)


def _from_unit_of_work(options: Any) -> bool:
    # A flush runs its statements with the mapper's own compiled cache; nothing else does.
    cache = options.get("compiled_cache")
    return cache is not None and any(cache is m._compiled_cache for m in Model.registry.mappers)


def _check_cursor(
    _conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    options = context.execution_options if context is not None else {}
    if options.get(CROSS_AGENCY) or options.get(_BY_IDENTITY) or _from_unit_of_work(options):
        return
    missing = unscoped_tables(statement)
    if missing:
        raise UnscopedQuery(
            f"SQL on agency-owned {', '.join(missing)} without the agency criterion: "
            f"{' '.join(statement.split())[:300]}"
        )


def install_guard() -> None:
    """Fail any SQL on agency-owned tables that lacks the agency criterion (for tests)."""
    if event.contains(Engine, "before_cursor_execute", _check_cursor):
        return
    event.listen(Engine, "before_cursor_execute", _check_cursor)
