"""MnistScreen: the frame the views share (a heading line, the view's body, the compact footer,
esc to go back) and the one "update a Static only when its text changed" cache."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static


class MnistScreen(Screen):
    DEFAULT_CSS = """
    MnistScreen {
        layout: vertical;

        #heading {
            height: 1;
            text-style: bold;
            background: $panel;
            padding: 0 1;
        }
    }
    """
    BINDINGS = [Binding("escape", "back", "back", key_display="esc", tooltip="Go back")]

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="heading", markup=False)
        yield from self.compose_body()
        yield Footer(compact=True, show_command_palette=False)  # room for a key; f1 lists ^p

    def compose_body(self) -> ComposeResult:
        yield from ()

    def show_text(self, selector: str, text: str) -> None:
        """Update the Static at `selector`, only when its text changed (an update lays out)."""
        if self._shown.get(selector) != text:
            self._shown[selector] = text
            self.query_one(selector, Static).update(text)

    def action_back(self) -> None:
        # Opened as the only screen (`tui-mnist inspect`), there is nothing to go back to.
        if len(self.app.screen_stack) > 1:
            self.dismiss()
        else:
            self.app.exit()
