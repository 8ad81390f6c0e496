#!/usr/bin/env python3
"""Mutation testing of the core rule modules, one module at a time against its own tests.

`make mutation` (not part of `make test`: it takes many minutes on two cores). For each
module below, mutmut runs in a scratch copy of the project (so the work tree gets no
`mutants/` directory and each module has its own configuration), mutating that module only
and running only the test files listed for it. It prints, per module, how many mutants
were killed and lists the survivors; docs/testing.md records the last figures and why each
remaining survivor is equivalent (no test can tell it from the original).

    .venv/bin/python scripts/mutation.py                 # every module
    .venv/bin/python scripts/mutation.py lifecycle       # the modules whose name contains it
    MUTATION_WORKDIR=/tmp/m .venv/bin/python scripts/mutation.py  # keep the scratch copies

mutmut mutates function bodies, not module-level tables: the tables (lifecycle.RULES,
firewall_rules.TYPES, ...) are pinned whole by literal copies in the tests instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module -> the test files that are its own (the run is restricted to them).
MODULES: dict[str, list[str]] = {
    "src/aiiro/domain/lifecycle.py": [
        "tests/domain/test_lifecycle.py",
        "tests/domain/test_instance_ops.py",
    ],
    "src/aiiro/domain/firewall_rules.py": [
        "tests/domain/test_firewall_rules.py",
    ],
    "src/aiiro/api/render.py": [
        "tests/api/test_render.py",
    ],
    "src/aiiro/domain/accounts.py": [
        "tests/domain/test_accounts.py",
        "tests/api/test_tokens.py",
        "tests/api/test_oauth.py",
        "tests/api/test_token_binding.py",
    ],
    "src/aiiro/compute/driver.py": [
        "tests/compute/test_driver.py",
        "tests/domain/test_firewall_rules.py",
        "tests/compute/libvirt/test_nwfilter.py",
    ],
}

CONFIG = """
[tool.mutmut]
source_paths = ["src"]
only_mutate = [{module}]
pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:xdist", "-x", "-q"]
pytest_add_cli_args_test_selection = [{tests}]
use_git_change_detection = false
"""


def run_module(module: str, tests: list[str], workdir: Path) -> dict[str, int]:
    name = Path(module).stem
    work = workdir / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for part in ("src", "tests"):
        shutil.copytree(
            ROOT / part, work / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    pyproject = (ROOT / "pyproject.toml").read_text()
    quoted = ", ".join(json.dumps(t) for t in tests)
    pyproject += CONFIG.format(module=json.dumps(module), tests=quoted)
    (work / "pyproject.toml").write_text(pyproject)
    mutmut = Path(sys.executable).with_name("mutmut")
    # The mutated copy comes first on the path; it must exist before the interpreter starts
    # (a path entry missing at start-up is never looked at again).
    (work / "mutants" / "src").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(work / "mutants" / "src")}
    env.pop("CI", None)  # a skipped test inside a mutant run is not a CI failure
    print(f"== {module} against {', '.join(tests)}", flush=True)
    with (work / "mutmut-run.log").open("w") as log:
        subprocess.run(
            [str(mutmut), "run", "--max-children", os.environ.get("MUTATION_JOBS", "2")],
            cwd=work,
            env=env,
            check=False,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    results = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    counts: dict[str, int] = {}
    survivors: list[str] = []
    for line in results.splitlines():
        mutant, _, status = line.strip().rpartition(": ")
        if not mutant:
            continue
        counts[status] = counts.get(status, 0) + 1
        if status == "survived":
            survivors.append(mutant)
    total = sum(counts.values())
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    print(f"   {killed}/{total} killed  {counts}")
    for mutant in survivors:
        diff = subprocess.run(
            [str(mutmut), "show", mutant], cwd=work, env=env, capture_output=True, text=True
        ).stdout
        print(f"-- survived: {mutant}\n{diff}")
    return counts


def main(argv: list[str]) -> int:
    chosen = [m for m in MODULES if not argv or any(a in m for a in argv)]
    keep = os.environ.get("MUTATION_WORKDIR")
    workdir = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="aiiro-mutation-"))
    try:
        for module in chosen:
            run_module(module, MODULES[module], workdir)
    finally:
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
