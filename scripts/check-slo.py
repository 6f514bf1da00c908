#!/usr/bin/env python3
"""Check the error budget: exit 0 healthy, 1 warning, 2 critical/exhausted, 3 unreachable.

    python scripts/check-slo.py [--url URL] [--json] [--alert]

A thin wrapper over `estatecrm slo check`; see docs/operations.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run from a checkout without installing: the package lives in src/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from estatecrm.cli.slo import main

if __name__ == "__main__":
    main()
