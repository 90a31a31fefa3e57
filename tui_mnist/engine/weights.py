"""What the weights look like: each first-layer unit's 784 incoming weights as a 28x28 image,
and any layer's weight matrix as one heat strip per unit.

Both are scaled into [-1, 1] by the layer's largest absolute weight (`scale="layer"`, the
default), so the units of one layer can be compared with each other: a unit that barely learned
(weights near their small initial values, or a dead ReLU's) looks faint beside one with strong
weights, which per-unit scaling would hide by stretching every unit to full contrast.
`scale="unit"` divides each unit by its own largest |w| instead, to read the pattern of a faint
unit. Zero stays zero either way, so a diverging palette's neutral means "no weight".

Shapes, for W[layer] of shape (n_in, n_out) (network.py's convention: Z = X·W + b):
  first_layer_images: (n_out, rows, cols) with rows*cols = n_in   layer_strips: (n_out, n_in)
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from tui_mnist.engine.errors import ConfigError

Scale = Literal["layer", "unit"]


def weight_scale(weights: np.ndarray, scale: Scale = "layer") -> np.ndarray:
    """The divisor(s) that map `weights` (n_in, n_out) into [-1, 1]: a () float64 array for
    the whole layer, or (n_out,) per unit; an all-zero layer or unit divides by 1."""
    if scale not in ("layer", "unit"):
        raise ConfigError(f"unknown weight scale {scale!r} (layer or unit)")
    largest = np.abs(weights).max(axis=None if scale == "layer" else 0).astype(np.float64)
    return np.where(largest > 0, largest, 1.0)


def layer_strips(weights: np.ndarray, scale: Scale = "layer") -> np.ndarray:
    """(n_out, n_in) float64 in [-1, 1] of a layer's weights (n_in, n_out): row j is unit j's
    incoming weights, W[:, j], divided by the layer's (or the unit's) largest absolute weight."""
    weights = weights.astype(np.float64)  # float16 (an epoch record's) would overflow sums
    return (weights / weight_scale(weights, scale)).T


def first_layer_images(weights: np.ndarray, shape: tuple[int, int] = (28, 28),
                       scale: Scale = "layer") -> np.ndarray:
    """(n1, rows, cols) float64 in [-1, 1] of the first layer's weights W0 (n_in, n1): each
    unit's incoming weights W0[:, j] laid out as the input image they multiply (row-major, as
    the pixels are flattened). For a network without hidden layers these are the 10 output
    units'."""
    rows, cols = shape
    n_in = len(weights)
    if rows * cols != n_in:
        raise ConfigError(f"the network takes {n_in} inputs, not {rows}×{cols} = {rows * cols}")
    return layer_strips(weights, scale).reshape(-1, rows, cols)
