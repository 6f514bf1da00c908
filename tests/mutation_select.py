"""pytest plugin of `make mutation` (`-p tests.mutation_select`, see [tool.mutmut]).

mutmut runs the tests marked `mutation`; this makes pytest skip every other test file without
importing it, so the mutation run never loads the database, browser or deployment tests (nor
the files they read when imported).
"""

from __future__ import annotations

from pathlib import Path

import pytest

MARKER = "pytest.mark.mutation"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Ignore test modules that hold no test marked `mutation`."""
    if collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return MARKER not in collection_path.read_text("utf-8")
    return None
