"""One map of weights in [-1, 1] (a unit's 28x28 incoming weights, or a heat strip of a deeper
unit's) drawn as text, two pixel rows per terminal row, with the unit's caption.

With colour, each cell is an upper half block (`digit.py`'s drawing) in a diverging palette:
negative weights tend to one hue and positive to another as |w| grows, zero is the neutral
colour; the three come from component classes (blue, orange, near black by default), so a
theme or a screen's CSS can change them. The hue's share grows as sqrt(|w|): most weights are
small beside a layer's largest, and a linear blend left them all but black.

Without colour (NO_COLOR, or a terminal Rich cannot colour) a character stands for the mean of
the two pixels: blank below |w| = 1/16, then `.` `-` `=` for weaker to stronger negative
weights and `:` `+` `#` for positive ones (even steps in sqrt(|w|) too), so the sign survives
without colour. `half` draws the map averaged over 2x2 blocks (28x28 weights take 14x7 cells
instead of 28x14).

The caption (the unit's number) goes under the map, or `beside` it on its first line (heat
strips, one row per unit). Lines come from the Line API, built once per `show` and colour mode.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui_mnist.tui.widgets.digit import UPPER_HALF, app_has_color

LEVELS = 16  # colour steps per sign: a cached style per (top, bottom) pair of steps
NEGATIVE_RAMP = ".-="
POSITIVE_RAMP = ":+#"
BLANK_BELOW = 1 / 4  # sqrt(|w|) under this (|w| < 1/16) is drawn blank without colour
PLAIN = Style()  # Textual's NO_COLOR filter expects every segment to have a style

RGB = tuple[int, int, int]


def halve(values: np.ndarray) -> np.ndarray:
    """(ceil(rows/2), ceil(cols/2)): the mean over 2x2 blocks, odd edges padded with zeros."""
    rows, cols = values.shape
    padded = np.pad(values, ((0, rows % 2), (0, cols % 2)))
    return (padded[0::2, 0::2] + padded[1::2, 0::2] + padded[0::2, 1::2] + padded[1::2, 1::2]) / 4


def weight_char(value: float) -> str:
    """The NO_COLOR character for a weight in [-1, 1]."""
    magnitude = abs(value) ** 0.5
    if magnitude < BLANK_BELOW:
        return " "
    ramp = POSITIVE_RAMP if value > 0 else NEGATIVE_RAMP
    step = (1 - BLANK_BELOW) / len(ramp)
    return ramp[min(int((magnitude - BLANK_BELOW) / step), len(ramp) - 1)]


def weight_ascii(values: np.ndarray) -> list[str]:
    """The map as the character ramp draws it: ceil(rows/2) lines of `cols` characters."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) % 2:
        values = np.vstack([values, np.zeros((1, values.shape[1]))])
    means = (values[0::2] + values[1::2]) / 2
    return ["".join(weight_char(value) for value in row) for row in means.tolist()]


def _mix(neutral: RGB, end: RGB, share: float) -> Color:
    return Color.from_rgb(*(round(n + (e - n) * share) for n, e in zip(neutral, end)))


@lru_cache(maxsize=8192)
def _cell_style(top: int, bottom: int, palette: tuple[RGB, RGB, RGB]) -> Style:
    """Half-block style for two weights quantised to -LEVELS..LEVELS."""
    negative, neutral, positive = palette

    def color(level: int) -> Color:
        return _mix(neutral, positive if level > 0 else negative, (abs(level) / LEVELS) ** 0.5)

    return Style(color=color(top), bgcolor=color(bottom))


