"""Shown instead of everything else while the terminal is smaller than the app can lay out."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_WIDTH = 60
MIN_HEIGHT = 20


def is_too_small(width: int, height: int) -> bool:
    return width < MIN_WIDTH or height < MIN_HEIGHT


class TooSmallScreen(Screen):
    CSS_PATH = "too_small.tcss"

    def compose(self) -> ComposeResult:
        yield Static(id="message")

    def on_mount(self) -> None:
        self.show_size(self.app.size.width, self.app.size.height)

    def show_size(self, width: int, height: int) -> None:
        self.query_one("#message", Static).update(
            f"The window is too small ({width}×{height}).\n"
            f"tui-mnist needs at least {MIN_WIDTH}×{MIN_HEIGHT}.\n"
            "Enlarge it, or press ctrl+q to quit."
        )
