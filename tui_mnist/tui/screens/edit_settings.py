"""The settings form filled in with a past run's settings, opened from the runs list (e): edit
them and ctrl+r starts a new run, as from the first screen; esc goes back to the list."""

from __future__ import annotations

from textual.binding import Binding

from tui_mnist.engine.config import TrainConfig
from tui_mnist.tui.screens.configure import ConfigureScreen


class EditSettingsScreen(ConfigureScreen):
    BINDINGS = [
        Binding("escape", "back", "back", tooltip="Back to the runs list"),
        # The app's ctrl+o (back to the list as well), kept out of this footer to fit 80
        # columns (f1 and the palette list it).
        Binding("ctrl+o", "app.runs", "runs", show=False, tooltip="Back to the runs list"),
    ]

    def __init__(self, config: TrainConfig, run_id: str) -> None:
        super().__init__(config)
        self.run_id = run_id  # whose settings these were
        self.sub_title = f"settings of run {run_id}"

    def action_back(self) -> None:
        self.dismiss()
