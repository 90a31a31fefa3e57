"""A line chart drawn by plotext into a Textual widget, built off the UI thread.

A build (plotext's text, rendered to strips) costs ~8 ms a chart at 80x24 and ran on the UI
thread at every redraw, where it held up key presses (the key help's p95 was 61 ms in
benchmarks/keypress_latency.py). It now runs in a thread worker, and the widget draws the
newest finished build with the Line API. plotext keeps one global figure, so builds are
serialised by a lock and each starts with `clf()`.
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import plotext as plt
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text
from textual import work
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import Worker, WorkerState

# Below this many cells plotext has no room for ticks and a frame (and misbehaves).
MIN_WIDTH = 16
MIN_HEIGHT = 5
POINTS_PER_COLUMN = 2
# Below this far into the first epoch the x ticks count batches (when the chart knows how many
# an epoch has): fractions of an epoch there need three or four decimals.
BATCH_TICKS_BELOW = 0.25
# A reference line is drawn when it lies within this share of the values' y span above or below
# them: the y range then grows by half at most, so a zoomed chart keeps most of its resolution;
# further away it is only named in the legend.
REFERENCE_REACH = 0.5
REFERENCE_MARKER = "┄"  # dashed by itself, with or without colour, unlike the frame's ─
# Charts that follow a training run are redrawn at most every REDRAW_INTERVAL seconds, and less
# often when drawing them costs more than CPU_SHARE of a core: a build is Python taken from the
# trainer's share of the two cores (on two BLAS threads it stalls both).
REDRAW_INTERVAL = 0.5
CPU_SHARE = 0.02


def redraw_pause(charts: Sequence[Chart]) -> float:
    """Seconds to wait before redrawing `charts` (their last builds' cost) while a run trains."""
    return max(REDRAW_INTERVAL, sum(chart.draw_seconds for chart in charts) / CPU_SHARE)


@dataclass(frozen=True)
class Series:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    marker: str  # "hd" (quadrant blocks) or one ASCII character: tells series apart without colour
    color: str  # a plotext colour name from the 16 basic ones
    lines: bool = True  # joined by lines; False: points only (compare interleaves runs' points)


@dataclass(frozen=True)
class Reference:
    """A value to compare with (a published result): a dashed line across the window at `y`."""

    label: str  # named in the chart's title; `short` instead where the label does not fit
    y: float
    short: str = ""
    color: str = "yellow"  # a plotext colour name from the 16 basic ones


@dataclass(frozen=True)
class Axes:
    """How a chart maps its numbers: the y scale, the x window, the x axis's unit, and a
    reference line, drawn when it is near the values shown (see `reference_reach`)."""

    log_y: bool = False  # values <= 0 are left out on a log scale
    x_range: tuple[float, float] | None = None  # the x window shown; None: from 0 to the last
    x_label: str = "epoch"
    batches_per_epoch: int = 0  # > 0: early in the first epoch the x ticks count batches
    reference: Reference | None = None


def thin(values: Sequence[float], width: int) -> list[float]:
    """At most ~POINTS_PER_COLUMN points per column, keeping the first and the last."""
    limit = max(2, POINTS_PER_COLUMN * width)
    if len(values) <= limit:
        return list(values)
    stride = math.ceil(len(values) / limit)
    kept = list(values[::stride])
    if (len(values) - 1) % stride:
        kept.append(values[-1])
    return kept


def nice_step(span: float, count: int, mantissas: tuple[float, ...] = (1, 2, 2.5, 5)) -> float:
    """The smallest of `mantissas` x 10^k that cuts `span` into at most `count` steps."""
    raw = span / max(count, 1)
    decade = 10.0 ** math.floor(math.log10(raw))
    return next(m * decade for m in (*mantissas, 10) if m * decade >= raw * (1 - 1e-9))


def decimals(step: float) -> int:
    """Digits after the point that tell ticks `step` apart (0.25 -> 2, 5 -> 0)."""
    return next((d for d in range(7) if abs(round(step, d) - step) <= 1e-9 * step), 6)


def linear_ticks(
    low: float, high: float, count: int, mantissas: tuple[float, ...] = (1, 2, 2.5, 5)
) -> list[tuple[float, str]]:
    """At most `count` round values in [low, high], with their labels."""
    step = nice_step(high - low, count, mantissas)
    first = math.ceil(low / step - 1e-9)
    places = decimals(step)
    ticks = []
    n = first
    while n * step <= high + 1e-9 * step:
        ticks.append((n * step, f"{n * step:.{places}f}"))
        n += 1
    return ticks


def x_axis(low: float, high: float, count: int, axes: Axes) -> tuple[list[tuple[float, str]], str]:
    """The x ticks (at their values in epochs) and the axis's name. While the window ends within
    the first BATCH_TICKS_BELOW of an epoch, the ticks count batches ("batch 0 20 40"): in
    epochs they would read 0.000 0.005 0.010, which says little."""
    per_epoch = axes.batches_per_epoch
    if not counts_batches(high, axes):
        # 2.5 x 10^k as quarters of an epoch and up: 0.025 takes a digit more than 0.02 or 0.05.
        mantissas = (1, 2, 2.5, 5) if nice_step(high - low, count) >= 0.25 else (1, 2, 5)
        return linear_ticks(low, high, count, mantissas), axes.x_label
    first, last = low * per_epoch, high * per_epoch
    raw = max((last - first) / max(count, 1), 1.0)  # whole batches
    decade = 10 ** math.floor(math.log10(raw))
    step = next(m * decade for m in (1, 2, 5, 10) if m * decade >= raw * (1 - 1e-9))
    ticks = [(n, str(n)) for n in range(math.ceil(first / step - 1e-9) * step, math.floor(last + 1e-9) + 1, step)]
    if len(ticks) < 2:  # a window within a batch or two: fractions of one
        ticks = linear_ticks(first, last, count, mantissas=(1, 2, 5))
    return [(n / per_epoch, label) for n, label in ticks], "batch"


def counts_batches(high: float, axes: Axes) -> bool:
    """Whether a window ending at `high` epochs has its x ticks in batches (see x_axis)."""
    return axes.batches_per_epoch > 0 and high < BATCH_TICKS_BELOW


def log_ticks(low: float, high: float, count: int) -> list[tuple[float, str]]:
    """Round values (1, 2, 5 x 10^k, fewer when crowded) in [low, high] > 0, at most `count`,
    as (log10 of the value, label); linear ones when the range spans too little."""
    for mantissas in ((1, 2, 5), (1, 3), (1,)):
        ticks = [
            (m * 10.0**k, f"{m * 10.0**k:g}")
            for k in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
            for m in mantissas
            if low * (1 - 1e-9) <= m * 10.0**k <= high * (1 + 1e-9)
        ]
        if len(ticks) <= count:
            break
    if len(ticks) < 2:
        ticks = [(value, label) for value, label in linear_ticks(low, high, count) if value > 0]
    return [(math.log10(value), label) for value, label in ticks]


def padded(low: float, high: float, share: float = 0.04) -> tuple[float, float]:
    """The range a little wider, so that no point sits on the frame; never empty."""
    if high - low <= 1e-12 * max(abs(low), abs(high), 1.0):
        margin = max(abs(low) * 0.1, 1e-3)
        return low - margin, high + margin
    margin = (high - low) * share
    return low - margin, high + margin


def visible(series: Series, x_range: tuple[float, float], log_y: bool) -> tuple[list, list]:
    """The points of `series` inside the x window (and > 0 on a log scale), y as drawn."""
    low, high = x_range
    points = [
        (x, math.log10(y) if log_y else y)
        for x, y in zip(series.xs, series.ys)
        if low <= x <= high and (y > 0 or not log_y) and math.isfinite(y)
    ]
    return [x for x, _ in points], [y for _, y in points]


def reference_reach(axes: Axes, low: float, high: float) -> float | None:
    """The y at which to draw `axes.reference` (log10 of it on a log scale) over values from
    `low` to `high` as drawn, or None: no reference, or one further than REFERENCE_REACH of
    their (padded) span from them."""
    reference = axes.reference
    if reference is None or not math.isfinite(reference.y) or (axes.log_y and reference.y <= 0):
        return None
    y = math.log10(reference.y) if axes.log_y else reference.y
    low, high = padded(low, high)
    reach = REFERENCE_REACH * (high - low)
    return y if low - reach <= y <= high + reach else None


_PLOTEXT = threading.Lock()


def chart_text(
    series: Sequence[Series], width: int, height: int, colour: bool, axes: Axes = Axes()
) -> Text:
    """The chart as text of `width` x `height` cells (a placeholder while there is no data or
    no room). Ticks are chosen here, not by plotext, so that they are round numbers, in epochs
    on x, and sit on the rows of their values on a log scale too."""
    drawn = [s for s in series if len(s.xs)]
    if not drawn:
        return Text("waiting for data...", style="dim")
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return Text(Chart.legend(drawn), style="dim")
    x_range = axes.x_range or (0.0, max(max(s.xs) for s in drawn) or 1.0)
    points = [(one, *visible(one, x_range, axes.log_y)) for one in drawn]
    points = [(one, xs, ys) for one, xs, ys in points if xs]
    if not points:
        return Text("no points in this window", style="dim")
    x_low, x_high = x_range if x_range[1] > x_range[0] else padded(*x_range)
    values = (min(min(ys) for _, _, ys in points), max(max(ys) for _, _, ys in points))
    reference = reference_reach(axes, *values)
    if reference is not None:
        values = (min(values[0], reference), max(values[1], reference))
    y_low, y_high = padded(*values)
    rows = height - 4  # the frame's two lines, the x ticks and the x label
    if axes.log_y:
        y_ticks = log_ticks(10**y_low, 10**y_high, max(2, (rows + 1) // 2))
    else:
        y_ticks = linear_ticks(y_low, y_high, max(2, (rows + 1) // 2))
    x_ticks, x_label = x_axis(x_low, x_high, max(2, width // 8), axes)
    with _PLOTEXT:
        plt.clf()
        plt.theme("pro" if colour else "clear")
        plt.plotsize(width, height)
        plt.limit_size(False, False)
        if reference is not None:  # first: the curves are drawn over it
            plt.plot(
                [x_low, x_high], [reference, reference], marker=REFERENCE_MARKER,
                color=axes.reference.color if colour else None,
            )
        for one, xs, ys in points:
            (plt.plot if one.lines else plt.scatter)(
                thin(xs, width),
                thin(ys, width),
                marker=one.marker,
                color=one.color if colour else None,
            )
        plt.xlim(x_low, x_high)
        plt.ylim(y_low, y_high)
        plt.xticks([t for t, _ in x_ticks], [label for _, label in x_ticks])
        plt.yticks([t for t, _ in y_ticks], [label for _, label in y_ticks])
        plt.xlabel(x_label)
        built = plt.build()
    # plotext ends some builds with a newline: one row more than it was given.
    return Text.from_ansi(built.rstrip("\n"), no_wrap=True, end="")


def text_strips(text: Text, width: int, height: int) -> list[Strip]:
    """`text` cut into one Strip per row, by a console of this thread's own."""
    console = Console(
        file=io.StringIO(), width=width, height=height, color_system="truecolor",
        force_terminal=True, legacy_windows=False,
    )
    lines = console.render_lines(text, console.options.update(width=width, height=height), pad=True)
    return [Strip(line, width) for line in lines[:height]]


@dataclass(frozen=True)
class Drawing:
    """A finished build: what it was built for, its rows, and the CPU seconds it cost."""

    key: tuple
    strips: list[Strip]
    seconds: float


class Chart(Widget):
    DEFAULT_CSS = """
    Chart {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, title: str, *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.title = title
        self.series: tuple[Series, ...] = ()
        self.axes = Axes()
        self._version = 0
        self._drawing: Drawing | None = None
        self.draw_seconds = 0.0  # CPU seconds the latest build cost, to pace redraws

    def on_mount(self) -> None:
        self._show_caption()

    def plot(self, series: Sequence[Series], axes: Axes = Axes()) -> None:
        self.series = tuple(series)
        self.axes = axes
        legend = self.legend(self.series)
        if legend != self.border_subtitle:
            self.border_subtitle = legend
        self._show_caption()
        self._version += 1
        self._build_if_stale()

    def on_resize(self) -> None:
        self._show_caption()
        self._build_if_stale()

    def _show_caption(self) -> None:
        # The border's corners, a line on each side and the spaces around the title: 6 cells.
        caption = self.caption(self.axes, room=self.outer_size.width - 6)
        if caption != self.border_title:
            self.border_title = caption

    @property
    def drawn(self) -> bool:
        """Whether what the widget shows is built from its current data and size."""
        return self._drawing is not None and self._drawing.key == self._key()

    def _key(self) -> tuple:
        width, height = self.content_size
        return (width, height, self._version, not self.app.no_color)

    def _build_if_stale(self) -> None:
        key = self._key()
        if key[0] and key[1] and not self.drawn:
            self.build(key, self.series, self.axes)

    @work(thread=True, exclusive=True, exit_on_error=False, group="chart")
    def build(self, key: tuple, series: tuple[Series, ...], axes: Axes) -> Drawing:
        # CPU time of this thread, so waiting for the GIL or a core does not count as cost.
        started = time.thread_time()
        width, height, _, colour = key
        strips = text_strips(chart_text(series, width, height, colour, axes), width, height)
        return Drawing(key, strips, time.thread_time() - started)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "chart":
            return
        if event.state == WorkerState.SUCCESS:
            self._drawing = event.worker.result
            self.draw_seconds = self._drawing.seconds
            self.refresh()
            self._build_if_stale()  # the data or the size moved on while it was built
        elif event.state == WorkerState.ERROR:
            # Worker messages do not bubble: the app's one error handler hears it from here.
            self.app.post_message(Worker.StateChanged(event.worker, event.state))

    def render_line(self, y: int) -> Strip:
        strips = self._drawing.strips if self._drawing else []
        if y < len(strips):
            return strips[y].apply_style(self.rich_style)
        return Strip.blank(self.content_size.width, self.rich_style)

    def caption(self, axes: Axes, room: int | None = None) -> str:
        """The title, with the scale and the window when they are not the default ones, then the
        reference line (named even when it is too far from the values to be drawn): its label,
        or when the caption would not fit `room` cells its short label, or its value."""
        parts = [self.title]
        if axes.log_y:
            parts.append("log scale")
        if axes.x_range is not None:
            low, high = axes.x_range
            if counts_batches(high, axes):
                per_epoch = axes.batches_per_epoch
                parts.append(f"batches {round(low * per_epoch, 1):g}–{round(high * per_epoch, 1):g}")
            else:
                parts.append(f"{axes.x_label}s {low:.3g}–{high:.3g}")
        reference = axes.reference
        if reference is None:
            return " · ".join(parts)
        names = [name for name in (reference.label, reference.short, f"{reference.y:g}") if name]
        captions = [" · ".join([*parts, f"{REFERENCE_MARKER} {name}"]) for name in names]
        fitting = (caption for caption in captions if room is None or cell_len(caption) <= room)
        return next(fitting, captions[-1])

    @staticmethod
    def legend(series: Sequence[Series]) -> str:
        return "  ".join(f"{'▞' if s.marker == 'hd' else s.marker} {s.label}" for s in series)
