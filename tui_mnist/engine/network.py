"""A fully connected network: Z = X·W + b per layer, an activation between layers, softmax out.

Shapes, for a batch of m images and layer sizes n0 (=784), n1, ..., nL (=10):
  W[i]: (n_i, n_i+1)   b[i]: (n_i+1,)   activations[i]: (m, n_i+1)
Training reuses one `Workspace` of buffers for every batch: allocating fresh arrays per batch
costs more than the arithmetic on this size of network.
"""

from __future__ import annotations

import numpy as np

from tui_mnist.engine.activations import ACTIVATIONS, Activation
from tui_mnist.engine.dropout import Dropout
from tui_mnist.engine.errors import ConfigError
from tui_mnist.engine.layer_sizes import architecture
from tui_mnist.engine.losses import softmax_cross_entropy, softmax_cross_entropy_grad
from tui_mnist.engine.memory import EVAL_CHUNK as EVAL_CHUNK  # defined with the memory estimate

DTYPES = {"float32": np.float32, "float64": np.float64}


class Network:
    def __init__(self, weights: list[np.ndarray], biases: list[np.ndarray], activation: str):
        if activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {activation!r}")
        self.weights = weights
        self.biases = biases
        self.activation: Activation = ACTIVATIONS[activation]

    @classmethod
    def create(
        cls,
        sizes: tuple[int, ...],
        activation: str,
        rng: np.random.Generator,
        dtype: str = "float32",
    ) -> Network:
        """Random weights matched to the activation: He for the ReLU family (variance 2/fan_in),
        Glorot for sigmoid and tanh (variance 2/(fan_in+fan_out)); zero biases."""
        if activation not in ACTIVATIONS:
            raise ConfigError(f"unknown activation {activation!r}")
        he = ACTIVATIONS[activation].init == "he"
        weights, biases = [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            std = np.sqrt(2 / fan_in) if he else np.sqrt(2 / (fan_in + fan_out))
            weights.append((rng.standard_normal((fan_in, fan_out)) * std).astype(DTYPES[dtype]))
            biases.append(np.zeros(fan_out, dtype=DTYPES[dtype]))
        return cls(weights, biases, activation)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.weights[0].shape[0], *(w.shape[1] for w in self.weights))

    @property
    def architecture(self) -> str:
        return architecture(self.sizes)

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.sizes[1:-1]

    @property
    def dtype(self) -> np.dtype:
        return self.weights[0].dtype

    @property
    def parameters(self) -> list[np.ndarray]:
        """W0, b0, W1, b1, ...: the order optimizers and gradient lists use."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    @property
    def n_parameters(self) -> int:
        return sum(p.size for p in self.parameters)

    def forward(
        self, x: np.ndarray, workspace: Workspace, dropout: Dropout | None = None
    ) -> np.ndarray:
        """Logits for the batch x (m <= workspace capacity), kept in the workspace. With
        `dropout`, its current masks apply to the hidden layers' outputs (training only)."""
        m = len(x)
        last = len(self.weights) - 1
        a = x
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = workspace.activations[i][:m]
            np.matmul(a, w, out=z)
            z += b
            a = z
            if i < last:
                self.activation.forward(z)
                if dropout is not None:
                    a = dropout.apply(i, z)
        return a

    def train_step(
        self, x: np.ndarray, y: np.ndarray, workspace: Workspace, dropout: Dropout | None = None
    ) -> tuple[float, int]:
        """Forward, loss and backward for one batch; gradients land in workspace.grads.
        Returns the mean loss and the number of correct predictions."""
        logits = self.forward(x, workspace, dropout)
        correct = int(np.count_nonzero(logits.argmax(axis=1) == y))
        loss = softmax_cross_entropy(logits, y)
        delta = softmax_cross_entropy_grad(logits, y)
        self.backward(x, delta, workspace, dropout)
        return loss, correct

    def backward(
        self, x: np.ndarray, delta: np.ndarray, workspace: Workspace, dropout: Dropout | None = None
    ) -> None:
        """Chain rule from the output layer down: dW = A_prev^T · delta, db = sum(delta),
        delta_prev = (delta · W^T) [* dropout mask] * f'(Z_prev). The input layer needs no
        delta. A_prev is what the layer saw: the dropped output when dropout is on."""
        m = len(x)
        grads = workspace.grads
        ones = workspace.ones[:m]
        for i in range(len(self.weights) - 1, -1, -1):
            if i == 0:
                a_prev = x
            elif dropout is not None:
                a_prev = dropout.outputs[i - 1][:m]
            else:
                a_prev = workspace.activations[i - 1][:m]
            np.matmul(a_prev.T, delta, out=grads[2 * i])
            # db = 1·delta: a BLAS matrix-vector product, ~3x faster than np.sum(axis=0).
            np.matmul(ones, delta, out=grads[2 * i + 1])
            if i > 0:
                below = workspace.deltas[i - 1][:m]
                np.matmul(delta, self.weights[i].T, out=below)
                if dropout is not None:
                    dropout.backward(i - 1, below)
                self.activation.backward(workspace.activations[i - 1][:m], below)
                delta = below


class Workspace:
    """Buffers for batches of up to `capacity` rows: layer outputs, deltas, gradients."""

    def __init__(self, network: Network, capacity: int):
        dtype = network.dtype
        sizes = network.sizes
        self.capacity = capacity
        self.inputs = np.empty((capacity, sizes[0]), dtype)
        self.activations = [np.empty((capacity, n), dtype) for n in sizes[1:]]
        self.deltas = [np.empty((capacity, n), dtype) for n in sizes[1:-1]]
        self.grads = [np.empty_like(p) for p in network.parameters]
        self.ones = np.ones(capacity, dtype)
