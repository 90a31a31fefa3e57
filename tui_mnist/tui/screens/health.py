"""Is training healthy? Per layer and per epoch: the weight norm, the gradient norm, the
update/weight ratio and the share of dead ReLU or saturated sigmoid/tanh units, drawn as four
small charts (one series per layer, x the epoch), the shown epoch's figures in a table under
them, and the plain-language hints of `engine.health.hints` over the epochs up to it.

A run's view reads the figures from the run's per-epoch records (`EpochReplay`: `[` and `]`
step through the epochs, and at the newest it follows the run). Every kept record is read once,
on a thread, and kept by epoch; each scan of the folder reads only the new ones. A network from
a file has no records: its own weights and units are measured (on a thread) on the first
PROBE_IMAGES test images, with no gradients and no updates, and there are no charts.

Without colour the series differ by marker; the table's first column shows each layer's marker
(the charts' legend, drawn once), and a figure over its warning threshold ends in "!".
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable, Sequence

import numpy as np
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid
from textual.markup import escape
from textual.widgets import Static
from textual.worker import Worker, WorkerState, get_current_worker

from tui_mnist.engine.epoch_record import PROBE_IMAGES, EpochRecord, load_record
from tui_mnist.engine.errors import EngineError
from tui_mnist.engine.health import (
    DEAD_WARNING,
    RATIO_TOO_LARGE,
    RATIO_TOO_SMALL,
    SATURATED_WARNING,
    EpochHealth,
    LayerHealth,
    hints,
    layer_health,
)
from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.screens.base import MnistScreen
from tui_mnist.tui.screens.epoch_replay import REPLAY_BINDINGS, RecordReplay
from tui_mnist.tui.screens.inspector import InspectSource
from tui_mnist.tui.screens.source_view import SourceFetch, SourceView
from tui_mnist.tui.widgets.chart import Axes, Chart, Series, redraw_pause

# One look per layer: the marker tells layers apart without colour (plotext colour names, and
# the same colours as Textual markup for the table's legend column).
MARKERS = ("hd", "x", "o", "+", "*", "#")
COLOURS = ("cyan", "magenta", "green", "orange", "blue", "red")
MARKUP_COLOURS = {"cyan": "ansi_cyan", "magenta": "ansi_magenta", "green": "ansi_green",
                  "orange": "ansi_yellow", "blue": "ansi_blue", "red": "ansi_red"}
CURSOR_MARKER = "│"  # the shown epoch, a vertical line across each chart
CURSOR_COLOUR = "gray"

# (chart id, title, the figure it draws, y axes)
CHARTS = (
    ("weight-chart", "weight norm", "weight_norm", Axes()),
    ("gradient-chart", "gradient norm", "gradient_norm", Axes()),
    ("ratio-chart", "update/weight ratio", "update_ratio", Axes(log_y=True)),
    ("units-chart", "dead / saturated share", "unit_share", Axes()),
)
FILE_MESSAGE = "no epoch records: this network comes from a file; only its weights and units are measured"
HEALTHY = "no warnings: training looks healthy"
COLUMNS = ("layer", "weight norm", "grad norm", "update ratio", "dead ReLU", "saturated")
FIRST_WIDTH = 9  # "▞ layer 1"
WIDTH = 13  # each figure's column


def marker_of(layer: int) -> tuple[str, str]:
    """(marker, plotext colour) of layer `layer` (from 1)."""
    return MARKERS[(layer - 1) % len(MARKERS)], COLOURS[(layer - 1) % len(COLOURS)]


def glyph(marker: str) -> str:
    """How a marker shows in a legend (as Chart.legend shows it)."""
    return "▞" if marker == "hd" else marker


def unit_share(layer: LayerHealth) -> float | None:
    """The dead ReLU share, or for sigmoid and tanh the saturated one (a layer has one at most)."""
    return layer.dead_share if layer.dead_share is not None else layer.saturated_share


def figure_of(layer: LayerHealth, name: str) -> float | None:
    return unit_share(layer) if name == "unit_share" else getattr(layer, name)


def norm_text(value: float | None) -> str:
    """A norm in at most 8 characters: 12.3, 0.250, 4.5e-03; "–" where it does not apply."""
    if value is None:
        return "–"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    if 0.01 <= abs(value) < 1000:
        return f"{value:#.3g}"
    return f"{value:.1e}"


def ratio_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.1e}"


def share_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def series_of(history: dict[int, EpochHealth], name: str) -> list[Series]:
    """One series per layer of the figure `name` over the epochs of `history`, oldest first;
    a layer the figure does not apply to (the output layer's dead share) has none."""
    epochs = sorted(history)
    count = max((len(history[epoch].layers) for epoch in epochs), default=0)
    series = []
    for index in range(count):
        points = [
            (epoch, value) for epoch in epochs if index < len(history[epoch].layers)
            and (value := figure_of(history[epoch].layers[index], name)) is not None
        ]
        if points:
            marker, colour = marker_of(index + 1)
            series.append(Series(f"layer {index + 1}", [x for x, _ in points],
                                 [y for _, y in points], marker, colour))
    return series


def cursor_at(epoch: int, series: Sequence[Series], log_y: bool) -> Series | None:
    """A vertical line at `epoch` from the lowest to the highest value drawn (which it does not
    widen), or None when nothing is drawn."""
    values = [y for one in series for y in one.ys if math.isfinite(y) and (y > 0 or not log_y)]
    if not values:
        return None
    return Series("shown", [epoch, epoch], [min(values), max(values)], CURSOR_MARKER, CURSOR_COLOUR)


def warned(text: str, over: bool) -> str:
    """A table cell as markup: over its warning threshold, marked "!" and in the warning colour."""
    return f"[b $warning]{text}![/]" if over else f"{text} "


def figures_markup(layers: Sequence[LayerHealth], decayed: bool = False) -> str:
    """The table of the layers' figures as Textual markup, one line per layer under a header.
    `decayed`: the schedule had brought the rate down, so small updates are no warning."""
    header = COLUMNS[0].ljust(FIRST_WIDTH) + "".join(f"{name:>{WIDTH - 1}} " for name in COLUMNS[1:])
    lines = [f"[b $text-muted]{escape(header)}[/]"]
    for layer in layers:
        marker, colour = marker_of(layer.layer)
        name = f"{glyph(marker)} layer {layer.layer}".ljust(FIRST_WIDTH)
        ratio = layer.update_ratio
        cells = [
            (norm_text(layer.weight_norm), False),
            (norm_text(layer.gradient_norm), False),
            (ratio_text(ratio), ratio is not None and (
                ratio > RATIO_TOO_LARGE or ratio < RATIO_TOO_SMALL and not decayed)),
            (share_text(layer.dead_share), (layer.dead_share or 0) >= DEAD_WARNING),
            (share_text(layer.saturated_share), (layer.saturated_share or 0) >= SATURATED_WARNING),
        ]
        row = "".join(" " * (WIDTH - len(text) - 1) + warned(escape(text), over) for text, over in cells)
        lines.append(f"[{MARKUP_COLOURS[colour]}]{escape(name)}[/]{row}")
    return "\n".join(lines)


def hints_markup(found: Iterable[str]) -> str:
    found = list(found)
    if not found:
        return f"[$success]{HEALTHY}[/]"
    return "\n".join(f"[$warning]! {escape(hint)}[/]" for hint in found)


def measure(source: InspectSource) -> list[LayerHealth]:
    """The network's own figures, on the first PROBE_IMAGES of the source's images (no gradients,
    no updates): run this on a thread."""
    network = source.network
    images = source.images[:PROBE_IMAGES]
    probe = source.normalizer.apply(images, np.empty(images.shape, network.dtype))
    return layer_health(network, probe)


class HealthScreen(RecordReplay, SourceView, MnistScreen):
    CSS_PATH = "health.tcss"
    TITLE = "Health"
    HAS_NOW = False  # the figures come from the records: positions are epochs only
    BINDINGS = [
        *REPLAY_BINDINGS,
        Binding("escape", "back", "back", key_display="esc", tooltip="Leave the health view"),
    ]

    def __init__(self, title: str, fetch: SourceFetch, records: RunFolder | None = None, **kwargs) -> None:
        """`records`: the run's folder, whose per-epoch records are shown; None for a network
        from a file, brought by `fetch` (EngineError explains why it cannot) and measured."""
        super().__init__(records=records, **kwargs)
        self.title_text = title
        self.fetch = fetch
        self.history: dict[int, EpochHealth] = {}  # kept records read so far, by epoch
        self.unreadable_epochs: dict[int, str] = {}  # records that could not be read: why
        self.figures: tuple[LayerHealth, ...] = ()  # the layers whose figures the table shows
        self.plotted: dict[str, list[Series]] = {}  # chart title: its layers' series
        self.loading_history = False
        self._charted: tuple | None = None  # what the charts were last plotted from
        self.source: InspectSource | None = None  # measured, without a folder (a model file)
        self.charts_due = 0.0  # perf_counter time before which following the run does not redraw
        self.plot_pending = False  # a deferred redraw is set
        self.stepped = False  # the user moved: redraw at once

    def compose_body(self) -> ComposeResult:
        with Grid(id="charts"):
            for chart_id, title, _, _ in CHARTS:
                yield Chart(title, id=chart_id)
        yield Static("", id="figures")
        yield Static("", id="hints")

    def on_mount(self) -> None:
        self.show_heading()
        if self.records is None:
            self.query_one("#charts").display = False
        else:
            self.show_text("#figures", "reading the run's epoch records…")
        self.start_replay()

    def show_heading(self) -> None:
        parts = ["Health", self.title_text, self.position_text()]
        self.show_text("#heading", " · ".join(part for part in parts if part))

    # --- EpochReplay ------------------------------------------------------------------------

    def show_epoch(self, epoch: int, read: EpochRecord) -> None:
        self.history[epoch] = read.health()
        self.unreadable_epochs.pop(epoch, None)
        self.show_shown()
        self.sync_history()

    def show_unkept(self, epoch: int, why: str) -> None:
        self.figures = ()
        self.show_heading()
        self.show_text("#figures", f"epoch {epoch}: {why}")
        self.show_text("#hints", "")
        self.plot()
        self.sync_history()

    def replay_changed(self) -> None:
        self.show_heading()
        if not self.epochs_done:
            self.show_text("#figures", "no epoch has ended yet: the figures come at each epoch's end")
        self.sync_history()

    def show_now(self) -> None:
        """Only without a folder (HAS_NOW is False): the network from the file, measured."""
        self.show_text("#figures", FILE_MESSAGE)
        self.query_one("#figures").loading = True
        self.measure_network()

    # --- what is shown ----------------------------------------------------------------------

    def show_shown(self) -> None:
        """The shown epoch's figures and the hints up to it, once its record has been read."""
        epoch = self.epoch_shown
        if epoch is None or epoch not in self.history:
            return
        self.figures = self.history[epoch].layers
        upto = [self.history[e] for e in sorted(self.history) if e <= epoch and e in self.kept]
        self.show_heading()
        self.show_text("#figures", figures_markup(self.figures, self.history[epoch].decayed))
        self.show_text("#hints", hints_markup(hints(upto)))
        self.plot()

    def plot(self) -> None:
        """Plots each chart again when the epochs read or the shown epoch have changed; while
        the run trains and the view follows it, at most as often as redraw_pause allows."""
        history = {epoch: health for epoch, health in self.history.items() if epoch in self.kept}
        key = (tuple(sorted(history)), self.epoch_shown)
        if key == self._charted:
            return
        now = time.perf_counter()
        if self.run_training and not self.stepped and now < self.charts_due:
            if not self.plot_pending:
                self.plot_pending = True
                self.set_timer(self.charts_due - now, self.plot_when_due)
            return
        self.stepped = False
        self._charted = key
        charts = list(self.query(Chart))
        self.charts_due = now + redraw_pause(charts)
        for chart_id, title, name, axes in CHARTS:
            series = series_of(history, name)
            self.plotted[title] = series
            cursor = None if self.epoch_shown is None else cursor_at(self.epoch_shown, series, axes.log_y)
            # The cursor first: the curves are drawn over it.
            self.query_one(f"#{chart_id}", Chart).plot([cursor, *series] if cursor else series, axes)

    def plot_when_due(self) -> None:
        self.plot_pending = False
        self.plot()

    def action_epoch(self, step: int) -> None:
        self.stepped = True
        super().action_epoch(step)

    # --- the records, read on a thread ------------------------------------------------------

    def sync_history(self) -> None:
        """Reads the kept records not read yet (one reading at a time; it looks again when done)."""
        missing = [e for e in self.kept if e not in self.history and e not in self.unreadable_epochs]
        if missing and not self.loading_history:
            self.loading_history = True
            self.read_history(missing)

    @work(thread=True, exit_on_error=False, group="health-records")
    def read_history(self, epochs: list[int]) -> dict[int, EpochHealth | str]:
        folder = self.records
        read: dict[int, EpochHealth | str] = {}
        for epoch in epochs:
            if get_current_worker().is_cancelled:
                break
            try:
                read[epoch] = load_record(folder.record_file(epoch)).health()
            except EngineError as error:
                read[epoch] = str(error)
        return read

    @work(exclusive=True, exit_on_error=False, group="analysis")
    async def measure_network(self) -> tuple[InspectSource, list[LayerHealth]]:
        source = await self.fetch()
        # The forward pass over the probe images runs on a thread, never on the UI's.
        return source, await asyncio.to_thread(measure, source)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker, state = event.worker, event.state
        if worker.group == "health-records" and state in (WorkerState.SUCCESS, WorkerState.ERROR,
                                                          WorkerState.CANCELLED):
            self.loading_history = False  # else the next scan's epochs are read
            if state == WorkerState.SUCCESS:
                self.history_read(worker.result)
        elif worker.group == "analysis" and state in (WorkerState.SUCCESS, WorkerState.ERROR):
            self.query_one("#figures").loading = False
            if state == WorkerState.SUCCESS:
                self.network_measured(*worker.result)
            else:
                self.show_text("#figures", f"no network: {escape(str(worker.error))}")
        if state == WorkerState.ERROR:
            # Worker messages do not bubble: the app's one error handler hears it from here
            # (EpochReplay's scan and read included).
            self.app.post_message(Worker.StateChanged(worker, state))

    def network_measured(self, source: InspectSource, layers: list[LayerHealth]) -> None:
        self.source = source
        self.title_text = source.title
        self.figures = tuple(layers)
        self.show_heading()
        self.show_text("#figures", f"{figures_markup(self.figures)}\n[$text-muted]{FILE_MESSAGE}[/]")
        # One epoch of a made-up (finite) loss: hints() then only looks at the layers.
        self.show_text("#hints", hints_markup(hints([EpochHealth(0.0, self.figures)])))

    def history_read(self, read: dict[int, EpochHealth | str]) -> None:
        for epoch, health in sorted(read.items()):
            if isinstance(health, EpochHealth):
                self.history[epoch] = health
            elif epoch not in self.unreadable_epochs:
                self.unreadable_epochs[epoch] = health
                if epoch != self.epoch_shown:  # the shown one is named by EpochReplay
                    self.notify(health, title=f"Epoch {epoch} cannot be read (left out of the charts)",
                                severity="error", timeout=10)
        self.plot()
        self.show_shown()  # the hints look at the epochs before the shown one too
        self.sync_history()
