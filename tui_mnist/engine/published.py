"""Published MNIST test errors of classic fully connected networks, and the one closest to a
run's network: the training screen draws it on the accuracy chart as a line to beat.

The numbers are the papers' own, for networks trained on the 60,000 training images as given
(no distortions, no deskewing) and tested on the 10,000 test images:

- LeCun, Bottou, Bengio, Haffner, "Gradient-based learning applied to document recognition",
  Proceedings of the IEEE 86(11), 1998, its comparison of classifiers on the test set (the
  "2-layer NN" and "3-layer NN" rows: the paper counts layers of weights, so 2 = 1 hidden).
- Simard, Steinkraus, Platt, "Best practices for convolutional neural networks applied to
  visual document analysis", ICDAR 2003, its table of results (2-layer MLP, cross-entropy
  loss, no distortion).

Stdlib only, like choices.py: the table costs nothing to import.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from tui_mnist.engine.layer_sizes import architecture

MNIST_SIZES = (784, 10)  # (inputs, classes) the papers' networks have


@dataclass(frozen=True)
class PublishedMLP:
    sizes: tuple[int, ...]  # input, hidden..., output
    test_error: float  # percent of the 10,000 test images
    source: str  # short citation, as the chart's legend shows it
    citation: str

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.sizes[1:-1]

    @property
    def test_accuracy(self) -> float:
        """Percent right: 100 - test_error."""
        return 100 - self.test_error

    @property
    def label(self) -> str:
        """`LeCun 1998, 784-300-10: 95.3 %`: the source, the network and its test accuracy."""
        return f"{self.source}, {architecture(self.sizes)}: {self.accuracy_text}"

    @property
    def short_label(self) -> str:
        """`LeCun 1998: 95.3 %`, where the network goes without saying."""
        return f"{self.source}: {self.accuracy_text}"

    @property
    def accuracy_text(self) -> str:
        """`95.3 %`: as many decimals as the paper gave its error."""
        return f"{self.test_accuracy:.2f}".rstrip("0").rstrip(".") + " %"


LECUN_1998 = (
    "Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, Gradient-based learning applied to document "
    "recognition, Proc. IEEE 86(11), 1998"
)
SIMARD_2003 = (
    "P. Y. Simard, D. Steinkraus, J. C. Platt, Best practices for convolutional neural networks "
    "applied to visual document analysis, ICDAR 2003"
)

CLASSIC_MLPS: tuple[PublishedMLP, ...] = (
    PublishedMLP((784, 300, 10), 4.7, "LeCun 1998", LECUN_1998),
    PublishedMLP((784, 1000, 10), 4.5, "LeCun 1998", LECUN_1998),
    PublishedMLP((784, 300, 100, 10), 3.05, "LeCun 1998", LECUN_1998),
    PublishedMLP((784, 500, 150, 10), 2.95, "LeCun 1998", LECUN_1998),
    PublishedMLP((784, 800, 10), 1.6, "Simard 2003", SIMARD_2003),
)


def width_distance(hidden: Sequence[int], other: Sequence[int]) -> float:
    """How far apart two equally deep stacks of hidden layers are: the sum over layers of
    |log(width ratio)|. Ratios, not differences: 300 -> 600 is as big a change as 500 -> 1000."""
    return sum(abs(math.log(a / b)) for a, b in zip(hidden, other))


def closest_mlp(sizes: Sequence[int], table: Sequence[PublishedMLP] = CLASSIC_MLPS) -> PublishedMLP | None:
    """The published network closest to one of layer `sizes` (input, hidden..., output), or None.

    Closest: the same input and output sizes (MNIST's 784 and 10) and the same number of hidden
    layers, then the least `width_distance` between the hidden widths; of equally close ones,
    the first in `table`. None for a network no paper here matches that way (no hidden layer,
    three or more, or other data)."""
    sizes = tuple(sizes)
    if len(sizes) < 3 or (sizes[0], sizes[-1]) != MNIST_SIZES:
        return None
    hidden = sizes[1:-1]
    same_depth = [paper for paper in table if len(paper.hidden) == len(hidden)]
    if not same_depth:
        return None
    return min(same_depth, key=lambda paper: width_distance(hidden, paper.hidden))
