"""Training throughput of tui-mnist's NumPy engine against PyTorch eager on the same CPU.

Both sides train the same MLP from the same initial weights, on the same batches in the same
order, with the same optimizer and the same number of threads; runs alternate engine / torch
within this one process, and the script prints the median samples per second of each and
their ratio (engine / torch; above 1 means the engine is faster).

    python benchmarks/compare_torch.py [--rounds 5] [--threads N] [--only a,b,c]

PyTorch is the optional `bench` extra (pip install -e '.[bench]'); without it the script says
so and exits 0.

What each side does per batch: the engine's `Trainer.run()` generator as the app and CLI use it
(gather uint8 rows, scale to float32, forward, loss, accuracy, backward, update, yield a
progress record). The torch loop is idiomatic eager code and gets the data already as one
float32 tensor: index the batch, zero_grad, forward, cross_entropy, backward, step, and read
back the loss and the number of correct predictions (the same per-batch numbers the engine
reports).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import dataclass

import _bench
import numpy as np

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.progress import BatchProgress
from tui_mnist.engine.training import Trainer


@dataclass(frozen=True)
class Case:
    name: str
    config: TrainConfig
    samples: int  # training samples per timed run
    target: float  # wanted engine/torch ratio


CASES = [
    Case(
        "a",
        TrainConfig(hidden=(128,), batch_size=128, optimizer="momentum", momentum=0.9, lr=0.1),
        55_000,
        1.3,
    ),
    Case(
        "b",
        TrainConfig(hidden=(512, 256), batch_size=256, optimizer="adam", lr=1e-3),
        25_600,
        1.0,
    ),
    Case(
        "c",
        TrainConfig(hidden=(100,), activation="sigmoid", batch_size=10, optimizer="sgd", lr=3.0),
        20_000,
        2.0,
    ),
]
CHECKED_STEPS = 20  # batches whose losses must agree between the two implementations


def describe(config: TrainConfig) -> str:
    optimizer = {
        "momentum": f"momentum {config.momentum} lr {config.lr:g}",
        "adam": f"Adam lr {config.lr:g}",
        "sgd": f"SGD lr {config.lr:g}",
    }[config.optimizer]
    return f"{config.architecture} {config.activation}, batch {config.batch_size}, {optimizer}"


def run_engine(trainer: Trainer, batches: int) -> tuple[float, list[float]]:
    """Seconds for `batches` steps of the real training generator, and the first losses."""
    losses = []
    started = time.perf_counter()
    for record in trainer.run():
        if isinstance(record, BatchProgress):
            if record.step <= CHECKED_STEPS:
                losses.append(record.loss)
            if record.step == batches:
                break
    return time.perf_counter() - started, losses


class TorchRun:
    """The same network, weights, batches and optimizer in PyTorch eager."""

    def __init__(self, torch, trainer: Trainer, images, labels):
        nn = torch.nn
        config = trainer.config
        activation = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[config.activation]
        layers = []
        for w, b in zip(trainer.network.weights, trainer.network.biases):
            linear = nn.Linear(*w.shape)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(w.T.copy()))
                linear.bias.copy_(torch.from_numpy(b))
            layers += [linear, activation()]
        self.model = nn.Sequential(*layers[:-1])
        params = self.model.parameters()
        if config.optimizer == "adam":
            self.optimizer = torch.optim.Adam(params, lr=config.lr)
        else:
            momentum = config.momentum if config.optimizer == "momentum" else 0.0
            self.optimizer = torch.optim.SGD(params, lr=config.lr, momentum=momentum)
        # The engine's batch order comes from its generator; a copy replays it exactly.
        order = copy.deepcopy(trainer.rng).permutation(len(trainer.data.x_train))
        self.order = torch.from_numpy(order)
        self.images, self.labels = images, labels
        self.batch_size = config.batch_size
        self.torch = torch

    def run(self, batches: int) -> tuple[float, list[float]]:
        functional = self.torch.nn.functional
        model, optimizer, bs = self.model, self.optimizer, self.batch_size
        losses = []
        started = time.perf_counter()
        for batch in range(batches):
            rows = self.order[batch * bs : (batch + 1) * bs]
            x, y = self.images[rows], self.labels[rows]
            optimizer.zero_grad()
            logits = model(x)
            loss = functional.cross_entropy(logits, y)
            loss.backward()
            optimizer.step()
            loss_value = loss.item()
            _correct = (logits.argmax(1) == y).sum().item()
            if batch < CHECKED_STEPS:
                losses.append(loss_value)
        return time.perf_counter() - started, losses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timed runs of each side (median)")
    parser.add_argument("--threads", type=int, default=0, help="0: the engine's automatic choice")
    parser.add_argument("--only", default="a,b,c", help="cases to run, e.g. a,c")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed (pip install -e '.[bench]'): nothing to compare.")
        return 0

    data = load_dataset()
    images = torch.from_numpy(data.x_train).float().div_(255)
    labels = torch.from_numpy(data.y_train.astype(np.int64))
    print(f"machine: {_bench.machine_line()}; torch {torch.__version__}")
    print(f"{'case':<5}{'network':<58}{'threads':>8}{'engine/s':>11}{'torch/s':>11}"
          f"{'ratio':>7}{'target':>8}")
    met_all = True
    for case in CASES:
        if case.name not in args.only.split(","):
            continue
        config = case.config
        threads = _bench.threads_for(args.threads, config.batch_size)
        batches = case.samples // config.batch_size
        torch.set_num_threads(threads)
        engine_rates, torch_rates = [], []
        with _bench.blas_threads(threads):
            # Round 0 warms up both (page faults, BLAS buffers, torch's allocator); not counted.
            for round_ in range(args.rounds + 1):
                trainer = Trainer(config, data)
                competitor = TorchRun(torch, trainer, images, labels)
                engine_seconds, engine_losses = run_engine(trainer, batches)
                torch_seconds, torch_losses = competitor.run(batches)
                if round_ == 0:
                    gap = float(np.max(np.abs(np.subtract(engine_losses, torch_losses))))
                    if gap > 1e-3:
                        print(f"case {case.name}: the two sides diverge (loss gap {gap:.2g})")
                        return 1
                    continue
                engine_rates.append(batches * config.batch_size / engine_seconds)
                torch_rates.append(batches * config.batch_size / torch_seconds)
        ratio = _bench.median(engine_rates) / _bench.median(torch_rates)
        met_all &= ratio >= case.target
        print(f"{case.name:<5}{describe(config):<58}{threads:>8}"
              f"{_bench.median(engine_rates):>11,.0f}{_bench.median(torch_rates):>11,.0f}"
              f"{ratio:>7.2f}{'>= ' + str(case.target):>8}")
    print("all targets met" if met_all else "some targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
