"""A small dialog asking where to save the model; dismisses with the path, or None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

DEFAULT_MODEL_PATH = "./model.npz"


class SaveDialog(ModalScreen[str | None]):
    CSS_PATH = "save_dialog.tcss"
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, path: str = DEFAULT_MODEL_PATH) -> None:
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.border_title = "Save model"
            yield Label("File (.npz), enter saves, escape cancels:")
            yield Input(self.path, id="path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        path = event.value.strip()
        if path:
            self.dismiss(path)
        else:
            self.notify("type a file name first", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)
