"""Where the Alembic migrations are, and the newest one the code knows."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

REPO_ROOT = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str) -> Config:
    """Alembic's config for this project, pointed at a database."""
    ini = REPO_ROOT / "alembic.ini"
    cfg = Config(str(ini)) if ini.exists() else Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    return cfg


def head_revision() -> str | None:
    """The newest migration the code knows."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


# Tables (and their indexes) of the job queue: procrastinate owns them (migration 0011 applies
# its schema on PostgreSQL); they are not our models, so autogenerate must not drop them.
FOREIGN_TABLE_PREFIX = "procrastinate_"


def ours(obj: object, name: str | None, type_: str, reflected: bool, _compare_to: object) -> bool:
    """Alembic's `include_object`: leave procrastinate's tables and indexes alone."""
    if type_ == "table":
        return not (name or "").startswith(FOREIGN_TABLE_PREFIX)
    table = getattr(obj, "table", None)
    return not str(getattr(table, "name", "")).startswith(FOREIGN_TABLE_PREFIX)
