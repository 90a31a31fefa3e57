"""Ask before ctrl+q stops the runs started in this window: y (or the Quit button) stops them
and quits, n or esc goes back. Dismisses with True to quit; the focus starts on Stay, so a
stray enter stops nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class QuitDialog(ModalScreen[bool]):
    CSS_PATH = "quit_dialog.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "quit", tooltip="Stop the run and quit"),
        Binding("n,escape", "answer(False)", "stay", key_display="n", tooltip="Keep the run going"),
    ]

    def __init__(self, runs: int) -> None:
        super().__init__()
        self.runs = runs  # how many runs quitting stops

    def compose(self) -> ComposeResult:
        them = "the run" if self.runs == 1 else f"the {self.runs} runs"
        with Vertical(id="dialog") as box:
            box.border_title = f"Stop {them} and quit?"
            box.border_subtitle = "y quits · n or esc stays"
            yield Label(
                f"Quitting stops {them} started in this window. "
                "To leave a run training in the background, press d instead."
            )
            with Horizontal(id="buttons"):
                yield Button("Stay", id="stay", variant="primary", compact=True)
                yield Button("Stop and quit", id="quit", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "quit")

    def action_answer(self, stop: bool) -> None:
        self.dismiss(stop)
