"""The ledger: every run in the runs directory, newest first, to compare, attach to (a live
run) or look back at (an ended one, RunReviewScreen), resume, edit and run again
(EditSettingsScreen), copy or delete.

Reads the run folders only (tui_mnist.runs.ledger / store), on a thread worker every
RELOAD_SECONDS; starting or following a trainer is the app's business, asked for with
`AttachRequested` and `ResumeRequested`. Deleting a run's folder is the ledger's own
(runs.ledger.delete_run), after a confirmation, and never a live run's.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import EngineError
from tui_mnist.live.text import percent
from tui_mnist.runs.ledger import LIVE_STATES, RunSummary, delete_run, list_runs
from tui_mnist.runs.resume import plan_resume
from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.clipboard import copy_text
from tui_mnist.tui.screens.compare import CompareScreen
from tui_mnist.tui.screens.delete_dialog import DeleteDialog
from tui_mnist.tui.screens.edit_settings import EditSettingsScreen
from tui_mnist.tui.screens.resume_dialog import ResumeChoice, ResumeDialog
from tui_mnist.tui.screens.run_review import RunReviewScreen

RELOAD_SECONDS = 2.0  # live runs move on: their epochs and states are re-read this often
SELECTED = "✓"
COLUMNS = ("", "run", "network", "best val", "test", "state", "started")
GUTTER = " "  # between columns: the table's own cell padding costs two cells a column


def cells(values) -> tuple[str, ...]:
    return tuple(GUTTER + value for value in values)


def state_text(summary: RunSummary) -> str:
    return f"{summary.state} {summary.epoch}/{summary.epochs}"


def started_short(created: str) -> str:
    """"2025-06-12T15:30:12+02:00" -> "06-12 15:30" (the run id holds the year)."""
    return created[5:16].replace("T", " ")


class RunsScreen(Screen):
    CSS_PATH = "runs.tcss"
    TITLE = "Runs"
    BINDINGS = [
        Binding("space", "toggle_select", "mark",
                tooltip="Select the run (marked ✓) for c to compare, or unselect it"),
        Binding("c", "compare", "compare",
                tooltip="Compare the selected runs (or the run under the cursor)"),
        # Before the table's own enter, so that the footer shows it (a click still selects).
        Binding("enter", "open", "open", priority=True,
                tooltip="Attach to the live run under the cursor, or show an ended run's curves"),
        Binding("e", "edit", "edit",
                tooltip="Edit the run's settings in the form, then run them again (ctrl+r)"),
        Binding("R", "resume", "resume", key_display="R",
                tooltip="Continue the run from a checkpoint epoch, in the background"),
        # Not in the footer, which 80 columns fit only without it (f1 and ctrl+p list it).
        Binding("y", "copy_command", "copy", show=False,
                tooltip="Copy the run's tui-mnist train command line"),
        Binding("delete", "delete", "delete", key_display="del",
                tooltip="Delete the run's folder, after a confirmation (never a live run's)"),
        Binding("escape", "back", "back", tooltip="Back to the screen before"),
        # Moving, as in the inspector and in less; priority: the table's home/end only scroll
        # sideways.
        Binding("j", "move(1)", "down", show=False, tooltip="Next run (older)"),
        Binding("k", "move(-1)", "up", show=False, tooltip="Previous run (newer)"),
        Binding("home,g", "move_to(0)", "first", show=False, priority=True,
                tooltip="First run (the newest)"),
        Binding("end,G", "move_to(-1)", "last", show=False, priority=True,
                tooltip="Last run (the oldest)"),
    ]

    class AttachRequested(Message):
        def __init__(self, run_dir: Path, config: TrainConfig) -> None:
            super().__init__()
            self.run_dir = run_dir
            self.config = config

    class ResumeRequested(Message):
        """Continue `reference` (RUN@EPOCH) with `config`, as runs.resume decides."""

        def __init__(self, reference: str, config: TrainConfig) -> None:
            super().__init__()
            self.reference = reference
            self.config = config

    def __init__(self, runs_dir: Path) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.runs: dict[str, RunSummary] = {}  # newest first (ledger.list_runs), as last read
        self.selected: list[str] = []  # run ids, in the order they were picked
        self.shown_rows: list[tuple] | None = None  # None: the folders were never read yet
        self.failure: str | None = None  # why the last reading failed, once told

    def compose(self) -> ComposeResult:
        yield Static(id="runs-heading")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True, cell_padding=0)
        yield Static(id="run-detail")
        # Compact, and without ctrl+p (f1 lists it): every key fits 80 columns.
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*cells(COLUMNS))
        table.loading = True  # until the first reading of the folders
        self.query_one("#runs-heading", Static).update(f"reading the runs in {self.runs_dir}…")
        self.reload()
        self.set_interval(RELOAD_SECONDS, self.reload)

    @work(thread=True, exclusive=True, exit_on_error=False, group="reload")
    def reload(self) -> list[RunSummary]:
        """Every run's summary, newest first (reads every run folder: off the UI thread)."""
        return list_runs(self.runs_dir)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "reload":
            return
        if event.state == WorkerState.SUCCESS:
            self.query_one(DataTable).loading = False
            self.failure = None
            self.show_runs(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.query_one(DataTable).loading = False
            failure = str(event.worker.error)
            self.query_one("#runs-heading", Static).update(f"cannot read {self.runs_dir}: {failure}")
            # The reading is tried again every RELOAD_SECONDS: the same failure is told once.
            if failure != self.failure:
                self.failure = failure
                # Worker messages do not bubble: the app's one error handler hears it from here.
                self.app.post_message(Worker.StateChanged(event.worker, event.state))

    def show_runs(self, summaries: list[RunSummary]) -> None:
        """Rebuild the table from `summaries` if a row changed; the cursor stays on its run
        (or, when that run is gone, on its row), and selections of runs still there stay."""
        self.runs = {s.id: s for s in summaries}
        self.selected = [run for run in self.selected if run in self.runs]
        rows = [self.row(s) for s in summaries]
        if rows != self.shown_rows:  # rebuilding moves nothing when nothing changed
            self.shown_rows = rows
            table = self.query_one(DataTable)
            current = self.current_id()
            row_before = table.cursor_row
            table.clear()
            for row, summary in zip(rows, summaries):
                table.add_row(*row, key=summary.id)
            if current in self.runs:
                table.move_cursor(row=table.get_row_index(current), animate=False)
            elif rows:
                table.move_cursor(row=min(row_before, len(rows) - 1), animate=False)
        count = f"{len(summaries)} run{'s' if len(summaries) != 1 else ''}"
        picked = f" · {len(self.selected)} selected" if self.selected else ""
        heading = f"{count if summaries else 'no runs yet'} in {self.runs_dir}{picked}"
        self.query_one("#runs-heading", Static).update(heading)
        self.show_detail()

    def row(self, summary: RunSummary) -> tuple[str, ...]:
        return cells((
            SELECTED if summary.id in self.selected else " ",
            summary.id,
            summary.architecture,
            percent(summary.best_val_acc),
            percent(summary.test_acc),
            state_text(summary),
            started_short(summary.created),
        ))

    def current_id(self) -> str | None:
        """The id of the run under the cursor, as the table shows it."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return key.value

    def current(self) -> RunSummary | None:
        return self.runs.get(self.current_id())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()  # a click on the highlighted row

    def show_detail(self) -> None:
        summary = self.current()
        if summary is None:
            text = "Runs started here or with `tui-mnist train` appear in this list."
        else:
            lines = [summary.command]
            parent = summary.parent
            if parent:
                lines.append(f"continues run {parent['run']} from epoch {parent['epoch']}")
            if summary.error:
                lines.append(f"error: {summary.error}")
            text = "\n".join(lines)
        self.query_one("#run-detail", Static).update(text)
        self.refresh_bindings()  # which keys apply depends on the run under the cursor

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        summary = self.current() if self.is_mounted else None
        if action in ("toggle_select", "copy_command", "move", "move_to", "open", "edit"):
            return summary is not None
        if action == "compare":
            return bool(self.selected or summary)
        # None: shown greyed out in the footer, so the key can be found before it applies.
        if action in ("resume", "delete"):
            return True if summary is not None and summary.state not in LIVE_STATES else None
        return True

    def action_toggle_select(self) -> None:
        summary = self.current()
        if summary is None:
            return
        if summary.id in self.selected:
            self.selected.remove(summary.id)
        else:
            self.selected.append(summary.id)
        self.show_runs(list(self.runs.values()))  # the mark now; the folders are read anyway
        self.refresh_bindings()

    def action_compare(self) -> None:
        current = self.current()
        chosen = [self.runs[run] for run in self.selected] or ([current] if current else [])
        if chosen:
            metrics = [RunFolder(s.path).epoch_metrics() for s in chosen]
            self.app.push_screen(CompareScreen(chosen, metrics))

    def action_open(self) -> None:
        summary = self.current()
        if summary is None:
            return
        try:
            config = self.config_of(summary)
        except EngineError as error:
            self.notify(str(error), severity="error")
            return
        if summary.state in LIVE_STATES:
            self.post_message(self.AttachRequested(Path(summary.path), config))
        else:  # its curves and result, read-only (its folder is read by the screen's worker)
            self.app.push_screen(RunReviewScreen(Path(summary.path), config))

    def action_edit(self) -> None:
        summary = self.current()
        if summary is None:
            return
        try:
            config = self.config_of(summary)
        except EngineError as error:
            self.notify(str(error), severity="error")
            return
        self.app.push_screen(EditSettingsScreen(config, summary.id))

    @staticmethod
    def config_of(summary: RunSummary) -> TrainConfig:
        """The run's settings, as the last reading of its folder found them (raises
        ConfigError)."""
        return TrainConfig.from_dict(summary.config).validated()

    def action_resume(self) -> None:
        summary = self.current()
        if summary is None:
            return
        folder = RunFolder(summary.path)
        epochs = folder.checkpoint_epochs()
        if not epochs:
            self.notify(f"run {summary.id} has no checkpoint to resume from", severity="warning")
            return
        metrics = {record["epoch"]: record for record in folder.epoch_metrics()}
        self.app.push_screen(
            ResumeDialog(summary, epochs, metrics), lambda choice: self.resume(summary, choice)
        )

    def resume(self, summary: RunSummary, choice: ResumeChoice | None) -> None:
        if choice is None:
            return
        reference = f"{summary.id}@{choice.epoch}"
        try:
            config = RunFolder(summary.path).train_config().with_changes(epochs=choice.epochs)
            # Decided from JSON alone: a resume the runs module would refuse is refused here,
            # before the app leaves this list.
            plan_resume(self.runs_dir, reference, lambda saved: config)
        except EngineError as error:
            self.notify(str(error), title="Cannot resume", severity="error", timeout=10)
            return
        self.post_message(self.ResumeRequested(reference, config))

    def action_move(self, rows: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=max(0, min(table.cursor_row + rows, table.row_count - 1)))

    def action_move_to(self, row: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=row % table.row_count)

    def action_delete(self) -> None:
        summary = self.current()
        if summary is None:
            return
        if summary.state in LIVE_STATES:
            self.notify(f"run {summary.id} is {summary.state}: stop it before deleting it",
                        severity="warning")
            return
        checkpoints = len(RunFolder(summary.path).checkpoint_epochs())
        self.app.push_screen(
            DeleteDialog(summary, checkpoints), lambda delete: self.delete(summary, delete)
        )

    def delete(self, summary: RunSummary, confirmed: bool | None) -> None:
        if not confirmed:
            return
        try:
            delete_run(RunFolder(summary.path))  # checks again: the run may have started since
        except EngineError as error:
            self.notify(str(error), title="Not deleted", severity="error", timeout=10)
            return
        self.notify(f"run {summary.id} deleted", timeout=3)
        if summary.id in self.selected:
            self.selected.remove(summary.id)
        self.show_runs([s for s in self.runs.values() if s.id != summary.id])  # now; then read
        self.reload()

    def action_copy_command(self) -> None:
        summary = self.current()
        if summary is not None:
            copy_text(self.app, "command line", summary.command)

    def action_back(self) -> None:
        self.dismiss()
