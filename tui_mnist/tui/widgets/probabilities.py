"""The network's class probabilities as labelled horizontal bars.

The true class and the prediction are marked in words beside their bars, so the chart reads the
same without colour; colour (component classes) only adds emphasis.
"""

from __future__ import annotations

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

EIGHTHS = " ▏▎▍▌▋▊▉"
FULL = "█"
MARK_WIDTH = len(" ◀ true, predicted")


def bar(fraction: float, width: int) -> str:
    """A bar `width` cells wide at most, drawn to an eighth of a cell."""
    eighths = round(min(max(fraction, 0.0), 1.0) * width * 8)
    full, part = divmod(eighths, 8)
    return (FULL * full + (EIGHTHS[part] if part else "")).ljust(width)


def mark(digit: int, true_label: int, predicted: int) -> str:
    roles = (("true", digit == true_label), ("predicted", digit == predicted))
    names = [name for name, hit in roles if hit]
    return f" ◀ {', '.join(names)}" if names else ""


def probability_text(
    probs: np.ndarray,
    true_label: int,
    width: int,
    styles: dict[str, Style] | None = None,
) -> Text:
    """One line per class: `d bar  12.3% ◀ true`, fitted into `width` cells."""
    styles = styles or {}
    predicted = int(np.argmax(probs))
    bar_width = max(1, width - 2 - 7 - MARK_WIDTH)
    text = Text(no_wrap=True, overflow="crop")
    for digit, p in enumerate(np.asarray(probs, dtype=float)):
        if digit:
            text.append("\n")
        if digit == predicted:
            role = "right" if predicted == true_label else "wrong"
        else:
            role = "true" if digit == true_label else "bar"
        text.append(f"{digit} ", styles.get("label"))
        text.append(bar(p, bar_width), styles.get(role))
        text.append(f" {p:6.1%}")
        text.append(mark(digit, true_label, predicted), styles.get("mark"))
    return text


class ProbabilityBars(Widget):
    DEFAULT_CSS = """
    ProbabilityBars {
        height: 10;
    }
    ProbabilityBars > .probabilities--bar { color: $primary; }
    ProbabilityBars > .probabilities--right { color: $success; }
    ProbabilityBars > .probabilities--wrong { color: $error; }
    ProbabilityBars > .probabilities--true { color: $warning; }
    ProbabilityBars > .probabilities--label { text-style: bold; }
    ProbabilityBars > .probabilities--mark { text-style: bold; }
    """

    COMPONENT_CLASSES = {
        f"probabilities--{role}" for role in ("bar", "right", "wrong", "true", "label", "mark")
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.probs: np.ndarray | None = None
        self.true_label = 0

    def show(self, probs: np.ndarray | None, true_label: int = 0) -> None:
        self.probs = probs
        self.true_label = int(true_label)
        self.refresh()

    def render(self) -> Text:
        if self.probs is None:
            return Text("")
        styles = {
            name.removeprefix("probabilities--"): self.get_component_rich_style(name, partial=True)
            for name in self.COMPONENT_CLASSES
        }
        return probability_text(self.probs, self.true_label, self.content_size.width, styles)
