"""Asks for a run's note (free text, its #words are tags); dismisses with the text typed
(perhaps empty: no note), or None."""

from __future__ import annotations

from tui_mnist.tui.screens.ask_dialog import AskDialog


class NoteDialog(AskDialog[str]):
    def __init__(self, run_id: str, note: str = "") -> None:
        # The cursor after the note, nothing selected: adding a tag is the usual edit (ctrl+u
        # clears it all).
        super().__init__(
            f"Note on run {run_id}",
            "Free text; words starting with # are tags (#keep):",
            note,
            placeholder="e.g. wide net #keep",
            select_on_focus=False,
        )
