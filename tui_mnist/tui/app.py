"""The Textual app: configure a run, watch it train, inspect the network.

Screens: ConfigureScreen -> TrainingScreen (one per run, each with its own session) ->
InspectorScreen; HelpScreen over any of them; TooSmallScreen over everything while the
terminal is below the minimum size.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import EngineError
from tui_mnist.session import Session, ThreadSession
from tui_mnist.tui.screens.configure import ConfigureScreen
from tui_mnist.tui.screens.help import HelpScreen, key_help
from tui_mnist.tui.screens.inspector import InspectorScreen, InspectSource
from tui_mnist.tui.screens.too_small import TooSmallScreen, is_too_small
from tui_mnist.tui.screens.training import TrainingScreen

# A running session gets this long to end when the app quits (it stops after one batch).
QUIT_GRACE_SECONDS = 1.0


class MnistApp(App):
    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "tui-mnist"
    BINDINGS = [
        Binding("f1", "help", "help", tooltip="List the keys of this screen"),
        Binding("question_mark", "help", "help", key_display="?", show=False,
                tooltip="List the keys of this screen"),
        Binding("ctrl+q", "quit", "quit", priority=True, tooltip="Quit (stops any run)"),
    ]

    def __init__(
        self,
        initial: TrainConfig | None = None,
        inspect_source: InspectSource | None = None,
        session_factory: Callable[[], Session] = ThreadSession,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.initial = initial or TrainConfig()
        self.inspect_source = inspect_source
        self.session_factory = session_factory
        self.clock = clock
        self.sessions: list[Session] = []

    def get_default_screen(self) -> Screen:
        if self.inspect_source is not None:
            return InspectorScreen(self.inspect_source)
        return ConfigureScreen(self.initial)

    def on_mount(self) -> None:
        self._fit(self.size.width, self.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        covering = isinstance(self.screen, TooSmallScreen)
        if is_too_small(width, height):
            if covering:
                self.screen.show_size(width, height)
            else:
                self.push_screen(TooSmallScreen())
        elif covering:
            self.pop_screen()

    def on_configure_screen_start_requested(self, message: ConfigureScreen.StartRequested) -> None:
        session = self.session_factory()
        # Only runs that may still be going are kept (an ended one holds its dataset in memory).
        self.sessions = [earlier for earlier in self.sessions if not earlier.join(0)]
        self.sessions.append(session)
        self.push_screen(TrainingScreen(message.config, session, clock=self.clock))

    def on_unmount(self) -> None:
        # Quitting mid-run must not wait for the run: stop every worker, give each a moment.
        for session in self.sessions:
            session.stop()
        deadline = time.monotonic() + QUIT_GRACE_SECONDS
        for session in self.sessions:
            session.join(max(0.0, deadline - time.monotonic()))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Over the "too small" notice, keys would act on screens the user cannot see.
        if action in ("help", "command_palette"):
            return not isinstance(self.screen, TooSmallScreen)
        return True

    def action_help(self) -> None:
        if not isinstance(self.screen, (TooSmallScreen, HelpScreen)):
            self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for row in key_help(screen):
            if row.enabled and row.node is screen:
                callback = partial(screen.run_action, row.action)
                yield SystemCommand(row.detail or row.description, f"key: {row.keys}", callback)
        yield SystemCommand("Help", "List the keys of this screen (f1 or ?)", self.action_help)
        yield from super().get_system_commands(screen)


def run_app(inspect_model: Path | None = None, data_dir: str | None = None) -> int:
    """Open the app (on the inspector when a model file is given); the exit status."""
    source = None
    if inspect_model is not None:
        try:
            source = InspectSource.from_model_file(inspect_model, data_dir)
        except EngineError as error:
            print(f"tui-mnist: {error}", file=sys.stderr)
            return 1
    app = MnistApp(initial=TrainConfig(data_dir=data_dir), inspect_source=source)
    app.run()
    return app.return_code or 0
