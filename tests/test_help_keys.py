"""key_help: one row per action, each key once, and the app's keys a screen binds left out."""

from __future__ import annotations

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from tui_mnist.tui.screens.help import key_help


class Keyed(Screen):
    BINDINGS = [
        Binding("right,j", "move(1)", "next", key_display="j/→", tooltip="Next image"),
        Binding("escape,q", "back", "back", key_display="q"),
        Binding("escape,c", "leave", "leave"),
        Binding("ctrl+o", "app.runs", "runs", show=False),
    ]

    def action_back(self) -> None: ...
    def action_leave(self) -> None: ...


class Host(App):
    BINDINGS = [
        Binding("f1", "help", "help"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("ctrl+o", "runs", "runs"),
        Binding("ctrl+q", "quit", "quit", priority=True),
    ]

    def on_mount(self) -> None:
        self.push_screen(Keyed())


async def test_each_key_is_listed_once():
    app = Host()
    async with app.run_test() as pilot:
        await pilot.pause()
        rows = {(row.keys, row.description) for row in key_help(app.screen)}
    assert rows == {
        ("j/→", "next"), ("q", "back"), ("esc/c", "leave"), ("^o", "runs"),
        ("f1/?", "help"), ("^q", "quit"),
    }
