"""The best test accuracy reachable in a fixed budget of training seconds.

    python benchmarks/best_in_budget.py --seconds 60 [--runs plain,shift]

Two runs: "shift" is the app's "best" preset (784-1024-10, dropout 0.2, random ±1-pixel
shifts); "plain" is the best setting found without augmentation, the same but 784-512-512-10
(it scored the highest validation accuracy without augmentation; with it, 784-1024-10 did).
Each trains with the learning rate following a cosine curve over the *time* budget instead of
over a number of epochs: each batch sets the trainer's `lr_scale` from the training seconds
used so far (after a short linear warmup), and the run stops when the budget is spent, then
evaluates the test set once. A time-based schedule ends its annealing at the budget whatever
the machine's speed, so the result measures what the engine reaches in that time, not how well
an epoch count was guessed. Training seconds are the Trainer's own (evaluation excluded).
"""

from __future__ import annotations

import argparse
import math
import sys

import _bench

from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.layer_sizes import architecture
from tui_mnist.engine.presets import PRESETS
from tui_mnist.engine.progress import BatchProgress, RunFinished
from tui_mnist.engine.training import Trainer, layer_sizes

BEST = PRESETS["best"][1]
RUNS = {
    "plain": (BEST.with_changes(hidden=(512, 512), augment="none"), 0.986),
    "shift": (BEST.with_changes(augment="shift"), 0.990),
}


def lr_scale(progress: float, warmup: float) -> float:
    """Linear warmup to 1 over the first `warmup` fraction, then cosine down to 0 at 1."""
    if progress < warmup:
        return max(progress / warmup, 1e-3)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (progress - warmup) / (1 - warmup))))


def train_for(config, data, seconds: float, warmup: float) -> tuple[RunFinished, float]:
    """Train until `seconds` of training time; the final record and the epochs completed."""
    trainer = Trainer(config.with_changes(schedule="constant", warmup_epochs=0.0), data)
    trainer.lr_scale = lr_scale(0.0, warmup)
    for record in trainer.run():
        if isinstance(record, BatchProgress):
            trainer.lr_scale = lr_scale(record.seconds / seconds, warmup)
            if record.seconds >= seconds:
                trainer.request_stop()
        elif isinstance(record, RunFinished):
            return record, trainer.step / trainer.batches_per_epoch
    raise AssertionError("the training generator ended without a RunFinished record")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", default="plain,shift", help="which runs, in turn")
    parser.add_argument("--warmup", type=float, default=0.0, help="fraction of the budget")
    parser.add_argument("--threads", type=int, default=0, help="0: the engine's automatic choice")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--val", type=int, default=BEST.val, help="validation images held out")
    args = parser.parse_args(argv)

    data = load_dataset(BEST.data_dir, val=args.val, standardize=BEST.standardize)
    threads = _bench.threads_for(args.threads, BEST.batch_size)
    print(f"machine: {_bench.machine_line()}")
    print(f"{threads} BLAS threads, learning rate on a cosine over {args.seconds:g} s, "
          f"{len(data.x_train):,} training images")
    with _bench.blas_threads(threads):
        for name in args.runs.split(","):
            config, target = RUNS[name]
            config = config.with_changes(epochs=10_000, seed=args.seed, val=args.val)
            finished, epochs = train_for(config, data, args.seconds, args.warmup)
            print(f"{name:<6} {architecture(layer_sizes(config, data))}, batch {config.batch_size}, {config.optimizer} "
                  f"lr {config.lr:g}, weight decay {config.weight_decay:g}, dropout "
                  f"{config.dropout:g}, augment {config.augment}: test accuracy {finished.test_acc:.2%} after "
                  f"{finished.seconds:.1f} s, {epochs:.1f} epochs (target {target:.1%}: "
                  f"{'met' if finished.test_acc >= target else 'missed'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
