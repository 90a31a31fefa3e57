"""Per-epoch records: what the trainer keeps of each epoch (checked against the epoch's own
progress record and against figures computed here from copies of the weights), that keeping
them does not change training, their files, and the run folders a real `tui-mnist train` fills."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tui_mnist.engine.bundles import save_bundle
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.confusion import confusion_of
from tui_mnist.engine.epoch_record import (
    FIGURES,
    PROBE_IMAGES,
    RECORD_FORMAT,
    RECORD_VERSION,
    EpochRecord,
    load_record,
    save_record,
)
from tui_mnist.engine.errors import ModelFileError
from tui_mnist.engine.health import EpochHealth, LayerHealth, hints, layer_health
from tui_mnist.engine.metrics import evaluate
from tui_mnist.engine.network import Network, Workspace
from tui_mnist.engine.progress import BatchProgress, EpochProgress, RunFinished
from tui_mnist.engine.training import Trainer
from tui_mnist.runs.store import RunFolder, run_folders

pytestmark = pytest.mark.usefixtures("one_blas_thread")

TWO_EPOCHS = TrainConfig(hidden=(16,), epochs=2, batch_size=500, seed=4)


def timeless(records):
    return [dataclasses.replace(r, seconds=0.0) for r in records]


def norm(array: np.ndarray) -> float:
    return float(np.linalg.norm(array))


def epochs_seen(trainer: Trainer) -> list[dict]:
    """Run the trainer to its end; per epoch, its EpochProgress, the trainer's epoch_record
    then, and copies of the weights before the epoch's last step and after the epoch."""
    seen = []
    latest = [w.copy() for w in trainer.network.weights]  # the weights after the latest step
    before_step = latest
    last_batch = None
    for record in trainer.run():
        if isinstance(record, BatchProgress):
            before_step, latest = latest, [w.copy() for w in trainer.network.weights]
            last_batch = record
        elif isinstance(record, EpochProgress):
            seen.append({"progress": record, "record": trainer.epoch_record, "last_batch": last_batch,
                         "before": before_step, "after": latest})
    return seen


# --- what the trainer keeps -------------------------------------------------------------------


def test_each_epoch_record_matches_its_epoch(mnist_small):
    trainer = Trainer(TWO_EPOCHS, mnist_small, keep_records=True)
    seen = epochs_seen(trainer)

    assert [epoch["record"].epoch for epoch in seen] == [1, 2]
    for epoch in seen:
        record, progress = epoch["record"], epoch["progress"]
        assert record.loss == progress.train_loss
        assert record.confusion.dtype == np.int64 and record.confusion.shape == (10, 10)
        assert record.confusion.sum() == len(mnist_small.x_val)
        assert np.trace(record.confusion) / record.confusion.sum() == progress.val_acc
        assert record.lr == epoch["last_batch"].lr
        assert record.base_lr == TWO_EPOCHS.lr
        assert record.first_weights.dtype == np.float16
        assert np.array_equal(record.first_weights, epoch["after"][0].astype(np.float16))
        assert [layer.layer for layer in record.layers] == [1, 2]
        for layer, before, after in zip(record.layers, epoch["before"], epoch["after"]):
            assert layer.weight_norm == norm(after)
            assert layer.update_ratio == norm(after - before) / norm(after)
    # The last epoch's record holds the weights the run ended with.
    assert np.array_equal(seen[-1]["record"].first_weights, trainer.network.weights[0].astype(np.float16))
    assert trainer.epoch_record is seen[-1]["record"]
    # Two different epochs: the records do not share the confusion matrix being filled.
    assert not np.array_equal(seen[0]["record"].first_weights, seen[1]["record"].first_weights)
    assert seen[0]["record"].confusion is not seen[1]["record"].confusion


def test_plain_sgd_figures_match_a_gradient_computed_here(mnist_small):
    """One batch an epoch and plain SGD: the last step is the epoch's only one, its update is
    exactly lr times the gradient of the mean loss over the whole training set."""
    config = TWO_EPOCHS.with_changes(optimizer="sgd", schedule="constant", lr=0.5,
                                     batch_size=len(mnist_small.x_train))
    trainer = Trainer(config, mnist_small, keep_records=True)
    start = Network([w.copy() for w in trainer.network.weights],
                    [b.copy() for b in trainer.network.biases], config.activation)
    (first, _) = epochs_seen(trainer)

    workspace = Workspace(start, len(mnist_small.x_train))
    x = mnist_small.normalizer.apply(mnist_small.x_train, workspace.inputs)
    start.train_step(x, mnist_small.y_train.astype(np.intp), workspace)
    gradients = workspace.grads[::2]  # dLoss/dW per layer, biases left out
    for layer, gradient, after in zip(first["record"].layers, gradients, first["after"]):
        assert layer.gradient_norm == pytest.approx(norm(gradient), rel=1e-4)
        assert layer.update_ratio == pytest.approx(config.lr * norm(gradient) / norm(after), rel=1e-4)
    assert first["record"].lr == first["record"].base_lr == config.lr
    assert not first["record"].health().decayed


