"""A line chart drawn by plotext into a Textual widget.

plotext keeps one global figure, so every build starts with `clf()`; builds happen on the UI
thread only. The built text is cached until the data, the size or the colour mode changes, so
a refresh of the screen does not redraw the plot.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import plotext as plt
from rich.text import Text
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

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
        self._cache_key: tuple | None = None
        self._cache = Text()
        self.draw_seconds = 0.0  # CPU seconds drawing the current data has cost, to pace redraws

    def on_mount(self) -> None:
        self.border_title = self.title

    def plot(self, series: Sequence[Series]) -> None:
        self.series = tuple(series)
        legend = self.legend(self.series)
        if legend != self.border_subtitle:
            self.border_subtitle = legend
        self._version += 1
        self.draw_seconds = 0.0
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        # Timed here rather than in render(): Textual's own work on the lines costs as much.
        # CPU time of this thread, so waiting for the GIL or a core does not count as cost.
        started = time.thread_time()
        lines = super().render_lines(crop)
        self.draw_seconds += time.thread_time() - started
        return lines

    def render(self) -> Text:
        width, height = self.content_size
        colour = not self.app.no_color
        key = (width, height, self._version, colour)
        if key != self._cache_key:
            self._cache = self._build(width, height, colour)
            self._cache_key = key
        return self._cache

    def _build(self, width: int, height: int, colour: bool) -> Text:
        drawn = [s for s in self.series if len(s.xs)]
        if not drawn:
            return Text("waiting for data...", style="dim")
        if width < MIN_WIDTH or height < MIN_HEIGHT:
            return Text(self.legend(drawn), style="dim")
        plt.clf()
        plt.theme("pro" if colour else "clear")
        plt.plotsize(width, height)
        plt.limit_size(False, False)
        for series in drawn:
            plt.plot(
                thin(series.xs, width),
                thin(series.ys, width),
                marker=series.marker,
                color=series.color if colour else None,
            )
        plt.xlim(0, max(max(s.xs) for s in drawn) or 1)
        # plotext ends some builds with a newline: one row more than it was given.
        return Text.from_ansi(plt.build().rstrip("\n"), no_wrap=True, end="")

    @staticmethod
    def legend(series: Sequence[Series]) -> str:
        return "  ".join(f"{'▞' if s.marker == 'hd' else s.marker} {s.label}" for s in series)
