"""A greyscale image drawn as text: two pixel rows per terminal row.

With colour, each cell is an upper-half block whose foreground is the top pixel's grey and whose
background is the bottom pixel's grey. Without colour (NO_COLOR, or a terminal Rich cannot colour),
or when asked to (`ascii_art`), a character ramp from light to dark ink stands for the mean of the
two pixels: plain ASCII, which `digit_ascii` gives as a string to copy.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

UPPER_HALF = "▀"
RAMP = " .:-=+*#%@"


@lru_cache(maxsize=4096)
def _cell_style(top: int, bottom: int) -> Style:
    return Style(
        color=Color.from_rgb(top, top, top), bgcolor=Color.from_rgb(bottom, bottom, bottom)
    )


def _pixel_pairs(image: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(top rows, bottom rows) of the image; an odd last row pairs with a blank one."""
    rows, cols = shape
    pixels = np.asarray(image, dtype=np.uint8).reshape(rows, cols)
    if rows % 2:
        pixels = np.vstack([pixels, np.zeros((1, cols), np.uint8)])
    return pixels[0::2], pixels[1::2]


def digit_text(image: np.ndarray, shape: tuple[int, int], color: bool) -> Text:
    """The image as ceil(rows/2) lines of `cols` cells."""
    tops, bottoms = _pixel_pairs(image, shape)
    text = Text(no_wrap=True, overflow="crop")
    for line, (top_row, bottom_row) in enumerate(zip(tops.tolist(), bottoms.tolist())):
        if line:
            text.append("\n")
        if color:
            for top, bottom in zip(top_row, bottom_row):
                text.append(UPPER_HALF, _cell_style(top, bottom))
        else:
            mean = (np.array(top_row) + np.array(bottom_row)) / 2
            levels = (mean * len(RAMP) / 256).astype(int)
            text.append("".join(RAMP[level] for level in levels))
    return text


def digit_ascii(image: np.ndarray, shape: tuple[int, int]) -> str:
    """The image as the ramp draws it (ceil(rows/2) lines of `cols` ASCII characters), each
    line without its trailing blanks: text to paste anywhere."""
    lines = digit_text(image, shape, color=False).plain.split("\n")
    return "\n".join(line.rstrip() for line in lines)


def app_has_color(widget: Widget) -> bool:
    """False under NO_COLOR (Textual sets App.no_color) or when Rich found no colour support."""
    app = widget.app
    return not app.no_color and app.console.color_system is not None


class DigitView(Widget):
    """Shows one image, or nothing until `show` is called."""

    DEFAULT_CSS = """
    DigitView {
        width: auto;
        height: auto;
    }
    """

    ascii_art: reactive[bool] = reactive(False)
    """Draw with the character ramp even where colour works."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.shape = (0, 0)
        self.image: np.ndarray | None = None

    def show(self, image: np.ndarray | None, shape: tuple[int, int] | None = None) -> None:
        """Draw `image` (pixels of `shape`: rows, cols; by default the previous image's)."""
        self.image = image
        if shape is not None and shape != self.shape:
            self.shape = shape
            self.refresh(layout=True)
        self.refresh()

    def get_content_width(self, container, viewport) -> int:
        return self.shape[1]

    def get_content_height(self, container, viewport, width) -> int:
        return (self.shape[0] + 1) // 2

    def render(self) -> Text:
        if self.image is None:
            return Text("")
        return digit_text(self.image, self.shape, app_has_color(self) and not self.ascii_art)
