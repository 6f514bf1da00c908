#!/usr/bin/env python3
"""Rotate SECRET_KEY and the field-encryption key: `estatecrm secrets rotate` (same options).

python scripts/rotate-secrets.py                       # Vault when VAULT_ADDR is set, else print
python scripts/rotate-secrets.py --output env --env-file .env
python scripts/rotate-secrets.py --no-reencrypt        # zero-downtime: roll out, then reencrypt
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from estatecrm.cli.app import app

if __name__ == "__main__":
    app(["secrets", "rotate", *sys.argv[1:]], prog_name="rotate-secrets.py")
