"""The sweep's settings form: fields take the search syntax and are checked as typed, the sweep's
options below them, the equivalent `tui-mnist sweep` command, and ctrl+r starting a real
detached sweep whose folder holds what the form said."""

from __future__ import annotations

import os
import signal

from fakes import ScreenHost, retype, shown_text, until
from textual import events

from tui_mnist.engine.config import TrainConfig
from tui_mnist.live.events import FINAL_STATES
from tui_mnist.sweeps.folder import SweepFolder, sweeps_dir
from tui_mnist.tui.screens.sweep_settings import SweepSettingsScreen

BASE = TrainConfig(hidden=(8,), epochs=1, batch_size=512)


class Host(ScreenHost):
    """Opens the form over a blank screen, and remembers the sweeps it started."""

    def __init__(self, screen_factory) -> None:
        super().__init__(screen_factory)
        self.started: list[str] = []

    def on_mount(self, event: events.Mount) -> None:
        event.prevent_default()  # not ScreenHost's push too (Textual calls every class's handler)
        self.push_screen(self.screen_factory(), self.started.append)


async def test_the_search_syntax_is_checked_as_typed_and_names_the_field(tmp_path):
    app = Host(lambda: SweepSettingsScreen(BASE, runs_dir=tmp_path))
    async with app.run_test(size=(100, 40)) as pilot:
        screen = app.screen
        assert "nothing to search" in shown_text(screen, "#problems")
        await retype(pilot, "#lr", "0.3..0.01")
        assert "--lr" in shown_text(screen, "#problems") and "empty or reversed" in shown_text(screen, "#problems")
        assert shown_text(screen, "#label-lr").startswith("✗")
        await retype(pilot, "#lr", "0.01..0.3:log")
        await retype(pilot, "#activation", "relu|tanh")
        assert shown_text(screen, "#problems").startswith("✓")
        command = screen.command_line()
        assert command.startswith("tui-mnist sweep ")
        assert "--lr 0.01..0.3:log" in command and "--activation 'relu|tanh'" in command
        await retype(pilot, "#trials", "0")
        assert "trials: at least 1" in shown_text(screen, "#problems")
        await pilot.press("ctrl+r")
        assert app.started == []  # refused while invalid
    assert not list(sweeps_dir(tmp_path).iterdir())


async def test_ctrl_r_starts_a_detached_sweep_of_the_forms_settings(tmp_path, small_data):
    app = Host(lambda: SweepSettingsScreen(BASE.with_changes(data_dir=str(small_data)), runs_dir=tmp_path))
    async with app.run_test(size=(100, 40)) as pilot:
        await retype(pilot, "#lr", "0.05|0.1")
        await retype(pilot, "#trials", "2")
        await pilot.press("ctrl+r")  # from the field: no text field binds it
        await until(pilot, lambda: app.started, what="the sweep's start")
    (sweep_id,) = app.started
    folder = SweepFolder(sweeps_dir(tmp_path) / sweep_id)
    spec = folder.read_spec()
    assert spec.trials == 2 and [param.describe() for param in spec.space.params] == ["lr 0.05 | 0.1"]
    assert spec.base.hidden == (8,) and spec.base.epochs == 1
    # A real sweep in its own session: it ends by itself, and is stopped if the test goes first.
    await until(None, lambda: folder.read_state().get("pid"), what="the sweep's process")
    try:
        await until(None, lambda: folder.read_state().get("state") in FINAL_STATES, timeout=120,
                    what="the sweep's end")
    finally:
        if folder.read_state().get("state") == "running":
            os.kill(folder.read_state()["pid"], signal.SIGTERM)
    assert folder.read_state()["state"] == "finished"
    assert "2 of 2 trials ended" in folder.log_file.read_text()
