"""A small dialog for a run's note (free text, its #words are tags); dismisses with the text
typed (perhaps empty: no note), or None on escape."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class NoteDialog(ModalScreen[str | None]):
    CSS_PATH = "note_dialog.tcss"
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, run_id: str, note: str = "") -> None:
        super().__init__()
        self.run_id = run_id
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="note-box") as box:
            box.border_title = f"Note on run {self.run_id}"
            box.border_subtitle = "enter saves · esc cancels"
            yield Label("Free text; words starting with # are tags (#keep):")
            # The cursor after the note, nothing selected: adding a tag is the usual edit
            # (ctrl+u clears it all).
            yield Input(self.note, placeholder="e.g. wide net #keep", id="note", compact=True,
                        select_on_focus=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
