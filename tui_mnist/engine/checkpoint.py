"""Checkpoints: everything a Trainer needs to continue exactly where it was after an epoch.

One `.npz` bundle (engine.bundles: atomic, never pickled) holds the weights under the model file's
names (W0, b0, ...), the optimizer state (opt_velocity0, opt_m0, ...), and JSON metadata: the
model fields (sizes, activation, dtype, normalizer), the config, the counters (epoch, step,
samples, seconds, lr_scale), the generator state (PCG64 state ints are exact in JSON) and an
`extra` document the caller owns. Restoring draws nothing from the generator, so a resumed run
computes the same numbers as one that never stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui_mnist.engine.bundles import (
    Declared,
    Field,
    check_fields,
    is_object,
    load_versioned_bundle,
    number,
    one_line,
    one_of,
    refuse_others,
    save_bundle,
    whole,
)
from tui_mnist.engine.choices import OPTIMIZER_NAMES
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Dataset, Normalizer
from tui_mnist.engine.errors import ConfigError, ModelFileError
from tui_mnist.engine.model_io import (
    NETWORK_FIELDS,
    check_network_arrays,
    check_values,
    network_arrays,
    network_from_arrays,
    network_names,
)
from tui_mnist.engine.network import Network
from tui_mnist.engine.training import Trainer

CHECKPOINT_FORMAT = "tui-mnist-checkpoint"
CHECKPOINT_VERSION = 1
OPTIMIZER_PREFIX = "opt_"
# Settings a checkpoint's weights are tied to: changing them on resume would be meaningless.
FIXED_ON_RESUME = ("hidden", "activation", "dtype", "standardize")
COUNTERS = {"epoch": int, "step": int, "samples": int, "seconds": float, "lr_scale": float}
# The optimizer state, as Optimizer.state_arrays names it: per slot, one array shaped like each
# parameter (W0, b0, W1, ...), and Adam's step count t0 of shape (1,).
PARAMETER_SLOTS = {"sgd": (), "momentum": ("velocity",), "adam": ("m", "s")}
FIXED_STATE = {"adam": {"t0": (1,)}}
CHECKPOINT_FIELDS = (
    *NETWORK_FIELDS,
    Field("config", "an object", is_object),
    Field("optimizer", f"one of {', '.join(OPTIMIZER_NAMES)}", one_of(OPTIMIZER_NAMES)),
    # Saved at an epoch's end: every epoch took a batch, every batch an image.
    Field("epoch", "a whole number >= 1", whole(1)),
    Field("step", "a whole number >= 1", whole(1)),
    Field("samples", "a whole number >= 1", whole(1)),
    Field("seconds", "a finite number >= 0", number(0, math.inf)),
    Field("lr_scale", "a finite number > 0", number(0, math.inf, above_low=True)),
    Field("rng", "an object", is_object),
    Field("extra", "an object", is_object),
)


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    network: Network
    optimizer_arrays: dict[str, np.ndarray]
    meta: dict

    @property
    def epoch(self) -> int:
        return self.meta["epoch"]

    @property
    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.meta["config"])

    @property
    def normalizer(self) -> Normalizer:
        return Normalizer(**self.meta["normalizer"])

    @property
    def extra(self) -> dict:
        return self.meta["extra"]


def save_checkpoint(path: str | Path, trainer: Trainer, extra: dict | None = None) -> None:
    network = trainer.network
    arrays = network_arrays(network)
    for name, array in trainer.optimizer.state_arrays().items():
        arrays[OPTIMIZER_PREFIX + name] = array
    meta = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "sizes": list(network.sizes),
        "activation": network.activation.name,
        "dtype": str(network.dtype),
        "normalizer": trainer.data.normalizer.to_dict(),
        "config": trainer.config.to_dict(),
        "optimizer": trainer.optimizer.name,
        **{name: kind(getattr(trainer, name)) for name, kind in COUNTERS.items()},
        "rng": trainer.rng.bit_generator.state,
        "extra": extra or {},
    }
    save_bundle(Path(path), arrays, meta)


def optimizer_state_shapes(optimizer: str, sizes: list[int]) -> dict[str, tuple[int, ...]]:
    """The shape of each optimizer state array `optimizer` keeps for a network of `sizes`."""
    parameters = [shape for fan_in, fan_out in zip(sizes[:-1], sizes[1:])
                  for shape in ((fan_in, fan_out), (fan_out,))]
    shapes = {f"{slot}{i}": shape for slot in PARAMETER_SLOTS[optimizer]
              for i, shape in enumerate(parameters)}
    return {**shapes, **FIXED_STATE.get(optimizer, {})}


def _config(path: Path, meta: dict) -> TrainConfig:
    """The checkpoint's settings: each of its default's kind, valid, and describing the network
    the checkpoint holds and the epochs it has done."""
    try:
        config = TrainConfig.from_dict(meta["config"]).validated()
    except ConfigError as error:
        raise ModelFileError(f"{path}: config is invalid ({one_line(error)})") from None
    sizes = meta["sizes"]
    described = {"hidden": tuple(sizes[1:-1]), "activation": meta["activation"],
                 "dtype": meta["dtype"], "optimizer": meta["optimizer"]}
    for name, value in described.items():
        if getattr(config, name) != value:
            raise ModelFileError(f"{path}: config.{name} is {getattr(config, name)!r}, "
                                 f"the checkpoint holds {value!r}")
    if meta["epoch"] > config.epochs:
        raise ModelFileError(f"{path}: epoch {meta['epoch']} is past the run's {config.epochs} epochs")
    if not meta["epoch"] <= meta["step"] <= meta["samples"]:
        raise ModelFileError(f"{path}: epoch, step and samples ({meta['epoch']}, {meta['step']}, "
                             f"{meta['samples']}) disagree: each epoch takes batches, each batch images")
    return config


def _check_generator_state(path: Path, state: dict) -> None:
    """Set on a fresh generator, drawing nothing: a corrupt state is refused here, at load, so
    that a resume can fall back to an older checkpoint."""
    try:
        np.random.PCG64().state = state
    except (TypeError, ValueError, KeyError, OverflowError) as error:
        raise ModelFileError(f"{path}: rng is not a valid generator state ({one_line(error)})") from None


def _checkpoint_layout(path: Path, meta: dict, declared: dict[str, Declared]) -> None:
    check_fields(path, meta, CHECKPOINT_FIELDS)
    _config(path, meta)
    _check_generator_state(path, meta["rng"])
    state = optimizer_state_shapes(meta["optimizer"], meta["sizes"])
    known = network_names(meta["sizes"]) | {OPTIMIZER_PREFIX + name for name in state}
    refuse_others(path, declared, known, "checkpoint")
    check_network_arrays(path, meta, declared)
    for name, shape in state.items():  # a missing one is refused when restoring with it
        array = declared.get(OPTIMIZER_PREFIX + name)
        if array is not None and (array.shape != shape or array.dtype.kind != "f"):
            raise ModelFileError(f"{path}: optimizer state {name} is {array.dtype} {array.shape}, "
                                 f"not floating point of shape {shape}")


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint; anything unreadable or inconsistent is a ModelFileError."""
    path = Path(path)
    arrays, meta = load_versioned_bundle(
        path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, "checkpoint", _checkpoint_layout
    )
    network = network_from_arrays(path, arrays, meta)
    optimizer_arrays = {
        name[len(OPTIMIZER_PREFIX) :]: check_values(path, name, array, math.inf)
        for name, array in arrays.items()
        if name.startswith(OPTIMIZER_PREFIX)
    }
    return Checkpoint(path=path, network=network, optimizer_arrays=optimizer_arrays, meta=meta)


