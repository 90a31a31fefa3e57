"""A 28x28 drawing surface: ink in [0, 1] in a numpy array, painted with a soft round brush by
the mouse (press and drag; the right button erases) or, through the screen's keys, at a cursor.

Drawn like `DigitView` (white ink on black, two pixel rows per terminal row as upper half
blocks, or its character ramp without colour), at the largest whole scale that `fit` allows:
28x14 cells at scale 1, 56x28 at scale 2. The brush's footprint around the cursor is tinted
(red paints, blue erases; reversed cells without colour). Lines are built with the Line API
and cached per row, keyed by what that row shows. Every change posts `DigitCanvas.Drawn`.

Keys belong to the screen: the canvas takes no focus and offers methods (`move_cursor`,
`stamp`, `clear`, ...) instead.

Why not textual-canvas (1.1, weighed for this): it runs on Textual 8, but it draws half blocks at
one fixed size, with no scale, no mouse, keys or cursor, no character ramp for NO_COLOR, and no
numpy input or output; a subclass adding those came to about as many lines as this widget,
which draws the array itself through the Line API.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui_mnist.tui.widgets.digit import RAMP, UPPER_HALF, app_has_color

SIDE = 28  # pixels per side
BRUSH_SIZES = range(1, 7)  # diameters in pixels
DEFAULT_BRUSH = 2
PAINT_TINT = (230, 40, 40)
ERASE_TINT = (40, 110, 240)
TINT_SHARE = 0.45  # of the tint in a footprint pixel's colour: black and white ink both show it
FOOTPRINT = 0.25  # brush weights above this are shown as the footprint


def brush_weights(size: int, row: float, col: float) -> np.ndarray:
    """(28, 28) float64 in [0, 1]: how much a brush `size` pixels across, centred on (row,
    col) in pixel indices (fractions allowed), covers each pixel; 1 inside, a soft edge one
    pixel wide."""
    rows = np.arange(SIDE)[:, None] - row
    cols = np.arange(SIDE)[None, :] - col
    return np.clip(size / 2 + 0.5 - np.hypot(rows, cols), 0.0, 1.0)


@lru_cache(maxsize=4096)
def _style(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Style:
    return Style(color=Color.from_rgb(*top), bgcolor=Color.from_rgb(*bottom))


PLAIN = Style()  # Textual's NO_COLOR filter expects every segment to have a style
REVERSED = Style(reverse=True)


class DigitCanvas(Widget):
    DEFAULT_CSS = """
    DigitCanvas {
        width: auto;
        height: auto;
    }
    """

    ascii_art: reactive[bool] = reactive(False)
    """Drawn with the character ramp, as without colour."""

    @dataclass
    class Drawn(Message):
        """The drawing changed; `pixels` is a copy of it, (28, 28) float64 ink in [0, 1]."""

        pixels: np.ndarray

        def can_replace(self, message: Message) -> bool:
            # A drag paints on every mouse move: only the newest drawing needs predicting.
            return isinstance(message, DigitCanvas.Drawn)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pixels = np.zeros((SIDE, SIDE), dtype=np.float64)
        self.cursor = (SIDE // 2, SIDE // 2)  # (row, col)
        self.brush = DEFAULT_BRUSH
        self.erasing = False
        self.scale = 1
        self._levels = np.zeros((SIDE, SIDE), dtype=np.uint8)  # the pixels as 0..255 greys
        self._footprint = self._footprint_mask()
        self._strips: dict[int, tuple[tuple, Strip]] = {}
        self._dragging = False
        self._last_point: tuple[float, float] = (0.0, 0.0)
        self._erasing_before_drag = False

    # --- what the screen calls ------------------------------------------------------------

    def fit(self, width: int, height: int) -> None:
        """Take the largest whole scale (at least 1) whose drawing fits width x height cells."""
        scale = max(1, min(width // SIDE, height // (SIDE // 2)))
        if scale != self.scale:
            self.scale = scale
            self._strips.clear()
            self.refresh(layout=True)

    def move_cursor(self, rows: int, cols: int, paint: bool = False) -> None:
        """Move the cursor (kept on the canvas); with `paint`, the brush goes along the way."""
        start = self.cursor
        row = min(max(start[0] + rows, 0), SIDE - 1)
        col = min(max(start[1] + cols, 0), SIDE - 1)
        if paint:
            self._line(start, (row, col))
        self._set_cursor(row, col)

    def stamp(self) -> None:
        """The brush (or the eraser) once, at the cursor."""
        self._apply(brush_weights(self.brush, *self.cursor))
        self._changed()

    def set_brush(self, size: int) -> None:
        self.brush = min(max(size, BRUSH_SIZES.start), BRUSH_SIZES.stop - 1)
        self._update_footprint()

    def set_erasing(self, erasing: bool) -> None:
        self.erasing = erasing
        self._update_footprint()

    def clear(self) -> None:
        self.pixels[:] = 0.0
        self._changed()

    # --- the mouse ------------------------------------------------------------------------

    def on_mouse_down(self, event: events.MouseDown) -> None:
        point = self._pixel_at(event)
        if point is None:
            return
        self._dragging = True
        self.capture_mouse()
        self._erasing_before_drag = self.erasing
        if event.button == 3:  # the right button erases, whatever the mode
            self.set_erasing(True)
        self._last_point = point
        self._apply(brush_weights(self.brush, *point))
        self._set_cursor(*self._nearest(point))
        self._changed()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        # Not event.button: a terminal's drag reports it, a Pilot's hover sends 0.
        if not self._dragging:
            return
        point = self._pixel_at(event, clamp=True)
        self._line(self._last_point, point)
        self._last_point = point
        self._set_cursor(*self._nearest(point))

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._dragging:
            self._dragging = False
            self.release_mouse()
            self.set_erasing(self._erasing_before_drag)

    def _pixel_at(self, event: events.MouseEvent, clamp: bool = False) -> tuple[float, float] | None:
        """The pixel under the middle of the event's cell, in pixel indices (fractions: a cell
        at scale 1 is one pixel wide and two high); None outside the drawing."""
        offset = event.get_content_offset(self) if not clamp else event.get_content_offset_capture(self)
        if offset is None:
            return None
        scale = self.scale
        row = (2 * offset.y + 1) / scale - 0.5
        col = (offset.x + 0.5) / scale - 0.5
        if clamp:
            return min(max(row, 0.0), SIDE - 1.0), min(max(col, 0.0), SIDE - 1.0)
        if not (0 <= row < SIDE and 0 <= col < SIDE):
            return None
        return row, col

    @staticmethod
    def _nearest(point: tuple[float, float]) -> tuple[int, int]:
        return int(round(point[0])), int(round(point[1]))

    # --- painting -------------------------------------------------------------------------

    def _line(self, start: tuple[float, float], end: tuple[float, float]) -> None:
        """The brush along a straight line, in half-pixel steps (no gaps between mouse moves)."""
        steps = int(np.ceil(2 * max(abs(end[0] - start[0]), abs(end[1] - start[1])))) + 1
        cover = np.zeros((SIDE, SIDE))
        for t in np.linspace(0.0, 1.0, steps):
            centre = start[0] + t * (end[0] - start[0]), start[1] + t * (end[1] - start[1])
            np.maximum(cover, brush_weights(self.brush, *centre), out=cover)
        self._apply(cover)
        self._changed()

    def _apply(self, weights: np.ndarray) -> None:
        if self.erasing:
            self.pixels *= 1.0 - weights
        else:
            np.maximum(self.pixels, weights, out=self.pixels)

    def _changed(self) -> None:
        levels = np.rint(self.pixels * 255).astype(np.uint8)
        rows = np.flatnonzero((levels != self._levels).any(axis=1))
        self._levels = levels
        if len(rows):
            self._refresh_pixel_rows(int(rows[0]), int(rows[-1]))
        self.post_message(self.Drawn(self.pixels.copy()))

    def _set_cursor(self, row: int, col: int) -> None:
        self.cursor = (row, col)
        self._update_footprint()

    def _footprint_mask(self) -> np.ndarray:
        return brush_weights(self.brush, *self.cursor) > FOOTPRINT

    def _update_footprint(self) -> None:
        """Recompute the tinted footprint; repaint the rows it left and the rows it covers."""
        old = self._footprint
        self._footprint = self._footprint_mask()
        rows = np.flatnonzero((old | self._footprint).any(axis=1))
        if len(rows):
            self._refresh_pixel_rows(int(rows[0]), int(rows[-1]))

    def _refresh_pixel_rows(self, first: int, last: int) -> None:
        top = first * self.scale // 2
        bottom = ((last + 1) * self.scale - 1) // 2
        self.refresh(Region(0, top, SIDE * self.scale, bottom - top + 1))

    # --- drawing --------------------------------------------------------------------------

    def get_content_width(self, container, viewport) -> int:
        return SIDE * self.scale

    def get_content_height(self, container, viewport, width) -> int:
        return SIDE * self.scale // 2

    def render_line(self, y: int) -> Strip:
        """Terminal row `y`: the pixel rows under its top and bottom halves."""
        scale = self.scale
        top, bottom = 2 * y // scale, (2 * y + 1) // scale
        if bottom >= SIDE:
            return Strip.blank(self.size.width)
        color = app_has_color(self) and not self.ascii_art
        key = (
            self._levels[top].tobytes(), self._levels[bottom].tobytes(),
            self._footprint[top].tobytes(), self._footprint[bottom].tobytes(),
            color, self.erasing, scale,
        )
        cached = self._strips.get(y)
        if cached is not None and cached[0] == key:
            return cached[1]
        strip = Strip(self._segments(top, bottom, color), SIDE * scale)
        self._strips[y] = (key, strip)
        return strip

    def _segments(self, top: int, bottom: int, color: bool) -> list[Segment]:
        scale = self.scale
        levels, footprint = self._levels, self._footprint
        if not color:
            mean = (levels[top].astype(int) + levels[bottom]) / 2
            chars = [RAMP[int(level * len(RAMP) / 256)] for level in mean]
            marked = footprint[top] | footprint[bottom]
            return [
                Segment(char * scale, REVERSED if mark else PLAIN)
                for char, mark in zip(chars, marked.tolist())
            ]
        tint = ERASE_TINT if self.erasing else PAINT_TINT
        return [
            Segment(
                UPPER_HALF * scale,
                _style(self._grey(levels[top, col], footprint[top, col], tint),
                       self._grey(levels[bottom, col], footprint[bottom, col], tint)),
            )
            for col in range(SIDE)
        ]

    @staticmethod
    def _grey(level: int, marked: bool, tint: tuple[int, int, int]) -> tuple[int, int, int]:
        level = int(level)
        if not marked:
            return level, level, level
        return tuple(round(level * (1 - TINT_SHARE) + t * TINT_SHARE) for t in tint)
