"""Draw a digit and watch the network read it: a canvas (mouse, or the cursor keys), the ten
probabilities, and the 28x28 image the network is given (the drawing cropped, scaled and
centred as MNIST's digits were, `engine.preprocess.mnist_like`).

The network comes the way the inspector's does (`InspectSource`, through a `fetch` that may
take a trip to a live run's trainer): in a worker, behind a loading indicator, while the
canvas already takes ink. Predicting one drawing then happens on the UI thread at every
change: preprocessing plus a forward pass take ~0.2 ms for a 784-128-10 network
(benchmarked in tests/test_app_draw.py), far below a frame.

`s` appends the network's input with a typed label to the user's own digits, IDX files of
MNIST's layout named like its test files (`digits_dir()`), which `--data-dir` style readers
open like MNIST.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.errors import EngineError
from tui_mnist.engine.metrics import predict_proba
from tui_mnist.engine.my_digits import append_digit
from tui_mnist.engine.preprocess import FIELD, mnist_like
from tui_mnist.tui.screens.base import MnistScreen
from tui_mnist.tui.screens.inspector import InspectSource
from tui_mnist.tui.screens.label_dialog import LabelDialog
from tui_mnist.tui.screens.source_view import SourceFetch, SourceView
from tui_mnist.tui.widgets.canvas import DigitCanvas
from tui_mnist.tui.widgets.digit import DigitView, app_has_color
from tui_mnist.tui.widgets.digit_grid import thumbnail
from tui_mnist.tui.widgets.probabilities import ProbabilityBars

DIGITS_FOLDER = "my-digits"
SIDE_WIDTH = 49  # the probabilities' column, with its margin: bars 20 cells long
CHROME_ROWS = 3  # title, status and footer
BORDER = 2
FULL_VIEW_ROWS = 1 + 10 + 1 + FIELD // 2  # verdict, bars, gap, the network's input at full size


# --- the user's own digits, in MNIST's layout ----------------------------------------------

def digits_dir() -> Path:
    """Where saved drawings go: `my-digits` in the user's data directory, beside the runs."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("tui-mnist")) / DIGITS_FOLDER


# --- the screen ----------------------------------------------------------------------------

