"""What a training session reports: plain, immutable, picklable records, the same whether the
trainer runs in a thread of the app or in another process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished

StepUnit = Literal["batch", "epoch"]


@dataclass(frozen=True)
class RunStarted:
    architecture: str
    parameters: int
    epochs: int
    batches_per_epoch: int
    train_samples: int


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
