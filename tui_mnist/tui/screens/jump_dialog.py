"""The inspector's "go to" dialog: asks for a test image's index."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static


class JumpDialog(ModalScreen[int | None]):
    """Asks for an index in [0, count); dismisses with it, or None on escape."""

    CSS_PATH = "jump_dialog.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def compose(self) -> ComposeResult:
        with Vertical(id="jump"):
            yield Label(f"Go to test image 0-{self.count - 1}:")
            yield Input(type="integer", id="jump-index", compact=True)
            yield Static("", id="jump-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            index = int(event.value)
        except ValueError:
            index = -1
        if 0 <= index < self.count:
            self.dismiss(index)
        else:
            self.query_one("#jump-error", Static).update(
                f"index: {event.value!r} is not between 0 and {self.count - 1}"
            )

    def action_cancel(self) -> None:
        self.dismiss(None)
