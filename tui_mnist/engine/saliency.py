"""What in an image drives a class: the gradient of that class's logit with respect to the
input pixels, and the last hidden layer's most active units.

Gradients are in the network's input space, after the normalizer (x = pixel * scale + offset):
d logit / d pixel is that times `normalizer.scale`. The logit is the output before the
softmax, so one class's saliency does not depend on the other classes' scores.

The chain rule is the network's own: `Network.backward` run from a one-hot delta on the
logits gives d logit / d Z of the first layer, and one more product with W0ᵀ gives the input
gradient. (backward also fills the workspace's parameter gradients; they are not used.)
NumPy only: never imports live/, runs/, session/ or tui/.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.network import Network, Workspace


def input_gradients(
    network: Network, x: np.ndarray, targets: np.ndarray, workspace: Workspace | None = None
) -> np.ndarray:
    """d logit[targets[r]] / d x[r] for each row r of the batch x (m, n0): (m, n0), x's dtype
    (the network's). Rows do not interact, so each row's gradient is its own image's.
    With `workspace`, its activations hold this forward pass afterwards."""
    m = len(x)
    workspace = workspace or Workspace(network, m)
    network.forward(x, workspace)
    delta = np.zeros((m, network.sizes[-1]), network.dtype)
    delta[np.arange(m), targets] = 1
    network.backward(x, delta, workspace)
    first_delta = workspace.deltas[0][:m] if network.hidden else delta
    return first_delta @ network.weights[0].T


def top_units(activations: np.ndarray, k: int) -> list[tuple[int, float]]:
    """(unit, activation) of the k largest activations above 0 in one layer's output (n,),
    largest first. "Fired" means above 0 for every activation function: for ReLU the only
    units that pass anything on, for tanh and leaky ReLU the positive side."""
    order = np.argsort(-activations, kind="stable")[:k]
    return [(int(i), float(activations[i])) for i in order if activations[i] > 0]


@dataclass(frozen=True)
class Saliency:
    target: int  # the class whose logit was differentiated
    logits: np.ndarray  # (classes,) the image's outputs before softmax
    gradient: np.ndarray  # (n0,) d logits[target] / d x, in the normalized input space
    units: list[tuple[int, float]]  # (unit, activation) of the last hidden layer, largest first


def saliency(
    network: Network, image: np.ndarray, normalizer: Normalizer, target: int, k: int = 5
) -> Saliency:
    """The saliency of one uint8 image (n0,) for class `target`, and the top-k units that fired
    in the last hidden layer. A network without hidden layers reports no units (an empty list):
    its logits are a linear function of the pixels, and the gradient is the column W0[:, target]."""
    workspace = Workspace(network, 1)
    x = normalizer.apply(image.reshape(1, -1), workspace.inputs[:1])
    gradient = input_gradients(network, x, np.array([target]), workspace)[0]
    units = top_units(workspace.activations[-2][0], k) if network.hidden else []
    return Saliency(target, workspace.activations[-1][0].copy(), gradient, units)