@pytest.mark.parametrize(("activation", "measured", "not_applicable"),
                         [("relu", "dead_share", "saturated_share"),
                          ("tanh", "saturated_share", "dead_share")])
def test_unit_shares_by_activation(mnist_small, activation, measured, not_applicable):
    trainer = Trainer(TWO_EPOCHS.with_changes(epochs=1, activation=activation), mnist_small,
                      keep_records=True)
    list(trainer.run())
    hidden, output = trainer.epoch_record.layers
    # Measured on the first PROBE_IMAGES validation images, with the epoch's final weights.
    probe_images = mnist_small.x_val[:PROBE_IMAGES]
    probe = mnist_small.normalizer.apply(probe_images, np.empty(probe_images.shape, np.float32))
    expected = layer_health(trainer.network, probe)[0]
    assert getattr(hidden, measured) == getattr(expected, measured)
    assert getattr(hidden, measured) is not None
    assert getattr(hidden, not_applicable) is None
    assert output.dead_share is None and output.saturated_share is None


def test_without_records_training_is_bit_for_bit_the_same(mnist_small):
    config = TWO_EPOCHS.with_changes(weight_decay=1e-3)  # the step adds decay into the gradients
    plain = Trainer(config, mnist_small)
    keeping = Trainer(config, mnist_small, keep_records=True)
    plain_progress = [r for r in plain.run() if isinstance(r, (EpochProgress, RunFinished))]
    keeping_progress = [r for r in keeping.run() if isinstance(r, (EpochProgress, RunFinished))]

    assert plain.epoch_record is None and plain.epoch == 2
    assert keeping.epoch_record.epoch == 2
    for ours, theirs in zip(plain.network.parameters, keeping.network.parameters, strict=True):
        assert np.array_equal(ours, theirs)
    assert timeless(plain_progress) == timeless(keeping_progress)


# --- files ------------------------------------------------------------------------------------


def hand_made_record(**changes) -> EpochRecord:
    rng = np.random.default_rng(1)
    fields = {
        "epoch": 3,
        "loss": 0.1234567890123,
        "confusion": rng.integers(0, 50, (10, 10)).astype(np.int64),
        "layers": (
            LayerHealth(1, 12.5, 0.75, 1.25e-3, 0.0625, None),
            LayerHealth(2, 3.0, None, None, None, None),
        ),
        "first_weights": rng.normal(0, 0.1, (784, 16)).astype(np.float16),
        "lr": 0.0125,
        "base_lr": 0.1,
    }
    return EpochRecord(**{**fields, **changes})


def assert_same_record(loaded: EpochRecord, saved: EpochRecord) -> None:
    for name in ("epoch", "loss", "layers", "lr", "base_lr"):
        assert getattr(loaded, name) == getattr(saved, name), name
    for name in ("confusion", "first_weights"):
        assert (getattr(loaded, name) is None) == (getattr(saved, name) is None), name
    assert loaded.confusion is None or (
        loaded.confusion.dtype == np.int64 and np.array_equal(loaded.confusion, saved.confusion)
    )
    assert loaded.first_weights is None or (
        loaded.first_weights.dtype == np.float16
        and np.array_equal(loaded.first_weights, saved.first_weights)
    )


def test_a_record_survives_saving_and_loading(tmp_path):
    record = hand_made_record()
    save_record(tmp_path / "epoch-0003.npz", record)
    loaded = load_record(tmp_path / "epoch-0003.npz")
    assert_same_record(loaded, record)
    assert loaded.layers[1].gradient_norm is None and loaded.layers[0].saturated_share is None
    assert loaded.confusion is not None and loaded.first_weights is not None


def test_missing_confusion_and_first_weights_survive_as_none(tmp_path):
    record = hand_made_record(confusion=None, first_weights=None)
    save_record(tmp_path / "r.npz", record)
    loaded = load_record(tmp_path / "r.npz")
    assert loaded.confusion is None and loaded.first_weights is None
    assert_same_record(loaded, record)


def test_a_trainer_record_survives_saving_and_loading(mnist_small, tmp_path):
    trainer = Trainer(TWO_EPOCHS.with_changes(epochs=1), mnist_small, keep_records=True)
    list(trainer.run())
    save_record(tmp_path / "r.npz", trainer.epoch_record)
    assert_same_record(load_record(tmp_path / "r.npz"), trainer.epoch_record)


def figure_arrays(layers: int = 2) -> dict[str, np.ndarray]:
    return {name: np.ones(layers, np.float64) for name in FIGURES}


def record_meta() -> dict:
    return {"format": RECORD_FORMAT, "version": RECORD_VERSION, "epoch": 1, "loss": 1.0,
            "lr": 0.1, "base_lr": 0.1}


def corrupt(path):
    save_record(path, hand_made_record())
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    path.write_bytes(bytes(data))


def truncated(path):
    save_record(path, hand_made_record())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def another_format(path):
    save_bundle(path, figure_arrays(), {**record_meta(), "format": "tui-mnist-checkpoint"})


