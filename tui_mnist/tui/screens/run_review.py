"""A run that has ended (finished, stopped, failed, or stale: its trainer gone), read back from
its folder: its training screen, read-only.

The curves and the per-epoch table come from metrics.jsonl (one record per epoch: the train
curves get one point an epoch, the epoch's means), the result from its final record, the
state and any error from status.json; all read on a thread worker. No key steers anything:
esc (or ctrl+o) goes back to the runs list, z and l still zoom and rescale the charts.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.widgets import Digits, Static
from textual.worker import Worker, WorkerState

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import DataError
from tui_mnist.engine.idx import NUM_CLASSES, training_images
from tui_mnist.engine.layer_sizes import architecture, parameter_count
from tui_mnist.engine.progress import EpochProgress, RunFinished
from tui_mnist.live.events import FINAL_STATES, RunStarted
from tui_mnist.live.text import how_far
from tui_mnist.runs.ledger import derived_state
from tui_mnist.runs.store import RunFolder
from tui_mnist.tui.screens.inspector import InspectSource
from tui_mnist.tui.screens.network_views import VIEW_ACTIONS
from tui_mnist.tui.screens.training import TrainingScreen
from tui_mnist.tui.training_view import duration
from tui_mnist.tui.widgets.epoch_table import EpochTable

BACK = "esc: back to the list (e there: edit its settings, run again)"


@dataclass(frozen=True)
class RecordedRun:
    """What a run folder keeps of a run: its epochs, how it ended, and why if it failed."""

    state: str  # as the ledger derives it
    started: RunStarted | None  # its network, from its data's header (None: data gone)
    epochs: list[EpochProgress]  # oldest first, one per epoch
    final: RunFinished | None  # None unless it finished or was stopped
    batches_per_epoch: int  # where the folder does not say, from the data's size (else 1)
    error: str | None

    @classmethod
    def read(cls, folder: RunFolder) -> RecordedRun:
        """Reads config.json, status.json and metrics.jsonl, and the header of the run's
        training images (raises RunError for a folder without readable settings)."""
        config = folder.train_config()
        planned = config.epochs
        status = folder.read_status()
        records = folder.read_metrics()
        by_epoch = {  # a resumed run may repeat an epoch: its latest record counts
            record["epoch"]: record for record in records if "epoch" in record and not record.get("final")
        }
        epochs = [
            EpochProgress(
                epoch=record["epoch"], epochs=planned, train_loss=record["train_loss"],
                train_acc=record["train_acc"], val_loss=record.get("val_loss"),
                val_acc=record.get("val_acc"), test_loss=record.get("test_loss"),
                test_acc=record.get("test_acc"), lr=record["lr"], seconds=record["seconds"],
            )
            for _, record in sorted(by_epoch.items())
        ]
        state = derived_state(folder, status)
        finals = [record for record in records if record.get("final")]
        final = None
        if finals and state in FINAL_STATES:
            final = RunFinished(**{name: value for name, value in finals[-1].items() if name != "final"})
        batches = final.batches_per_epoch if final is not None else None
        step, epoch = status.get("step"), status.get("epoch")
        if not batches and isinstance(step, int) and isinstance(epoch, int) and epoch > 0:
            batches = step // epoch  # (a little over, for a run gone mid-epoch)
        try:
            images, pixels = training_images(config.data_dir)
        except DataError:
            started = None
        else:
            sizes, train = config.layer_sizes(pixels, NUM_CLASSES), max(images - config.val, 1)
            batches = batches or -(-train // config.batch_size)
            started = RunStarted(architecture(sizes), parameter_count(sizes), planned, batches, train)
        return cls(state, started, epochs, final, max(batches or 1, 1), status.get("error"))


class EndedRun:
    """What the training screen asks of a session, for a run that has ended: its id and folder.
    It is given no command (the review allows none)."""

    detachable = False

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder
        self.run_id = folder.id


class RunReviewScreen(TrainingScreen):
    TITLE = "Run"

    def __init__(self, run_dir: Path, config: TrainConfig) -> None:
        self.folder = RunFolder(run_dir)
        super().__init__(config, EndedRun(self.folder), attached=True)
        self.recorded: RecordedRun | None = None  # once read

    @work(thread=True, exclusive=True, exit_on_error=False, group="review", name="reading the run")
    def follow_session(self) -> RecordedRun:
        """An ended run is followed by reading its folder, once (on_mount starts this)."""
        return RecordedRun.read(self.folder)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "review":
            return
        if event.state == WorkerState.SUCCESS:
            self.show_recorded(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.query_one("#status", Static).update(f"cannot read run {self.folder.id}")
            # Worker messages do not bubble: the app's one error handler hears it from here.
            self.app.post_message(Worker.StateChanged(event.worker, event.state))

    def show_recorded(self, recorded: RecordedRun) -> None:
        self.recorded = recorded
        view = self.view
        if recorded.started is not None:
            view.start(recorded.started)  # the network in the status line
        for epoch in recorded.epochs:
            view.add_recorded_epoch(epoch, recorded.batches_per_epoch)
        self.query_one("#epochs", EpochTable).show(view.epoch_rows)
        view.finished = recorded.final
        self.state = recorded.state
        result = self.query_one("#result-text", Static)
        if recorded.final is not None:
            final = recorded.final
            how = how_far(final) if final.stopped else f"finished {final.epochs_completed} epochs"
            self.query_one("#result-digits", Digits).update(f"{100 * final.test_acc:.2f}")
            result.update(f"[b]% test accuracy[/b]\n{how}, {duration(final.seconds)} training\n{BACK}")
        else:  # failed, or stale; or ended without a final record
            self.query_one("#result-digits", Digits).display = False
            why = recorded.error or {
                "stale": "its trainer is gone (R in the list resumes it)",
                "failed": "no error was recorded",
            }.get(recorded.state, "its final record is missing")
            result.update(f"[b]{recorded.state}[/b]: {why}\n{BACK}")
            self.add_class("-ended", "-failed")  # the box shows a stale run's state too
        self._show_numbers()
        self._plot()

    @property
    def weights_title(self) -> str:
        return f"run {self.folder.id}"

    async def live_weights(self) -> InspectSource:
        """The run's last weights: those it stopped with mid-epoch, else its newest checkpoint."""
        return await asyncio.to_thread(last_weights, self.folder)

    def allowed_actions(self) -> dict[str, bool]:
        # Nothing steers the run: back, and the views of its weights and epochs (z, l and
        # ctrl+o are not in this table, and stay).
        looks = {"back", "inspect", *VIEW_ACTIONS}
        return {action: allowed and action in looks for action, allowed in super().allowed_actions().items()}


def last_weights(folder: RunFolder) -> InspectSource:
    """A read run's last weights on its test set; EngineError says why there are none."""
    if folder.final_model_file.is_file():
        return InspectSource.from_model_file(folder.final_model_file, folder.train_config().data_dir)
    kept = folder.checkpoint_epochs()
    if not kept:
        raise DataError(f"{folder.checkpoints_dir}: the run kept no weights")
    return InspectSource.from_checkpoint(folder.checkpoint_file(kept[-1]))
