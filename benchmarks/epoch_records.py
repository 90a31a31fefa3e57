"""What keeping per-epoch records costs training: the trainer's samples/s with keep_records off
and on (the default 784-128-10 config on the shipped MNIST), and the times of building one
record and of one RunFolder.save_record, the write a run folder makes at each epoch's end.

    python benchmarks/epoch_records.py [--rounds 5] [--epochs 3] [--threads 0]

Runs alternate without and with records within each round (A B A B ...), so load from
elsewhere hits both alike. A run is timed as wall clock from its first batch to its final test
evaluation, so the epoch-end work a record adds (copies before the last step, the confusion
filled by the validation pass, the probe forward pass, the float16 first layer) is inside it.
Prints samples/s per side, best and median of the rounds, and their ratio records / no
records, with the goal: >= 0.97, judged on the best rounds (the least disturbed on a shared
machine; the ratio of the medians is shown beside it). --threads 0 is the other benchmarks'
static choice (`_bench.threads_for`). Nothing is written where it runs: the record files go to
a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import _bench

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.training import Trainer, load_data_for
from tui_mnist.runs.store import RunFolder

GOAL = 0.97
SETTLE_SECONDS = 0.3  # let the previous run's BLAS threads park
SAVES = 20  # timed calls of record building and of save_record


def run_rate(config: TrainConfig, data, keep_records: bool) -> tuple[float, Trainer]:
    """Samples/s of one whole run, and its trainer."""
    trainer = Trainer(config, data, keep_records=keep_records)
    time.sleep(SETTLE_SECONDS)
    started = time.perf_counter()
    for _ in trainer.run():
        pass
    return trainer.samples / (time.perf_counter() - started), trainer


def build_ms(trainer: Trainer) -> float:
    """Median milliseconds of building one record at an epoch's end (EpochRecorder.record:
    the probe forward pass, the figures, the float16 first layer), the part of a record's cost
    that no noise in the samples/s hides."""
    recorder, record = trainer.recorder, trainer.epoch_record
    times = []
    for _ in range(SAVES):
        started = time.perf_counter()
        recorder.record(record.epoch, record.loss, True, record.lr, record.base_lr)
        times.append(time.perf_counter() - started)
    return 1000 * _bench.median(times)


def save_ms(trainer: Trainer) -> tuple[float, int]:
    """Median milliseconds of RunFolder.save_record of the trainer's last record, and the
    file's size in bytes."""
    record = trainer.epoch_record
    with tempfile.TemporaryDirectory() as runs_dir:
        folder = RunFolder.create(Path(runs_dir), trainer.config)
        folder.save_record(record)  # untimed: makes the epochs folder
        times = []
        for _ in range(SAVES):
            started = time.perf_counter()
            folder.save_record(record)
            times.append(time.perf_counter() - started)
        return 1000 * _bench.median(times), folder.record_file(record.epoch).stat().st_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (default 3)")
    parser.add_argument("--threads", type=int, default=0, help="BLAS threads; 0: the static choice")
    args = parser.parse_args(argv)
    config = TrainConfig().with_changes(epochs=args.epochs)
    threads = _bench.threads_for(args.threads, config.batch_size)
    data = load_data_for(config)
    print(f"machine: {_bench.machine_line()}")
    print(f"784-128-10 default config, {args.epochs} epoch(s) per run, {threads} BLAS thread(s), "
          f"{args.rounds} rounds alternating; samples/s")
    sides = {False: "no records", True: "records"}
    rates: dict[bool, list[float]] = {side: [] for side in sides}
    with _bench.blas_threads(threads):
        for _ in range(args.rounds):
            for side in sides:
                rate, trainer = run_rate(config, data, side)
                rates[side].append(rate)
        building = build_ms(trainer)
        milliseconds, size = save_ms(trainer)
    epoch_ms = 1000 * len(data.x_train) / max(rates[True])
    print(f"{'':<12}{'best':>10}{'median':>10}   rounds")
    for side, name in sides.items():
        rounds = " ".join(f"{rate:,.0f}" for rate in rates[side])
        print(f"{name:<12}{max(rates[side]):>10,.0f}{_bench.median(rates[side]):>10,.0f}   {rounds}")
    ratio = max(rates[True]) / max(rates[False])
    middle = _bench.median(rates[True]) / _bench.median(rates[False])
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"records / no records: {ratio:.3f} best ({middle:.3f} medians); goal >= {GOAL:.2f}: {verdict}")
    print(f"building a record: {building:.2f} ms median of {SAVES} "
          f"({building / epoch_ms:.2%} of an epoch at the best records rate)")
    print(f"RunFolder.save_record: {milliseconds:.2f} ms median of {SAVES} ({size / 1024:,.0f} KB file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
