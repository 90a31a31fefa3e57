"""A sweep as the app shows it, read from its folder: what was asked (sweep.json), its state
(state.json) and every trial in its Optuna journal, as plain frozen records (`TrialRow`),
plus Optuna's parameter importances once two trials have finished.

Read-only: the journal is opened only when it exists (Optuna's file backend would create it),
and is never written. A journal being written by the sweep at the same moment is fine: Optuna's
reader stops at an incomplete last line. No Textual here (the app reads this on a worker).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from tui_mnist.runs import RunError
from tui_mnist.runs.ledger import this_host
from tui_mnist.sweeps.counting import interrupted, replaced
from tui_mnist.sweeps.folder import STUDY, SweepFolder, SweepSpec

# A sweep may be this far into its start with no journal yet (the cluster starting).
JOURNAL_NOT_YET = ("starting", "running")
LOST = "its worker was lost"  # a failed trial with no reason recorded (see runner.trial_line)
TRIAL_STATES = ("running", "finished", "pruned", "failed", "interrupted", "waiting")
CONNECT_TIMEOUT = 5.0  # seconds to reach a remote sweep's scheduler
CLIENTS: dict = {}  # scheduler address -> its distributed.Client, kept between readings
# Importances need this many finished trials (Optuna's evaluators need two at least).
IMPORTANCE_AFTER = 2

# Read inside a full-screen app: Optuna's log lines and this warning of its importance
# evaluator (few trials alike, every re-read) would be written over the screen. Errors still
# reach the app as exceptions.
optuna.logging.set_verbosity(optuna.logging.ERROR)
warnings.filterwarnings("ignore", message="Target and region quantiles select the same set",
                        category=UserWarning)


@dataclass(frozen=True)
class TrialRow:
    """One trial: how it stands, its best validation accuracy so far, its per-epoch values."""

    number: int
    state: str  # one of TRIAL_STATES
    value: float | None  # best validation accuracy (0..1): the result, or the best epoch so far
    epochs: dict[int, float]  # epoch -> validation accuracy, as reported to Optuna
    params: dict[str, object]  # setting -> value (a choice as its shown text, "512,256")
    run: str | None  # its run folder's id in the runs directory (None: not made yet)
    error: str | None  # why it failed

    @property
    def ended(self) -> bool:
        """Whether it counts toward the sweep's number of trials (counting.counts): it ended,
        and was not interrupted (a resumed sweep runs those again)."""
        return self.state in ("finished", "pruned", "failed")


@dataclass(frozen=True)
class SweepSnapshot:
    folder: SweepFolder
    spec: SweepSpec
    state: str  # state.json's, or "stale" for a running sweep whose process here is gone
    status: dict  # state.json as read: pid, hostname, ...
    trials: tuple[TrialRow, ...]  # by number
    importances: dict[str, float] = field(default_factory=dict)  # setting -> share, largest first

    @property
    def id(self) -> str:
        return self.folder.id

    @property
    def ended(self) -> int:
        return sum(trial.ended for trial in self.trials)

    @property
    def best(self) -> TrialRow | None:
        """The finished trial with the best value."""
        finished = [t for t in self.trials if t.state == "finished" and t.value is not None]
        return max(finished, key=lambda t: t.value, default=None)

    @classmethod
    def read(cls, folder: SweepFolder) -> SweepSnapshot:
        """Reads sweep.json, state.json and journal.log; RunError naming the file that cannot
        be read."""
        spec = folder.read_spec()
        status = folder.read_state()
        study = read_study(folder, status.get("state"))
        if study is None:
            trials: list[FrozenTrial] = []
        else:
            try:
                trials = study.get_trials(deepcopy=False)
            except Exception as error:  # a journal that replays into nonsense
                raise RunError(f"{folder.journal_file}: cannot be read ({type(error).__name__}: {error})") from None
        again = replaced(trials)
        rows = tuple(trial_row(trial, again) for trial in sorted(trials, key=lambda t: t.number))
        finished = sum(row.state == "finished" for row in rows)
        return cls(
            folder=folder, spec=spec, state=derived_state(folder, status), status=status, trials=rows,
            importances=importances(study) if study is not None and finished >= IMPORTANCE_AFTER else {},
        )


def read_study(folder: SweepFolder, state: str | None) -> optuna.Study | None:
    """The sweep's study from its journal; None when there is none yet (a sweep starting, or a
    journal with no study in it yet). A journal missing from a sweep past its start, or one
    that cannot be read, is a RunError naming it."""
    path = folder.journal_file
    if not path.exists() and folder.read_state().get("scheduler"):
        return remote_study(folder.read_state()["scheduler"], folder.id)
    if not path.exists():
        if state is None or state in JOURNAL_NOT_YET:
            return None
        raise RunError(f"{path}: missing (the sweep is {state})")
    if not os.access(path, os.R_OK):
        raise RunError(f"{path}: cannot be read (permission denied)")
    try:
        storage = JournalStorage(JournalFileBackend(str(path)))
        names = [study.study_name for study in storage.get_all_studies()]
        if STUDY not in names:
            return None
        return optuna.load_study(study_name=STUDY, storage=storage)
    except (OSError, ValueError, KeyError, TypeError) as error:  # JSONDecodeError is a ValueError
        raise RunError(f"{path}: cannot be read ({type(error).__name__}: {error})") from None


def remote_study(scheduler: str, sweep_id: str) -> optuna.Study | None:
    """The sweep's study as its cluster's scheduler keeps it (a sweep whose journal is on the
    scheduler's host: no shared disk needed to watch it); RunError when it cannot be reached.
    Dask is imported here only, and one client per scheduler is kept for the next reading."""
    import distributed
    from optuna_integration import DaskStorage

    from tui_mnist.sweeps.study import storage_name

    client = CLIENTS.get(scheduler)
    if client is None or client.status != "running":
        try:
            client = CLIENTS[scheduler] = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT,
                                                             set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise RunError(f"scheduler {scheduler}: cannot be reached to read sweep {sweep_id} ({error})") from None
    storage = DaskStorage(name=storage_name(sweep_id), client=client, register=False)
    try:
        if STUDY not in [study.study_name for study in storage.get_all_studies()]:
            return None
        return optuna.load_study(study_name=STUDY, storage=storage)
    except KeyError:  # the scheduler was restarted: it keeps the sweep no more
        raise RunError(f"scheduler {scheduler}: no longer holds sweep {sweep_id}") from None


def trial_row(trial: FrozenTrial, again: set[int]) -> TrialRow:
    """`again`: the trials queued again (counting.replaced)."""
    attrs = trial.user_attrs
    state = {
        TrialState.RUNNING: "running", TrialState.COMPLETE: "finished",
        TrialState.PRUNED: "pruned", TrialState.WAITING: "waiting",
    }.get(trial.state, "failed")
    error = attrs.get("error")
    if state == "failed" and interrupted(trial, again):
        state = "interrupted"
    elif state == "failed" and not error:
        error = LOST
    epochs = {int(step): float(value) for step, value in sorted(trial.intermediate_values.items())}
    if trial.state == TrialState.COMPLETE and trial.value is not None:
        value = float(trial.value)
    else:
        value = max(epochs.values(), default=None)
    run = attrs.get("run")
    return TrialRow(
        number=trial.number, state=state, value=value, epochs=epochs, params=dict(trial.params),
        run=str(run) if run else None, error=str(error) if error else None,
    )


def derived_state(folder: SweepFolder, status: dict) -> str:
    """state.json's state, believed for a running sweep only while its process exists (when it
    ran on this host): a sweep killed with -9 never wrote that it stopped."""
    state = str(status.get("state") or "starting")
    if state == "running" and status.get("hostname") == this_host() and not folder.process_alive():
        return "stale"
    return state


def importances(study: optuna.Study) -> dict[str, float]:
    """Optuna's parameter importances (its default evaluator, PED-ANOVA: no randomness),
    largest first; {} when they cannot be worked out (a nicety: one setting's values all
    alike, too few trials of a kind...)."""
    try:
        found = optuna.importance.get_param_importances(study)
    except Exception:  # any failure of the evaluator costs the line, not the screen
        return {}
    # Largest first; ties (settings that moved together) by name: Optuna's order for them varies.
    ranked = sorted(found.items(), key=lambda item: (-round(float(item[1]), 9), item[0]))
    return {name: float(share) for name, share in ranked}
