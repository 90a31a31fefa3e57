"""The wrapper between the app and the engine: a training run driven from async code.

The UI talks to the `Session` protocol only: fire-and-forget commands, an async stream of
events (tui_mnist.events), and async requests for the weights. Events and snapshots are plain
picklable data, so another implementation can run the trainer in another process (and outlive
the terminal) behind the same protocol. `ThreadSession` is the in-process implementation: the
trainer runs in a worker thread (see tui_mnist.driver), never on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tui_mnist.driver import PROGRESS_INTERVAL, Controls, Driver, copy_network
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Dataset, Normalizer, load_dataset
from tui_mnist.engine.errors import EngineError, ModelFileError
from tui_mnist.engine.model_io import save_model
from tui_mnist.engine.network import Network
from tui_mnist.engine.threads import auto_threads, limit_blas_threads
from tui_mnist.engine.training import Trainer
from tui_mnist.events import (
    FINAL_EVENTS,
    Batches,
    Event,
    LearningRateScaled,
    RunFailed,
    RunStarted,
    StateChanged,
    StepUnit,
)

__all__ = [  # the events are re-exported: callers may import everything from here
    "Batches", "Controls", "Driver", "Event", "FINAL_EVENTS", "LearningRateScaled", "RunFailed",
    "RunStarted", "Session", "Snapshot", "StateChanged", "StepUnit", "ThreadSession",
    "copy_network", "load_data_for",
]


@dataclass(frozen=True)
class Snapshot:
    """A copy of the live network plus the test set to look at it through."""

    network: Network
    normalizer: Normalizer
    images: np.ndarray
    labels: np.ndarray
    shape: tuple[int, int]
    epoch: int  # completed epochs
    step: int  # completed batches


class Session(Protocol):
    """One training run, as the UI sees it. Commands never block."""

    async def start(self, config: TrainConfig) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def step(self, unit: StepUnit = "batch") -> None: ...  # only while paused
    def stop(self) -> None: ...  # from any state; ends with RunFinished(stopped=True)
    def scale_lr(self, factor: float) -> None: ...
    def events(self) -> AsyncIterator[Event]: ...  # ends after RunFinished or RunFailed
    async def snapshot(self) -> Snapshot | None: ...  # None before the network exists
    async def save_model(self, path: str | Path) -> Path: ...  # raises EngineError
    def join(self, timeout: float) -> bool: ...  # wait for the run to end; True if it has


def load_data_for(config: TrainConfig) -> Dataset:
    return load_dataset(config.data_dir, val=config.val, standardize=config.standardize)



class ThreadSession:
    """`Session` with the trainer in a daemon worker thread of this process."""

    def __init__(
        self,
        trainer_factory: Callable[[TrainConfig, Dataset], Any] = Trainer,
        load_data: Callable[[TrainConfig], Dataset] = load_data_for,
        clock: Callable[[], float] = time.perf_counter,
        interval: float = PROGRESS_INTERVAL,
    ):
        self._trainer_factory = trainer_factory
        self._load_data = load_data
        self._clock = clock
        self._interval = interval
        self._controls = Controls()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._config: TrainConfig | None = None
        self._data: Dataset | None = None
        self._trainer: Any = None
        self._lr_scale = 1.0

    async def start(self, config: TrainConfig) -> None:
        if self._thread is not None:
            raise RuntimeError("a session runs once; make a new one for the next run")
        self._loop = asyncio.get_running_loop()
        self._config = config
        self._thread = threading.Thread(
            target=self._work, args=(config,), name="tui-mnist-training", daemon=True
        )
        self._thread.start()

    def _emit(self, event: Event) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            self._controls.stopping = True

    def _work(self, config: TrainConfig) -> None:
        try:
            self._emit(StateChanged("loading"))
            data = self._load_data(config)
            limit_blas_threads(config.threads or auto_threads(config.batch_size))
            trainer = self._trainer_factory(config, data)
            self._data, self._trainer = data, trainer
            self._emit(
                RunStarted(
                    architecture="-".join(map(str, trainer.network.sizes)),
                    parameters=trainer.network.n_parameters,
                    epochs=config.epochs,
                    batches_per_epoch=trainer.batches_per_epoch,
                    train_samples=len(data.x_train),
                )
            )
            Driver(trainer, self._controls, self._emit, self._clock, self._interval).run()
        except EngineError as error:
            self._emit(RunFailed(str(error)))
        except Exception as error:  # a bug must still reach the user as a message, not a crash
            self._emit(RunFailed(f"unexpected error: {type(error).__name__}: {error}"))
        finally:
            self._controls.close(self._trainer)

    def pause(self) -> None:
        self._controls.pause()

    def resume(self) -> None:
        self._controls.resume()

    def step(self, unit: StepUnit = "batch") -> None:
        self._controls.step(unit)

    def stop(self) -> None:
        self._controls.stop(self._trainer)

    def scale_lr(self, factor: float) -> None:
        self._lr_scale *= factor
        scale = self._lr_scale

        def apply(trainer: Any) -> None:
            if trainer is not None:
                trainer.lr_scale = scale
                self._emit(LearningRateScaled(scale, trainer.lr))

        self._controls.submit(apply, self._trainer)

    async def events(self) -> AsyncIterator[Event]:
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, FINAL_EVENTS):
                return

    async def snapshot(self) -> Snapshot | None:
        def copy(trainer: Any) -> Snapshot | None:
            if trainer is None:
                return None
            data = self._data
            return Snapshot(
                network=copy_network(trainer.network),
                normalizer=data.normalizer,
                images=data.x_test,
                labels=data.y_test,
                shape=data.shape,
                epoch=trainer.epoch,
                step=trainer.step,
            )

        return await asyncio.wrap_future(self._controls.submit(copy, self._trainer))

    async def save_model(self, path: str | Path) -> Path:
        snapshot = await self.snapshot()
        if snapshot is None:
            raise ModelFileError("there is no model to save yet")
        path = Path(path).expanduser()
        results = {"epochs_completed": snapshot.epoch, "steps": snapshot.step}

        def write() -> None:
            try:
                save_model(
                    path, snapshot.network, snapshot.normalizer, self._config.to_dict(), results
                )
            except OSError as error:
                raise ModelFileError(f"{path}: cannot write ({error.strerror or error})") from None

        await asyncio.to_thread(write)
        return path

    def join(self, timeout: float) -> bool:
        """Wait for the worker to end; True when it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
