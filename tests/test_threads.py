"""Automatic BLAS threads: the tuner keeps the fastest count, drops a slow one quickly, and
times them again when the machine's load changes; a real run really switches BLAS."""

from __future__ import annotations

import os

import pytest
from threadpoolctl import threadpool_info

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.threads import (
    BEHIND_AFTER_SLICES,
    FAR_BEHIND_AFTER_BATCHES,
    RETIME_SECONDS,
    SETTLE_BATCHES,
    SLICE_SECONDS,
    TRIAL_ROUNDS,
    WATCH_SECONDS,
    ThreadTuner,
    limit_blas_threads,
    thread_candidates,
    threads_for_run,
)
from tui_mnist.engine.training import Trainer
from tui_mnist.live.driver import Controls, Driver

BATCH = 100


class Machine:
    """Batches whose time depends on the thread count in use, as `speeds` (samples/s) says;
    feeds a tuner the cumulative counters a trainer's batch records carry."""

    def __init__(self, speeds: dict[int, float], first_batch_slower: float = 1):
        self.speeds = speeds
        self.first_batch_slower = first_batch_slower
        self.threads_per_batch: list[int] = []
        self.tuner = ThreadTuner(sorted(speeds), self.set_threads)
        self.samples, self.seconds = 0, 0.0

    def set_threads(self, threads: int) -> None:
        self.current = threads

    def run(self, batches: int) -> None:
        for _ in range(batches):
            switched = self.threads_per_batch[-1:] != [self.current]
            self.threads_per_batch.append(self.current)
            self.samples += BATCH
            self.seconds += BATCH / self.speeds[self.current] * (self.first_batch_slower if switched else 1)
            self.tuner.observe(self.samples, self.seconds)

    def batches_until_chosen(self) -> int:
        count = 0
        while self.tuner.chosen is None:
            self.run(1)
            count += 1
        return count


@pytest.mark.parametrize("fastest", [1, 2, 4])
def test_the_fastest_count_is_kept(fastest):
    machine = Machine({n: 10_000 * (3 if n == fastest else 2) for n in (1, 2, 4)})
    machine.batches_until_chosen()
    assert machine.tuner.chosen == fastest
    machine.run(50)
    assert machine.threads_per_batch[-50:] == [fastest] * 50


def test_close_counts_are_timed_in_interleaved_slices():
    machine = Machine({1: 10_000, 2: 11_000})
    machine.batches_until_chosen()
    for threads, speed in machine.speeds.items():
        batches = machine.threads_per_batch.count(threads)
        assert batches * BATCH / speed >= TRIAL_ROUNDS * SLICE_SECONDS
    in_turn = [n for i, n in enumerate(machine.threads_per_batch) if machine.threads_per_batch[i - 1 : i] != [n]]
    assert in_turn == [1, 2] * TRIAL_ROUNDS
    assert machine.tuner.rates == pytest.approx(machine.speeds)
    assert machine.tuner.chosen == 2


def test_a_clearly_slower_count_is_out_after_two_slices():
    # The idle-machine case: one thread runs at 0.7-0.8 of two.
    machine = Machine({1: 7_500, 2: 10_000})
    machine.batches_until_chosen()
    assert machine.tuner.chosen == 2
    assert machine.threads_per_batch.count(1) * BATCH / 7_500 < (BEHIND_AFTER_SLICES + 1) * SLICE_SECONDS


def test_a_much_slower_count_is_dropped_after_a_couple_of_batches():
    # The busy-machine case: a second BLAS thread whose core is taken runs 20x slower.
    machine = Machine({1: 20_000, 2: 1_000})
    machine.batches_until_chosen()
    assert machine.tuner.chosen == 1
    assert machine.threads_per_batch.count(2) == SETTLE_BATCHES + FAR_BEHIND_AFTER_BATCHES


def test_a_slow_first_batch_after_a_switch_does_not_drop_the_faster_count():
    # Parked BLAS threads take a while to wake: the first batch on two threads is slow.
    machine = Machine({1: 10_000, 2: 14_000}, first_batch_slower=6)
    machine.batches_until_chosen()
    assert machine.tuner.chosen == 2


