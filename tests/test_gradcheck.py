"""The app's gradient check: small worst errors per layer for a correct backward pass, large
ones for a wrong derivative, on real MNIST images; the checked network is left as it was."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tui_mnist.engine.activations import ACTIVATIONS
from tui_mnist.engine.gradcheck import float64_copy, gradient_check
from tui_mnist.engine.network import Network

IMAGES = 8


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_a_correct_network_passes_in_every_layer(mnist, activation):
    network = Network.create((784, 32, 16, 10), activation, np.random.default_rng(0))
    checks = gradient_check(network, mnist.x_test[:IMAGES], mnist.y_test[:IMAGES], mnist.normalizer)
    assert [check.layer for check in checks] == [1, 2, 3]
    assert [check.entries for check in checks] == [16, 16, 16]
    assert max(check.worst_error for check in checks) < 1e-4, checks


def test_small_arrays_are_checked_whole(mnist):
    network = Network.create((784, 3, 10), "relu", np.random.default_rng(0))
    checks = gradient_check(network, mnist.x_test[:IMAGES], mnist.y_test[:IMAGES], mnist.normalizer, entries=5)
    assert [check.entries for check in checks] == [5 + 3, 5 + 5]


def test_a_wrong_derivative_shows_below_the_output_layer(mnist):
    def tanh_grad_missing_square(a, grad):
        grad *= 1 - a  # should be 1 - a^2

    network = Network.create((784, 32, 16, 10), "tanh", np.random.default_rng(0))
    network.activation = dataclasses.replace(ACTIVATIONS["tanh"], backward=tanh_grad_missing_square)
    checks = gradient_check(network, mnist.x_test[:IMAGES], mnist.y_test[:IMAGES], mnist.normalizer)
    assert checks[2].worst_error < 1e-4  # the output layer does not use the derivative
    assert checks[0].worst_error > 1e-2
    assert checks[1].worst_error > 1e-2


def test_the_checked_network_is_untouched(mnist):
    network = Network.create((784, 16, 10), "relu", np.random.default_rng(0))
    before = [p.copy() for p in network.parameters]
    gradient_check(network, mnist.x_test[:IMAGES], mnist.y_test[:IMAGES], mnist.normalizer)
    assert all((p == q).all() and p.dtype == np.float32 for p, q in zip(network.parameters, before))


def test_the_copy_is_float64_with_the_same_values():
    network = Network.create((6, 4, 3), "sigmoid", np.random.default_rng(0))
    copy = float64_copy(network)
    assert copy.dtype == np.float64
    assert copy.activation is network.activation
    assert all((p == q).all() for p, q in zip(copy.parameters, network.parameters))
    assert all(p is not q for p, q in zip(copy.parameters, network.parameters))
