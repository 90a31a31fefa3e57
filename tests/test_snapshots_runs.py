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


@pytest.fixture
def noted_app(tmp_path, monkeypatch):
    """The three runs, two of them with a note."""
    from tui_mnist.runs.notes import write_note
    from tui_mnist.runs.store import RunFolder

    monkeypatch.chdir(tmp_path)
    done, stopped, vanished = three_runs(Path("runs"))
    write_note(RunFolder(done), "baseline #keep")
    write_note(RunFolder(stopped), "wide net, Adam at a small learning rate #keep #lr-test")
    return RecordingApp(runs_dir=Path("runs"))


def test_the_ledger_filtered_by_a_tag_best_val_first(snap_compare, noted_app):
    keys = ("ctrl+o", "s", "slash", *"#keep", "enter")
    assert snap_compare(noted_app, terminal_size=(80, 24), run_before=pressing(*keys))


def test_a_note_being_written(snap_compare, noted_app):
    keys = ("ctrl+o", "j", "n", "space", *"#more")
    assert snap_compare(noted_app, terminal_size=(80, 24), run_before=pressing(*keys))
