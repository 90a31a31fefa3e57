"""How fast the "look inside the network" analyses answer: the saliency of one test image, one
confusion matrix over the 10,000 test images, and the weights screen's maps of the first layer
(every unit's 28x28 image, from which it draws a page), at 784-128-10 and 784-1024-10; goal: at
most 50 ms each at 784-128-10, so a screen can show them without a wait.

    python benchmarks/insight_speed.py [--repeats 30] [--threads 0]

Networks are freshly initialized float32 ReLU networks (speed does not depend on the weights'
values); images come from the shipped MNIST. Saliency: `engine.saliency.saliency` (one forward,
one backward, one product with W0ᵀ) for a different test image each repeat; confusion:
`engine.confusion.confusion_of` (chunked predictions and one bincount); weights:
`engine.weights.first_layer_images` (scaled by the layer's largest weight). Each figure is the
median of --repeats timed calls after one untimed call. --threads 0 leaves numpy's BLAS its
default thread count, as in the app.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time

import _bench
import numpy as np

from tui_mnist.engine.confusion import confusion_of
from tui_mnist.engine.data import load_dataset
from tui_mnist.engine.network import Network
from tui_mnist.engine.saliency import saliency
from tui_mnist.engine.weights import first_layer_images

GOAL_MS = 50.0
ARCHITECTURES = ((784, 128, 10), (784, 1024, 10))


def median_ms(call, repeats: int) -> float:
    call(0)
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        call(i)
        times.append(time.perf_counter() - start)
    return 1000 * _bench.median(times)


def timings(network: Network, data, repeats: int) -> tuple[float, float, float]:
    """Median milliseconds of one image's saliency, of the test set's confusion matrix and of
    the first layer's weight maps."""
    one = median_ms(lambda i: saliency(network, data.x_test[i], data.normalizer, int(data.y_test[i])), repeats)
    whole = median_ms(lambda i: confusion_of(network, data.x_test, data.y_test, data.normalizer), repeats)
    maps = median_ms(lambda i: first_layer_images(network.weights[0], data.shape), repeats)
    return one, whole, maps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed calls per figure (default 30)")
    parser.add_argument("--threads", type=int, default=0, help="BLAS threads; 0: numpy's default")
    args = parser.parse_args(argv)
    data = load_dataset()
    print(f"machine: {_bench.machine_line()}")
    print(f"median of {args.repeats} calls; goal <= {GOAL_MS:.0f} ms each at 784-128-10\n")
    print(f"{'network':<14}{'saliency (1 image)':>20}{'confusion (10,000)':>20}{'weight maps':>14}")
    limit = _bench.blas_threads(args.threads) if args.threads else contextlib.nullcontext()
    with limit:
        for sizes in ARCHITECTURES:
            network = Network.create(sizes, "relu", np.random.default_rng(0))
            one, whole, maps = timings(network, data, args.repeats)
            print(f"{network.architecture:<14}{one:>17.2f} ms{whole:>17.1f} ms{maps:>11.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
