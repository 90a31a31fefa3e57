"""The runner's rules on their own: which running trials lost their worker, and which trials
count toward a sweep's number."""

from __future__ import annotations

import datetime

from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from tui_mnist.sweeps.counting import counts, replaced
from tui_mnist.sweeps.runner import lost
from tui_mnist.sweeps.trial import LOST_AFTER

NOW = 1_000_000.0


def running(number: int, alive: float | None, started: float = NOW - 3600):
    trial = create_trial(
        state=TrialState.RUNNING, params={"lr": 0.1}, distributions={"lr": FloatDistribution(0.01, 1)},
        user_attrs={} if alive is None else {"alive": alive},
    )
    trial.number = number
    trial.datetime_start = datetime.datetime.fromtimestamp(started)
    return trial


def test_a_running_trial_silent_for_longer_than_lost_after_lost_its_worker():
    trials = [running(0, NOW - 2), running(1, NOW - LOST_AFTER - 1), running(2, None),
              running(3, None, started=NOW - 1)]
    assert [trial.number for trial in lost(trials, NOW)] == [1, 2]


def ended(number: int, state: TrialState, **user_attrs):
    value = 0.9 if state == TrialState.COMPLETE else None
    trial = create_trial(state=state, value=value, params={"lr": 0.1},
                         distributions={"lr": FloatDistribution(0.01, 1)}, user_attrs=user_attrs)
    trial.number = number
    return trial


def test_interrupted_and_replaced_trials_do_not_count():
    trials = [
        ended(0, TrialState.COMPLETE), ended(1, TrialState.PRUNED), ended(2, TrialState.FAIL, error="diverged"),
        ended(3, TrialState.FAIL, interrupted=True), ended(4, TrialState.FAIL),  # left running by a killed sweep
        ended(5, TrialState.COMPLETE, again=4),
    ]
    again = replaced(trials)
    assert again == {4}
    assert [trial.number for trial in trials if counts(trial, again)] == [0, 1, 2, 5]
