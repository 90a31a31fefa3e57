"""What a run keeps of each epoch for looking back: the confusion matrix on the validation set,
the health figures of every layer, and the first layer's weights in float16 (where they take
at most FIRST_WEIGHTS_LIMIT bytes). The confusion, weights and health views replay a past epoch
from these; each is one small `.npz` bundle (engine.bundles: atomic, never pickled).

`EpochRecorder` builds them inside the training loop at a cost the trainer barely notices: the
confusion comes from the validation pass the epoch makes anyway, the gradients and the update
from the epoch's last batch, the unit shares from one forward pass over a fixed probe batch.
NumPy only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui_mnist.engine.bundles import (
    Declared,
    Field,
    check_fields,
    load_versioned_bundle,
    refuse_others,
    save_bundle,
    whole,
)
from tui_mnist.engine.errors import ModelFileError
from tui_mnist.engine.health import DECAYED, EpochHealth, LayerHealth, layer_health
from tui_mnist.engine.network import Network

RECORD_FORMAT = "tui-mnist-epoch-record"
RECORD_VERSION = 1
FIRST_WEIGHTS_LIMIT = 1 << 20  # bytes of float16: 784x128 takes 200 KB, 784x1024 is left out
PROBE_IMAGES = 256  # the fixed batch the dead and saturated shares are measured on
FIGURES = ("weight_norm", "gradient_norm", "update_ratio", "dead_share", "saturated_share")


@dataclass(frozen=True)
class EpochRecord:
    epoch: int
    loss: float  # the epoch's mean training loss
    confusion: np.ndarray | None  # (classes, classes) int64 [true, predicted] on validation
    layers: tuple[LayerHealth, ...]
    first_weights: np.ndarray | None  # W0 (n_in, n_out) float16, None when too large
    lr: float  # the learning rate of the epoch's last step
    base_lr: float  # the configured rate (times the app's scaling) the schedule starts from

    def health(self) -> EpochHealth:
        return EpochHealth(self.loss, self.layers, decayed=self.lr <= DECAYED * self.base_lr)


def save_record(path: str | Path, record: EpochRecord) -> None:
    arrays = {
        # None (a figure that does not apply) is stored as NaN.
        name: np.array([np.nan if getattr(layer, name) is None else getattr(layer, name)
                        for layer in record.layers], dtype=np.float64)
        for name in FIGURES
    }
    if record.confusion is not None:
        arrays["confusion"] = record.confusion.astype(np.int64)
    if record.first_weights is not None:
        arrays["first_weights"] = record.first_weights
    meta = {"format": RECORD_FORMAT, "version": RECORD_VERSION, "epoch": record.epoch,
            "loss": record.loss, "lr": record.lr, "base_lr": record.base_lr}
    save_bundle(Path(path), arrays, meta)


RECORD_FIELDS = (
    Field("epoch", "a whole number >= 1", whole(1)),
    *(Field(name, "a number", lambda value: type(value) in (int, float)) for name in ("loss", "lr", "base_lr")),
)


def _record_layout(path: Path, meta: dict, declared: dict[str, Declared]) -> None:
    """The record's metadata and its arrays as declared, before any is read."""
    check_fields(path, meta, RECORD_FIELDS)
    refuse_others(path, declared, {*FIGURES, "confusion", "first_weights"}, "epoch record")
    for name in FIGURES:
        values = declared.get(name)
        if values is None or values.dtype != np.float64 or len(values.shape) != 1:
            raise ModelFileError(f"{path}: {name} is missing or not a float64 vector")
    if len({declared[name].shape for name in FIGURES}) != 1:
        raise ModelFileError(f"{path}: the health figures disagree on the number of layers")
    confusion = declared.get("confusion")
    if confusion is not None and (
        confusion.dtype != np.int64 or len(confusion.shape) != 2 or confusion.shape[0] != confusion.shape[1]
    ):
        raise ModelFileError(f"{path}: confusion is not a square int64 matrix")
    first_weights = declared.get("first_weights")
    if first_weights is not None and (
        first_weights.dtype != np.float16 or len(first_weights.shape) != 2
        or first_weights.nbytes > FIRST_WEIGHTS_LIMIT
    ):
        raise ModelFileError(f"{path}: first_weights is not a float16 matrix of at most {FIRST_WEIGHTS_LIMIT} bytes")


def load_record(path: str | Path) -> EpochRecord:
    """Read and check a record; anything unreadable or inconsistent is a ModelFileError
    naming the file."""
    path = Path(path)
    arrays, meta = load_versioned_bundle(path, RECORD_FORMAT, RECORD_VERSION, "epoch record", _record_layout)
    figures = {name: arrays[name] for name in FIGURES}

    def value(name: str, i: int) -> float | None:
        number = float(figures[name][i])
        return None if np.isnan(number) else number

    layers = tuple(
        LayerHealth(i + 1, float(figures["weight_norm"][i]),
                    *(value(name, i) for name in FIGURES[1:]))
        for i in range(len(figures["weight_norm"]))
    )
    return EpochRecord(meta["epoch"], float(meta["loss"]), arrays.get("confusion"), layers,
                       arrays.get("first_weights"), float(meta["lr"]), float(meta["base_lr"]))


class EpochRecorder:
    """Builds a trainer's EpochRecords. Call `before_last_step` just before the epoch's last
    optimizer step (gradients are in place, the weights not yet moved), then `record` after the
    epoch's validation pass."""

    def __init__(self, network: Network, probe: np.ndarray, classes: int):
        """`probe`: normalized inputs (m, n0), the same images every epoch."""
        self.network = network
        self.probe = probe
        self.confusion = np.zeros((classes, classes), np.int64)  # filled by the validation pass
        self.before = [np.empty_like(p) for p in network.parameters]  # W0, b0, W1, b1, ...
        self.gradients: list[np.ndarray] = []

    def before_last_step(self, grads: list[np.ndarray]) -> None:
        for before, parameter in zip(self.before, self.network.parameters):
            np.copyto(before, parameter)
        # Copied now: weight decay adds to the gradients in place during the step.
        self.gradients = [g.copy() for g in grads]

    def record(self, epoch: int, loss: float, validated: bool, lr: float, base_lr: float) -> EpochRecord:
        network = self.network
        updates = [p - before for p, before in zip(network.parameters, self.before)]
        layers = layer_health(network, self.probe, self.gradients, updates)
        first = network.weights[0]
        keep_first = first.size * 2 <= FIRST_WEIGHTS_LIMIT
        return EpochRecord(
            epoch=epoch,
            loss=loss,
            confusion=self.confusion.copy() if validated else None,
            layers=tuple(layers),
            first_weights=first.astype(np.float16) if keep_first else None,
            lr=lr,
            base_lr=base_lr,
        )
