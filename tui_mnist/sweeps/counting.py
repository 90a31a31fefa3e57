"""Which trials count toward a sweep's number (the runner's stop rule, and what the app shows
as ended): those that ended, finished, pruned or failed, and were neither interrupted nor
queued again. Plain Optuna records only: no Dask here, so the app can import it."""

from __future__ import annotations

from collections.abc import Sequence

from optuna.trial import FrozenTrial


def replaced(trials: Sequence[FrozenTrial]) -> set[int]:
    """The trials queued again (an interrupted trial's settings, as a new trial whose "again"
    attribute names it)."""
    return {trial.user_attrs["again"] for trial in trials if "again" in trial.user_attrs}


def interrupted(trial: FrozenTrial, again: set[int]) -> bool:
    """Stopped under the sweep, or left running by a killed one (`again`: see replaced)."""
    return bool(trial.user_attrs.get("interrupted")) or trial.number in again


def counts(trial: FrozenTrial, again: set[int]) -> bool:
    return trial.state.is_finished() and not interrupted(trial, again)
