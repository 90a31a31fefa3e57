"""Runs side by side: their validation curves on one chart each, their settings in columns
(a setting that differs between them is marked, not only coloured), what was changed while
they ran (a learning rate scaled live), and their command lines, each marked when it does not
reproduce its run.

Each run's curve is drawn as points with its own marker and colour; where curves overlap, the
runs take turns at the points (`interleaved`), so that a run drawn later never hides one drawn
earlier, even when their curves are the same."""

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
from tui_mnist.tui.clipboard import copy_text
from tui_mnist.tui.widgets.chart import Chart, Series

DIFFERS = "≠"
COLOURS = ("cyan", "red", "green", "yellow", "magenta", "blue", "white")
CHANGED_LIVE = "changed live"  # the row of what changed during a run
SAMPLES = 64  # points along each curve: about two per column of a chart half as wide as 80
TURNS = 16  # stretches of the x span where overlapping runs take turns (2+ columns each)
NEAR = 0.25  # curves closer than this share of the y span may share a cell (a chart has 5 rows)
Curve = tuple[list[float], list[float]]


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


def change_text(change: dict) -> str:
    """One live change as compare shows it: "lr ×1.25 at epoch 2 step 900"."""
    factor = change.get("factor")
    factor = f"{factor:g}" if isinstance(factor, (int, float)) else "?"
    what, epoch, step = (change.get(key, "?") for key in ("what", "epoch", "step"))
    return f"{what} ×{factor} at epoch {epoch} step {step}"


def changes_text(summary: RunSummary) -> str:
    return ", ".join(map(change_text, summary.changes)) or "none"


def command_text(summary: RunSummary) -> str:
    """The run's command line; for a run changed while it trained, with a shell comment saying
    that it does not reproduce the run (it still pastes and runs)."""
    if summary.reproducible:
        return summary.command
    return f"{summary.command}  # does not reproduce this run: {changes_text(summary)} ({CHANGED_LIVE})"


def resampled(curve: Curve, grid: Sequence[float]) -> list[float | None]:
    """The curve's y linearly interpolated at each grid x within its x range; None outside."""
    xs, ys = curve
    values: list[float | None] = []
    segment = 0
    for x in grid:
        if x < xs[0] - 1e-9 or x > xs[-1] + 1e-9:
            values.append(None)
            continue
        while segment < len(xs) - 2 and x > xs[segment + 1]:
            segment += 1
        x0, x1, y0, y1 = xs[segment], xs[segment + 1], ys[segment], ys[segment + 1]
        share = 0.0 if x1 == x0 else min(max((x - x0) / (x1 - x0), 0.0), 1.0)
        values.append(y0 + share * (y1 - y0))
    return values


def interleaved(curves: Sequence[Curve], samples: int = SAMPLES) -> list[Curve]:
    """Each curve as `samples` points on a grid shared by all of them; where curves lie closer
    than NEAR of the y span (where their points may land in one cell), they take turns, one
    of TURNS stretches of x each, so that every curve keeps points no other covers. A curve of
    fewer than two points is left as it is."""
    drawn = [i for i, (xs, _) in enumerate(curves) if len(xs) >= 2]
    out: list[Curve] = [(list(xs), list(ys)) for xs, ys in curves]
    if not drawn:
        return out
    low = min(curves[i][0][0] for i in drawn)
    high = max(curves[i][0][-1] for i in drawn)
    grid = [low + (high - low) * k / (samples - 1) for k in range(samples)]
    values = {i: resampled(curves[i], grid) for i in drawn}
    everything = [y for i in drawn for y in curves[i][1]]
    near = max(max(everything) - min(everything), 1e-12) * NEAR
    for i in drawn:
        out[i] = ([], [])
    for j, x in enumerate(grid):
        present = sorted((values[i][j], i) for i in drawn if values[i][j] is not None)
        groups: list[list[int]] = []
        previous = None
        for y, i in present:
            if previous is None or y - previous > near:
                groups.append([])
            groups[-1].append(i)
            previous = y
        for group in groups:
            turn = min(int((x - low) / (high - low or 1.0) * TURNS), TURNS - 1)
            keeper = sorted(group)[turn % len(group)]
            out[keeper][0].append(x)
            out[keeper][1].append(values[keeper][j])
    return out


def result_rows(runs: Sequence[RunSummary]) -> list[tuple[str, list[str]]]:
    return [
        ("state", [f"{s.state} {s.epoch}/{s.epochs}" for s in runs]),
        ("best val", [percent(s.best_val_acc) for s in runs]),
        ("test", [percent(s.test_acc) for s in runs]),
        ("started", [started_text(s.created) for s in runs]),
        ("parent", [f"{s.parent['run']}@{s.parent['epoch']}" if s.parent else "-" for s in runs]),
    ]


def change_rows(runs: Sequence[RunSummary]) -> list[tuple[str, list[str]]]:
    """What changed during the runs: compared like a setting, since it changed the training."""
    return [(CHANGED_LIVE, [changes_text(s) for s in runs])]


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
        for name, values in [*change_rows(self.runs), *setting_rows(self.runs)]:
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
            "\n".join(f"{marker(i)}: {command_text(s)}" for i, s in enumerate(self.runs))
        )

    def plot(self) -> None:
        accuracy: list[Curve] = []
        loss: list[Curve] = []
        for records in self.metrics:
            validated = [r for r in records if r.get("val_acc") is not None]
            xs = [float(r["epoch"]) for r in validated]
            accuracy.append((xs, [100 * r["val_acc"] for r in validated]))
            loss.append((xs, [r["val_loss"] for r in validated]))
        self.query_one("#accuracy-chart", Chart).plot(self.series(interleaved(accuracy)))
        self.query_one("#loss-chart", Chart).plot(self.series(interleaved(loss)))

    def series(self, curves: Sequence[Curve]) -> list[Series]:
        """One series a run, points only: its number as the marker, a colour of its own."""
        return [
            Series(self.short_id(i), xs, ys, marker(i), COLOURS[i % len(COLOURS)], lines=False)
            for i, (xs, ys) in enumerate(curves)
        ]

    def action_copy_commands(self) -> None:
        copy_text(self.app, f"{len(self.runs)} command line(s)", "\n".join(map(command_text, self.runs)))

    def action_back(self) -> None:
        self.dismiss()
