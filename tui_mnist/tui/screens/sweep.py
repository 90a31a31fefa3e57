"""A hyper-parameter sweep, watched: its trials ranked in a live table (pruned and failed ones
greyed, the best one bold), the best trials' validation curves overlaid, one searched setting
against the best validation accuracy (`p` picks which), and Optuna's parameter importances.

The newest sweep in the runs directory is shown first; `[` and `]` go to the one before and
after. The sweep's folder is read (sweeps.snapshot) on a thread worker every RELOAD_SECONDS,
never on the UI thread. `enter` opens a trial's run as the runs list does (attach to a live
run, RunReviewScreen for an ended one); `s` stops the sweep (SIGTERM to its process on this
host, after a confirmation: its trials stop at their next batch); `d` leaves the screen and
the sweep goes on.
"""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.config import TrainConfig
from tui_mnist.runs import RunError
from tui_mnist.runs.ledger import LIVE_STATES, derived_state, process_alive, this_host
from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.screens.base import MnistScreen
from tui_mnist.tui.screens.compare import COLOURS, interleaved, marker
from tui_mnist.tui.screens.confirm_dialog import ConfirmDialog
from tui_mnist.tui.screens.runs import RunsScreen
from tui_mnist.tui.widgets.chart import Axes, Chart, Series, padded

if TYPE_CHECKING:
    from tui_mnist.sweeps.snapshot import SweepSnapshot, TrialRow
    from tui_mnist.sweeps.space import Param

RELOAD_SECONDS = 2.0  # a running sweep's trials move on: its folder is read again this often
BEST_CURVES = 5  # trials whose curves are overlaid
START_HINT = "tui-mnist sweep --lr 0.01..0.3:log --dropout 0..0.3 --trials 20 --detach"
GREYED = ("pruned", "failed", "interrupted")
STATE_ORDER = ("running", "waiting", "finished", "pruned", "interrupted", "failed")
# The scatter's points, by how their trial stands: a marker each, so no colour is needed.
SCATTER_GROUPS = (("finished", "o", "green"), ("pruned", "x", "red"), ("running", "+", "yellow"))


def descending(value: float | None) -> tuple[bool, float]:
    """A sort key: the highest value first, a missing one last."""
    return value is None, -(value or 0.0)


# The orders `o` cycles through, named as the heading shows them ("by best val").
ORDERS: dict[str, Callable[[TrialRow], object]] = {
    "best val": lambda t: (*descending(t.value), t.number),
    "trial #": lambda t: t.number,
    "state": lambda t: (STATE_ORDER.index(t.state), *descending(t.value), t.number),
}


