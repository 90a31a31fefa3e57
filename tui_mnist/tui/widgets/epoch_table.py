"""The per-epoch numbers of a run as a compact table (a Rich table in a Static, as Textual's
BindingsTable): the newest epochs that fit, oldest first."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from textual.widgets import Static

from tui_mnist.tui.training_view import EpochRow, duration

ROWS = 7  # epochs shown: the newest
COLUMNS = ("epoch", "train loss", "train acc", "val loss", "val acc", "lr", "time")


def percent(value: float | None) -> str:
    return "--" if value is None else f"{100 * value:.2f} %"


def number(value: float | None) -> str:
    return "--" if value is None else f"{value:.4f}"


def epoch_table(rows: Sequence[EpochRow], limit: int) -> Table:
    """The last `limit` rows (at least one) under a header."""
    table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold", expand=False)
    for name in COLUMNS:
        table.add_column(name, justify="right", no_wrap=True)
    for row in rows[-max(limit, 1):]:
        epoch = row.progress
        table.add_row(
            f"{epoch.epoch}/{epoch.epochs}", number(epoch.train_loss), percent(epoch.train_acc),
            number(epoch.val_loss), percent(epoch.val_acc), f"{epoch.lr:.4g}",
            f"{row.seconds:.1f} s" if row.seconds < 60 else duration(row.seconds),
        )
    return table


class EpochTable(Static):
    DEFAULT_CSS = """
    EpochTable {
        height: 9;  /* a rule, the header and ROWS epochs */
        padding: 0 1;
    }
    """

    def show(self, rows: Sequence[EpochRow]) -> None:
        """Draw the newest ROWS rows."""
        if rows:
            self.update(epoch_table(rows, ROWS))
        else:
            self.update("[dim]per-epoch numbers: no epoch finished yet[/]")
