"""The weights a network learned: each first-layer unit's incoming weights as a 28x28 image (the
pattern of ink it answers to), deeper layers as one heat strip per unit, page by page.

The network comes the way the inspector's and the drawing's do (`InspectSource`, through a
`fetch` that may take a trip to a live run's trainer), in a worker behind a loading indicator.
While a run trains, now's weights are fetched again every second (a fetch copies the network
off the trainer between two batches); `r` fetches them at once. Of a run with a folder, `[` and
`]` step through its epochs: each epoch's record keeps the first layer in float16
(engine.epoch_record), shown the same way.

Scale: by default every unit of a layer is divided by the layer's largest |w|
(`engine.weights`), so units compare with each other; `s` switches to each unit's own largest
|w|. Colours: blue negative, orange positive, near black zero (`WeightImage`).

Fit: first-layer images are drawn full size (28x14 cells) when at least `MIN_UNITS` fit, and
at half size (14x7 cells, 2x2 means) otherwise: 10 units at 80x24. Heat strips take one
terminal row per line of inputs, lines as long as the window allows and evenly filled (a
128-input unit takes two rows of 64 at 80 columns).
"""

from __future__ import annotations

import math

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.reactive import reactive
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.epoch_record import EpochRecord
from tui_mnist.engine.weights import Scale, first_layer_images, layer_strips, weight_scale
from tui_mnist.tui.screens.base import MnistScreen
from tui_mnist.tui.screens.epoch_replay import REPLAY_BINDINGS, SCAN_INTERVAL, RecordReplay
from tui_mnist.tui.screens.inspector import InspectSource
from tui_mnist.tui.screens.source_view import SourceFetch, SourceView
from tui_mnist.tui.widgets.digit import app_has_color
from tui_mnist.tui.widgets.weight_image import NEGATIVE_RAMP, POSITIVE_RAMP, WeightImage

MIN_UNITS = 6  # full-size images only if at least this many fit
CHROME_ROWS = 4  # title, heading, keys and footer
PADDING = 2  # the unit area's left and right padding
GAP = 2  # columns between images (grid-gutter in weights.tcss)
ROW_GAP = 1  # rows between images


