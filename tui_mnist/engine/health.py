"""Is training healthy? Per-layer figures (norms, update sizes, dead and saturated units) and
plain-language hints drawn from them epoch after epoch.

Layers are numbered from 1: layer i is the weight matrix W[i-1] and, for a hidden layer, the
units it feeds (so "layer-1 ReLUs" are the first hidden layer's units). Norms are Frobenius
norms of the weights alone, biases left out. Unit shares are measured on a fixed probe batch of
normalized inputs (the same images every time, so epochs compare):
  dead       (ReLU only): the unit's output is 0 on every probe image. Leaky ReLU units
             always pass a gradient and are never counted dead.
  saturated  (sigmoid, tanh only): the unit's output is in the flat tail, sigmoid < 0.01 or
             > 0.99, |tanh| > 0.99, on more than half of the probe images (SATURATED_MOST).
The figures that do not apply (dead tanh units, any unit share of the output layer) are None.
NumPy only: never imports live/, runs/, session/ or tui/.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tui_mnist.engine.network import Network, Workspace

SATURATION = 0.99  # |tanh| above this, sigmoid below 1 - this or above this: the flat tail
SATURATED_MOST = 0.5  # a unit is saturated when in the tail on more than this share of probes

# hints() thresholds.
FLAT_EPOCHS = 3  # this many epochs in a row...
FLAT_CHANGE = 0.01  # ...each changing the loss by less than 1 % of the epoch before: flat
RISING_EPOCHS = 2  # the loss grew this many epochs in a row: too large a step
DEAD_WARNING = 0.2  # share of a layer's ReLUs dead on the probe batch
SATURATED_WARNING = 0.25  # share of a layer's sigmoid/tanh units saturated
# ||ΔW|| / ||W|| per step; ~1e-3 is the usual healthy size. Measured on 784-128-10 ReLU, plain
# SGD, batch 128, over its first two epochs: lr 0.01 gives 3e-4 to 9e-4, lr 0.1 gives 2.5e-3 to
# 4e-3 after the first steps, lr 1.0 gives 1.3e-2 to 2.4e-2 and kills a quarter of the ReLUs.
RATIO_TOO_LARGE = 0.01
RATIO_TOO_SMALL = 1e-5
DECAYED = 0.1  # a learning rate at or below this share of its base was lowered by the schedule


@dataclass(frozen=True)
class LayerHealth:
    layer: int  # 1 = W[0], the input to the first hidden layer
    weight_norm: float  # ||W||
    gradient_norm: float | None  # ||dLoss/dW||, when gradients were given
    update_ratio: float | None  # ||ΔW|| / ||W||, when updates were given
    dead_share: float | None  # hidden ReLU layers only
    saturated_share: float | None  # hidden sigmoid and tanh layers only


@dataclass(frozen=True)
class EpochHealth:
    """The figures hints() reads for one epoch: its mean training loss, its layers, and whether
    the schedule had the learning rate at or below DECAYED of its base, warming up or decayed
    (small updates are then by design, not a sign of too small a rate)."""

    loss: float
    layers: tuple[LayerHealth, ...] = ()
    decayed: bool = False


def hidden_outputs(network: Network, probe: np.ndarray) -> list[np.ndarray]:
    """The hidden layers' outputs for the normalized probe batch (m, n0): one (m, n_i) array
    per hidden layer (copies)."""
    workspace = Workspace(network, len(probe))
    network.forward(probe, workspace)
    return [a[: len(probe)].copy() for a in workspace.activations[:-1]]


def dead_share(outputs: np.ndarray) -> float:
    """Share of the layer's units whose output (m, n) is never above 0."""
    return float(np.mean(~(outputs > 0).any(axis=0)))


def saturated_share(outputs: np.ndarray, activation: str) -> float:
    """Share of the layer's sigmoid or tanh units (outputs (m, n)) in the flat tail on more
    than SATURATED_MOST of the rows."""
    if activation == "tanh":
        tail = np.abs(outputs) > SATURATION
    elif activation == "sigmoid":
        tail = (outputs < 1 - SATURATION) | (outputs > SATURATION)
    else:
        raise ValueError(f"{activation} does not saturate")
    return float(np.mean(tail.mean(axis=0) > SATURATED_MOST))