def test_a_drop_by_a_third_times_the_counts_again_and_moves_on():
    machine = Machine({1: 10_000, 2: 15_000})
    machine.batches_until_chosen()
    assert machine.tuner.chosen == 2
    machine.run(int(3 * WATCH_SECONDS * 15_000 / BATCH))
    assert machine.tuner.trials == 1, "steady throughput must not trigger a recheck"

    machine.speeds[2] = 5_000  # other work took a core
    machine.run(int(2 * WATCH_SECONDS * 5_000 / BATCH))
    assert machine.tuner.trials == 2
    machine.batches_until_chosen()
    assert machine.tuner.chosen == 1


def test_a_choice_that_a_burst_of_other_work_upset_is_timed_again_later():
    machine = Machine({1: 10_000, 2: 3_000})  # two threads lost a core during the trial
    machine.batches_until_chosen()
    assert machine.tuner.chosen == 1
    machine.speeds[2] = 15_000
    machine.run(int(RETIME_SECONDS * 10_000 / BATCH) - 1)
    assert (machine.tuner.trials, machine.tuner.chosen) == (1, 1)
    machine.run(int(WATCH_SECONDS * 10_000 / BATCH) + 1)
    machine.batches_until_chosen()
    assert (machine.tuner.trials, machine.tuner.chosen) == (2, 2)


def test_a_drop_smaller_than_a_third_keeps_the_choice():
    machine = Machine({1: 10_000, 2: 15_000})
    machine.batches_until_chosen()
    machine.speeds[2] = 11_000
    machine.run(int(3 * WATCH_SECONDS * 11_000 / BATCH))
    assert (machine.tuner.trials, machine.tuner.chosen) == (1, 2)


def test_a_rise_by_half_times_the_counts_again():
    # Load that went away: one thread got faster, two may now be faster still.
    machine = Machine({1: 10_000, 2: 4_000})
    machine.batches_until_chosen()
    assert machine.tuner.chosen == 1
    machine.speeds.update({1: 20_000, 2: 30_000})
    machine.run(int(2 * WATCH_SECONDS * 20_000 / BATCH))
    machine.batches_until_chosen()
    assert (machine.tuner.trials, machine.tuner.chosen) == (2, 2)


@pytest.mark.parametrize(
    ("cores", "candidates"),
    [(1, [1]), (2, [1, 2]), (3, [1, 2, 3]), (8, [1, 2, 4, 8]), (12, [1, 2, 4, 8, 12])],
)
def test_candidates(cores, candidates):
    assert thread_candidates(cores) == candidates


def blas_threads_now() -> set[int]:
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_a_real_run_on_automatic_threads_switches_blas(mnist_small, one_blas_thread):
    """Through the training loop a run really uses, every count the tuner sets reaches BLAS."""
    trainer = Trainer(TrainConfig(hidden=(64,), epochs=1000, threads=0), mnist_small)
    applied = []

    def set_and_read_back(threads: int) -> None:
        limit_blas_threads(threads)
        applied.append((threads, blas_threads_now()))

    tuner = ThreadTuner([1, 2], set_and_read_back)

    def stop_once_chosen(event) -> None:
        if tuner.chosen is not None:
            trainer.request_stop()

    Driver(trainer, Controls(), stop_once_chosen, tuner=tuner).run()
    assert [threads for threads, _ in applied[:2]] == [1, 2]
    assert all(now == {threads} for threads, now in applied)
    assert blas_threads_now() == {tuner.chosen}
    assert trainer.epoch < 1000


def test_a_fixed_count_gets_no_tuner_and_is_applied(one_blas_thread):
    assert threads_for_run(2) is None
    assert blas_threads_now() == {2}


def test_automatic_gets_a_tuner_over_the_usable_cores(one_blas_thread):
    tuner = threads_for_run(0)
    assert tuner.candidates == thread_candidates(len(os.sched_getaffinity(0)))
