"""engine/weights.py: first-layer images against a reshaped, scaled column of W0; heat strips of a
deeper layer; per-layer and per-unit scales; a network without hidden layers."""

from __future__ import annotations

import numpy as np
import pytest

from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.network import Network
from tui_mnist.engine.weights import first_layer_images, layer_strips


def network(sizes, seed=3) -> Network:
    return Network.create(sizes, "relu", np.random.default_rng(seed))


def test_a_first_layer_image_is_its_column_of_w0_reshaped_and_scaled_by_the_layer():
    net = network((784, 16, 10))
    w0 = net.weights[0].astype(np.float64)
    images = first_layer_images(net.weights[0])
    assert images.shape == (16, 28, 28) and images.dtype == np.float64
    np.testing.assert_allclose(images[5], w0[:, 5].reshape(28, 28) / np.abs(w0).max())
    assert np.abs(images).max() == 1.0  # the layer's largest weight reaches full scale
    assert images.min() >= -1.0


def test_per_unit_scale_stretches_every_unit_to_full_contrast():
    net = network((784, 16, 10))
    w0 = net.weights[0].astype(np.float64)
    images = first_layer_images(net.weights[0], scale="unit")
    np.testing.assert_allclose(images[9], w0[:, 9].reshape(28, 28) / np.abs(w0[:, 9]).max())
    np.testing.assert_array_equal(np.abs(images).max(axis=(1, 2)), np.ones(16))


def test_a_network_without_hidden_layers_shows_its_ten_output_units():
    net = network((784, 10))
    w0 = net.weights[0].astype(np.float64)
    images = first_layer_images(net.weights[0])
    assert images.shape == (10, 28, 28)
    np.testing.assert_allclose(images[7], w0[:, 7].reshape(28, 28) / np.abs(w0).max())


def test_other_image_shapes_must_hold_the_inputs():
    net = network((12, 4, 3))
    assert first_layer_images(net.weights[0], shape=(3, 4)).shape == (4, 3, 4)
    with pytest.raises(ConfigError, match="takes 12 inputs"):
        first_layer_images(net.weights[0])


def test_a_deeper_layer_is_one_strip_per_unit_of_its_incoming_weights():
    net = network((784, 16, 8, 10))
    w1 = net.weights[1].astype(np.float64)
    strips = layer_strips(net.weights[1])
    assert strips.shape == (8, 16)
    np.testing.assert_allclose(strips, w1.T / np.abs(w1).max())
    np.testing.assert_allclose(layer_strips(net.weights[2], scale="unit")[4],
                               net.weights[2][:, 4] / np.abs(net.weights[2][:, 4]).max())


def test_zero_weights_stay_zero_instead_of_dividing_by_zero():
    net = network((4, 3, 2))
    net.weights[1][:] = 0
    net.weights[0][:, 1] = 0
    np.testing.assert_array_equal(layer_strips(net.weights[1]), np.zeros((2, 3)))
    np.testing.assert_array_equal(layer_strips(net.weights[0], scale="unit")[1], np.zeros(4))


def test_an_unknown_scale_is_refused():
    net = network((4, 3, 2))
    with pytest.raises(ConfigError, match="unknown weight scale"):
        layer_strips(net.weights[0], scale="row")
