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


@dataclass(frozen=True)
class Series:
    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    marker: str  # "hd" (quadrant blocks) or one ASCII character: tells series apart without colour
    color: str  # a plotext colour name from the 16 basic ones


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


_PLOTEXT = threading.Lock()


def chart_text(series: Sequence[Series], width: int, height: int, colour: bool) -> Text:
    """The chart as text of `width` x `height` cells (a placeholder while there is no data or
    no room)."""
    drawn = [s for s in series if len(s.xs)]
    if not drawn:
        return Text("waiting for data...", style="dim")
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        return Text(Chart.legend(drawn), style="dim")
    with _PLOTEXT:
        plt.clf()
        plt.theme("pro" if colour else "clear")
        plt.plotsize(width, height)
        plt.limit_size(False, False)
        for one in drawn:
            plt.plot(
                thin(one.xs, width),
                thin(one.ys, width),
                marker=one.marker,
                color=one.color if colour else None,
            )
        plt.xlim(0, max(max(s.xs) for s in drawn) or 1)
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
        self._version = 0
        self._drawing: Drawing | None = None
        self.draw_seconds = 0.0  # CPU seconds the latest build cost, to pace redraws

    def on_mount(self) -> None:
        self.border_title = self.title

    def plot(self, series: Sequence[Series]) -> None:
        self.series = tuple(series)
        legend = self.legend(self.series)
        if legend != self.border_subtitle:
            self.border_subtitle = legend
        self._version += 1
        self._build_if_stale()

    def on_resize(self) -> None:
        self._build_if_stale()

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
            self.build(key, self.series)

    @work(thread=True, exclusive=True, exit_on_error=False, group="chart")
    def build(self, key: tuple, series: tuple[Series, ...]) -> Drawing:
        # CPU time of this thread, so waiting for the GIL or a core does not count as cost.
        started = time.thread_time()
        width, height, _, colour = key
        strips = text_strips(chart_text(series, width, height, colour), width, height)
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

    @staticmethod
    def legend(series: Sequence[Series]) -> str:
        return "  ".join(f"{'▞' if s.marker == 'hd' else s.marker} {s.label}" for s in series)
