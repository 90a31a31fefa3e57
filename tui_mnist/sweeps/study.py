"""Optuna's side of a sweep: the study in the sweep's journal, its sampler and its pruner.

The storage is Optuna's journal file (`JournalStorage` over `JournalFileBackend`), which the
app can read while the sweep runs. On Dask it is wrapped in `optuna_integration.DaskStorage`,
which keeps the journal in the scheduler's process and lets the workers reach it over Dask's
own connections, so no worker needs the sweep's disk.

Every trial gets a sampler of its own, seeded from the sweep's seed and the trial's index: a
sampler pickled to every worker with one random state would hand out the same settings again.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import warnings
from pathlib import Path

import numpy as np
import optuna
from distributed.diagnostics.plugin import WorkerPlugin
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from tui_mnist.sweeps.folder import STUDY, SweepSpec

# Successive halving: trials are compared after 1 epoch, then 3, 9, ...; a third goes on.
HALVING = {"min_resource": 1, "reduction_factor": 3}
# Median: a trial below the median of the others at the same epoch stops, once 3 trials have
# finished and from its second epoch on (the first epoch says little about the last).
MEDIAN = {"n_startup_trials": 3, "n_warmup_steps": 1}


def quiet() -> None:
    """Optuna's info lines and DaskStorage's experimental warning (on every unpickle) would
    drown the sweep's own lines; every other warning stays. Called on import, and on every
    worker through QuietWorkers (a worker unpickles a task's storage before its function runs)."""
    optuna.logging.set_verbosity(logging.ERROR)  # a failed trial: our own line says why
    warnings.filterwarnings("ignore", message="DaskStorage is experimental",
                            category=optuna.exceptions.ExperimentalWarning)


quiet()


class TrialWorkers(WorkerPlugin):
    """On every worker of the cluster, those that join later included: `quiet`, and deaf to
    SIGINT and SIGHUP. A local cluster's workers share the terminal's process group, so ctrl+c
    and the terminal's hangup reach them too: the sweep stops their trials itself, at their
    next batch, and a closed terminal does not stop a sweep."""

    def setup(self, worker) -> None:
        quiet()
        with contextlib.suppress(ValueError):  # not the worker's main thread: nothing to do
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)


def journal_storage(path: Path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(path)))


def storage_name(sweep_id: str) -> str:
    """The name the sweep's storage has on the scheduler: the app asks for it by this name."""
    return f"tui-mnist-{sweep_id}"


def keep_journal(dask_scheduler, wanted: str, sweep_id: str) -> str:
    """Runs in the scheduler's process (client.run_on_scheduler): keep the sweep's journal at
    `wanted` (the sweep folder's, where the scheduler shares this machine's disk), else in the
    scheduler's own data directory; registers it as the sweep's storage and returns its path."""
    from optuna_integration.dask.dask import _register_with_scheduler
    from platformdirs import user_data_dir

    path = Path(wanted)
    if not path.parent.is_dir():
        path = Path(user_data_dir("tui-mnist")) / "sweeps" / sweep_id / path.name
        path.parent.mkdir(parents=True, exist_ok=True)
    _register_with_scheduler(dask_scheduler, journal_storage(path), storage_name(sweep_id))
    return str(path)


def trial_seed(sweep_seed: int, index: int) -> int:
    """Trial `index`'s sampler seed, mixed (SeedSequence) from the sweep's: consecutive plain
    seeds start Mersenne Twister streams that can look alike (seeds 0 and 3 both first draw
    0.55), and trials drew near-twin settings."""
    return int(np.random.SeedSequence([sweep_seed, index]).generate_state(1)[0])


def make_sampler(spec: SweepSpec, index: int) -> optuna.samplers.BaseSampler:
    if spec.sampler == "grid":
        # One seed for all: the grid sampler finds a trial's point in its own shuffle of the
        # grid, which must be the same in every trial (or points repeat and others are missed).
        return optuna.samplers.GridSampler(spec.space.grid(), seed=spec.seed)
    seed = trial_seed(spec.seed, index)
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, constant_liar=True)


def make_pruner(spec: SweepSpec) -> optuna.pruners.BasePruner:
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(**MEDIAN)
    if spec.pruner == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(**HALVING)
    return optuna.pruners.NopPruner()


def open_study(spec: SweepSpec, storage) -> optuna.Study:
    """The sweep's study in `storage`, created on first use (by the sweep, never by a trial).
    Looked for first: creating one that exists fails on the scheduler, which logs it loudly."""
    quiet()
    if STUDY in optuna.get_all_study_names(storage):
        return trial_study(spec, storage, 0)
    return optuna.create_study(study_name=STUDY, storage=storage, direction="maximize",
                               sampler=make_sampler(spec, 0), pruner=make_pruner(spec))


def trial_study(spec: SweepSpec, storage, index: int) -> optuna.Study:
    """The sweep's study as trial `index` sees it: with its own sampler."""
    quiet()
    return optuna.load_study(study_name=STUDY, storage=storage, sampler=make_sampler(spec, index),
                             pruner=make_pruner(spec))
