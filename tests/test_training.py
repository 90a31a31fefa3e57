"""The training loop on the real MNIST: accuracy, reproducibility, guards, stopping, options."""

from __future__ import annotations

import dataclasses
import re
import tracemalloc

import numpy as np
import pytest

from tui_mnist.engine.augment import OFFSETS, shift_batch
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.errors import MemoryGuardError, TrainingDiverged
from tui_mnist.engine.memory import USABLE_FRACTION, check_fits
from tui_mnist.engine.presets import PRESETS
from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
from tui_mnist.engine.schedules import Schedule
from tui_mnist.engine.training import Trainer, layer_sizes
from tui_mnist.live.text import how_far

QUICK = TrainConfig(hidden=(32,), epochs=1)


def of_kind(records, kind):
    return [r for r in records if isinstance(r, kind)]


def without_timing(records):
    return [dataclasses.replace(r, seconds=0.0) for r in records]


# --- accuracy on the full data set -----------------------------------------------------------


def test_default_config_reaches_97_percent(mnist):
    config = TrainConfig()
    assert layer_sizes(config, mnist) == (784, 128, 10)
    records = list(Trainer(config, mnist).run())

    batches_per_epoch = -(-55000 // config.batch_size)
    batches = of_kind(records, BatchProgress)
    assert len(batches) == config.epochs * batches_per_epoch
    assert [b.step for b in batches] == list(range(1, len(batches) + 1))
    assert batches[-1].samples == config.epochs * 55000
    assert [e.epoch for e in of_kind(records, EpochProgress)] == list(range(1, config.epochs + 1))
    finished = records[-1]
    assert isinstance(finished, RunFinished)
    assert finished.epochs_completed == config.epochs and not finished.stopped
    assert finished.test_acc >= 0.97


def test_seed_network_reaches_90_percent(mnist):
    _, config = PRESETS["classic"]
    assert layer_sizes(config, mnist) == (784, 10, 10)
    *_, finished = Trainer(config, mnist).run()
    assert finished.test_acc >= 0.90


@pytest.mark.parametrize(
    "changes",
    [
        dict(dtype="float64"),
        dict(hidden=()),
        dict(hidden=(32, 32)),
        dict(activation="leaky_relu"),
        dict(activation="tanh"),
        dict(activation="sigmoid"),
        dict(optimizer="sgd"),
        dict(nesterov=True),
        dict(optimizer="adam", lr=0.003),
        dict(weight_decay=1e-3),
        dict(dropout=0.2),
        dict(standardize=True, lr=0.05),
        dict(schedule="cosine", warmup_epochs=0.5),
        dict(augment="shift"),
    ],
    ids=lambda changes: ",".join(f"{k}={v}" for k, v in changes.items()),
)
def test_every_option_trains(mnist, changes):
    config = QUICK.with_changes(**changes)
    trainer = Trainer(config, mnist)
    *_, finished = trainer.run()
    assert trainer.network.sizes == (784, *config.hidden, 10)
    assert {p.dtype for p in trainer.network.parameters} == {np.dtype(config.dtype)}
    assert finished.test_acc >= 0.90


def test_float64_follows_the_float32_run(mnist_small):
    """Same seed, same algorithm: the two precisions end up in nearly the same place."""
    finals = {}
    for dtype in ("float32", "float64"):
        *_, finals[dtype] = Trainer(QUICK.with_changes(dtype=dtype), mnist_small).run()
    assert abs(finals["float32"].test_acc - finals["float64"].test_acc) <= 0.005
    assert finals["float32"].test_loss == pytest.approx(finals["float64"].test_loss, rel=0.01)


# --- reproducibility, guards, stopping -------------------------------------------------------


def test_same_seed_gives_identical_runs(mnist_small):
    config = QUICK.with_changes(epochs=2, augment="shift", dropout=0.2)
    runs = [Trainer(config, mnist_small) for _ in range(2)]
    records = [without_timing(trainer.run()) for trainer in runs]
    assert records[0] == records[1]
    for a, b in zip(runs[0].network.parameters, runs[1].network.parameters):
        np.testing.assert_array_equal(a, b)

    other_seed = without_timing(Trainer(config.with_changes(seed=1), mnist_small).run())
    assert other_seed != records[0]


def test_divergence_is_reported_with_its_batch(mnist_small):
    before = []
    with pytest.raises(TrainingDiverged) as caught:
        for record in Trainer(QUICK.with_changes(lr=1e4), mnist_small).run():
            before.append(record)
    found = re.match(r"loss diverged at epoch 1 batch (\d+) ", str(caught.value))
    assert found, str(caught.value)
    assert len(before) == int(found.group(1)) - 1
    assert all(isinstance(r, BatchProgress) for r in before)


def test_memory_guard_refuses_before_allocating(mnist_small):
    tracemalloc.start()
    try:
        with pytest.raises(MemoryGuardError, match="784-1000000-1000000-10"):
            Trainer(TrainConfig(hidden=(10**6, 10**6)), mnist_small)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000  # nothing like the 4 TB the network would take


def test_memory_guard_threshold():
    check_fits(int(USABLE_FRACTION * 1000), "a small job", available=1000)
    with pytest.raises(MemoryGuardError, match="a big job needs"):
        check_fits(int(USABLE_FRACTION * 1000) + 1, "a big job", available=1000)


def test_stop_mid_epoch(mnist_small):
    trainer = Trainer(QUICK.with_changes(epochs=2), mnist_small)
    records = []
    for record in trainer.run():
        records.append(record)
        if isinstance(record, BatchProgress) and record.batch == 3:
            trainer.request_stop()
    assert [type(r) for r in records] == [BatchProgress] * 3 + [RunFinished]
    finished = records[-1]
    assert finished.stopped and finished.epochs_completed == 0
    assert 0 < finished.test_acc <= 1
    # How far it got (issue 11: "stopped after 0 epochs" was all it said).
    assert (finished.steps, finished.batches_per_epoch) == (3, trainer.batches_per_epoch)
    assert finished.batches_into_epoch == 3
    assert how_far(finished) == f"stopped in epoch 1 after 3 of {trainer.batches_per_epoch} batches"


def test_stop_between_epochs(mnist_small):
    trainer = Trainer(QUICK.with_changes(epochs=3), mnist_small)
    for record in trainer.run():
        if isinstance(record, EpochProgress):
            trainer.request_stop()
    assert record.stopped and record.epochs_completed == 1
    assert record.batches_into_epoch == 0 and how_far(record) == "stopped after 1 epoch"


def test_no_validation_split(mnist_small):
    empty = mnist_small.x_val[:0]
    data = dataclasses.replace(mnist_small, x_val=empty, y_val=mnist_small.y_val[:0])
    records = list(Trainer(QUICK, data).run())
    (epoch,) = of_kind(records, EpochProgress)
    assert epoch.val_loss is None and epoch.val_acc is None
    assert records[-1].test_acc > 0.5


def test_learning_rate_follows_the_schedule_and_the_scale(mnist_small):
    config = QUICK.with_changes(
        epochs=2, batch_size=500, lr=0.2, schedule="cosine", warmup_epochs=0.5
    )
    trainer = Trainer(config, mnist_small)  # 5000 images: 10 batches per epoch
    expected = Schedule("cosine", base_lr=0.2, total_steps=20, warmup_steps=5)
    rates = []
    for record in trainer.run():
        if isinstance(record, BatchProgress):
            rates.append(record.lr)
            if record.step == 15:
                trainer.lr_scale = 0.5
    assert rates == pytest.approx(
        [expected.lr_at(s) * (0.5 if s >= 15 else 1) for s in range(20)], rel=1e-12
    )


# --- shift augmentation ----------------------------------------------------------------------


def shifted_reference(image, dy, dx):
    """The image moved by (dy, dx), written as roll-then-blank-what-wrapped-around."""
    moved = np.roll(image, (dy, dx), axis=(0, 1))
    moved[slice(0, dy) if dy >= 0 else slice(dy, None), :] = 0
    moved[:, slice(0, dx) if dx >= 0 else slice(dx, None)] = 0
    return moved


def matching_offsets(original, shifted):
    return [o for o in OFFSETS if np.array_equal(shifted_reference(original, *o), shifted)]


def test_each_image_is_shifted_by_one_offset_with_zero_fill():
    rng = np.random.default_rng(0)
    images = rng.integers(1, 256, (300, 4 * 5), dtype=np.uint8)  # no zeros: fill is visible
    out = np.empty_like(images)
    assert shift_batch(images, (4, 5), np.random.default_rng(1), out) is out

    used = set()
    for original, shifted in zip(images.reshape(-1, 4, 5), out.reshape(-1, 4, 5)):
        (offset,) = matching_offsets(original, shifted)
        used.add(offset)
    assert used == set(OFFSETS)


def test_shifted_digits_stay_intact(mnist):
    frames = mnist.x_test[:300].reshape(-1, 28, 28)
    border = np.concatenate([frames[:, 0], frames[:, -1], frames[:, :, 0], frames[:, :, -1]], 1)
    digits = mnist.x_test[:300][~border.any(axis=1)]  # nothing of these can fall off the edge
    assert len(digits) > 250

    out = shift_batch(digits, (28, 28), np.random.default_rng(0), np.empty_like(digits))
    np.testing.assert_array_equal(np.count_nonzero(out, axis=1), np.count_nonzero(digits, axis=1))
    np.testing.assert_array_equal(out.sum(axis=1, dtype=int), digits.sum(axis=1, dtype=int))
    for original, shifted in zip(digits.reshape(-1, 28, 28), out.reshape(-1, 28, 28)):
        assert matching_offsets(original, shifted)
