"""One question with a one-line answer: the dialogs that ask for a file name, a note, an index.

A subclass says how a typed answer reads (`answer`); one that stands for nothing raises
ValueError with the reason, shown under the field. Enter answers, escape dismisses with None.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

Answer = TypeVar("Answer")


class AskDialog(ModalScreen[Answer | None], Generic[Answer]):
    CSS_PATH = "ask_dialog.tcss"
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(
        self,
        title: str,
        question: str,
        value: str = "",
        *,
        placeholder: str = "",
        select_on_focus: bool = True,
        integer: bool = False,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.value = value
        self.placeholder = placeholder
        self.select_on_focus = select_on_focus
        self.integer = integer

    def compose(self) -> ComposeResult:
        with Vertical(id="ask") as box:
            box.border_title = self.title_text
            box.border_subtitle = "enter · esc cancels"
            yield Label(self.question)
            yield Input(
                self.value,
                placeholder=self.placeholder,
                type="integer" if self.integer else "text",
                select_on_focus=self.select_on_focus,
                compact=True,
                id="answer",
            )
            yield Static("", id="ask-error")

    def answer(self, text: str) -> Answer:
        """What the typed text stands for; ValueError saying why when it stands for nothing."""
        return text

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            answer = self.answer(event.value)
        except ValueError as error:
            self.query_one("#ask-error", Static).update(str(error))
            return
        self.dismiss(answer)

    def action_cancel(self) -> None:
        self.dismiss(None)
