"""Training throughput of tui-mnist's NumPy engine against PyTorch eager on the same CPU.

Both sides train the same MLP from the same initial weights, on the same batches in the same
order, with the same optimizer and the same number of threads. Both train continuously;
timed chunks of a few tenths of a second alternate engine / torch within this one process, and
the script prints the median samples per second of each and the median of the per-round ratios
(torch time / engine time for the same number of batches; above 1 means the engine is faster).
Alternating short chunks keeps a shared machine's changing load from favouring either side.

    python benchmarks/compare_torch.py [--rounds 9] [--threads N] [--only a,b,c] [--torch-fused]

PyTorch is the optional `bench` extra (pip install -e '.[bench]'); without it the script says
so and exits 0.

What each side does per batch: the engine's `Trainer.run()` generator as the app and CLI use it
(gather uint8 rows, scale to float32, forward, loss, accuracy, backward, update, yield a
progress record). The torch loop is idiomatic eager code and gets the data already as one
float32 tensor: index the batch, zero_grad, forward, cross_entropy, backward, step, and read
back the loss and the number of correct predictions (the same per-batch numbers the engine
reports). Its optimizers are PyTorch's defaults; `--torch-fused` gives it the fused
single-kernel ones instead.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import _bench
import numpy as np

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.idx import data_sizes
from tui_mnist.engine.layer_sizes import architecture
from tui_mnist.engine.progress import BatchProgress
from tui_mnist.engine.training import Trainer


@dataclass(frozen=True)
class Case:
    name: str
    config: TrainConfig
    chunk: int  # batches per timed chunk (a few tenths of a second)
    target: float  # wanted engine/torch ratio


CASES = [
    Case(
        "a",
        TrainConfig(hidden=(128,), batch_size=128, optimizer="momentum", momentum=0.9, lr=0.1),
        200,
        1.3,
    ),
    Case(
        "b",
        TrainConfig(hidden=(512, 256), batch_size=256, optimizer="adam", lr=1e-3),
        40,
        1.0,
    ),
    Case(
        "c",
        TrainConfig(hidden=(100,), activation="sigmoid", batch_size=10, optimizer="sgd", lr=3.0),
        1000,
        2.0,
    ),
]
CHECKED_STEPS = 20  # batches whose losses must agree between the two implementations
# Idle BLAS/OpenMP worker threads keep spinning for up to ~0.2 s after their last call and would
# steal a core from the other side: each timed chunk starts after this pause and one untimed batch.
SETTLE_SECONDS = 0.4


def describe(config: TrainConfig) -> str:
    optimizer = {
        "momentum": f"momentum {config.momentum} lr {config.lr:g}",
        "adam": f"Adam lr {config.lr:g}",
        "sgd": f"SGD lr {config.lr:g}",
    }[config.optimizer]
    network = architecture(config.layer_sizes(*data_sizes(config.data_dir)))
    return f"{network} {config.activation}, batch {config.batch_size}, {optimizer}"


def engine_losses(trainer: Trainer) -> Iterator[float]:
    """The real training generator, one loss per batch."""
    for record in trainer.run():
        if isinstance(record, BatchProgress):
            yield record.loss


def torch_losses(torch, trainer: Trainer, images, labels, fused: bool) -> Iterator[float]:
    """The same network, weights, batches and optimizer in PyTorch eager, one loss per batch."""
    nn, functional = torch.nn, torch.nn.functional
    config = trainer.config
    fused = fused or None  # None: PyTorch picks its default implementation
    activation = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[config.activation]
    layers = []
    for w, b in zip(trainer.network.weights, trainer.network.biases):
        linear = nn.Linear(*w.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, activation()]
    model = nn.Sequential(*layers[:-1])
    if config.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=fused)
    else:
        momentum = config.momentum if config.optimizer == "momentum" else 0.0
        optimizer = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=momentum, fused=fused
        )
    # The engine shuffles with its own generator; a copy taken before it starts replays it.
    order_rng = copy.deepcopy(trainer.rng)
    bs = config.batch_size

    def steps() -> Iterator[float]:
        while True:
            order = torch.from_numpy(order_rng.permutation(len(images)))
            for start in range(0, len(order), bs):
                rows = order[start : start + bs]
                x, y = images[rows], labels[rows]
                optimizer.zero_grad()
                logits = model(x)
                loss = functional.cross_entropy(logits, y)
                loss.backward()
                optimizer.step()
                # The engine reports each batch's loss and accuracy; so does this loop.
                _correct = (logits.argmax(1) == y).sum().item()
                yield loss.item()

    return steps()


def timed_chunk(steps: Iterator[float], batches: int) -> float:
    time.sleep(SETTLE_SECONDS)
    next(steps)
    started = time.perf_counter()
    for _ in range(batches):
        next(steps)
    return time.perf_counter() - started


def compare(torch, case: Case, data, images, labels, rounds: int, fused: bool):
    """Median samples/s of each side and the median of the per-round speed ratios."""
    config = case.config.with_changes(epochs=10_000)  # the chunks decide when to stop
    trainer = Trainer(config, data)
    ours = engine_losses(trainer)
    theirs = torch_losses(torch, trainer, images, labels, fused)
    first_ours = [next(ours) for _ in range(CHECKED_STEPS)]
    first_theirs = [next(theirs) for _ in range(CHECKED_STEPS)]
    gap = float(np.max(np.abs(np.subtract(first_ours, first_theirs))))
    if gap > 1e-3:
        raise SystemExit(f"case {case.name}: the two sides diverge (loss gap {gap:.2g})")
    samples = case.chunk * config.batch_size
    engine_rates, torch_rates, ratios = [], [], []
    for _ in range(rounds):
        engine_seconds = timed_chunk(ours, case.chunk)
        torch_seconds = timed_chunk(theirs, case.chunk)
        engine_rates.append(samples / engine_seconds)
        torch_rates.append(samples / torch_seconds)
        ratios.append(torch_seconds / engine_seconds)
    return _bench.median(engine_rates), _bench.median(torch_rates), _bench.median(ratios)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="timed chunks of each side")
    parser.add_argument("--threads", type=int, default=0, help="0: the engine's automatic choice")
    parser.add_argument("--only", default="a,b,c", help="cases to run, e.g. a,c")
    parser.add_argument(
        "--torch-fused", action="store_true", help="give torch its fused optimizers (not default)"
    )
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install -e '.[bench]'): nothing to compare.")
        return 0

    # No validation split: nothing but training happens inside the generator between chunks.
    data = load_dataset(val=0)
    images = torch.from_numpy(np.array(data.x_train)).float().div_(255)
    labels = torch.from_numpy(data.y_train.astype(np.int64))
    optimizers = "fused" if args.torch_fused else "default (for-loop)"
    print(f"machine: {_bench.machine_line()}; torch {torch.__version__}, {optimizers} optimizers")
    print(f"{'case':<5}{'network':<52}{'threads':>8}{'engine/s':>10}{'torch/s':>10}"
          f"{'ratio':>7}{'target':>8}")
    met_all = True
    for case in CASES:
        if case.name not in args.only.split(","):
            continue
        threads = _bench.threads_for(args.threads, case.config.batch_size)
        torch.set_num_threads(threads)
        with _bench.blas_threads(threads):
            engine_rate, torch_rate, ratio = compare(
                torch, case, data, images, labels, args.rounds, args.torch_fused
            )
        met_all &= ratio >= case.target
        print(f"{case.name:<5}{describe(case.config):<52}{threads:>8}{engine_rate:>10,.0f}"
              f"{torch_rate:>10,.0f}{ratio:>7.2f}{'>= ' + str(case.target):>8}")
    print("all targets met" if met_all else "some targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
