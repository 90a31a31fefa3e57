"""Inspector: one test image at a time beside the network's probabilities for it, or a grid of
the filter's images, each under its predicted label (v switches). Digits are drawn in half blocks
or in plain ASCII (t switches); y copies the current one as ASCII art.

"Why this answer" (s): the single view's probabilities make way for a saliency map, the gradient
of the predicted class's logit with respect to the input pixels (S switches to the true class),
with the last hidden layer's five most active units beside it. The map is full size (28x14 cells
beside the digit, so both fit at 80x24) in weight_image's diverging palette: orange pixels raise
the class's score, blue ones lower it (under NO_COLOR the ramp's `:+#` and `.-=`). Its scale is
symmetric, the map divided by its own largest |gradient|: 0 stays neutral, the strongest pixel
of either sign is full colour, and one map's colours are not comparable with another's. (The
engine's gradient is in the normalized input space; pixel = that times the normalizer's scale, a
positive scalar, so the scaled map is the same.) One saliency is a forward and a backward pass
for one image (~0.2 ms at 784-128-10, 1-2 ms at 784-1024-10, benchmarks/insight_speed.py): it
runs on the UI thread whenever the image on display changes.

The screen opens at once; a worker then fetches what to look at (a live run's weights take a
trip to its trainer) and computes the predictions for the whole set once, behind a loading
indicator. Filters and orderings are then index arithmetic over those arrays.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.checkpoint import load_checkpoint
from tui_mnist.engine.data import Normalizer, load_dataset, load_test_set
from tui_mnist.engine.metrics import predict_proba
from tui_mnist.engine.model_io import check_fits_data, load_model
from tui_mnist.engine.network import Network
from tui_mnist.engine.saliency import Saliency, saliency
from tui_mnist.runs.store import RunFolder
from tui_mnist.session.protocol import Snapshot
from tui_mnist.tui.clipboard import copy_text
from tui_mnist.tui.screens.base import MnistScreen
from tui_mnist.tui.screens.epoch_replay import REPLAY_BINDINGS, EpochReplay
from tui_mnist.tui.screens.jump_dialog import JumpDialog
from tui_mnist.tui.screens.network_views import VIEW_BINDINGS, NetworkViews, view_of
from tui_mnist.tui.screens.source_view import SourceFetch, SourceView, already
from tui_mnist.tui.widgets.digit import DigitView, app_has_color, digit_ascii
from tui_mnist.tui.widgets.digit_grid import DigitGrid, GridCell
from tui_mnist.tui.widgets.probabilities import ProbabilityBars
from tui_mnist.tui.widgets.weight_image import WeightImage


@dataclass(frozen=True)
class InspectSource:
    """A network and the labelled images to look at it through.

    `network` is read on a worker thread: a loaded model or a session Snapshot's copy, never
    the live network a trainer is changing."""

    network: Network
    normalizer: Normalizer
    images: np.ndarray  # (n, rows*cols) uint8
    labels: np.ndarray  # (n,)
    shape: tuple[int, int]
    title: str
    set_name: str = "test"  # the images': "test" or "validation"

    @classmethod
    def of_snapshot(cls, snapshot: Snapshot) -> InspectSource:
        """A live run's weights (already a copy) on its test set."""
        title = f"live weights, epoch {snapshot.epoch}, step {snapshot.step}"
        return cls(snapshot.network, snapshot.normalizer, snapshot.images, snapshot.labels, snapshot.shape, title)

    @classmethod
    def from_model_file(cls, path: str | Path, data_dir: str | None = None) -> InspectSource:
        """The saved model on the test files of `data_dir` (only those are read: a folder of
        one's own drawn digits will do); EngineError subclasses explain any failure."""
        model = load_model(path)
        test, shape = load_test_set(data_dir)
        check_fits_data(path, model.network, test.images.shape[1])
        return cls(
            network=model.network,
            normalizer=model.normalizer,
            images=test.images,
            labels=test.labels,
            shape=shape,
            title=str(path),
        )

    @classmethod
    def from_checkpoint(cls, path: Path, validation: bool = False) -> InspectSource:
        """A run's checkpoint on its test set, or on its validation images (the split it was
        trained with); EngineError subclasses explain any failure."""
        checkpoint = load_checkpoint(path)
        config = checkpoint.config
        if validation:
            data = load_dataset(config.data_dir, val=config.val)
            images, labels, shape = data.x_val, data.y_val, data.shape
        else:
            test, shape = load_test_set(config.data_dir)
            images, labels = test.images, test.labels
        check_fits_data(path, checkpoint.network, images.shape[1])
        return cls(
            network=checkpoint.network,
            normalizer=checkpoint.normalizer,
            images=images,
            labels=labels,
            shape=shape,
            title=f"epoch {checkpoint.epoch} checkpoint",
            set_name="validation" if validation else "test",
        )


