"""Snapshots at 80x24 of the weights screen (update: --snapshot-update). Deterministic: a
fixed-seed untrained 784-16-10 network (as the draw screen's snapshots), handed over by a fetch
that returns at once, and run_before waits for its worker before the picture is taken."""

from __future__ import annotations

import pytest
from fakes import fixed_seed_network, source_of
from test_app_weights import host_of, ready

pytestmark = pytest.mark.usefixtures("colour")


class TestWeightsScreen:
    def test_the_first_layer_at_half_size(self, snap_compare, mnist):
        app = host_of(source_of(fixed_seed_network(), mnist))
        assert snap_compare(app, terminal_size=(80, 24), run_before=ready)

    def test_the_output_layer_as_heat_strips(self, snap_compare, mnist):
        app = host_of(source_of(fixed_seed_network(), mnist))
        assert snap_compare(app, press=["L"], terminal_size=(80, 24), run_before=ready)
