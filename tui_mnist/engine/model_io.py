"""Model files: weights as named arrays plus JSON metadata in one .npz (see engine.files)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui_mnist.engine.activations import ACTIVATIONS
from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.errors import ModelFileError, OutputPathError
from tui_mnist.engine.files import load_versioned_bundle, save_bundle
from tui_mnist.engine.network import DTYPES, Network

MODEL_FORMAT = "tui-mnist-model"
MODEL_VERSION = 1


@dataclass(frozen=True)
class SavedModel:
    network: Network
    normalizer: Normalizer
    meta: dict  # format, version, architecture, config, results


def network_arrays(network: Network) -> dict[str, np.ndarray]:
    arrays = {}
    for i, (w, b) in enumerate(zip(network.weights, network.biases)):
        arrays[f"W{i}"] = w
        arrays[f"b{i}"] = b
    return arrays


def save_model(
    path: str | Path,
    network: Network,
    normalizer: Normalizer,
    config: dict | None = None,
    results: dict | None = None,
) -> None:
    """Write a model file atomically; a failed write is a ModelFileError."""
    meta = {
        "format": MODEL_FORMAT,
        "version": MODEL_VERSION,
        "sizes": list(network.sizes),
        "activation": network.activation.name,
        "dtype": str(network.dtype),
        "normalizer": normalizer.to_dict(),
        "config": config or {},
        "results": results or {},
    }
    try:
        save_bundle(Path(path), network_arrays(network), meta)
    except OutputPathError as error:
        raise ModelFileError(str(error)) from None
    except OSError as error:
        raise ModelFileError(f"{path}: cannot write ({error.strerror or error})") from None


def network_from_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> Network:
    """Rebuild a network from a bundle, checking every shape against the metadata."""
    try:
        sizes = [int(n) for n in meta["sizes"]]
        activation = meta["activation"]
        dtype = DTYPES[meta["dtype"]]
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(f"{path}: metadata lacks a valid architecture") from None
    if activation not in ACTIVATIONS:
        raise ModelFileError(f"{path}: unknown activation {activation!r}")
    weights, biases = [], []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w, b = arrays.get(f"W{i}"), arrays.get(f"b{i}")
        if w is None or b is None:
            raise ModelFileError(f"{path}: layer {i} weights are missing")
        if w.shape != (fan_in, fan_out) or b.shape != (fan_out,):
            raise ModelFileError(
                f"{path}: layer {i} has shape {w.shape}/{b.shape}, "
                f"the architecture says ({fan_in}, {fan_out})"
            )
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ModelFileError(f"{path}: layer {i} holds non-finite numbers")
        weights.append(w.astype(dtype, copy=False))
        biases.append(b.astype(dtype, copy=False))
    if len(sizes) < 2:
        raise ModelFileError(f"{path}: architecture {sizes} has no layers")
    return Network(weights, biases, activation)


def load_model(path: str | Path) -> SavedModel:
    path = Path(path)
    arrays, meta = load_versioned_bundle(path, MODEL_FORMAT, MODEL_VERSION, "model file")
    network = network_from_arrays(path, arrays, meta)
    try:
        normalizer = Normalizer(**meta["normalizer"])
    except (KeyError, TypeError):
        raise ModelFileError(f"{path}: metadata lacks the input normalisation") from None
    return SavedModel(network=network, normalizer=normalizer, meta=meta)


def check_input_size(path: str | Path, network: Network, n_features: int) -> None:
    """Raise a ModelFileError unless the model in `path` takes images of `n_features` pixels."""
    if network.sizes[0] != n_features:
        raise ModelFileError(
            f"{path}: expects {network.sizes[0]} pixels per image, the data has {n_features}"
        )
