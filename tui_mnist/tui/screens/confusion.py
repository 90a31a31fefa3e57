"""Which digits the network takes for which: the 10×10 confusion matrix (rows the true class,
columns the predicted one) with each class's precision and recall and the pairs it mixes up
most. A cell cursor picks a cell; enter opens the inspector on exactly its images, least
confident first.

Of a run (one with a folder), the screen opens on its newest epoch's counts on the validation
set, recorded by the trainer at the epoch's end (engine.epoch_record), and follows the run;
`[` and `]` step through the epochs (EpochReplay). A cell of a past epoch opens that epoch's
checkpoint, where it was kept, on the validation images.

"Now" (`r`, after the newest epoch, and the only view of a model file): the network as it is, on
the test set. It comes the way the inspector's does (`InspectSource`, through a `fetch` that
may take a trip to a live run's trainer): in a worker, behind a loading indicator. The counting
(`engine.confusion.confusion_of`, a forward pass over every test image) runs on a thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.confusion import confusion_of, most_confused, precision_recall
from tui_mnist.engine.epoch_record import EpochRecord
from tui_mnist.tui.screens.base import MnistScreen
from tui_mnist.tui.screens.epoch_replay import REPLAY_BINDINGS, RecordReplay
from tui_mnist.tui.screens.inspector import Filters, InspectorScreen, InspectSource
from tui_mnist.tui.screens.source_view import SourceFetch, SourceView
from tui_mnist.tui.widgets.digit import app_has_color

TOP_PAIRS = 5  # the most confused pairs listed under the matrix
LABEL_WIDTH = 6  # the row labels' column
CELL_WIDTH = 6  # one count: up to 4 digits, in brackets under the cursor without colour
LOWEST_SHADE = 0.15  # the faintest tint of a nonzero cell, 1 being the full colour


# --- the numbers ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Confusion:
    """A network's confusion on a labelled set, and what it says per class."""

    matrix: np.ndarray  # (classes, classes) int64: [true, predicted]
    precision: np.ndarray  # (classes,) float64, NaN for a class never predicted
    recall: np.ndarray  # (classes,) float64, NaN for a class with no images
    pairs: list[tuple[int, int, int]]  # (true, predicted, count), the largest counts first

    @classmethod
    def of(cls, source: InspectSource) -> Confusion:
        """Counts the predictions on the source's images: run this on a thread."""
        return cls.of_matrix(confusion_of(source.network, source.images, source.labels, source.normalizer))

    @classmethod
    def of_matrix(cls, matrix: np.ndarray) -> Confusion:
        precision, recall = precision_recall(matrix)
        return cls(matrix, precision, recall, most_confused(matrix, TOP_PAIRS))

    @property
    def total(self) -> int:
        return int(self.matrix.sum())

    @property
    def correct(self) -> int:
        return int(np.trace(self.matrix))


def percent(share: float) -> str:
    """A share in at most 5 characters ("98.7%", "100%"); "–" when undefined (NaN)."""
    if np.isnan(share):
        return "–"
    text = f"{share:.1%}"
    return text if len(text) <= 5 else f"{share:.0%}"


def pairs_text(pairs: list[tuple[int, int, int]]) -> str:
    """"most confused: 4 → 9: 23 · 7 → 2: 18", or that there is no mistake."""
    if not pairs:
        return "most confused: none, every image is right"
    return "most confused: " + " · ".join(f"{t} → {p}: {n}" for t, p, n in pairs)


def shade(count: int, reference: int) -> float:
    """How strongly a cell is tinted, in [LOWEST_SHADE, 1]; 0 for an empty cell. Square root:
    a few mistakes still show beside the largest."""
    if count <= 0 or reference <= 0:
        return 0.0
    return LOWEST_SHADE + (1 - LOWEST_SHADE) * min(1.0, (count / reference) ** 0.5)


# --- the grid ------------------------------------------------------------------------------

