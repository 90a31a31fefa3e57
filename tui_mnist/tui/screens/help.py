"""The help screen: every key of the screen beneath it, and the app-wide keys."""

from __future__ import annotations

from dataclasses import dataclass

from rich.table import Table
from textual.actions import parse
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


@dataclass(frozen=True)
class KeyHelp:
    keys: str  # as displayed, e.g. "esc/c"
    description: str  # the footer's short text
    detail: str  # a sentence (the binding's tooltip), or ""
    action: str
    node: DOMNode  # where the action runs
    enabled: bool  # usable right now


def key_help(screen: Screen) -> list[KeyHelp]:
    """The described bindings of `screen` then of the app, one row per action with each of
    its keys once ("j/→" is the display of both keys of one binding), without the app's keys
    that the screen binds itself (those never reach the app)."""
    app = screen.app
    rows: dict[tuple[int, str], KeyHelp] = {}
    displays: dict[tuple[int, str], list[str]] = {}
    screen_keys: set[str] = set()
    for node in (screen, app):
        for binding in Binding.make_bindings(node.BINDINGS):
            if node is screen:
                screen_keys.add(binding.key)
            elif binding.key in screen_keys and not binding.priority:
                continue
            if binding.system or not binding.description:
                continue
            destination, name, parameters = parse(binding.action)
            target = app if destination == "app" else node
            enabled = target.check_action(name, parameters) is True
            row = (id(node), binding.action)
            shown = displays.setdefault(row, [])
            if (key := app.get_key_display(binding)) not in shown:
                shown.append(key)
            rows[row] = KeyHelp(
                "/".join(shown), binding.description, binding.tooltip, binding.action, node,
                enabled,
            )
    return list(rows.values())


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "close help")]

    def __init__(self, beneath: Screen) -> None:
        super().__init__()
        self.beneath = beneath

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what it does", ratio=1)
        for row in key_help(self.beneath):
            text = row.detail or row.description
            table.add_row(row.keys, text if row.enabled else f"{text} [dim](not now)[/]")
        palette_key = self.app.COMMAND_PALETTE_BINDING.replace("ctrl+", "^")
        table.add_row(palette_key, "all commands, searchable")
        with VerticalScroll(id="body") as body:
            body.border_title = f"Keys: {self.beneath.title or type(self.beneath).__name__}"
            body.border_subtitle = "esc/q/? closes"
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss()
