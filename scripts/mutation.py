#!/usr/bin/env python3
"""`make mutation`: mutation-test kit/ and every rules module, and fail below 95 % per module.

The modules are found, not listed: every `src/estatecrm/kit/*.py` and every `rules.py` under
`src/estatecrm/` (a new feature's rules are picked up by the glob in `[tool.mutmut]`
`only_mutate`; this script fails if the config and the files ever disagree). mutmut 3 runs the
tests marked `mutation` (pure tests of those modules), then this script:

1. reads every mutant's fate from `mutmut results --all true`;
2. takes out the equivalent mutants listed, with a reason, in `mutation-equivalents.txt` (an
   entry that no longer exists or is now killed fails the run, so the list stays reviewed);
3. prints each module's score, killed / (mutants - equivalent), and the survivors;
4. checks that every module-level constant of those modules (mutmut does not mutate module-level
   code) is named by a `mutation` test, where its value and the behaviour on each side of it are
   pinned;
5. exits 1 if any module scores below the threshold, or the run exceeds its time box.

Environment: MUTATION_THRESHOLD (percent, default 95), MUTATION_TIMEOUT (seconds, default 900),
MUTATION_CHILDREN (parallel mutants, default the number of CPUs).
"""

from __future__ import annotations

import ast
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
TESTS = ROOT / "tests"
EQUIVALENTS = ROOT / "mutation-equivalents.txt"
MUTMUT = Path(sys.executable).with_name("mutmut")
LOG = ROOT / "var" / "mutation.log"
THRESHOLD = float(os.environ.get("MUTATION_THRESHOLD", "95"))
TIMEOUT = int(os.environ.get("MUTATION_TIMEOUT", "900"))
CHILDREN = int(os.environ.get("MUTATION_CHILDREN", str(os.cpu_count() or 2)))
DETECTED = {"killed", "timeout"}
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]+$")
MARKER = "pytest.mark.mutation"


@dataclass
class Score:
    module: str
    fates: dict[str, str] = field(default_factory=dict)
    equivalent: set[str] = field(default_factory=set)

    @property
    def counted(self) -> int:
        return len(self.fates) - len(self.equivalent)

    @property
    def killed(self) -> int:
        return sum(1 for fate in self.fates.values() if fate in DETECTED)

    @property
    def survivors(self) -> list[str]:
        return sorted(
            name
            for name, fate in self.fates.items()
            if fate not in DETECTED and name not in self.equivalent
        )

    @property
    def percent(self) -> float:
        return 100.0 * self.killed / self.counted if self.counted else 0.0


def discover() -> list[Path]:
    """kit/*.py and every rules.py, relative to the project root (modules with code only)."""
    package = SRC / "estatecrm"
    found = [*sorted((package / "kit").glob("*.py")), *sorted(package.rglob("rules.py"))]
    with_code = []
    for path in found:
        tree = ast.parse(path.read_text("utf-8"))
        if any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) for n in ast.walk(tree)):
            with_code.append(path.relative_to(ROOT))
    return with_code


def module_name(path: Path) -> str:
    return ".".join(path.relative_to("src").with_suffix("").parts)


