"""Input gradients of one logit against central finite differences on the inputs (float64,
from Network.forward alone), and the last hidden layer's top units."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tui_mnist.engine.activations import ACTIVATIONS
from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.network import Network, Workspace
from tui_mnist.engine.saliency import input_gradients, saliency, top_units

EPS = 1e-6
TOLERANCE = 1e-7


def tiny_network(sizes, activation, seed=0):
    rng = np.random.default_rng(seed)
    network = Network.create(sizes, activation, rng, dtype="float64")
    for b in network.biases:
        b[:] = rng.normal(0, 0.5, b.shape)
    return network, rng.normal(0, 1, (1, sizes[0]))


def logit(network, x, target):
    return network.forward(x, Workspace(network, len(x)))[0, target]


def numeric_input_gradient(network, x, target):
    gradient = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        above, below = x.copy(), x.copy()
        above[0, j] += EPS
        below[0, j] -= EPS
        gradient[j] = (logit(network, above, target) - logit(network, below, target)) / (2 * EPS)
    return gradient


def relative_error(a, n):
    return np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("sizes", [(7, 5, 4), (7, 6, 5, 4), (7, 4)], ids=["one-hidden", "two-hidden", "no-hidden"])
@pytest.mark.parametrize("target", [0, 2])
def test_input_gradient_matches_finite_differences(activation, sizes, target):
    network, x = tiny_network(sizes, activation)
    analytic = input_gradients(network, x, np.array([target]))
    assert analytic.shape == x.shape
    assert relative_error(analytic[0], numeric_input_gradient(network, x, target)) < TOLERANCE


def test_two_classes_have_different_gradients():
    network, x = tiny_network((7, 6, 5, 4), "tanh")
    gradients = [input_gradients(network, x, np.array([c]))[0] for c in (0, 2)]
    assert relative_error(*gradients) > 0.1


def test_rows_of_a_batch_are_each_their_own_image():
    network, _ = tiny_network((7, 6, 5, 4), "relu")
    x = np.random.default_rng(3).normal(0, 1, (3, 7))
    targets = np.array([1, 3, 0])
    batch = input_gradients(network, x, targets)
    for r in range(3):
        np.testing.assert_allclose(batch[r], input_gradients(network, x[r : r + 1], targets[r : r + 1])[0])


def test_the_check_catches_a_wrong_activation_derivative():
    def tanh_grad_missing_square(a, grad):
        grad *= 1 - a  # should be 1 - a^2

    network, x = tiny_network((7, 6, 5, 4), "tanh")
    numeric = numeric_input_gradient(network, x, 2)
    network.activation = dataclasses.replace(ACTIVATIONS["tanh"], backward=tanh_grad_missing_square)
    assert relative_error(input_gradients(network, x, np.array([2]))[0], numeric) > 1e-3


def test_without_hidden_layers_the_gradient_is_the_class_column_and_no_units_are_reported():
    network, _ = tiny_network((784, 10), "relu")
    image = np.arange(784, dtype=np.uint8)
    result = saliency(network, image, Normalizer(scale=1 / 255, offset=0.0), target=3)
    np.testing.assert_allclose(result.gradient, network.weights[0][:, 3])
    assert result.units == []


def test_saliency_is_in_the_normalized_input_space():
    network, _ = tiny_network((784, 16, 10), "relu")
    normalizer = Normalizer(scale=0.02, offset=-0.4)
    image = np.random.default_rng(1).integers(0, 256, 784).astype(np.uint8)
    x = normalizer.apply(image.reshape(1, -1), np.empty((1, 784)))
    result = saliency(network, image, normalizer, target=5)
    np.testing.assert_allclose(result.gradient, input_gradients(network, x, np.array([5]))[0])
    np.testing.assert_allclose(result.logits, network.forward(x, Workspace(network, 1))[0])
    assert result.target == 5


def test_top_units_are_the_largest_activations_above_zero():
    activations = np.array([0.0, 2.5, -1.0, 0.7, 3.0, 0.1])
    assert top_units(activations, 3) == [(4, 3.0), (1, 2.5), (3, 0.7)]
    assert top_units(activations, 10) == [(4, 3.0), (1, 2.5), (3, 0.7), (5, 0.1)]


def test_saliency_reports_the_last_hidden_layers_top_units():
    network, _ = tiny_network((784, 8, 6, 10), "relu")
    network.biases[1][:] = [-5, 4, -5, 1, 3, 2]  # zero weights into the last hidden layer:
    network.weights[1][:] = 0  # its outputs are relu(bias), whatever the image
    result = saliency(network, np.zeros(784, np.uint8), Normalizer(1 / 255, 0.0), target=0, k=3)
    assert result.units == [(1, 4.0), (4, 3.0), (5, 2.0)]
