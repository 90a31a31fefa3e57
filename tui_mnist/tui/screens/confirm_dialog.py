"""A yes/no question before something that cannot be undone: y (or the act button) answers
yes, n or esc no. Dismisses with True for yes; the focus starts on the safe button, so a stray
enter does nothing. DeleteDialog and QuitDialog are its questions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmDialog(ModalScreen[bool]):
    CSS_PATH = "confirm_dialog.tcss"
    # Subclasses bind y to answer(True) and n,escape to answer(False), with their own words.

    def __init__(self, title: str, text: str, hint: str, safe: str, act: str) -> None:
        super().__init__()
        self.title_text, self.text, self.hint = title, text, hint
        self.safe, self.act = safe, act  # the two buttons' labels

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as box:
            box.border_title = self.title_text
            box.border_subtitle = self.hint
            yield Static(self.text)  # wraps; a Label keeps to one line and cuts the text
            with Horizontal(id="buttons"):
                yield Button(self.safe, id="safe", variant="primary", compact=True)
                yield Button(self.act, id="act", variant="error", compact=True)

    def on_mount(self) -> None:
        self.query_one("#safe", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "act")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
