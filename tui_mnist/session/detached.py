"""The app's session on a trainer in a process of its own, so that a run outlives the app.

The trainer is a detached `tui-mnist train --run-id` (tui_mnist.runs.launch) in its own session:
closing the terminal, `d` or a crash of the app leave it training. This side talks to it
through the run's control socket (tui_mnist.runs.client): one worker thread starts or finds the
trainer and then sends the commands in the order they were given; another follows the run's
events (history first) into the event loop. Only `stop()` ends the run; `close()` just lets go.
"""

from __future__ import annotations

import asyncio
import queue
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import EngineError
from tui_mnist.engine.progress import RunFinished
from tui_mnist.live.events import FINAL_STATES, Event, RunFailed, RunStarted, StateChanged, StepUnit
from tui_mnist.runs import RunError
from tui_mnist.runs.client import EventStream, RunClient
from tui_mnist.runs.launch import resume_detached, start_detached
from tui_mnist.runs.ledger import derived_state, is_live
from tui_mnist.runs.store import RunFolder
from tui_mnist.session.protocol import CommandRefused, EventChannel, Snapshot

# When a run's socket is gone, how long its last event (already sent) may take to be read.
ENDING_GRACE = 2.0
# How often an idle worker checks that the app's main thread is still there (see _next_command).
IDLE_CHECK = 0.5

Command = Callable[[RunClient], object]


