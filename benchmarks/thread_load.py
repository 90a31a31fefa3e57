"""Automatic threads against every fixed count, on an idle machine and under load.

Each run goes through the training loop of a real run (`live.driver.Driver` with the tuner a
run's `threads` setting gives it, as `tui-mnist train` and the app's trainer do), timed as wall
clock from the first batch to the final test evaluation. Settings alternate within each round,
so load from elsewhere hits them alike. "Under load" starts one busy process pinned to each
core (two on a 2-core machine), which take the cores from any BLAS thread that waits on them.

    python benchmarks/thread_load.py [--rounds 3] [--epochs N] [--presets fast,default]
                                     [--conditions idle,load]

Prints samples/s per thread setting, best and median of the rounds, and automatic against the
best fixed count, with the goals: >= 0.97x of the best when idle, >= 0.9x under load. The goal
is judged on each setting's best round: other work on a shared machine only ever slows a round
down (the load this script adds is there in every round), so the best round is the least
disturbed one; the ratio of the medians is shown beside it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from contextlib import contextmanager

import _bench

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.presets import PRESETS
from tui_mnist.engine.threads import thread_candidates, threads_for_run, usable_cores
from tui_mnist.engine.training import Trainer, load_data_for
from tui_mnist.live.driver import Controls, Driver

GOALS = {"idle": 0.97, "load": 0.90}
SETTLE_SECONDS = 0.3  # let the previous setting's BLAS threads park, and the load spin up


@contextmanager
def busy_cores(condition: str):
    """For "load", one spinning process pinned to each usable core while inside."""
    spinners = []
    if condition == "load":
        for core in sorted(os.sched_getaffinity(0)):
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            os.sched_setaffinity(spinner.pid, {core})
            spinners.append(spinner)
    try:
        time.sleep(SETTLE_SECONDS)
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def run_rate(config: TrainConfig, data) -> tuple[float, int | None]:
    """Samples/s of one run, and the thread count automatic settled on (None when fixed)."""
    trainer = Trainer(config, data)
    tuner = threads_for_run(config.threads)
    time.sleep(SETTLE_SECONDS)
    started = time.perf_counter()
    Driver(trainer, Controls(), lambda event: None, tuner=tuner).run()
    seconds = time.perf_counter() - started
    return trainer.samples / seconds, tuner.threads if tuner else None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, help="epochs per run (default: the run's own)")
    parser.add_argument("--presets", default="fast,default", help='"default" is TrainConfig()')
    parser.add_argument("--conditions", default="idle,load")
    args = parser.parse_args(argv)
    settings = [*thread_candidates(usable_cores()), 0]
    names = {n: f"{n} thread{'s' * (n > 1)}" if n else "automatic" for n in settings}
    print(f"machine: {_bench.machine_line()}")
    epochs = f"{args.epochs} epoch(s)" if args.epochs else "the run's own epochs"
    print(f"{epochs} per run, {args.rounds} rounds alternating; samples/s, best (median)")
    header = f"{'condition':<10}{'run':<9}" + "".join(f"{names[n]:>20}" for n in settings)
    print(header + "   auto/best fixed (medians)  goal     auto chose")
    for condition in args.conditions.split(","):
        for preset in args.presets.split(","):
            base = TrainConfig() if preset == "default" else PRESETS[preset][1]
            config = base.with_changes(epochs=args.epochs or base.epochs)
            data = load_data_for(config)
            rates: dict[int, list[float]] = {n: [] for n in settings}
            chosen: list[int] = []
            with busy_cores(condition):
                for _ in range(args.rounds):
                    for n in settings:
                        rate, settled = run_rate(config.with_changes(threads=n), data)
                        rates[n].append(rate)
                        chosen += [settled] if settled else []
            best = {n: max(values) for n, values in rates.items()}
            middle = {n: _bench.median(values) for n, values in rates.items()}
            ratio = best[0] / max(best[n] for n in settings if n)
            middle_ratio = middle[0] / max(middle[n] for n in settings if n)
            goal = GOALS[condition]
            cells = "".join(f"{best[n]:>10,.0f} ({middle[n]:>7,.0f})" for n in settings)
            verdict = "met" if ratio >= goal else "NOT met"
            print(f"{condition:<10}{preset:<9}{cells}{ratio:>12.3f} ({middle_ratio:.3f})    "
                  f"{goal:.2f} {verdict:<7} {','.join(map(str, chosen))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
