"""MNIST-layout IDX files: find them, read and verify them, cache them, split them.

Images stay uint8 in memory (47 MB for MNIST instead of 188 MB as float32); each batch is
scaled to floats on the way into the network, see `Normalizer`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tui_mnist.engine.errors import DataError
from tui_mnist.engine.files import write_atomically
from tui_mnist.engine.idx import (
    IMAGE_MAGIC,
    LABEL_MAGIC,
    NUM_CLASSES,
    SPLITS,
    find_data_dir,
    header_dims,
    idx_path,
    read_bytes,
)

HISTOGRAM_ROWS = 1024  # images per block when counting pixel values (bounded memory)
CACHE_VERSION = 1


@dataclass(frozen=True)
class RawSplit:
    images: np.ndarray  # (n, rows*cols) uint8
    labels: np.ndarray  # (n,) uint8


@dataclass(frozen=True)
class RawData:
    train: RawSplit
    test: RawSplit
    shape: tuple[int, int]  # (rows, cols) of one image
    source: Path


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Parse one IDX file; every inconsistency is a DataError naming the file."""
    blob = read_bytes(path)
    dims = header_dims(path, blob, expected_magic)
    header = 4 + 4 * len(dims)
    expected = header + int(np.prod(dims, dtype=np.int64))
    if len(blob) < expected:
        raise DataError(f"{path}: truncated ({len(blob)} bytes, header promises {expected})")
    if len(blob) > expected:
        raise DataError(f"{path}: {len(blob) - expected} unexpected bytes after the data")
    return np.frombuffer(blob, dtype=np.uint8, offset=header).reshape(dims)


def _read_split(directory: Path, split: str) -> tuple[RawSplit, tuple[int, int]]:
    image_file = idx_path(directory, SPLITS[split][0])
    label_file = idx_path(directory, SPLITS[split][1])
    images = read_idx(image_file, IMAGE_MAGIC)
    labels = read_idx(label_file, LABEL_MAGIC)
    if len(images) != len(labels):
        raise DataError(
            f"{label_file}: {len(labels)} labels for {len(images)} images in {image_file.name}"
        )
    if len(images) == 0:
        raise DataError(f"{image_file}: holds no images")
    if labels.max() >= NUM_CLASSES:
        raise DataError(f"{label_file}: label {labels.max()} is outside 0-{NUM_CLASSES - 1}")
    shape = (images.shape[1], images.shape[2])
    return RawSplit(images.reshape(len(images), -1), labels), shape


def _source_files(directory: Path) -> list[Path]:
    return [idx_path(directory, stem) for pair in SPLITS.values() for stem in pair]


