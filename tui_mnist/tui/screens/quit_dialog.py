"""Ask before ctrl+q stops the runs started in this window: y (or the Stop button) stops them
and quits, n or esc goes back."""

from __future__ import annotations

from textual.binding import Binding

from tui_mnist.tui.screens.confirm_dialog import ConfirmDialog


class QuitDialog(ConfirmDialog):
    BINDINGS = [
        Binding("y", "answer(True)", "quit", tooltip="Stop the run and quit"),
        Binding("n,escape", "answer(False)", "stay", key_display="n", tooltip="Keep the run going"),
    ]

    def __init__(self, runs: int) -> None:
        """`runs`: how many runs quitting stops."""
        them = "the run" if runs == 1 else f"the {runs} runs"
        super().__init__(
            f"Stop {them} and quit?",
            f"Quitting stops {them} started in this window. "
            "To leave a run training in the background, press d instead.",
            "y quits · n or esc stays",
            safe="Stay",
            act="Stop and quit",
        )
        self.add_class("-warning")
