"""The inspector's "go to" dialog: asks for a test image's index; dismisses with it, or None."""

from __future__ import annotations

from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.settings import Bounds, whole_in
from tui_mnist.tui.screens.ask_dialog import AskDialog


class JumpDialog(AskDialog[int]):
    def __init__(self, count: int) -> None:
        super().__init__("Go to", f"Test image 0-{count - 1}:", integer=True)
        self.count = count

    def answer(self, text: str) -> int:
        try:
            return whole_in(text, Bounds(0, self.count - 1), "index")
        except ConfigError:
            raise ValueError(f"index: {text!r} is not between 0 and {self.count - 1}") from None
