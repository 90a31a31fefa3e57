"""Labelled progress bars drawn as text on one line: `epoch 2/5 ━━━━──── batch 120/430 ━━──`.

One plain widget instead of Textual's ProgressBar and Label per bar: the training screen
repaints it several times a second, and every repaint costs the training thread. Done and to-do
use different glyphs, so the bars read without colour.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

GAP = "  "


class ProgressLine(Widget):
    DEFAULT_CSS = """
    ProgressLine {
        height: 1;
    }
    ProgressLine > .progress-line--done {
        color: $primary;
    }
    ProgressLine > .progress-line--todo {
        color: $foreground 30%;
    }
    """
    COMPONENT_CLASSES = {"progress-line--done", "progress-line--todo"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.parts: tuple[tuple[str, float], ...] = ()  # (label, fraction done)

    def show(self, parts: Sequence[tuple[str, float]]) -> None:
        parts = tuple(parts)
        if parts != self.parts:
            self.parts = parts
            self.refresh()

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop", end="")
        if not self.parts:
            return text
        labels = sum(len(label) + 1 for label, _ in self.parts) + len(GAP) * (len(self.parts) - 1)
        bar_width = max(0, (self.content_size.width - labels) // len(self.parts))
        done_style = self.get_component_rich_style("progress-line--done")
        todo_style = self.get_component_rich_style("progress-line--todo")
        for index, (label, fraction) in enumerate(self.parts):
            if index:
                text.append(GAP)
            done = round(bar_width * min(max(fraction, 0.0), 1.0))
            text.append(f"{label} ")
            text.append("━" * done, done_style)
            text.append("─" * (bar_width - done), todo_style)
        return text
