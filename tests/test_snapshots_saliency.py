"""Snapshots at 80x24 of the inspector's "why this answer" view (update: --snapshot-update).
Deterministic: the fixed-seed untrained 784-16-10 network of the inspector's snapshots, on the
first 100 test images, and run_before waits for the predictions worker; the saliency itself is
computed on the UI thread as the keys are pressed."""

from __future__ import annotations

import pytest
from fakes import predicted
from test_app_inspector import Host, small_source

pytestmark = pytest.mark.usefixtures("colour")


class TestSaliency:
    def test_why_the_predicted_class_of_a_mistake(self, snap_compare, mnist):
        # m, s: the first misclassified image, its map for the predicted class beside it.
        app = Host(small_source(mnist))
        assert snap_compare(app, press=["m", "s"], terminal_size=(80, 24), run_before=predicted)

    def test_why_the_true_class(self, snap_compare, mnist):
        app = Host(small_source(mnist))
        assert snap_compare(app, press=["m", "s", "S"], terminal_size=(80, 24), run_before=predicted)
