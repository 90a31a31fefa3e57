"""Snapshots of the training screen (finished, failed, zoomed, at 120x40 with the per-epoch
table) and the help screen at 80x24.

The fake trainer's numbers are scripted and the app's clock is frozen, so every run draws the
same screen however the batches were coalesced on the way.
"""

from __future__ import annotations

import pytest
from fakes import make_app, settled, until

from tui_mnist.tui.screens.training import TrainingScreen

pytestmark = pytest.mark.usefixtures("colour")


def run_to_the_end(**trainer_options):
    app = make_app(**trainer_options)

    async def run_before(pilot):
        await pilot.press("ctrl+r")
        await until(
            pilot,
            lambda: isinstance(app.screen, TrainingScreen)
            and app.screen.state in ("finished", "failed"),
        )
        await settled(pilot)

    return app, run_before


def test_finished_run(snap_compare):
    app, run_before = run_to_the_end(batches_per_epoch=40)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_failed_run(snap_compare):
    app, run_before = run_to_the_end(batches_per_epoch=40, fail_at_step=55)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_over_the_training_screen(snap_compare):
    app, run_before = run_to_the_end(batches_per_epoch=40)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before, press=["f1"])


def test_finished_run_zoomed_to_the_last_epoch(snap_compare):
    app, run_before = run_to_the_end(batches_per_epoch=40)

    async def zoomed(pilot):
        await run_before(pilot)
        await pilot.press("z")
        await settled(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=zoomed)


def test_finished_run_in_a_tall_window_lists_the_epochs(snap_compare):
    app, run_before = run_to_the_end(batches_per_epoch=40)
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
