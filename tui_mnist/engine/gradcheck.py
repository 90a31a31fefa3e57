"""Backpropagation checked against central finite differences, in float64.

The analytic gradients come from Network.train_step (what training uses); the numeric ones
from Network.forward + softmax_cross_entropy alone, so the two share no backward code.
`gradient_check` samples a few entries of every weight matrix and bias of a float64 copy of a
network and returns the worst relative error per layer: fit for a worker thread, it prints
nothing and leaves the network it is given untouched. NumPy only: never imports live/, runs/,
session/ or tui/.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.dropout import Dropout
from tui_mnist.engine.losses import softmax_cross_entropy
from tui_mnist.engine.network import Network, Workspace

EPS = 1e-6  # float64: rounding and truncation errors of the difference are both ~1e-10
ENTRIES = 8  # entries sampled per weight matrix, and again per bias vector
# Below this size a gradient entry is compared absolutely, so two exact zeros (the weight of
# a pixel that is 0 in every image) score 0, not 0/0, and rounding noise in a difference of
# near-zero gradients does not pass for an error. Measured on fresh 784-128-64-10 networks,
# 8 test images, 30 entries per array: a correct backward pass scores at most 4e-6 (sigmoid),
# 2e-6 (ReLU), 3e-7 (tanh); a wrong derivative scores 1e-2 or more.
NOISE_FLOOR = 1e-8


def float64_copy(network: Network) -> Network:
    """A float64 copy of the network with the same activation object (a replaced derivative
    included: that is what a check is for)."""
    copy = Network(
        [w.astype(np.float64) for w in network.weights],
        [b.astype(np.float64) for b in network.biases],
        network.activation.name,
    )
    copy.activation = network.activation
    return copy


def loss(network: Network, x: np.ndarray, y: np.ndarray, dropout: Dropout | None = None) -> float:
    """Mean cross-entropy of the batch x (m, n0) against labels y (m,), by forward alone."""
    return softmax_cross_entropy(network.forward(x, Workspace(network, len(x)), dropout), y)


def backprop_gradients(
    network: Network, x: np.ndarray, y: np.ndarray, dropout: Dropout | None = None
) -> list[np.ndarray]:
    """dLoss/dparameter by Network.train_step, in parameter order (W0, b0, W1, b1, ...)."""
    workspace = Workspace(network, len(x))
    network.train_step(x, y, workspace, dropout)
    return [g.copy() for g in workspace.grads]


def central_difference(
    network: Network,
    x: np.ndarray,
    y: np.ndarray,
    parameter: np.ndarray,
    index: tuple[int, ...],
    dropout: Dropout | None = None,
    eps: float = EPS,
) -> float:
    """(L(p + eps) - L(p - eps)) / 2 eps for one entry of one of the network's parameters;
    the entry is restored afterwards."""
    saved = parameter[index]
    parameter[index] = saved + eps
    above = loss(network, x, y, dropout)
    parameter[index] = saved - eps
    below = loss(network, x, y, dropout)
    parameter[index] = saved
    return (above - below) / (2 * eps)


def numeric_gradients(
    network: Network, x: np.ndarray, y: np.ndarray, dropout: Dropout | None = None, eps: float = EPS
) -> list[np.ndarray]:
    """Every entry of every parameter by central differences, in parameter order. Two forward
    passes per entry: for tiny networks only."""
    gradients = []
    for p in network.parameters:
        g = np.empty_like(p)
        for index in np.ndindex(p.shape):
            g[index] = central_difference(network, x, y, p, index, dropout, eps)
        gradients.append(g)
    return gradients


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||) over whole arrays: 0 when they agree, 1 when one is 0."""
    return float(np.linalg.norm(analytic - numeric) / max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-300))


@dataclass(frozen=True)
class LayerCheck:
    layer: int  # 1 = W[0] and b[0]
    worst_error: float  # largest |a - n| / max(|a| + |n|, NOISE_FLOOR) over the sampled entries
    entries: int  # how many entries of W and b were compared


def gradient_check(
    network: Network,
    images: np.ndarray,
    labels: np.ndarray,
    normalizer: Normalizer,
    entries: int = ENTRIES,
    seed: int = 0,
    eps: float = EPS,
) -> list[LayerCheck]:
    """The worst relative error per layer between backprop and central differences, on the
    uint8 images (m, n0) with their labels (m,), for `entries` random entries of each W and
    each b (fewer when the array is smaller), on a float64 copy of the network."""
    copy = float64_copy(network)
    x = normalizer.apply(images, np.empty(images.shape, np.float64))
    analytic = backprop_gradients(copy, x, labels)
    rng = np.random.default_rng(seed)
    checks = []
    for layer, (w, b) in enumerate(zip(copy.weights, copy.biases)):
        worst, count = 0.0, 0
        for p, a in ((w, analytic[2 * layer]), (b, analytic[2 * layer + 1])):
            flat = rng.choice(p.size, size=min(entries, p.size), replace=False)
            for index in zip(*np.unravel_index(flat, p.shape)):
                n = central_difference(copy, x, labels, p, index, eps=eps)
                error = abs(a[index] - n) / max(abs(a[index]) + abs(n), NOISE_FLOOR)
                worst = max(worst, float(error))
                count += 1
        checks.append(LayerCheck(layer + 1, worst, count))
    return checks