class DetachedSession:
    """`Session` on a detached trainer; build one with `new`, `attach` or `from_checkpoint`."""

    detachable = True

    def __init__(self, launch: Callable[[TrainConfig], Path]):
        """`launch(config)` returns the folder of a live run, starting its trainer if need be;
        it runs on the worker thread (starting a trainer takes a second or more)."""
        self._launch = launch
        self._channel = EventChannel()
        self._commands: queue.SimpleQueue[Command | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._client: RunClient | None = None
        self._stream: EventStream | None = None
        self._config: TrainConfig | None = None
        self._batches_per_epoch = 0
        self._scratch: Path | None = None  # private: weights passing through on their way in
        self._test_set = None  # the run's data set, loaded for the inspector's first look
        self._final_weights: Path | None = None  # written just before our own stop
        self._ended = threading.Event()  # the run's last event has arrived (or never will)
        self._closed = False

    @classmethod
    def new(cls, runs_dir: str | Path | None = None) -> DetachedSession:
        return cls(lambda config: start_detached(config, runs_dir))

    @classmethod
    def attach(cls, run_dir: str | Path) -> DetachedSession:
        return cls(lambda config: Path(run_dir))

    @classmethod
    def from_checkpoint(cls, reference: str, runs_dir: str | Path | None = None) -> DetachedSession:
        """Continue RUN[@EPOCH] with the config given to `start` (see runs.resume)."""
        return cls(lambda config: resume_detached(reference, config, runs_dir))

    @property
    def run_id(self) -> str | None:
        return self._client.folder.id if self._client else None

    @property
    def folder(self) -> RunFolder | None:
        return self._client.folder if self._client else None

    # --- the app's side -------------------------------------------------------------------

    async def start(self, config: TrainConfig) -> None:
        if self._worker is not None:
            raise RuntimeError("a session runs once; make a new one for the next run")
        self._config = config
        self._scratch = Path(tempfile.mkdtemp(prefix="tui-mnist-session-"))
        self._channel.open()
        self._channel.put(StateChanged("loading"))
        # Not a daemon: a stop given while the trainer was still starting must reach it even
        # if the app has quit in the meantime (see _next_command for how it ends).
        self._worker = threading.Thread(
            target=self._work, args=(config,), name="tui-mnist-remote-commands"
        )
        self._worker.start()

    def pause(self) -> None:
        self._commands.put(RunClient.pause)

    def resume(self) -> None:
        self._commands.put(RunClient.resume)

    def step(self, unit: StepUnit = "batch") -> None:
        self._commands.put(lambda client: client.step(unit))

    def stop(self) -> None:
        self._commands.put(self._stop)

    def scale_lr(self, factor: float) -> None:
        self._commands.put(lambda client: client.scale_lr(factor))

    def events(self) -> AsyncIterator[Event]:
        return self._channel.events()

    async def snapshot(self) -> Snapshot | None:
        if self._client is None:
            return None
        return await asyncio.to_thread(self._read_snapshot)

    async def save_model(self, path: str | Path) -> Path:
        if self._client is None:
            raise RunError("there is no model to save yet: the trainer is still starting")
        return await asyncio.to_thread(self._write_weights, Path(path).expanduser())

    def close(self) -> None:
        """Let go of the run without stopping it: stop following it, end the worker once the
        commands already given have been sent."""
        self._closed = True
        if self._stream is not None:
            self._stream.close()
        self._commands.put(None)

    def join(self, timeout: float) -> bool:
        """Wait for the run's last event; True when it has come (or the run never started)."""
        return self._worker is None or self._ended.wait(timeout)

    # --- the worker thread ----------------------------------------------------------------

    def _work(self, config: TrainConfig) -> None:
        try:
            try:
                self._client = RunClient(self._launch(config))
            except EngineError as error:
                self._ended.set()
                self._channel.put(RunFailed(str(error)))
                return
            follower = threading.Thread(target=self._follow, name="tui-mnist-remote-events")
            follower.daemon = True  # it only ever waits for the trainer's events
            follower.start()
            while (command := self._next_command()) is not None:
                try:
                    command(self._client)
                except EngineError as error:
                    if not self._ended.is_set():
                        self._channel.put(CommandRefused(str(error)))
        finally:
            shutil.rmtree(self._scratch, ignore_errors=True)

    def _next_command(self) -> Command | None:
        """The next command, or None once the session is closed or the app's main thread has
        ended (then the interpreter is waiting for this thread: nothing more will come)."""
        while True:
            try:
                return self._commands.get(timeout=IDLE_CHECK)
            except queue.Empty:
                if not threading.main_thread().is_alive():
                    return None

    def _stop(self, client: RunClient) -> None:
        """Stop, keeping the weights the final test is run on: once the trainer has exited
        they exist nowhere else (checkpoints are written at the ends of epochs only)."""
        if not self._closed:  # (nobody will ask for the weights of an app that has gone)
            try:
                client.pause()  # the trainer stops before another batch: the last weights
                self._final_weights = client.save_model(self._scratch / "final.npz")
            except RunError:
                pass  # e.g. the run ended meanwhile: the stop below says what matters
        client.stop()

    def _follow(self) -> None:
        delivered = 0
        try:
            try:
                self._stream = self._client.events()
                if self._closed:  # closed while connecting: close() could not end the stream
                    self._stream.close()
                for event in self._stream:
                    if not self._deliver(event):
                        return
                    delivered += 1
            except RunError:
                # A short run may end between its trainer's first answer and our subscribing,
                # or while the trainer shuts down, before its last event reached us: the run's
                # folder has the rest (all of it, or its ending).
                events = events_on_disk(self._client.folder)
                if events is None or self._closed:
                    raise
                for event in events if not delivered else events[-1:]:
                    if not self._deliver(event):
                        return
        except EngineError as error:
            if not self._closed:
                self._channel.put(RunFailed(str(error)))
        finally:
            if self._stream is not None:
                self._stream.close()
            self._ended.set()

    def _deliver(self, event: Event) -> bool:
        """Pass an event on; False once the app's event loop is gone."""
        if isinstance(event, RunStarted):
            self._batches_per_epoch = event.batches_per_epoch
        return self._channel.put(event)

    # --- weights, in a worker of asyncio.to_thread ------------------------------------------

    def _write_weights(self, path: Path) -> Path:
        """The run's current weights as a model file at `path`; once the run has ended, the
        weights it ended with (see below)."""
        from tui_mnist.engine.model_io import load_model, save_model
        from tui_mnist.runs.export import export_model

        if not self._ended.is_set():
            try:
                return self._client.save_model(path)
            except RunError:  # refused by a live run, or the run has just ended
                if is_live(self._client.folder) or not self._ended.wait(ENDING_GRACE):
                    raise
        # Its final weights: kept by our own stop, or by the trainer when it stopped mid-epoch
        # (a stop given elsewhere), else those of its newest checkpoint (it ended there).
        final = self._final_weights or self._client.folder.final_model_file
        if final.exists():
            final = load_model(final)
            meta = final.meta
            save_model(path, final.network, final.normalizer, meta["config"], meta["results"])
        else:
            export_model(self._client.folder, path, None, lambda message: None)
        return path

    def _read_snapshot(self) -> Snapshot:
        from tui_mnist.engine.data import load_dataset
        from tui_mnist.engine.model_io import load_model

        model = load_model(self._write_weights(self._scratch / "snapshot.npz"))
        if self._test_set is None:
            self._test_set = load_dataset(self._config.data_dir, val=0)
        test = self._test_set
        results = model.meta.get("results", {})
        epoch = int(results.get("epochs_completed", 0))
        return Snapshot(
            network=model.network,
            normalizer=model.normalizer,
            images=test.x_test,
            labels=test.y_test,
            shape=test.shape,
            epoch=epoch,
            step=int(results.get("steps", epoch * self._batches_per_epoch)),
        )


def events_on_disk(folder: RunFolder) -> list[Event] | None:
    """What a subscriber would have been sent of a run that has ended: the history of its
    newest checkpoint and its final record (or its error). None while the run has not ended."""
    from tui_mnist.runs.resume import newest_readable

    status = folder.read_status()
    state = derived_state(folder, status)
    if state == "failed":
        return [RunFailed(status.get("error") or f"run {folder.id} failed")]
    finals = [record for record in folder.read_metrics() if record.get("final")]
    if state not in FINAL_STATES or not finals:
        return None
    events: list[Event] = []
    checkpoint, history = newest_readable(folder, None, lambda message: None)
    if checkpoint is not None:
        network, meta = checkpoint.network, checkpoint.meta  # counters at an epoch's end
        events.append(
            RunStarted(
                architecture=network.architecture,
                parameters=network.n_parameters,
                epochs=folder.train_config().epochs,
                batches_per_epoch=meta["step"] // meta["epoch"],
                train_samples=meta["samples"] // meta["epoch"],
            )
        )
        events += history.replay()
    final = {name: value for name, value in finals[-1].items() if name != "final"}
    return [*events, RunFinished(**final)]