def check_config(modules: list[Path]) -> list[str]:
    """Problems: discovered modules that `[tool.mutmut] only_mutate` would not mutate."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["mutmut"]
    globs: list[str] = config["only_mutate"]
    return [
        f"{path} holds rules but [tool.mutmut] only_mutate does not match it"
        for path in modules
        if not any(fnmatch.fnmatch(str(path), g) for g in globs)
    ]


def read_equivalents() -> dict[str, str]:
    """`mutant-name  reason` per line; blank lines and `#` comments ignored."""
    entries: dict[str, str] = {}
    for number, line in enumerate(EQUIVALENTS.read_text("utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name, _, reason = text.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{EQUIVALENTS.name}:{number}: {name} needs a reason")
        entries[name] = reason.strip()
    return entries


def run_mutmut() -> float:
    """Run mutmut from scratch within the time box; return the seconds it took."""
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    LOG.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    with LOG.open("w") as log:
        try:
            done = subprocess.run(  # noqa: S603 - our own venv's mutmut, fixed arguments
                [str(MUTMUT), "run", "--max-children", str(CHILDREN)],
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SystemExit(f"mutation: mutmut ran over its {TIMEOUT} s time box") from None
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        tail = LOG.read_text("utf-8", errors="replace")[-4000:]
        raise SystemExit(f"mutation: mutmut run failed ({done.returncode}):\n{tail}")
    return elapsed


def read_fates() -> dict[str, str]:
    out = subprocess.run(  # noqa: S603 - our own venv's mutmut, fixed arguments
        [str(MUTMUT), "results", "--all", "true"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fates: dict[str, str] = {}
    for line in out.splitlines():
        name, sep, fate = line.strip().rpartition(": ")
        if sep and name:
            fates[name] = fate.strip()
    return fates


def unpinned_constants(modules: list[Path]) -> list[str]:
    """Module-level constants that no `mutation` test names (mutmut does not mutate them)."""
    texts = [
        p.read_text("utf-8") for p in TESTS.rglob("test_*.py") if MARKER in p.read_text("utf-8")
    ]
    tests = "\n".join(texts)
    missing = []
    for path in modules:
        for node in ast.parse((ROOT / path).read_text("utf-8")).body:
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            value = getattr(node, "value", None)
            if isinstance(value, ast.Call) and getattr(value.func, "id", "") == "TypeVar":
                continue
            for target in targets:
                named = isinstance(target, ast.Name) and CONSTANT.match(target.id)
                if named and not re.search(rf"\b{re.escape(target.id)}\b", tests):
                    missing.append(f"{path}: {target.id}")
    return missing


def main() -> int:
    modules = discover()
    problems = check_config(modules)
    equivalents = read_equivalents()
    problems += [f"constant named by no mutation test: {c}" for c in unpinned_constants(modules)]
    print(f"mutation: {len(modules)} modules, {CHILDREN} workers, time box {TIMEOUT} s")
    elapsed = run_mutmut()
    fates = read_fates()
    scores = {module_name(p): Score(module_name(p)) for p in modules}
    for name, fate in fates.items():
        owner = next((m for m in scores if name.startswith(m + ".")), None)
        if owner is None:
            problems.append(f"mutant {name} belongs to no discovered module")
            continue
        scores[owner].fates[name] = fate
    for name in equivalents:
        fate = fates.get(name)
        owner = next((m for m in scores if name.startswith(m + ".")), None)
        if fate is None or owner is None:
            problems.append(f"{EQUIVALENTS.name}: {name} no longer exists; remove it")
        elif fate in DETECTED:
            problems.append(f"{EQUIVALENTS.name}: {name} is now killed; remove it")
        else:
            scores[owner].equivalent.add(name)

    print(f"\n{'module':<32} {'mutants':>7} {'equiv':>5} {'killed':>6} {'score':>7}")
    for score in scores.values():
        print(
            f"{score.module:<32} {len(score.fates):>7} {len(score.equivalent):>5} "
            f"{score.killed:>6} {score.percent:>6.1f}%"
        )
        if not score.fates:
            problems.append(f"{score.module}: mutmut made no mutants of it")
        elif score.percent < THRESHOLD:
            problems.append(f"{score.module}: {score.percent:.1f}% is below {THRESHOLD:.0f}%")
        for name in score.survivors:
            print(f"    survived ({score.fates[name]}): {name}   (mutmut show {name})")
    total = sum(len(s.fates) for s in scores.values())
    killed = sum(s.killed for s in scores.values())
    equivalent = sum(len(s.equivalent) for s in scores.values())
    print(
        f"\n{total} mutants, {equivalent} equivalent, {killed} killed; "
        f"mutmut took {elapsed:.0f} s with {CHILDREN} workers"
    )
    for problem in problems:
        print(f"FAIL: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
