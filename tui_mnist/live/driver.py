"""The worker side of a session: pulls records from a trainer between the UI's requests.

Transport-agnostic: the in-process `ThreadSession` and a trainer hosted in another process both
run a `Driver` with `Controls`, and differ only in how commands arrive and events leave.
Cost on the training side is kept off the per-batch path: batch records are collected in a
local list and handed over at most every `interval` seconds; pause, step and stop are plain
flags read between batches, and a paused worker sleeps on a threading.Event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from tui_mnist.engine.network import Network
from tui_mnist.engine.progress import BatchProgress, EpochProgress
from tui_mnist.engine.threads import ThreadTuner
from tui_mnist.live.events import Batches, Event, StateChanged, StepUnit

PROGRESS_INTERVAL = 0.1  # seconds: batch progress reaches the UI at most ~10 times a second


def copy_network(network: Network) -> Network:
    return Network(
        [w.copy() for w in network.weights],
        [b.copy() for b in network.biases],
        network.activation.name,
    )


class Controls:
    """What the UI asks of the worker. Flags are read between batches without locking; the
    lock only orders the rare transitions and the hand-over of requests."""

    def __init__(self) -> None:
        self.paused = False
        self.step_unit: StepUnit | None = None
        self.queued_steps: list[StepUnit] = []  # steps asked for while one was under way
        self.stopping = False
        self.requests: list[tuple[Callable[[Any], Any], Future]] = []
        self.accepting = True  # False once the worker has ended: requests then run in place
        self.wake = threading.Event()
        self.lock = threading.Lock()

    def pause(self) -> None:
        with self.lock:
            if not self.stopping:
                self.paused = True
                self.queued_steps.clear()

    def resume(self) -> None:
        with self.lock:
            self.step_unit = None
            self.queued_steps.clear()
            self.paused = False
        self.wake.set()

    @property
    def holding(self) -> bool:
        """Paused, or taking steps asked for while paused: the run is held, not running."""
        return self.paused or self.step_unit is not None

    def step(self, unit: StepUnit) -> bool:
        """Run one batch or to the end of the epoch, then pause again; only while paused. A
        step asked for while another is under way follows it (every press is one step).
        False when refused (the run is running or stopping)."""
        with self.lock:
            if self.stopping or not self.holding:
                return False
            if self.paused:
                self.step_unit = unit
                self.paused = False
            else:
                self.queued_steps.append(unit)
        self.wake.set()
        return True

    def stop(self, trainer_if_done: Any) -> None:
        """End the run after the current batch, from any state (a paused worker wakes up)."""
        with self.lock:
            self.stopping = True
            self.step_unit = None
            self.queued_steps.clear()
            self.paused = False
        self.submit(lambda trainer: trainer and trainer.request_stop(), trainer_if_done)

    def submit(self, request: Callable[[Any], Any], trainer_if_done: Any) -> Future:
        """Run `request(trainer)` between batches; in place if the worker has already ended."""
        future: Future = Future()
        with self.lock:
            if self.accepting:
                self.requests.append((request, future))
                self.wake.set()
                return future
        _complete(future, request, trainer_if_done)
        return future

    def serve(self, trainer: Any) -> None:
        with self.lock:
            pending, self.requests = self.requests, []
        for request, future in pending:
            _complete(future, request, trainer)

    def sleep_while_paused(self, trainer: Any) -> None:
        while self.paused:
            self.wake.wait()
            self.wake.clear()
            self.serve(trainer)

    def finish_step(self, unit: StepUnit) -> None:
        """A step of `unit` is done: take the next one asked for, or pause again."""
        with self.lock:
            if self.step_unit == unit:
                if self.queued_steps and not self.paused:
                    self.step_unit = self.queued_steps.pop(0)
                else:
                    self.step_unit = None
                    self.paused = True

    def close(self, trainer: Any) -> None:
        with self.lock:
            self.accepting = False
        self.serve(trainer)


def _complete(future: Future, request: Callable[[Any], Any], trainer: Any) -> None:
    try:
        future.set_result(request(trainer))
    except Exception as error:  # handed to whoever awaits the future
        future.set_exception(error)


class Driver:
    """Pulls records from `trainer.run()` until it ends, honouring pause, step and stop, and
    emits them coalesced. Transport-agnostic: a process-based session can reuse it as is."""

    def __init__(
        self,
        trainer: Any,
        controls: Controls,
        emit: Callable[[Event], None],
        clock: Callable[[], float] = time.perf_counter,
        interval: float = PROGRESS_INTERVAL,
        tuner: ThreadTuner | None = None,
    ):
        """`tuner` (automatic threads) is fed every batch's timing."""
        self.trainer = trainer
        self.tuner = tuner
        self.controls = controls
        self.emit = emit
        self.clock = clock
        self.interval = interval
        self.pending: list[BatchProgress] = []
        self.state = "running"

    def run(self) -> None:
        try:
            self._pull()
        finally:
            self._flush()  # batches that preceded an error still reach the UI

    def _flush(self) -> None:
        if self.pending:
            self.emit(Batches(tuple(self.pending)))
            self.pending.clear()

    def _report(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.emit(StateChanged(state))

    def _pull(self) -> None:
        trainer, controls, pending, tuner = self.trainer, self.controls, self.pending, self.tuner
        records = trainer.run()
        deadline = self.clock() + self.interval
        while True:
            if controls.requests:
                controls.serve(trainer)
            if controls.paused:
                self._flush()
                self._report("paused")
                controls.sleep_while_paused(trainer)
            # Not inside the branch above: a resume can land between the previous batch's pause
            # (finish_step) and the check of `paused`, and the run goes on without sleeping.
            if self.state == "paused" and not controls.holding and not controls.stopping:
                self._report("running")
            record = next(records, None)
            if record is None:
                return
            if type(record) is BatchProgress:
                pending.append(record)
                if tuner is not None:
                    tuner.observe(record.samples, record.seconds)
                if controls.step_unit == "batch":
                    controls.finish_step("batch")
                else:
                    now = self.clock()
                    if now >= deadline:
                        self._flush()
                        deadline = now + self.interval
                continue
            self._flush()
            self.emit(record)
            if type(record) is EpochProgress and controls.step_unit == "epoch":
                controls.finish_step("epoch")
