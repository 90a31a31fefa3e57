"""Model files: weights as named arrays plus JSON metadata in one .npz (see engine.bundles).

A model file is judged whole before it is used: its metadata against MODEL_FIELDS, the arrays
it declares against the architecture that gives (names, shapes, floating point) before any is
read, their values once read (finite, within WEIGHT_LIMIT), and by `check_fits_data` against
the images and labels it is to be run on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui_mnist.engine.activations import ACTIVATIONS
from tui_mnist.engine.bundles import (
    Declared,
    Field,
    check_fields,
    check_memory,
    is_object,
    load_versioned_bundle,
    number,
    one_of,
    refuse_others,
    save_bundle,
)
from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.errors import ModelFileError, OutputPathError
from tui_mnist.engine.idx import NUM_CLASSES
from tui_mnist.engine.layer_sizes import architecture
from tui_mnist.engine.memory import ITEMSIZES, training_bytes
from tui_mnist.engine.network import DTYPES, Network

MODEL_FORMAT = "tui-mnist-model"
MODEL_VERSION = 1
# Trained weights are small: He/Glorot start them near sqrt(2/fan_in), and a run whose weights
# grow by orders of magnitude diverges (the trainer stops it) long before 1e6. With inputs
# within SCALE_LIMIT * 255 + OFFSET_LIMIT (1.3e6), one layer of 784 such inputs sums to at most
# 1e15, far from float32's 3.4e38; a file beyond these bounds (1e38 weights: loss nan, 9.8 %
# accuracy) is broken or hostile. The bound does not prove that no input overflows a deep
# network (a worst case grows as fan_in**depth, and would refuse honest deep networks).
WEIGHT_LIMIT = 1e6
SCALE_LIMIT = 1e3  # standardized MNIST scales by 0.013; 1e3 is a pixel standard deviation of 4e-6
OFFSET_LIMIT = 1e6


def _layer_sizes(value: object) -> bool:
    return (isinstance(value, list) and len(value) >= 2
            and all(type(n) is int and n >= 1 for n in value))


def _scale_and_offset(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"scale", "offset"}


# The fields a network's file (a model file, a checkpoint) describes it with.
NETWORK_FIELDS = (
    Field("sizes", "a list of 2 or more whole numbers >= 1 (pixels, hidden widths, classes)",
          _layer_sizes),
    Field("activation", f"one of {', '.join(ACTIVATIONS)}", one_of(ACTIVATIONS)),
    Field("dtype", f"one of {', '.join(DTYPES)}", one_of(DTYPES)),
    Field("normalizer", "an object of scale and offset", _scale_and_offset),
    Field("normalizer.scale", f"a finite number > 0 and <= {SCALE_LIMIT:g}",
          number(0, SCALE_LIMIT, above_low=True)),
    Field("normalizer.offset", f"a finite number within +-{OFFSET_LIMIT:g}",
          number(-OFFSET_LIMIT, OFFSET_LIMIT)),
)
MODEL_FIELDS = (
    *NETWORK_FIELDS,
    Field("config", "an object", is_object),
    Field("results", "an object", is_object),
)


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


def network_names(sizes: list[int]) -> set[str]:
    """The arrays of a network of layer sizes `sizes`: W0, b0, W1, b1, ..."""
    return {f"{kind}{i}" for i in range(len(sizes) - 1) for kind in "Wb"}


def check_network_arrays(path: Path, meta: dict, declared: dict[str, Declared]) -> None:
    """The arrays the architecture in `meta` (its fields checked) needs, as their headers
    declare them: present, of its shapes, floating point; and room to evaluate the network."""
    sizes = tuple(meta["sizes"])
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w, b = declared.get(f"W{i}"), declared.get(f"b{i}")
        if w is None or b is None:
            raise ModelFileError(f"{path}: layer {i} weights are missing")
        if w.shape != (fan_in, fan_out) or b.shape != (fan_out,):
            raise ModelFileError(
                f"{path}: layer {i} has shape {w.shape}/{b.shape}, "
                f"the architecture says ({fan_in}, {fan_out})"
            )
        for name, array in ((f"W{i}", w), (f"b{i}", b)):
            if array.dtype.kind != "f":
                raise ModelFileError(f"{path}: {name} must hold floating-point numbers (got {array.dtype})")
    needed = training_bytes(sizes, 0, 0, ITEMSIZES[meta["dtype"]])  # no batch: evaluation only
    check_memory(path, needed, f"evaluating its {architecture(sizes)} network")


def check_values(path: Path, name: str, array: np.ndarray, limit: float = WEIGHT_LIMIT) -> np.ndarray:
    """`array`, unless it holds a NaN, an infinity or a number beyond +-`limit`."""
    low, high = float(array.min()), float(array.max())  # NaN wins both; no temporary array
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ModelFileError(f"{path}: {name} holds non-finite numbers")
    if max(-low, high) > limit:
        extreme = high if high > -low else low
        raise ModelFileError(
            f"{path}: {name} holds {extreme:.3g}, beyond the +-{limit:g} a network's weights stay within"
        )
    return array


def network_from_arrays(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> Network:
    """The network of arrays that `check_network_arrays` passed, their values checked."""
    dtype = DTYPES[meta["dtype"]]
    weights, biases = [], []
    for i in range(len(meta["sizes"]) - 1):
        weights.append(check_values(path, f"W{i}", arrays[f"W{i}"]).astype(dtype, copy=False))
        biases.append(check_values(path, f"b{i}", arrays[f"b{i}"]).astype(dtype, copy=False))
    return Network(weights, biases, meta["activation"])


def _model_layout(path: Path, meta: dict, declared: dict[str, Declared]) -> None:
    check_fields(path, meta, MODEL_FIELDS)
    refuse_others(path, declared, network_names(meta["sizes"]), "model file")
    check_network_arrays(path, meta, declared)


def load_model(path: str | Path) -> SavedModel:
    """The model in `path`, checked whole (see the module docstring); a ModelFileError
    naming the file and what is wrong otherwise."""
    path = Path(path)
    arrays, meta = load_versioned_bundle(path, MODEL_FORMAT, MODEL_VERSION, "model file", _model_layout)
    network = network_from_arrays(path, arrays, meta)
    return SavedModel(network=network, normalizer=Normalizer(**meta["normalizer"]), meta=meta)


def check_fits_data(path: str | Path, network: Network, n_features: int) -> None:
    """Raise a ModelFileError unless the model in `path` takes images of `n_features` pixels
    and answers the NUM_CLASSES classes of the data's labels."""
    if network.sizes[0] != n_features:
        raise ModelFileError(
            f"{path}: expects {network.sizes[0]} pixels per image, the data has {n_features}"
        )
    if network.sizes[-1] != NUM_CLASSES:
        raise ModelFileError(
            f"{path}: its output layer has {network.sizes[-1]} units, the data's labels are "
            f"0-{NUM_CLASSES - 1} ({NUM_CLASSES} classes)"
        )
