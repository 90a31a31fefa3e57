"""BLAS thread policy. Imported before numpy: OpenBLAS reads its thread count once, at load.

A fixed count (`--threads N`) is set before numpy loads. Automatic (0) loads BLAS with every
usable core, then a `ThreadTuner` times the run's own batches at each candidate count and keeps
the fastest: on an idle machine more threads win for batches above ~32, but on a busy one a
multi-threaded BLAS call waits for its slowest thread, and a thread that has lost its core to
another process (the app's own UI included) stalls it, 5-26x slower than one thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# Batch time a candidate is timed for: long enough to see through the odd slow batch.
TRIAL_SECONDS = 0.3
# A candidate this much slower than the best so far after this many batches is dropped at once:
# on a busy machine an extra thread can be twenty times slower, and each of its batches costs.
ABANDON_BELOW = 0.5
ABANDON_AFTER_BATCHES = 2
# Throughput is watched over this much batch time; outside these bounds of what the choice was
# measured at, the machine's load has changed and the candidates are timed again.
WATCH_SECONDS = 2.0
RECHECK_BELOW = 2 / 3
RECHECK_ABOVE = 3 / 2


def usable_cores() -> int:
    """Cores this process may run on (respects taskset and container CPU sets)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def pool_threads(threads: int) -> int:
    """How many threads BLAS is loaded with for a run's `threads` setting (0: automatic)."""
    return threads or usable_cores()


def set_blas_threads(threads: int) -> None:
    """Fix the BLAS thread count; takes effect only if numpy is not imported yet."""
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)


@cache
def _blas_controller():
    # Built once numpy is loaded: it scans the loaded libraries, a few milliseconds each time.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def limit_blas_threads(threads: int) -> None:
    """Change the BLAS thread count of an already loaded numpy (up to the count it loaded with)."""
    _blas_controller().limit(limits=threads)


def thread_candidates(cores: int) -> list[int]:
    """1, 2, 4, ... up to `cores`, and `cores` itself."""
    counts = {cores}
    count = 1
    while count < cores:
        counts.add(count)
        count *= 2
    return sorted(counts)


def threads_for_run(threads: int) -> ThreadTuner | None:
    """Apply a run's `threads` setting in a loaded numpy: a fixed count now, or (0) a tuner for
    the training loop to feed."""
    candidates = thread_candidates(usable_cores())
    if threads or len(candidates) == 1:
        limit_blas_threads(threads or 1)
        return None
    return ThreadTuner(candidates)


class ThreadTuner:
    """Chooses the BLAS thread count from the run's own batch timings.

    Feed it every batch's cumulative counters (`observe(samples, seconds)`, seconds of batch
    time only). It times each candidate in turn, keeps the fastest, then watches throughput and
    times the candidates again when it strays by a third from what the choice was measured at.
    """

    def __init__(self, candidates: list[int], set_threads: Callable[[int], None] = limit_blas_threads):
        self.candidates = candidates
        self.set_threads = set_threads
        self.chosen: int | None = None  # None while timing candidates
        self.rates: dict[int, float] = {}  # samples/s each candidate was timed at
        self.trials = 0  # how many times the candidates were timed
        self._last: tuple[int, float] | None = None
        self._begin_trials()

    @property
    def threads(self) -> int:
        """The count in use now."""
        return self.chosen if self.chosen is not None else self.candidates[self._trying]

    def observe(self, samples: int, seconds: float) -> None:
        last, self._last = self._last, (samples, seconds)
        if last is None or samples <= last[0]:
            return  # the first batch seen, or the counters restarted
        self._samples += samples - last[0]
        self._seconds += seconds - last[1]
        self._batches += 1
        if self.chosen is None:
            self._time_candidate()
        elif self._seconds >= WATCH_SECONDS:
            self._watch()

    def _rate(self) -> float:
        return self._samples / max(self._seconds, 1e-9)

    def _begin_trials(self) -> None:
        self.chosen, self.rates, self._trying = None, {}, 0
        self.trials += 1
        self._switch_to(self.candidates[0])

    def _switch_to(self, threads: int) -> None:
        self.set_threads(threads)
        self._samples, self._seconds, self._batches = 0, 0.0, 0

    def _time_candidate(self) -> None:
        if self._batches < ABANDON_AFTER_BATCHES:
            return
        rate = self._rate()
        best = max(self.rates.values(), default=0.0)
        if self._seconds < TRIAL_SECONDS and rate >= best * ABANDON_BELOW:
            return
        self.rates[self.candidates[self._trying]] = rate
        self._trying += 1
        if self._trying < len(self.candidates):
            self._switch_to(self.candidates[self._trying])
            return
        self.chosen = max(self.rates, key=self.rates.get)
        self._switch_to(self.chosen)

    def _watch(self) -> None:
        measured = self.rates[self.chosen]
        if not measured * RECHECK_BELOW <= self._rate() <= measured * RECHECK_ABOVE:
            self._begin_trials()
            return
        self._samples, self._seconds, self._batches = 0, 0.0, 0
