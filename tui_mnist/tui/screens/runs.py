"""The ledger: every run in the runs directory, newest first, to compare, attach to (a live
run) or look back at (an ended one, RunReviewScreen), resume, edit and run again
(EditSettingsScreen), copy or delete; a note on each run (NoteDialog, kept by runs.notes),
a filter (`/`: id, state, network, command line, note; `#tag` for a tag) and orders (`s`).

Reads the run folders only (tui_mnist.runs.ledger / store), on a thread worker every
RELOAD_SECONDS; starting or following a trainer is the app's business, asked for with
`AttachRequested` and `ResumeRequested`. Deleting a run's folder is the ledger's own
(runs.ledger.delete_run), after a confirmation, and never a live run's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from rich.cells import cell_len, set_cell_size
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import EngineError
from tui_mnist.live.text import percent
from tui_mnist.runs.ledger import LIVE_STATES, RunSummary, delete_run, list_runs
from tui_mnist.runs.notes import note_tags, write_note
from tui_mnist.runs.resume import plan_resume
from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.clipboard import copy_text
from tui_mnist.tui.screens.compare import CompareScreen
from tui_mnist.tui.screens.delete_dialog import DeleteDialog
from tui_mnist.tui.screens.edit_settings import EditSettingsScreen
from tui_mnist.tui.screens.note_dialog import NoteDialog
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


def shortened(text: str, width: int) -> str:
    """`text` on one line of at most `width` cells, cut with "…" if it is longer."""
    text = " ".join(text.split())
    return text if cell_len(text) <= width else set_cell_size(text, max(width - 1, 0)) + "…"


def descending(value: float | None) -> tuple[bool, float]:
    """A sort key: the highest value first, a missing one last."""
    return value is None, -(value or 0.0)


# The orders `s` cycles through, named as the heading shows them. Each sorts the newest-first
# list stably: runs that tie stay newest first.
ORDERS: dict[str, Callable[[RunSummary], object] | None] = {
    "newest first": None,
    "best val first": lambda summary: descending(summary.best_val_acc),
    "best test first": lambda summary: descending(summary.test_acc),
    "most epochs first": lambda summary: -summary.epoch,
}


def matches(summary: RunSummary, words: list[str]) -> bool:
    """Whether the run answers every (lowercased) word of a filter: a word is looked for in
    its id, state, network, command line (the settings that differ from the defaults) and
    note; a "#word" must begin one of the note's tags ("#lr" finds "#lr-test")."""
    text = " ".join((summary.id, state_text(summary), summary.architecture, summary.command,
                     summary.note)).lower()
    tags = note_tags(summary.note)
    return all(
        any(tag.startswith(word) for tag in tags) if word.startswith("#") and word != "#"
        else word in text
        for word in words
    )


