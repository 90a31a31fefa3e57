"""BLAS thread policy. Imported before numpy: OpenBLAS reads its thread count once, at load.

A fixed count (`--threads N`) is set before numpy loads. Automatic (0) loads BLAS with every
usable core, then a `ThreadTuner` times the run's own batches at each candidate count and keeps
the fastest: on an idle machine more threads win for batches above ~32, but on a busy one a
multi-threaded BLAS call waits for its slowest thread, and a thread that has lost its core to
another process (the app's own UI included) stalls it, 5-26x slower than one thread.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from functools import cache

_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# Candidates are timed in slices of this much batch time, interleaved, up to this many each:
# 0.15 s in all sees through the odd slow batch when they are close.
TRIAL_ROUNDS = 3
SLICE_SECONDS = 0.05
# A candidate this far behind the best once both have had this many slices is out: the choice
# is clear, and each batch spent on the slower count costs the run (idle, one thread runs at
# 0.7-0.8 of two). One slice alone is too easily upset by a burst of other work.
BEHIND = 0.85
BEHIND_AFTER_SLICES = 2
# One this far behind after a couple of batches is out at once: on a busy machine an extra
# thread can be twenty times slower.
FAR_BEHIND = 0.5
FAR_BEHIND_AFTER_BATCHES = 2
# The first batch after a switch is not timed: it wakes the BLAS threads, which park when idle
# (measured: 3 ms against 0.8 ms, enough to drop the faster count on an idle machine).
SETTLE_BATCHES = 1
# Throughput is watched over this much batch time; outside these bounds of what the choice was
# measured at, the machine's load has changed and the candidates are timed again.
WATCH_SECONDS = 2.0
RECHECK_BELOW = 2 / 3
RECHECK_ABOVE = 3 / 2
# And again after this much batch time in any case: a trial that a burst of other work upset
# must not decide the rest of a long run (at the cost of one slice on the slower count).
RETIME_SECONDS = 20.0


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
    time only). It times the candidates in short interleaved slices (so a burst of other work
    hits them alike), drops one that is far behind, keeps the fastest, then watches throughput
    and times them again when it strays by a third from what the choice was measured at, and
    after RETIME_SECONDS of batch time in any case.
    """

    def __init__(self, candidates: list[int], set_threads: Callable[[int], None] = limit_blas_threads):
        self.candidates = candidates
        self.set_threads = set_threads
        self.chosen: int | None = None  # None while timing candidates
        self.rates: dict[int, float] = {}  # samples/s each candidate was timed at
        self.trials = 0  # how many times the candidates were timed
        self.threads = candidates[0]  # the count in use now
        self._last: tuple[int, float] | None = None
        self._settling = 0
        self._begin_trials()

    def observe(self, samples: int, seconds: float) -> None:
        last, self._last = self._last, (samples, seconds)
        if last is None or samples <= last[0]:
            return  # the first batch seen, or the counters restarted
        if self._settling:
            self._settling -= 1
            return
        self._samples += samples - last[0]
        self._seconds += seconds - last[1]
        self._batches += 1
        if self.chosen is None:
            self._time_slice()
        elif self._seconds >= WATCH_SECONDS:
            self._watch()

    def _rate(self) -> float:
        return self._samples / max(self._seconds, 1e-9)

    def _begin_trials(self) -> None:
        self.chosen, self.rates, self._watched = None, {}, 0.0
        self.trials += 1
        self._timed = {threads: (0, 0.0, 0) for threads in self.candidates}  # samples, s, slices
        self._slices = deque(self.candidates * TRIAL_ROUNDS)
        self._next_slice()

    def _switch_to(self, threads: int) -> None:
        if threads != self.threads:
            self._settling = SETTLE_BATCHES
        self.threads = threads
        self.set_threads(threads)
        self._samples, self._seconds, self._batches = 0, 0.0, 0

    def _time_slice(self) -> None:
        if self._batches < FAR_BEHIND_AFTER_BATCHES:
            return
        others = [rate for threads, rate in self.rates.items() if threads != self.threads]
        far_behind = self._rate() < max(others, default=0.0) * FAR_BEHIND
        if self._seconds < SLICE_SECONDS and not far_behind:
            return
        samples, seconds, slices = self._timed[self.threads]
        self._timed[self.threads] = (samples + self._samples, seconds + self._seconds, slices + 1)
        self.rates[self.threads] = (samples + self._samples) / max(seconds + self._seconds, 1e-9)
        behind = {self.threads} if far_behind else set()
        best_rate, best = max((rate, threads) for threads, rate in self.rates.items())
        if self._timed[best][2] >= BEHIND_AFTER_SLICES:
            behind |= {
                threads for threads, rate in self.rates.items()
                if rate < best_rate * BEHIND and self._timed[threads][2] >= BEHIND_AFTER_SLICES
            }
        self._slices = deque(threads for threads in self._slices if threads not in behind)
        if behind and len(set(self._slices)) == 1:
            self._slices.clear()  # one left in the running (the best, so it was timed)
        self._next_slice()

    def _next_slice(self) -> None:
        if self._slices:
            self._switch_to(self._slices.popleft())
        else:
            self.chosen = max(self.rates, key=self.rates.get)
            self._switch_to(self.chosen)

    def _watch(self) -> None:
        measured = self.rates[self.chosen]
        self._watched += self._seconds
        steady = measured * RECHECK_BELOW <= self._rate() <= measured * RECHECK_ABOVE
        if not steady or self._watched >= RETIME_SECONDS:
            self._begin_trials()
            return
        self._samples, self._seconds, self._batches = 0, 0.0, 0
