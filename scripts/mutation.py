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
4. mutates module-level constants itself, since mutmut does not mutate module-level code: every
   integer of a constant one up and one down, every element of a constant tuple dropped, each
   in a copy of the sources, and runs the `mutation` tests again without the tests that pin
   constants by value (named `*constant*`): the behaviour tests on each side of the limit must
   fail. Strings and regular expressions are not mutated here; their tests pin every character
   (every letter of every postcode position). A module-level constant that no `mutation` test
   names fails the run too;
5. exits 1 if any module scores below the threshold, a constant mutant survives, or the run
   exceeds its time box.

Environment: MUTATION_THRESHOLD (percent, default 95), MUTATION_TIMEOUT (seconds for the whole
run, default 1800), MUTATION_CHILDREN (parallel mutants, default the number of CPUs).
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
TESTS = ROOT / "tests"
EQUIVALENTS = ROOT / "mutation-equivalents.txt"
MUTMUT = Path(sys.executable).with_name("mutmut")
LOG = ROOT / "var" / "mutation.log"
THRESHOLD = float(os.environ.get("MUTATION_THRESHOLD", "95"))
TIMEOUT = int(os.environ.get("MUTATION_TIMEOUT", "1800"))
CHILDREN = int(os.environ.get("MUTATION_CHILDREN", str(os.cpu_count() or 2)))
DETECTED = {"killed", "timeout"}
CONSTANT = re.compile(r"^_?[A-Z][A-Z0-9_]+$")
MARKER = "pytest.mark.mutation"
DEADLINE = time.monotonic() + TIMEOUT  # the whole run, mutmut and the constants


def remaining() -> float:
    """Seconds left in the time box; stop the run when there are none."""
    left = DEADLINE - time.monotonic()
    if left <= 0:
        raise SystemExit(f"mutation: the run went over its {TIMEOUT} s time box")
    return left


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


def _config() -> dict[str, list[str]]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["mutmut"]


def excluded(path: Path) -> bool:
    """Whether `[tool.mutmut] do_not_mutate` leaves the module out (with its reason there)."""
    return any(fnmatch.fnmatch(str(path), g) for g in _config().get("do_not_mutate", []))


def discover() -> list[Path]:
    """kit/*.py and every rules.py, relative to the project root (modules with code only)."""
    package = SRC / "estatecrm"
    found = [*sorted((package / "kit").glob("*.py")), *sorted(package.rglob("rules.py"))]
    with_code = []
    for path in found:
        if excluded(path.relative_to(ROOT)):
            continue
        tree = ast.parse(path.read_text("utf-8"))
        if any(isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) for n in ast.walk(tree)):
            with_code.append(path.relative_to(ROOT))
    return with_code


def module_name(path: Path) -> str:
    return ".".join(path.relative_to("src").with_suffix("").parts)


