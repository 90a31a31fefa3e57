"""Inverted dropout's masks; its gradients are checked in test_gradients.py."""

from __future__ import annotations

import numpy as np
import pytest

from tui_mnist.engine.dropout import Dropout


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_masks_drop_the_rate_and_keep_the_expected_output(rate):
    dropout = Dropout(rate, (500, 300), capacity=200, dtype=np.float32)
    dropout.draw(np.random.default_rng(0), 200)
    for mask in dropout.masks:
        assert mask.dtype == np.float32
        assert set(np.unique(mask)) == {0.0, dropout.scale}
        assert dropout.scale == pytest.approx(1 / (1 - rate), rel=1e-4)
        assert np.mean(mask == 0) == pytest.approx(rate, abs=0.01)
        assert mask.mean() == pytest.approx(1.0, abs=0.02)  # expected output unchanged


def test_each_batch_gets_new_masks_and_the_same_seed_the_same_ones():
    def masks_of_two_batches(seed):
        dropout = Dropout(0.5, (64,), capacity=32, dtype=np.float64)
        rng = np.random.default_rng(seed)
        dropout.draw(rng, 32)
        first = dropout.masks[0].copy()
        dropout.draw(rng, 32)
        return first, dropout.masks[0].copy()

    first, second = masks_of_two_batches(7)
    assert not np.array_equal(first, second)
    again = masks_of_two_batches(7)
    np.testing.assert_array_equal(first, again[0])
    np.testing.assert_array_equal(second, again[1])


def test_apply_writes_its_own_buffer_and_leaves_the_activation_intact():
    dropout = Dropout(0.5, (8,), capacity=4, dtype=np.float64)
    dropout.draw(np.random.default_rng(0), 3)  # a short last batch: 3 of 4 rows
    a = np.arange(24, dtype=np.float64).reshape(3, 8) + 1
    before = a.copy()
    dropped = dropout.apply(0, a)
    np.testing.assert_array_equal(a, before)
    np.testing.assert_array_equal(dropped, before * dropout.masks[0][:3])
    assert np.count_nonzero(dropped == 0) == np.count_nonzero(dropout.masks[0][:3] == 0) > 0
