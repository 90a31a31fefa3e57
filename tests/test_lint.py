"""The code's own rules, checked with the suite so that CI and a newcomer's test command both run
them: ruff's lint (settings in pyproject.toml) and import-linter's layers contract
(tui → session → runs → live → engine, cli on top). Neither may write a cache into the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*command: str) -> subprocess.CompletedProcess:
    """Run a tool installed beside this interpreter (the venv need not be activated)."""
    executable = Path(sys.executable).parent / command[0]
    assert executable.exists(), f"{command[0]} is not installed: pip install -e '.[test]'"
    return subprocess.run(
        [str(executable), *command[1:]], capture_output=True, text=True, cwd=ROOT, timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )


def test_ruff_finds_nothing():
    result = run_tool("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layers_contract_is_kept():
    result = run_tool("lint-imports", "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
