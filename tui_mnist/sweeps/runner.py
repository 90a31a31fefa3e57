"""Running a sweep: its trials as Dask tasks, a few at a time, until the sweep has its number
of ended trials, its budget is spent, or it is stopped; then the best trial's test accuracy.

The cluster is a `LocalCluster` of one single-threaded worker process per core by default,
bound to loopback, dashboard included (Dask has no authentication and its scheduler unpickles
what it receives); `--scheduler` sends the trials to an existing cluster instead. The runner
keeps one trial more than worker threads in flight, so that no worker waits for its next trial;
a trial samples its settings when it starts, and one that starts after a stop does nothing.

Ended trials count toward the sweep (COMPLETE, PRUNED, FAIL); an interrupted one (the sweep
was stopped under it, or its sweep process died) does not: a resumed sweep queues its settings
again (Optuna's enqueue_trial). A trial that stays RUNNING without a sign of life for
trial.LOST_AFTER seconds lost its worker (Dask reruns the task as a new trial; the old one
would stay RUNNING for ever): it is marked failed.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import distributed
from optuna.trial import FrozenTrial, TrialState
from optuna_integration import DaskStorage

from tui_mnist.engine.threads import usable_cores
from tui_mnist.runs import RunError
from tui_mnist.sweeps.counting import counts, replaced
from tui_mnist.sweeps.folder import SweepFolder, SweepSpec
from tui_mnist.sweeps.study import TrialWorkers, keep_journal, open_study, storage_name
from tui_mnist.sweeps.trial import LOST_AFTER, run_trial, stop_event_name, test_accuracy

CONNECT_TIMEOUT = 8.0  # seconds: with the start-up, an unreachable scheduler is named within 10
POLL = 0.5  # seconds between looks at the trials in flight
NO_WORKERS_AFTER = 60.0  # seconds a cluster may go without a worker before the sweep stops
BEST_SHOWN = 5


def reachable(address: str) -> None:
    """A TCP scheduler that refuses the connection says so at once (Dask would retry until its
    timeout); OSError otherwise. Other protocols are left to Dask."""
    scheme, _, rest = address.rpartition("://")
    if scheme in ("", "tcp") and ":" in rest:
        host, _, port = rest.rpartition(":")
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[distributed.Client]:
    """A client of the scheduler at `scheduler`, or of a local cluster of `workers` processes
    (default: one per usable core), each with one thread (and one BLAS thread)."""
    if scheduler:
        try:
            reachable(scheduler)
            client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError, ValueError) as error:
            raise RunError(f"scheduler {scheduler}: cannot connect ({error})") from None
        with contextlib.closing(client):
            yield client
        return
    cluster = distributed.LocalCluster(
        n_workers=workers or usable_cores(), threads_per_worker=1, processes=True,
        host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
    )
    with contextlib.closing(cluster), contextlib.closing(distributed.Client(cluster)) as client:
        yield client


def settings_text(trial: FrozenTrial) -> str:
    return "  ".join(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}"
                     for name, value in trial.params.items())


def trial_line(trial: FrozenTrial) -> str:
    """One line per ended trial: number, settings, best validation accuracy, epochs, how it ended."""
    settings = settings_text(trial)
    epochs = len(trial.intermediate_values)
    values = list(trial.intermediate_values.values())
    best = f"best val {100 * max(values):.2f}%" if values else "no validation"
    if trial.state == TrialState.COMPLETE:
        how = "finished"
    elif trial.state == TrialState.PRUNED:
        how = "pruned"
    elif trial.user_attrs.get("interrupted"):
        how = "interrupted (queued again on resume)"
    else:
        # Every failure a trial sees is recorded with it; only a lost worker leaves none.
        how = f"failed: {trial.user_attrs.get('error', 'its worker was lost')}"
    return f"trial {trial.number:>3}  {settings}  {best}  {epochs} epoch{'s' * (epochs != 1)}  {how}"


def best_table(trials: list[FrozenTrial]) -> list[str]:
    finished = sorted((t for t in trials if t.state == TrialState.COMPLETE), key=lambda t: -t.value)
    lines = [f"best {min(BEST_SHOWN, len(finished))} of {len(finished)} finished trials:"]
    for rank, trial in enumerate(finished[:BEST_SHOWN], 1):
        lines.append(f"  {rank}. trial {trial.number:>3}  val {100 * trial.value:.2f}%  "
                     f"run {trial.user_attrs.get('run', '?')}  {settings_text(trial)}")
    return lines


def lost(running: list[FrozenTrial], now: float) -> list[FrozenTrial]:
    """The running trials whose worker died: no "alive" stamp (trial.Watcher) for LOST_AFTER
    seconds, or none since they started that long ago."""
    def last_sign(trial: FrozenTrial) -> float:
        started = trial.datetime_start.timestamp() if trial.datetime_start else now
        return trial.user_attrs.get("alive", started)

    return [trial for trial in running if now - last_sign(trial) > LOST_AFTER]


@dataclass
class Outcome:
    trials: list[FrozenTrial]  # every trial in the sweep's storage
    ended: int  # trials that count
    stopped: str | None  # why the sweep was stopped (ctrl+c, a signal, the budget), if it was
    best: FrozenTrial | None
    test_acc: float | None  # the best trial's, measured by its run when it ended


class SweepRun:
    """One process's turn at a sweep (a new one, or a resumed one)."""

    def __init__(self, spec: SweepSpec, folder: SweepFolder, client: distributed.Client,
                 say: Callable[[str], None]):
        self.spec, self.folder, self.client, self.say = spec, folder, client, say
        client.register_plugin(TrialWorkers(), name="tui-mnist-trial-workers")
        # The journal is opened by the scheduler, where its disk is (keep_journal).
        self.journal = client.run_on_scheduler(keep_journal, wanted=str(folder.journal_file), sweep_id=spec.id)
        self.storage = DaskStorage(name=storage_name(spec.id), client=client, register=False)
        self.study = open_study(spec, self.storage)
        self.stop_event = distributed.Event(stop_event_name(spec.id), client=client)
        self.stop_event.clear()  # a resumed sweep: the stop of its earlier turn is over
        self.stopping: str | None = None  # why, once stopping
        self.stop_requested: str | None = None  # why, set by a signal handler: acted on in the loop
        self.in_flight: dict[distributed.Future, int] = {}  # trial task: its index
        # Each trial's sampler is seeded with its index: counted on from the trials so far.
        self.next_index = len(self.study.get_trials(deepcopy=False))

    def recover(self) -> None:
        """Trials an earlier turn left RUNNING (its process died) end as failed; they and the
        interrupted ones not queued again yet are queued again (and no longer count)."""
        trials = self.study.get_trials(deepcopy=False)
        again = replaced(trials)
        for trial in trials:
            if trial.state == TrialState.RUNNING:
                self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
                self.say(f"trial {trial.number:>3}  was running when the sweep stopped: queued again")
            elif not (trial.state == TrialState.FAIL and trial.user_attrs.get("interrupted")):
                continue
            if trial.number not in again:
                self.study.enqueue_trial(trial.params, user_attrs={"again": trial.number})

    def ended(self) -> int:
        trials = self.study.get_trials(deepcopy=False)
        again = replaced(trials)
        return sum(counts(trial, again) for trial in trials)

    def stop(self, why: str) -> None:
        if not self.stopping:
            self.stopping = why
            self.stop_event.set()
            self.say(f"stopping ({why}): running trials stop at their next batch")

    def fill(self) -> None:
        """Submit trials while a worker thread is free and more are wanted."""
        # One task more than worker threads: a worker that ends a trial finds the next one
        # queued (without it, it idled until the next look: 1.57x on 2 workers, 1.78x with).
        # The trial samples its settings when it starts, knowing every trial ended by then.
        slots = max(1, sum(self.client.nthreads().values())) + 1
        while (not self.stopping and len(self.in_flight) < slots
               and self.ended() + len(self.in_flight) < self.spec.trials):
            future = self.client.submit(run_trial, self.spec, self.next_index, self.storage,
                                        self.stop_event, pure=False)
            self.in_flight[future] = self.next_index
            self.next_index += 1

    def mark_lost(self) -> None:
        for trial in lost(self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)), time.time()):
            self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            self.say(f"trial {trial.number:>3}  lost its worker (silent for {LOST_AFTER:.0f} s): failed")

    def collect(self, timeout: float) -> None:
        done, _ = distributed.wait(list(self.in_flight), timeout=timeout, return_when="FIRST_COMPLETED")
        for future in done:
            index = self.in_flight.pop(future)
            try:
                number = future.result()
            except Exception as error:  # the task itself died (a worker lost, an unpicklable)
                self.say(f"trial task {index} failed: {type(error).__name__}: {error}")
                continue
            if number is not None:  # None: queued when the sweep stopped, so never begun
                self.say(trial_line(self.study.get_trials(deepcopy=False)[number]))

    def run(self) -> Outcome:
        self.recover()
        started = time.monotonic()
        budget = self.spec.budget
        workers_seen = time.monotonic()
        while True:
            if self.stop_requested:
                self.stop(self.stop_requested)
            if budget is not None and time.monotonic() - started > budget:
                self.stop(f"the budget of {budget:g} s is spent")
            if self.client.nthreads():
                workers_seen = time.monotonic()
            elif time.monotonic() - workers_seen > NO_WORKERS_AFTER:
                # Tasks would wait for a worker for ever: they are dropped, and their trials,
                # if begun, are failed as lost workers' are.
                self.stop(f"no worker left for {NO_WORKERS_AFTER:.0f} s")
                self.client.cancel(list(self.in_flight))
                self.in_flight.clear()
                for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
                    self.study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
            self.fill()
            if not self.in_flight:
                break
            with contextlib.suppress(distributed.TimeoutError, TimeoutError):
                self.collect(POLL)
            self.mark_lost()
        trials = self.study.get_trials(deepcopy=False)
        finished = [t for t in trials if t.state == TrialState.COMPLETE]
        best = max(finished, key=lambda t: t.value) if finished else None
        test_acc = None
        if best is not None and "run" in best.user_attrs and self.client.nthreads():
            test_acc = self.client.submit(test_accuracy, self.spec.runs_dir, best.user_attrs["run"],
                                          pure=False).result()
        return Outcome(trials, self.ended(), self.stopping, best, test_acc)
