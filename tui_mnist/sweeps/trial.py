"""One trial of a sweep, as it runs on a Dask worker: settings sampled by Optuna, trained as a
normal run (a run folder with checkpoints, metrics and records, tagged with the sweep and the
trial), each epoch's validation accuracy reported so the pruner can stop it early.

This module is imported by the workers (and the scheduler, which unpickles the tasks): it
must stay in the installed package. A trial ends in Optuna as
  COMPLETE  with its best validation accuracy;
  PRUNED    the pruner stopped it (after its last reported epoch);
  FAIL      it diverged, the memory guard refused it, or anything else went wrong (user
            attribute "error"); or the sweep was stopped under it (user attribute
            "interrupted", and a resumed sweep runs its settings again).
While it trains, a watcher thread stamps the trial's "alive" attribute every ALIVE_EVERY
seconds (the sweep marks a trial whose worker died, silent for LOST_AFTER, as failed) and
stops the run at its next batch when the sweep's stop event is set.
"""

from __future__ import annotations

import threading
import time

import optuna

from tui_mnist.engine.errors import EngineError
from tui_mnist.engine.progress import EpochProgress
from tui_mnist.runs import RunError
from tui_mnist.runs.execute import execute_run
from tui_mnist.runs.notes import write_note
from tui_mnist.runs.store import RunFolder, resolve_runs_dir
from tui_mnist.sweeps.folder import SweepSpec
from tui_mnist.sweeps.study import trial_study

# Each stamp and each look is a trip to the scheduler (a stamp also a journal write, fsynced):
# few enough to cost the trials nothing they feel.
ALIVE_EVERY = 5.0  # seconds between a running trial's "alive" stamps
LOST_AFTER = 30.0  # a running trial silent this long lost its worker
WATCH_EVERY = 1.0  # seconds between looks at the sweep's stop event


def stop_event_name(sweep_id: str) -> str:
    return f"{sweep_id}-stop"


class Watcher:
    """Stamps the trial as alive and stops the run when the sweep is stopped."""

    def __init__(self, trial: optuna.Trial, stop_event, host_ready: threading.Event):
        self.trial, self.stop_event = trial, stop_event
        self.host = None
        self.host_ready = host_ready
        self.interrupted = False
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True, name="tui-mnist-trial-watch")

    def watch(self) -> None:
        stamped = 0.0
        while not self.done.wait(WATCH_EVERY):
            now = time.time()
            if now - stamped >= ALIVE_EVERY:
                self.trial.set_user_attr("alive", now)
                stamped = now
            if not self.interrupted and self.stop_event is not None and self.stop_event.is_set():
                self.interrupted = True
                if self.host_ready.wait(timeout=0):
                    self.host.stop()


class TrialFailed(Exception):
    """Ends a trial as FAIL inside Optuna's optimize (the reason is already a user attribute)."""


def run_trial(spec: SweepSpec, index: int, storage, stop_event=None) -> int | None:
    """Sample, train and report trial `index` of the sweep; returns the trial's number, or
    None when the sweep was stopped before it began. `stop_event` (a distributed.Event, or
    None) stops the run at its next batch. The trial runs inside Optuna's optimize, as
    samplers expect (the grid sampler stops the study from there once its grid is done)."""
    if stop_event is not None and stop_event.is_set():
        return None
    study = trial_study(spec, storage, index)
    numbers: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        numbers.append(trial.number)
        return train_trial(spec, trial, stop_event)

    study.optimize(objective, n_trials=1, catch=(TrialFailed,))
    return numbers[0]


def train_trial(spec: SweepSpec, trial: optuna.Trial, stop_event) -> float:
    """The trial's best validation accuracy; TrialPruned, or TrialFailed with the reason in
    the trial's "error" (or "interrupted") attribute."""
    try:
        config = spec.space.config_for(spec.base, spec.space.sample(trial)).with_changes(threads=1)
        folder = RunFolder.create(
            resolve_runs_dir(spec.runs_dir), config, keep_checkpoints=spec.keep_checkpoints,
            sweep={"id": spec.id, "trial": trial.number},
        )
    except (EngineError, RunError) as error:
        raise failed(trial, str(error)) from None
    write_note(folder, f"#{spec.id} trial {trial.number}")
    trial.set_user_attr("run", folder.id)
    trial.set_user_attr("alive", time.time())

    host_ready = threading.Event()
    watcher = Watcher(trial, stop_event, host_ready)
    best: list[float] = []
    pruned = False

    def on_host(host) -> None:
        watcher.host = host
        host_ready.set()
        if watcher.interrupted:  # stopped while the data loaded
            host.stop()

    def observe(event) -> None:
        nonlocal pruned
        if type(event) is EpochProgress and event.val_acc is not None and not pruned:
            best.append(event.val_acc)
            trial.report(event.val_acc, event.epoch)
            if event.epoch < config.epochs and trial.should_prune():  # the last: nothing to save
                pruned = True
                watcher.host.stop()

    watcher.thread.start()
    try:
        execute_run(folder, observe, keep_checkpoints=spec.keep_checkpoints, on_host=on_host)
    except (EngineError, RunError) as error:
        raise failed(trial, str(error)) from None
    except Exception as error:  # a trial's bug must not end the sweep: recorded, named
        raise failed(trial, f"unexpected error: {type(error).__name__}: {error}") from None
    finally:
        watcher.done.set()
        watcher.thread.join()
    if watcher.interrupted and not pruned:
        trial.set_user_attr("interrupted", True)
        raise TrialFailed("interrupted")
    if pruned:
        raise optuna.TrialPruned()
    if not best:
        raise failed(trial, "no validation accuracy was measured")
    return max(best)


def failed(trial: optuna.Trial, reason: str) -> TrialFailed:
    trial.set_user_attr("error", reason)
    return TrialFailed(reason)


def test_accuracy(runs_dir: str, run_id: str) -> float | None:
    """The test accuracy a trial's run measured when it ended (its metrics' final record), read
    where its folder is: on a worker of the cluster."""
    folder = RunFolder(resolve_runs_dir(runs_dir) / run_id)
    final = [record for record in folder.read_metrics() if record.get("final")]
    return final[-1].get("test_acc") if final else None

