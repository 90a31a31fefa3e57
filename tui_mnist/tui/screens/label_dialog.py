"""The draw screen's "save as" dialog: one key press, 0-9, gives the drawing its label;
enter takes the network's guess, esc cancels. Dismisses with the label, or None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class LabelDialog(ModalScreen[int | None]):
    CSS_PATH = "label_dialog.tcss"
    BINDINGS = [
        Binding("escape", "cancel", "cancel", tooltip="Save nothing"),
        Binding("enter", "accept", "the guess", tooltip="Label it with the network's guess"),
        # No description: the dialog's text names them, and ten rows would crowd the help.
        *(Binding(str(digit), f"choose({digit})", show=False) for digit in range(10)),
    ]

    def __init__(self, folder: str, guess: int | None = None) -> None:
        super().__init__()
        self.folder = folder
        self.guess = guess

    def compose(self) -> ComposeResult:
        with Vertical(id="label-box") as box:
            box.border_title = "Save this digit"
            box.border_subtitle = "0-9 saves · esc cancels"
            yield Label("Which digit is it? Press 0-9.")
            if self.guess is not None:
                yield Label(f"enter: {self.guess}, the network's guess", id="label-guess")
            yield Label(f"into {self.folder}", id="label-folder")

    def action_choose(self, digit: int) -> None:
        self.dismiss(digit)

    def action_accept(self) -> None:
        if self.guess is not None:
            self.dismiss(self.guess)

    def action_cancel(self) -> None:
        self.dismiss(None)