class RunsScreen(Screen):
    CSS_PATH = "runs.tcss"
    TITLE = "Runs"
    AUTO_FOCUS = "#runs-table"  # not the filter above it, hidden until `/`
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
        # Not in the footer either, which has no room left at 80 columns (f1 and ctrl+p list
        # them; the heading shows the order, the filter shows itself).
        Binding("slash", "filter", "filter", key_display="/", show=False,
                tooltip="Filter the list by words of its id, state, network, command line or "
                        "note (#tag: a tag); esc clears it"),
        Binding("n", "note", "note", show=False,
                tooltip="Write a note on the run (its #words are tags), kept in its folder"),
        Binding("s", "cycle_sort", "sort", show=False,
                tooltip="Sort by the next order: newest first, best validation accuracy, best "
                        "test accuracy, most epochs"),
        Binding("escape", "back", "back",
                tooltip="Clear the filter, or back to the screen before"),
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
        self.filter_words: list[str] = []  # lowercased; every one must match (see `matches`)
        self.order = next(iter(ORDERS))  # a name in ORDERS

    def compose(self) -> ComposeResult:
        yield Static(id="runs-heading")
        # Shown by `/` (the class -filtering), hidden again when esc clears it.
        yield Input(placeholder="filter: words or #tags · enter: to the list · esc: clear",
                    id="runs-filter", compact=True)
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
        shown = self.arranged(summaries)
        rows = [self.row(s) for s in shown]
        if rows != self.shown_rows:  # rebuilding moves nothing when nothing changed
            self.shown_rows = rows
            table = self.query_one(DataTable)
            current = self.current_id()
            row_before = table.cursor_row
            table.clear()
            for row, summary in zip(rows, shown):
                table.add_row(*row, key=summary.id)
            if current in {summary.id for summary in shown}:
                table.move_cursor(row=table.get_row_index(current), animate=False)
            elif rows:
                table.move_cursor(row=min(row_before, len(rows) - 1), animate=False)
        runs = f"run{'s' if len(summaries) != 1 else ''}"
        if not summaries:
            count = "no runs yet"
        elif self.filter_words:
            count = f"{len(shown)} of {len(summaries)} {runs}"
        else:
            count = f"{len(summaries)} {runs}"
        order = f" · {self.order}" if summaries else ""
        picked = f" · {len(self.selected)} selected" if self.selected else ""
        heading = f"{count} in {self.runs_dir}{order}{picked}"
        self.query_one("#runs-heading", Static).update(heading)
        self.show_detail()

    def arranged(self, summaries: list[RunSummary]) -> list[RunSummary]:
        """The runs the filter lets through, in the chosen order (`summaries` is newest first)."""
        shown = [s for s in summaries if matches(s, self.filter_words)]
        key = ORDERS[self.order]
        return shown if key is None else sorted(shown, key=key)

    def reshow(self) -> None:
        """Show the runs as last read again, under the current filter and order (nothing
        before the first reading)."""
        if self.shown_rows is not None:
            self.show_runs(list(self.runs.values()))

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
        if summary is None and self.filter_words and self.runs:
            text = "No run matches the filter: esc clears it."
        elif summary is None:
            text = "Runs started here or with `tui-mnist train` appear in this list."
        else:
            lines = [summary.command]
            if summary.note:  # one line, before the command line (which may take two)
                width = self.query_one("#run-detail").content_size.width or self.size.width - 2
                lines.insert(0, shortened(f"note: {summary.note}", width))
            parent = summary.parent
            if parent:
                lines.append(f"continues run {parent['run']} from epoch {parent['epoch']}")
            if summary.error:
                lines.append(f"error: {summary.error}")
            text = "\n".join(lines)
        # Plain text: a note or a command line may hold "[", which markup would take for a tag.
        self.query_one("#run-detail", Static).update(Content(text))
        self.refresh_bindings()  # which keys apply depends on the run under the cursor

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        summary = self.current() if self.is_mounted else None
        if action in ("open", "move_to") and self.filter_has_focus():
            return False  # their keys (priority bindings: enter, home, end, g, G) are typed
        if action in ("toggle_select", "copy_command", "move", "move_to", "open", "edit",
                      "note"):
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
        if self.has_class("-filtering"):
            self.clear_filter()
        else:
            self.dismiss()

    # --- filter, order and notes ----------------------------------------------------------

    def filter_has_focus(self) -> bool:
        return self.is_mounted and self.focused is self.query_one("#runs-filter", Input)

    def action_filter(self) -> None:
        self.add_class("-filtering")
        # Focused once shown: a widget with `display: none` takes no focus.
        self.call_after_refresh(self.query_one("#runs-filter", Input).focus)

    def on_input_changed(self, event: Input.Changed) -> None:
        self.filter_words = event.value.lower().split()
        self.reshow()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.query_one(DataTable).focus()  # the filter stays, shown above the list
        else:
            self.clear_filter()

    def clear_filter(self) -> None:
        self.query_one(DataTable).focus()
        self.remove_class("-filtering")
        self.query_one("#runs-filter", Input).value = ""
        self.filter_words = []
        self.reshow()

    def action_cycle_sort(self) -> None:
        names = list(ORDERS)
        self.order = names[(names.index(self.order) + 1) % len(names)]
        self.reshow()
        if self.query_one(DataTable).row_count:
            self.query_one(DataTable).move_cursor(row=0)  # the first in the new order

    def action_note(self) -> None:
        summary = self.current()
        if summary is not None:
            self.app.push_screen(NoteDialog(summary.id, summary.note),
                                 lambda note: self.keep_note(summary, note))

    def keep_note(self, summary: RunSummary, note: str | None) -> None:
        if note is None:
            return
        try:
            write_note(RunFolder(summary.path), note)  # a live run's too: its trainer never reads it
        except OSError as error:
            self.notify(f"run {summary.id}: cannot keep the note ({error.strerror or error})",
                        severity="error", timeout=10)
            return
        if summary.id in self.runs:  # now; then read again with the others
            self.runs[summary.id] = replace(self.runs[summary.id], note=note.strip())
            self.reshow()
        self.reload()