def float_confusion(path):
    save_bundle(path, {**figure_arrays(), "confusion": np.eye(10, dtype=np.float32)}, record_meta())


@pytest.mark.parametrize("spoil", [corrupt, truncated, another_format, float_confusion])
def test_a_bad_record_file_is_refused_naming_the_file(tmp_path, spoil):
    path = tmp_path / "epochs" / "epoch-0001.npz"
    path.parent.mkdir()
    spoil(path)
    with pytest.raises(ModelFileError) as refused:
        load_record(path)
    assert str(path) in str(refused.value)


def test_the_well_formed_bundle_those_files_spoil_loads(tmp_path):
    """The refusals above are about what each spoils: the same bundle, unspoiled, loads."""
    path = tmp_path / "r.npz"
    save_bundle(path, {**figure_arrays(), "confusion": np.eye(10, dtype=np.int64)}, record_meta())
    loaded = load_record(path)
    assert loaded.epoch == 1 and np.trace(loaded.confusion) == 10 and len(loaded.layers) == 2


# --- the validation pass's confusion and the hints ---------------------------------------------


def test_evaluate_fills_the_confusion_matrix_instead_of_adding_to_it(mnist_small):
    network = Network.create((784, 16, 10), "relu", np.random.default_rng(3))
    images, labels = mnist_small.x_test, mnist_small.y_test  # 2000 images: two chunks
    matrix = np.full((10, 10), 7, np.int64)
    _, accuracy = evaluate(network, images, labels, mnist_small.normalizer, confusion=matrix)
    expected = confusion_of(network, images, labels, mnist_small.normalizer)
    assert np.array_equal(matrix, expected)
    assert matrix.sum() == len(images) and np.trace(matrix) / len(images) == accuracy
    evaluate(network, images, labels, mnist_small.normalizer, confusion=matrix)
    assert np.array_equal(matrix, expected)


def one_layer(ratio: float) -> tuple[LayerHealth, ...]:
    return (LayerHealth(1, 1.0, None, ratio, None, None),)


def test_a_decayed_rate_silences_only_the_too_small_hint():
    small, large = one_layer(1e-7), one_layer(0.3)
    assert hints([EpochHealth(1.0, small)]) == [
        "update/weight ratio 1e-07 in layer 1: the learning rate is too small"
    ]
    assert hints([EpochHealth(1.0, small, decayed=True)]) == []
    too_large = ["update/weight ratio 0.3 in layer 1: the learning rate is too large"]
    assert hints([EpochHealth(1.0, large, decayed=True)]) == too_large
    assert hints([EpochHealth(1.0, large)]) == too_large


def test_a_record_is_decayed_below_a_tenth_of_its_base_rate():
    assert hand_made_record(lr=0.009, base_lr=0.1).health().decayed
    assert not hand_made_record(lr=0.011, base_lr=0.1).health().decayed
    health = hand_made_record().health()
    assert health.loss == hand_made_record().loss and health.layers == hand_made_record().layers


# --- run folders ------------------------------------------------------------------------------


def test_cli_runs_keep_a_record_per_epoch_also_when_resumed(tmp_path, small_data):
    from fakes import cli_flags, environment, small_config, tui_mnist

    env = environment(tmp_path, small_data)
    runs_dir = tmp_path / "runs"
    trained = tui_mnist("train", *cli_flags(small_config(epochs=2)), "--runs-dir", str(runs_dir), env=env)
    assert trained.returncode == 0, trained.stderr
    (folder,) = run_folders(runs_dir)
    assert folder.record_epochs() == [1, 2]
    records = [load_record(folder.record_file(epoch)) for epoch in (1, 2)]
    metrics = folder.epoch_metrics()
    assert [record.epoch for record in records] == [1, 2]
    for record, logged in zip(records, metrics, strict=True):
        assert record.loss == logged["train_loss"]
        assert record.confusion.sum() == 1000  # small_config's validation split
        assert np.trace(record.confusion) / 1000 == logged["val_acc"]
        assert record.first_weights.shape == (784, 16)

    resumed = tui_mnist("train", "--resume", folder.id, "--epochs", "3", "--runs-dir", str(runs_dir),
                        env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "starting from the checkpoint of epoch 2" in resumed.stderr
    (child,) = [other for other in run_folders(runs_dir) if other.id != folder.id]
    assert child.record_epochs() == [1, 2, 3]  # the parent's epochs it carries on from, then its own
    inherited = load_record(child.record_file(2))
    np.testing.assert_array_equal(inherited.confusion, records[1].confusion)
    np.testing.assert_array_equal(inherited.first_weights, records[1].first_weights)
    third = load_record(child.record_file(3))
    assert third.epoch == 3 and third.loss == child.epoch_metrics()[2]["train_loss"]
    assert not np.array_equal(third.first_weights, records[1].first_weights)
    assert math.isfinite(third.layers[0].update_ratio)
    assert RunFolder(folder.path).record_epochs() == [1, 2]  # the parent's stay as they were
