"""Parameter updates. Each optimizer updates the parameter arrays in place.

Conventions follow PyTorch's so runs can be compared number for number:
  sgd:       p -= lr * g
  momentum:  v = mu * v + g;  p -= lr * v            (nesterov: p -= lr * (g + mu * v))
  adam:      m = b1 m + (1-b1) g;  s = b2 s + (1-b2) g^2;  p -= lr * m_hat / (sqrt(s_hat) + eps)
Weight decay (L2) adds wd * W to the gradient of weight matrices, not of biases.
"""

from __future__ import annotations

import math

import numpy as np

from tui_mnist.engine.errors import ConfigError


class Optimizer:
    name = ""

    def __init__(self, parameters: list[np.ndarray], weight_decay: float = 0.0):
        self.parameters = parameters
        self.weight_decay = weight_decay
        self.state: dict[str, list[np.ndarray]] = {}

    def step(self, grads: list[np.ndarray], lr: float) -> None:
        if self.weight_decay:
            # Weights sit at even positions (W0, b0, W1, b1, ...).
            for p, g in zip(self.parameters[::2], grads[::2]):
                g += self.weight_decay * p
        self._update(grads, lr)

    def _update(self, grads: list[np.ndarray], lr: float) -> None:
        raise NotImplementedError

    def state_arrays(self) -> dict[str, np.ndarray]:
        """Optimizer state as named arrays, for checkpoints."""
        return {f"{slot}{i}": a for slot, arrays in self.state.items() for i, a in enumerate(arrays)}

    def load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        for slot, buffers in self.state.items():
            for i, buffer in enumerate(buffers):
                buffer[...] = arrays[f"{slot}{i}"]

    def _zeros(self) -> list[np.ndarray]:
        return [np.zeros_like(p) for p in self.parameters]


class SGD(Optimizer):
    name = "sgd"

    def _update(self, grads, lr):
        for p, g in zip(self.parameters, grads):
            g *= lr
            p -= g


class Momentum(Optimizer):
    name = "momentum"

    def __init__(self, parameters, weight_decay=0.0, momentum=0.9, nesterov=False):
        super().__init__(parameters, weight_decay)
        self.momentum = momentum
        self.nesterov = nesterov
        self.state = {"velocity": self._zeros()}

    def _update(self, grads, lr):
        # Every product lands in g (free once v has it): no temporary array per step.
        mu = self.momentum
        for p, g, v in zip(self.parameters, grads, self.state["velocity"]):
            v *= mu
            v += g
            if self.nesterov:  # p -= lr * g + lr * mu * v
                g *= lr
                p -= g
                np.multiply(v, lr * mu, out=g)
            else:
                np.multiply(v, lr, out=g)
            p -= g


class Adam(Optimizer):
    """Adam, with the moments kept unnormalised to save two passes per step:
    m' = m / (1 - b1) = b1 m' + g and s' = s / (1 - b2) = b2 s' + g^2; the constant factors
    fold into the step size and epsilon, so the update equals PyTorch's."""

    name = "adam"

    def __init__(self, parameters, weight_decay=0.0, beta1=0.9, beta2=0.999, eps=1e-8):
        super().__init__(parameters, weight_decay)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.state = {"m": self._zeros(), "s": self._zeros(), "t": [np.zeros(1)]}

    def _update(self, grads, lr):
        t_array = self.state["t"][0]
        t_array += 1
        t = int(t_array[0])
        b1, b2 = self.beta1, self.beta2
        # lr m_hat / (sqrt(s_hat) + eps) = step m' / (sqrt(s') + eps_hat), with r = sqrt(s'/s_hat)
        # Python floats, not numpy scalars: a float64 scalar would make float32 math float64.
        r = math.sqrt((1 - b2) / (1 - b2**t))
        step = lr * (1 - b1) / ((1 - b1**t) * r)
        eps_hat = self.eps / r
        for p, g, m, s in zip(self.parameters, grads, self.state["m"], self.state["s"]):
            m *= b1
            m += g
            np.square(g, out=g)
            s *= b2
            s += g
            np.sqrt(s, out=g)  # g is free now: reuse it as scratch
            g += eps_hat
            np.divide(m, g, out=g)
            g *= step
            p -= g


def make_optimizer(name, parameters, weight_decay=0.0, momentum=0.9, nesterov=False) -> Optimizer:
    if name == "sgd":
        return SGD(parameters, weight_decay)
    if name == "momentum":
        return Momentum(parameters, weight_decay, momentum=momentum, nesterov=nesterov)
    if name == "adam":
        return Adam(parameters, weight_decay)
    raise ConfigError(f"unknown optimizer {name!r} (choose sgd, momentum or adam)")
