"""Should switches that cost nothing per batch be on by default? Validation accuracy with each
of standardize, nesterov and cosine schedule off and on.

    python benchmarks/defaults.py [--seeds 3] [--widths 32,128,512] [--settings default,classic,fast,best] [--quick]

Choices are judged on validation accuracy only (the default 5,000-image split held out of the
training set). The test set is never evaluated: each run stops after its last epoch's
validation score. On the default TrainConfig() at each hidden width, and on the `classic`
preset (784-10-10), the script trains the full 2x2x2 grid of standardize (off/on), nesterov
(off/on, momentum 0.9) and schedule (constant/cosine), every cell at every seed, at the
setting's own epochs. The effect of a choice is its on-minus-off difference between runs that
differ only in that choice (same seed, same other two choices), so each setting gives
4 x seeds paired differences per choice. The `fast` and `best` presets already standardize;
for them only standardize off is measured against the preset, and `best` is cut to
--best-epochs epochs (3 by default) to keep the run time sane.

A choice is called a winner when its mean difference is more than twice its standard error
(the standard deviation of the paired differences over the square root of their count) away
from zero, and "noise" otherwise. A run whose loss blows up scores 10 % (chance) and shows as
"div" in the per-seed lists. Runs on one BLAS thread, so a second core stays free.
Prints plain Markdown tables, to paste into README.md.
"""

from __future__ import annotations

import os

# One BLAS thread, fixed before numpy loads (imported by _bench): OpenBLAS reads it once.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import itertools  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import _bench  # noqa: E402

from tui_mnist.engine.config import TrainConfig  # noqa: E402
from tui_mnist.engine.errors import TrainingDiverged  # noqa: E402
from tui_mnist.engine.layer_sizes import architecture  # noqa: E402
from tui_mnist.engine.presets import PRESETS  # noqa: E402
from tui_mnist.engine.progress import EpochProgress  # noqa: E402
from tui_mnist.engine.training import Trainer, load_data_for  # noqa: E402

# (name, TrainConfig field, value when off, value when on)
CHOICES = (
    ("standardize", "standardize", False, True),
    ("nesterov", "nesterov", False, True),
    ("cosine", "schedule", "constant", "cosine"),
)
CHOICE_NAMES = tuple(name for name, *_ in CHOICES)
ALL_SETTINGS = ("default", "classic", "fast", "best")
# A run whose loss blows up scores what guessing would: 1 in 10 classes.
DIVERGED = 0.10


def seed_list(text: str) -> list[int]:
    """"3" means seeds 0, 1, 2; "4,7" means seeds 4 and 7."""
    if "," in text:
        return [int(word) for word in text.split(",") if word]
    return list(range(int(text)))


def int_list(text: str) -> list[int]:
    return [int(word) for word in text.split(",") if word]


def val_accuracy(config: TrainConfig, datasets: dict) -> float:
    """Validation accuracy after the last epoch. Stops before the run's final test evaluation."""
    key = (config.data_dir, config.val, config.standardize)
    if key not in datasets:
        datasets[key] = load_data_for(config)
    trainer = Trainer(config, datasets[key])
    accuracy = None
    try:
        for record in trainer.run():
            if isinstance(record, EpochProgress):
                accuracy = record.val_acc
                if record.epoch == config.epochs:
                    break
    except TrainingDiverged:
        return DIVERGED
    return accuracy


def on_off(config: TrainConfig, choice: str, on: bool) -> TrainConfig:
    _, field, off_value, on_value = next(c for c in CHOICES if c[0] == choice)
    return config.with_changes(**{field: on_value if on else off_value})


def spread(values) -> float:
    return statistics.stdev(values) if len(values) > 1 else 0.0


