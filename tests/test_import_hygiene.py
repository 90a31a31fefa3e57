"""The engine stays importable without any UI package: checked in a fresh interpreter, since
this test process may already hold textual from other tests."""

from __future__ import annotations

import json
import subprocess
import sys

UI_PACKAGES = ("textual", "plotext", "rich")

PROBE = f"""
import importlib, json, pkgutil, sys
import tui_mnist.engine
modules = ["tui_mnist.engine." + m.name for m in pkgutil.iter_modules(tui_mnist.engine.__path__)]
for name in modules + sys.argv[1:]:
    importlib.import_module(name)
ui = [m for m in sys.modules if m.split(".")[0] in {set(UI_PACKAGES)}]
print(json.dumps({{"imported": modules, "ui": sorted(ui)}}))
"""


def probe(*extra_imports: str) -> dict:
    """Import every engine module (plus `extra_imports`) in a new interpreter; report which
    modules were imported and which UI modules got loaded along the way."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *extra_imports],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def test_engine_modules_load_no_ui_package():
    report = probe()
    imported = set(report["imported"])
    assert {"tui_mnist.engine.training", "tui_mnist.engine.data"} <= imported
    assert report["ui"] == []


def test_probe_notices_a_ui_import():
    assert "rich" in probe("rich")["ui"]
