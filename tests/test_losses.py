"""Softmax cross-entropy: values, numerical stability and its gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_mnist.engine.losses import softmax, softmax_cross_entropy, softmax_cross_entropy_grad


def reference_probabilities(logits):
    """Softmax in long double arithmetic, written independently of the engine."""
    z = np.asarray(logits, dtype=np.longdouble)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_give_finite_exact_loss(dtype):
    logits = np.array(
        [
            [1000.0, -1000.0, 0.0],  # confident and right: loss 0
            [-1000.0, 1000.0, 999.0],  # right class one below the top: 1 + ln(1 + e^-1)
            [1000.0, -1000.0, -1000.0],  # confident and wrong by 2000
        ],
        dtype=dtype,
    )
    labels = np.array([0, 2, 1])
    expected = (0.0 + (1 + math.log(1 + math.exp(-1))) + 2000.0) / 3

    # No overflow, no log(0), no 0/0 (exp underflowing to 0 is expected and harmless).
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        loss = softmax_cross_entropy(logits, labels)

    assert math.isfinite(loss)
    assert loss == pytest.approx(expected, rel=1e-6)
    # In place: the logits now hold probabilities.
    assert np.isfinite(logits).all()
    np.testing.assert_allclose(logits.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(logits[0], [1, 0, 0], atol=1e-12)


@pytest.mark.parametrize("level", [0.0, 7.5, -300.0])
def test_uniform_prediction_costs_ln_10(level):
    logits = np.full((4, 10), level)
    assert softmax_cross_entropy(logits, np.array([0, 3, 9, 5])) == pytest.approx(math.log(10))
    np.testing.assert_allclose(logits, 0.1)


def test_loss_is_the_mean_negative_log_probability():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (8, 10))
    labels = rng.integers(10, size=8)
    p = reference_probabilities(logits)
    expected = -np.log(p[np.arange(8), labels]).mean()
    assert softmax_cross_entropy(logits.copy(), labels) == pytest.approx(expected, rel=1e-12)


def test_gradient_is_probabilities_minus_onehot_over_batch():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 3, (5, 10))
    labels = rng.integers(10, size=5)
    onehot = np.eye(10)[labels]
    expected = (reference_probabilities(logits) - onehot) / 5

    work = logits.copy()
    softmax_cross_entropy(work, labels)
    gradient = softmax_cross_entropy_grad(work, labels)

    np.testing.assert_allclose(gradient, expected, atol=1e-15)
    np.testing.assert_allclose(gradient.sum(axis=1), 0, atol=1e-15)


def test_softmax_leaves_its_input_alone_and_agrees_with_the_fused_loss():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 500, (6, 10))
    original = logits.copy()
    probabilities = softmax(logits)
    np.testing.assert_array_equal(logits, original)
    np.testing.assert_allclose(probabilities, reference_probabilities(logits), atol=1e-15)
    softmax_cross_entropy(logits, np.zeros(6, dtype=int))
    np.testing.assert_allclose(logits, probabilities, atol=1e-15)
