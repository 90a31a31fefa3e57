"""Snapshots at 80x24 of the draw screen (update: --snapshot-update). Deterministic: a
fixed-seed untrained network (as the inspector's snapshots), a stroke drawn by key presses
once the network's worker is done (run_before waits for it), and digits saved nowhere."""

from __future__ import annotations

import pytest
from test_app_draw import fixed_seed_source, host, ready

pytestmark = pytest.mark.usefixtures("colour")

# The pen down at the top, a stroke down and to the right, the pen up: a slanted bar.
STROKE = ["right_square_bracket", *["up"] * 8, "p", *["down", "down", "right"] * 6, "p"]


class TestDrawScreen:
    def test_a_stroke_and_what_the_network_makes_of_it(self, snap_compare, mnist, tmp_path):
        app = host(fixed_seed_source(mnist), tmp_path / "my-digits")
        assert snap_compare(app, press=STROKE, terminal_size=(80, 24), run_before=ready)

    def test_the_eraser_over_a_blank_canvas(self, snap_compare, mnist, tmp_path):
        app = host(fixed_seed_source(mnist), tmp_path / "my-digits")
        assert snap_compare(app, press=["e"], terminal_size=(80, 24), run_before=ready)
