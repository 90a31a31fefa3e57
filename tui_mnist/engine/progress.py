"""The immutable records a training run yields, consumed alike by the CLI and the app."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BatchProgress:
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches: int  # batches per epoch
    step: int  # global, 1-based
    loss: float  # this batch's mean loss
    accuracy: float  # this batch's accuracy
    lr: float
    samples: int  # training samples seen so far
    seconds: float  # cumulative training seconds, evaluation excluded


@dataclass(frozen=True, slots=True)
class EpochProgress:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float | None  # None when there is no validation split
    val_acc: float | None
    test_loss: float | None  # None unless the test set is evaluated every epoch
    test_acc: float | None
    lr: float
    seconds: float

    def to_json(self) -> dict:
        record = {
            "epoch": self.epoch,
            "train_loss": self.train_loss,
            "train_acc": self.train_acc,
            "val_loss": self.val_loss,
            "val_acc": self.val_acc,
            "seconds": self.seconds,
            "lr": self.lr,
        }
        if self.test_acc is not None:
            record.update(test_loss=self.test_loss, test_acc=self.test_acc)
        return record


@dataclass(frozen=True, slots=True)
class RunFinished:
    epochs_completed: int
    test_loss: float
    test_acc: float
    seconds: float
    stopped: bool  # True when stopped early by request
    # How far a run stopped mid-epoch got: batches over the whole run, and per epoch. None in
    # the final records of runs made before these were kept.
    steps: int | None = None
    batches_per_epoch: int | None = None

    def to_json(self) -> dict:
        record = {
            "final": True,
            "epochs_completed": self.epochs_completed,
            "test_loss": self.test_loss,
            "test_acc": self.test_acc,
            "seconds": self.seconds,
            "stopped": self.stopped,
        }
        if self.steps is not None:
            record.update(steps=self.steps, batches_per_epoch=self.batches_per_epoch)
        return record

    @property
    def batches_into_epoch(self) -> int | None:
        """Batches trained of the epoch the run stopped in (0: it stopped between epochs)."""
        if self.steps is None or not self.batches_per_epoch:
            return None
        return self.steps - self.epochs_completed * self.batches_per_epoch


Progress = BatchProgress | EpochProgress | RunFinished