@dataclass(frozen=True)
class Predictions:
    probs: np.ndarray  # (n, classes)
    predicted: np.ndarray
    confidence: np.ndarray  # the winning probability
    wrong: np.ndarray  # bool

    @classmethod
    def of(cls, source: InspectSource) -> Predictions:
        probs = predict_proba(source.network, source.images, source.normalizer)
        predicted = probs.argmax(axis=1)
        return cls(probs, predicted, probs.max(axis=1), predicted != source.labels)


@dataclass(frozen=True)
class Filters:
    misclassified_only: bool = False
    label: int | None = None
    least_confident_first: bool = False
    predicted: int | None = None  # one predicted class (the confusion matrix's cells)

    def select(self, predictions: Predictions, labels: np.ndarray) -> np.ndarray:
        """Indices into the set, in display order."""
        keep = np.ones(len(labels), dtype=bool)
        if self.misclassified_only:
            keep &= predictions.wrong
        if self.label is not None:
            keep &= labels == self.label
        if self.predicted is not None:
            keep &= predictions.predicted == self.predicted
        chosen = np.flatnonzero(keep)
        if self.least_confident_first:
            chosen = chosen[np.argsort(predictions.confidence[chosen], kind="stable")]
        return chosen

    def describe(self) -> str:
        parts = []
        if self.misclassified_only:
            parts.append("misclassified")
        if self.label is not None:
            parts.append(f"true label {self.label}")
        if self.predicted is not None:
            parts.append(f"predicted {self.predicted}")
        order = "least confident first" if self.least_confident_first else "set order"
        return f"filter: {' + '.join(parts) or 'all'} · order: {order}"


class WheelBody(VerticalScroll):
    """The single view's body. Its wheel moves through the images (the event goes on to the
    screen) instead of scrolling; its scrollbar still scrolls a window too small for it."""

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.prevent_default()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.prevent_default()


# Keys that only mean something in the grid (hidden from the footer in the single view).
GRID_ACTIONS = {"page", "move_row", "open"}
# Keys that only mean something in the single view (hidden from the footer in the grid).
SINGLE_ACTIONS = {"toggle_why", "toggle_why_target"}


