"""Test doubles: a stepped, deterministic stand-in for the engine's Trainer, and an app on it.

Every `next()` on `run()` is one batch with scripted numbers; an EpochProgress follows every
`batches_per_epoch` batches and a RunFinished ends the run. No arithmetic on images happens, so
a test controls exactly how many batches exist and what they report.
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Dataset, Normalizer
from tui_mnist.engine.errors import TrainingDiverged
from tui_mnist.engine.network import Network
from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
from tui_mnist.session.thread import ThreadSession
from tui_mnist.tui.app import MnistApp

SECONDS_PER_BATCH = 0.01  # the scripted training time, so samples/s and ETA are exact


def batch_loss(step: int) -> float:
    return 0.1 + 2.2 * 0.9**step


def batch_accuracy(step: int) -> float:
    return 1.0 - 0.9 * 0.9**step


def final_test_accuracy(epochs_completed: int) -> float:
    return 0.9 + 0.01 * epochs_completed


class FakeTrainer:
    def __init__(
        self,
        config: TrainConfig,
        data: Dataset,
        batches_per_epoch: int = 5,
        delay: float = 0.0,
        fail_at_step: int | None = None,
    ):
        self.config = config
        self.data = data
        self.batches_per_epoch = batches_per_epoch
        self.delay = delay  # real seconds per batch, so a UI test can catch the run mid-way
        self.fail_at_step = fail_at_step
        sizes = (data.n_features, *config.hidden, 10)
        self.network = Network.create(sizes, config.activation, np.random.default_rng(0))
        self.epoch = 0
        self.step = 0
        self.lr_scale = 1.0
        self.stop_requested = False

    @property
    def lr(self) -> float:
        return self.config.lr * self.lr_scale

    def request_stop(self) -> None:
        self.stop_requested = True

    def run(self):
        batch_size = self.config.batch_size
        while self.epoch < self.config.epochs and not self.stop_requested:
            for batch in range(1, self.batches_per_epoch + 1):
                if self.stop_requested:
                    break
                if self.delay:
                    time.sleep(self.delay)
                if self.step + 1 == self.fail_at_step:
                    raise TrainingDiverged(f"loss diverged at step {self.fail_at_step} (fake)")
                self.step += 1
                yield BatchProgress(
                    epoch=self.epoch + 1,
                    batch=batch,
                    batches=self.batches_per_epoch,
                    step=self.step,
                    loss=batch_loss(self.step),
                    accuracy=batch_accuracy(self.step),
                    lr=self.lr,
                    samples=self.step * batch_size,
                    seconds=self.step * SECONDS_PER_BATCH,
                )
            else:
                self.epoch += 1
                yield EpochProgress(
                    epoch=self.epoch,
                    epochs=self.config.epochs,
                    train_loss=batch_loss(self.step),
                    train_acc=batch_accuracy(self.step),
                    val_loss=batch_loss(self.step) * 1.1,
                    val_acc=batch_accuracy(self.step) - 0.02,
                    test_loss=None,
                    test_acc=None,
                    lr=self.lr,
                    seconds=self.step * SECONDS_PER_BATCH,
                )
        yield RunFinished(
            epochs_completed=self.epoch,
            test_loss=batch_loss(self.step),
            test_acc=final_test_accuracy(self.epoch),
            seconds=self.step * SECONDS_PER_BATCH,
            stopped=self.stop_requested and self.epoch < self.config.epochs,
        )


def tiny_dataset(n_train: int = 64, n_test: int = 32) -> Dataset:
    """Random 28x28 images: enough for the inspector and for saving a model."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n_train + n_test, 784), dtype=np.uint8)
    labels = (np.arange(n_train + n_test) % 10).astype(np.uint8)
    empty = images[:0]
    return Dataset(
        x_train=images[:n_train],
        y_train=labels[:n_train],
        x_val=empty,
        y_val=labels[:0],
        x_test=images[n_train:],
        y_test=labels[n_train:],
        shape=(28, 28),
        normalizer=Normalizer(scale=1 / 255, offset=0.0),
    )


def fake_session(clock=time.perf_counter, interval: float = 0.1, **trainer_options):
    """A real ThreadSession around a FakeTrainer on `tiny_dataset()`."""
    return ThreadSession(
        trainer_factory=partial(FakeTrainer, **trainer_options),
        load_data=lambda config: tiny_dataset(),
        clock=clock,
        interval=interval,
    )


class RecordingApp(MnistApp):
    """MnistApp that remembers its notifications, so tests can read what the user was told."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.notes: list[tuple[str, str]] = []  # (severity, message)

    def notify(self, message: str, *, severity: str = "information", **options) -> None:
        self.notes.append((severity, message))
        super().notify(message, severity=severity, **options)


def fast_config(**changes) -> TrainConfig:
    """A small valid run for the app tests (the fake trainer ignores most of it)."""
    return TrainConfig(hidden=(16,), epochs=3, batch_size=10, lr=0.1).with_changes(**changes)


def make_app(session_factory=None, initial: TrainConfig | None = None, **trainer_options):
    """A RecordingApp on fake sessions (`trainer_options` go to FakeTrainer) and a frozen clock."""
    factory = session_factory or (lambda: fake_session(**trainer_options))
    initial = initial or fast_config()
    # A frozen clock: the elapsed time on screen must not vary between runs (snapshots).
    return RecordingApp(initial=initial, session_factory=factory, clock=lambda: 0.0)


async def until(pilot, condition, timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app never reached the expected state")
        await pilot.pause(0.02)
