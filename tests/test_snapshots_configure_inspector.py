"""Snapshots at 80x24 of the configure screen and the inspector (update: --snapshot-update)."""

from __future__ import annotations

import pytest
from fakes import predicted
from test_app_configure import Host as ConfigureHost
from test_app_inspector import Host as InspectorHost
from test_app_inspector import small_source

from tui_mnist.engine.presets import PRESETS

pytestmark = pytest.mark.usefixtures("colour")


def test_configure_with_the_classic_preset(snap_compare):
    # Focus on the first preset button, the form scrolled to the top.
    assert snap_compare(ConfigureHost(PRESETS["classic"][1]), terminal_size=(80, 24))


def test_configure_with_an_invalid_field(snap_compare):
    # Tab past the three preset buttons into "hidden layers", then a typo there.
    assert snap_compare(ConfigureHost(), press=["tab", "tab", "tab", "ctrl+u", *"12a"], terminal_size=(80, 24))


def test_inspector_on_a_fixed_seed_network(snap_compare, mnist):
    app = InspectorHost(small_source(mnist))
    # The picture is taken once the predictions worker is done (run_before waits for it).
    assert snap_compare(app, press=["m", "j"], terminal_size=(80, 24), run_before=predicted)


def test_inspector_grid_of_mistakes(snap_compare, mnist):
    app = InspectorHost(small_source(mnist))
    # m then v: the misclassified images as a grid, the second one selected.
    assert snap_compare(app, press=["m", "v", "j"], terminal_size=(80, 24), run_before=predicted)
