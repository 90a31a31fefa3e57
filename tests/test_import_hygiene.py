"""Imports at run time: each layer loads nothing above it (tui → session → sweeps → runs → live →
engine, cli on top), the layers under the app load no UI package, and the CLI's parser loads no numpy.
import-linter checks the static graph (tests/test_lint.py); this checks what really loads,
deferred imports included, in a fresh interpreter, since this test process may already hold
textual and every layer from other tests."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import pytest

LAYERS = ("engine", "live", "runs", "sweeps", "session", "tui", "cli")  # bottom to top
UI_PACKAGES = ("textual", "plotext", "rich")
# The trainer process (runs/) and the session layer work without a terminal: a UI package
# loaded there costs every headless run its import time.
HEADLESS = ("engine", "live", "runs", "sweeps", "session")

PROBE = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
modules = [sys.argv[1]] + [
    sys.argv[1] + "." + m.name for m in pkgutil.iter_modules(package.__path__)
] if hasattr(package, "__path__") else [sys.argv[1]]
for name in modules + sys.argv[2:]:
    importlib.import_module(name)
print(json.dumps({"imported": modules, "loaded": sorted(sys.modules)}))
"""


def probe(module: str, *extra_imports: str) -> dict:
    """Import `module` and, for a package, each of its modules (plus `extra_imports`) in a new
    interpreter; report which modules were imported and everything that got loaded."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module, *extra_imports],
        capture_output=True, text=True, check=True, timeout=60,
    )
    return json.loads(result.stdout)


@functools.cache
def layer_report(layer: str) -> dict:
    """probe() of one layer, made once: two tests read it."""
    return probe(f"tui_mnist.{layer}")


def loaded_packages(report: dict, names) -> list[str]:
    return sorted({m.split(".")[0] for m in report["loaded"]} & set(names))


def loaded_layers(report: dict) -> set[str]:
    return {m.split(".")[1] for m in report["loaded"] if m.startswith("tui_mnist.") and "." in m}


@pytest.mark.parametrize("layer", LAYERS[:-1])
def test_a_layer_loads_nothing_above_it(layer):
    report = layer_report(layer)
    assert len(report["imported"]) > 1
    above = set(LAYERS[LAYERS.index(layer) + 1:])
    assert loaded_layers(report) & above == set()


@pytest.mark.parametrize("layer", HEADLESS)
def test_the_layers_under_the_app_load_no_ui_package(layer):
    assert loaded_packages(layer_report(layer), UI_PACKAGES) == []


def test_the_command_line_parser_loads_no_numpy():
    """The BLAS thread count must be set before numpy first loads, and it is known only once
    the flags are read."""
    report = subprocess.run(
        [sys.executable, "-c",
         "import sys; from tui_mnist.cli.parser import build_parser; build_parser(); "
         "import tui_mnist.cli; print('numpy' in sys.modules)"],
        capture_output=True, text=True, check=True, timeout=60,
    )
    assert report.stdout.strip() == "False"


def test_the_probe_notices_a_ui_import_and_an_upward_one():
    report = probe("tui_mnist.engine", "rich", "tui_mnist.session.protocol")
    assert loaded_packages(report, UI_PACKAGES) == ["rich"]
    assert "session" in loaded_layers(report)
