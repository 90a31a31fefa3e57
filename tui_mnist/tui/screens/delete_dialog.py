"""Ask before a run's folder is deleted: y (or the Delete button) deletes, n or esc keeps it.
Dismisses with True to delete, False to keep; the focus starts on Keep, so a stray enter
deletes nothing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

from tui_mnist.runs.ledger import RunSummary


class DeleteDialog(ModalScreen[bool]):
    CSS_PATH = "delete_dialog.tcss"
    BINDINGS = [
        Binding("y", "answer(True)", "delete", tooltip="Delete the run's folder"),
        Binding("n,escape", "answer(False)", "keep", key_display="n", tooltip="Keep the run"),
    ]

    def __init__(self, run: RunSummary, checkpoints: int) -> None:
        super().__init__()
        self.run = run
        self.checkpoints = checkpoints

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.border_title = f"Delete run {self.run.id}?"
            box.border_subtitle = "y deletes · n or esc keeps"
            saved = f"{self.checkpoints} checkpoint{'' if self.checkpoints == 1 else 's'}"
            yield Label(
                f"{self.run.architecture}, {self.run.state} at epoch {self.run.epoch}/{self.run.epochs}: "
                f"its settings, metrics and {saved} go, for good."
            )
            with Horizontal(id="buttons"):
                yield Button("Keep", id="keep", variant="primary", compact=True)
                yield Button("Delete", id="delete", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "delete")

    def action_answer(self, delete: bool) -> None:
        self.dismiss(delete)
