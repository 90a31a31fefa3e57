"""Hidden-layer activations, computed in place on preallocated buffers.

Each derivative is written in terms of the activation's *output* a = f(z), so the
backward pass needs only the stored activations, not the pre-activations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_SLOPE = 0.01


def _relu(z: np.ndarray) -> None:
    # Multiplying by the mask beats np.maximum(z, 0) by ~25 % on this size of array.
    np.multiply(z, z > 0, out=z)


def _relu_grad(a: np.ndarray, grad: np.ndarray) -> None:
    # A multiply by the mask, not `grad[a <= 0] = 0`: boolean-index assignment is ~10x slower.
    np.multiply(grad, a > 0, out=grad)


def _leaky_relu(z: np.ndarray) -> None:
    np.maximum(z, z * LEAKY_SLOPE, out=z)


def _leaky_relu_grad(a: np.ndarray, grad: np.ndarray) -> None:
    # factor = slope where a < 0, else 1; built arithmetically, masked writes are ~10x slower.
    factor = (a < 0).astype(grad.dtype)
    factor *= LEAKY_SLOPE - 1
    factor += 1
    grad *= factor


def _sigmoid(z: np.ndarray) -> None:
    # 1 / (1 + e^-z); e^-z overflows to inf for very negative z, giving exactly 0.
    # (Measured faster here than the tanh form 0.5 + 0.5 tanh(z / 2).)
    with np.errstate(over="ignore"):
        np.negative(z, out=z)
        np.exp(z, out=z)
    z += 1
    np.divide(1, z, out=z)


def _sigmoid_grad(a: np.ndarray, grad: np.ndarray) -> None:
    grad *= a
    grad *= 1 - a  # f' = a (1 - a)


def _tanh(z: np.ndarray) -> None:
    np.tanh(z, out=z)


def _tanh_grad(a: np.ndarray, grad: np.ndarray) -> None:
    grad *= 1 - a * a  # f' = 1 - a^2


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[np.ndarray], None]  # z -> f(z), in place
    backward: Callable[[np.ndarray, np.ndarray], None]  # grad *= f'(z), from a = f(z)
    init: str  # "he" for the ReLU family, "xavier" for saturating functions


ACTIVATIONS = {
    act.name: act
    for act in (
        Activation("relu", _relu, _relu_grad, "he"),
        Activation("leaky_relu", _leaky_relu, _leaky_relu_grad, "he"),
        Activation("sigmoid", _sigmoid, _sigmoid_grad, "xavier"),
        Activation("tanh", _tanh, _tanh_grad, "xavier"),
    )
}
