"""A snapshot at 80x24 of the confusion matrix screen (update: --snapshot-update). Deterministic:
a fixed-seed untrained network on the first 500 test images (counted by the screen's worker,
which run_before waits for), and the cursor moved by key presses from the worst mistake."""

from __future__ import annotations

import pytest
from test_app_confusion import counted, fixed_seed_source, host

pytestmark = pytest.mark.usefixtures("colour")


class TestConfusionScreen:
    def test_the_matrix_with_the_cursor_off_the_diagonal(self, snap_compare, mnist):
        app = host(fixed_seed_source(mnist))
        assert snap_compare(app, press=["up", "left"], terminal_size=(80, 24), run_before=counted)
