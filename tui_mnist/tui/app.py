"""The Textual app: configure a run, watch it train, inspect the network, look back at runs.

Screens: ConfigureScreen -> TrainingScreen (one per run, each with its own session) ->
InspectorScreen; ConfigureScreen (or a TrainingScreen) -> RunsScreen -> CompareScreen, a
RunReviewScreen (an ended run's training screen, read-only), an EditSettingsScreen (a run's
settings in the form, to start a new run), or a TrainingScreen attached to a live run or
resuming an old one, which esc, d or ctrl+o leave for the list again (one RunsScreen at
most); HelpScreen over any of them; TooSmallScreen over everything while the terminal is
below the minimum size. ctrl+t saves a picture of whichever screen is shown (screenshot_dir).

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

import asyncio
import errno
import gc
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
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
SCREENSHOTS_ENV = "TUI_MNIST_SCREENSHOTS"  # the folder ctrl+t saves into (see screenshot_dir)


class MnistApp(App):
    # Absolute paths: subclasses live elsewhere. Every screen's CSS, loaded once at the start:
    # the default screen's own CSS_PATH is never loaded by Textual 8 (only pushed screens get
    # theirs), and a screen's first push would otherwise parse and apply the whole stylesheet
    # again (~140 ms on the UI thread, taken from a run that trains meanwhile). Each file nests
    # its rules under its screen's type, so loading them all changes no style.
    CSS_PATH = [
        Path(__file__).with_name("app.tcss"),
        *sorted((Path(__file__).parent / "screens").glob("*.tcss")),
    ]
    TITLE = "tui-mnist"
    BINDINGS = [
        Binding("f1", "help", "help", tooltip="List the keys of this screen"),
        Binding("question_mark", "help", "help", key_display="?", show=False,
                tooltip="List the keys of this screen"),
        Binding("ctrl+o", "runs", "runs",
                tooltip="List the runs: compare them, attach to a live one, resume one"),
        # Not in the footers (full at 80 columns): f1 and the palette list it. No text field
        # binds ctrl+f (Textual 8's Input and TextArea leave it free), so it reaches the app.
        Binding("ctrl+f", "sweeps", "sweeps", show=False,
                tooltip="Sweeps: watch one (its trials, best curves, the settings that matter) or start one"),
        Binding("ctrl+q", "quit", "quit", priority=True,
                tooltip="Quit: stops a run started here (d leaves it training)"),
        # Not in the footers (they are full at 80 columns): f1 and the palette list it. No
        # text field binds ctrl+t, so it reaches the app from any of them.
        Binding("ctrl+t", "screenshot", "screenshot", show=False,
                tooltip="Save the screen as an SVG picture (its path is shown)"),
    ]

    def __init__(
        self,
        initial: TrainConfig | None = None,
        inspect_source: InspectSource | None = None,
        session_factory: Callable[[], Session] | None = None,
        clock: Callable[[], float] = time.monotonic,
        runs_dir: Path | None = None,
        attach: Path | None = None,
        sweep: str | None = None,
    ) -> None:
        """`session_factory` makes the session of each run started from the settings (by
        default a detached trainer in `runs_dir`); `attach`: a live run's folder to open on;
        `sweep`: the id of a sweep in `runs_dir` to open on."""
        super().__init__()
        self.initial = initial or TrainConfig()
        self.inspect_source = inspect_source
        self.runs_dir = runs_dir  # None: $TUI_MNIST_RUNS or the user's data directory
        self.session_factory = session_factory or self.new_detached_session
        self.attach = attach
        self.sweep = sweep
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
        if not self.is_headless:  # a real terminal (tests drive the app headless)
            self.exit_cleanly_on(signal.SIGHUP, signal.SIGTERM)
        if self.attach is not None:
            from tui_mnist.session.detached import DetachedSession

            self.open_run(DetachedSession.attach(self.attach), self.initial, started_here=False)
        if self.sweep is not None:
            from tui_mnist.tui.screens.sweep import SweepScreen

            self.push_screen(SweepScreen(self.runs_dir, self.sweep, base=self.initial))

    def exit_cleanly_on(self, *signals: int) -> None:
        """A hangup of the terminal or a kill ends the app as ctrl+q would, minus the stop:
        through on_unmount, so its sessions let go of their runs and remove their scratch
        folders (by default these signals end the process on the spot)."""
        loop = asyncio.get_running_loop()
        for signum in signals:
            loop.add_signal_handler(signum, partial(self.exit, return_code=128 + signum))

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
        screen = TrainingScreen(config, session, clock=self.clock, attached=not started_here)
        self.push_screen(screen, partial(self.run_left, session))
        self.call_after_refresh(gc.freeze)

    def run_left(self, session: Session, _result: object = None) -> None:
        """The screen of `session` was left (esc, d, or ctrl+o back to the runs list): let go
        of the run. A detachable run goes on training, and is no longer this window's to stop."""
        if session not in self.sessions:
            return
        if session.detachable and not session.join(0):
            self.notify(f"Run {session.run_id} goes on training in the background", title="Left")
        session.close()
        self.sessions.remove(session)
        if session in self.started_here:
            self.started_here.remove(session)

    def on_configure_screen_start_requested(self, message: ConfigureScreen.StartRequested) -> None:
        # Once per start: a second ctrl+r (or click) that reached the settings before the first
        # start's run screen covered them finds that screen on top, and starts nothing.
        if not isinstance(self.screen, ConfigureScreen):
            return
        self.open_run(self.session_factory(), message.config, started_here=True)

    def on_runs_screen_attach_requested(self, message: RunsScreen.AttachRequested) -> None:
        from tui_mnist.session.detached import DetachedSession

        for screen in self.screen_stack:  # already open beneath the list (ctrl+o from a run)
            if is_training_screen(screen) and screen.session.run_id == message.run_dir.name:
                screen.pop_until_active()
                return
        self.open_run(DetachedSession.attach(message.run_dir), message.config, started_here=False)

    def on_runs_screen_resume_requested(self, message: RunsScreen.ResumeRequested) -> None:
        from tui_mnist.session.detached import DetachedSession

        session = DetachedSession.from_checkpoint(message.reference, self.runs_dir)
        self.open_run(session, message.config, started_here=True)

    async def action_quit(self) -> None:
        """Quit; a run started here that is still going is stopped, once the user says so."""
        from tui_mnist.tui.screens.quit_dialog import QuitDialog

        if isinstance(self.screen, QuitDialog):  # already asking
            return
        going = self.runs_to_stop()
        if not going:
            self.exit()
            return
        self.push_screen(QuitDialog(len(going)), self._quit_answered)

    def runs_to_stop(self) -> list[Session]:
        """The runs that quitting stops: started in this window and not ended."""
        return [session for session in self.started_here if not session.join(0)]

    def _quit_answered(self, stop: bool | None) -> None:
        if not stop:
            return
        going = self.runs_to_stop()
        for session in going:
            session.stop()
        ids = ", ".join(session.run_id for session in going if session.run_id)
        message = (
            f"Stopped run {ids} (started in this window): tui-mnist runs lists it" if ids
            else f"Stopped the run{'s' if len(going) > 1 else ''} started in this window"
        )
        self.notify(message, title="Stopped")
        self.exit(message=message)

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
        from tui_mnist.tui.screens.runs import RunsScreen

        self.open_once(RunsScreen, RunsScreen)

    def action_sweeps(self) -> None:
        from tui_mnist.tui.screens.sweep import SweepScreen

        self.open_once(SweepScreen, lambda runs_dir: SweepScreen(runs_dir, base=self.initial))

    def open_once(self, kind: type[Screen], make: Callable[[Path], Screen]) -> None:
        """The screen of `kind` on the runs directory, made by `make`: one at most, so back to
        it when it is open (the runs and sweeps above it go on)."""
        from tui_mnist.runs.store import resolve_runs_dir

        try:
            runs_dir = resolve_runs_dir(self.runs_dir)
        except EngineError as error:
            self.notify(str(error), severity="error")
            return
        for screen in self.screen_stack:
            if isinstance(screen, kind):
                screen.pop_until_active()
                return
        self.push_screen(make(runs_dir))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Over the "too small" notice, keys would act on screens the user cannot see.
        if action in ("help", "command_palette"):
            return not isinstance(self.screen, TooSmallScreen)
        if action == "runs":  # from the settings, and from a run's screen (the run goes on)
            screen = self.screen.beneath if isinstance(self.screen, HelpScreen) else self.screen
            return isinstance(screen, ConfigureScreen) or is_training_screen(screen)
        if action == "sweeps":  # not over a dialog
            return not isinstance(self.screen, (TooSmallScreen, ModalScreen))
        return True

    def action_help(self) -> None:
        if not isinstance(self.screen, (TooSmallScreen, HelpScreen)):
            self.push_screen(HelpScreen(self.screen))

    def action_screenshot(self) -> None:
        """Save the screen as an SVG file named after it and the time, and say where; a
        folder or file that cannot be written is a notice, never a crash."""
        try:
            folder = screenshot_dir()
            folder.mkdir(parents=True, exist_ok=True)
            path = new_screenshot_file(folder, screen_name(self.screen), self.export_screenshot())
        except OSError as error:
            where = error.filename or screenshot_dir()
            reason = error.strerror or error
            self.notify(f"{where}: cannot write ({reason})", title="Screenshot not saved",
                        severity="error", timeout=10)
            return
        self.notify(str(path), title="Screenshot saved", markup=False, timeout=10)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for row in key_help(screen):
            # A screen's binding of an app action ("app.runs") is offered once, below.
            if row.enabled and row.node is screen and not row.action.startswith("app."):
                callback = partial(screen.run_action, row.action)
                yield SystemCommand(row.detail or row.description, f"key: {row.keys}", callback)
        yield SystemCommand("Help", "List the keys of this screen (f1 or ?)", self.action_help)
        if self.check_action("runs", ()):
            detail = "Compare, attach to or resume runs (ctrl+o)"
            yield SystemCommand("Runs", detail, self.action_runs)
        if self.check_action("sweeps", ()):
            yield SystemCommand("Sweeps", "Watch or start hyper-parameter sweeps: trials, curves, importances "
                                "(ctrl+f)", self.action_sweeps)
        quit_detail = "Quit the app (ctrl+q)"
        if self.runs_to_stop():
            quit_detail = "Quit: asks, then stops the run started here (d leaves it training)"
        yield SystemCommand("Quit", quit_detail, self.action_quit)
        # After a moment: the picture is of the screen, not of the palette closing over it.
        yield SystemCommand(
            "Screenshot", f"Save an SVG picture of this screen in {screenshot_dir()} (ctrl+t)",
            lambda: self.set_timer(0.1, self.action_screenshot),
        )
        for command in super().get_system_commands(screen):
            # Textual's Keys panel repeats our Help; its Quit does not say it stops the run; its
            # Screenshot goes to the downloads folder with no word when it fails.
            if command.title not in ("Keys", "Quit", "Screenshot"):
                yield command