def grid_fit(width: int, height: int, image: tuple[int, int]) -> tuple[int, int, bool]:
    """(columns, rows, half) of `image`-shaped maps (rows, cols of pixels, each with a caption
    line) that fit width x height cells: full size if MIN_UNITS fit, else half size."""

    def fit(rows: int, cols: int) -> tuple[int, int]:
        across = max(1, (width + GAP) // (cols + GAP))
        down = max(1, (height + ROW_GAP) // ((rows + 1) // 2 + 1 + ROW_GAP))
        return across, down

    across, down = fit(*image)
    if across * down >= MIN_UNITS:
        return across, down, False
    return (*fit(*(math.ceil(side / 2) for side in image)), True)


def fold(strip: np.ndarray, width: int) -> np.ndarray:
    """(2 * lines, width): a strip of n inputs in lines of `width` (the last padded with zeros),
    each line doubled so that it fills a terminal row of half blocks."""
    lines = math.ceil(len(strip) / width)
    padded = np.zeros(lines * width)
    padded[: len(strip)] = strip
    return np.repeat(padded.reshape(lines, width), 2, axis=0)


class WeightsScreen(RecordReplay, SourceView, MnistScreen):
    CSS_PATH = "weights.tcss"
    TITLE = "Weights"
    BINDINGS = [
        Binding("right,pagedown", "page(1)", "next", key_display="→/pgdn",
                tooltip="The next page of units"),
        Binding("left,pageup", "page(-1)", "prev", key_display="←/pgup",
                tooltip="The previous page of units"),
        Binding("L,tab", "next_layer", "layer", key_display="L/tab",
                tooltip="The next layer: the first as images, deeper ones as heat strips"),
        Binding("s", "toggle_scale", "scale",
                tooltip="Scale each unit by its own largest weight, or all by the layer's"),
        Binding("t", "toggle_ascii", "ascii", show=False,
                tooltip="Draw the maps in plain ASCII characters, or in half blocks again"),
        *REPLAY_BINDINGS,
        Binding("r", "refresh_weights", "now",
                tooltip="The weights as they are now (fetched again: a live run's move on)"),
    ]

    ascii_art = reactive(False, init=False)
    """The maps drawn with the character ramp (t)."""

    def __init__(self, title: str, fetch: SourceFetch, **kwargs) -> None:
        """`fetch` brings the network (EngineError explains why it cannot). `records`: the
        run's folder, whose epochs' first-layer weights `[` and `]` step through."""
        super().__init__(**kwargs)
        self.title_text = title
        self.fetch = fetch
        self.source: InspectSource | None = None  # now's, set when the `load` worker succeeds
        self.matrices: list[np.ndarray] = []  # the weight matrices shown (an epoch: the first)
        self.inputs = 0  # the network's inputs
        self.layer_index = 0  # index into layers
        self.first = 0  # the first unit on the page
        self.scale: Scale = "layer"
        self.maps: np.ndarray | None = None  # the layer's (n_out, rows, cols) or (n_out, n_in)
        self.page_size = 1
        self.half = False

    def compose_body(self) -> ComposeResult:
        yield Static("loading the network…", id="page")
        yield Static("", id="keys")
        yield Container(id="units")

    def on_mount(self) -> None:
        self.show_text("#heading", f"Weights · {self.title_text}")
        self.show_keys()
        self.start_replay()
        # A run in training: now's weights are fetched again each second (never more often).
        self.set_interval(SCAN_INTERVAL, self.follow_training)

    def on_resize(self) -> None:
        self.show_page()

    def show_keys(self) -> None:
        colour = app_has_color(self) and not self.ascii_art
        legend = "blue −, orange +" if colour else f"− {NEGATIVE_RAMP} + {POSITIVE_RAMP}"
        self.show_text("#keys", f"←→ page · L layer · s scale · t ascii · [ ] epoch · r now · {legend}")

    def watch_ascii_art(self) -> None:
        for widget in self.query(WeightImage):
            widget.ascii_art = self.ascii_art
        self.show_keys()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_ascii" and not app_has_color(self):
            return None  # without colour the maps are ASCII already
        return True

    def action_toggle_ascii(self) -> None:
        self.ascii_art = not self.ascii_art

    # --- now: the network as it is ----------------------------------------------------------

    def show_now(self) -> None:
        self.query_one("#units").loading = True
        self.load()

    def follow_training(self) -> None:
        if self.epoch_shown is None and self.run_training and not self.query_one("#units").loading:
            self.load()

    @work(exclusive=True, exit_on_error=False, group="analysis")
    async def load(self) -> InspectSource:
        return await self.fetch()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "analysis" or not event.worker.is_finished:
            return
        self.query_one("#units").loading = False
        if event.state == WorkerState.SUCCESS and self.epoch_shown is None:
            self.source = event.worker.result
            self.show_heading_now()
            self.show_layers(self.source.network.weights, self.source.network.sizes[0])
        elif event.state == WorkerState.ERROR:
            self.show_text("#page", f"no network: {event.worker.error}")
            # Worker messages do not bubble: the app's one error handler hears it from here.
            self.app.post_message(Worker.StateChanged(event.worker, event.state))

    # --- past epochs: the records' first layer ----------------------------------------------

    def show_epoch(self, epoch: int, read: EpochRecord) -> None:
        if read.first_weights is None:
            self.show_unkept(epoch, "were too large to keep (over 1 MB)")
            return
        self.show_text("#heading", f"Weights · {self.position_text()} · first layer (float16)")
        self.show_layers([read.first_weights], len(read.first_weights))

    def show_unkept(self, epoch: int, why: str) -> None:
        self.matrices, self.maps = [], None
        self.query_one("#units", Container).remove_children()
        self.show_text("#heading", f"Weights · {self.position_text()}")
        self.show_text("#page", f"epoch {epoch}: its weights {why} · [ ] other epochs · r now")

    def replay_changed(self) -> None:
        if self.epoch_shown is None and self.source is not None:
            self.show_heading_now()

    def show_heading_now(self) -> None:
        where = self.position_text()
        self.show_text("#heading", f"Weights · {self.source.title}" + (f" · {where}" if where else ""))

    # --- the layer --------------------------------------------------------------------------

    def show_layers(self, layers: list[np.ndarray], inputs: int) -> None:
        self.matrices, self.inputs = list(layers), inputs
        self.layer_index = min(self.layer_index, len(self.matrices) - 1)
        self.show_layer()

    @property
    def shape(self) -> tuple[int, int]:
        """The input images' (rows, cols): the source's, else (a record) the square they fill."""
        if self.source is not None:
            return self.source.shape
        side = math.isqrt(self.inputs)
        return (side, side)

    @property
    def as_images(self) -> bool:
        """The layer is drawn as images: the first, when the inputs are the images' pixels."""
        rows, cols = self.shape
        return self.layer_index == 0 and self.inputs == rows * cols

    def show_layer(self) -> None:
        """Compute the layer's maps (well under a millisecond for 784x128) and show a page."""
        weights = self.matrices[self.layer_index]
        if self.as_images:
            self.maps = first_layer_images(weights, self.shape, self.scale)
        else:
            self.maps = layer_strips(weights, self.scale)
        self.first = min(self.first, len(self.maps) - 1)
        self.show_page()

    # --- the page ---------------------------------------------------------------------------

    def fit(self) -> tuple[int, int]:
        """(columns, page size) for the current layer in this window; sets `half`."""
        assert self.maps is not None
        width = self.size.width - PADDING
        height = self.size.height - CHROME_ROWS
        if self.as_images:
            across, down, self.half = grid_fit(width, height, self.maps.shape[1:])
            return across, across * down
        lines = math.ceil(self.maps.shape[1] / self.strip_width)
        return 1, max(1, height // lines)

    @property
    def caption_width(self) -> int:
        assert self.maps is not None
        return len(str(len(self.maps))) + 1

    @property
    def strip_width(self) -> int:
        """Inputs per line of a heat strip: the fewest lines that fit, evenly filled."""
        assert self.maps is not None
        inputs = self.maps.shape[1]
        lines = math.ceil(inputs / max(1, self.size.width - PADDING - self.caption_width))
        return math.ceil(inputs / lines)

    def show_page(self) -> None:
        if self.maps is None:
            return
        across, self.page_size = self.fit()
        self.first = self.first // self.page_size * self.page_size
        units = range(self.first, min(self.first + self.page_size, len(self.maps)))
        beside = 0 if self.as_images else self.caption_width
        box = self.query_one("#units", Container)
        box.styles.grid_size_columns = across
        box.set_class(not self.as_images, "-strips")
        widgets = list(box.query_children(WeightImage))
        if len(widgets) != len(units) or any(widget.beside != beside for widget in widgets):
            box.remove_children()
            widgets = [WeightImage(beside) for _ in units]
            for widget in widgets:
                widget.ascii_art = self.ascii_art
            box.mount_all(widgets)
        for widget, unit in zip(widgets, units):
            if self.as_images:
                widget.show(self.maps[unit], f"{unit + 1}", self.half)
            else:
                widget.show(fold(self.maps[unit], self.strip_width), f"{unit + 1}")
        self.show_heading(units)

    def show_heading(self, units: range) -> None:
        weights = self.matrices[self.layer_index]
        if self.scale == "layer":
            scale = f"scale ±{float(weight_scale(weights)):.3g} (layer)"
        else:
            scale = "scale: per unit"
        look = ("half size" if self.half else "images") if self.as_images else "strips"
        n_in, n_out = weights.shape
        self.show_text(
            "#page",
            f"layer {self.layer_index + 1}/{len(self.matrices)} ({n_in}→{n_out}) "
            f"{look} · units {units.start + 1}–{units.stop} of {len(self.maps)} · {scale}"
        )

    @property
    def units_shown(self) -> list[int]:
        """The units on the page, counted from 0."""
        return [int(widget.caption) - 1 for widget in self.query_one("#units").query_children(WeightImage)]

    # --- keys -------------------------------------------------------------------------------

    def action_page(self, step: int) -> None:
        if self.maps is None:
            return
        first = self.first + step * self.page_size
        if 0 <= first < len(self.maps):
            self.first = first
            self.show_page()

    def action_next_layer(self) -> None:
        if not self.matrices:
            return
        if len(self.matrices) == 1 and self.epoch_shown is not None:
            self.notify("An epoch's record keeps the first layer only: r shows every layer now")
        self.layer_index = (self.layer_index + 1) % len(self.matrices)
        self.first = 0
        self.show_layer()

    def action_toggle_scale(self) -> None:
        self.scale = "unit" if self.scale == "layer" else "layer"
        if self.matrices:
            self.show_layer()

    def action_refresh_weights(self) -> None:
        self.epoch_shown = None
        self.show_now()
