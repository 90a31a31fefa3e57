"""What a training session reports: plain, immutable, picklable records, the same whether the
trainer runs in a thread of the app or in another process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished

if TYPE_CHECKING:
    from tui_mnist.engine.training import Trainer

StepUnit = Literal["batch", "epoch"]


@dataclass(frozen=True)
class RunStarted:
    architecture: str
    parameters: int
    epochs: int
    batches_per_epoch: int
    train_samples: int

    @classmethod
    def of(cls, trainer: Trainer) -> RunStarted:
        """What a trainer about to run reports first."""
        return cls(
            architecture=trainer.network.architecture,
            parameters=trainer.network.n_parameters,
            epochs=trainer.config.epochs,
            batches_per_epoch=trainer.batches_per_epoch,
            train_samples=len(trainer.data.x_train),
        )


@dataclass(frozen=True)
class Batches:
    """Every batch since the previous event, in order (never empty)."""

    records: tuple[BatchProgress, ...]

    @property
    def latest(self) -> BatchProgress:
        return self.records[-1]


@dataclass(frozen=True)
class StateChanged:
    state: Literal["loading", "running", "paused"]


@dataclass(frozen=True)
class LearningRateScaled:
    scale: float  # product of every factor so far
    lr: float  # the rate the next batch will use


@dataclass(frozen=True)
class RunFailed:
    message: str  # one line, for the user


Event = (
    RunStarted | Batches | EpochProgress | RunFinished
    | StateChanged | LearningRateScaled | RunFailed
)
FINAL_EVENTS = (RunFinished, RunFailed)
# How a run ends, in the words of status.json, `tui-mnist runs`, the CLI's last line and the app.
FINAL_STATES = ("finished", "stopped", "failed")


def final_state(record: RunFinished) -> str:
    """"stopped" when stopped early by request, else "finished"."""
    return "stopped" if record.stopped else "finished"
