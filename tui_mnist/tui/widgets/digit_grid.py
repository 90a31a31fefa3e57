"""A page of small digits, each over its predicted label: the inspector's grid view.

Each cell is a thumbnail (the image averaged over 2x2 pixel blocks, drawn like `DigitView`:
half blocks, or the character ramp without colour or with `ascii_art`) over one label line. Lines are drawn with
the Line API from Strips cached per image and per label, so a repaint re-uses them and moving
the selection refreshes only the two cells whose label changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui_mnist.tui.widgets.digit import app_has_color, digit_text

GAP = 2  # blank columns between thumbnails
ROW_GAP = 1  # blank rows between a label and the thumbnails below
CACHE_LIMIT = 512  # cached cells (a page at 300x100 is about 200): memory stays small


@dataclass(frozen=True)
class GridCell:
    """One image of the page: `index` (its place in the set) identifies it in the cache."""

    index: int
    image: np.ndarray  # (rows*cols,) uint8
    predicted: int
    true_label: int


def thumbnail(image: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The image averaged over 2x2 blocks (odd edges padded with blank pixels), and its shape."""
    rows, cols = shape
    pixels = np.asarray(image, dtype=np.uint16).reshape(rows, cols)
    pixels = np.pad(pixels, ((0, rows % 2), (0, cols % 2)))
    small = (pixels[0::2, 0::2] + pixels[1::2, 0::2] + pixels[0::2, 1::2] + pixels[1::2, 1::2]) // 4
    return small.astype(np.uint8), small.shape


def thumbnail_size(shape: tuple[int, int]) -> Size:
    """Terminal cells of a thumbnail: 28x28 pixels become 14 columns by 7 rows."""
    rows, cols = (shape[0] + 1) // 2, (shape[1] + 1) // 2
    return Size(cols, (rows + 1) // 2)


def cell_label(cell: GridCell, selected: bool) -> str:
    """`▸3 ✗ true 5` for the selected, misclassified image; ` 7 ✓` for a right one."""
    mark = "▸" if selected else " "
    verdict = "✓" if cell.predicted == cell.true_label else f"✗ true {cell.true_label}"
    return f"{mark}{cell.predicted} {verdict}"


def text_strip(text: Text, style: Style, console: Console) -> Strip:
    """One line of `text` over `style`. Every segment gets a style (Rich leaves a Text without
    spans unstyled), as Textual's NO_COLOR filter expects."""
    segments = Segment.apply_style(text.render(console), style)
    return Strip(list(segments), text.cell_len)


class DigitGrid(Widget):
    """As many thumbnails as fit, row by row; `show` gives the page and the selected cell."""

    DEFAULT_CSS = """
    DigitGrid {
        width: 1fr;
        height: 1fr;
    }
    DigitGrid > .digit-grid--wrong {
        color: $text-error;
    }
    DigitGrid > .digit-grid--selected {
        text-style: reverse bold;
    }
    """
    COMPONENT_CLASSES = {"digit-grid--wrong", "digit-grid--selected"}

    ascii_art: reactive[bool] = reactive(False)
    """Draw with the character ramp even where colour works (pictures are cached per way)."""

    @dataclass
    class CapacityChanged(Message):
        """The number of cells that fit changed (a resize): the page must be cut again."""

        grid: DigitGrid
        capacity: int

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cells: list[GridCell] = []
        self.selected = 0
        self.shape = (28, 28)
        self._pictures: dict[tuple[int, bool], list[Strip]] = {}  # (index, half blocks) -> lines
        self._labels: dict[tuple[int, bool], Strip] = {}  # (index, selected) -> label line
        self._capacity = 0

    @property
    def cell_size(self) -> Size:
        picture = thumbnail_size(self.shape)
        return Size(picture.width + GAP, picture.height + 1 + ROW_GAP)

    @property
    def columns(self) -> int:
        # The last column and row need no gap after them.
        return max(1, (self.size.width + GAP) // self.cell_size.width)

    @property
    def capacity(self) -> int:
        """Cells that fit in the widget's current size (at least one)."""
        rows = (self.size.height + ROW_GAP) // self.cell_size.height
        return self.columns * max(1, rows)

    def on_resize(self) -> None:
        if self.capacity != self._capacity:
            self._capacity = self.capacity
            self.post_message(self.CapacityChanged(self, self.capacity))

    def show(self, cells: list[GridCell], selected: int, shape: tuple[int, int]) -> None:
        """Draw `cells` (at most `capacity`), marking `cells[selected]`."""
        same_page = shape == self.shape and [c.index for c in cells] == [c.index for c in self.cells]
        before = self.selected
        self.cells, self.selected = cells, selected
        if shape != self.shape:
            self.shape = shape
            self._pictures.clear()
        if not same_page:
            self.refresh()
        elif before != selected:
            self.refresh(self.cell_region(before), self.cell_region(selected))

    def cell_region(self, slot: int) -> Region:
        """Where cell `slot` of the page is drawn, in the widget's coordinates."""
        row, column = divmod(slot, self.columns)
        width, height = self.cell_size
        return Region(column * width, row * height, width, height)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._labels.clear()  # the theme colours the labels and the background
        self._pictures.clear()

    def _cached(self, cache: dict, key: tuple, make):
        if key not in cache:
            if len(cache) >= CACHE_LIMIT:
                del cache[next(iter(cache))]  # the oldest entry
            cache[key] = make()
        return cache[key]

    def picture_lines(self, cell: GridCell) -> list[Strip]:
        color = app_has_color(self) and not self.ascii_art

        def make() -> list[Strip]:
            small, small_shape = thumbnail(cell.image, self.shape)
            width, base = self.cell_size.width, self.rich_style
            lines = digit_text(small, small_shape, color).split("\n")
            strips = []
            for line in lines:
                strip = text_strip(line, base, self.app.console)
                strips.append(strip.extend_cell_length(width, base))
            return strips

        return self._cached(self._pictures, (cell.index, color), make)

    def label_line(self, cell: GridCell, selected: bool) -> Strip:
        def make() -> Strip:
            wrong = cell.predicted != cell.true_label
            style = self.rich_style
            if wrong:
                style += self.get_component_rich_style("digit-grid--wrong", partial=True)
            if selected:
                style += self.get_component_rich_style("digit-grid--selected", partial=True)
            picture_width = self.cell_size.width - GAP
            text = Text(cell_label(cell, selected).ljust(picture_width))
            strip = text_strip(text, style, self.app.console)
            return strip.adjust_cell_length(self.cell_size.width, self.rich_style)

        return self._cached(self._labels, (cell.index, selected), make)

    def render_line(self, y: int) -> Strip:
        width, height = self.cell_size
        row, line = divmod(y, height)
        picture_rows = height - 1 - ROW_GAP
        parts = []
        for column in range(self.columns):
            slot = row * self.columns + column
            if slot >= len(self.cells) or line > picture_rows:
                parts.append(Strip.blank(width, self.rich_style))
            elif line < picture_rows:
                parts.append(self.picture_lines(self.cells[slot])[line])
            else:
                parts.append(self.label_line(self.cells[slot], slot == self.selected))
        return Strip.join(parts).extend_cell_length(self.size.width, self.rich_style)
