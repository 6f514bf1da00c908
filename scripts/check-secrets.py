#!/usr/bin/env python3
"""Fail when a tracked file holds a secret that `.secrets.baseline` does not list.

Runs detect-secrets over every file git tracks (vendored assets aside) and compares what it
finds with the audited baseline by file, type and hash — not by line number, so moving code
around never fails the check, but any new secret does. Exit 0 clean, 1 new findings.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP_PREFIXES = ("src/estatecrm/web/static/vendor/",)


def _key(filename: str, secret: dict[str, object]) -> tuple[str, str, str]:
    return filename, str(secret["type"]), str(secret["hashed_secret"])


def main() -> int:
    listed = subprocess.run(
        ["git", "ls-files"],  # noqa: S607 - git from PATH, as in every CI step
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    files = [f for f in listed if f != ".secrets.baseline" and not f.startswith(SKIP_PREFIXES)]
    scanner = Path(sys.executable).with_name("detect-secrets")
    scan = subprocess.run(  # noqa: S603 - our own venv's scanner over git's file list
        [str(scanner), "scan", *files], cwd=ROOT, capture_output=True, text=True, check=True
    )
    found = json.loads(scan.stdout)["results"]
    baseline = json.loads((ROOT / ".secrets.baseline").read_text())["results"]
    known = {_key(f, s) for f, secrets in baseline.items() for s in secrets}
    new = [(f, s) for f, secrets in found.items() for s in secrets if _key(f, s) not in known]
    for filename, secret in new:
        print(f"{filename}:{secret['line_number']}: possible secret ({secret['type']})")
    if new:
        print(
            f"{len(new)} finding(s) not in .secrets.baseline. Remove the secret, or if it is a "
            "test value, refresh the baseline: detect-secrets scan --exclude-files "
            "'(\\.venv|var|node_modules|\\.git|src/estatecrm/web/static/vendor)/' "
            "> .secrets.baseline"
        )
        return 1
    print(f"detect-secrets: {len(files)} files, no secret outside the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
