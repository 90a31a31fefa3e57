"""RunHost: one run's Trainer, driven for its run folder.

It pulls records through the app session's `Driver` (tui_mnist.live.driver: pause, step and stop
between batches; a paused trainer sleeps on an event), and for every epoch writes a checkpoint,
appends the metrics record (fsynced) and updates status.json. A `ControlServer` on the folder's control.sock lets
clients of the same user send commands and follow the run (see runs.protocol).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

from tui_mnist.engine.checkpoint import save_checkpoint
from tui_mnist.engine.errors import EngineError
from tui_mnist.engine.files import describe
from tui_mnist.engine.model_io import save_model
from tui_mnist.engine.progress import EpochProgress, RunFinished
from tui_mnist.engine.threads import threads_for_run
from tui_mnist.engine.training import Trainer
from tui_mnist.live.driver import Controls, Driver, copy_network
from tui_mnist.live.events import (
    Batches,
    Event,
    LearningRateScaled,
    RunFailed,
    RunStarted,
    StateChanged,
    final_state,
)
from tui_mnist.runs import RunError
from tui_mnist.runs.history import RunHistory, batch_sample
from tui_mnist.runs.protocol import encode_event
from tui_mnist.runs.server import ControlServer
from tui_mnist.runs.store import RunFolder

REPLY_TIMEOUT = 30.0  # seconds a command waits for the trainer to reach a batch boundary
STEP_UNITS = ("batch", "epoch")


class RunHost:
    def __init__(
        self,
        folder: RunFolder,
        trainer: Trainer,
        history: RunHistory,
        keep_checkpoints: int,
        status: dict,
        observe: Callable[[Event], None] | None = None,
    ):
        """`status` holds the fields every status.json write carries (pid, host, start time);
        `observe` sees every event in the training thread (the CLI prints from it)."""
        self.folder = folder
        self.trainer = trainer
        self.history = history
        self.keep_checkpoints = keep_checkpoints
        self.status_fields = status
        self.observe = observe or (lambda event: None)
        self.controls = Controls()
        self.state = "running"
        self.final: RunFinished | RunFailed | None = None
        self.started = RunStarted.of(trainer)
        self.server = ControlServer(folder.socket_file, self.handle, self.snapshot)

    # --- the training thread --------------------------------------------------------------

    def run(self) -> RunFinished:
        """Train to the end (or a stop); a failure is recorded, published and re-raised."""
        try:
            self.server.start()
            self._record_inherited_scale()
            self._write_status()
            tuner = threads_for_run(self.trainer.config.threads)
            Driver(self.trainer, self.controls, self._emit, tuner=tuner).run()
        except BaseException as error:
            self._record_failure(error)
            raise
        finally:
            self.controls.close(self.trainer)
            self.server.close()
        return self.final

    def _record_inherited_scale(self) -> None:
        """A run resumed from a checkpoint whose learning rate was scaled (another run's, or
        its own before later changes were lost with the epoch) trains at a scale its folder
        does not say yet: recorded as a change like the others, so that compare shows it."""
        trainer = self.trainer
        recorded = [c for c in self.folder.read_changes() if c.get("what") == "lr"]
        scale = recorded[-1].get("scale", 1.0) if recorded else 1.0  # checked: above 0
        if not math.isclose(trainer.lr_scale, scale):
            self.folder.add_change({
                "what": "lr", "factor": trainer.lr_scale / scale, "scale": trainer.lr_scale,
                "epoch": min(trainer.epoch + 1, trainer.config.epochs), "step": trainer.step,
                "from": "checkpoint",
            })

    def _emit(self, event: Event) -> None:
        if type(event) is Batches:
            sample = batch_sample(event.records)
            self.server.publish(
                encode_event(Batches((sample,))), lambda: self.history.add_batch(sample)
            )
        elif type(event) is EpochProgress:
            self.server.publish(encode_event(event), lambda: self.history.add_epoch(event))
            self._save_epoch(event)
        else:
            if type(event) is StateChanged:
                self.state = event.state
            elif type(event) is RunFinished:
                self.final = event
                self.state = final_state(event)
                self._save_final_model(event)
                self.folder.append_metrics(event.to_json())
            self.server.publish(encode_event(event))
            self._write_status()
        self.observe(event)

    def _save_epoch(self, record: EpochProgress) -> None:
        """Checkpoint first: metrics.jsonl is rebuilt from the checkpoint on resume, so a crash
        between the two writes loses nothing."""
        if self.trainer.epoch_record is not None:  # first: a resume starts after the checkpoint
            self.folder.save_record(self.trainer.epoch_record)
        checkpoint = self.folder.checkpoint_file(record.epoch)
        save_checkpoint(checkpoint, self.trainer, extra={"history": self.history.to_json()})
        self.folder.prune_checkpoints(self.keep_checkpoints)
        self.folder.append_metrics(record.to_json())
        self._write_status()

    def _save_final_model(self, record: RunFinished) -> None:
        """A run stopped mid-epoch ended with weights no checkpoint holds: keep them as a model
        file (final.npz), which saving the ended run writes out. A run that ended at an epoch's
        end has them in its newest checkpoint: a final.npz of an earlier stop goes."""
        path = self.folder.final_model_file
        if not record.batches_into_epoch:
            path.unlink(missing_ok=True)
            return
        trainer = self.trainer
        results = {"run": self.folder.id, **record.to_json()}
        del results["final"]
        try:
            save_model(path, trainer.network, trainer.data.normalizer, trainer.config.to_dict(), results)
        except EngineError:  # (a full disk) the run still ends as stopped; saving it then
            path.unlink(missing_ok=True)  # falls back on its newest checkpoint

    def _record_failure(self, error: BaseException) -> None:
        if isinstance(error, KeyboardInterrupt):
            self.state = "stopped"
        else:
            self.state = "failed"
            if isinstance(error, EngineError):
                message = str(error)
            elif isinstance(error, OSError):  # a file that could not be written, named
                message = describe(error)
            else:
                message = f"unexpected error: {type(error).__name__}: {error}"
            self.final = RunFailed(message)
            self.server.publish(encode_event(self.final))
        self._write_status()

    def _write_status(self) -> None:
        trainer = self.trainer
        finished = self.final if isinstance(self.final, RunFinished) else None
        self.folder.write_status(
            {
                **self.status_fields,
                "state": self.state,
                "epoch": trainer.epoch,
                "epochs": trainer.config.epochs,
                "step": trainer.step,
                "best_val_acc": self.history.best_val_acc,
                "test_acc": finished.test_acc if finished else None,
                "error": self.final.message if isinstance(self.final, RunFailed) else None,
            }
        )

    # --- the control socket's threads ------------------------------------------------------

    def snapshot(self) -> list[dict]:
        """What a new subscriber sees first: the run's shape, its history, its state."""
        trainer = self.trainer
        events: list[Event] = [self.started, *self.history.replay()]
        if self.final is not None:
            events.append(self.final)
        else:
            events.append(StateChanged(self.state))
            if trainer.lr_scale != 1.0:
                events.append(LearningRateScaled(trainer.lr_scale, trainer.lr))
        return [encode_event(event) for event in events]

    def handle(self, request: dict) -> dict:
        command = request.get("cmd")
        if command == "status":
            return {"ok": True, "status": self.live_status()}
        if command == "scale_lr":
            return {"ok": True, **self.scale_lr(request.get("factor"))}
        if command == "save_model":
            return {"ok": True, "path": str(self.save_model(request.get("path")))}
        simple = {"pause": self.pause, "resume": self.resume, "stop": self.stop}
        if command == "step":
            self.step(request.get("unit", "batch"))
        elif command in simple:
            simple[command]()
        else:
            raise RunError(f"unknown command {command!r}")
        return {"ok": True}

    def live_status(self) -> dict:
        trainer = self.trainer
        return {
            "id": self.folder.id,
            "state": self.state,
            "epoch": trainer.epoch,
            "epochs": trainer.config.epochs,
            "step": trainer.step,
            "batches_per_epoch": trainer.batches_per_epoch,
            "lr": trainer.lr,
            "lr_scale": trainer.lr_scale,
            "best_val_acc": self.history.best_val_acc,
            "pid": self.status_fields.get("pid"),
        }

    def pause(self) -> None:
        self.controls.pause()

    def resume(self) -> None:
        self.controls.resume()

    def step(self, unit: str = "batch") -> None:
        if unit not in STEP_UNITS:
            raise RunError(f"step unit must be batch or epoch, not {unit!r}")
        if not self.controls.step(unit):  # while paused, or stepping: every step counts
            raise RunError("step works only while the run is paused")

    def stop(self) -> None:
        self.controls.stop(self.trainer)

    def scale_lr(self, factor) -> dict:
        """Multiply the learning rate by `factor` from the next batch on."""
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not (
            math.isfinite(factor) and factor > 0
        ):
            raise RunError(f"learning-rate factor must be a positive number, not {factor!r}")

        def apply(trainer: Trainer) -> dict:
            trainer.lr_scale *= factor
            # The command line does not hold this: the run's folder must (compare shows it).
            self.folder.add_change({
                "what": "lr", "factor": factor, "scale": trainer.lr_scale,
                "epoch": min(trainer.epoch + 1, trainer.config.epochs), "step": trainer.step,
            })
            self.server.publish(encode_event(LearningRateScaled(trainer.lr_scale, trainer.lr)))
            return {"lr_scale": trainer.lr_scale, "lr": trainer.lr}

        return self._between_batches(apply)

    def save_model(self, path) -> Path:
        """Write the live weights as a model file (for the inspector of an attached app)."""
        if not isinstance(path, str) or not Path(path).is_absolute():
            raise RunError("save_model needs an absolute path")
        trainer = self.trainer
        network, epoch, step = self._between_batches(
            lambda t: (copy_network(t.network), t.epoch, t.step)
        )
        results = {"epochs_completed": epoch, "steps": step}
        save_model(path, network, trainer.data.normalizer, trainer.config.to_dict(), results)
        return Path(path)

    def _between_batches(self, request: Callable[[Trainer], object]):
        """Run `request(trainer)` in the training thread at the next batch boundary."""
        try:
            return self.controls.submit(request, self.trainer).result(REPLY_TIMEOUT)
        except FutureTimeout:
            raise RunError(f"the trainer did not answer within {REPLY_TIMEOUT:.0f} s") from None