def check_resumable(saved: TrainConfig, config: TrainConfig) -> None:
    """ConfigError unless weights trained with `saved` can continue under `config`: the
    layers, activation, dtype and input scaling must stay as they were."""
    for name in FIXED_ON_RESUME:
        if getattr(config, name) != getattr(saved, name):
            setting = name.replace("_", " ")
            hidden = ",".join(map(str, saved.hidden)) or "none"
            raise ConfigError(
                f"cannot change {setting} when resuming: the checkpoint holds a "
                f"{saved.activation} {saved.dtype} network with hidden layers {hidden}, "
                f"trained with {setting} {getattr(saved, name)!r}"
            )


def restore_trainer(
    checkpoint: Checkpoint, config: TrainConfig, data: Dataset, keep_records: bool = False
) -> Trainer:
    """A Trainer for `config` in the checkpoint's state (see check_resumable); a different
    optimizer starts with fresh state. The trainer takes over the checkpoint's arrays."""
    check_resumable(checkpoint.config, config)
    trainer = Trainer(config, data, network=checkpoint.network, keep_records=keep_records)
    if trainer.optimizer.name == checkpoint.meta.get("optimizer"):
        _load_optimizer_state(checkpoint, trainer)
    trainer.rng.bit_generator.state = checkpoint.meta["rng"]  # checked by load_checkpoint
    for name in COUNTERS:
        setattr(trainer, name, checkpoint.meta[name])
    return trainer


def _load_optimizer_state(checkpoint: Checkpoint, trainer: Trainer) -> None:
    expected = trainer.optimizer.state_arrays()
    stored = checkpoint.optimizer_arrays
    for name, buffer in expected.items():
        array = stored.get(name)
        if array is None or array.shape != buffer.shape or not np.isfinite(array).all():
            raise ModelFileError(f"{checkpoint.path}: optimizer state {name} is missing or invalid")
    trainer.optimizer.load_state_arrays(stored)
