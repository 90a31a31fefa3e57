"""Plain-text lines for the headless commands: one per epoch, one at the end, an in-place
progress bar that is drawn only on a terminal, and the runs table."""

from __future__ import annotations

import time
from typing import TextIO

from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
from tui_mnist.live.text import how_far, number, percent, started_text

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1  # at most ~10 redraws a second


def epoch_line(record: EpochProgress) -> str:
    width = len(str(record.epochs))
    line = (
        f"epoch {record.epoch:>{width}}/{record.epochs}  "
        f"train loss {number(record.train_loss)} acc {percent(record.train_acc)}  "
        f"val loss {number(record.val_loss)} acc {percent(record.val_acc)}  "
    )
    if record.test_acc is not None:
        line += f"test acc {percent(record.test_acc)}  "
    return line + f"lr {record.lr:.4g}  {record.seconds:.1f}s"


def final_line(record: RunFinished) -> str:
    return (
        f"test accuracy {percent(record.test_acc)}  (loss {number(record.test_loss)}; "
        f"{how_far(record)}, {record.seconds:.1f}s training)"
    )


class ProgressBar:
    """A one-line bar within the epoch, redrawn in place with a carriage return."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.last_draw = 0.0
        self.drawn = False

    def update(self, record: BatchProgress) -> None:
        now = time.monotonic()
        if now - self.last_draw < REDRAW_SECONDS and record.batch != record.batches:
            return
        self.last_draw = now
        filled = BAR_WIDTH * record.batch // record.batches
        rate = record.samples / record.seconds if record.seconds else 0.0
        self.stream.write(
            f"\r  epoch {record.epoch} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
            f"{record.batch}/{record.batches}  loss {record.loss:.4f}  {rate:,.0f} samples/s"
        )
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.drawn = False


RUNS_HEADER = ("RUN", "ARCHITECTURE", "EPOCHS", "BEST VAL", "TEST", "STATE", "STARTED")


def runs_table(summaries) -> str:
    """`tui-mnist runs`: one aligned row per run (ledger.RunSummary), in the ledger's order
    (newest first, as in the app: see ledger.list_runs)."""
    rows = [RUNS_HEADER] + [
        (
            s.id,
            s.architecture,
            f"{s.epoch}/{s.epochs}",
            percent(s.best_val_acc),
            percent(s.test_acc),
            s.state,
            started_text(s.created),
        )
        for s in summaries
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(RUNS_HEADER))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    )
