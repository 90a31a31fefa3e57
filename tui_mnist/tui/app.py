"""The Textual app: configure a run, watch it train, inspect the network, look back at runs.

Screens: ConfigureScreen -> TrainingScreen (one per run, each with its own session) ->
InspectorScreen; ConfigureScreen -> RunsScreen -> CompareScreen, or a TrainingScreen attached
to a live run or resuming an old one; HelpScreen over any of them; TooSmallScreen over
everything while the terminal is below the minimum size.

Runs train in detached processes (tui_mnist.session.detached): the app stops a run only when
asked to (`s`, or ctrl+q for a run it started); `d`, a lost terminal or a crash leave it
training, and `tui-mnist attach` (or the runs list) reconnects.

Once the first screen and then a run's screen are drawn, every object alive (modules,
styles, widgets) is frozen out of the garbage collector's sight (gc.freeze): otherwise a full
collection walked them all every ~2 s during training, a 65-105 ms pause that a key press
landing in it waited out (17-47 ms once frozen; benchmarks/keypress_latency.py).

Only what the first screen needs is imported up front: the other screens and the sessions
(numpy, plotext, the run machinery) are imported where they are first used, so that the
settings appear sooner.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import EngineError
from tui_mnist.tui.screens.configure import ConfigureScreen
from tui_mnist.tui.screens.help import HelpScreen, key_help
from tui_mnist.tui.screens.too_small import TooSmallScreen, is_too_small

if TYPE_CHECKING:
    from tui_mnist.session.protocol import Session
    from tui_mnist.tui.screens.inspector import InspectSource
    from tui_mnist.tui.screens.runs import RunsScreen

# A running session gets this long to end when the app quits (it stops after one batch).
QUIT_GRACE_SECONDS = 1.0


class MnistApp(App):
    # Absolute paths: subclasses live elsewhere. The first screen is the app's default screen,
    # whose own CSS_PATH Textual 8 never loads (only pushed screens get theirs): load it here.
    CSS_PATH = [
        Path(__file__).with_name("app.tcss"),
        Path(__file__).parent / "screens" / "configure.tcss",
        Path(__file__).parent / "screens" / "inspector.tcss",
    ]
    TITLE = "tui-mnist"
    BINDINGS = [
        Binding("f1", "help", "help", tooltip="List the keys of this screen"),
        Binding("question_mark", "help", "help", key_display="?", show=False,
                tooltip="List the keys of this screen"),
        Binding("ctrl+o", "runs", "runs",
                tooltip="List the runs: compare them, attach to a live one, resume one"),
        Binding("ctrl+q", "quit", "quit", priority=True,
                tooltip="Quit: stops a run started here (d leaves it training)"),
    ]

    def __init__(
        self,
        initial: TrainConfig | None = None,
        inspect_source: InspectSource | None = None,
        session_factory: Callable[[], Session] | None = None,
        clock: Callable[[], float] = time.monotonic,
        runs_dir: Path | None = None,
        attach: Path | None = None,
    ) -> None:
        """`session_factory` makes the session of each run started from the settings (by
        default a detached trainer in `runs_dir`); `attach`: a live run's folder to open on."""
        super().__init__()
        self.initial = initial or TrainConfig()
        self.inspect_source = inspect_source
        self.runs_dir = runs_dir  # None: $TUI_MNIST_RUNS or the user's data directory
        self.session_factory = session_factory or self.new_detached_session
        self.attach = attach
        self.clock = clock
        self.sessions: list[Session] = []
        self.started_here: list[Session] = []  # ctrl+q stops these runs; attached ones go on

    def new_detached_session(self) -> Session:
        from tui_mnist.session.detached import DetachedSession

        return DetachedSession.new(self.runs_dir)

    def get_default_screen(self) -> Screen:
        if self.inspect_source is not None:
            from tui_mnist.tui.screens.inspector import InspectorScreen

            return InspectorScreen.of(self.inspect_source)
        return ConfigureScreen(self.initial)

    def on_mount(self) -> None:
        self._fit(self.size.width, self.size.height)
        self.call_after_refresh(gc.freeze)
        if self.attach is not None:
            from tui_mnist.session.detached import DetachedSession

            self.open_run(DetachedSession.attach(self.attach), self.initial, started_here=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a failed worker is told about; the app goes on (workers run with
        exit_on_error=False). A screen's workers report to the screen, which handles its own
        successes and passes its failures on to here."""
        if event.state == WorkerState.ERROR:
            worker = event.worker
            self.notify(f"{worker.name}: {worker.error}", severity="error")

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

    def open_run(self, session: Session, config: TrainConfig, started_here: bool) -> None:
        from tui_mnist.tui.screens.training import TrainingScreen

        # Only runs that may still be going are kept (an ended one holds its dataset in memory).
        ended = [earlier for earlier in self.sessions if earlier.join(0)]
        for earlier in ended:
            earlier.close()
        self.sessions = [s for s in self.sessions if s not in ended] + [session]
        self.started_here = [s for s in self.started_here if s not in ended]
        if started_here:
            self.started_here.append(session)
        self.push_screen(TrainingScreen(config, session, clock=self.clock))
        self.call_after_refresh(gc.freeze)

    def on_configure_screen_start_requested(self, message: ConfigureScreen.StartRequested) -> None:
        self.open_run(self.session_factory(), message.config, started_here=True)

    def on_runs_screen_attach_requested(self, message: RunsScreen.AttachRequested) -> None:
        from tui_mnist.session.detached import DetachedSession

        self.open_run(DetachedSession.attach(message.run_dir), message.config, started_here=False)

    def on_runs_screen_resume_requested(self, message: RunsScreen.ResumeRequested) -> None:
        from tui_mnist.session.detached import DetachedSession

        session = DetachedSession.from_checkpoint(message.reference, self.runs_dir)
        self.open_run(session, message.config, started_here=True)

    async def action_quit(self) -> None:
        for session in self.started_here:
            session.stop()
        self.exit()

    def on_unmount(self) -> None:
        # However the app ends, it lets go of its runs: a detached trainer goes on (a stop
        # given by ctrl+q or `s` is still delivered), an in-process one stops. Each gets a
        # moment to finish, so that quitting mid-run does not wait for the run.
        for session in self.sessions:
            session.close()
        deadline = time.monotonic() + QUIT_GRACE_SECONDS
        for session in self.sessions:
            session.join(max(0.0, deadline - time.monotonic()))

    def action_runs(self) -> None:
        from tui_mnist.runs.store import resolve_runs_dir
        from tui_mnist.tui.screens.runs import RunsScreen

        try:
            runs_dir = resolve_runs_dir(self.runs_dir)
        except EngineError as error:
            self.notify(str(error), severity="error")
            return
        self.push_screen(RunsScreen(runs_dir))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Over the "too small" notice, keys would act on screens the user cannot see.
        if action in ("help", "command_palette"):
            return not isinstance(self.screen, TooSmallScreen)
        if action == "runs":  # from the settings only: not over a run being watched
            screen = self.screen.beneath if isinstance(self.screen, HelpScreen) else self.screen
            return isinstance(screen, ConfigureScreen)
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
        if self.check_action("runs", ()):
            detail = "Compare, attach to or resume runs (ctrl+o)"
            yield SystemCommand("Runs", detail, self.action_runs)
        yield from super().get_system_commands(screen)


def run_app(
    inspect_model: Path | None = None, data_dir: str | None = None, attach: Path | None = None
) -> int:
    """Open the app: on the inspector when a model file is given, on a live run's training
    screen when its folder is given, else on the settings; the exit status."""
    try:
        if inspect_model is not None:
            from tui_mnist.tui.screens.inspector import InspectSource

            source = InspectSource.from_model_file(inspect_model, data_dir)
            app = MnistApp(initial=TrainConfig(data_dir=data_dir), inspect_source=source)
        elif attach is not None:
            from tui_mnist.runs.store import RunFolder

            folder = RunFolder(attach)
            config, runs_dir = folder.train_config(), folder.runs_dir
            app = MnistApp(initial=config, runs_dir=runs_dir, attach=folder.path)
        else:
            app = MnistApp(initial=TrainConfig(data_dir=data_dir))
    except EngineError as error:
        print(f"tui-mnist: {error}", file=sys.stderr)
        return 1
    app.run()
    return app.return_code or 0
