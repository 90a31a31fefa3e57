"""Evaluation of a network on a labelled set, in fixed-size chunks through reused buffers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.idx import NUM_CLASSES
from tui_mnist.engine.losses import softmax, softmax_cross_entropy
from tui_mnist.engine.network import EVAL_CHUNK, Network, Workspace


def _logit_chunks(
    network: Network, images: np.ndarray, normalizer: Normalizer, workspace: Workspace | None
) -> Iterator[tuple[slice, np.ndarray]]:
    """(rows, logits) for consecutive chunks of the images; logits live in the workspace."""
    workspace = workspace or Workspace(network, max(1, min(EVAL_CHUNK, len(images))))
    for start in range(0, len(images), workspace.capacity):
        rows = slice(start, start + workspace.capacity)
        chunk = images[rows]
        x = normalizer.apply(chunk, workspace.inputs[: len(chunk)])
        yield rows, network.forward(x, workspace)


def predict_proba(
    network: Network, images: np.ndarray, normalizer: Normalizer, workspace: Workspace | None = None
) -> np.ndarray:
    """Softmax probabilities (n, classes) for uint8 images (n, pixels)."""
    out = np.empty((len(images), network.sizes[-1]), dtype=network.dtype)
    for rows, logits in _logit_chunks(network, images, normalizer, workspace):
        out[rows] = softmax(logits)
    return out


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = NUM_CLASSES) -> np.ndarray:
    """Counts (classes, classes) int64: [t, p] is how many images of class t were predicted p.
    The total is len(labels) and the trace the number predicted correctly."""
    labels = np.asarray(labels, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    return np.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def evaluate(
    network: Network,
    images: np.ndarray,
    labels: np.ndarray,
    normalizer: Normalizer,
    workspace: Workspace | None = None,
    confusion: np.ndarray | None = None,
) -> tuple[float, float]:
    """Mean cross-entropy loss and accuracy (a fraction) over the whole set. A `confusion`
    matrix (classes, classes) given is overwritten with the counts [true, predicted]."""
    total_loss = 0.0
    correct = 0
    if confusion is not None:
        confusion[...] = 0
    for rows, logits in _logit_chunks(network, images, normalizer, workspace):
        y = labels[rows]
        predicted = logits.argmax(axis=1)
        correct += int(np.count_nonzero(predicted == y))
        if confusion is not None:
            confusion += confusion_matrix(y, predicted, len(confusion))
        total_loss += softmax_cross_entropy(logits, y) * len(y)
    return total_loss / len(images), correct / len(images)