def se(diffs: list[float]) -> float:
    """Standard error of the mean of paired differences."""
    return spread(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else float("nan")


def verdict(diffs: list[float]) -> str:
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return "too few runs"
    error = se(diffs)
    if error == 0:
        return "no change" if mean == 0 else ("on wins" if mean > 0 else "off wins")
    if abs(mean) > 2 * error:
        return "on wins" if mean > 0 else "off wins"
    return "noise"


def with_error(diffs: list[float]) -> str:
    """Mean ± 2·SE in points, or a dash for no pairs."""
    if not diffs:
        return "–"
    if len(diffs) < 2:
        return points(statistics.fmean(diffs))
    return f"{points(statistics.fmean(diffs))} ± {pct(2 * se(diffs))}"


def pct(x: float) -> str:
    return f"{100 * x:.2f}"


def per_seed(scores) -> str:
    """Each seed's score; a diverged run is marked "div"."""
    return ", ".join("div" if v == DIVERGED else pct(v) for v in scores)


def epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def points(x: float) -> str:
    return f"{100 * x:+.2f}"


class Bench:
    def __init__(self, seeds: list[int]):
        self.seeds = seeds
        self.datasets: dict = {}
        self.runs = 0
        self.diverged = 0
        self.train_seconds = 0.0

    def score(self, config: TrainConfig) -> list[float]:
        """Validation accuracy at every seed, printed as it comes."""
        scores = []
        for seed in self.seeds:
            started = time.perf_counter()
            scores.append(val_accuracy(config.with_changes(seed=seed), self.datasets))
            self.train_seconds += time.perf_counter() - started
            self.runs += 1
            self.diverged += scores[-1] == DIVERGED
        return scores


def grid(bench: Bench, name: str, base: TrainConfig) -> list[tuple]:
    """The 2x2x2 grid on `base`; rows of (setting, choice, off scores, on scores, diffs)."""
    print(f"\n{name}: {describe(base)}, {epochs(base.epochs)}, all 8 combinations")
    print("| standardize | nesterov | schedule | val % mean | sd | per seed |")
    print("|---|---|---|---:|---:|---|")
    scores = {}
    for flags in itertools.product((False, True), repeat=len(CHOICES)):
        config = base
        for (choice, *_), on in zip(CHOICES, flags):
            config = on_off(config, choice, on)
        scores[flags] = bench.score(config)
        s = scores[flags]
        print(f"| {'on' if flags[0] else 'off'} | {'on' if flags[1] else 'off'} | "
              f"{config.schedule} | {pct(statistics.fmean(s))} | {pct(spread(s))} | "
              f"{per_seed(s)} |", flush=True)
    rows = []
    cosine = CHOICE_NAMES.index("cosine")
    for i, choice in enumerate(CHOICE_NAMES):
        off, on, diffs, given_cosine = [], [], [], []
        for flags in scores:
            if flags[i]:
                continue
            flipped = flags[:i] + (True,) + flags[i + 1:]
            off += scores[flags]
            on += scores[flipped]
            pairs = [b - a for a, b in zip(scores[flags], scores[flipped])]
            diffs += pairs
            if flags[cosine] and i != cosine:
                given_cosine += pairs
        # Also the flip alone from the setting as it stands (the other two choices as in base).
        here = tuple(
            getattr(base, field) == on_value for _, field, _, on_value in CHOICES
        )
        at_base = [
            b - a
            for a, b in zip(
                scores[here[:i] + (False,) + here[i + 1:]], scores[here[:i] + (True,) + here[i + 1:]]
            )
        ]
        rows.append((name, choice, off, on, diffs, statistics.fmean(at_base), given_cosine))
    return rows


def flip_standardize(bench: Bench, name: str, base: TrainConfig) -> list[tuple]:
    """The preset as it is (standardize on) against the same with standardize off."""
    print(f"\n{name}: {describe(base)}, {epochs(base.epochs)}, standardize off against on")
    off = bench.score(base.with_changes(standardize=False))
    on = bench.score(base.with_changes(standardize=True))
    for label, s in (("off", off), ("on", on)):
        print(f"  standardize {label}: {pct(statistics.fmean(s))} % "
              f"(sd {pct(spread(s))}; {per_seed(s)})", flush=True)
    diffs = [b - a for a, b in zip(off, on)]
    given_cosine = diffs if base.schedule == "cosine" else []
    return [(name, "standardize", off, on, diffs, statistics.fmean(diffs), given_cosine)]


def describe(config: TrainConfig) -> str:
    sizes = config.layer_sizes(784, 10)  # MNIST: 28x28 pixels, 10 digits
    return f"{architecture(sizes)}, `{config.command_line()}`"


def summary(rows: list[tuple]) -> None:
    print("\nEffect of each choice, validation accuracy in % (mean over seeds and, for the grids, "
          "over the other two choices; sd over those runs)")
    print("(flip alone: on − off with the other two choices as the setting has them; "
          "given cosine: on − off ± 2·SE over the pairs trained with the cosine schedule)")
    print("| setting | choice | off | on | on − off | sd of diff | 2·SE | on better | "
          "flip alone | given cosine | verdict |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, choice, off, on, diffs, at_base, given_cosine in rows:
        better = sum(d > 0 for d in diffs)
        print(f"| {name} | {choice} | {pct(statistics.fmean(off))} ± {pct(spread(off))} | "
              f"{pct(statistics.fmean(on))} ± {pct(spread(on))} | "
              f"{points(statistics.fmean(diffs))} | {pct(spread(diffs))} | {pct(2 * se(diffs))} | "
              f"{better}/{len(diffs)} | {points(at_base)} | {with_error(given_cosine)} | "
              f"{verdict(diffs)} |")
    print("\nOver every setting measured (each setting's paired differences pooled):")
    print("| choice | settings | on − off | 2·SE | on better | given cosine | verdict |")
    print("|---|---|---:|---:|---:|---:|---|")
    for choice in CHOICE_NAMES:
        chosen = [row for row in rows if row[1] == choice]
        if not chosen:
            continue
        diffs = [d for row in chosen for d in row[4]]
        given_cosine = [d for row in chosen for d in row[6]]
        print(f"| {choice} | {len(chosen)} | {points(statistics.fmean(diffs))} | "
              f"{pct(2 * se(diffs))} | {sum(d > 0 for d in diffs)}/{len(diffs)} | "
              f"{with_error(given_cosine)} | {verdict(diffs)} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=seed_list, default=seed_list("3"),
                        help='a count ("3": seeds 0-2) or a list ("0,5"); default 3')
    parser.add_argument("--widths", type=int_list, default=int_list("32,128,512"),
                        help="hidden widths for the default TrainConfig(); default 32,128,512")
    parser.add_argument("--settings", default=",".join(ALL_SETTINGS),
                        help=f"which of {','.join(ALL_SETTINGS)}, in turn")
    parser.add_argument("--best-epochs", type=int, default=3,
                        help="epochs of the cut-down `best` preset (its own: "
                        f"{PRESETS['best'][1].epochs})")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke test: seeds 0-1, width 32, 1 epoch, no `best`")
    args = parser.parse_args(argv)
    settings = [s for s in args.settings.split(",") if s]
    unknown = set(settings) - set(ALL_SETTINGS)
    if unknown:
        parser.error(f"unknown settings: {', '.join(sorted(unknown))}")
    epochs_cap = None
    if args.quick:
        args.seeds, args.widths, epochs_cap = [0, 1], [32], 1
        settings = [s for s in settings if s != "best"]

    def capped(config: TrainConfig) -> TrainConfig:
        return config.with_changes(epochs=min(config.epochs, epochs_cap or config.epochs))

    print(f"machine: {_bench.machine_line()}")
    print(f"1 BLAS thread; seeds {', '.join(map(str, args.seeds))}; validation accuracy on "
          f"{TrainConfig().val:,} held-out training images; the test set is not evaluated"
          + ("; --quick: 1 epoch" if args.quick else ""))
    bench = Bench(args.seeds)
    rows = []
    started = time.perf_counter()
    with _bench.blas_threads(1):
        for setting in settings:
            if setting == "default":
                for width in args.widths:
                    base = capped(TrainConfig(hidden=(width,)))
                    rows += grid(bench, f"default {width}", base)
            elif setting == "classic":
                rows += grid(bench, "classic", capped(PRESETS["classic"][1]))
            elif setting == "fast":
                rows += flip_standardize(bench, "fast", capped(PRESETS["fast"][1]))
            else:
                best = PRESETS["best"][1]
                print(f"\n(`best` cut from {best.epochs} to {args.best_epochs} epochs to keep "
                      "the run time sane; its cosine anneals over those epochs)")
                rows += flip_standardize(
                    bench, f"best ({args.best_epochs} ep)", best.with_changes(epochs=args.best_epochs)
                )
    summary(rows)
    wall = time.perf_counter() - started
    print(f"\n{bench.runs} training runs ({bench.diverged} diverged), {wall / 60:.1f} min wall time "
          f"({bench.train_seconds / 60:.1f} min in training and validation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