class DrawScreen(SourceView, MnistScreen):
    CSS_PATH = "draw.tcss"
    TITLE = "Draw"
    BINDINGS = [
        # At 80 columns the footer holds paint to back plus the app's help and quit: the
        # arrows, p and the brush's keys are named in the status line (and in the help).
        Binding("up", "move(-1, 0)", "move", key_display="←↑↓→", show=False,
                tooltip="Move the cursor (with the pen down, drawing on the way)"),
        Binding("down", "move(1, 0)", "down", show=False, tooltip="Move the cursor down"),
        Binding("left", "move(0, -1)", "left", show=False, tooltip="Move the cursor left"),
        Binding("right", "move(0, 1)", "right", show=False, tooltip="Move the cursor right"),
        Binding("space", "stamp", "paint", tooltip="Paint (or erase) once with the brush at the cursor"),
        Binding("p", "toggle_pen", "pen", show=False,
                tooltip="Pen down: the arrows draw as the cursor moves; again lifts it"),
        Binding("left_square_bracket", "brush(-1)", "smaller brush", key_display="[",
                show=False, tooltip="A smaller brush"),
        Binding("right_square_bracket", "brush(1)", "bigger brush", show=False,
                key_display="]", tooltip="A bigger brush"),
        Binding("e", "toggle_eraser", "erase", tooltip="Erase instead of paint; again paints"),
        Binding("c", "clear", "clear", tooltip="Clear the canvas"),
        Binding("t", "toggle_ascii", "ascii", show=False,
                tooltip="Draw in plain ASCII characters, or in half blocks again"),
        Binding("s", "save", "save",
                tooltip="Save the digit the network sees, with the label you type, to your digits"),
        Binding("escape", "back", "back", key_display="esc", tooltip="Leave the drawing"),
    ]

    ascii_art = reactive(False)
    """The canvas and the network's input drawn with the character ramp (t)."""

    def __init__(self, title: str, fetch: SourceFetch, digits_folder: Path | None = None,
                 **kwargs) -> None:
        """`fetch` brings the network (EngineError explains why it cannot); the canvas works
        meanwhile. Saved digits go to `digits_folder`, by default `digits_dir()`."""
        super().__init__(**kwargs)
        self.title_text = title
        self.fetch = fetch
        self.digits_folder = digits_folder
        self.source: InspectSource | None = None  # set when the `load` worker succeeds
        self.network_input = np.zeros((FIELD, FIELD), np.uint8)  # what the network is given
        self.probs: np.ndarray | None = None
        self.pen_down = False
        self.full_view = False  # the network's input at full size (tall windows) or half

    @property
    def canvas(self) -> DigitCanvas:
        return self.query_one(DigitCanvas)

    def compose_body(self) -> ComposeResult:
        yield Static("", id="status")
        with Horizontal(id="main"):
            with Container(id="canvas-box"):
                yield DigitCanvas().data_bind(DrawScreen.ascii_art)
            with Vertical(id="side"):
                yield Static("loading the network…", id="verdict")
                yield ProbabilityBars(id="probs")
                with Horizontal(id="seen-row"):
                    yield DigitView(id="seen").data_bind(DrawScreen.ascii_art)
                    yield Static("what the network is given: the ink cropped, scaled into "
                                 "20×20 and centred by its mass, as in MNIST", id="seen-text")

    def on_mount(self) -> None:
        self.show_text("#heading", f"Draw · {self.title_text}")
        self.query_one("#side").loading = True
        self.fit(self.app.size.width, self.app.size.height)
        self.show_status()
        self.show_input()
        self.load()

    def on_resize(self) -> None:
        self.fit(self.size.width, self.size.height)

    def fit(self, width: int, height: int) -> None:
        """The largest canvas beside the probabilities; the network's input at full size
        when there is room under them."""
        room = height - CHROME_ROWS
        self.canvas.fit(width - 2 - SIDE_WIDTH - BORDER, room - BORDER)
        full = room >= FULL_VIEW_ROWS
        if full != self.full_view:
            self.full_view = full
            self.show_input()

    @work(exclusive=True, exit_on_error=False, group="analysis")
    async def load(self) -> InspectSource:
        source = await self.fetch()
        inputs = source.network.sizes[0]
        if inputs != FIELD * FIELD:
            raise EngineError(f"the network takes {inputs} inputs; a drawing is 28×28 = 784")
        return source

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "analysis":
            if event.state == WorkerState.SUCCESS:
                self.query_one("#side").loading = False
                self.source = event.worker.result
                self.show_text("#heading", f"Draw · {self.source.title}")
                self.predict()
            elif event.state == WorkerState.ERROR:
                self.query_one("#side").loading = False
                self.query_one("#verdict", Static).update(f"no network: {event.worker.error}")
                # Worker messages do not bubble: the app's one error handler hears it from here.
                self.app.post_message(Worker.StateChanged(event.worker, event.state))
        elif event.worker.group == "save":
            if event.state == WorkerState.SUCCESS:
                label, count = event.worker.result
                self.notify(f"Saved as {label}: {count} digit{'s' * (count != 1)} in "
                            f"{self.saved_to()}", title="Saved")
            elif event.state == WorkerState.ERROR:
                self.notify(f"Not saved: {event.worker.error}", severity="error")

    # --- drawing and predicting --------------------------------------------------------------

    def on_digit_canvas_drawn(self, message: DigitCanvas.Drawn) -> None:
        self.network_input = mnist_like(message.pixels)
        self.show_input()
        self.predict()

    def show_input(self) -> None:
        image = self.network_input.reshape(-1)
        shape = (FIELD, FIELD)
        if not self.full_view:
            image, shape = thumbnail(image, shape)
        self.query_one("#seen", DigitView).show(image, shape)

    def predict(self) -> None:
        """The probabilities for the network's input (none for a blank canvas)."""
        if self.source is None:
            return
        verdict = self.query_one("#verdict", Static)
        if not self.network_input.any():
            self.probs = None
            verdict.update("draw a digit: mouse, or arrows and space")
        else:
            pixels = self.network_input.reshape(1, -1)
            self.probs = predict_proba(self.source.network, pixels, self.source.normalizer)[0]
            best = int(self.probs.argmax())
            verdict.update(f"looks like a {best} ({self.probs[best]:.1%})")
        # No true label: -1 marks none, and the prediction is the one marked.
        self.query_one(ProbabilityBars).show(self.probs, -1)

    @property
    def guess(self) -> int | None:
        return None if self.probs is None else int(self.probs.argmax())

    def show_status(self) -> None:
        canvas = self.canvas
        row, col = canvas.cursor
        tool = "eraser" if canvas.erasing else "brush"
        pen = "down" if self.pen_down else "up"
        self.query_one("#status", Static).update(
            f"{tool} {canvas.brush} ([ ]) · pen {pen} (p) · cursor {row},{col} (arrows) · t ascii"
        )
        self.set_class(canvas.erasing, "-erasing")

    # --- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_ascii" and not app_has_color(self):
            return None  # without colour the drawing is ASCII already
        return True

    def action_toggle_ascii(self) -> None:
        self.ascii_art = not self.ascii_art

    def action_move(self, rows: int, cols: int) -> None:
        self.canvas.move_cursor(rows, cols, paint=self.pen_down)
        self.show_status()

    def action_stamp(self) -> None:
        self.canvas.stamp()

    def action_toggle_pen(self) -> None:
        self.pen_down = not self.pen_down
        if self.pen_down:  # the pen touches the paper where it is
            self.canvas.stamp()
        self.show_status()

    def action_brush(self, step: int) -> None:
        self.canvas.set_brush(self.canvas.brush + step)
        self.show_status()

    def action_toggle_eraser(self) -> None:
        self.canvas.set_erasing(not self.canvas.erasing)
        self.show_status()

    def action_clear(self) -> None:
        self.canvas.clear()

    def saved_to(self) -> Path:
        return self.digits_folder or digits_dir()

    def action_save(self) -> None:
        if not self.network_input.any():
            self.notify("Nothing to save: the canvas is blank", severity="warning")
            return
        image = self.network_input.copy()

        def labelled(label: int | None) -> None:
            if label is not None:
                self.save(image, label)

        self.app.push_screen(LabelDialog(str(self.saved_to()), self.guess), labelled)

    @work(thread=True, exit_on_error=False, group="save")
    def save(self, image: np.ndarray, label: int) -> tuple[int, int]:
        """Append in a thread: the files are read whole and written with an fsync."""
        return label, append_digit(self.saved_to(), image, label)
