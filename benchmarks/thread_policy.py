"""How many BLAS threads should training use? Engine throughput with 1 thread and with all
cores, per batch size, alternating in short chunks so a shared machine's load hits both alike.

    python benchmarks/thread_policy.py [--hidden 128] [--batches 1,10,32,64,128,256]

Prints samples/s for each thread count, median and best chunk (the best chunk is the one
least disturbed by other processes: the speed on a machine of one's own), the ratio of the
medians, and the static choice the other benchmarks make for --threads 0
(`_bench.threads_for`; runs themselves tune at run time, see thread_load.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import _bench

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.progress import BatchProgress
from tui_mnist.engine.settings import layer_widths
from tui_mnist.engine.training import Trainer

CHUNK_SAMPLES = 20_000
SETTLE_SECONDS = 0.3  # idle BLAS threads spin for a while; let them sleep between chunks


def batch_steps(trainer: Trainer):
    return (r for r in trainer.run() if isinstance(r, BatchProgress))


def chunk_rate(steps, threads: int, batches: int, batch_size: int) -> float:
    with _bench.blas_threads(threads):
        time.sleep(SETTLE_SECONDS)
        next(steps)
        started = time.perf_counter()
        for _ in range(batches):
            next(steps)
        return batches * batch_size / (time.perf_counter() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hidden", default="128", help='hidden layers, e.g. "512,256"')
    parser.add_argument("--batches", default="1,10,32,64,128,256", help="batch sizes to try")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    hidden = layer_widths(args.hidden)
    cores = os.cpu_count() or 1
    data = load_dataset(val=0)
    print(f"machine: {_bench.machine_line()}")
    print(f"784-{'-'.join(map(str, hidden))}-10 ReLU, momentum; samples/s over {args.rounds} "
          "alternating chunks, median (best)")
    print(f"{'batch':>6}{'1 thread':>20}{f'{cores} threads':>20}{'ratio':>7}  static")
    for batch_size in (int(b) for b in args.batches.split(",")):
        config = TrainConfig(hidden=hidden, batch_size=batch_size, epochs=10_000)
        batches = max(1, CHUNK_SAMPLES // batch_size)
        steps = {n: batch_steps(Trainer(config, data)) for n in (1, cores)}
        rates = {1: [], cores: []}
        for _ in range(args.rounds):
            for n in rates:
                rates[n].append(chunk_rate(steps[n], n, batches, batch_size))
        one, many = _bench.median(rates[1]), _bench.median(rates[cores])
        cells = "".join(
            f"{_bench.median(rates[n]):>11,.0f} ({max(rates[n]):>7,.0f})" for n in rates
        )
        print(f"{batch_size:>6}{cells}{many / one:>7.2f}{_bench.threads_for(0, batch_size):>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
