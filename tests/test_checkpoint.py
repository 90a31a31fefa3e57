"""Checkpoints: a resumed run computes exactly what the uninterrupted run computed; bad files
are refused with a clear message."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tui_mnist.engine.bundles import load_bundle, save_bundle
from tui_mnist.engine.checkpoint import load_checkpoint, restore_trainer, save_checkpoint
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import ConfigError, ModelFileError
from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
from tui_mnist.engine.training import Trainer

pytestmark = pytest.mark.usefixtures("one_blas_thread")

SMALL = TrainConfig(hidden=(16,), epochs=3, val=1000, seed=5)


def timeless(records):
    """Records with the wall-clock field zeroed: everything else must match bit for bit."""
    return [dataclasses.replace(r, seconds=0.0) for r in records]


def run_saving_at(trainer: Trainer, epoch: int, path) -> list:
    records = []
    for record in trainer.run():
        records.append(record)
        if isinstance(record, EpochProgress) and record.epoch == epoch:
            save_checkpoint(path, trainer, extra={"note": "kept"})
    return records


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"augment": "shift", "dropout": 0.2, "optimizer": "adam", "lr": 0.003, "schedule": "cosine"},
    ],
    ids=["momentum", "shift+dropout+adam+cosine"],
)
def test_resuming_from_epoch_1_reproduces_the_uninterrupted_run(mnist_small, tmp_path, changes):
    config = SMALL.with_changes(**changes)
    path = tmp_path / "epoch-1.npz"
    full = run_saving_at(Trainer(config, mnist_small), 1, path)

    checkpoint = load_checkpoint(path)
    assert checkpoint.epoch == 1 and checkpoint.extra == {"note": "kept"}
    assert checkpoint.config == config
    resumed = restore_trainer(checkpoint, config, mnist_small)
    assert resumed.lr_scale == 1.0 and resumed.step == resumed.batches_per_epoch
    rest = list(resumed.run())

    after_epoch_1 = full[full.index(next(r for r in full if isinstance(r, EpochProgress))) + 1 :]
    assert len(rest) == len(after_epoch_1)
    assert timeless(rest) == timeless(after_epoch_1)
    assert isinstance(rest[-1], RunFinished) and rest[-1].epochs_completed == 3
    assert rest[-1].seconds > 0


def test_restoring_draws_nothing_from_the_generator(mnist_small, tmp_path):
    trainer = Trainer(SMALL.with_changes(epochs=1), mnist_small)
    list(trainer.run())
    save_checkpoint(tmp_path / "c.npz", trainer)
    expected = trainer.rng.random(4)
    restored = restore_trainer(load_checkpoint(tmp_path / "c.npz"), trainer.config, mnist_small)
    assert np.array_equal(restored.rng.random(4), expected)


def test_lr_scale_and_counters_survive(mnist_small, tmp_path):
    trainer = Trainer(SMALL.with_changes(epochs=1), mnist_small)
    trainer.lr_scale = 0.5
    list(trainer.run())
    save_checkpoint(tmp_path / "c.npz", trainer)
    restored = restore_trainer(load_checkpoint(tmp_path / "c.npz"), trainer.config, mnist_small)
    for name in ("epoch", "step", "samples", "seconds", "lr_scale"):
        assert getattr(restored, name) == getattr(trainer, name)


def test_settings_may_change_except_the_ones_the_weights_depend_on(mnist_small, tmp_path):
    trainer = Trainer(SMALL.with_changes(epochs=1), mnist_small)
    list(trainer.run())
    save_checkpoint(tmp_path / "c.npz", trainer)
    checkpoint = load_checkpoint(tmp_path / "c.npz")

    longer = restore_trainer(checkpoint, SMALL.with_changes(epochs=2, optimizer="sgd"), mnist_small)
    assert longer.optimizer.name == "sgd" and longer.epoch == 1
    with pytest.raises(ConfigError, match="cannot change hidden when resuming"):
        restore_trainer(checkpoint, SMALL.with_changes(hidden=(32,)), mnist_small)


def test_corrupt_and_foreign_files_are_refused(mnist_small, tmp_path):
    trainer = Trainer(SMALL.with_changes(epochs=1), mnist_small)
    list(trainer.run())
    good = tmp_path / "good.npz"
    save_checkpoint(good, trainer)
    blob = good.read_bytes()

    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ModelFileError, match="truncated.npz"):
        load_checkpoint(truncated)

    arrays, meta = load_bundle(good)
    flipped = tmp_path / "flipped.npz"
    arrays["W0"] = arrays["W0"].copy()
    arrays["W0"][0, 0] = np.nan
    save_bundle(flipped, arrays, meta)
    with pytest.raises(ModelFileError, match="non-finite"):
        load_checkpoint(flipped)

    no_state = tmp_path / "no-state.npz"
    arrays, meta = load_bundle(good)
    del arrays["opt_velocity0"]
    save_bundle(no_state, arrays, meta)
    with pytest.raises(ModelFileError, match="optimizer state velocity0"):
        restore_trainer(load_checkpoint(no_state), trainer.config, mnist_small)

    model_file = tmp_path / "model.npz"
    save_bundle(model_file, arrays, {**meta, "format": "tui-mnist-model"})
    with pytest.raises(ModelFileError, match="not a tui-mnist checkpoint"):
        load_checkpoint(model_file)


def test_batch_records_after_resume_continue_the_global_counters(mnist_small, tmp_path):
    config = SMALL.with_changes(epochs=2)
    trainer = Trainer(config.with_changes(epochs=1), mnist_small)
    list(trainer.run())
    save_checkpoint(tmp_path / "c.npz", trainer)
    resumed = restore_trainer(load_checkpoint(tmp_path / "c.npz"), config, mnist_small)
    first = next(r for r in resumed.run() if isinstance(r, BatchProgress))
    assert (first.epoch, first.batch, first.step) == (2, 1, trainer.batches_per_epoch + 1)
    assert first.samples == len(mnist_small.x_train) + config.batch_size
