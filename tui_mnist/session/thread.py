"""`ThreadSession`: the `Session` protocol with the trainer in a worker thread of this process.
The run lives and dies with the app; tests and benchmarks/app_throughput.py drive it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Dataset
from tui_mnist.engine.errors import EngineError, ModelFileError
from tui_mnist.engine.model_io import save_model
from tui_mnist.engine.threads import threads_for_run
from tui_mnist.engine.training import Trainer, load_data_for
from tui_mnist.live.driver import PROGRESS_INTERVAL, Controls, Driver, copy_network
from tui_mnist.live.events import Event, LearningRateScaled, RunFailed, RunStarted, StateChanged, StepUnit
from tui_mnist.session.protocol import EventChannel, Snapshot


class ThreadSession:
    """`Session` with the trainer in a daemon worker thread of this process."""

    detachable = False
    run_id = None  # no run folder: the run lives and dies with the app
    folder = None

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
        self._channel = EventChannel()
        self._thread: threading.Thread | None = None
        self._config: TrainConfig | None = None
        self._data: Dataset | None = None
        self._trainer: Any = None
        self._lr_scale = 1.0

    async def start(self, config: TrainConfig) -> None:
        if self._thread is not None:
            raise RuntimeError("a session runs once; make a new one for the next run")
        self._channel.open()
        self._config = config
        self._thread = threading.Thread(
            target=self._work, args=(config,), name="tui-mnist-training", daemon=True
        )
        self._thread.start()

    def _emit(self, event: Event) -> None:
        if not self._channel.put(event):  # nobody is listening any more
            self._controls.stopping = True

    def _work(self, config: TrainConfig) -> None:
        try:
            self._emit(StateChanged("loading"))
            data = self._load_data(config)
            tuner = threads_for_run(config.threads)
            trainer = self._trainer_factory(config, data)
            self._data, self._trainer = data, trainer
            self._emit(RunStarted.of(trainer))
            Driver(trainer, self._controls, self._emit, self._clock, self._interval, tuner).run()
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

    def events(self) -> AsyncIterator[Event]:
        return self._channel.events()

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

        await asyncio.to_thread(
            save_model, path, snapshot.network, snapshot.normalizer, self._config.to_dict(), results
        )
        return path

    def close(self) -> None:
        self.stop()  # a worker thread cannot outlive the app

    def join(self, timeout: float) -> bool:
        """Wait for the worker to end; True when it has (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()
