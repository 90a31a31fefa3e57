"""What the app asks of a training run: the `Session` protocol, driven from async code.

The UI talks to this protocol only: fire-and-forget commands, an async stream of events
(tui_mnist.live.events), and async requests for the weights. Events and snapshots are plain
picklable data. Two implementations: `ThreadSession` (session/thread.py) runs the trainer in a
worker thread of this process (the app's tests drive it with a fake trainer,
benchmarks/app_throughput.py measures the UI's cost with it); `DetachedSession`
(session/detached.py) runs it in a detached process that outlives the app, and is what the app
trains with.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.network import Network
from tui_mnist.live.events import FINAL_EVENTS, Event, StepUnit
from tui_mnist.runs.store import RunFolder


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


@dataclass(frozen=True)
class CommandRefused:
    """A command the trainer turned down (e.g. a step that arrived after a resume); the run
    goes on. Only a session whose commands travel to another process reports these."""

    message: str


class Session(Protocol):
    """One training run, as the UI sees it. Commands never block."""

    detachable: bool  # whether the run can go on without the app (see `close`)

    @property
    def run_id(self) -> str | None: ...  # the run folder's id, once there is one
    @property
    def folder(self) -> RunFolder | None: ...  # the run's folder, once there is one

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
    def close(self) -> None: ...  # the app is going: a detachable run goes on, others stop


class EventChannel:
    """Events from a worker thread to the event loop's `events()` stream, in order."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[Event] = asyncio.Queue()

    def open(self) -> None:
        """Bind to the running event loop (call from it, before any `put`)."""
        self._loop = asyncio.get_running_loop()

    def put(self, event: Event | CommandRefused) -> bool:
        """From any thread; False once the event loop has closed (nobody is listening)."""
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, event)
        except RuntimeError:
            return False
        return True

    async def events(self) -> AsyncIterator[Event]:
        """Every event put, ending after RunFinished or RunFailed."""
        while True:
            event = await self._queue.get()
            yield event
            if isinstance(event, FINAL_EVENTS):
                return
