"""Snapshot at 80x24 of an ended run looked back at from the runs list (enter): its training
screen, read-only, from a run folder written by hand with fixed ids, times and metrics (its
elapsed time is the run's own, never the clock's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import RecordingApp, settled, three_runs

from tui_mnist.runs.store import RunFolder

pytestmark = pytest.mark.usefixtures("colour")

FINAL = {"final": True, "epochs_completed": 4, "test_loss": 0.1, "test_acc": 0.9712, "seconds": 6.0,
         "stopped": False, "steps": 3752, "batches_per_epoch": 938}


def test_a_finished_run_looked_back_at(snap_compare, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    done = three_runs(Path("runs"))[0]
    with RunFolder(done).metrics_file.open("a") as metrics:
        metrics.write(json.dumps(FINAL) + "\n")
    app = RecordingApp(runs_dir=Path("runs"))

    async def run_before(pilot):
        for key in ("ctrl+o", "end", "enter"):
            await pilot.press(key)
            await settled(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
