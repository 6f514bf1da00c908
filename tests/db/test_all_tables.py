"""db and ops get the full table list from db.base.all_tables(), which refuses until it is full."""

from __future__ import annotations

import subprocess
import sys

from estatecrm import models
from estatecrm.db.base import all_tables


def test_all_tables_is_every_feature_table() -> None:
    names = set(all_tables().tables)
    assert all_tables() is models.Model.metadata
    assert {"agency", "property", "contact", "tenancy", "sale", "task", "sli_minute"} <= names


def test_all_tables_refuses_before_the_models_are_loaded() -> None:
    code = (
        "from estatecrm.db.base import all_tables\n"
        "try:\n    all_tables()\nexcept RuntimeError as e:\n    print('refused:', e)\n"
        "import estatecrm.models\n"
        "print('tables:', len(all_tables().tables))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "refused: estatecrm.models is not imported" in out
    assert int(out.split("tables: ")[1]) == len(all_tables().tables)
