"""Backpropagation against central finite differences, in float64.

The analytic gradients come from Network.train_step (what training uses); the numeric ones
from Network.forward + softmax_cross_entropy alone, so the two share no backward code. Both
are engine/gradcheck.py's, the checker the app runs; the tests below also check the checker.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tui_mnist.engine.activations import ACTIVATIONS
from tui_mnist.engine.dropout import Dropout
from tui_mnist.engine.gradcheck import backprop_gradients, numeric_gradients, relative_error
from tui_mnist.engine.network import Network

TOLERANCE = 1e-6
SAMPLES = 4


def small_problem(sizes, activation, seed=0):
    rng = np.random.default_rng(seed)
    network = Network.create(sizes, activation, rng, dtype="float64")
    for b in network.biases:  # nonzero biases, so their gradients are exercised for real
        b[:] = rng.normal(0, 0.5, b.shape)
    x = rng.normal(0, 1, (SAMPLES, sizes[0]))
    y = rng.integers(sizes[-1], size=SAMPLES)
    return network, x, y


def relative_errors(network, analytic, numeric):
    """||a - n|| / (||a|| + ||n||) per parameter, keyed W0, b0, W1, b1, ..."""
    names = [f"{kind}{i}" for i in range(len(network.weights)) for kind in ("W", "b")]
    return {name: relative_error(a, n) for name, a, n in zip(names, analytic, numeric)}


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("sizes", [(6, 5, 3), (6, 5, 4, 3)], ids=["one-hidden", "two-hidden"])
def test_backprop_matches_finite_differences(activation, sizes):
    network, x, y = small_problem(sizes, activation)
    errors = relative_errors(
        network, backprop_gradients(network, x, y), numeric_gradients(network, x, y)
    )
    assert len(errors) == 2 * (len(sizes) - 1)  # every weight and bias was checked
    assert max(errors.values()) < TOLERANCE, errors


def drawn_dropout(network, rows, rate=0.5, seed=1):
    """Dropout with one batch's masks drawn; forward passes reuse them until the next draw."""
    dropout = Dropout(rate, network.hidden, rows, network.dtype)
    dropout.draw(np.random.default_rng(seed), rows)
    return dropout


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_with_dropout_matches_finite_differences(activation):
    network, x, y = small_problem((6, 5, 4, 3), activation)
    dropout = drawn_dropout(network, len(x))
    kept = [np.count_nonzero(mask) for mask in dropout.masks]
    assert all(0 < k < mask.size for k, mask in zip(kept, dropout.masks))  # some of each
    errors = relative_errors(
        network,
        backprop_gradients(network, x, y, dropout),
        numeric_gradients(network, x, y, dropout),
    )
    assert max(errors.values()) < TOLERANCE, errors


def test_checker_catches_dropout_left_out_of_the_backward_pass():
    network, x, y = small_problem((6, 5, 4, 3), "relu")
    dropout = drawn_dropout(network, len(x))
    numeric = numeric_gradients(network, x, y, dropout)
    dropout.backward = lambda layer, grad: None
    errors = relative_errors(network, backprop_gradients(network, x, y, dropout), numeric)
    assert errors["W0"] > 100 * TOLERANCE


def test_softmax_regression_gradients():
    network, x, y = small_problem((6, 3), "relu")
    errors = relative_errors(
        network, backprop_gradients(network, x, y), numeric_gradients(network, x, y)
    )
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("parameter", [0, 1, 3])  # W0, b0, b1
def test_checker_catches_one_wrong_entry(parameter):
    network, x, y = small_problem((6, 5, 4, 3), "tanh")
    analytic = backprop_gradients(network, x, y)
    wrong = analytic[parameter].reshape(-1)
    wrong[0] += 1e-3 * (np.abs(wrong).max() + 1e-3)
    errors = relative_errors(network, analytic, numeric_gradients(network, x, y))
    assert max(errors.values()) > 100 * TOLERANCE


def test_checker_catches_a_wrong_activation_derivative():
    def tanh_grad_missing_square(a, grad):
        grad *= 1 - a  # should be 1 - a^2

    network, x, y = small_problem((6, 5, 4, 3), "tanh")
    numeric = numeric_gradients(network, x, y)
    network.activation = dataclasses.replace(
        ACTIVATIONS["tanh"], backward=tanh_grad_missing_square
    )
    errors = relative_errors(network, backprop_gradients(network, x, y), numeric)
    assert errors["W2"] < TOLERANCE  # the output layer does not use the derivative...
    assert errors["W0"] > 100 * TOLERANCE  # ...the layers below it do
    assert errors["b1"] > 100 * TOLERANCE
