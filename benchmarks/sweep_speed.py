"""What a sweep costs and gains, through the real `tui-mnist sweep` (subprocesses):

1. trials per minute of one fixed small sweep on 1 worker against one per core (goal: at
   least 1.6x on 2 cores), from the first trial's start to the last one's end (Optuna's
   times; the cluster's start, about 1.5 s, is reported beside it);
2. pruning against none on the same budget: the best validation accuracy found and the trials
   ended (parallel trials prune less: fewer rungs have finished when each decision is made);
3. the per-trial overhead of the Dask path over a plain run of the same settings: the median
   trial's duration in the sweep (Optuna's start to end) against the median wall time of the
   same runs trained in this process (`runs.execute.execute_run`: data loading, the run folder
   and its records included on both sides), on one BLAS thread (goal: under 1 s).

    python benchmarks/sweep_speed.py [--trials 8] [--budget 60] [--parts 1,2,3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _bench

from tui_mnist.engine.threads import usable_cores

TRIAL_FLAGS = ["--hidden", "128", "--epochs", "3", "--batch-size", "128"]
GOAL_SPEEDUP = 1.6
GOAL_OVERHEAD = 1.0


def sweep(runs_dir: Path, *flags: str) -> tuple[float, list]:
    """Run a sweep to its end; (wall seconds, the study's trials)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    command = [sys.executable, "-m", "tui_mnist", "sweep", "--runs-dir", str(runs_dir), *flags]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    (folder,) = (runs_dir / "sweeps").iterdir()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(folder / "journal.log")))
    return seconds, optuna.load_study(study_name="sweep", storage=storage).trials


def trials_per_minute(trials: int) -> None:
    print(f"1. trials per minute: {trials} trials of {' '.join(TRIAL_FLAGS)}, random lr, no pruning")
    rates = {}
    for workers in (1, usable_cores()):
        with tempfile.TemporaryDirectory() as runs:
            seconds, done = sweep(Path(runs), *TRIAL_FLAGS, "--lr", "0.02..0.2:log", "--sampler", "random",
                                  "--pruner", "none", "--trials", str(trials), "--workers", str(workers))
        span = (max(t.datetime_complete for t in done) - min(t.datetime_start for t in done)).total_seconds()
        rates[workers] = 60 * trials / span
        print(f"   {workers} worker(s): trials from first start to last end {span:.1f} s, "
              f"{rates[workers]:.1f} trials/min ({seconds:.1f} s with the cluster's start)")
    speedup = rates[max(rates)] / rates[1]
    print(f"   speedup {speedup:.2f}x (goal >= {GOAL_SPEEDUP}: {'met' if speedup >= GOAL_SPEEDUP else 'NOT met'})")


def pruning(budget: float) -> None:
    print(f"2. pruning on a budget of {budget:g} s (TPE, lr and hidden searched, 5 epochs a trial)")
    for pruner in ("halving", "median", "none"):
        with tempfile.TemporaryDirectory() as runs:
            seconds, trials = sweep(
                Path(runs), "--epochs", "5", "--batch-size", "128", "--lr", "0.005..0.5:log",
                "--hidden", "32|64|128", "--pruner", pruner, "--trials", "1000", "--budget", str(budget),
            )
        ended = [t for t in trials if t.state.is_finished() and not t.user_attrs.get("interrupted")]
        pruned = sum(t.state.name == "PRUNED" for t in ended)
        best = max((t.value for t in ended if t.state.name == "COMPLETE"), default=float("nan"))
        print(f"   {pruner:8} best val {100 * best:.2f}%  {len(ended)} trials ended ({pruned} pruned) "
              f"in {seconds:.0f} s")


def overhead(trials: int) -> None:
    from tui_mnist.engine.config import TrainConfig
    from tui_mnist.runs.execute import execute_run
    from tui_mnist.runs.store import RunFolder

    print(f"3. per-trial overhead: {trials} trials of {' '.join(TRIAL_FLAGS)} (seed searched), 1 worker")
    with tempfile.TemporaryDirectory() as runs:
        seeds = "|".join(str(seed) for seed in range(trials))
        _, done = sweep(Path(runs), *TRIAL_FLAGS, "--seed", seeds, "--sampler", "grid", "--pruner", "none",
                        "--trials", str(trials), "--workers", "1")
        in_sweep = [(t.datetime_complete - t.datetime_start).total_seconds() for t in done]
    plain = []
    with tempfile.TemporaryDirectory() as runs, _bench.blas_threads(1):
        for seed in range(trials):
            config = TrainConfig(hidden=(128,), epochs=3, batch_size=128, seed=seed, threads=1)
            started = time.perf_counter()
            execute_run(RunFolder.create(Path(runs), config))
            plain.append(time.perf_counter() - started)
    extra = statistics.median(in_sweep) - statistics.median(plain)
    print(f"   median trial {statistics.median(in_sweep):.2f} s in the sweep, {statistics.median(plain):.2f} s "
          f"as a plain run: overhead {extra:.2f} s (goal < {GOAL_OVERHEAD:g} s: "
          f"{'met' if extra < GOAL_OVERHEAD else 'NOT met'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--parts", default="1,2,3")
    args = parser.parse_args()
    print(_bench.machine_line())
    parts = args.parts.split(",")
    if "1" in parts:
        trials_per_minute(args.trials)
    if "2" in parts:
        pruning(args.budget)
    if "3" in parts:
        overhead(args.trials)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
