"""Snapshots at 80x24 of the ledger and of a comparison, on run folders written by hand with
fixed ids and times (a relative runs directory, so the heading is the same everywhere)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import RecordingApp, settled, three_runs

pytestmark = pytest.mark.usefixtures("colour")


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    three_runs(Path("runs"))
    return RecordingApp(runs_dir=Path("runs"))


def pressing(*keys: str):
    """Press `keys`, letting the screen settle after each (the runs list is read by a worker)."""

    async def run_before(pilot):
        for key in keys:
            await pilot.press(key)
            await settled(pilot)

    return run_before


def test_the_ledger(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), run_before=pressing("ctrl+o"))


def test_two_runs_compared(snap_compare, app):
    keys = ("ctrl+o", "down", "space", "down", "space", "c")
    assert snap_compare(app, terminal_size=(80, 24), run_before=pressing(*keys))
