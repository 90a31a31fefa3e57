"""Guards for the speed and memory work: the in-place, mask-multiplying activations still compute
their textbook definitions, reused workspace buffers never leak between batches of different
sizes, and input standardization (fitted from a pixel histogram, applied in the buffer's own
precision) matches the plain formulas. (Gradient checks, optimizer formulas and same-seed
determinism are tested elsewhere.)"""

from __future__ import annotations

import numpy as np
import pytest

from tui_mnist.engine.activations import ACTIVATIONS, LEAKY_SLOPE
from tui_mnist.engine.data import HISTOGRAM_ROWS, Normalizer
from tui_mnist.engine.network import Network, Workspace

DEFINITIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0) * 1.0),
    "leaky_relu": (
        lambda z: np.where(z > 0, z, LEAKY_SLOPE * z),
        lambda z: np.where(z >= 0, 1.0, LEAKY_SLOPE),
    ),
    "sigmoid": (
        lambda z: 1 / (1 + np.exp(-np.clip(z, -500, 500))),
        lambda z: np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))) ** 2,
    ),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(np.clip(z, -300, 300)) ** 2),
}


def sample_inputs(dtype):
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, (7, 9))
    z[0, :5] = [0.0, -1e4, 1e4, -90.0, 90.0]  # zero, and values that overflow a naive exp
    return z.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_its_definition(name, dtype):
    forward, derivative = DEFINITIONS[name]
    activation = ACTIVATIONS[name]
    z = sample_inputs(dtype)
    reference = z.astype(np.float64)
    a = z.copy()
    with np.errstate(all="raise", under="ignore"):
        activation.forward(a)
        grad = np.ones_like(a) * 0.5
        activation.backward(a, grad)
    assert a.dtype == dtype and grad.dtype == dtype
    tolerance = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(a, forward(reference), rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(grad, 0.5 * derivative(reference), rtol=1e-5, atol=tolerance)


def test_smaller_batches_in_a_reused_workspace_match_a_fresh_one():
    network = Network.create((12, 8, 6, 4), "relu", np.random.default_rng(1), "float64")
    rng = np.random.default_rng(2)
    big = Workspace(network, capacity=10)
    x_big, y_big = rng.normal(size=(10, 12)), rng.integers(4, size=10)
    network.train_step(x_big, y_big, big)  # fills every row of the buffers
    for m in (7, 1):
        x, y = rng.normal(size=(m, 12)), rng.integers(4, size=m)
        reused = network.train_step(x, y, big)
        fresh_workspace = Workspace(network, capacity=m)
        fresh = network.train_step(x, y, fresh_workspace)
        assert reused == fresh
        for got, want in zip(big.grads, fresh_workspace.grads):
            np.testing.assert_array_equal(got, want)


def test_standardization_matches_mean_and_std():
    rng = np.random.default_rng(3)
    # Skewed like MNIST (mostly background), over several histogram blocks and a partial one.
    images = (rng.random((2 * HISTOGRAM_ROWS + 7, 30)) ** 4 * 256).astype(np.uint8)
    normalizer = Normalizer.fit(images, standardize=True)
    x = images / 255.0
    np.testing.assert_allclose(normalizer.scale, 1 / (255 * x.std()), rtol=1e-12)
    np.testing.assert_allclose(normalizer.offset, -x.mean() / x.std(), rtol=1e-12)
    standardized = normalizer.apply(images, np.empty(images.shape))
    np.testing.assert_allclose(standardized.mean(), 0, atol=1e-12)
    np.testing.assert_allclose(standardized.std(), 1, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalizer_applies_scale_then_offset_in_the_buffer_precision(dtype):
    pixels = np.arange(256, dtype=np.uint8).reshape(8, 32)
    normalizer = Normalizer(scale=1 / (255 * 0.3081), offset=-0.1307 / 0.3081)
    out = normalizer.apply(pixels, np.empty(pixels.shape, dtype))
    assert out.dtype == dtype
    expected = pixels * normalizer.scale + normalizer.offset
    # Absolute: the offset cancels the product near zero; terms are at most ~3 in size.
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6 if dtype == np.float32 else 1e-14)
