"""Per-layer health figures on networks built so that every figure is known, and the hints
drawn from constructed histories."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_mnist.engine.health import (
    EpochHealth,
    LayerHealth,
    dead_share,
    hints,
    layer_health,
    saturated_share,
    update_ratio,
)
from tui_mnist.engine.network import Network

PROBE = np.random.default_rng(0).normal(0, 1, (32, 6))


def network_with_biases(activation, hidden_biases):
    """6-len(hidden_biases)-3 with tiny first-layer weights: the hidden outputs are about
    activation(bias), whatever the probe image."""
    n = len(hidden_biases)
    weights = [np.full((6, n), 1e-3), np.ones((n, 3))]
    biases = [np.array(hidden_biases, dtype=np.float64), np.zeros(3)]
    return Network(weights, biases, activation)


def test_very_negative_biases_kill_every_relu():
    network = network_with_biases("relu", [-100.0] * 4)
    assert layer_health(network, PROBE)[0].dead_share == 1.0


def test_the_dead_share_counts_units_never_active():
    network = network_with_biases("relu", [-100.0, -100.0, -100.0, 1.0, 100.0, 0.5, 2.0, 3.0])
    assert layer_health(network, PROBE)[0].dead_share == 3 / 8


def test_a_unit_active_on_one_probe_image_is_alive():
    outputs = np.zeros((10, 2))
    outputs[4, 1] = 0.3
    assert dead_share(outputs) == 0.5


@pytest.mark.parametrize(
    ("activation", "biases", "share"),
    [
        ("sigmoid", [50.0, -50.0, 0.0, 0.0], 0.5),
        ("sigmoid", [10.0] * 3, 1.0),
        ("tanh", [50.0, -50.0, -50.0, 0.0, 0.1], 0.6),
        ("tanh", [0.0, 0.5], 0.0),
    ],
)
def test_saturated_share(activation, biases, share):
    network = network_with_biases(activation, biases)
    assert layer_health(network, PROBE)[0].saturated_share == share


def test_a_unit_is_saturated_only_on_most_probe_images():
    outputs = np.zeros((10, 2))
    outputs[:5, 0] = 0.999  # half the images: not most
    outputs[:6, 1] = -0.999
    assert saturated_share(outputs, "tanh") == 0.5


def test_figures_that_do_not_apply_are_none():
    relu = layer_health(network_with_biases("relu", [1.0, 2.0]), PROBE)
    tanh = layer_health(network_with_biases("tanh", [1.0, 2.0]), PROBE)
    leaky = layer_health(network_with_biases("leaky_relu", [-100.0, -100.0]), PROBE)
    assert relu[0].saturated_share is None
    assert tanh[0].dead_share is None
    assert leaky[0].dead_share is None and leaky[0].saturated_share is None
    assert relu[1].dead_share is None and relu[1].saturated_share is None  # the output layer
    assert relu[0].gradient_norm is None and relu[0].update_ratio is None


def test_norms_and_update_ratios_per_layer():
    network = network_with_biases("relu", [1.0, 2.0])
    network.weights[0][:] = 2.0  # 12 entries: norm sqrt(12 * 4)
    gradients = [np.full((6, 2), 0.5), np.zeros(2), np.full((2, 3), 3.0), np.zeros(3)]
    lr = 0.1
    layers = layer_health(network, PROBE, gradients, [lr * g for g in gradients])
    assert [layer.layer for layer in layers] == [1, 2]
    assert layers[0].weight_norm == pytest.approx(math.sqrt(48))
    assert layers[1].weight_norm == pytest.approx(math.sqrt(6))
    assert layers[0].gradient_norm == pytest.approx(math.sqrt(12 * 0.25))
    assert layers[1].gradient_norm == pytest.approx(math.sqrt(6 * 9))
    assert layers[0].update_ratio == pytest.approx(lr * math.sqrt(3) / math.sqrt(48))
    assert layers[1].update_ratio == pytest.approx(lr * 3.0)


def test_update_ratio_of_zero_weights():
    assert update_ratio(np.zeros(3), np.zeros(3)) == 0.0
    assert update_ratio(np.zeros(3), np.ones(3)) == math.inf


def layer(number=1, dead=None, saturated=None, ratio=None):
    return LayerHealth(number, 1.0, None, ratio, dead, saturated)


def epochs(*losses, layers=()):
    return [EpochHealth(loss, tuple(layers)) for loss in losses]


def test_a_healthy_history_gives_no_hints():
    assert hints([]) == []
    assert hints(epochs(2.0, 1.0, 0.6, 0.45, layers=[layer(dead=0.05, ratio=2e-3)])) == []


def test_a_flat_loss_for_three_epochs():
    assert hints(epochs(2.0, 0.500, 0.499, 0.498, 0.497)) == ["loss flat for 3 epochs: learning rate too small?"]
    assert hints(epochs(2.0, 0.499, 0.498, 0.497)) == []  # two flat epochs only


def test_a_rising_or_exploded_loss():
    assert hints(epochs(1.0, 0.8, 0.9, 1.2)) == ["loss rose for 2 epochs: learning rate too large?"]
    assert hints(epochs(1.0, math.nan)) == ["loss is not a number: the learning rate is far too large"]


def test_dead_and_saturated_layers_of_the_latest_epoch():
    old = EpochHealth(2.0, (layer(dead=0.9),))
    new = EpochHealth(1.0, (layer(1, dead=0.41), layer(2, dead=0.1), layer(3, saturated=0.3)))
    assert hints([old, new]) == [
        "41% of layer-1 ReLUs are dead: lower the learning rate or use leaky_relu",
        "30% of layer-3 units are saturated: lower the learning rate or standardize the inputs",
    ]


def test_update_ratios_too_large_or_too_small():
    large = [layer(1, ratio=0.3), layer(2, ratio=0.02)]
    small = [layer(1, ratio=1e-7), layer(2, ratio=1e-3)]
    assert hints(epochs(1.0, layers=large)) == ["update/weight ratio 0.3 in layer 1: the learning rate is too large"]
    assert hints(epochs(1.0, layers=small)) == ["update/weight ratio 1e-07 in layer 1: the learning rate is too small"]
