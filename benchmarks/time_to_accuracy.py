"""Training seconds until the test accuracy first reaches a target (98 % by default).

    python benchmarks/time_to_accuracy.py [--preset fast] [--target 0.98] [--runs 3]

Trains a preset with the real `Trainer` and, a few times per epoch, pauses the generator and
evaluates the test set; the evaluation happens between batches, outside `Trainer.seconds`,
which counts training time only (batch gathering, forward, backward, update). Each run uses its
own seed; the script prints every run and the median.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys

import _bench

from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.presets import PRESETS
from tui_mnist.engine.progress import BatchProgress
from tui_mnist.engine.training import Trainer


def seconds_to_target(config, data, target: float, evals_per_epoch: int):
    """(training seconds, epochs, accuracy) at the first evaluation reaching `target`, or
    (None, epochs, best accuracy) if the run ends first."""
    trainer = Trainer(config, data)
    every = math.ceil(trainer.batches_per_epoch / evals_per_epoch)
    best = 0.0
    for record in trainer.run():
        if not isinstance(record, BatchProgress):
            continue
        if record.batch % every and record.batch != record.batches:
            continue
        accuracy = _bench.test_accuracy(trainer)
        best = max(best, accuracy)
        if accuracy >= target:
            return record.seconds, record.step / trainer.batches_per_epoch, accuracy
    return None, trainer.epoch, best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="fast", choices=sorted(PRESETS))
    parser.add_argument("--target", type=float, default=0.98)
    parser.add_argument("--runs", type=int, default=3, help="seeds 0..runs-1")
    parser.add_argument("--evals-per-epoch", type=int, default=4)
    parser.add_argument("--threads", type=int, default=0, help="0: the engine's automatic choice")
    args = parser.parse_args(argv)

    config = PRESETS[args.preset][1]
    data = load_dataset(config.data_dir, val=config.val, standardize=config.standardize)
    threads = _bench.threads_for(args.threads, config.batch_size)
    print(f"machine: {_bench.machine_line()}")
    print(f"preset {args.preset}: {config.command_line()}  ({threads} BLAS threads)")
    times = []
    with _bench.blas_threads(threads):
        for seed in range(args.runs):
            seconds, epochs, accuracy = seconds_to_target(
                config.with_changes(seed=seed), data, args.target, args.evals_per_epoch
            )
            if seconds is None:
                print(f"seed {seed}: never reached {args.target:.2%} (best {accuracy:.2%})")
                continue
            times.append(seconds)
            print(f"seed {seed}: {accuracy:.2%} after {seconds:.2f} s of training "
                  f"({epochs:.2f} epochs)")
    if len(times) < args.runs:
        print(f"{args.runs - len(times)} of {args.runs} runs missed {args.target:.2%}")
        return 1
    print(f"median: {statistics.median(times):.2f} s to {args.target:.2%} test accuracy")
    return 0


if __name__ == "__main__":
    sys.exit(main())
