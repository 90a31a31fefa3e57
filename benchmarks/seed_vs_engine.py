"""The seed's network trained the seed's way, against tui-mnist's default training of the same
network: seconds of training and test accuracy of each.

    python benchmarks/seed_vs_engine.py

The seed: 784-10-10, ReLU, softmax, full-batch gradient descent with learning rate 0.1 for
500 iterations, written below as the plain NumPy loop it was (float64, images as columns,
fresh arrays every step, uniform [-0.5, 0.5) initial weights). tui-mnist: the same
architecture with the engine's mini-batch training (the "classic" preset: batch 128, momentum,
5 epochs). Both train on the same 55,000 images and are scored on the 10,000 test images.
"""

from __future__ import annotations

import argparse
import sys
import time

import _bench
import numpy as np

from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.presets import PRESETS
from tui_mnist.engine.progress import RunFinished
from tui_mnist.engine.training import Trainer


def seed_train(x_train, y_train, iterations=500, alpha=0.1, seed=0):
    """Full-batch gradient descent, as the seed wrote it. x_train: (784, m) in [0, 1]."""
    rng = np.random.default_rng(seed)
    W1 = rng.random((10, 784)) - 0.5
    b1 = rng.random((10, 1)) - 0.5
    W2 = rng.random((10, 10)) - 0.5
    b2 = rng.random((10, 1)) - 0.5
    m = x_train.shape[1]
    one_hot = np.zeros((10, m))
    one_hot[y_train, np.arange(m)] = 1
    for _ in range(iterations):
        Z1 = W1.dot(x_train) + b1
        A1 = np.maximum(Z1, 0)
        Z2 = W2.dot(A1) + b2
        A2 = np.exp(Z2) / np.sum(np.exp(Z2), axis=0)
        dZ2 = A2 - one_hot
        dW2 = 1 / m * dZ2.dot(A1.T)
        db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
        dZ1 = W2.T.dot(dZ2) * (Z1 > 0)
        dW1 = 1 / m * dZ1.dot(x_train.T)
        db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)
        W1 = W1 - alpha * dW1
        b1 = b1 - alpha * db1
        W2 = W2 - alpha * dW2
        b2 = b2 - alpha * db2
    return W1, b1, W2, b2


def seed_accuracy(params, x, y) -> float:
    W1, b1, W2, b2 = params
    scores = W2.dot(np.maximum(W1.dot(x) + b1, 0)) + b2
    return float(np.mean(scores.argmax(axis=0) == y))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=500)
    args = parser.parse_args(argv)
    config = PRESETS["classic"][1]
    data = load_dataset(val=config.val)
    print(f"machine: {_bench.machine_line()}")

    x_train = data.x_train.T / 255.0
    x_test = data.x_test.T / 255.0
    started = time.perf_counter()
    params = seed_train(x_train, data.y_train, iterations=args.iterations)
    seed_seconds = time.perf_counter() - started
    seed_acc = seed_accuracy(params, x_test, data.y_test)

    with _bench.blas_threads(_bench.threads_for(config.threads, config.batch_size)):
        finished = [r for r in Trainer(config, data).run() if isinstance(r, RunFinished)][0]

    print(f"{'':<52}{'train seconds':>14}{'test accuracy':>15}")
    print(f"{f'seed: full-batch GD, lr 0.1, {args.iterations} iterations':<52}"
          f"{seed_seconds:>14.2f}{seed_acc:>15.2%}")
    engine = (f"tui-mnist: batch {config.batch_size}, {config.optimizer} lr {config.lr:g}, "
              f"{config.epochs} epochs")
    print(f"{engine:<52}{finished.seconds:>14.2f}{finished.test_acc:>15.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
