"""Runs side by side: their validation curves on one chart each, their settings in columns
(a setting that differs between them is marked, not only coloured), their command lines."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from tui_mnist.live.text import percent, started_text
from tui_mnist.runs.ledger import RunSummary
from tui_mnist.tui.widgets.chart import Chart, Series

DIFFERS = "≠"
COLOURS = ("cyan", "red", "green", "yellow", "magenta", "blue", "white")


def marker(index: int) -> str:
    """Each run's points are drawn with its number (a letter after 9): no colour needed."""
    return "123456789abcdefghijklmnopqrstuvwxyz"[index % 35]


def setting_text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) or "none"
    return str(value)


def result_rows(runs: Sequence[RunSummary]) -> list[tuple[str, list[str]]]:
    return [
        ("state", [f"{s.state} {s.epoch}/{s.epochs}" for s in runs]),
        ("best val", [percent(s.best_val_acc) for s in runs]),
        ("test", [percent(s.test_acc) for s in runs]),
        ("started", [started_text(s.created) for s in runs]),
        ("parent", [f"{s.parent['run']}@{s.parent['epoch']}" if s.parent else "-" for s in runs]),
    ]


def setting_rows(runs: Sequence[RunSummary]) -> list[tuple[str, list[str]]]:
    names = list(dict.fromkeys(name for s in runs for name in s.config))
    return [(name, [setting_text(s.config.get(name)) for s in runs]) for name in names]


class CompareScreen(Screen):
    CSS_PATH = "compare.tcss"
    TITLE = "Compare runs"
    BINDINGS = [
        Binding("y", "copy_commands", "copy commands",
                tooltip="Copy the runs' tui-mnist train command lines, one per line"),
        Binding("escape", "back", "back", tooltip="Back to the list of runs"),
    ]

    def __init__(self, runs: Sequence[RunSummary], metrics: Sequence[list[dict]]) -> None:
        """`metrics[i]` holds the epoch records of `runs[i]` (RunFolder.epoch_metrics)."""
        super().__init__()
        self.runs = list(runs)
        self.metrics = list(metrics)
        self.differing: list[str] = []  # settings whose values are not all the same

    def short_id(self, index: int) -> str:
        return self.runs[index].id[-11:]  # the time of day and the suffix

    def label(self, index: int) -> str:
        return f"{marker(index)} {self.short_id(index)}"  # as the charts' legends show it

    def compose(self) -> ComposeResult:
        with Horizontal(id="charts"):
            yield Chart("val accuracy %", id="accuracy-chart")
            yield Chart("val loss", id="loss-chart")
        yield DataTable(id="settings", cursor_type="row", zebra_stripes=True)
        yield Static(id="commands")
        yield Footer()

    def on_mount(self) -> None:
        self.plot()
        table = self.query_one("#settings", DataTable)
        table.add_columns("", "setting", *(self.label(i) for i in range(len(self.runs))))
        for name, values in result_rows(self.runs):
            table.add_row("", name, *values)
        for name, values in setting_rows(self.runs):
            differs = len(set(values)) > 1
            if differs:
                self.differing.append(name)
                marked = (Text(value, style="bold reverse") for value in values)
                table.add_row(DIFFERS, Text(name, style="bold"), *marked)
            else:
                table.add_row("", name, *values)
        summary = ", ".join(self.differing) if self.differing else "none"
        table.border_title = f"{DIFFERS} differs: {summary}"
        self.query_one("#commands", Static).update(
            "\n".join(f"{marker(i)}: {s.command}" for i, s in enumerate(self.runs))
        )

    def plot(self) -> None:
        accuracy, loss = [], []
        for i, records in enumerate(self.metrics):
            validated = [r for r in records if r.get("val_acc") is not None]
            xs = [float(r["epoch"]) for r in validated]
            colour, label = COLOURS[i % len(COLOURS)], self.short_id(i)
            accuracies = [100 * r["val_acc"] for r in validated]
            accuracy.append(Series(label, xs, accuracies, marker(i), colour))
            loss.append(Series(label, xs, [r["val_loss"] for r in validated], marker(i), colour))
        self.query_one("#accuracy-chart", Chart).plot(accuracy)
        self.query_one("#loss-chart", Chart).plot(loss)

    def action_copy_commands(self) -> None:
        self.app.copy_to_clipboard("\n".join(s.command for s in self.runs))
        self.notify(f"{len(self.runs)} command line(s) copied to the clipboard", timeout=3)

    def action_back(self) -> None:
        self.dismiss()
