"""sqlite ids never reused: AUTOINCREMENT on every table with an integer id

Without AUTOINCREMENT, SQLite gives a new row the largest id in use plus one, so deleting the
newest property and adding another hands the new one the old id — and with it the old one's
activity timeline, task links and bookmarked URLs, which refer to records by id. PostgreSQL's
identity columns never reuse an id; this makes SQLite behave the same.

SQLite cannot alter a primary key, so each table is rebuilt the way its documentation
describes: create the new table from the old one's own DDL (the id column made
`PRIMARY KEY AUTOINCREMENT`), copy the rows with their ids, drop the old table, rename the new
one, and recreate its indexes. `migrations/env.py` runs SQLite migrations with foreign keys
off — dropping a parent table with them on would cascade-delete its children — and checks
every foreign key before committing.

Revision ID: 0009_sqlite_ids_never_reused
Revises: 0008_property_list_indexes
Create Date: 2026-11-30 09:00:00+00:00
"""

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy.engine import Connection

revision: str = "0009_sqlite_ids_never_reused"
down_revision: str | None = "0008_property_list_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID_COLUMN = re.compile(r"^(\s*)id INTEGER NOT NULL,", re.MULTILINE)
_PK_CONSTRAINT = re.compile(r",\s*CONSTRAINT (\w+) PRIMARY KEY \(id\)")
_CREATE = re.compile(r'^CREATE TABLE\s+"?(\w+)"?')


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # PostgreSQL identity columns never reuse an id
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        raise RuntimeError("rebuilding tables needs PRAGMA foreign_keys=OFF (migrations/env.py)")
    for table in _tables_with_integer_id(bind):
        _rebuild_with_autoincrement(bind, table)


def downgrade() -> None:
    # Nothing to undo: AUTOINCREMENT only stops SQLite reusing ids, which the schema of
    # 0008 does not depend on, and rebuilding every table again would risk data for no gain.
    pass


def _tables_with_integer_id(bind: Connection) -> list[str]:
    names = bind.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name"
    ).scalars()
    tables = []
    for name in names:
        pk = [
            (row[1], row[2].upper())
            for row in bind.exec_driver_sql(f'PRAGMA table_info("{name}")')
            if row[5]
        ]
        if pk == [("id", "INTEGER")]:
            tables.append(name)
    return tables


def autoincrement_ddl(table: str, ddl: str) -> str | None:
    """The table's CREATE TABLE with `id` made PRIMARY KEY AUTOINCREMENT (None if it is)."""
    if "AUTOINCREMENT" in ddl:
        return None
    constraint = _PK_CONSTRAINT.search(ddl)
    column = _ID_COLUMN.search(ddl)
    if constraint is None or column is None:
        raise RuntimeError(f"unexpected DDL for table {table}; not rebuilt:\n{ddl}")
    name = constraint.group(1)
    ddl = _PK_CONSTRAINT.sub("", ddl, count=1)
    return _ID_COLUMN.sub(
        lambda m: f"{m.group(1)}id INTEGER NOT NULL CONSTRAINT {name} PRIMARY KEY AUTOINCREMENT,",
        ddl,
        count=1,
    )


def _rebuild_with_autoincrement(bind: Connection, table: str) -> None:
    ddl = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).scalar_one()
    new_ddl = autoincrement_ddl(table, ddl)
    if new_ddl is None:
        return
    dependents = list(
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
            "AND sql IS NOT NULL",
            (table,),
        ).scalars()
    )
    staging = f"_rebuild_{table}"
    bind.exec_driver_sql(_CREATE.sub(f'CREATE TABLE "{staging}"', new_ddl, count=1))
    # Same DDL, same column order; explicit ids also set sqlite_sequence to the largest.
    copy = f'INSERT INTO "{staging}" SELECT * FROM "{table}"'  # noqa: S608 - names from sqlite_master
    bind.exec_driver_sql(copy)
    bind.exec_driver_sql(f'DROP TABLE "{table}"')
    bind.exec_driver_sql(f'ALTER TABLE "{staging}" RENAME TO "{table}"')
    for sql in dependents:
        bind.exec_driver_sql(sql)