def check_config(modules: list[Path]) -> list[str]:
    """Problems: discovered modules that `[tool.mutmut] only_mutate` would not mutate."""
    globs = _config()["only_mutate"]
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
                timeout=remaining(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SystemExit(f"mutation: mutmut went over the {TIMEOUT} s time box") from None
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


def _constants(tree: ast.Module) -> Iterator[tuple[str, ast.expr]]:
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and CONSTANT.match(target.id):
                    yield target.id, node.value


def constant_mutants(path: Path) -> Iterator[tuple[str, str]]:
    """(label, mutated source) for each int one up and down and each tuple element dropped.

    Labels read `module.NAME@60+1`, `module.NAME[key]@12-1` or `module.NAME@-element`.
    """
    tree = ast.parse((ROOT / path).read_text("utf-8"))
    module = module_name(path)
    for index, (name, value) in enumerate(_constants(tree)):
        keys = {
            id(v): f"[{ast.unparse(k)}]"
            for d in ast.walk(value)
            if isinstance(d, ast.Dict)
            for k, v in zip(d.keys, d.values, strict=True)
            if k is not None
        }
        for inner, node in enumerate(ast.walk(value)):
            where = f"{module}.{name}{keys.get(id(node), '')}"
            if isinstance(node, ast.Constant) and type(node.value) is int:
                for delta in (1, -1):
                    label = f"{where}@{node.value}{delta:+d}"
                    yield label, _mutated(tree, index, inner, lambda n, d=delta: n.value + d)
            elif isinstance(node, ast.Tuple) and len(node.elts) > 1:
                for drop, element in enumerate(node.elts):
                    label = f"{where}@-{ast.unparse(element)}"
                    yield label, _mutated(tree, index, inner, None, drop)


def _mutated(
    tree: ast.Module, index: int, inner: int, new_value: object, drop: int | None = None
) -> str:
    clone = copy.deepcopy(tree)
    value = list(_constants(clone))[index][1]
    node = list(ast.walk(value))[inner]
    if drop is not None:
        assert isinstance(node, ast.Tuple)
        del node.elts[drop]
    else:
        assert isinstance(node, ast.Constant) and callable(new_value)
        node.value = new_value(node)
    return ast.unparse(clone)


def tests_of(path: Path) -> list[str]:
    """The `mutation` test files that import the module (all of them if none says so)."""
    dotted = module_name(path)
    package, _, name = dotted.rpartition(".")
    found = [
        str(p.relative_to(ROOT))
        for p in sorted(TESTS.rglob("test_*.py"))
        if MARKER in (text := p.read_text("utf-8"))
        and (dotted in text or f"from {package} import {name}" in text)
    ]
    return found or ["tests"]


def run_constant_mutant(path: Path, source: str) -> bool:
    """Whether the behaviour tests (not the `*constant*` value pins) fail on the mutated copy."""
    timeout = remaining()
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        shutil.copytree(SRC / "estatecrm", Path(tmp) / "estatecrm")
        (Path(tmp) / path.relative_to("src")).write_text(source, "utf-8")
        # The mutated copy first, then the project root for the `tests` package.
        env = {
            **os.environ,
            "PYTHONPATH": f"{tmp}{os.pathsep}{ROOT}",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        try:
            done = _pytest_on_copy(path, env, timeout)
        except subprocess.TimeoutExpired:
            raise SystemExit(f"mutation: constants went over the {TIMEOUT} s time box") from None
    if done.returncode not in (0, 1):  # 1: tests failed; anything else is not an answer
        raise SystemExit(
            f"mutation: pytest failed to run ({done.returncode}):\n{done.stdout[-3000:]}"
        )
    return done.returncode == 1


def _pytest_on_copy(
    path: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own venv's pytest, fixed arguments
        [
            str(Path(sys.executable).with_name("pytest")),
            *("-q", "-x", "-p", "no:cacheprovider", "-p", "no:xdist"),
            *("-p", "tests.mutation_select", "-m", "mutation", "-k", "not constant"),
            *tests_of(path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def check_constants(modules: list[Path], equivalents: dict[str, str]) -> tuple[int, list[str]]:
    """Run every constant mutant; return how many there were and the unlisted survivors."""
    mutants = [(path, *m) for path in modules for m in constant_mutants(path)]
    with ThreadPoolExecutor(max_workers=CHILDREN) as pool:
        killed = list(pool.map(lambda m: run_constant_mutant(m[0], m[2]), mutants))
    survivors = [m[1] for m, dead in zip(mutants, killed, strict=True) if not dead]
    problems = [f"constant mutant survived: {n}" for n in survivors if n not in equivalents]
    labels = {m[1] for m in mutants}
    for name in (n for n in equivalents if "@" in n):
        if name not in labels:
            problems.append(f"{EQUIVALENTS.name}: {name} no longer exists; remove it")
        elif name not in survivors:
            problems.append(f"{EQUIVALENTS.name}: {name} is now killed; remove it")
    return len(mutants), problems


def main() -> int:
    modules = discover()
    problems = check_config(modules)
    equivalents = read_equivalents()
    problems += [f"constant named by no mutation test: {c}" for c in unpinned_constants(modules)]
    print(f"mutation: {len(modules)} modules, {CHILDREN} workers, time box {TIMEOUT} s")
    for path in sorted((SRC / "estatecrm" / "kit").glob("*.py")):
        if excluded(path.relative_to(ROOT)):
            print(f"not mutated ([tool.mutmut] do_not_mutate): {path.relative_to(ROOT)}")
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
        if "@" in name:  # a constant mutant, checked below
            continue
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
    started = time.monotonic()
    count, constant_problems = check_constants(modules, equivalents)
    problems += constant_problems
    print(
        f"\nconstants: {count} mutants of module-level constants, "
        f"{count - len(constant_problems)} killed or listed, in {time.monotonic() - started:.0f} s"
    )
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
