"""Model files: a faithful round trip, refusal of anything else, atomic replacement."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from tui_mnist.engine.bundles import load_bundle, save_bundle
from tui_mnist.engine.config import TrainConfig
from tui_mnist.engine.data import Normalizer
from tui_mnist.engine.errors import ModelFileError
from tui_mnist.engine.files import write_atomically
from tui_mnist.engine.metrics import evaluate
from tui_mnist.engine.model_io import load_model, save_model
from tui_mnist.engine.network import Network
from tui_mnist.engine.progress import RunFinished
from tui_mnist.engine.training import Trainer

NORMALIZER = Normalizer(scale=0.5, offset=-0.25)


def random_network(sizes=(784, 16, 10), activation="relu", dtype="float32", seed=0):
    return Network.create(sizes, activation, np.random.default_rng(seed), dtype)


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, random_network((6, 5, 3)), NORMALIZER)
    return path


def test_trained_model_round_trip_keeps_its_accuracy(mnist_small, tmp_path):
    config = TrainConfig(hidden=(32,), epochs=1, standardize=True)
    trainer = Trainer(config, mnist_small)
    *_, finished = trainer.run()
    assert isinstance(finished, RunFinished)
    path = tmp_path / "model.npz"
    results = {"test_acc": finished.test_acc}
    save_model(path, trainer.network, mnist_small.normalizer, config.to_dict(), results)

    saved = load_model(path)

    assert saved.normalizer == mnist_small.normalizer
    assert saved.meta["config"] == config.to_dict()
    assert saved.meta["results"] == results
    test_images, test_labels = mnist_small.x_test, mnist_small.y_test
    loss, accuracy = evaluate(saved.network, test_images, test_labels, saved.normalizer)
    assert accuracy == finished.test_acc
    assert loss == pytest.approx(finished.test_loss, rel=1e-6)


@pytest.mark.parametrize(
    "sizes, activation, dtype",
    [
        ((6, 5, 4, 3), "tanh", "float64"),
        ((6, 3), "relu", "float32"),
        ((6, 5, 3), "sigmoid", "float32"),
    ],
)
def test_round_trip_preserves_architecture_and_values(tmp_path, sizes, activation, dtype):
    network = random_network(sizes, activation, dtype)
    path = tmp_path / "model.npz"
    save_model(path, network, NORMALIZER)
    loaded = load_model(path).network
    assert loaded.sizes == sizes
    assert loaded.activation.name == activation
    assert loaded.dtype == np.dtype(dtype)
    for original, restored in zip(network.parameters, loaded.parameters):
        np.testing.assert_array_equal(original, restored)


# --- refused files: each a one-line ModelFileError naming the file ---------------------------


def refusal(path) -> str:
    with pytest.raises(ModelFileError) as caught:
        load_model(path)
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def test_missing_file(tmp_path):
    assert "file not found" in refusal(tmp_path / "absent.npz")


def test_garbage_file(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"these are not the weights you are looking for" * 20)
    assert "not a tui-mnist .npz file" in refusal(path)


def test_truncated_file(model_path):
    model_path.write_bytes(model_path.read_bytes()[: model_path.stat().st_size // 2])
    assert "corrupt or truncated" in refusal(model_path)


def test_pickle_file(tmp_path):
    path = tmp_path / "model.npz"
    with path.open("wb") as stream:
        pickle.dump({"W0": np.zeros((6, 3))}, stream)
    assert "pickled data" in refusal(path)


def test_npy_of_objects(tmp_path):
    path = tmp_path / "model.npz"
    with path.open("wb") as stream:
        np.save(stream, np.array([{"W0": 1}], dtype=object))
    assert "not a tui-mnist .npz file" in refusal(path)


def test_npz_holding_an_object_array(model_path):
    arrays, meta = load_bundle(model_path)
    arrays["W0"] = np.array([None, {"evil": True}], dtype=object)
    # save_bundle is for honest files; np.savez pickles object arrays silently.
    with model_path.open("wb") as stream:
        np.savez(stream, **arrays, __meta__=np.array(str(meta)))
    assert "pickled data" in refusal(model_path)


def test_bare_npy_array(tmp_path):
    path = tmp_path / "model.npz"
    with path.open("wb") as stream:
        np.save(stream, np.zeros((6, 3)))
    assert "not a tui-mnist .npz file" in refusal(path)


def rewrite(path, change_arrays=None, **meta_changes):
    arrays, meta = load_bundle(path)
    meta.update(meta_changes)
    if change_arrays:
        change_arrays(arrays)
    save_bundle(path, arrays, meta)


def test_shapes_that_contradict_the_metadata(model_path):
    rewrite(model_path, sizes=[6, 7, 3])
    assert "layer 0 has shape (6, 5)/(5,), the architecture says (6, 7)" in refusal(model_path)


def test_missing_layer(model_path):
    rewrite(model_path, sizes=[6, 5, 3, 2])
    assert "layer 2 weights are missing" in refusal(model_path)


def test_non_finite_weights(model_path):
    def poison(arrays):
        arrays["b1"][0] = np.nan

    rewrite(model_path, poison)
    assert "non-finite" in refusal(model_path)


def test_wrong_format_version(model_path):
    rewrite(model_path, version=2)
    assert "version 2 is not supported" in refusal(model_path)


def test_not_a_model_file(model_path):
    rewrite(model_path, format="tui-mnist-checkpoint")
    assert "not a tui-mnist model file" in refusal(model_path)


def test_file_without_metadata(tmp_path):
    path = tmp_path / "model.npz"
    np.savez(path, W0=np.zeros((6, 3)), b0=np.zeros(3))
    assert "no metadata" in refusal(path)


# --- atomic saving ---------------------------------------------------------------------------


def test_saving_leaves_only_the_model_behind(tmp_path):
    save_model(tmp_path / "model.npz", random_network(), NORMALIZER)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_existing_file_is_replaced_whole(tmp_path):
    path = tmp_path / "model.npz"
    save_model(path, random_network((784, 256, 10)), NORMALIZER)
    old_copy = tmp_path / "old-link.npz"
    os.link(path, old_copy)  # a rewrite in place would change this second name too

    small = random_network((6, 3))
    save_model(path, small, NORMALIZER)

    assert load_model(path).network.sizes == (6, 3)
    assert load_model(old_copy).network.sizes == (784, 256, 10)
    reference = tmp_path / "reference.npz"
    save_model(reference, small, NORMALIZER)
    assert path.read_bytes() == reference.read_bytes()


def test_failed_write_keeps_the_old_file_and_no_temporary(model_path):
    before = model_path.read_bytes()

    def write_half_then_fail(stream):
        stream.write(b"PK half a zip")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomically(model_path, write_half_then_fail)

    assert model_path.read_bytes() == before
    assert [p.name for p in model_path.parent.iterdir()] == ["model.npz"]


def test_saved_files_get_the_mode_of_an_ordinary_file(tmp_path):
    previous = os.umask(0o027)
    try:
        write_atomically(tmp_path / "shared.npz", lambda stream: stream.write(b"x"))
    finally:
        os.umask(previous)
    assert (tmp_path / "shared.npz").stat().st_mode & 0o777 == 0o640