def value_text(value: object) -> str:
    """A searched setting's value for the table: a float at 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def ranks(trials: Sequence[TrialRow]) -> dict[int, int]:
    """Trial number -> its rank by best validation accuracy (1: the best); trials with no
    value yet have none."""
    valued = sorted((t for t in trials if t.value is not None), key=ORDERS["best val"])
    return {t.number: rank for rank, t in enumerate(valued, 1)}


def trial_cells(trial: TrialRow, rank: int | None, names: Sequence[str], best: bool) -> tuple[Text, ...]:
    style = "bold" if best else "dim" if trial.state in GREYED else ""
    texts = (
        "-" if rank is None else str(rank),
        f"#{trial.number}",
        trial.state,
        "-" if trial.value is None else f"{100 * trial.value:.2f}%",
        str(len(trial.epochs)),
        *("-" if name not in trial.params else value_text(trial.params[name]) for name in names),
    )
    return tuple(Text(" " + text, style=style) for text in texts)


def best_curves(trials: Sequence[TrialRow], count: int = BEST_CURVES) -> list[Series]:
    """The per-epoch validation accuracy (%) of the `count` best trials, as points that take
    turns where the curves overlap (compare.interleaved): marked 1 (the best) to 5."""
    chosen = sorted((t for t in trials if t.epochs and t.value is not None), key=ORDERS["best val"])[:count]
    curves = [([float(e) for e in t.epochs], [100 * v for v in t.epochs.values()]) for t in chosen]
    return [
        Series(f"#{t.number}", xs, ys, marker(i), COLOURS[i % len(COLOURS)], lines=False)
        for i, (t, (xs, ys)) in enumerate(zip(chosen, interleaved(curves)))
    ]


@dataclass(frozen=True)
class Scatter:
    """One searched setting against the best validation accuracy (%): what the chart plots."""

    title: str
    series: tuple[Series, ...]
    axes: Axes


def x_of(param: Param, value: object) -> float | None:
    """Where a trial's `value` of the setting goes on the scatter's x axis (None: nowhere)."""
    if param.choices:
        shown = param.shown_choices()
        return float(shown.index(value)) if value in shown else None
    if not isinstance(value, (int, float)) or (param.log and value <= 0):
        return None
    return math.log10(value) if param.log else float(value)


def scatter(param: Param, trials: Sequence[TrialRow]) -> Scatter:
    """Each trial with a value, at its setting: a choice at its index (the title names them), a
    log range as log10 of the value."""
    if param.choices:
        shown = param.shown_choices()
        window = (-0.5, len(shown) - 0.5)
        names = " ".join(f"{i}={choice}" for i, choice in enumerate(shown))
        title, label = f"val % by {param.name}: {names}", f"{param.name} (choice)"
    elif param.log:
        window = padded(math.log10(param.low), math.log10(param.high))
        title, label = f"val % by {param.name} (log10)", f"log10 {param.name}"
    else:
        window = padded(float(param.low), float(param.high))
        title, label = f"val % by {param.name}", param.name
    series = []
    for state, mark, colour in SCATTER_GROUPS:
        points = [(x_of(param, t.params.get(param.name)), 100 * t.value) for t in trials
                  if t.state == state and t.value is not None]
        points = [(x, y) for x, y in points if x is not None]
        series.append(Series(state, [x for x, _ in points], [y for _, y in points], mark, colour, lines=False))
    return Scatter(title, tuple(series), Axes(x_range=window, x_label=label))


def importance_text(snapshot: SweepSnapshot) -> str:
    if snapshot.importances:
        shares = " · ".join(f"{name} {share:.2f}" for name, share in snapshot.importances.items())
        return f"importance: {shares}"
    finished = sum(t.state == "finished" for t in snapshot.trials)
    if finished < 2:
        return f"importance: once 2 trials have finished ({finished} so far)"
    return "importance: Optuna cannot tell yet"


def settings_text(snapshot: SweepSnapshot) -> str:
    """The searched settings, then the sampler and the pruner ("tpe/halving": 80 columns)."""
    spec = snapshot.spec
    searched = " · ".join(param.describe() for param in spec.space.params)
    return f"{searched} · {spec.sampler}/{spec.pruner}"


class TitledChart(Chart):
    """A chart whose caption is its title alone: the scatter's window is the setting's range,
    which the ticks show already."""

    def caption(self, axes: Axes, room: int | None = None) -> str:
        return self.title


@dataclass(frozen=True)
class Reading:
    """What a reading of the runs directory found: the sweeps (oldest first), the one shown,
    its snapshot, or why it could not be read."""

    asked: str | None  # the sweep asked for (None: the newest)
    ids: tuple[str, ...]
    snapshot: SweepSnapshot | None
    error: str | None = None

    @property
    def shown(self) -> str | None:
        return self.snapshot.id if self.snapshot else self.asked if self.asked in self.ids else (
            self.ids[-1] if self.ids else None)


class StopSweepDialog(ConfirmDialog):
    BINDINGS = [
        Binding("y", "answer(True)", "stop", tooltip="Stop the sweep: its trials stop at their next batch"),
        Binding("n,escape", "answer(False)", "keep", key_display="n", tooltip="Let the sweep go on"),
    ]

    def __init__(self, sweep_id: str, running: int) -> None:
        trials = f"its {running} running trial{'s' * (running != 1)}" if running else "the sweep"
        super().__init__(
            f"Stop sweep {sweep_id}?",
            f"This stops {trials} at the next batch; they are marked interrupted. "
            f"tui-mnist sweep --resume {sweep_id} goes on later.",
            "y stops · n or esc keeps it going",
            safe="Keep going",
            act="Stop",
        )
        self.add_class("-warning")


class SweepScreen(MnistScreen):
    CSS_PATH = "sweep.tcss"
    AUTO_FOCUS = "#sweep-table"
    BINDINGS = [
        # Before the table's own enter, so that the footer shows it (a click still selects).
        Binding("enter", "open", "open", priority=True,
                tooltip="Open the trial's run: attach to it while it trains, else its curves"),
        Binding("o", "cycle_sort", "order",
                tooltip="Sort the trials by the next order: best val, trial number, state"),
        Binding("p", "cycle_param", "setting",
                tooltip="Plot the next searched setting against the best validation accuracy"),
        # One footer entry for both (80 columns): f1 and the palette list them apart.
        Binding("left_square_bracket", "switch(-1)", "sweeps", key_display="[ ]",
                tooltip="Show the sweep started before this one"),
        Binding("right_square_bracket", "switch(1)", "later sweep", key_display="]", show=False,
                tooltip="Show the sweep started after this one"),
        Binding("s", "stop", "stop",
                tooltip="Stop the sweep (asks first): its running trials stop at their next batch"),
        Binding("d", "detach", "detach", tooltip="Leave this screen: the sweep goes on"),
        Binding("n", "new_sweep", "new", tooltip="Start a new sweep: the settings form, with searched fields"),
        # Not in the footer: d says the same.
        Binding("escape", "back", "back", key_display="esc", show=False,
                tooltip="Back to the screen before: the sweep goes on"),
    ]

    def __init__(self, runs_dir: Path, sweep_id: str | None = None, base: TrainConfig | None = None) -> None:
        """`sweep_id`: the sweep to show first (None: the newest); `base`: the settings a new
        sweep's form starts from (n)."""
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.base = base or TrainConfig()
        self.sweep_id = sweep_id  # the sweep shown (or asked for)
        self.sweep_ids: tuple[str, ...] = ()  # every sweep, oldest first, as last read
        self.snapshot: SweepSnapshot | None = None  # the sweep shown, as last read
        self.order = next(iter(ORDERS))
        self.scatter_param: str | None = None  # the setting the scatter plots
        self.shown_rows: list[tuple] | None = None
        self.failure: str | None = None  # the last reading's error, told once

    def compose_body(self) -> ComposeResult:
        yield Static(id="sweep-settings", markup=False)
        yield DataTable(id="sweep-table", cursor_type="row", cell_padding=0)
        with Horizontal(id="sweep-charts"):
            yield Chart("best 5: val % by epoch", id="sweep-curves")
            yield TitledChart("val % by setting", id="sweep-scatter")
        yield Static(id="sweep-importance", markup=False)
        yield Static(id="sweep-empty", markup=False)

    def on_mount(self) -> None:
        self.show_text("#heading", "Sweep · reading the sweeps in " + str(self.runs_dir) + "…")
        self.query_one(DataTable).loading = True
        self.reload()
        self.set_interval(RELOAD_SECONDS, self.reload)

    # --- reading ------------------------------------------------------------------------

    def reload(self) -> None:
        self.read_sweep(self.sweep_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sweep-read")
    def read_sweep(self, asked: str | None) -> Reading:
        """The sweeps in the runs directory and the one asked for (the newest if None, or if it
        is gone), read from its folder (off the UI thread: the journal may be long)."""
        from tui_mnist.sweeps.folder import list_sweeps
        from tui_mnist.sweeps.snapshot import SweepSnapshot

        folders = list_sweeps(self.runs_dir)
        ids = tuple(folder.id for folder in folders)
        if not folders:
            return Reading(asked, ids, None)
        chosen = folders[ids.index(asked)] if asked in ids else folders[-1]
        try:
            return Reading(asked, ids, SweepSnapshot.read(chosen))
        except RunError as error:
            return Reading(chosen.id, ids, None, str(error))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        group = event.worker.group
        if group == "sweep-read" and event.state == WorkerState.SUCCESS:
            reading: Reading = event.worker.result
            if reading.asked == self.sweep_id or self.sweep_id not in reading.ids:
                self.show_reading(reading)
        elif group == "sweep-open" and event.state == WorkerState.SUCCESS:
            self.open_read(*event.worker.result)
        elif group in ("sweep-read", "sweep-open") and event.state == WorkerState.ERROR:
            self.query_one(DataTable).loading = False
            failure = str(event.worker.error)
            if failure != self.failure:  # read again every RELOAD_SECONDS: told once
                self.failure = failure
                # Worker messages do not bubble: the app's one error handler hears it from here.
                self.app.post_message(Worker.StateChanged(event.worker, event.state))

    def show_reading(self, reading: Reading) -> None:
        self.query_one(DataTable).loading = False
        self.sweep_ids = reading.ids
        switched = reading.shown != self.sweep_id
        self.sweep_id = reading.shown
        self.set_class(not reading.ids, "-empty")
        if not reading.ids:
            self.snapshot = None
            self.show_text("#heading", "Sweep · no sweep yet")
            self.show_text("#sweep-empty", f"No sweep in {self.runs_dir} yet. Start one with\n\n"
                           f"  {START_HINT}\n\nand watch it here (ctrl+f).")
        elif reading.snapshot is None:
            self.snapshot = None
            self.show_text("#heading", f"Sweep · {reading.shown} · cannot be read")
            self.show_text("#sweep-settings", reading.error or "")
            if reading.error != self.failure:
                self.failure = reading.error
                self.notify(reading.error or "", title="Sweep not read", severity="error", timeout=10)
            self.show_trials([])
        else:
            self.failure = None
            self.show_snapshot(reading.snapshot, switched)
        self.refresh_bindings()

    def show_snapshot(self, snapshot: SweepSnapshot, switched: bool) -> None:
        self.snapshot = snapshot
        spec = snapshot.spec
        self.show_text("#heading", f"Sweep · {snapshot.id} · {snapshot.state} · "
                       f"{snapshot.ended}/{spec.trials} trials · by {self.order}")
        error = snapshot.status.get("error")
        failed = f"{snapshot.state}: {error} · " if snapshot.state == "failed" and error else ""
        self.show_text("#sweep-settings", failed + settings_text(snapshot))
        self.query_one("#sweep-settings").tooltip = (
            f"searched: {'; '.join(p.describe() for p in spec.space.params)}\n"
            f"sampler {spec.sampler}, pruner {spec.pruner}")
        names = [param.name for param in spec.space.params]
        if switched or self.scatter_param not in names:
            self.scatter_param = names[0] if names else None
        self.show_trials(list(snapshot.trials))
        self.plot()
        self.show_text("#sweep-importance", importance_text(snapshot))

    def show_trials(self, trials: list[TrialRow]) -> None:
        """Rebuild the table if a row changed; the cursor stays on its trial."""
        table = self.query_one(DataTable)
        names = [p.name for p in self.snapshot.spec.space.params] if self.snapshot else []
        best = self.snapshot.best if self.snapshot else None
        rank = ranks(trials)
        shown = sorted(trials, key=ORDERS[self.order])
        columns = ("rank", "trial", "state", "best val", "epochs", *names)
        rows = [(columns, t.number, trial_cells(t, rank.get(t.number), names, t is best)) for t in shown]
        if rows == self.shown_rows:
            return
        current = self.current_number()
        before = table.cursor_row
        if self.shown_rows is None or not self.shown_rows or self.shown_rows[0][0] != columns:
            table.clear(columns=True)
            table.add_columns(*(" " + name for name in columns))
        else:
            table.clear()
        self.shown_rows = rows
        for _, number, cells in rows:
            table.add_row(*cells, key=str(number))
        numbers = [number for _, number, _ in rows]
        if current in numbers:
            table.move_cursor(row=numbers.index(current), animate=False)
        elif rows:
            table.move_cursor(row=min(before, len(rows) - 1), animate=False)

    def plot(self) -> None:
        snapshot = self.snapshot
        curves = self.query_one("#sweep-curves", Chart)
        series = best_curves(snapshot.trials)
        if tuple(series) != curves.series:
            curves.plot(series, Axes())
        param = next((p for p in snapshot.spec.space.params if p.name == self.scatter_param), None)
        if param is None:
            return
        chart = self.query_one("#sweep-scatter", Chart)
        found = scatter(param, snapshot.trials)
        if found.series != chart.series or found.axes != chart.axes or found.title != chart.title:
            chart.title = found.title
            chart.plot(found.series, found.axes)

    # --- the trial under the cursor -----------------------------------------------------

    def current_number(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return int(key.value)

    def current(self) -> TrialRow | None:
        number = self.current_number()
        if self.snapshot is None or number is None:
            return None
        return next((t for t in self.snapshot.trials if t.number == number), None)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()  # a click on the highlighted row

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("open", "cycle_sort"):
            return self.snapshot is not None and bool(self.snapshot.trials)
        if action in ("cycle_param", "stop"):  # s on a sweep that is not running says why
            return self.snapshot is not None
        return True

    def action_open(self) -> None:
        trial = self.current()
        if trial is None or self.snapshot is None:
            return
        if trial.run is None:
            self.notify(f"trial {trial.number} has no run yet ({trial.state})", severity="warning")
            return
        places = [self.runs_dir / trial.run, Path(self.snapshot.spec.runs_dir) / trial.run]
        self.read_run(trial.number, places)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sweep-open")
    def read_run(self, number: int, places: list[Path]) -> tuple[int, Path | None, str, TrainConfig | None]:
        """The trial's run folder (the first of `places` that exists), its state and settings."""
        path = next((place for place in places if (place / "config.json").exists()), None)
        if path is None:
            return number, None, "", None
        folder = RunFolder(path)
        return number, path, derived_state(folder), folder.train_config().validated()

    def open_read(self, number: int, path: Path | None, state: str, config: TrainConfig | None) -> None:
        if path is None or config is None:
            self.notify(f"trial {number}'s run folder is not in {self.runs_dir} (trials on a cluster "
                        "write to the workers' runs directory)", severity="warning", timeout=10)
        elif state in LIVE_STATES:
            self.post_message(RunsScreen.AttachRequested(path, config))
        else:  # its curves and result, read-only
            from tui_mnist.tui.screens.run_review import RunReviewScreen

            self.app.push_screen(RunReviewScreen(path, config))

    # --- keys ---------------------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        names = list(ORDERS)
        self.order = names[(names.index(self.order) + 1) % len(names)]
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot, switched=False)
            self.query_one(DataTable).move_cursor(row=0)  # the first in the new order

    def action_cycle_param(self) -> None:
        if self.snapshot is None:
            return
        names = [param.name for param in self.snapshot.spec.space.params]
        if len(names) < 2:
            self.notify("only one setting is searched", timeout=3)
            return
        index = names.index(self.scatter_param) if self.scatter_param in names else -1
        self.scatter_param = names[(index + 1) % len(names)]
        self.plot()

    def action_switch(self, step: int) -> None:
        ids = self.sweep_ids
        if not ids:
            self.notify("no sweep yet", timeout=3)
            return
        index = ids.index(self.sweep_id) if self.sweep_id in ids else len(ids) - 1
        if not 0 <= index + step < len(ids):
            self.notify("no earlier sweep" if step < 0 else "no later sweep", timeout=3)
            return
        self.show_sweep(ids[index + step])

    def show_sweep(self, sweep_id: str | None) -> None:
        """Show that sweep (None: a sweep form closed without starting one)."""
        if sweep_id is None:
            return
        self.sweep_id = sweep_id
        self.shown_rows = None
        self.query_one(DataTable).loading = True
        self.reload()

    def action_new_sweep(self) -> None:
        from tui_mnist.tui.screens.sweep_settings import SweepSettingsScreen

        self.app.push_screen(SweepSettingsScreen(self.base, runs_dir=self.runs_dir), self.show_sweep)

    def action_stop(self) -> None:
        snapshot = self.snapshot
        if snapshot is None:
            return
        refusal = why_not_stoppable(snapshot)
        if refusal:
            self.notify(refusal, title="Not stopped", severity="warning", timeout=10)
            return
        running = sum(t.state == "running" for t in snapshot.trials)
        self.app.push_screen(StopSweepDialog(snapshot.id, running),
                             lambda yes: self.stop(snapshot, yes))

    def stop(self, snapshot: SweepSnapshot, confirmed: bool | None) -> None:
        if not confirmed:
            return
        refusal = why_not_stoppable(snapshot)  # it may have ended while the question was asked
        if refusal:
            self.notify(refusal, title="Not stopped", severity="warning", timeout=10)
            return
        try:
            os.kill(snapshot.status["pid"], signal.SIGTERM)
        except OSError as error:
            self.notify(f"sweep {snapshot.id}: cannot stop it ({error.strerror or error})",
                        title="Not stopped", severity="error", timeout=10)
            return
        self.notify(f"Stopping sweep {snapshot.id}: its running trials stop at their next batch",
                    title="Stopping")
        self.reload()

    def action_detach(self) -> None:
        if self.snapshot is not None and self.snapshot.state == "running":
            self.notify(f"Sweep {self.snapshot.id} goes on in the background", title="Left")
        self.action_back()


def why_not_stoppable(snapshot: SweepSnapshot) -> str | None:
    """Why this window cannot stop the sweep, or None when it can (SIGTERM to its process)."""
    status = snapshot.status
    pid, host = status.get("pid"), status.get("hostname")
    if snapshot.state != "running":
        return f"sweep {snapshot.id} is {snapshot.state}: nothing to stop"
    if host != this_host():
        return (f"sweep {snapshot.id} runs on {host or 'another host'}: stop it there "
                f"(ctrl+c in its terminal, or kill -TERM {pid})")
    if not isinstance(pid, int) or not process_alive(pid):
        return f"sweep {snapshot.id}: its process is gone (tui-mnist sweep --resume {snapshot.id} goes on)"
    return None
