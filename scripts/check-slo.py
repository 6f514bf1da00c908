#!/usr/bin/env python3
"""Check the error budget: exit 0 healthy, 1 warning or low budget, 2 critical/exhausted/unknown.

    python scripts/check-slo.py [--url URL] [--json] [--alert] [--min-budget 0.2]

Without --url: SLO_CHECK_URL, else PUBLIC_URL (environment, .env, Vault), else 127.0.0.1:8000.
It fails closed: a budget that cannot be read exits 2.

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
