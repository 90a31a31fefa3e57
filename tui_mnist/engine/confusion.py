"""Which digits the network mistakes for which: a confusion matrix and what it says per class.

Rows are true classes, columns predicted ones. Predictions come from `metrics.predict_proba`
(chunked forward passes through reused buffers, the normalizer applied per chunk), so this
module adds counting only. NumPy only: never imports live/, runs/, session/ or tui/.
"""

from __future__ import annotations

import numpy as np

from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.metrics import confusion_matrix, predict_proba
from tui_mnist.engine.network import Network, Workspace


def predicted_classes(
    network: Network, images: np.ndarray, normalizer: Normalizer, workspace: Workspace | None = None
) -> np.ndarray:
    """The class the network picks for each of the uint8 images (n, pixels): (n,) int64."""
    # argmax of the probabilities is argmax of the logits; the softmax costs ~1 % of the pass.
    return predict_proba(network, images, normalizer, workspace).argmax(axis=1)


def confusion_of(
    network: Network,
    images: np.ndarray,
    labels: np.ndarray,
    normalizer: Normalizer,
    workspace: Workspace | None = None,
) -> np.ndarray:
    """The confusion matrix (classes, classes) int64 of the network on a labelled set."""
    classes = network.sizes[-1]
    return confusion_matrix(labels, predicted_classes(network, images, normalizer, workspace), classes)


def precision_recall(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision and recall, two (classes,) float64 arrays.

    Precision of class c: the share of images predicted c that are c (column c); recall: the
    share of images of class c predicted c (row c). A class never predicted has no precision,
    and a class with no images no recall: those entries are NaN, never 0 or an error.
    """
    correct = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, correct / predicted, np.nan)
        recall = np.where(actual > 0, correct / actual, np.nan)
    return precision, recall


def most_confused(matrix: np.ndarray, top: int | None = None) -> list[tuple[int, int, int]]:
    """(true, predicted, count) for the off-diagonal cells with a nonzero count, the largest
    count first (ties: smaller true class, then smaller predicted class first); at most `top`."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    true, predicted = np.nonzero(off)
    counts = off[true, predicted]
    # lexsort sorts by its last key first: count descending, then true, then predicted.
    order = np.lexsort((predicted, true, -counts))[:top]
    return [(int(true[i]), int(predicted[i]), int(counts[i])) for i in order]