class WeightImage(Widget):
    """Shows one map of weights with its caption, or nothing until `show` is called."""

    ascii_art: reactive[bool] = reactive(False)
    """Drawn with the character ramp, as without colour."""

    COMPONENT_CLASSES = {
        "weight-image--negative",
        "weight-image--neutral",
        "weight-image--positive",
        "weight-image--caption",
    }

    DEFAULT_CSS = """
    WeightImage {
        width: auto;
        height: auto;
    }
    WeightImage > .weight-image--negative {
        color: #3c8cff;
    }
    WeightImage > .weight-image--neutral {
        color: #161616;
    }
    WeightImage > .weight-image--positive {
        color: #ff8c28;
    }
    WeightImage > .weight-image--caption {
        color: $text-muted;
    }
    """

    def __init__(self, beside: int = 0, **kwargs) -> None:
        """`beside`: the caption's width to the left of the map; 0 puts it under the map."""
        super().__init__(**kwargs)
        self.beside = beside
        self.values: np.ndarray | None = None  # (rows, cols) in [-1, 1], as given
        self.caption = ""
        self.half = False
        self._drawn = np.zeros((0, 0))  # what is drawn: the values, halved or not
        self._strips: tuple[tuple, list[Strip]] | None = None

    def show(self, values: np.ndarray | None, caption: str = "", half: bool = False) -> None:
        """Draw `values` ((rows, cols) in [-1, 1]), at half size with `half`, with `caption`."""
        self.values, self.caption, self.half = values, caption, half
        drawn = np.zeros((0, 0)) if values is None else np.asarray(values, dtype=np.float64)
        self._drawn = halve(drawn) if half and drawn.size else drawn
        self._strips = None
        self.refresh(layout=True)

    # --- size -------------------------------------------------------------------------------

    @property
    def map_lines(self) -> int:
        return (self._drawn.shape[0] + 1) // 2

    def get_content_width(self, container, viewport) -> int:
        return self.beside + self._drawn.shape[1]

    def get_content_height(self, container, viewport, width) -> int:
        if self.values is None:
            return 0
        return max(self.map_lines, 1) if self.beside else self.map_lines + 1

    # --- drawing ----------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips = None  # the palette may have changed with the theme

    def _palette(self) -> tuple[RGB, RGB, RGB]:
        def rgb(name: str) -> RGB:
            color = self.get_component_rich_style(name).color
            return tuple(color.get_truecolor()) if color is not None else (128, 128, 128)

        return (rgb("weight-image--negative"), rgb("weight-image--neutral"),
                rgb("weight-image--positive"))

    def render_line(self, y: int) -> Strip:
        color = app_has_color(self) and not self.ascii_art
        key = (color, self._palette() if color else None, self.size.width)
        if self._strips is None or self._strips[0] != key:
            self._strips = (key, self._lines(color, key[1]))
        strips = self._strips[1]
        return strips[y] if y < len(strips) else Strip.blank(self.size.width)

    def _lines(self, color: bool, palette: tuple[RGB, RGB, RGB] | None) -> list[Strip]:
        if self.values is None:
            return []
        width = self._drawn.shape[1]
        maps = self._color_lines(palette) if color else [
            [Segment(line, PLAIN)] for line in weight_ascii(self._drawn)
        ]
        caption_style = self.get_component_rich_style("weight-image--caption")
        if not self.beside:
            caption = self.caption[:width].center(width)
            return [Strip(line, width) for line in maps] + [
                Strip([Segment(caption, caption_style)], width)]
        lines = []
        for row, line in enumerate(maps or [[Segment(" " * width, PLAIN)]]):
            label = self.caption if row == 0 else ""
            label = label[: self.beside - 1].rjust(self.beside - 1) + " "
            lines.append(Strip([Segment(label, caption_style), *line], self.beside + width))
        return lines

    def _color_lines(self, palette: tuple[RGB, RGB, RGB]) -> list[list[Segment]]:
        levels = np.rint(np.clip(self._drawn, -1, 1) * LEVELS).astype(int)
        if len(levels) % 2:
            levels = np.vstack([levels, np.zeros((1, levels.shape[1]), int)])
        return [
            [Segment(UPPER_HALF, _cell_style(top, bottom, palette)) for top, bottom in zip(tops, bottoms)]
            for tops, bottoms in zip(levels[0::2].tolist(), levels[1::2].tolist())
        ]
