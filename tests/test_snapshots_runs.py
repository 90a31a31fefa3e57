"""Snapshots at 80x24 of the ledger and of a comparison, on run folders written by hand with
fixed ids and times (a relative runs directory, so the heading is the same everywhere)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import RecordingApp, three_runs

pytestmark = pytest.mark.usefixtures("colour")


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    three_runs(Path("runs"))
    return RecordingApp(runs_dir=Path("runs"))


def test_the_ledger(snap_compare, app):
    assert snap_compare(app, terminal_size=(80, 24), press=["ctrl+o"])


def test_two_runs_compared(snap_compare, app):
    press = ["ctrl+o", "down", "space", "down", "space", "c"]
    assert snap_compare(app, terminal_size=(80, 24), press=press)
