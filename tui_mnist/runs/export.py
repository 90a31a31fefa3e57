"""Take things out of a run folder: its metrics as CSV, a checkpoint's weights as a model file."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from tui_mnist.runs import RunError
from tui_mnist.runs.store import RunFolder

CSV_COLUMNS = (
    "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr",
    "seconds",
)


def write_metrics_csv(folder: RunFolder, stream: TextIO) -> int:
    """One row per epoch; returns the number of rows. Missing values are empty cells."""
    records = folder.epoch_metrics()
    writer = csv.DictWriter(stream, CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return len(records)


def export_model(
    folder: RunFolder, path: Path, epoch: int | None, warn: Callable[[str], None]
) -> int:
    """Write the weights of the checkpoint of `epoch`, which the run must have kept and be
    able to read (default: the newest readable one), as a model file; returns its epoch."""
    from tui_mnist.engine.model_io import save_model
    from tui_mnist.runs.resume import newest_readable

    kept = folder.checkpoint_epochs()
    if epoch is not None and epoch not in kept:
        listed = ", ".join(map(str, kept)) or "none"
        raise RunError(f"run {folder.id} has no checkpoint of epoch {epoch} (it keeps epochs: {listed})")
    checkpoint, history = newest_readable(folder, epoch, warn)
    if checkpoint is None or (epoch is not None and checkpoint.epoch != epoch):
        asked = f"of epoch {epoch}" if epoch else "yet"
        raise RunError(f"run {folder.id} has no readable checkpoint {asked}")
    results = {"run": folder.id, "epochs_completed": checkpoint.epoch}
    record = next((e for e in history.epochs if e.epoch == checkpoint.epoch), None)
    if record is not None:
        results.update(val_loss=record.val_loss, val_acc=record.val_acc)
    save_model(
        path, checkpoint.network, checkpoint.normalizer, checkpoint.meta["config"], results
    )
    return checkpoint.epoch
