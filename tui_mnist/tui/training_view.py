"""What the training screen shows, built from session events: no widgets here, so the numbers
can be tested and reasoned about without a terminal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
from tui_mnist.live.events import RunStarted

# Exponential smoothing of the per-batch numbers: about the last 20 batches count, whether the
# records come one per batch (a session in this process) or as means of ~0.1 s of batches (a
# detached trainer, see tui_mnist.runs.history.batch_sample).
SMOOTHING = 0.05
# Train curves keep at most this many points (halved, evenly, when full): plenty for any chart
# width, and bounded memory however many batches a run has.
MAX_POINTS = 4096


class Smoother:
    """Bias-corrected exponential moving average (the first values are not pulled to 0)."""

    def __init__(self, weight: float = SMOOTHING):
        self.weight = weight
        self.average = 0.0
        self.correction = 1.0

    def add(self, value: float, batches: int = 1) -> float:
        """`value` is the mean of `batches` batches: it counts as that many values."""
        keep = (1 - self.weight) ** max(batches, 1)
        self.average = keep * self.average + (1 - keep) * value
        self.correction *= keep
        return self.average / (1 - self.correction)


@dataclass(frozen=True)
class EpochRow:
    """One line of the per-epoch table: the epoch's numbers and the seconds it took."""

    progress: EpochProgress
    seconds: float


class TrainingView:
    """A run's numbers and curves as the training screen shows them, built from its events."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.started: RunStarted | None = None
        self.latest: BatchProgress | None = None
        self.finished: RunFinished | None = None
        self.lr: float | None = None
        self.lr_scale = 1.0
        # Train curves: one point per batch, x in epochs, so they share an axis with val.
        self.train_x: list[float] = []
        self.train_loss: list[float] = []
        self.train_acc: list[float] = []
        self.val_x: list[float] = []
        self.val_loss: list[float] = []
        self.val_acc: list[float] = []
        self.epoch_rows: list[EpochRow] = []
        self._loss = Smoother()
        self._acc = Smoother()
        self._keep_every = 1
        self._records = 0  # batch records seen (remote ones skip steps: not thinned by step)

    def start(self, started: RunStarted) -> None:
        self.started = started
        self.epochs = started.epochs

    def add_batches(self, records: Iterable[BatchProgress]) -> None:
        curves = (self.train_x, self.train_loss, self.train_acc)
        for record in records:
            batches = record.step - (self.latest.step if self.latest else 0)
            loss = self._loss.add(record.loss, batches)
            accuracy = self._acc.add(record.accuracy, batches)
            self.latest = record
            self._records += 1
            if (self._records - 1) % self._keep_every:
                continue
            self.train_x.append(record.epoch - 1 + record.batch / record.batches)
            self.train_loss.append(loss)
            self.train_acc.append(100 * accuracy)
            if len(self.train_x) > MAX_POINTS:
                for curve in curves:
                    del curve[1::2]
                self._keep_every *= 2
        self.lr = self.latest.lr

    def add_epoch(self, epoch: EpochProgress) -> None:
        if epoch.val_loss is not None:
            self.val_x.append(float(epoch.epoch))
            self.val_loss.append(epoch.val_loss)
            self.val_acc.append(100 * epoch.val_acc)
        before = self.epoch_rows[-1].seconds if self.epoch_rows else 0.0
        self.epoch_rows.append(EpochRow(epoch, epoch.seconds - before))
        self.lr = epoch.lr

    def add_recorded_epoch(self, epoch: EpochProgress, batches: int) -> None:
        """An epoch of a run read back from its folder (metrics.jsonl keeps no batches): its
        train loss and accuracy, means over the epoch, make one unsmoothed point at its end,
        and the counters stand at its last of `batches` batches (samples unknown: 0)."""
        self.train_x.append(float(epoch.epoch))
        self.train_loss.append(epoch.train_loss)
        self.train_acc.append(100 * epoch.train_acc)
        self.latest = BatchProgress(
            epoch=epoch.epoch, batch=batches, batches=batches, step=epoch.epoch * batches,
            loss=epoch.train_loss, accuracy=epoch.train_acc, lr=epoch.lr, samples=0,
            seconds=epoch.seconds,
        )
        self.add_epoch(epoch)

    def recent_window(self) -> tuple[float, float] | None:
        """The x range (in epochs) of the latest epoch's worth of the run, or of its second half
        during the first two: where the curves are nearly flat and their differences small."""
        last = max(self.train_x[-1:] + self.val_x[-1:], default=0.0)
        if last <= 0:
            return None
        return (last - 1.0, last) if last >= 2 else (last / 2, last)

    @property
    def total_steps(self) -> int:
        return self.epochs * self.started.batches_per_epoch if self.started else 0

    @property
    def samples_per_second(self) -> float | None:
        latest = self.latest
        if latest is None or latest.seconds <= 0:
            return None
        return latest.samples / latest.seconds

    @property
    def eta_seconds(self) -> float | None:
        """Training time left at the speed so far (evaluation between epochs not counted)."""
        latest = self.latest
        if latest is None or latest.seconds <= 0 or self.finished:
            return None
        return (self.total_steps - latest.step) * latest.seconds / latest.step

    @property
    def epochs_done(self) -> float:
        """Progress through the run, in epochs (fractional mid-epoch)."""
        latest = self.latest
        if latest is None:
            return 0.0
        return latest.epoch - 1 + latest.batch / latest.batches


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