def update_ratio(weights: np.ndarray, update: np.ndarray) -> float:
    """||update|| / ||weights|| (inf for all-zero weights with a nonzero update)."""
    norm = float(np.linalg.norm(weights))
    step = float(np.linalg.norm(update))
    return step / norm if norm else (math.inf if step else 0.0)


def layer_health(
    network: Network,
    probe: np.ndarray,
    gradients: Sequence[np.ndarray] | None = None,
    updates: Sequence[np.ndarray] | None = None,
) -> list[LayerHealth]:
    """One LayerHealth per weight matrix. `gradients` and `updates` are in parameter order
    (W0, b0, W1, b1, ..., as in Workspace.grads); for plain SGD the update is lr × gradient.
    `probe` is a normalized batch (m, n0) of fixed images."""
    outputs = hidden_outputs(network, probe)
    name = network.activation.name
    layers = []
    for i, w in enumerate(network.weights):
        hidden = i < len(outputs)
        layers.append(
            LayerHealth(
                layer=i + 1,
                weight_norm=float(np.linalg.norm(w)),
                gradient_norm=None if gradients is None else float(np.linalg.norm(gradients[2 * i])),
                update_ratio=None if updates is None else update_ratio(w, updates[2 * i]),
                dead_share=dead_share(outputs[i]) if hidden and name == "relu" else None,
                saturated_share=(
                    saturated_share(outputs[i], name) if hidden and name in ("sigmoid", "tanh") else None
                ),
            )
        )
    return layers


def _loss_hints(losses: list[float]) -> list[str]:
    if not losses:
        return []
    if not math.isfinite(losses[-1]):
        return ["loss is not a number: the learning rate is far too large"]
    recent = losses[-RISING_EPOCHS - 1 :]
    if len(recent) == RISING_EPOCHS + 1 and all(b > a for a, b in zip(recent, recent[1:])):
        return [f"loss rose for {RISING_EPOCHS} epochs: learning rate too large?"]
    recent = losses[-FLAT_EPOCHS - 1 :]
    if len(recent) == FLAT_EPOCHS + 1 and all(
        abs(b - a) < FLAT_CHANGE * abs(a) for a, b in zip(recent, recent[1:])
    ):
        return [f"loss flat for {FLAT_EPOCHS} epochs: learning rate too small?"]
    return []


def _layer_hints(layers: Sequence[LayerHealth], decayed: bool) -> list[str]:
    hints = []
    for layer in layers:
        if layer.dead_share is not None and layer.dead_share >= DEAD_WARNING:
            hints.append(
                f"{layer.dead_share:.0%} of layer-{layer.layer} ReLUs are dead: "
                "lower the learning rate or use leaky_relu"
            )
        if layer.saturated_share is not None and layer.saturated_share >= SATURATED_WARNING:
            hints.append(
                f"{layer.saturated_share:.0%} of layer-{layer.layer} units are saturated: "
                "lower the learning rate or standardize the inputs"
            )
    ratios = [(layer.update_ratio, layer.layer) for layer in layers if layer.update_ratio is not None]
    if ratios:
        largest, at = max(ratios)
        smallest, low = min(ratios)
        if largest > RATIO_TOO_LARGE:
            hints.append(f"update/weight ratio {largest:.2g} in layer {at}: the learning rate is too large")
        elif smallest < RATIO_TOO_SMALL and not decayed:
            hints.append(f"update/weight ratio {smallest:.2g} in layer {low}: the learning rate is too small")
    return hints


def hints(history: Sequence[EpochHealth]) -> list[str]:
    """Plain-language warnings from the epochs so far (oldest first): at most one about the
    loss (not finite; rising RISING_EPOCHS epochs in a row; or flat, every change below
    FLAT_CHANGE of the loss, FLAT_EPOCHS epochs in a row), then, from the latest epoch's
    layers, each layer with DEAD_WARNING or more dead ReLUs or SATURATED_WARNING or more
    saturated units, and the largest update/weight ratio above RATIO_TOO_LARGE (or else the
    smallest below RATIO_TOO_SMALL, unless the schedule has decayed the rate). An empty list
    means nothing looks wrong."""
    if not history:
        return []
    losses = [epoch.loss for epoch in history]
    return _loss_hints(losses) + _layer_hints(history[-1].layers, history[-1].decayed)
