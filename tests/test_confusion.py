"""The confusion matrix and what is read from it, on hand-built cases, and on MNIST through a
network whose every prediction is known."""

from __future__ import annotations

import numpy as np

from tui_mnist.engine.confusion import (
    confusion_matrix,
    confusion_of,
    most_confused,
    precision_recall,
    predicted_classes,
)
from tui_mnist.engine.metrics import evaluate
from tui_mnist.engine.network import EVAL_CHUNK, Network

LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
PREDICTED = np.array([0, 0, 1, 1, 1, 1, 1, 0, 2])


def test_rows_are_true_classes_and_columns_predicted_ones():
    matrix = confusion_matrix(LABELS, PREDICTED, classes=3)
    assert matrix.dtype == np.int64
    assert matrix.tolist() == [[2, 1, 0], [0, 2, 0], [1, 2, 1]]
    assert matrix.sum() == len(LABELS)
    assert np.trace(matrix) == np.count_nonzero(LABELS == PREDICTED)


def test_the_default_is_ten_classes():
    assert confusion_matrix(np.array([9]), np.array([3])).shape == (10, 10)
    assert confusion_matrix(np.array([9]), np.array([3]))[9, 3] == 1


def test_precision_is_per_column_and_recall_per_row():
    precision, recall = precision_recall(confusion_matrix(LABELS, PREDICTED, classes=3))
    np.testing.assert_allclose(precision, [2 / 3, 2 / 5, 1 / 1])
    np.testing.assert_allclose(recall, [2 / 3, 2 / 2, 1 / 4])


def test_a_class_never_predicted_has_no_precision_and_one_without_images_no_recall():
    matrix = confusion_matrix(np.array([0, 0, 1]), np.array([0, 1, 1]), classes=3)
    precision, recall = precision_recall(matrix)
    assert np.isnan(precision[2])
    assert np.isnan(recall[2])
    np.testing.assert_allclose(precision[:2], [1, 1 / 2])
    np.testing.assert_allclose(recall[:2], [1 / 2, 1])


def test_most_confused_pairs_leave_out_the_diagonal_and_empty_cells():
    matrix = np.array([[50, 3, 0], [7, 40, 3], [1, 0, 60]])
    assert most_confused(matrix) == [(1, 0, 7), (0, 1, 3), (1, 2, 3), (2, 0, 1)]
    assert most_confused(matrix, top=2) == [(1, 0, 7), (0, 1, 3)]
    assert most_confused(np.diag([5, 5, 5])) == []


def constant_network(predicted_class):
    """784-10 with zero weights and one large bias: predicts `predicted_class` for every image."""
    biases = np.zeros(10, np.float32)
    biases[predicted_class] = 10
    return Network([np.zeros((784, 10), np.float32)], [biases], "relu")


def test_a_network_that_always_says_seven_fills_column_seven(mnist):
    images, labels = mnist.x_test[: EVAL_CHUNK + 500], mnist.y_test[: EVAL_CHUNK + 500]  # 2 chunks
    matrix = confusion_of(constant_network(7), images, labels, mnist.normalizer)
    assert matrix[:, 7].tolist() == np.bincount(labels, minlength=10).tolist()
    assert matrix.sum() == matrix[:, 7].sum() == len(labels)
    precision, recall = precision_recall(matrix)
    assert np.isnan(precision[[0, 1, 2, 3, 4, 5, 6, 8, 9]]).all()
    assert precision[7] == np.mean(labels == 7)
    assert recall.tolist() == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0]


def test_the_trace_agrees_with_evaluate(mnist_small):
    network = Network.create((784, 32, 10), "relu", np.random.default_rng(0))
    data = mnist_small
    matrix = confusion_of(network, data.x_test, data.y_test, data.normalizer)
    accuracy = evaluate(network, data.x_test, data.y_test, data.normalizer)[1]
    assert np.trace(matrix) == round(accuracy * len(data.y_test))
    predicted = predicted_classes(network, data.x_test, data.normalizer)
    assert predicted.shape == data.y_test.shape
    assert (matrix == confusion_matrix(data.y_test, predicted)).all()
