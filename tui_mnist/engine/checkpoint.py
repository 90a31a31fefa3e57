"""Checkpoints: everything a Trainer needs to continue exactly where it was after an epoch.

One `.npz` bundle (engine.files: atomic, never pickled) holds the weights under the model file's
names (W0, b0, ...), the optimizer state (opt_velocity0, opt_m0, ...), and JSON metadata: the
model fields (sizes, activation, dtype, normalizer), the config, the counters (epoch, step,
samples, seconds, lr_scale), the generator state (PCG64 state ints are exact in JSON) and an
`extra` document the caller owns. Restoring draws nothing from the generator, so a resumed run
computes the same numbers as one that never stopped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Dataset, Normalizer
from tui_mnist.engine.errors import ConfigError, ModelFileError
from tui_mnist.engine.files import load_versioned_bundle, save_bundle
from tui_mnist.engine.model_io import network_arrays, network_from_arrays
from tui_mnist.engine.network import Network
from tui_mnist.engine.training import Trainer

CHECKPOINT_FORMAT = "tui-mnist-checkpoint"
CHECKPOINT_VERSION = 1
OPTIMIZER_PREFIX = "opt_"
# Settings a checkpoint's weights are tied to: changing them on resume would be meaningless.
FIXED_ON_RESUME = ("hidden", "activation", "dtype", "standardize")
COUNTERS = {"epoch": int, "step": int, "samples": int, "seconds": float, "lr_scale": float}


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


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint; anything unreadable or inconsistent is a ModelFileError."""
    path = Path(path)
    arrays, meta = load_versioned_bundle(path, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, "checkpoint")
    for name, kind in COUNTERS.items():
        value = meta.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, float) if kind is float else int):
            raise ModelFileError(f"{path}: metadata lacks a valid {name}")
    for name, kind in (("rng", dict), ("config", dict), ("extra", dict), ("normalizer", dict)):
        if not isinstance(meta.get(name), kind):
            raise ModelFileError(f"{path}: metadata lacks a valid {name}")
    try:
        TrainConfig.from_dict(meta["config"])
        Normalizer(**meta["normalizer"])
    except (ConfigError, TypeError) as error:
        raise ModelFileError(f"{path}: metadata holds an invalid config ({error})") from None
    network = network_from_arrays(path, arrays, meta)
    optimizer_arrays = {
        name[len(OPTIMIZER_PREFIX) :]: array
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
    try:
        trainer.rng.bit_generator.state = checkpoint.meta["rng"]
    except (TypeError, ValueError, KeyError) as error:
        raise ModelFileError(f"{checkpoint.path}: invalid generator state ({error})") from None
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