def saliency_map(gradient: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The gradient (rows*cols,) as a (rows, cols) map in [-1, 1]: divided by its largest
    |value|, so the sign is kept and 0 stays 0 (an all-zero gradient stays all zero)."""
    largest = float(np.abs(gradient).max())
    return gradient.reshape(shape) / (largest or 1.0)


def units_text(units: list[tuple[int, float]], has_hidden: bool) -> str:
    """The last hidden layer's most active units, one a line (`unit 17: 3.2`), under a heading;
    or why there are none."""
    if not has_hidden:
        return "no hidden layer:\nthe logits are\nlinear in the\npixels"
    if not units:
        return "last hidden\nlayer: no unit\nfired"
    return "top units,\nlast hidden\nlayer:\n" + "\n".join(f"unit {unit}: {value:.1f}" for unit, value in units)


def why_legend(target: int, color: bool) -> str:
    """What the map's colours (or, without colour, characters) mean for class `target`."""
    if color:
        return f"orange: for {target}\nblue: against"
    return f":+#: for {target}\n.-=: against"


class InspectorScreen(EpochReplay, SourceView, NetworkViews, MnistScreen):
    CSS_PATH = "inspector.tcss"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (60, "-wide")]

    grid_view = reactive(False, toggle_class="-grid", init=False)
    """Showing the grid of the filter's images instead of one image."""
    ascii_art = reactive(False)
    """Digits drawn with the character ramp instead of half blocks (bound to the widgets')."""
    why_shown = reactive(False, toggle_class="-why", init=False)
    """s: the saliency map of the image on display instead of its probabilities."""
    why_true = reactive(False, init=False)
    """S: the map explains the true class instead of the predicted one."""

    TITLE = "Inspector"
    BINDINGS = [
        Binding("right,j", "move(1)", "next", key_display="j/→",
                tooltip="Next image in the list"),
        Binding("left,k", "move(-1)", "prev", key_display="k/←",
                tooltip="Previous image in the list"),
        Binding("down", "move_row(1)", "row down", show=False,
                tooltip="Grid: the image below"),
        Binding("up", "move_row(-1)", "row up", show=False, tooltip="Grid: the image above"),
        Binding("pagedown", "page(1)", "next page", show=False, tooltip="Grid: the next page"),
        Binding("pageup", "page(-1)", "prev page", show=False, tooltip="Grid: the previous page"),
        Binding("enter", "open", "open", show=False,
                tooltip="Grid: open the selected image on its own"),
        Binding("home", "move_to(0)", "first", show=False, tooltip="First image in the list"),
        Binding("end", "move_to(-1)", "last", show=False, tooltip="Last image in the list"),
        Binding("m", "toggle_misclassified", "wrong",
                tooltip="Show only misclassified images, or all again"),
        Binding("l", "cycle_label", "label",
                tooltip="Cycle the true-label filter: none, 0 ... 9 (or press the digit; "
                "the same digit again lifts it)"),
        Binding("c", "toggle_order", "unsure",
                tooltip="Order least confident first, or back to set order"),
        # Not in the footer (m and the digit keys toggle their filters off): room for v.
        Binding("a", "show_all", "all", show=False, tooltip="Lift the filters"),
        Binding("g", "jump", "go to", tooltip="Go to a test image by its index"),
        Binding("v", "toggle_grid", "grid",
                tooltip="Switch between one image and a grid of the filter's images"),
        Binding("t", "toggle_ascii", "ascii",
                tooltip="Draw the digits in plain ASCII characters, or in half blocks again"),
        *VIEW_BINDINGS,
        *(replace(binding, show=False) for binding in REPLAY_BINDINGS),  # a full footer
        Binding("s", "toggle_why", "why",
                tooltip="Why this answer: which pixels drive the predicted class (instead of "
                "the probabilities), and the last hidden layer's most active units"),
        Binding("S", "toggle_why_target", "why true", show=False,
                tooltip="Why map: explain the true class instead of the predicted one, or back"),
        Binding("y", "copy_digit", "copy", show=False,
                tooltip="Copy the image as ASCII art, under its true and predicted labels"),
        Binding("escape,q", "back", "back", key_display="q", tooltip="Leave the inspector"),
        # No description: `l` documents them, and ten rows would crowd help and the palette.
        *(Binding(str(digit), f"only_label({digit})", show=False) for digit in range(10)),
    ]

    SKIPS_UNKEPT = True  # `[` and `]` step through the kept checkpoints only

    def __init__(self, title: str, fetch: SourceFetch, filters: Filters | None = None,
                 **kwargs) -> None:
        """`fetch` brings what to look at (EngineError explains why it cannot): the screen
        shows `title` and a loading indicator until then. `filters`: the ones to open with
        (`a` lifts them), by default none. `records`: the run's folder, whose checkpoints
        `[` and `]` step through."""
        super().__init__(**kwargs)
        self.title_text = title
        self.fetch = fetch
        self.source: InspectSource | None = None  # both set when the `predict` worker succeeds
        self.predictions: Predictions | None = None
        self.filters = filters or Filters()
        self.chosen: np.ndarray = np.empty(0, dtype=np.intp)  # set indices, in display order
        self.position = 0
        self.why: Saliency | None = None  # the saliency on display (s), None when hidden

    def compose_body(self) -> ComposeResult:
        yield Static("", id="counts")
        # Not focusable: the arrow keys belong to navigation, and so does the wheel (WheelBody).
        with WheelBody(id="body", can_focus=False), Horizontal(id="main"):
            yield DigitView(id="digit").data_bind(InspectorScreen.ascii_art)
            with Vertical(id="side"):
                yield Static("", id="verdict")
                yield ProbabilityBars(id="probs")
                with Horizontal(id="why"):
                    yield WeightImage(id="why-map").data_bind(InspectorScreen.ascii_art)
                    yield Static("", id="why-units")
        yield DigitGrid(id="grid").data_bind(InspectorScreen.ascii_art)

    def on_mount(self) -> None:
        self.show_heading(self.title_text)
        self.query_one("#body").loading = True
        self.show_current()
        self.start_replay()

    def show_heading(self, title: str) -> None:
        where = self.position_text()
        self.show_text("#heading", f"Inspector · {title}" + (f" · {where}" if where else ""))

    # --- past epochs: the run's kept checkpoints --------------------------------------------

    def kept_epochs(self, folder: RunFolder) -> list[int]:
        return folder.checkpoint_epochs()

    def epoch_file(self, folder: RunFolder, epoch: int) -> Path:
        return folder.checkpoint_file(epoch)

    def read_file(self, path: Path) -> tuple[InspectSource, Predictions]:
        source = InspectSource.from_checkpoint(path)
        return source, Predictions.of(source)

    def show_now(self) -> None:
        self.query_one("#body").loading = True
        self.predict()

    def show_epoch(self, epoch: int, read: tuple[InspectSource, Predictions]) -> None:
        self.show_predictions(*read)

    def show_unkept(self, epoch: int, why: str) -> None:
        self.notify(f"The checkpoint of epoch {epoch} {why}", severity="warning")

    def replay_changed(self) -> None:
        if self.source is not None:
            self.show_heading(self.source.title)

    @work(exclusive=True, exit_on_error=False, group="analysis")
    async def predict(self) -> tuple[InspectSource, Predictions]:
        source = await self.fetch()
        return source, await asyncio.to_thread(Predictions.of, source)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "analysis":
            return
        if event.state == WorkerState.SUCCESS:
            self.show_predictions(*event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.query_one("#body").loading = False
            self.query_one("#counts", Static).update(f"no predictions: {event.worker.error}")
            # Worker messages do not bubble: the app's one error handler hears it from here.
            self.app.post_message(Worker.StateChanged(event.worker, event.state))

    def show_predictions(self, source: InspectSource, predictions: Predictions) -> None:
        self.query_one("#body").loading = False
        keep = self.current_index if self.source is not None else None
        self.source, self.predictions = source, predictions
        self.show_heading(source.title)
        self.apply_filters(self.filters, keep=keep)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in GRID_ACTIONS and not self.grid_view:
            return False
        if action in SINGLE_ACTIONS and self.grid_view:
            return False
        if action == "toggle_why_target" and not self.why_shown:
            return None  # only the map has a target to switch
        if action == "toggle_ascii" and not app_has_color(self):
            return None  # without colour the digits are ASCII already
        # Every key but `back` and the epochs' works on the predictions: greyed out until they
        # are there (a run's kept checkpoints can be opened even when now's weights cannot).
        return True if action in ("back", "epoch") or self.predictions is not None else None

    def watch_grid_view(self) -> None:
        self.refresh_bindings()
        self.show_current()

    def watch_why_shown(self) -> None:
        self.refresh_bindings()
        self.show_current()

    def watch_why_true(self) -> None:
        self.show_current()

    @property
    def current_index(self) -> int | None:
        """The set index on display, or None when the filters match nothing."""
        return int(self.chosen[self.position]) if len(self.chosen) else None

    def show_current(self) -> None:
        if self.predictions is None:
            self.query_one("#counts", Static).update("predicting the images…")
            return
        n = len(self.source.labels)
        wrong = int(self.predictions.wrong.sum())
        showing = f"{self.position + 1}/{len(self.chosen)}" if len(self.chosen) else "0/0"
        index = self.current_index
        selected = ""
        if self.grid_view:
            name = self.source.set_name
            selected = " · none match (a: all)" if index is None else f" · {name} image {index} (⏎ opens)"
        self.query_one("#counts", Static).update(
            f"misclassified: {wrong} of {n}, showing {showing}{selected}\n{self.filters.describe()}"
        )
        if self.grid_view:
            self.show_page()
            return
        digit = self.query_one(DigitView)
        bars = self.query_one(ProbabilityBars)
        verdict = self.query_one("#verdict", Static)
        if index is None:
            digit.show(None)
            bars.show(None)
            self.show_why(None)
            verdict.update(f"No {self.source.set_name} image matches these filters (a: show all).")
            return
        true_label = int(self.source.labels[index])
        predicted = int(self.predictions.predicted[index])
        outcome = "✓ right" if predicted == true_label else "✗ WRONG"
        digit.show(self.source.images[index], self.source.shape)
        bars.show(self.predictions.probs[index], true_label)
        verdict.update(
            f"{self.source.set_name} image {index}\ntrue {true_label} · predicted {predicted} "
            f"({self.predictions.confidence[index]:.1%}) · {outcome}"
        )
        verdict.set_class(predicted != true_label, "-wrong")
        self.show_why(true_label if self.why_true else predicted, index)

    def show_why(self, target: int | None, index: int | None = None) -> None:
        """The saliency of image `index` for class `target` (nothing for None), if s shows it."""
        why_map = self.query_one("#why-map", WeightImage)
        units = self.query_one("#why-units", Static)
        if not self.why_shown or target is None:
            self.why = None
            why_map.show(None)
            units.update("")
            return
        network = self.source.network
        self.why = saliency(network, self.source.images[index], self.source.normalizer, target)
        which = "true" if self.why_true else "predicted"
        why_map.show(saliency_map(self.why.gradient, self.source.shape), f"why {target} ({which})")
        units.update(f"{units_text(self.why.units, bool(network.hidden))}\n\n"
                     f"{why_legend(target, app_has_color(self))}")

    def show_page(self) -> None:
        """The grid: the page of the filter's list that holds the current position."""
        grid = self.query_one(DigitGrid)
        start = self.position - self.position % grid.capacity
        cells = [
            GridCell(
                int(index),
                self.source.images[index],
                int(self.predictions.predicted[index]),
                int(self.source.labels[index]),
            )
            for index in self.chosen[start : start + grid.capacity]
        ]
        grid.show(cells, self.position - start, self.source.shape)

    def on_digit_grid_capacity_changed(self) -> None:
        if self.grid_view:
            self.show_current()

    def on_mouse_scroll_down(self) -> None:
        self.action_move(1)

    def on_mouse_scroll_up(self) -> None:
        self.action_move(-1)

    def apply_filters(self, filters: Filters, keep: int | None) -> None:
        """Switch filters, showing image `keep` if it is in the new list, else the first."""
        self.filters = filters
        self.chosen = filters.select(self.predictions, self.source.labels)
        found = np.flatnonzero(self.chosen == keep) if keep is not None else []
        self.position = int(found[0]) if len(found) else 0
        self.show_current()

    def action_move(self, step: int) -> None:
        if len(self.chosen):
            self.position = (self.position + step) % len(self.chosen)
            self.show_current()

    def action_move_row(self, step: int) -> None:
        """Grid: up or down a row, staying in the list."""
        target = self.position + step * self.query_one(DigitGrid).columns
        if 0 <= target < len(self.chosen):
            self.position = target
            self.show_current()

    def action_page(self, step: int) -> None:
        """Grid: the next or previous page, stopping at the first and last image."""
        if len(self.chosen):
            target = self.position + step * self.query_one(DigitGrid).capacity
            self.position = min(max(target, 0), len(self.chosen) - 1)
            self.show_current()

    def action_toggle_grid(self) -> None:
        self.grid_view = not self.grid_view

    def open_view(self, view: type[Screen]) -> None:
        self.app.push_screen(view_of(view, self.source.title, already(self.source), self.records))

    def action_toggle_ascii(self) -> None:
        self.ascii_art = not self.ascii_art

    def action_toggle_why(self) -> None:
        self.why_shown = not self.why_shown

    def action_toggle_why_target(self) -> None:
        self.why_true = not self.why_true

    def digit_art(self, index: int) -> str:
        """Image `index` as ASCII art under a line naming it, its true label and the network's
        guess: `test image 7 · true 9 · predicted 4 (61.2%)`."""
        true_label = int(self.source.labels[index])
        predicted = int(self.predictions.predicted[index])
        header = (
            f"{self.source.set_name} image {index} · true {true_label} · predicted {predicted} "
            f"({self.predictions.confidence[index]:.1%})"
        )
        return f"{header}\n{digit_ascii(self.source.images[index], self.source.shape)}"

    def action_copy_digit(self) -> None:
        index = self.current_index
        if index is None:
            self.notify("No image to copy: no image matches these filters", severity="warning")
            return
        copy_text(self.app, f"{self.source.set_name} image {index} as ASCII art", self.digit_art(index))

    def action_open(self) -> None:
        """Grid: the selected image in the single view."""
        self.grid_view = False

    def action_move_to(self, position: int) -> None:
        if len(self.chosen):
            self.position = position % len(self.chosen)
            self.show_current()

    def action_toggle_misclassified(self) -> None:
        wrong_only = not self.filters.misclassified_only
        self.apply_filters(replace(self.filters, misclassified_only=wrong_only), self.current_index)

    def action_only_label(self, label: int) -> None:
        """Filter on one true label; the same digit again lifts the filter."""
        same = self.filters.label == label
        self.apply_filters(replace(self.filters, label=None if same else label), self.current_index)

    def action_cycle_label(self) -> None:
        label = self.filters.label
        following = 0 if label is None else (label + 1 if label < 9 else None)
        self.apply_filters(replace(self.filters, label=following), self.current_index)

    def action_toggle_order(self) -> None:
        first = not self.filters.least_confident_first
        # A new ordering starts from its beginning: that is where the interesting images are.
        self.apply_filters(replace(self.filters, least_confident_first=first), keep=None)

    def action_show_all(self) -> None:
        order = self.filters.least_confident_first
        self.apply_filters(Filters(least_confident_first=order), self.current_index)

    def action_jump(self) -> None:  # like every key but `back`: only once there are predictions
        self.app.push_screen(JumpDialog(len(self.source.labels)), self.jump_to)

    def jump_to(self, index: int | None) -> None:
        if index is None:
            return
        filters = self.filters
        if index not in self.chosen:
            self.notify(f"{self.source.set_name} image {index} is not in this filter: showing all images")
            filters = Filters()
        self.apply_filters(filters, keep=index)