class ConfusionGrid(Static):
    """The matrix as text: counts shaded green on the diagonal and red off it (stronger for
    larger counts), recall at the end of each row and precision under each column; the cell
    under the cursor reversed, or in brackets without colour. `show` gives it everything."""

    DEFAULT_CSS = """
    ConfusionGrid {
        width: auto;
        height: auto;
    }
    ConfusionGrid > .confusion-grid--right {
        background: $success;
    }
    ConfusionGrid > .confusion-grid--wrong {
        background: $error;
    }
    ConfusionGrid > .confusion-grid--empty {
        color: $text-disabled;
    }
    ConfusionGrid > .confusion-grid--label {
        color: $text-muted;
        text-style: bold;
    }
    ConfusionGrid > .confusion-grid--cursor {
        text-style: reverse bold;
    }
    """
    COMPONENT_CLASSES = {
        "confusion-grid--right",
        "confusion-grid--wrong",
        "confusion-grid--empty",
        "confusion-grid--label",
        "confusion-grid--cursor",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.confusion: Confusion | None = None
        self.cursor = (0, 0)

    def show(self, confusion: Confusion, cursor: tuple[int, int]) -> None:
        self.confusion, self.cursor = confusion, cursor
        self.update(self.matrix_text())

    def cell_style(self, count: int, right: bool, row_total: int, worst_mistake: int) -> Style:
        """A count's tint: its share of its row on the diagonal, of the largest mistake off it."""
        level = shade(count, row_total if right else worst_mistake)
        if level == 0:
            return self.get_component_rich_style("confusion-grid--empty", partial=True)
        _, background = self.background_colors
        full = self.get_component_styles("confusion-grid--right" if right else "confusion-grid--wrong").background
        tint = background.blend(full, level)
        ink = tint + tint.get_contrast_text()
        return Style(bgcolor=tint.rich_color, color=ink.rich_color)

    def matrix_text(self) -> Text:
        confusion = self.confusion
        matrix = confusion.matrix
        classes = len(matrix)
        color = app_has_color(self)
        label = self.get_component_rich_style("confusion-grid--label", partial=True)
        cursor_style = self.get_component_rich_style("confusion-grid--cursor", partial=True)
        off = matrix.copy()
        np.fill_diagonal(off, 0)
        worst_mistake = int(off.max()) if classes else 0

        text = Text(no_wrap=True, end="")
        text.append("t╲p".ljust(LABEL_WIDTH) + "".join(f"{c:>{CELL_WIDTH - 1}} " for c in range(classes))
                    + "  recall\n", label)
        for row in range(classes):
            text.append(f"{row:>3}".ljust(LABEL_WIDTH), label)
            row_total = int(matrix[row].sum())
            for col in range(classes):
                count = int(matrix[row, col])
                selected = (row, col) == self.cursor
                if color:
                    style = self.cell_style(count, row == col, row_total, worst_mistake)
                    if selected:
                        style += cursor_style
                    text.append(f"{count:>{CELL_WIDTH - 1}} ", style)
                elif selected:
                    text.append(f"[{count}]".rjust(CELL_WIDTH))
                else:
                    text.append(f"{count:>{CELL_WIDTH - 1}} ")
            text.append(f"  {percent(confusion.recall[row]):>6}\n")
        text.append("prec".ljust(LABEL_WIDTH), label)
        text.append("".join(f"{percent(p):>{CELL_WIDTH - 1}} " for p in confusion.precision))
        return text


# --- the screen ----------------------------------------------------------------------------

class ConfusionScreen(RecordReplay, SourceView, MnistScreen):
    CSS_PATH = "confusion.tcss"
    TITLE = "Confusion"
    STARTS_AT_NOW = False  # a run's newest epoch, following it; "now" is after the last
    BINDINGS = [
        Binding("up,k", "move(-1, 0)", "move", key_display="hjkl/←↑↓→",
                tooltip="Move the cell cursor (rows: true class, columns: predicted)"),
        Binding("down,j", "move(1, 0)", "down", show=False, tooltip="The cell below"),
        Binding("left,h", "move(0, -1)", "left", show=False, tooltip="The cell to the left"),
        Binding("right,l", "move(0, 1)", "right", show=False, tooltip="The cell to the right"),
        Binding("enter", "open", "images", key_display="⏎",
                tooltip="Inspect the cell's images, least confident first"),
        *REPLAY_BINDINGS,
        Binding("r", "recompute", "test set",
                tooltip="Count the network as it is now on the test set (again: a live run's "
                "weights move on)"),
    ]

    def __init__(self, title: str, fetch: SourceFetch, **kwargs) -> None:
        """`fetch` brings the network and the test set (EngineError explains why it cannot):
        the screen shows `title` and a loading indicator until the counts are there.
        `records`: the run's folder, whose epochs' validation counts `[` and `]` step through."""
        super().__init__(**kwargs)
        self.title_text = title
        self.fetch = fetch
        self.source: InspectSource | None = None  # the test set's, once counted now
        self.confusion: Confusion | None = None  # what the grid shows
        self.cursor: tuple[int, int] | None = None  # (true, predicted); set with the first counts
        self.missing: str | None = None  # why the epoch shown has no counts

    @property
    def matrix(self) -> np.ndarray | None:
        return None if self.confusion is None else self.confusion.matrix

    @property
    def set_name(self) -> str:
        return "test" if self.epoch_shown is None else "validation"

    def compose_body(self) -> ComposeResult:
        yield Static("counting the network's answers…", id="status")
        yield ConfusionGrid(id="matrix")
        yield Static("", id="cell")
        yield Static("", id="pairs")

    def on_mount(self) -> None:
        self.show_text("#heading", f"Confusion · {self.title_text}")
        self.start_replay()

    # --- now: the network on the test set ---------------------------------------------------

    def show_now(self) -> None:
        self.query_one("#matrix").loading = True
        self.count()

    @work(exclusive=True, exit_on_error=False, group="analysis")
    async def count(self) -> tuple[InspectSource, Confusion]:
        source = await self.fetch()
        # The forward pass over the test set runs on a thread, never on the UI's.
        return source, await asyncio.to_thread(Confusion.of, source)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "analysis" or not event.worker.is_finished:
            return
        self.query_one("#matrix").loading = False
        if event.state == WorkerState.SUCCESS and self.epoch_shown is None:
            self.source, confusion = event.worker.result
            self.show_text("#heading", f"Confusion · {self.source.title}")
            self.show_confusion(confusion)
        elif event.state == WorkerState.ERROR:
            self.show_text("#status", f"no confusion matrix: {event.worker.error}")
            # Worker messages do not bubble: the app's one error handler hears it from here.
            self.app.post_message(Worker.StateChanged(event.worker, event.state))

    # --- past epochs: the records' validation counts ----------------------------------------

    def show_epoch(self, epoch: int, read: EpochRecord) -> None:
        self.query_one("#matrix").loading = False
        if read.confusion is None:
            self.show_unkept(epoch, "none (the run has no validation set)")
        else:
            self.show_confusion(Confusion.of_matrix(read.confusion))

    def show_unkept(self, epoch: int, why: str) -> None:
        self.confusion, self.missing = None, why
        self.query_one(ConfusionGrid).display = False
        self.show_text("#status", f"{self.position_text()}: its counts: {why} · [ ] other epochs · r test set")
        self.show_text("#cell", "")
        self.show_text("#pairs", "")
        self.refresh_bindings()

    def replay_changed(self) -> None:
        if self.waiting:
            self.show_text("#status", "the counts come at the end of the first epoch · r counts now on the test set")
        elif self.confusion is not None:
            self.show()
        elif self.epoch_shown is not None and self.missing is not None:
            self.show_unkept(self.epoch_shown, self.missing)  # "of N" has grown

    # --- the grid ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Moving and opening need the counts: greyed out until they are there.
        if action in ("move", "open"):
            return True if self.confusion is not None else None
        return True

    def show_confusion(self, confusion: Confusion) -> None:
        self.confusion = confusion
        if self.cursor is None:  # first counts: start on the worst mistake
            pairs = confusion.pairs
            self.cursor = (pairs[0][0], pairs[0][1]) if pairs else (0, 0)
        self.query_one(ConfusionGrid).display = True
        self.show()
        self.refresh_bindings()

    def show(self) -> None:
        confusion = self.confusion
        total, correct = confusion.total, confusion.correct
        accuracy = f" ({correct / total:.2%})" if total else ""
        # Of a run: which epoch, or now; of a model file there is nothing else to tell apart.
        where = self.position_text() if self.epoch_shown is not None else "now" if self.records else ""
        which = f"{self.set_name} set" + (f" · {where}" if where else "")
        self.show_text("#status", f"{which}: {total} images, {correct} right{accuracy} · rows true")
        self.query_one(ConfusionGrid).show(confusion, self.cursor)
        row, col = self.cursor
        count = int(confusion.matrix[row, col])
        images = f"{count} image{'s' * (count != 1)}"
        hint = " · ⏎ inspects them, least confident first" if count else ""
        self.show_text("#cell", f"true {row} → predicted {col}: {images}{hint}")
        self.show_text("#pairs", pairs_text(confusion.pairs))

    # --- keys --------------------------------------------------------------------------------

    def action_move(self, rows: int, cols: int) -> None:
        classes = len(self.confusion.matrix)
        row, col = self.cursor
        self.cursor = (min(max(row + rows, 0), classes - 1), min(max(col + cols, 0), classes - 1))
        self.show()

    def action_open(self) -> None:
        row, col = self.cursor
        if not self.confusion.matrix[row, col]:
            self.notify(f"No {self.set_name} image of a {row} was predicted {col}", severity="warning")
            return
        filters = Filters(label=row, predicted=col, least_confident_first=True)
        epoch = self.epoch_shown
        if epoch is None:
            self.app.push_screen(InspectorScreen.of(self.source, filters))
        elif epoch in self.records.checkpoint_epochs():
            # That epoch's weights on the validation images: the counts' own network and set.
            path = self.records.checkpoint_file(epoch)

            async def fetch() -> InspectSource:
                return await asyncio.to_thread(InspectSource.from_checkpoint, path, True)

            self.app.push_screen(InspectorScreen(f"epoch {epoch} checkpoint", fetch, filters))
        else:
            self.notify(
                f"Epoch {epoch}'s weights were not kept (a run keeps its newest checkpoints): "
                "r counts the current weights on the test set, whose cells open",
                severity="warning", timeout=8,
            )

    def action_recompute(self) -> None:
        self.epoch_shown, self.waiting = None, False
        self.show_now()
