"""The IDX loader: the shipped MNIST, every malformed-file case, data-dir precedence, the cache."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest
from fakes import idx_bytes

from tui_mnist.engine.data import load_dataset, load_raw
from tui_mnist.engine.errors import DataError
from tui_mnist.engine.idx import DATA_ENV, IMAGE_MAGIC, SPLITS, find_data_dir, shipped_data_dir

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
TRAIN_IMAGES, TRAIN_LABELS = SPLITS["train"]
TEST_IMAGES, TEST_LABELS = SPLITS["test"]


def write_file(directory: Path, stem: str, content: bytes, gz: bool = True) -> Path:
    path = directory / (f"{stem}.gz" if gz else stem)
    path.write_bytes(gzip.compress(content) if gz else content)
    return path


def write_dataset(directory: Path, seed: int = 0, gz: bool = True) -> dict[str, np.ndarray]:
    """A tiny valid MNIST-layout folder (4x3 images); returns the arrays it holds."""
    rng = np.random.default_rng(seed)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (12, 4, 3), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, 12, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (5, 4, 3), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, 5, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for stem, array in arrays.items():
        write_file(directory, stem, idx_bytes(array), gz)
    return arrays


def assert_holds(raw, arrays):
    np.testing.assert_array_equal(raw.train.images, arrays[TRAIN_IMAGES].reshape(12, 12))
    np.testing.assert_array_equal(raw.train.labels, arrays[TRAIN_LABELS])
    np.testing.assert_array_equal(raw.test.images, arrays[TEST_IMAGES].reshape(5, 12))
    np.testing.assert_array_equal(raw.test.labels, arrays[TEST_LABELS])
    assert raw.shape == (4, 3)


# --- the shipped MNIST ---------------------------------------------------------------------


def test_default_split_shapes(mnist_cache_dir, mnist_raw):
    dataset = load_dataset(shipped_data_dir(), cache_dir=mnist_cache_dir)
    assert dataset.x_train.shape == (55000, 784)
    assert dataset.x_val.shape == (5000, 784)
    assert dataset.x_test.shape == (10000, 784)
    labels = (dataset.y_train, dataset.y_val, dataset.y_test)
    assert [len(y) for y in labels] == [55000, 5000, 10000]
    assert dataset.shape == (28, 28)
    arrays = (dataset.x_train, dataset.y_train, dataset.x_test)
    assert {a.dtype for a in arrays} == {np.dtype(np.uint8)}
    # Validation is the last 5000 training images.
    np.testing.assert_array_equal(dataset.x_val, mnist_raw.train.images[55000:])
    np.testing.assert_array_equal(dataset.y_val, mnist_raw.train.labels[55000:])
    assert dataset.normalizer.apply(dataset.x_test[:1], np.empty((1, 784))).max() == 1.0


def test_label_counts(mnist_raw):
    assert np.bincount(mnist_raw.train.labels).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist_raw.test.labels).tolist() == TEST_COUNTS


def test_loaded_arrays_are_exactly_the_published_files(mnist_raw):
    """Re-serialising what the loader returns reproduces the SHA-256 of each decompressed file."""
    sums = dict(
        reversed(line.split())
        for line in (shipped_data_dir() / "SHA256SUMS").read_text().splitlines()
    )
    rows, cols = mnist_raw.shape
    loaded = {
        TRAIN_IMAGES: mnist_raw.train.images.reshape(-1, rows, cols),
        TRAIN_LABELS: mnist_raw.train.labels,
        TEST_IMAGES: mnist_raw.test.images.reshape(-1, rows, cols),
        TEST_LABELS: mnist_raw.test.labels,
    }
    assert set(sums) == set(loaded)
    for stem, array in loaded.items():
        assert hashlib.sha256(idx_bytes(array)).hexdigest() == sums[stem], stem


# --- malformed files: each a one-line DataError naming the file ------------------------------


def load_error(directory: Path, tmp_path: Path) -> str:
    with pytest.raises(DataError) as caught:
        load_raw(directory, cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_wrong_magic(tmp_path):
    directory = tmp_path / "data"
    arrays = write_dataset(directory)
    write_file(directory, TRAIN_LABELS, idx_bytes(arrays[TRAIN_LABELS], magic=IMAGE_MAGIC))
    message = load_error(directory, tmp_path)
    assert f"{TRAIN_LABELS}.gz" in message
    assert "wrong magic number 0x00000803 (expected 0x00000801)" in message


@pytest.mark.parametrize(
    "cut, phrase",
    [(6, "truncated (6 bytes, no IDX header)"), (-1, "truncated"), (12, "truncated")],
    ids=["header", "data", "dims"],
)
def test_truncated_idx(tmp_path, cut, phrase):
    directory = tmp_path / "data"
    arrays = write_dataset(directory)
    write_file(directory, TEST_IMAGES, idx_bytes(arrays[TEST_IMAGES])[:cut])
    message = load_error(directory, tmp_path)
    assert f"{TEST_IMAGES}.gz" in message
    assert phrase in message


def test_truncated_gzip_stream(tmp_path):
    directory = tmp_path / "data"
    write_dataset(directory)
    path = directory / f"{TRAIN_IMAGES}.gz"
    path.write_bytes(path.read_bytes()[:-20])
    message = load_error(directory, tmp_path)
    assert str(path) in message
    assert "cannot read" in message


def test_image_label_count_mismatch(tmp_path):
    directory = tmp_path / "data"
    arrays = write_dataset(directory)
    write_file(directory, TRAIN_LABELS, idx_bytes(arrays[TRAIN_LABELS][:-1]))
    message = load_error(directory, tmp_path)
    assert f"{TRAIN_LABELS}.gz: 11 labels for 12 images in {TRAIN_IMAGES}.gz" in message


def test_trailing_bytes(tmp_path):
    directory = tmp_path / "data"
    arrays = write_dataset(directory)
    write_file(directory, TEST_LABELS, idx_bytes(arrays[TEST_LABELS]) + b"\0\0\0")
    message = load_error(directory, tmp_path)
    assert f"{TEST_LABELS}.gz: trailing data after the 5 bytes the header declares" in message


def test_label_out_of_range(tmp_path):
    directory = tmp_path / "data"
    arrays = write_dataset(directory)
    labels = arrays[TEST_LABELS].copy()
    labels[2] = 10
    write_file(directory, TEST_LABELS, idx_bytes(labels))
    message = load_error(directory, tmp_path)
    assert f"{TEST_LABELS}.gz: label 10 is outside 0-9" in message


def test_missing_file(tmp_path):
    directory = tmp_path / "data"
    write_dataset(directory)
    (directory / f"{TEST_LABELS}.gz").unlink()
    message = load_error(directory, tmp_path)
    assert f"{directory / TEST_LABELS}[.gz]: file not found" in message


def test_missing_directory(tmp_path):
    message = load_error(tmp_path / "nowhere", tmp_path)
    assert str(tmp_path / "nowhere") in message
    assert "--data-dir" in message


def test_plain_uncompressed_files_are_accepted(tmp_path):
    directory = tmp_path / "data"
    arrays = write_dataset(directory, gz=False)
    assert not list(directory.glob("*.gz"))
    assert_holds(load_raw(directory, cache_dir=tmp_path / "cache"), arrays)


# --- where the data comes from: argument > $TUI_MNIST_DATA > shipped ------------------------


def test_argument_beats_environment(tmp_path, monkeypatch):
    argument = write_dataset(tmp_path / "argument", seed=1)
    write_dataset(tmp_path / "environment", seed=2)
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "environment"))
    assert find_data_dir(tmp_path / "argument") == tmp_path / "argument"
    assert_holds(load_raw(tmp_path / "argument", cache_dir=tmp_path / "cache"), argument)


def test_environment_beats_shipped(tmp_path, monkeypatch):
    environment = write_dataset(tmp_path / "environment", seed=2)
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "environment"))
    assert find_data_dir() == tmp_path / "environment"
    assert_holds(load_raw(cache_dir=tmp_path / "cache"), environment)


def test_bad_environment_directory_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match=rf"nowhere \(from \${DATA_ENV}\) does not exist"):
        find_data_dir()


def test_shipped_data_is_the_fallback(monkeypatch):
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert find_data_dir() == shipped_data_dir()
    assert sorted(p.name for p in shipped_data_dir().glob("*.gz")) == sorted(
        f"{stem}.gz" for pair in SPLITS.values() for stem in pair
    )


# --- the .npy cache ---------------------------------------------------------------------------


def refuse_to_parse(monkeypatch):
    """Make any read of the IDX files fail, so a successful load must come from the cache."""

    def refuse(path, magic):
        raise AssertionError(f"parsed {path} although the cache should have served it")

    monkeypatch.setattr("tui_mnist.engine.data.read_idx", refuse)


def test_second_load_comes_from_the_cache(tmp_path, monkeypatch):
    directory = tmp_path / "data"
    arrays = write_dataset(directory)
    cache = tmp_path / "cache"
    load_raw(directory, cache_dir=cache)
    (folder,) = cache.iterdir()
    assert (folder / "manifest.json").is_file()

    refuse_to_parse(monkeypatch)
    assert_holds(load_raw(directory, cache_dir=cache), arrays)


def test_changed_source_files_are_not_served_from_a_stale_cache(tmp_path):
    directory = tmp_path / "data"
    write_dataset(directory, seed=1)
    cache = tmp_path / "cache"
    load_raw(directory, cache_dir=cache)
    changed = write_dataset(directory, seed=2)
    assert_holds(load_raw(directory, cache_dir=cache), changed)


def flip_last_byte(path: Path) -> None:
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))


def cut_in_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    "victim, damage",
    [
        ("train_images.npy", flip_last_byte),
        ("test_labels.npy", cut_in_half),
        ("manifest.json", cut_in_half),
        ("train_labels.npy", Path.unlink),
    ],
    ids=["flipped-pixel", "truncated-npy", "truncated-manifest", "missing-npy"],
)
def test_damaged_cache_is_rebuilt_not_trusted(tmp_path, monkeypatch, victim, damage):
    directory = tmp_path / "data"
    arrays = write_dataset(directory)
    cache = tmp_path / "cache"
    load_raw(directory, cache_dir=cache)
    (folder,) = cache.iterdir()
    damage(folder / victim)

    assert_holds(load_raw(directory, cache_dir=cache), arrays)
    # The rebuilt cache serves the next load on its own.
    refuse_to_parse(monkeypatch)
    assert_holds(load_raw(directory, cache_dir=cache), arrays)


def test_cache_can_be_disabled(tmp_path):
    directory = tmp_path / "data"
    arrays = write_dataset(directory)
    assert_holds(load_raw(directory, cache_dir=False), arrays)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
