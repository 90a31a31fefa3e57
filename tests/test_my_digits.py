"""The draw screen's saved digits as a data set: `load_test_set` reads a folder that holds only
MNIST's two test files, with the same checks and errors as the full loader."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import idx_bytes

from tui_mnist.engine.data import load_raw, load_test_set
from tui_mnist.engine.errors import DataError
from tui_mnist.engine.idx import LABEL_MAGIC, SPLITS, shipped_data_dir
from tui_mnist.engine.my_digits import append_digit

TRAIN_IMAGES = SPLITS["train"][0]
TEST_IMAGES, TEST_LABELS = SPLITS["test"]


def save_digits(folder, mnist, count: int) -> None:
    for image, label in zip(mnist.x_test[:count], mnist.y_test[:count]):
        append_digit(folder, image.reshape(28, 28), int(label))


def test_a_folder_of_saved_digits_reads_back_as_a_test_set(mnist, tmp_path):
    save_digits(tmp_path / "my-digits", mnist, 4)
    test, shape = load_test_set(tmp_path / "my-digits")
    assert shape == (28, 28)
    assert test.images.shape == (4, 784)
    np.testing.assert_array_equal(test.images, mnist.x_test[:4])
    np.testing.assert_array_equal(test.labels, mnist.y_test[:4])


def test_the_full_loader_still_wants_the_training_files(mnist, tmp_path):
    save_digits(tmp_path / "my-digits", mnist, 2)
    with pytest.raises(DataError, match=rf"{TRAIN_IMAGES}\[\.gz\]: file not found"):
        load_raw(tmp_path / "my-digits", cache_dir=False)


def test_the_shipped_test_set_is_the_full_loaders(mnist_raw):
    test, shape = load_test_set(shipped_data_dir())
    assert shape == mnist_raw.shape
    np.testing.assert_array_equal(test.images, mnist_raw.test.images)
    np.testing.assert_array_equal(test.labels, mnist_raw.test.labels)


def test_a_missing_labels_file_is_named(mnist, tmp_path):
    folder = tmp_path / "my-digits"
    save_digits(folder, mnist, 2)
    (folder / TEST_LABELS).unlink()
    with pytest.raises(DataError) as caught:
        load_test_set(folder)
    assert str(caught.value) == f"{folder / TEST_LABELS}[.gz]: file not found"


def test_labels_that_disagree_with_the_images_are_named(mnist, tmp_path):
    folder = tmp_path / "my-digits"
    save_digits(folder, mnist, 3)
    (folder / TEST_LABELS).write_bytes(idx_bytes(mnist.y_test[:2], LABEL_MAGIC))
    with pytest.raises(DataError) as caught:
        load_test_set(folder)
    assert str(caught.value) == f"{folder / TEST_LABELS}: 2 labels for 3 images in {TEST_IMAGES}"


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(DataError) as caught:
        load_test_set(tmp_path / "nowhere")
    assert str(caught.value) == f"data directory {tmp_path / 'nowhere'} (from --data-dir) does not exist"


def test_the_inspector_opens_a_model_on_a_folder_of_saved_digits(mnist, tmp_path):
    from fakes import fixed_seed_network

    from tui_mnist.engine.model_io import save_model
    from tui_mnist.tui.screens.inspector import InspectSource

    save_digits(tmp_path / "my-digits", mnist, 3)
    model = tmp_path / "model.npz"
    save_model(model, fixed_seed_network(), mnist.normalizer, {}, {})
    source = InspectSource.from_model_file(model, str(tmp_path / "my-digits"))
    np.testing.assert_array_equal(source.images, mnist.x_test[:3])
    np.testing.assert_array_equal(source.labels, mnist.y_test[:3])
    assert source.shape == (28, 28)