def screenshot_dir() -> Path:
    """$TUI_MNIST_SCREENSHOTS, else a tui-mnist folder in the user's pictures folder (platformdirs:
    $XDG_PICTURES_DIR or ~/Pictures on Linux), where screenshot tools put theirs; not the
    current folder (Textual's save_screenshot), which is wherever the app was started from."""
    if os.environ.get(SCREENSHOTS_ENV):
        return Path(os.environ[SCREENSHOTS_ENV]).expanduser()
    from platformdirs import user_pictures_dir

    return Path(user_pictures_dir()) / "tui-mnist"


def screen_name(screen: Screen) -> str:
    """`inspector` for an InspectorScreen: what a screenshot's file name says it shows."""
    name = type(screen).__name__
    return (name.removesuffix("Screen") or name).lower()


def new_screenshot_file(folder: Path, what: str, svg: str) -> Path:
    """Write `svg` to a new file `tui-mnist-<what>-<date>-<time>.svg` in `folder` (with -2, -3...
    after a second one within the same second), never over an existing file; its path."""
    stem = f"tui-mnist-{what}-{time.strftime('%Y%m%d-%H%M%S')}"
    for count in range(1, 100):
        path = folder / (f"{stem}.svg" if count == 1 else f"{stem}-{count}.svg")
        try:
            with path.open("x", encoding="utf-8") as file:
                file.write(svg)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "99 screenshots within this second", str(folder / f"{stem}.svg"))


def is_training_screen(screen: Screen) -> bool:
    """Without importing the training screen (and numpy) before any run is shown."""
    training = sys.modules.get("tui_mnist.tui.screens.training")
    return training is not None and isinstance(screen, training.TrainingScreen)


def run_app(
    inspect_model: Path | None = None, data_dir: str | None = None, attach: Path | None = None,
    sweep: Path | None = None,
) -> int:
    """Open the app: on the inspector when a model file is given, on a live run's training
    screen when its folder is given, on a sweep's screen when its folder is given, else on the
    settings; the exit status."""
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
        elif sweep is not None:  # <runs dir>/sweeps/<id>
            app = MnistApp(runs_dir=sweep.parent.parent, sweep=sweep.name)
        else:
            app = MnistApp(initial=TrainConfig(data_dir=data_dir))
    except EngineError as error:
        print(f"tui-mnist: {error}", file=sys.stderr)
        return 1
    app.run()
    return app.return_code or 0