def _fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256(f"v{CACHE_VERSION}".encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def default_cache_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tui-mnist")) / "data"


def _checksum(array: np.ndarray) -> int:
    return zlib.crc32(array.data)


def _load_cache(folder: Path, source: Path) -> RawData | None:
    """The cached arrays, or None when the cache is missing, partial or does not verify."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
        arrays = {}
        for name, expected in manifest["arrays"].items():
            # Memory-mapped: the page cache backs the arrays, so a load copies nothing.
            array = np.load(folder / f"{name}.npy", allow_pickle=False, mmap_mode="r")
            if list(array.shape) != expected["shape"] or _checksum(array) != expected["crc32"]:
                return None
            arrays[name] = array
        return RawData(
            train=RawSplit(arrays["train_images"], arrays["train_labels"]),
            test=RawSplit(arrays["test_images"], arrays["test_labels"]),
            shape=tuple(manifest["shape"]),
            source=source,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_cache(folder: Path, data: RawData) -> None:
    arrays = {
        "train_images": data.train.images,
        "train_labels": data.train.labels,
        "test_images": data.test.images,
        "test_labels": data.test.labels,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in arrays.items():
            write_atomically(folder / f"{name}.npy", lambda handle, a=array: np.save(handle, a))
        manifest = {
            "shape": list(data.shape),
            "arrays": {
                name: {"shape": list(a.shape), "crc32": _checksum(a)} for name, a in arrays.items()
            },
        }
        # The manifest goes last: a cache without one is never read.
        write_atomically(folder / "manifest.json", lambda h: h.write(json.dumps(manifest).encode()))
    except OSError:
        pass  # a read-only cache directory only costs speed


def load_raw(
    data_dir: str | os.PathLike | None = None, cache_dir: Path | None | bool = None
) -> RawData:
    """Read and verify the four IDX files; `cache_dir=False` disables the .npy cache."""
    directory = find_data_dir(data_dir)
    files = _source_files(directory)
    folder = None
    if cache_dir is not False:
        folder = (cache_dir or default_cache_dir()) / _fingerprint(files)
        cached = _load_cache(folder, directory)
        if cached is not None:
            return cached
    train, shape = _read_split(directory, "train")
    test, test_shape = _read_split(directory, "test")
    if test_shape != shape:
        raise DataError(f"{files[2]}: images are {test_shape}, training images are {shape}")
    data = RawData(train=train, test=test, shape=shape, source=directory)
    if folder is not None:
        _write_cache(folder, data)
    return data


def load_test_set(data_dir: str | os.PathLike | None = None) -> tuple[RawSplit, tuple[int, int]]:
    """The test split alone and its (rows, cols), found like `load_raw`'s four files.

    All that evaluating or inspecting a saved model needs: the model carries its own
    Normalizer, so the training files need not be there. A folder holding only the two t10k
    files (the draw screen's saved digits) is a data set here; it is read every time, not
    cached. Errors are DataErrors naming the file, as in `load_raw`."""
    return _read_split(find_data_dir(data_dir), "test")


@dataclass(frozen=True)
class Normalizer:
    """x = pixel * scale + offset: [0, 1] scaling, or standardization to mean 0, std 1."""

    scale: float
    offset: float

    @classmethod
    def fit(cls, train_images: np.ndarray, standardize: bool) -> Normalizer:
        if not standardize:
            return cls(scale=1 / 255, offset=0.0)
        # From a histogram of the 256 pixel values, counted a block of rows at a time:
        # images.std() would build a float64 copy of the whole training set (345 MB for MNIST).
        counts = np.zeros(256, np.int64)
        for start in range(0, len(train_images), HISTOGRAM_ROWS):
            block = train_images[start : start + HISTOGRAM_ROWS]
            counts += np.bincount(block.reshape(-1), minlength=256)
        values = np.arange(256) / 255
        total = int(counts.sum())
        mean = float(counts @ values) / total
        std = math.sqrt(float(counts @ (values - mean) ** 2) / total)
        return cls(scale=1 / (255 * std), offset=-mean / std)

    def apply(self, pixels: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Scale uint8 pixels into the float buffer `out` without a temporary."""
        # Scalars of out's own type: with a Python float the multiply would run in float64
        # and convert, twice as slow.
        kind = out.dtype.type
        np.multiply(pixels, kind(self.scale), out=out)
        if self.offset:
            np.add(out, kind(self.offset), out=out)
        return out

    def to_dict(self) -> dict:
        return {"scale": self.scale, "offset": self.offset}


@dataclass(frozen=True)
class Dataset:
    """Train/validation/test splits; validation is the last `val` training images."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    shape: tuple[int, int]
    normalizer: Normalizer

    @property
    def n_features(self) -> int:
        return self.x_train.shape[1]


def split(raw: RawData, val: int = 5000, standardize: bool = False) -> Dataset:
    n = len(raw.train.images)
    if not 0 <= val < n:
        raise DataError(f"validation size {val} must be between 0 and {n - 1}")
    cut = n - val
    x_train = raw.train.images[:cut]
    return Dataset(
        x_train=x_train,
        y_train=raw.train.labels[:cut],
        x_val=raw.train.images[cut:],
        y_val=raw.train.labels[cut:],
        x_test=raw.test.images,
        y_test=raw.test.labels,
        shape=raw.shape,
        normalizer=Normalizer.fit(x_train, standardize),
    )


def load_dataset(
    data_dir: str | os.PathLike | None = None,
    val: int = 5000,
    standardize: bool = False,
    cache_dir: Path | None | bool = None,
) -> Dataset:
    return split(load_raw(data_dir, cache_dir), val=val, standardize=standardize)
